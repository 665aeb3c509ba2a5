/**
 * IPv6 on the TUN end to end: `tunstack up` puts fd77::2/64 on the stack and fd77::1 on the kernel side;
 * the kernel pings it (paced, 1400 B, flood) and the stack counts what it drops (the kernel's router
 * solicitations: Neighbor Discovery has nothing to do on a layer-3 TUN). `--addr6 off` keeps it IPv4-only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetNs, canRunInterop, which } from './netns.js';
import { STACK_ADDR, cliBuilt, startStack, type StackProcess } from './stack-process.js';

const can = canRunInterop();
const ready = can.ok && cliBuilt() && which('ping') !== null && which('curl') !== null;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npm run build)' : 'ping or curl not installed';
if (!ready) console.warn(`\n*** interop IPv6 ping tests SKIPPED: ${why} ***\n`);

const STACK6 = 'fd77::2';
const loss = (out: string): string | undefined => /([\d.]+)% packet loss/.exec(out)?.[1];

describe.skipIf(!ready)(`ping -6 the stack on a real TUN${ready ? '' : ` (skipped: ${why})`}`, () => {
  let ns: NetNs;
  let stack: StackProcess;

  beforeAll(async () => {
    ns = NetNs.create('ping6');
    stack = await startStack(ns, ['--services', 'http']);
  });

  afterAll(async () => {
    await stack?.stop();
    ns?.destroy();
  });

  it('the kernel side has fd77::1/64 on the TUN', () => {
    expect(ns.exec(['ip', '-6', 'addr', 'show', 'dev', 'tun0']).stdout).toContain('inet6 fd77::1/64');
  });

  it('paced, 1400-byte and flood pings, 0% loss; hop limit 64', () => {
    const r = ns.exec(['ping', '-6', '-c', '50', '-i', '0.01', '-w', '20', STACK6], { timeoutMs: 30_000 });
    expect(loss(r.stdout)).toBe('0');
    expect(r.stdout).toMatch(/ttl=64/);
    expect(loss(ns.exec(['ping', '-6', '-q', '-c', '20', '-i', '0.01', '-s', '1400', '-w', '20', STACK6], { timeoutMs: 30_000 }).stdout)).toBe('0');
    expect(loss(ns.exec(['ping', '-6', '-q', '-f', '-c', '5000', '-w', '20', STACK6], { timeoutMs: 30_000 }).stdout)).toBe('0');
  });

  it('counts what it read and what it answered in Ip6/Icmp6', () => {
    const s = JSON.parse(ns.exec(['curl', '-s', '-m', '5', `http://${STACK_ADDR}/_stack/stats`]).stdout) as { Ip6: Record<string, number>; Icmp6: Record<string, number> };
    expect(s.Icmp6['InEchos']).toBeGreaterThanOrEqual(5070);
    expect(s.Icmp6['OutEchoReplies']).toBe(s.Icmp6['InEchos']);
    expect(s.Ip6['InReceives']).toBeGreaterThanOrEqual(s.Icmp6['InEchos']!);
  });
});
