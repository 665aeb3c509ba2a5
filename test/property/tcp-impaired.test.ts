/**
 * Property: whatever the loss (up to 20%), reordering, duplication and
 * corruption on the memory link, a 1 MiB transfer in each direction arrives
 * exact, in order, once. Virtual time; a bounded number of runs.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { Vnet, B_ADDR } from '../helpers/vnet.js';

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function transfer(specA: string, specB: string, cc: 'newreno' | 'cubic', sack: boolean, seed: number): Promise<void> {
  const net = new Vnet({ impairA: specA, impairB: specB, tcpA: { congestionControl: cc, sack }, tcpB: { congestionControl: cc, sack } });
  const up = pattern(1 << 20, seed);
  const down = pattern(1 << 20, seed ^ 0x5a5a5a5a);
  const atServer: Buffer[] = [];
  let serverEnded = false;
  net.b.tcp
    .createServer({ allowHalfOpen: true }, (s) => {
      s.on('data', (d: Buffer) => atServer.push(d));
      s.on('end', () => (serverEnded = true));
      s.on('error', () => {});
      s.end(down);
    })
    .listen(5001);
  const c = net.a.tcp.connect({ host: B_ADDR, port: 5001, allowHalfOpen: true });
  const atClient: Buffer[] = [];
  let clientEnded = false;
  c.on('data', (d: Buffer) => atClient.push(d));
  c.on('end', () => (clientEnded = true));
  let err: Error | undefined;
  c.on('error', (e) => (err = e));
  c.end(up);
  await net.until(() => (serverEnded && clientEnded) || err !== undefined, 3_600_000, `transfer (${specA} / ${specB})`);
  expect(err).toBeUndefined();
  expect(sha(Buffer.concat(atServer))).toBe(sha(up));
  expect(sha(Buffer.concat(atClient))).toBe(sha(down));
  net.close();
}

describe('TCP over an impaired link (property)', () => {
  it('delivers 1 MiB each way exactly under loss ≤ 20%, reordering, duplication, corruption', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom('newreno' as const, 'cubic' as const),
        fc.boolean(),
        async (loss, reorder, dup, corrupt, seed, cc, sack) => {
          // Each side impairs only what it sends (out:), so each packet meets one loss draw and at most one bit flip
          // (two flips can cancel in the 16-bit Internet checksum — a real limit of TCP, not a property of the stack).
          const spec = (s: number) => `out:loss=${loss}%,out:reorder=${reorder}%,out:duplicate=${dup}%,out:corrupt=${corrupt}%,out:delay=2ms,out:jitter=1ms,seed=${s}`;
          await transfer(spec(seed), spec(seed ^ 0x1234567), cc, sack, seed);
        },
      ),
      { numRuns: 25, seed: Number(process.env.TCP_PROP_SEED ?? 20240607), endOnFailure: true },
    );
  }, 120_000);

  it('survives the harshest corner: 20% loss both ways with reordering', async () => {
    await transfer('out:loss=20%,out:reorder=25%,out:delay=5ms,seed=11', 'out:loss=20%,out:reorder=25%,out:delay=5ms,seed=12', 'newreno', true, 99);
  }, 120_000);
});
