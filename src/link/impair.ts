/**
 * An impairment stage in front of any link: loss, duplicate, corrupt, delay
 * with jitter, reorder, rate limit with a bounded queue — what `tc qdisc add
 * ... netem` would do, for kernels without netem and for tests on a virtual
 * clock.
 *
 * Each direction (`out`: stack → inner link, `in`: inner link → stack) has
 * its own parameters, counters and PRNG (both derived from the spec's seed;
 * same seed and same traffic ⇒ same decisions). Per packet, as netem does:
 *
 *   1. duplicate — with probability `duplicate` a second copy follows the
 *      original; each copy then goes through steps 2–4 on its own (netem
 *      re-enqueues its duplicate the same way, without duplicating it again).
 *   2. loss — drop with probability `loss`.
 *   3. corrupt — with probability `corrupt`, flip one random bit of one
 *      random byte (any byte, header included) of a copy of the packet.
 *   3a. CE marking (RFC 3168 §5, ce-mark.ts) — with probability `ce`, or
 *      when the delay/rate queue already holds `ceQueue` packets, an ECT(0)
 *      or ECT(1) packet is marked CE instead of being dropped (netem's `ecn`
 *      option marks where it would drop); not-ECT packets pass unchanged.
 *      The mark is written in place, on a copy only when another copy of the
 *      packet (a duplicate) still reads the buffer.
 *   4. timing — the packet is due at `now + delay ± jitter` (uniform, never
 *      below `now`); with a `rate`, it also waits behind the packets queued
 *      before it and occupies the wire for `bytes * 8 / rate` seconds:
 *      due = max(now + delay±jitter, due of the previous rate-queued packet)
 *      + serialization (netem's formula). Jitter alone can reorder packets,
 *      as in netem. More than `limit` packets waiting ⇒ tail drop
 *      (`rateDropped`).
 *
 * A direction draws from its PRNG only for the impairments it has, so
 * adding `ce` to a spec changes no other decision of a spec without it.
 *
 * Reorder: when the direction has something to wait for (delay, jitter or a
 * rate), a packet picked with probability `reorder` skips the wait and goes
 * out at once, ahead of the queued ones — netem's semantics (tc sets gap 1).
 * With nothing to wait for, netem's reorder has no effect; here instead a
 * picked packet is held back and released right after the next packet of the
 * same direction goes out, or after `REORDER_HOLD_MS` if none comes — at most
 * one packet is held at a time.
 *
 * Packets due now go out in one batch per incoming batch, after any packets
 * already overdue (their timer late); packets coming due
 * at the same timer firing go out as one batch. One `Timer` per direction,
 * armed at the head of a time-ordered queue. Delayed inbound packets are
 * copied (receiver views are only valid during the call); outbound packets
 * are owned already, so only duplicates and corrupted copies are copied. A
 * direction without impairment passes batches straight through, without
 * copying.
 */
import type { Clock, TimerQueue } from '../clock.js';
import { Timer } from '../clock.js';
import { CE_ALREADY, CE_MARKED, markCe } from './ce-mark.js';
import type { ImpairParams, ImpairSpec } from './impair-spec.js';
import { isImpairing } from './impair-spec.js';
import type { Link, LinkReceiver } from './link.js';

/** How long a packet held back for reordering waits for a successor when the direction has no delay or rate. */
export const REORDER_HOLD_MS = 10;

export interface ImpairStats {
  /** Packets handed on (to the inner link or to the receiver), duplicates included. */
  passed: number;
  /** Packets dropped by `loss`. */
  dropped: number;
  /** Packets that were sent twice. */
  duplicated: number;
  /** Packets with a flipped bit. */
  corrupted: number;
  /** Packets that skipped the queue (or were held back, without delay). */
  reordered: number;
  /** Packets that waited in the delay/rate queue. */
  delayed: number;
  /** Packets dropped because the queue held `limit` packets. */
  rateDropped: number;
  /** ECT(0)/ECT(1) packets marked CE (by `ce` or `ceQueue`). */
  ceMarked: number;
  /** Packets picked for a CE mark that were not ECN-capable (not-ECT, or not IP): passed unchanged. */
  ceNotEct: number;
}

function newStats(): ImpairStats {
  return { passed: 0, dropped: 0, duplicated: 0, corrupted: 0, reordered: 0, delayed: 0, rateDropped: 0, ceMarked: 0, ceNotEct: 0 };
}

/** mulberry32: a tiny, fast 32-bit PRNG; reproducible from its seed. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** A splitmix32-style hash: independent seeds for the two directions from one spec seed. */
export function deriveSeed(seed: number, stream: number): number {
  let z = (seed + Math.imul(stream + 1, 0x9e3779b9)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A packet waiting in a direction's queue. Entries are pooled. */
interface Entry {
  due: number;
  seq: number;
  pkt: Uint8Array;
}

type Emit = (packets: readonly Uint8Array[], count: number) => void;

/** One direction of the stage. */
class Direction {
  readonly stats = newStats();
  readonly passthrough: boolean;
  private readonly prng: Prng;
  /** Min-heap on (due, seq). */
  private readonly heap: Entry[] = [];
  private readonly pool: Entry[] = [];
  private seq = 0;
  private readonly timer: Timer;
  /** Due time of the last packet scheduled behind the rate limit. */
  private rateTail = -Infinity;
  /** Whether the direction has a wait that reorder can skip. */
  private readonly waits: boolean;
  private held: Uint8Array | null = null;
  private heldUntil = Infinity;
  /** Output batch of the packet path; a nested call (re-entrance) uses its own. */
  private readonly nowBatch: Uint8Array[] = [];
  private readonly timerBatch: Uint8Array[] = [];
  private depth = 0;
  closed = false;

  constructor(
    readonly params: ImpairParams,
    seed: number,
    /** Copy packets kept past the call (inbound: receiver views are transient). */
    private readonly copyKept: boolean,
    private readonly emit: Emit,
    private readonly clock: Clock,
    private readonly timers: TimerQueue,
  ) {
    this.passthrough = !isImpairing(params);
    this.prng = new Prng(seed);
    this.waits = params.delay > 0 || params.jitter > 0 || params.rate > 0;
    this.timer = new Timer(this.onTimer);
  }

  get pending(): number {
    return this.heap.length + (this.held !== null ? 1 : 0);
  }

  /** Runs a batch through the impairments. */
  accept(packets: readonly Uint8Array[], count: number): void {
    if (this.closed) return;
    if (this.passthrough) {
      this.stats.passed += count;
      this.emit(packets, count);
      return;
    }
    const now = this.clock.now();
    const out = this.depth === 0 ? this.nowBatch : [];
    this.depth++;
    try {
      this.releaseOverdue(now, out);
      const p = this.params;
      const rng = this.prng;
      for (let i = 0; i < count; i++) {
        const pkt = packets[i]!;
        const dup = p.duplicate > 0 && rng.next() < p.duplicate;
        if (dup) {
          this.stats.duplicated++;
          this.one(pkt, now, out, false, true);
          this.one(pkt, now, out, true, false);
        } else {
          this.one(pkt, now, out, false, false);
        }
      }
      if (out.length > 0) {
        this.stats.passed += out.length;
        this.emit(out, out.length);
      }
    } finally {
      out.length = 0;
      this.depth--;
    }
    this.rearm();
  }

  /**
   * Packets whose time has come while the process was busy (their timer not yet run) go out first, before
   * what arrives now: netem releases each packet at its time, so a newcomer that skips the queue overtakes
   * only those still waiting. Without this the event loop's lag adds to the reordering (a queue-skipping ACK
   * handled before the overdue ones it overtook).
   */
  private releaseOverdue(now: number, out: Uint8Array[]): void {
    while (this.heap.length > 0 && this.heap[0]!.due <= now) out.push(this.pop());
    if (this.held !== null && this.heldUntil <= now) {
      out.push(this.held);
      this.held = null;
      this.heldUntil = Infinity;
    }
  }

  /**
   * One copy of a packet: loss, corrupt, CE, timing. `isCopy` marks the duplicate (always copied); `shared`:
   * the duplicate will still read this buffer, so a change goes on a copy.
   */
  private one(pkt: Uint8Array, now: number, out: Uint8Array[], isCopy: boolean, shared: boolean): void {
    const p = this.params;
    const rng = this.prng;
    if (p.loss > 0 && rng.next() < p.loss) {
      this.stats.dropped++;
      return;
    }
    let owned = false;
    if (isCopy) {
      pkt = pkt.slice();
      owned = true;
    }
    if (p.corrupt > 0 && rng.next() < p.corrupt && pkt.length > 0) {
      if (!owned) {
        pkt = pkt.slice();
        owned = true;
      }
      const byte = Math.floor(rng.next() * pkt.length);
      const bit = Math.floor(rng.next() * 8);
      pkt[byte]! ^= 1 << bit;
      this.stats.corrupted++;
    }
    if ((p.ce > 0 && rng.next() < p.ce) || (p.ceQueue > 0 && this.heap.length >= p.ceQueue)) {
      if (shared && !owned) {
        pkt = pkt.slice();
        owned = true;
      }
      const r = markCe(pkt);
      if (r === CE_MARKED) this.stats.ceMarked++;
      else if (r !== CE_ALREADY) this.stats.ceNotEct++; // a CE packet stays CE, uncounted
    }
    const reorder = p.reorder > 0 && rng.next() < p.reorder;
    if (!this.waits) {
      // Nothing to wait for: reorder by holding one packet back until the next one has gone.
      if (reorder && this.held === null) {
        this.stats.reordered++;
        this.held = this.copyKept && !owned ? pkt.slice() : pkt;
        this.heldUntil = now + REORDER_HOLD_MS;
        return;
      }
      out.push(pkt);
      if (this.held !== null) {
        out.push(this.held);
        this.held = null;
        this.heldUntil = Infinity;
      }
      return;
    }
    if (reorder) {
      // netem: a reordered packet is sent at once, ahead of the queue.
      this.stats.reordered++;
      out.push(pkt);
      return;
    }
    let due = now + p.delay;
    if (p.jitter > 0) due += (2 * rng.next() - 1) * p.jitter;
    if (due < now) due = now;
    if (this.heap.length >= p.limit) {
      this.stats.rateDropped++;
      return;
    }
    if (p.rate > 0) {
      if (due < this.rateTail) due = this.rateTail;
      due += (pkt.length * 8000) / p.rate;
      this.rateTail = due;
    }
    if (due <= now) {
      out.push(pkt);
      return;
    }
    this.stats.delayed++;
    this.push(due, this.copyKept && !owned ? pkt.slice() : pkt);
  }

  private rearm(): void {
    if (this.closed) return;
    const next = Math.min(this.heap.length > 0 ? this.heap[0]!.due : Infinity, this.heldUntil);
    if (next === Infinity) this.timers.disarm(this.timer);
    else if (!this.timer.armed || this.timer.deadline !== next) this.timers.arm(this.timer, next);
  }

  private readonly onTimer = (now: number): void => {
    if (this.closed) return;
    const out = this.depth === 0 ? this.timerBatch : [];
    this.depth++;
    try {
      this.releaseOverdue(now, out);
      this.rearm();
      if (out.length > 0) {
        this.stats.passed += out.length;
        this.emit(out, out.length);
      }
    } finally {
      out.length = 0;
      this.depth--;
    }
  };

  /** Sends what is overdue now, as the late timer would (see ImpairedLink's inbound path). */
  releaseDue(): void {
    if (this.closed || this.passthrough || this.depth > 0) return;
    const now = this.clock.now();
    if ((this.heap.length > 0 && this.heap[0]!.due <= now) || this.heldUntil <= now) this.onTimer(now);
  }

  close(): void {
    this.closed = true;
    this.timers.disarm(this.timer);
    this.heap.length = 0;
    this.pool.length = 0;
    this.held = null;
    this.heldUntil = Infinity;
  }

  // --- the time-ordered queue: a binary min-heap on (due, seq) ---

  private push(due: number, pkt: Uint8Array): void {
    const e = this.pool.pop() ?? { due: 0, seq: 0, pkt };
    e.due = due;
    e.seq = this.seq++;
    e.pkt = pkt;
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const pi = (i - 1) >> 1;
      const pe = h[pi]!;
      if (!before(e, pe)) break;
      h[i] = pe;
      i = pi;
    }
    h[i] = e;
  }

  private pop(): Uint8Array {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    const pkt = top.pkt;
    top.pkt = EMPTY;
    this.pool.push(top);
    return pkt;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

const EMPTY = new Uint8Array(0);

export class ImpairedLink implements Link {
  readonly mtu: number;
  readonly name: string;
  readonly stats: { readonly in: ImpairStats; readonly out: ImpairStats };
  private receiver: LinkReceiver | null = null;
  private closed = false;
  private readonly dirIn: Direction;
  private readonly dirOut: Direction;

  constructor(
    private readonly inner: Link,
    readonly spec: ImpairSpec,
    clock: Clock,
    timers: TimerQueue,
  ) {
    this.mtu = inner.mtu;
    this.name = inner.name;
    this.dirOut = new Direction(spec.out, deriveSeed(spec.seed, 0), false, (p, n) => this.inner.send(p, n), clock, timers);
    this.dirIn = new Direction(
      spec.in,
      deriveSeed(spec.seed, 1),
      true,
      (p, n) => {
        const r = this.receiver;
        if (r !== null) r(p, n);
      },
      clock,
      timers,
    );
    this.stats = { in: this.dirIn.stats, out: this.dirOut.stats };
    // Outbound packets whose time has passed (their timer late while the process was busy) have left before
    // anything read now: a reply must not be handled before the packet it answers has gone out.
    inner.setReceiver((p, n) => {
      this.dirOut.releaseDue();
      this.dirIn.accept(p, n);
    });
  }

  /** Packets waiting in a direction's queue (delayed, rate-limited or held back). */
  pending(dir: 'in' | 'out'): number {
    return dir === 'in' ? this.dirIn.pending : this.dirOut.pending;
  }

  setReceiver(receiver: LinkReceiver): void {
    if (this.closed) return;
    this.receiver = receiver;
  }

  send(packets: readonly Uint8Array[], count: number): void {
    if (this.closed) return;
    if (this.dirOut.passthrough) {
      this.dirOut.stats.passed += count;
      this.inner.send(packets, count);
      return;
    }
    this.dirOut.accept(packets, count);
  }

  /** Reads the inner link's waiting packets into the inbound direction (which may still delay or drop them). */
  pollReceive(): number {
    return this.closed ? 0 : (this.inner.pollReceive?.() ?? 0);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = null;
    this.dirIn.close();
    this.dirOut.close();
    this.inner.close();
  }
}
