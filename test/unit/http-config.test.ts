import { describe, it, expect } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { parseHttpLimitSpec, resolveHttpLimits, defaultHttpLimits } from '../../src/http/limits.js';
import '../../src/services-all.js';
import { resolveServices } from '../../src/services.js';

describe('HTTP configuration', () => {
  it('the http service is part of --services all', () => {
    const all = resolveServices('all');
    expect(all instanceof Error ? [] : all.map((s) => s.name)).toContain('http');
  });

  it('--http, --static and --http-limit are validated with the rest of the config', () => {
    const ok = loadConfig({ flags: { http: '8080', static: '.', httpLimits: 'maxBodyBytes=1000,headersTimeout=500' } });
    expect(ok.config.http).toBe(8080);
    expect(ok.config.static).toBe('.');
    expect(ok.sources.httpLimits).toBe('flag');
    expect(loadConfig({ env: { TUNSTACK_HTTP_LIMITS: 'maxConnections=5' } }).config.httpLimits).toBe('maxConnections=5');
    expect(() => loadConfig({ flags: { static: '/no/such/dir' } })).toThrow(/--static: \/no\/such\/dir is not a directory/);
    expect(() => loadConfig({ flags: { httpLimits: 'maxBodyBytes=abc' } })).toThrow(/--http-limit: bad http limit/);
    expect(() => loadConfig({ flags: { httpLimits: 'bogus=1' } })).toThrow(/unknown http limit 'bogus'/);
    expect(() => loadConfig({ flags: { httpLimits: 'maxConnections=0' } })).toThrow(/maxConnections must be an integer in 1\.\./);
    expect(() => loadConfig({ flags: { http: '70000' } })).toThrow(/out of range/);
  });

  it('limits: defaults, overrides, and the requestTimeout >= headersTimeout rule', () => {
    expect(resolveHttpLimits()).toEqual(defaultHttpLimits);
    expect(resolveHttpLimits({ keepAliveTimeout: 0 }).keepAliveTimeout).toBe(0);
    expect(() => resolveHttpLimits({ headersTimeout: 5000, requestTimeout: 1000 })).toThrow(/requestTimeout/);
    expect(parseHttpLimitSpec(' maxHeaderSize=8192 , maxRequestsPerSocket=10 ')).toEqual({ maxHeaderSize: 8192, maxRequestsPerSocket: 10 });
    expect(parseHttpLimitSpec('maxHeaderSize=-1')).toBeInstanceOf(Error);
  });
});
