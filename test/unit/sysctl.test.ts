import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { ControlServer } from '../../src/control/server.js';
import { parseRequest } from '../../src/control/protocol.js';
import { SYSCTLS, answerSysctl, applySysctls, findSysctl, readOnlyReason, readSysctl, stageSysctls, writeSysctl, type SysctlTarget } from '../../src/control/sysctl.js';
import { sysctlCommand } from '../../src/control/sysctl-command.js';
import { sysctlMarkdown } from '../../src/control/sysctl-doc.js';
import { defaultHttpLimits } from '../../src/http/limits.js';
import { defaultTcpConfig, type TcpConfig } from '../../src/tcp/config.js';
import { tcpTunables } from '../../src/tcp/tunables.js';
import { formatTunableValue, parseTunableValue } from '../../src/tunable.js';
import { loadConfig } from '../../src/config.js';

const quiet = pino({ level: 'silent' });

function target(): SysctlTarget {
  return { stack: new Stack({ clock: new VirtualClock(), autoFlush: false }), httpLimits: defaultHttpLimits };
}

describe('the sysctl registry', () => {
  it('gives every entry a unique dotted name, a default within its range, a unit kind and one line of text', () => {
    const names = new Set<string>();
    for (const e of SYSCTLS) {
      expect(e.name, e.name).toMatch(/^(net\.(core|ipv4)|tunstack\.[a-z]+)\.[a-z0-9_]+$/);
      expect(names.has(e.name), `${e.name} twice`).toBe(false);
      names.add(e.name);
      expect(e.text.length, e.name).toBeGreaterThan(10);
      expect(e.text, e.name).not.toMatch(/\n/);
      expect(typeof e.unit).toBe('string');
      // The default reads back through its own parser: it is a legal value.
      expect(parseTunableValue(e.kind, formatTunableValue(e.default)), e.name).toEqual(e.default);
      // Names of our own say which Linux knob is nearest, or that there is none to cite by being tunstack.*.
      if (e.name.startsWith('tunstack.') && e.when !== 'build') expect(e.linux !== undefined || e.text.length > 0).toBe(true);
    }
    expect(SYSCTLS.map((e) => e.name)).toEqual([...names].sort());
  });

  it('covers every TcpConfig setting (the port range under net.ipv4.ip_local_port_range; seed is for tests; the Fast Open key is a secret, never listed)', () => {
    const probe = { ...defaultTcpConfig };
    const covered = new Set<string>(['seed', 'fastOpenKey', 'ephemeralPortLow', 'ephemeralPortHigh']);
    for (const t of tcpTunables) {
      const o: Partial<TcpConfig> = {};
      t.put?.(o, t.get(probe));
      for (const k of Object.keys(o)) covered.add(k);
    }
    expect([...covered].sort()).toEqual(Object.keys(defaultTcpConfig).sort());
  });

  it('reads what a stack runs with, with the defaults the layers declare', () => {
    const t = target();
    for (const e of SYSCTLS) expect(readSysctl(t, e.name), e.name).toBe(formatTunableValue(e.default));
    expect(readSysctl(t, 'net/ipv4/tcp_sack')).toBe('1');
    expect(readSysctl(t, 'net.ipv4.tcp_nope')).toBeInstanceOf(Error);
    expect((readSysctl(t, 'tcp_keepalive') as Error).message).toBe('unknown sysctl tcp_keepalive (did you mean net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes, net.ipv4.tcp_keepalive_time?)');
  });

  it('round-trips a write on every run-time tunable, into the layer that uses it', () => {
    const t = target();
    for (const e of SYSCTLS.filter((x) => x.write !== undefined)) {
      const v = e.kind.type === 'bool' ? String(e.default === true ? 0 : 1) : e.kind.type === 'enum' ? e.kind.values.find((x) => x !== e.default)! : e.kind.type === 'int' ? String(e.kind.min) : '';
      expect(writeSysctl(t, e.name, v), e.name).toBe(v);
      expect(readSysctl(t, e.name), e.name).toBe(v);
    }
    expect(t.stack.tcp.config.sack).toBe(false);
    expect(t.stack.tcp.config.keepaliveTimeMs).toBe(1000); // net.ipv4.tcp_keepalive_time=1 (s)
    expect(t.stack.icmp.options.answerEcho).toBe(false); // icmp_echo_ignore_all=1
    expect(t.stack.forwarder.enabled).toBe(true);
    expect(t.stack.ip.options.defaultTtl).toBe(1);
  });

  it('refuses read-only entries with how to set them, and bad values with the range (the value stays)', () => {
    const t = target();
    const rmem = writeSysctl(t, 'tunstack.tcp.rmem', '100000');
    expect(rmem).toBeInstanceOf(Error);
    expect((rmem as Error).message).toBe('tunstack.tcp.rmem is read-only at run time: set it with --sysctl tunstack.tcp.rmem=VALUE at start');
    expect((writeSysctl(t, 'tunstack.http.max_body_bytes', '5') as Error).message).toBe('tunstack.http.max_body_bytes is read-only at run time: set it with --http-limit maxBodyBytes=VALUE at start');
    expect((writeSysctl(t, 'tunstack.tcp.ring_pool_bytes', '5') as Error).message).toMatch(/constant of this build/);
    expect((writeSysctl(t, 'net.ipv4.tcp_syncookies', '3') as Error).message).toBe('net.ipv4.tcp_syncookies: 3 is out of range 0..2');
    expect((writeSysctl(t, 'net.ipv4.tcp_sack', 'yes') as Error).message).toMatch(/expected 0 or 1/);
    expect((writeSysctl(t, 'net.ipv4.tcp_congestion_control', 'bbr') as Error).message).toMatch(/one of newreno, cubic/);
    expect(t.stack.tcp.config.syncookies).toBe(1);
    expect(t.stack.tcp.config.rmem).toBe(defaultTcpConfig.rmem);
    for (const e of SYSCTLS) expect(readOnlyReason(e) === null, e.name).toBe(e.when === 'run');
  });

  it('stages --sysctl assignments into the stack options at start', () => {
    const s = stageSysctls(['net.ipv4.ip_local_port_range=40000 40100', 'tunstack.tcp.rmem=131072', 'net.ipv4.tcp_fin_timeout=5', 'net.ipv4.ipfrag_time=2', 'net.ipv4.ip_default_ttl=9']);
    if (s instanceof Error) throw s;
    const stack = new Stack(applySysctls({ clock: new VirtualClock(), autoFlush: false, tcp: { sack: false } }, s));
    expect(stack.tcp.config).toMatchObject({ rmem: 131072, finTimeoutMs: 5000, ephemeralPortLow: 40000, ephemeralPortHigh: 40100, sack: false });
    expect(stack.udp.options).toMatchObject({ ephemeralLow: 40000, ephemeralHigh: 40100 });
    expect(stack.reassembler.options.timeoutMs).toBe(2000);
    expect(stack.ip.options.defaultTtl).toBe(9);
    const bad = stageSysctls(['net.ipv4.tcp_sack', 'net.ipv4.tcp_nope=1', 'tunstack.http.max_body_bytes=1', 'net.ipv4.ip_local_port_range=2 1']);
    expect(bad).toBeInstanceOf(Error);
    expect((bad as Error).message.split('; ')).toEqual([
      "'net.ipv4.tcp_sack': expected NAME=VALUE",
      'unknown sysctl net.ipv4.tcp_nope',
      'tunstack.http.max_body_bytes is set with --http-limit maxBodyBytes=VALUE, not --sysctl',
      "net.ipv4.ip_local_port_range: '2 1' must be LOW HIGH with 1 ≤ LOW ≤ HIGH ≤ 65535",
    ]);
  });

  it('checks --sysctl with the rest of the configuration', () => {
    expect(loadConfig({ flags: { sysctl: ['net.ipv4.tcp_sack=0'] } }).config.sysctl).toEqual(['net.ipv4.tcp_sack=0']);
    expect(loadConfig({ env: { TUNSTACK_SYSCTL: 'net.ipv4.tcp_sack=0, net.ipv4.ip_local_port_range=1024 2048' } }).config.sysctl).toEqual(['net.ipv4.tcp_sack=0', 'net.ipv4.ip_local_port_range=1024 2048']);
    expect(() => loadConfig({ flags: { sysctl: ['net.ipv4.tcp_sack=2'] } })).toThrow('--sysctl: net.ipv4.tcp_sack: expected 0 or 1');
  });

  it('docs/sysctl.md is generated from the registry and current (regenerate: node dist/cli.js sysctl --markdown > docs/sysctl.md)', () => {
    const doc = readFileSync(new URL('../../docs/sysctl.md', import.meta.url), 'utf8');
    expect(doc).toBe(sysctlMarkdown());
    for (const e of SYSCTLS) expect(doc).toContain(`| \`${e.name}\` |`);
  });
});

describe('tunstack sysctl over a control socket', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tunstack-sysctl-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses sysctl requests', () => {
    expect(parseRequest('{"cmd":"sysctl"}')).toEqual({ cmd: 'sysctl' });
    expect(parseRequest('{"cmd":"sysctl","name":"a.b","value":"1"}')).toEqual({ cmd: 'sysctl', name: 'a.b', value: '1' });
    expect(parseRequest('{"cmd":"sysctl","value":"1"}')).toBeInstanceOf(Error);
    expect(parseRequest('{"cmd":"sysctl","name":3}')).toBeInstanceOf(Error);
  });

  it('lists, reads and writes like sysctl(8); refusals go to stderr with exit code 1', async () => {
    const t = target();
    const path = join(dir, 's.sock');
    const srv = await ControlServer.claim(path, quiet);
    srv.setHandler((req) => (req.cmd === 'sysctl' ? answerSysctl(t, req) : { ok: false, error: 'no' }));
    const run = async (args: string[], opts: Parameters<typeof sysctlCommand>[1] = {}) => {
      const out = new PassThrough();
      const err = new PassThrough();
      let o = '';
      let e = '';
      out.on('data', (d: Buffer) => (o += d.toString()));
      err.on('data', (d: Buffer) => (e += d.toString()));
      const code = await sysctlCommand(args, { socket: path, ...opts }, out, err);
      return { code, out: o, err: e };
    };
    try {
      const all = await run([], { all: true });
      expect(all.code).toBe(0);
      expect(all.out.trimEnd().split('\n')).toHaveLength(SYSCTLS.length);
      expect(all.out).toContain('net.ipv4.tcp_sack = 1\n');
      expect(all.out).toContain('net.ipv4.ip_local_port_range = 32768 60999\n');

      expect(await run(['net.ipv4.tcp_keepalive_time=600', 'net.ipv4.tcp_keepalive_time'])).toEqual({ code: 0, out: 'net.ipv4.tcp_keepalive_time = 600\nnet.ipv4.tcp_keepalive_time = 600\n', err: '' });
      expect(t.stack.tcp.config.keepaliveTimeMs).toBe(600_000);

      const ro = await run(['tunstack.tcp.rmem=1048576', 'net.ipv4.tcp_sack']);
      expect(ro).toEqual({ code: 1, out: 'net.ipv4.tcp_sack = 1\n', err: 'tunstack sysctl: tunstack.tcp.rmem is read-only at run time: set it with --sysctl tunstack.tcp.rmem=VALUE at start\n' });
      expect((await run(['net.ipv4.tcp_sack'], { values: true })).out).toBe('1\n');
      expect((await run(['net.ipv4.tcp_sack'], { describe: true })).out).toMatch(/^net\.ipv4\.tcp_sack = 1  # selective acknowledgements/);
      expect(JSON.parse((await run(['tunstack.tcp.rmem'], { json: true })).out)).toEqual([{ name: 'tunstack.tcp.rmem', value: '64240', unit: 'bytes', writable: false, text: findSysctl('tunstack.tcp.rmem')!.text }]);
      await expect(run([])).rejects.toThrow(/give -a/);
    } finally {
      await srv.close();
    }
  });
});
