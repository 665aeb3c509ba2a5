/**
 * TCP Fast Open against the real kernel client: `tunstack up` (Fast Open on by default) on a TUN in a namespace of the
 * test's own, `curl --tcp-fastopen` from the kernel side (net.ipv4.tcp_fastopen=1 in that namespace only).
 * The first request asks for a cookie; the next ones ride in the SYN — the kernel counts them as
 * TCPFastOpenActive and the stack as TCPFastOpenPassive. With the server side switched off at run time
 * (`tunstack sysctl net.ipv4.tcp_fastopen=1`, Linux's default and `--fast-open off`), the SYN's data is not taken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetNs, canRunInterop, which } from './netns.js';
import { CLI, STACK_ADDR, cliBuilt, startStack, type StackProcess } from './stack-process.js';

const can = canRunInterop();
const missing = ['curl', 'nstat'].filter((t) => which(t) === null);
const ready = can.ok && cliBuilt() && missing.length === 0;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npm run build)' : `tools missing: ${missing.join(', ')}`;
if (!ready) console.warn(`\n*** interop Fast Open tests SKIPPED: ${why} ***\n`);

describe.skipIf(!ready)(`TCP Fast Open with the kernel's curl${ready ? '' : ` (skipped: ${why})`}`, () => {
  let ns: NetNs;
  let stack: StackProcess;

  beforeAll(async () => {
    NetNs.reapStale('fastopen');
    ns = NetNs.create('fastopen');
    stack = await startStack(ns, ['--services', 'http', '--https', 'off', '--warmup', 'off']);
    await stack.waitForOutput(/http server listening/, 10_000);
  }, 40_000);

  afterAll(async () => {
    await stack?.stop();
    ns?.destroy();
  });

  it('the second curl --tcp-fastopen request rides in the SYN: TCPFastOpenActive on the kernel, TCPFastOpenPassive on the stack', () => {
    expect(ns.exec(['sysctl', '-qw', 'net.ipv4.tcp_fastopen=1']).status).toBe(0);
    for (let i = 0; i < 3; i++) {
      const r = ns.exec(['curl', '-s', '-m', '8', '--tcp-fastopen', '-o', '/dev/null', '-w', '%{http_code}', `http://${STACK_ADDR}/`], { timeoutMs: 10_000 });
      expect(r.stdout).toBe('200');
    }
    const kernel = ns.exec(['nstat', '-az', 'TcpExtTCPFastOpenActive']).stdout;
    expect(Number(/TcpExtTCPFastOpenActive\s+(\d+)/.exec(kernel)?.[1] ?? 0)).toBeGreaterThanOrEqual(2);
    const stats = ns.exec([process.execPath, CLI, 'stats'], { timeoutMs: 10_000 });
    expect(stats.status).toBe(0);
    expect(Number(/^TcpExtTCPFastOpenPassive +(\d+)$/m.exec(stats.stdout)?.[1] ?? 0)).toBeGreaterThanOrEqual(2);
    expect(stats.stdout).toMatch(/^TcpExtTCPFastOpenCookieReqd +1$/m);
  }, 60_000);

  it("with the server side off (Linux's default, 1) the SYN's data is not taken: the request still answered, TCPFastOpenPassive unchanged", () => {
    const passive = (): number => Number(/^TcpExtTCPFastOpenPassive +(\d+)$/m.exec(ns.exec([process.execPath, CLI, 'stats'], { timeoutMs: 10_000 }).stdout)?.[1] ?? -1);
    const before = passive();
    expect(before).toBeGreaterThanOrEqual(2);
    expect(ns.exec([process.execPath, CLI, 'sysctl', 'net.ipv4.tcp_fastopen=1'], { timeoutMs: 10_000 }).status).toBe(0);
    const r = ns.exec(['curl', '-s', '-m', '8', '--tcp-fastopen', '-o', '/dev/null', '-w', '%{http_code}', `http://${STACK_ADDR}/`], { timeoutMs: 10_000 });
    expect(r.stdout).toBe('200');
    expect(passive()).toBe(before);
  }, 60_000);
});
