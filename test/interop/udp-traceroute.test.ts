/**
 * UDP, DNS and routing against the real stack on a TUN in a namespace of our
 * own, with the built-in `router` topology (the TUN stack 10.77.0.2 routes
 * for a virtual host 10.77.9.2): traceroute shows two hops, ping -t 1 gets
 * time exceeded, UDP echo round-trips (socat and nc), dig answers, a closed
 * port yields ICMP port unreachable.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { canRunInterop, NetNs, which } from './netns.js';
import { cliBuilt, startStack, STACK_ADDR, type StackProcess } from './stack-process.js';

const can = canRunInterop();
const missing = ['traceroute', 'dig', 'socat', 'nc', 'python3'].filter((t) => !which(t));
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npx tsc -p tsconfig.build.json)' : missing.length ? `tools missing: ${missing.join(', ')}` : '';
if (why) console.warn(`interop udp-traceroute SKIPPED: ${why}`);

const HOST = '10.77.9.2';

describe.skipIf(!!why)(`UDP, DNS and routing on a real TUN${why ? ` (skipped: ${why})` : ''}`, () => {
  let ns: NetNs;
  let stack: StackProcess;

  beforeAll(async () => {
    ns = NetNs.create('tsudp');
    stack = await startStack(ns, ['--topology', 'router', '--hostname', 'extra.test']);
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
    ns?.destroy();
  });

  it('the CLI routed the virtual subnet through the TUN', () => {
    expect(ns.run(['ip', 'route', 'show', '10.77.9.0/24'])).toMatch(/10\.77\.9\.0\/24 dev tun0/);
  });

  it('traceroute -n shows two hops ending at the host', () => {
    const out = ns.run(['traceroute', '-n', '-q', '1', '-w', '2', '-m', '5', HOST], { timeoutMs: 30_000 });
    const hops = out
      .split('\n')
      .slice(1)
      .filter((l) => /^\s*\d+\s/.test(l))
      .map((l) => l.trim().split(/\s+/)[1]);
    expect(hops).toEqual(['10.77.0.2', HOST]);
  }, 35_000);

  it('ping -t 1 gets "Time to live exceeded" from 10.77.0.2; ping to the host is answered', () => {
    const r = ns.exec(['ping', '-c', '1', '-W', '2', '-t', '1', HOST], { timeoutMs: 10_000 });
    expect(r.stdout).toMatch(/From 10\.77\.0\.2 .*Time to live exceeded/);
    expect(ns.exec(['ping', '-c', '2', '-i', '0.2', '-s', '3000', HOST], { timeoutMs: 10_000 }).stdout).toMatch(/ 0% packet loss/);
  }, 20_000);

  it('UDP echo round-trips with socat and nc, on the TUN stack and on the virtual host', () => {
    for (const dst of [STACK_ADDR, HOST]) {
      const s = ns.run(['socat', '-T', '2', '-', `UDP4:${dst}:7`], { input: 'hello via socat\n', timeoutMs: 10_000 });
      expect(s).toBe('hello via socat\n');
    }
    const n = ns.run(['nc', '-u', '-w', '1', STACK_ADDR, '7'], { input: 'hello via nc\n', timeoutMs: 10_000 });
    expect(n).toBe('hello via nc\n');
  }, 30_000);

  it('dig answers A and PTR; NXDOMAIN for other names', () => {
    const dig = (...a: string[]) => ns.run(['dig', '+short', '+time=2', '+tries=1', ...a], { timeoutMs: 10_000 }).trim();
    expect(dig(`@${STACK_ADDR}`, 'tunstack.test', 'A')).toBe(STACK_ADDR);
    expect(dig(`@${STACK_ADDR}`, 'extra.test', 'A')).toBe(STACK_ADDR);
    expect(dig(`@${STACK_ADDR}`, '-x', STACK_ADDR).split('\n')).toEqual(['tunstack.test.', 'extra.test.']);
    expect(dig(`@${HOST}`, 'host.tunstack.test', 'A')).toBe(HOST);
    const full = ns.run(['dig', '+time=2', '+tries=1', `@${STACK_ADDR}`, 'nope.example'], { timeoutMs: 10_000 });
    expect(full).toMatch(/status: NXDOMAIN/);
  }, 30_000);

  it('a UDP datagram to a closed port yields ICMP port unreachable (ECONNREFUSED on a connected socket)', () => {
    const py = [
      'import socket',
      'r = []',
      `for dst in ("${STACK_ADDR}", "${HOST}"):`,
      '    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.settimeout(2)',
      '    c.connect((dst, 4999)); c.send(b"x")',
      '    try: c.recv(100); r.append("no")',
      '    except ConnectionRefusedError: r.append("refused")',
      '    except Exception as e: r.append(type(e).__name__)',
      'print(" ".join(r))',
    ].join('\n');
    expect(ns.run(['python3', '-c', py], { timeoutMs: 15_000 }).trim()).toBe('refused refused');
  }, 20_000);

  it('the counters match: forwarded datagrams, time exceeded, no-ports', async () => {
    expect(await stack.stop()).toBe(0);
    const line = stack
      .output()
      .split('\n')
      .find((l) => l.includes('"stack down"'));
    expect(line).toBeDefined();
    const s = (JSON.parse(line!) as { stats: { Ip: Record<string, number>; Icmp: Record<string, number>; Udp: Record<string, number> } }).stats;
    // traceroute hop 1 and ping -t 1: two time-exceeded from the router
    expect(s.Icmp['OutTimeExcds']).toBe(2);
    expect(s.Ip['ForwDatagrams']).toBeGreaterThan(0);
    expect(s.Udp['NoPorts']).toBe(1); // the closed-port probe to the TUN stack itself
    expect(s.Udp['InDatagrams']).toBeGreaterThanOrEqual(6); // socat, nc, dig queries
  }, 20_000);
});
