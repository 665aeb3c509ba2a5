import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULTS, KEYS, loadConfig, type ConfigInputs } from '../../src/config.js';
import '../../src/services-all.js';

function problems(inputs: ConfigInputs): string[] {
  try {
    loadConfig(inputs);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tunstack-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe('loadConfig: sources and precedence', () => {
  it('nothing given: the defaults', () => {
    const { config, sources } = loadConfig({});
    expect(config).toEqual({ ...DEFAULTS });
    expect(Object.values(sources).every((s) => s === 'default')).toBe(true);
  });

  it('flags beat the environment, which beats the file', () => {
    const f = file('prec.json', JSON.stringify({ addr: '10.9.0.2/24', peer: '10.9.0.1', mtu: 1400, tun: 'ftun' }));
    const { config, sources } = loadConfig({
      flags: { tun: 'flagtun' },
      env: { TUNSTACK_TUN: 'envtun', TUNSTACK_MTU: '1300' },
      file: f,
    });
    expect(config.tun).toBe('flagtun');
    expect(config.mtu).toBe(1300);
    expect(config.addr).toBe('10.9.0.2/24');
    expect(sources).toMatchObject({ tun: 'flag', mtu: 'env', addr: 'file', peer: 'file', http: 'default' });
  });

  it('TUNSTACK_CONFIG names the file', () => {
    const f = file('env.json', JSON.stringify({ http: 8080, routes: ['10.77.9.0/24'] }));
    const { config, file: used } = loadConfig({ env: { TUNSTACK_CONFIG: f } });
    expect(used).toBe(f);
    expect(config.http).toBe(8080);
    expect(config.routes).toEqual(['10.77.9.0/24']);
  });

  it('coerces environment strings: lists, ports, off, durations', () => {
    const { config } = loadConfig({
      env: {
        TUNSTACK_ROUTES: '10.77.9.0/24, 10.77.10.0/24',
        TUNSTACK_HTTP: '80',
        TUNSTACK_PCAP: 'off',
        TUNSTACK_GRACE: '2.5s',
        TUNSTACK_HOSTNAMES: 'a.test b.test',
        TUNSTACK_CONTROL: 'off',
      },
    });
    expect(config.routes).toEqual(['10.77.9.0/24', '10.77.10.0/24']);
    expect(config.http).toBe(80);
    expect(config.pcap).toBeNull();
    expect(config.graceMs).toBe(2500);
    expect(config.hostnames).toEqual(['a.test', 'b.test']);
    expect(config.control).toBe('off');
    expect(loadConfig({ env: { TUNSTACK_HTTP: 'off' } }).config.http).toBe('off');
    expect(loadConfig({ flags: { http: '0' } }).config.http).toBe('off');
    expect(loadConfig({ env: { TUNSTACK_HTTP: '' } }).config.http).toBeNull(); // empty: the default
    expect(loadConfig({ flags: { graceMs: '700' } }).config.graceMs).toBe(700);
  });

  it('every key has a flag and a TUNSTACK_ variable', () => {
    for (const [k, v] of Object.entries(KEYS)) {
      expect(v.flag, k).toMatch(/^--[a-z][a-z0-9-]*$/);
      expect(v.env, k).toMatch(/^TUNSTACK_[A-Z][A-Z0-9_]*$/);
    }
  });
});

describe('loadConfig: clear errors', () => {
  it('a bad IPv6 address or peer, one line each; off turns IPv6 off', () => {
    expect(problems({ flags: { addr6: 'fd77::zz/64' } })[0]).toMatch(/^--addr6: 'fd77::zz\/64' is not an IPv6 address/);
    expect(problems({ flags: { addr6: 'fd77::2/129' } })[0]).toMatch(/^--addr6:/);
    expect(problems({ env: { TUNSTACK_PEER6: '10.0.0.1' } })[0]).toMatch(/^TUNSTACK_PEER6: '10\.0\.0\.1' is not an IPv6 address/);
    expect(loadConfig({ flags: { addr6: 'off', peer6: 'nonsense' }, env: {} }).config.addr6).toBe('off');
  });

  it('a bad CIDR, naming the variable it came from', () => {
    const p = problems({ env: { TUNSTACK_ADDR: '10.77.0.300/24' } });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^TUNSTACK_ADDR: not an IPv4 address: '10\.77\.0\.300'/);
    expect(problems({ flags: { addr: '10.77.0.2/33' } })[0]).toMatch(/^--addr: not an IPv4 CIDR/);
    expect(problems({ flags: { addr: '10.77.0.2' } })[0]).toMatch(/no prefix length/);
  });

  it('the peer outside the prefix, or equal to the address', () => {
    expect(problems({ flags: { peer: '10.78.0.1' } })[0]).toMatch(/^--peer: 10\.78\.0\.1 is outside the prefix of 10\.77\.0\.2\/24.*10\.77\.0\.1/);
    expect(problems({ flags: { peer: '10.77.0.2' } })[0]).toMatch(/is the stack's own address/);
    expect(problems({ flags: { peer: '10.77.0.255' } })[0]).toMatch(/network or broadcast/);
  });

  it('the address is the network address, or the prefix leaves no room', () => {
    expect(problems({ flags: { addr: '10.77.0.0/24' } })[0]).toMatch(/network address/);
    expect(problems({ flags: { addr: '10.77.0.2/31', peer: '10.77.0.3' } })[0]).toMatch(/no room for a peer/);
  });

  it('MTU out of 68..65535', () => {
    expect(problems({ flags: { mtu: 67 } })[0]).toMatch(/^--mtu: mtu 67 is out of range 68\.\.65535/);
    expect(problems({ env: { TUNSTACK_MTU: '65536' } })[0]).toMatch(/^TUNSTACK_MTU: mtu 65536 is out of range/);
    expect(problems({ env: { TUNSTACK_MTU: '1500b' } })[0]).toMatch(/must be an integer/);
    expect(loadConfig({ flags: { mtu: 68 } }).config.mtu).toBe(68);
    expect(loadConfig({ flags: { mtu: 65535 } }).config.mtu).toBe(65535);
  });

  it('an unknown key in the file, with a suggestion; the known keys listed once however many are unknown', () => {
    const f = file('typo.json', JSON.stringify({ adr: '10.77.0.2/24', mttu: 1400 }));
    const p = problems({ file: f });
    expect(p[0]).toMatch(/^unknown key "adr" in .*typo\.json \(did you mean addr\?\)$/);
    expect(p[1]).toMatch(/^unknown key "mttu" in .*typo\.json \(did you mean mtu\?\)$/);
    expect(p[2]).toMatch(/^known keys: tun, addr/);
    expect(p.filter((x) => x.includes('known keys'))).toHaveLength(1);
  });

  it('an unknown TUNSTACK_ variable, with a suggestion; other variables are ignored', () => {
    expect(problems({ env: { TUNSTACK_ADR: 'x', HOME: '/root' } })[0]).toBe('unknown environment variable TUNSTACK_ADR (did you mean TUNSTACK_ADDR?)');
    expect(() => loadConfig({ env: { TUNSTACK_TUNSHIM: '/x.node', TUNSTACK_FORWARD: '1', PATH: '/bin' } })).not.toThrow();
  });

  it('every problem at once', () => {
    const p = problems({ flags: { mtu: 10 }, env: { TUNSTACK_HTTP: '70000', TUNSTACK_LOG_LEVEL: 'loud' } });
    expect(p).toHaveLength(3);
    const e = (() => {
      try {
        loadConfig({ flags: { mtu: 10 }, env: { TUNSTACK_HTTP: '70000' } });
      } catch (err) {
        return err as Error;
      }
      return null;
    })();
    expect(e?.message).toMatch(/^invalid configuration:\n {2}- --mtu: .*\n {2}- TUNSTACK_HTTP: http port 70000 is out of range/);
  });

  it('a missing or malformed file', () => {
    expect(problems({ file: join(dir, 'nope.json') })[0]).toMatch(/nope\.json: no such file/);
    expect(problems({ file: file('bad.json', '{"addr": ') })[0]).toMatch(/is not valid JSON/);
    expect(problems({ file: file('arr.json', '[1]') })[0]).toMatch(/must hold a JSON object/);
    expect(problems({ file: file('type.json', '{"mtu": "big"}') })[0]).toMatch(/^"mtu" in .*type\.json: mtu must be an integer/);
  });

  it('an HTTP port already in use on the stack by a built-in service', () => {
    expect(problems({ flags: { http: '7' } })[0]).toBe(
      '--http: port 7 is in use on the stack by the built-in service echo-tcp: pick another port, or leave echo-tcp out (--services)',
    );
    expect(problems({ env: { TUNSTACK_HTTP: '19', TUNSTACK_SERVICES: 'chargen,http' } })[0]).toMatch(/^TUNSTACK_HTTP: port 19 is in use .* chargen/);
    expect(loadConfig({ flags: { http: '7', services: 'dns,http' } }).config.http).toBe(7); // echo-tcp not running: free
  });

  it('routes, interface names, services, grace, pcap directory', () => {
    expect(problems({ flags: { routes: ['10.77.9.1/24'] } })[0]).toMatch(/has host bits set \(did you mean 10\.77\.9\.0\/24\?\)/);
    expect(problems({ flags: { routes: ['0.0.0.0/0'] } })[0]).toMatch(/default route/);
    expect(problems({ flags: { tun: 'a-very-long-name0' } })[0]).toMatch(/not a valid interface name/);
    expect(problems({ flags: { tun: 'tun/0' } })[0]).toMatch(/not a valid interface name/);
    expect(problems({ flags: { services: 'echo,nosuch' } })[0]).toMatch(/^--services: unknown service\(s\): nosuch/);
    expect(problems({ flags: { graceMs: 'soon' } })[0]).toMatch(/grace must be a duration/);
    expect(problems({ flags: { pcap: '/nonexistent-dir-xyz/a.pcap' } })[0]).toMatch(/directory \/nonexistent-dir-xyz does not exist/);
    expect(problems({ flags: { impair: 'loss=200%' } })[0]).toMatch(/^--impair: loss: /); // named once, not `--impair: impair: loss:`
  });
});
