/**
 * Classic ECN against the Linux kernel (RFC 3168): the kernel client in the test's namespace asks for ECN
 * (net.ipv4.tcp_ecn=1) and downloads 20 MB from `tunstack up --impair 'out:ce=2%,seed=3'`, whose stage marks 2%
 * of the stack's ECT packets CE. The body arrives exact; the kernel echoes the marks (ECE), so the stack counts
 * TcpExt.TCPDeliveredCE and reduces its window — retransmitting nothing, since a mark is not a loss. Bounded:
 * every command has a timeout, the stack is stopped by PID, the namespace deleted on every path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canRunInterop, NetNs, which } from './netns.js';
import { cliBuilt, startStack, STACK_ADDR, type StackProcess } from './stack-process.js';

const can = canRunInterop();
const tools = ['curl', 'python3'].filter((t) => !which(t));
const skipReason = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js is not built (npx tsc -p tsconfig.build.json)' : tools.length ? `missing tools: ${tools.join(', ')}` : '';

describe.skipIf(skipReason !== '')(`ECN CE marks with the Linux kernel as client${skipReason ? ` — SKIPPED: ${skipReason}` : ''}`, () => {
  let ns: NetNs;
  let stack: StackProcess;

  beforeAll(async () => {
    ns = NetNs.create('ecn');
    ns.run(['sysctl', '-qw', 'net.ipv4.tcp_ecn=1']);
    stack = await startStack(ns, ['--services', 'all', '--impair', 'out:ce=2%,seed=3']);
  }, 40_000);

  afterAll(async () => {
    await stack?.stop();
    ns?.destroy();
  });

  /** The stack's counters from /_stack/stats, as the acceptance's `counter` helper reads them. */
  const stats = (): { Tcp: Record<string, number>; TcpExt: Record<string, number>; Impair?: { out: Record<string, number> } } => {
    const r = ns.exec(['curl', '-s', '-m', '5', `http://${STACK_ADDR}/_stack/stats`], { timeoutMs: 8000 });
    if (r.status !== 0) throw new Error(`stats: curl ${r.status}: ${r.stderr}`);
    return JSON.parse(r.stdout) as ReturnType<typeof stats>;
  };

  it('a 20 MB download through out:ce=2% is exact, counts TCPDeliveredCE and retransmits nothing', () => {
    const before = stats();
    const n = 20_000_000;
    // Python checks the body (i % 251) and prints its length and verdict; curl fetches it.
    const r = ns.exec(
      [
        'sh',
        '-c',
        `curl -s -m 120 "http://${STACK_ADDR}/bytes?n=${n}" | python3 -c 'import sys
b = sys.stdin.buffer.read()
print(len(b), b == (bytes(range(251)) * (len(b) // 251 + 1))[: len(b)])'`,
      ],
      { timeoutMs: 150_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`${n} True`);
    const after = stats();
    const ce = after.TcpExt['TCPDeliveredCE']! - (before.TcpExt['TCPDeliveredCE'] ?? 0);
    const rtx = after.Tcp['RetransSegs']! - before.Tcp['RetransSegs']!;
    expect(after.Impair?.out['ceMarked'] ?? 0).toBeGreaterThan(0);
    expect(ce).toBeGreaterThanOrEqual(1);
    // Marks, not drops: nothing is lost, so nothing should be sent twice. One in a CI run (a tail loss probe
    // re-sending the last segment when the machine stalled past the probe timeout) is the known exception.
    expect(rtx).toBeLessThanOrEqual(1);
  }, 180_000);
});
