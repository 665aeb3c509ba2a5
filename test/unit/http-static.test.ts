import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vnet } from '../helpers/vnet.js';
import { RawClient, request } from '../helpers/http-client.js';
import { startBundledHttp } from '../../src/http/bundled.js';
import { parseRange, safeSegments } from '../../src/http/static.js';

let net: Vnet | null = null;
let base = '';
let root = '';
afterEach(() => {
  net?.close();
  net = null;
});
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'tunstack-static-'));
  root = join(base, 'www');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'hello.txt'), 'hello, static world\n');
  writeFileSync(join(root, 'data.json'), '{"a":1}');
  writeFileSync(join(root, 'sub', 'index.html'), '<p>sub</p>');
  writeFileSync(join(root, '.secret'), 'hidden');
  writeFileSync(join(base, 'outside.txt'), 'SECRET OUTSIDE THE ROOT');
  symlinkSync(join(base, 'outside.txt'), join(root, 'link-out.txt'));
  utimesSync(join(root, 'hello.txt'), new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

function setup(): Vnet {
  net = new Vnet({ tcpA: { seed: 5 }, tcpB: { seed: 6 } });
  startBundledHttp(net.b, { port: 80, staticDir: root });
  return net;
}

describe('static files (--static DIR)', () => {
  it('serves files with Content-Type by extension, Last-Modified; directories through index.html; HEAD', async () => {
    const net = setup();
    const r = await request(net, { path: '/hello.txt' });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('hello, static world\n');
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.headers['last-modified']).toBe('Tue, 02 Jan 2024 03:04:05 GMT');
    expect((await request(net, { path: '/data.json' })).headers['content-type']).toBe('application/json');
    const d = await request(net, { path: '/sub/' });
    expect(d.body.toString()).toBe('<p>sub</p>');
    expect(d.headers['content-type']).toMatch(/text\/html/);
    const h = await request(net, { method: 'HEAD', path: '/hello.txt' });
    expect(h.headers['content-length']).toBe('20');
    expect(h.body.length).toBe(0);
    expect((await request(net, { path: '/missing.txt' })).status).toBe(404);
    // The built-in routes still win.
    expect((await request(net, { path: '/bytes?n=3' })).body.toString('hex')).toBe('000102'); // byte i = i mod 251
  });

  it('If-Modified-Since → 304; older → 200', async () => {
    const net = setup();
    const same = await request(net, { path: '/hello.txt', headers: { 'If-Modified-Since': 'Tue, 02 Jan 2024 03:04:05 GMT' } });
    expect(same.status).toBe(304);
    expect(same.body.length).toBe(0);
    const older = await request(net, { path: '/hello.txt', headers: { 'If-Modified-Since': 'Mon, 01 Jan 2024 00:00:00 GMT' } });
    expect(older.status).toBe(200);
  });

  it('Range → 206 with Content-Range; unsatisfiable → 416', async () => {
    const net = setup();
    const a = await request(net, { path: '/hello.txt', headers: { Range: 'bytes=0-4' } });
    expect(a.status).toBe(206);
    expect(a.body.toString()).toBe('hello');
    expect(a.headers['content-range']).toBe('bytes 0-4/20');
    const b = await request(net, { path: '/hello.txt', headers: { Range: 'bytes=-6' } });
    expect(b.body.toString()).toBe('world\n');
    const c = await request(net, { path: '/hello.txt', headers: { Range: 'bytes=7-' } });
    expect(c.body.toString()).toBe('static world\n');
    const d = await request(net, { path: '/hello.txt', headers: { Range: 'bytes=100-200' } });
    expect(d.status).toBe(416);
    expect(d.headers['content-range']).toBe('bytes */20');
  });

  it('never leaves the root: ../, %2e%2e, %2f, backslashes, NUL, dot files, symlinks out', async () => {
    const net = setup();
    const paths = [
      '/../outside.txt',
      '/%2e%2e/outside.txt',
      '/%2E%2E%2Foutside.txt',
      '/sub/..%2f..%2foutside.txt',
      '/..%5coutside.txt',
      '/%2e%2e%5coutside.txt',
      '/sub/%2e%2e/%2e%2e/outside.txt',
      '/%00hello.txt',
      '/hello.txt%00.png',
      '/%zz',
      '/.secret',
      '/link-out.txt',
    ];
    for (const p of paths) {
      // Raw bytes: node:http's client would not send some of these as they are.
      const c = new RawClient(net);
      c.send(`GET ${p} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
      await c.until((x) => x.ended || x.closed, 10_000, p);
      const t = c.text();
      expect(t, p).not.toContain('SECRET');
      expect(t, p).not.toContain('hidden');
      expect(c.statusCodes()[0], p).toBeGreaterThanOrEqual(400);
    }
    // A literal "/../" in the raw request line is also refused.
    const raw = new RawClient(net);
    raw.send('GET /sub/../../outside.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    await raw.until((x) => x.ended || x.closed, 10_000, 'raw ..');
    expect(raw.text()).not.toContain('SECRET');
  });
});

describe('static helpers', () => {
  it('safeSegments decodes once and refuses traversal', () => {
    expect(safeSegments('/a/b.txt')).toEqual(['a', 'b.txt']);
    expect(safeSegments('/a/./b')).toEqual(['a', 'b']);
    expect(safeSegments('/%2e%2e/x')).toEqual({ status: 403 });
    expect(safeSegments('/a/%2e%2e%2fx')).toEqual({ status: 403 });
    expect(safeSegments('/%252e%252e/x')).toEqual(['%2e%2e', 'x']); // decoded once: a literal name, not a climb
    expect(safeSegments('/%E0%A4%A')).toEqual({ status: 400 });
    expect(safeSegments('/a%00')).toEqual({ status: 400 });
  });

  it('parseRange', () => {
    expect(parseRange('bytes=0-0', 10)).toEqual([0, 0]);
    expect(parseRange('bytes=5-', 10)).toEqual([5, 9]);
    expect(parseRange('bytes=-3', 10)).toEqual([7, 9]);
    expect(parseRange('bytes=-30', 10)).toEqual([0, 9]);
    expect(parseRange('bytes=3-100', 10)).toEqual([3, 9]);
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=5-4', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,3-4', 10)).toBeNull();
    expect(parseRange('items=0-1', 10)).toBeNull();
  });
});
