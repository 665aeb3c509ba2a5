/**
 * Fuzzing the whole input path (issue 9, item 1): sequences of random and
 * mutated-valid packets — IPv4 with any source/destination (LAND,
 * broadcast, multicast), UDP to open and closed ports, TCP segments with
 * hostile options aimed at live connections at in-window and out-of-window
 * sequence numbers, ICMP errors quoting real and forged connections,
 * colliding fragments — interleaved with the passage of virtual time and
 * application actions, into a stack with every service up. After every
 * step: no exception escaped, every datagram is accounted for exactly once,
 * memory and timers are under their caps, and everything the stack sent is
 * well formed. See input-target.ts for the invariants.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { cmdArb, InputTarget, type Cmd } from '../adversarial/input-target.js';
import { fuzzAsync, reportExecutions } from '../adversarial/fuzz-kit.js';

afterAll(() => reportExecutions('input-path'));

async function runSequence(cmds: Cmd[], target: InputTarget): Promise<void> {
  for (const c of cmds) {
    await target.apply(c);
    target.check();
  }
}

describe('fuzz: the stack input path', () => {
  it('fresh stack per sequence: every step accounted for, nothing escapes', async () => {
    await fuzzAsync(
      'input.sequence',
      fc.array(cmdArb, { minLength: 1, maxLength: 40 }),
      async (cmds) => {
        const t = new InputTarget();
        try {
          await runSequence(cmds, t);
        } finally {
          t.close();
        }
      },
      300,
    );
  }, 120_000);

  it('tight limits (small reassembly memory, tiny backlog, syncookies always): caps hold under pressure', async () => {
    await fuzzAsync(
      'input.tight',
      fc.array(cmdArb, { minLength: 1, maxLength: 40 }),
      async (cmds) => {
        const t = new InputTarget({ reassembly: { maxTotalBytes: 4096, maxDatagrams: 3, maxDatagramBytes: 2048, timeoutMs: 1000 }, tcp: { syncookies: 2, rmem: 4096, wmem: 4096, maxOooRanges: 2 } });
        try {
          await runSequence(cmds, t);
        } finally {
          t.close();
        }
      },
      200,
    );
  }, 120_000);

  it('one long-lived stack takes every sequence; after load stops and time passes, reassembly drains and timers stay bounded', async () => {
    const t = new InputTarget();
    try {
      await fuzzAsync(
        'input.long-lived',
        fc.array(cmdArb, { minLength: 1, maxLength: 30 }),
        async (cmds) => {
          await runSequence(cmds, t);
        },
        300,
      );
      // Load stops: the application closes everything it holds, ten minutes pass.
      await t.apply({ k: 'app', what: 'destroy-all' });
      await t.apply({ k: 'time', ms: 600_000 });
      t.check();
      expect(t.stack.reassembler.pendingCount).toBe(0);
      expect(t.stack.reassembler.memory).toBe(0);
      // What is left are connections held open by the services (echo/discard/chargen keep an idle peer forever, as Linux does without keepalive).
      const rows = t.stack.tcp.socketTable().filter((r) => r.state !== 'LISTEN');
      for (const r of rows) expect(['ESTAB', 'CLOSE-WAIT', 'FIN-WAIT-1', 'FIN-WAIT-2', 'SYN-RECV', 'LAST-ACK', 'CLOSING']).toContain(r.state);
      expect(t.stack.timers.size).toBeLessThanOrEqual(8 * (rows.length + 8) + 16);
    } finally {
      t.close();
    }
  }, 120_000);
});
