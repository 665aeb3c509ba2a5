import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { TimerQueue, VirtualClock } from '../../src/clock.js';
import { ImpairedLink } from '../../src/link/impair.js';
import { formatImpairSpec, makeImpairSpec, parseImpairSpec, type ImpairParams } from '../../src/link/impair-spec.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';

class FakeLink implements Link {
  readonly mtu = 1500;
  readonly name = 'fake0';
  receiver: LinkReceiver | null = null;
  readonly sent: Uint8Array[] = [];
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  send(packets: readonly Uint8Array[], count: number): void {
    for (let i = 0; i < count; i++) this.sent.push(packets[i]!);
  }
  close(): void {}
}

function pkt(id: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  b[0] = (id >>> 8) & 0xff;
  b[1] = id & 0xff;
  for (let i = 2; i < len; i++) b[i] = (i * 13 + id * 7) & 0xff;
  return b;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Impairments that never lose a packet: no loss, no corruption, a queue long enough for the run. */
const lossless: fc.Arbitrary<Partial<ImpairParams>> = fc.record(
  {
    delay: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 50_000 }).map((us) => us / 1000)),
    jitter: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20_000 }).map((us) => us / 1000)),
    reorder: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 }).map((p) => p / 100)),
    duplicate: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 }).map((p) => p / 100)),
    rate: fc.oneof(fc.constant(0), fc.integer({ min: 100, max: 1_000_000 }).map((k) => k * 1000)),
  },
  { requiredKeys: [] },
);

const traffic = fc.array(
  fc.record({
    gapUs: fc.integer({ min: 0, max: 3000 }),
    len: fc.integer({ min: 2, max: 1500 }), // room for the 2-byte id
    batch: fc.integer({ min: 1, max: 4 }),
    inbound: fc.boolean(),
  }),
  { minLength: 1, maxLength: 60 },
);

describe('ImpairedLink (property)', () => {
  it('without loss or corruption every packet arrives intact, in both directions (duplicates allowed)', () => {
    fc.assert(
      fc.property(lossless, lossless, fc.integer({ min: 0, max: 0xffffffff }), traffic, (pin, pout, seed, steps) => {
        const clock = new VirtualClock();
        const timers = new TimerQueue();
        const inner = new FakeLink();
        const link = new ImpairedLink(inner, makeImpairSpec({ in: pin, out: pout, seed }), clock, timers);
        const received: Uint8Array[] = [];
        link.setReceiver((p, n) => {
          for (let i = 0; i < n; i++) received.push(p[i]!.slice());
        });
        const at = (t: number): void => {
          clock.set(t);
          timers.runDue(t);
        };
        const expectOut = new Map<number, Uint8Array>();
        const expectIn = new Map<number, Uint8Array>();
        let id = 0;
        for (const s of steps) {
          at(clock.now() + s.gapUs / 1000);
          const batch: Uint8Array[] = [];
          for (let i = 0; i < s.batch; i++, id++) {
            const p = pkt(id, s.len);
            (s.inbound ? expectIn : expectOut).set(id, p.slice());
            batch.push(p);
          }
          if (s.inbound) {
            inner.receiver!(batch, batch.length);
            for (const p of batch) p.fill(0xa5); // the inner link reuses its receive buffers
          } else {
            link.send(batch, batch.length);
          }
        }
        for (let n = 0; timers.nextDeadline() < Infinity; n++) {
          if (n > 10_000) throw new Error('timers never settle');
          at(Math.max(clock.now(), timers.nextDeadline()));
        }
        expect(link.pending('in') + link.pending('out')).toBe(0);

        const check = (got: Uint8Array[], want: Map<number, Uint8Array>, duplicated: number): void => {
          expect(got.length).toBe(want.size + duplicated);
          const seen = new Set<number>();
          for (const p of got) {
            const pid = (p[0]! << 8) | p[1]!;
            const orig = want.get(pid);
            if (orig === undefined || !sameBytes(p, orig)) throw new Error(`packet ${pid} arrived damaged`);
            seen.add(pid);
          }
          expect(seen.size).toBe(want.size);
        };
        check(inner.sent, expectOut, link.stats.out.duplicated);
        check(received, expectIn, link.stats.in.duplicated);
        for (const s of [link.stats.in, link.stats.out]) {
          expect(s.dropped + s.rateDropped + s.corrupted).toBe(0);
        }
      }),
      { numRuns: 200, seed: 20240601 },
    );
  });

  it('formatImpairSpec output parses back to the same spec', () => {
    const pct = fc.integer({ min: 0, max: 1000 }).map((n) => `${n / 10}%`);
    const time = fc.oneof(
      fc.integer({ min: 0, max: 5000 }).map((n) => `${n}us`),
      fc.integer({ min: 0, max: 5000 }).map((n) => `${n / 4}ms`),
      fc.integer({ min: 0, max: 60 }).map((n) => `${n}s`),
    );
    const rate = fc.oneof(
      fc.integer({ min: 1, max: 100_000 }).map((n) => `${n}kbit`),
      fc.integer({ min: 1, max: 1000 }).map((n) => `${n}mbps`),
      fc.integer({ min: 1, max: 64 }).map((n) => `${n}kibit`),
    );
    const kinds: Record<string, fc.Arbitrary<string>> = {
      loss: pct,
      reorder: pct,
      duplicate: pct,
      corrupt: pct,
      delay: time,
      jitter: time,
      rate,
      limit: fc.integer({ min: 1, max: 100_000 }).map(String),
    };
    const item = fc
      .tuple(fc.constantFrom('', 'in:', 'out:'), fc.constantFrom(...Object.keys(kinds)))
      .chain(([dir, key]) => kinds[key]!.map((v) => ({ scope: dir + key, text: `${dir}${key}=${v}` })));
    const specText = fc
      .tuple(fc.uniqueArray(item, { selector: (i) => i.scope, maxLength: 12 }), fc.option(fc.integer({ min: 0, max: 0xffffffff })))
      .map(([items, seed]) => [...items.map((i) => i.text), ...(seed === null ? [] : [`seed=${seed}`])].join(','));
    fc.assert(
      fc.property(specText, (text) => {
        const a = parseImpairSpec(text);
        if ('error' in a) throw new Error(`${text}: ${a.error}`);
        const b = parseImpairSpec(formatImpairSpec(a));
        if ('error' in b) throw new Error(`${formatImpairSpec(a)}: ${b.error}`);
        expect(b.in).toEqual(a.in);
        expect(b.out).toEqual(a.out);
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it('the parser never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const r = parseImpairSpec(text);
        expect(typeof r).toBe('object');
      }),
      { numRuns: 1000, seed: 3 },
    );
  });
});
