/**
 * IPv6 beyond echo, end to end with real Linux tools in a namespace of our own: `ping -6 -s 4000` (the kernel
 * fragments the request, the stack reassembles it and answers in fragments), a bounded flood, `dig AAAA`
 * over IPv6, UDP echo with socat and python, port unreachable (ECONNREFUSED), and `traceroute -6` through
 * the `router` topology (two hops: the TUN stack's Time Exceeded, the virtual host's port unreachable).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetNs, canRunInterop, which } from './netns.js';
import { cliBuilt, startStack, type StackProcess } from './stack-process.js';

const can = canRunInterop();
const missing = ['ping', 'dig', 'socat', 'python3', 'traceroute'].filter((t) => !which(t));
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npm run build)' : missing.length ? `tools missing: ${missing.join(', ')}` : '';
if (why) console.warn(`\n*** interop IPv6 services SKIPPED: ${why} ***\n`);

const STACK6 = 'fd77::2';
const HOST6 = 'fd77:9::2';
const loss = (out: string): string | undefined => /([\d.]+)% packet loss/.exec(out)?.[1];

describe.skipIf(!!why)(`IPv6 fragments, UDP, DNS and traceroute on a real TUN${why ? ` (skipped: ${why})` : ''}`, () => {
  let ns: NetNs;
  let stack: StackProcess;

  beforeAll(async () => {
    ns = NetNs.create('ip6svc');
    stack = await startStack(ns, ['--topology', 'router']);
  }, 40_000);

  afterAll(async () => {
    await stack?.stop();
    ns?.destroy();
  });

  it('ping -6 -s 4000 (fragmented both ways) and a bounded flood: 0% loss', () => {
    expect(loss(ns.exec(['ping', '-6', '-q', '-c', '5', '-i', '0.2', '-s', '4000', '-w', '10', STACK6], { timeoutMs: 20_000 }).stdout)).toBe('0');
    expect(loss(ns.exec(['ping', '-6', '-q', '-f', '-c', '2000', '-w', '20', STACK6], { timeoutMs: 30_000 }).stdout)).toBe('0');
    // through the router: the kernel's fragments are forwarded as they are, the host reassembles
    expect(loss(ns.exec(['ping', '-6', '-q', '-c', '3', '-i', '0.2', '-s', '3000', '-w', '10', HOST6], { timeoutMs: 20_000 }).stdout)).toBe('0');
  }, 60_000);

  it('dig AAAA (and A) over IPv6', () => {
    const dig = (...a: string[]) => ns.run(['dig', '-6', '+short', '+time=2', '+tries=2', ...a], { timeoutMs: 10_000 }).trim();
    expect(dig(`@${STACK6}`, 'AAAA', 'tunstack.test')).toBe(STACK6);
    expect(dig(`@${STACK6}`, 'A', 'tunstack.test')).toBe('10.77.0.2');
    expect(dig(`@${HOST6}`, 'AAAA', 'host.tunstack.test')).toBe(HOST6);
  }, 30_000);

  it('UDP echo over IPv6 with socat; a closed port is ECONNREFUSED', () => {
    for (const dst of [STACK6, HOST6]) {
      expect(ns.run(['socat', '-T', '2', '-', `UDP6:[${dst}]:7`], { input: 'hello6\n', timeoutMs: 10_000 })).toBe('hello6\n');
    }
    const py = [
      'import socket',
      'r = []',
      `for dst in ("${STACK6}", "${HOST6}"):`,
      '    c = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); c.settimeout(2)',
      '    c.connect((dst, 4999)); c.send(b"x")',
      '    try: c.recv(100); r.append("no")',
      '    except ConnectionRefusedError: r.append("refused")',
      '    except Exception as e: r.append(type(e).__name__)',
      'print(" ".join(r))',
    ].join('\n');
    expect(ns.run(['python3', '-c', py], { timeoutMs: 15_000 }).trim()).toBe('refused refused');
  }, 30_000);

  it('traceroute -6 through the virtual router: fd77::2, then the host', () => {
    const out = ns.run(['traceroute', '-6', '-n', '-q', '1', '-w', '2', '-m', '5', HOST6], { timeoutMs: 30_000 });
    const hops = out
      .split('\n')
      .slice(1)
      .filter((l) => /^\s*\d+\s/.test(l))
      .map((l) => l.trim().split(/\s+/)[1]);
    expect(hops).toEqual([STACK6, HOST6]);
  }, 35_000);

  it('the counters: reassembled and fragmented datagrams, hop limit exceeded, Udp6 traffic', async () => {
    expect(await stack.stop()).toBe(0);
    const line = stack
      .output()
      .split('\n')
      .find((l) => l.includes('"stack down"'));
    expect(line).toBeDefined();
    const s = (JSON.parse(line!) as { stats: Record<string, Record<string, number>> }).stats;
    expect(s['Ip6']!['ReasmOKs']).toBeGreaterThanOrEqual(5);
    expect(s['Ip6']!['FragOKs']).toBeGreaterThanOrEqual(5);
    expect(s['Ip6']!['OutForwDatagrams']).toBeGreaterThan(0);
    expect(s['Icmp6']!['OutTimeExcds']).toBe(1);
    expect(s['Udp6']!['NoPorts']).toBe(1); // the closed-port probe to the TUN stack itself
    expect(s['Udp6']!['InDatagrams']).toBeGreaterThanOrEqual(3);
  }, 20_000);
});
