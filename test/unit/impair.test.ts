import { describe, it, expect } from 'vitest';
import { TimerQueue, VirtualClock } from '../../src/clock.js';
import { ImpairedLink, Prng, REORDER_HOLD_MS } from '../../src/link/impair.js';
import { makeImpairSpec, parseImpairSpec, type ImpairSpec } from '../../src/link/impair-spec.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';

/** An inner link that records what is sent (with the virtual time) and lets tests inject inbound batches. */
class FakeLink implements Link {
  readonly mtu = 1500;
  readonly name = 'fake0';
  receiver: LinkReceiver | null = null;
  closed = false;
  /** One entry per send() call. */
  batches: { t: number; packets: Uint8Array[]; array: readonly Uint8Array[] }[] = [];
  constructor(private readonly clock: VirtualClock) {}
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  send(packets: readonly Uint8Array[], count: number): void {
    this.batches.push({ t: this.clock.now(), packets: packets.slice(0, count), array: packets });
  }
  close(): void {
    this.closed = true;
  }
  inject(packets: Uint8Array[]): void {
    this.receiver!(packets, packets.length);
  }
  get sent(): { t: number; id: number; pkt: Uint8Array }[] {
    return this.batches.flatMap((b) => b.packets.map((pkt) => ({ t: b.t, id: idOf(pkt), pkt })));
  }
}

function pkt(id: number, len = 64): Uint8Array {
  const b = new Uint8Array(len);
  b[0] = 0x45;
  b[4] = (id >>> 8) & 0xff;
  b[5] = id & 0xff;
  for (let i = 20; i < len; i++) b[i] = (i * 7 + id) & 0xff;
  return b;
}
const idOf = (b: Uint8Array): number => (b[4]! << 8) | b[5]!;

function spec(text: string): ImpairSpec {
  const r = parseImpairSpec(text);
  if ('error' in r) throw new Error(r.error);
  return r;
}

function setup(s: ImpairSpec | string) {
  const clock = new VirtualClock();
  const timers = new TimerQueue();
  const inner = new FakeLink(clock);
  const link = new ImpairedLink(inner, typeof s === 'string' ? spec(s) : s, clock, timers);
  /** Moves the virtual clock to `t`, firing due timers. */
  const at = (t: number): void => {
    clock.set(t);
    timers.runDue(t);
  };
  /** Runs every pending timer, deadline by deadline. */
  const drain = (): void => {
    for (let n = 0; n < 1_000_000 && timers.nextDeadline() < Infinity; n++) at(Math.max(clock.now(), timers.nextDeadline()));
  };
  return { clock, timers, inner, link, at, drain };
}

/** Sends `n` packets one per call, starting at id `from`, every `gap` ms. */
function sendSeries(h: ReturnType<typeof setup>, n: number, gap = 0, from = 0): void {
  for (let i = 0; i < n; i++) {
    if (gap > 0) h.at(h.clock.now() + (i === 0 ? 0 : gap));
    h.link.send([pkt(from + i)], 1);
  }
}

describe('Prng', () => {
  it('is reproducible and roughly uniform', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c.next())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('ImpairedLink', () => {
  it('passes straight through when nothing is configured (same array, no copy, no timer)', () => {
    const h = setup('');
    expect(h.link.mtu).toBe(1500);
    expect(h.link.name).toBe('fake0');
    const batch = [pkt(1), pkt(2), pkt(3)];
    h.link.send(batch, 2);
    expect(h.inner.batches).toHaveLength(1);
    expect(h.inner.batches[0]!.array).toBe(batch);
    expect(h.inner.batches[0]!.packets).toEqual([batch[0], batch[1]]);
    expect(h.inner.batches[0]!.packets[0]).toBe(batch[0]);
    const got: (readonly Uint8Array[])[] = [];
    h.link.setReceiver((p) => got.push(p));
    const inbound = [pkt(9)];
    h.inner.inject(inbound);
    expect(got[0]).toBe(inbound);
    expect(h.timers.size).toBe(0);
    expect(h.link.stats.out.passed).toBe(2);
    expect(h.link.stats.in.passed).toBe(1);
  });

  it('impairs one direction only when prefixed; the other passes through', () => {
    const h = setup('out:delay=5ms');
    const got: number[] = [];
    h.link.setReceiver((p, n) => {
      for (let i = 0; i < n; i++) got.push(idOf(p[i]!));
    });
    h.link.send([pkt(1)], 1);
    h.inner.inject([pkt(2)]);
    expect(got).toEqual([2]);
    expect(h.inner.sent).toEqual([]);
    h.at(5);
    expect(h.inner.sent.map((s) => [s.t, s.id])).toEqual([[5, 1]]);
  });

  it('loses close to the configured rate over 10,000 packets', () => {
    const h = setup('loss=5%,seed=7');
    sendSeries(h, 10_000);
    const s = h.link.stats.out;
    expect(s.dropped).toBeGreaterThanOrEqual(400);
    expect(s.dropped).toBeLessThanOrEqual(600);
    expect(s.passed + s.dropped).toBe(10_000);
    expect(h.inner.sent).toHaveLength(s.passed);
  });

  it('same seed ⇒ same decisions; another seed ⇒ others; directions use different streams', () => {
    const run = (seed: number): number[] => {
      const h = setup(`loss=30%,duplicate=10%,reorder=20%,delay=3ms,jitter=2ms,corrupt=5%,seed=${seed}`);
      sendSeries(h, 500, 0.5);
      h.drain();
      return h.inner.sent.flatMap((s) => [s.t, s.id, s.pkt.reduce((a, b) => (a * 31 + b) >>> 0, 0)]);
    };
    expect(run(11)).toEqual(run(11));
    expect(run(11)).not.toEqual(run(12));

    const h = setup('loss=50%,seed=3');
    const inIds: number[] = [];
    h.link.setReceiver((p, n) => {
      for (let i = 0; i < n; i++) inIds.push(idOf(p[i]!));
    });
    sendSeries(h, 200);
    for (let i = 0; i < 200; i++) h.inner.inject([pkt(i)]);
    expect(inIds).not.toEqual(h.inner.sent.map((s) => s.id));
  });

  it('delays exactly by delay on the virtual clock, batching packets due together', () => {
    const h = setup('delay=10ms');
    h.link.send([pkt(1), pkt(2)], 2);
    h.at(3);
    h.link.send([pkt(3)], 1);
    h.at(9.999);
    expect(h.inner.batches).toHaveLength(0);
    expect(h.link.pending('out')).toBe(3);
    h.at(10);
    expect(h.inner.batches).toHaveLength(1);
    expect(h.inner.batches[0]!.packets.map(idOf)).toEqual([1, 2]);
    h.at(12.999);
    expect(h.inner.batches).toHaveLength(1);
    h.at(13);
    expect(h.inner.sent.map((s) => [s.t, s.id])).toEqual([
      [10, 1],
      [10, 2],
      [13, 3],
    ]);
    expect(h.link.stats.out.delayed).toBe(3);
    expect(h.link.stats.out.passed).toBe(3);
    expect(h.timers.size).toBe(0);
  });

  it('packets coming due before one timer firing go out as one batch, in due order', () => {
    const h = setup('delay=10ms');
    sendSeries(h, 5, 1); // sent at 0..4, due at 10..14
    h.at(20);
    expect(h.inner.batches).toHaveLength(1);
    expect(h.inner.batches[0]!.packets.map(idOf)).toEqual([0, 1, 2, 3, 4]);
  });

  it('jitter keeps every delay within [delay-jitter, delay+jitter], never below zero', () => {
    const h = setup('delay=10ms,jitter=2ms,seed=5');
    const sentAt = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      h.at(i * 0.25);
      sentAt.set(i, h.clock.now());
      h.link.send([pkt(i)], 1);
    }
    h.drain();
    const delays = h.inner.sent.map((s) => s.t - sentAt.get(s.id)!);
    expect(delays).toHaveLength(300);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...delays)).toBeLessThanOrEqual(12);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(3); // it does vary
    // netem-like: jitter alone reorders packets sent close together
    const ids = h.inner.sent.map((s) => s.id);
    expect(ids).not.toEqual([...ids].sort((a, b) => a - b));

    const z = setup('delay=1ms,jitter=5ms,seed=9');
    for (let i = 0; i < 200; i++) {
      z.at(i);
      z.link.send([pkt(i)], 1);
    }
    z.drain();
    const zs = z.inner.sent;
    expect(zs).toHaveLength(200);
    for (const s of zs) {
      expect(s.t).toBeGreaterThanOrEqual(s.id); // never before it was sent
      expect(s.t).toBeLessThanOrEqual(s.id + 6); // timers fire at whole steps here: due <= id+6 ⇒ fired by id+6
    }
    expect(zs.filter((s) => s.t === s.id).length).toBeGreaterThan(20); // clamped to zero delay
  });

  it('reorder with a delay: picked packets skip the delay and overtake the queue', () => {
    const h = setup('delay=10ms,reorder=30%,seed=4');
    sendSeries(h, 1000, 1);
    h.drain();
    const sent = h.inner.sent;
    expect(sent).toHaveLength(1000);
    const skipped = sent.filter((s) => s.t === s.id);
    const waited = sent.filter((s) => s.t === s.id + 10);
    expect(skipped.length + waited.length).toBe(1000);
    expect(skipped.length).toBe(h.link.stats.out.reordered);
    expect(skipped.length).toBeGreaterThan(250);
    expect(skipped.length).toBeLessThan(350);
    const ids = sent.map((s) => s.id);
    expect(ids).not.toEqual([...ids].sort((a, b) => a - b));
  });

  it('reorder without delay: holds a packet back until the next one has gone', () => {
    const h = setup('reorder=100%');
    sendSeries(h, 6);
    expect(h.inner.sent.map((s) => s.id)).toEqual([1, 0, 3, 2, 5, 4]);
    // within a batch too
    h.inner.batches = [];
    h.link.send([pkt(10), pkt(11), pkt(12)], 3);
    expect(h.inner.batches.map((b) => b.packets.map(idOf))).toEqual([[11, 10]]);
    expect(h.link.pending('out')).toBe(1);
    // a held packet with no successor goes out after REORDER_HOLD_MS
    h.at(REORDER_HOLD_MS - 0.001);
    expect(h.inner.batches).toHaveLength(1);
    h.at(REORDER_HOLD_MS);
    expect(h.inner.batches.map((b) => b.packets.map(idOf))).toEqual([[11, 10], [12]]);
    expect(h.link.pending('out')).toBe(0);
    expect(h.link.stats.out.reordered).toBe(5);
    expect(h.timers.size).toBe(0);
  });

  it('reorder without delay copies a held inbound packet (receiver views are transient)', () => {
    const h = setup('in:reorder=100%');
    const got: Uint8Array[] = [];
    h.link.setReceiver((p, n) => {
      for (let i = 0; i < n; i++) got.push(p[i]!.slice());
    });
    const buf = pkt(1);
    h.inner.inject([buf]);
    buf.fill(0xee); // the inner link reuses its buffer
    h.inner.inject([pkt(2)]);
    expect(got.map(idOf)).toEqual([2, 1]);
    expect(got[1]).toEqual(pkt(1));
  });

  it('copies delayed inbound packets', () => {
    const h = setup('in:delay=5ms');
    const got: Uint8Array[] = [];
    h.link.setReceiver((p, n) => {
      for (let i = 0; i < n; i++) got.push(p[i]!.slice());
    });
    const buf = pkt(7);
    h.inner.inject([buf]);
    buf.fill(0);
    expect(got).toEqual([]);
    h.at(5);
    expect(got).toEqual([pkt(7)]);
    expect(h.link.stats.in.delayed).toBe(1);
  });

  it('duplicate sends a second, separate copy right behind the original', () => {
    const h = setup('duplicate=100%');
    const a = pkt(1);
    h.link.send([a, pkt(2)], 2);
    const sent = h.inner.sent;
    expect(sent.map((s) => s.id)).toEqual([1, 1, 2, 2]);
    expect(sent[0]!.pkt).toBe(a);
    expect(sent[1]!.pkt).not.toBe(a);
    expect(sent[1]!.pkt).toEqual(a);
    expect(h.link.stats.out.duplicated).toBe(2);
    expect(h.link.stats.out.passed).toBe(4);

    const r = setup('duplicate=10%,seed=2');
    sendSeries(r, 5000);
    expect(r.link.stats.out.duplicated).toBeGreaterThan(400);
    expect(r.link.stats.out.duplicated).toBeLessThan(600);
    expect(r.inner.sent).toHaveLength(5000 + r.link.stats.out.duplicated);
  });

  it('corrupt flips exactly one bit of a copy', () => {
    const h = setup('corrupt=100%,seed=3');
    const originals: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const p = pkt(i, 20 + (i % 50));
      originals.push(p);
      h.link.send([p], 1);
    }
    const sent = h.inner.sent.map((s) => s.pkt);
    expect(sent).toHaveLength(200);
    const positions = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const got = sent[i]!;
      const orig = originals[i]!;
      expect(orig).toEqual(pkt(i, 20 + (i % 50))); // the sender's buffer is untouched
      expect(got.length).toBe(orig.length);
      let bits = 0;
      for (let j = 0; j < got.length; j++) {
        let x = got[j]! ^ orig[j]!;
        if (x !== 0) positions.add(j);
        for (; x !== 0; x &= x - 1) bits++;
      }
      expect(bits).toBe(1);
    }
    expect(positions.size).toBeGreaterThan(20); // any byte, not always the same
    expect(h.link.stats.out.corrupted).toBe(200);
  });

  it('rate: 1500-byte packets at 12mbit leave 1 ms apart, queueing behind each other', () => {
    const h = setup('rate=12mbit');
    const burst = Array.from({ length: 5 }, (_, i) => pkt(i, 1500));
    h.link.send(burst, 5);
    expect(h.inner.sent).toEqual([]);
    h.drain();
    expect(h.inner.sent.map((s) => [s.t, s.id])).toEqual([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 4],
    ]);
    // an idle wire starts afresh
    h.at(20);
    h.link.send([pkt(9, 750)], 1);
    h.drain();
    expect(h.inner.sent.at(-1)).toMatchObject({ t: 20.5, id: 9 });
    // rate and delay add up: due = max(now + delay, previous due) + serialization
    const d = setup('rate=12mbit,delay=10ms');
    d.link.send([pkt(0, 1500), pkt(1, 1500)], 2);
    d.drain();
    expect(d.inner.sent.map((s) => s.t)).toEqual([11, 12]);
  });

  it('tail-drops past limit', () => {
    const h = setup('rate=12mbit,limit=5');
    const burst = Array.from({ length: 10 }, (_, i) => pkt(i, 1500));
    h.link.send(burst, 10);
    expect(h.link.stats.out.rateDropped).toBe(5);
    expect(h.link.pending('out')).toBe(5);
    h.at(2);
    h.link.send([pkt(10, 1500), pkt(11, 1500), pkt(12, 1500)], 3); // two slots free again
    h.drain();
    expect(h.inner.sent.map((s) => s.id)).toEqual([0, 1, 2, 3, 4, 10, 11]);
    expect(h.link.stats.out.rateDropped).toBe(6);

    const d = setup('delay=5ms,limit=3');
    sendSeries(d, 4);
    expect(d.link.stats.out.rateDropped).toBe(1);
    d.drain();
    expect(d.inner.sent.map((s) => s.id)).toEqual([0, 1, 2]);
  });

  it('applies in-direction impairments to inbound packets with their own counters', () => {
    const h = setup(makeImpairSpec({ in: { loss: 0.2 }, seed: 5 }));
    let got = 0;
    h.link.setReceiver((_p, n) => {
      got += n;
    });
    for (let i = 0; i < 1000; i++) h.inner.inject([pkt(i)]);
    expect(h.link.stats.in.dropped).toBeGreaterThan(150);
    expect(h.link.stats.in.dropped).toBeLessThan(250);
    expect(got).toBe(h.link.stats.in.passed);
    expect(h.link.stats.out).toEqual({ passed: 0, dropped: 0, duplicated: 0, corrupted: 0, reordered: 0, delayed: 0, rateDropped: 0, ceMarked: 0, ceNotEct: 0 });
  });

  it('close discards pending packets, disarms its timers and closes the inner link', () => {
    const h = setup('delay=10ms,in:delay=10ms');
    let got = 0;
    h.link.setReceiver(() => got++);
    h.link.send([pkt(1)], 1);
    h.inner.inject([pkt(2)]);
    expect(h.timers.size).toBe(2);
    h.link.close();
    expect(h.inner.closed).toBe(true);
    expect(h.timers.size).toBe(0);
    expect(h.link.pending('out') + h.link.pending('in')).toBe(0);
    h.link.send([pkt(3)], 1);
    h.at(100);
    expect(h.inner.sent).toEqual([]);
    expect(got).toBe(0);
    h.link.close(); // idempotent
  });

  it('re-arms a single timer per direction', () => {
    const h = setup('delay=10ms,jitter=5ms,in:delay=3ms');
    h.link.setReceiver(() => {});
    sendSeries(h, 100);
    for (let i = 0; i < 100; i++) h.inner.inject([pkt(i)]);
    expect(h.timers.size).toBe(2);
    h.drain();
    expect(h.timers.size).toBe(0);
    expect(h.link.stats.out.passed).toBe(100);
    expect(h.link.stats.in.passed).toBe(100);
  });
});
