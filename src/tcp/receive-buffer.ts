/**
 * The receive buffer (SO_RCVBUF) with its out-of-order assembler.
 *
 * One ring holds the in-order bytes the application has not read yet,
 * followed by space for the rest of the window: a segment that arrives out
 * of order is copied straight to its place in that space (copy once) and its
 * sequence range recorded. When the gap before it fills, the range simply
 * joins the in-order part. The ring grows (powers of two) up to the capacity;
 * the number of out-of-order ranges is bounded (a segment that would need
 * one more is dropped: TCPOFODrop).
 */
import { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqSub } from './seq.js';

import { NO_RING_POOL, type RingPool } from './ring-pool.js';
import { DOUBLE_ZERO } from '../shape.js';

const EMPTY = new Uint8Array(0);

export type InsertResult = 'in-order' | 'out-of-order' | 'duplicate' | 'no-room' | 'too-many-ranges';

export class ReceiveBuffer {
  /** Allocated on the first data (`initial` bytes or more), given back by `release()` when empty. */
  private buf: Uint8Array = EMPTY;
  private mask = 0;
  private head = 0;
  /** In-order bytes waiting for the application. */
  length = 0;
  /** Next sequence number expected in order (RCV.NXT as far as data goes). */
  nxt = DOUBLE_ZERO;
  /** Out-of-order ranges [start, end) as sequence numbers, sorted, disjoint, not touching. */
  readonly ranges: number[] = [];
  /** Starts of the most recently changed out-of-order ranges, newest first (for SACK ordering, RFC 2018 §4). */
  private readonly recent: number[] = [];

  /** Most bytes held, in order and out of order (grows with autotuning: `growCapacity`). */
  private cap: number;

  constructor(
    capacity: number,
    readonly maxRanges: number,
    private readonly initial = 16 * 1024,
    private readonly pool: RingPool = NO_RING_POOL,
  ) {
    this.cap = capacity;
  }

  get capacity(): number {
    return this.cap;
  }

  /** Raises the capacity to `bytes` (never lowers it); the ring follows when data needs it. */
  growCapacity(bytes: number): void {
    if (bytes > this.cap) this.cap = bytes;
  }

  /** Bytes of ring allocated now. */
  get allocated(): number {
    return this.buf.length;
  }

  /** Gives the ring back when it holds nothing (no unread, no out-of-order bytes). */
  release(): void {
    if (this.length !== 0 || this.ranges.length !== 0) return;
    this.pool.give(this.buf);
    this.buf = EMPTY;
    this.mask = 0;
    this.head = 0;
  }

  /** Bytes of space after the in-order data (what the window may offer). */
  get free(): number {
    return this.capacity - this.length;
  }

  /** Number of out-of-order ranges held. */
  get rangeCount(): number {
    return this.ranges.length >> 1;
  }

  /** Out-of-order bytes held. */
  get oooBytes(): number {
    let n = 0;
    for (let i = 0; i < this.ranges.length; i += 2) n += (this.ranges[i + 1]! - this.ranges[i]!) | 0;
    return n;
  }

  private ensure(bytes: number): void {
    if (bytes <= this.buf.length) return;
    let n = this.buf.length;
    if (n === 0) {
      n = 1024;
      while (n < Math.min(this.initial, this.capacity)) n *= 2;
    }
    while (n < bytes) n *= 2;
    const nb = this.pool.take(n);
    // Keep everything at the same offset from the head: in-order and out-of-order bytes alike.
    const old = this.buf;
    const span = this.spanInUse();
    for (let k = 0; k < span; ) {
      const p = (this.head + k) & this.mask;
      const run = Math.min(span - k, old.length - p);
      nb.set(old.subarray(p, p + run), k);
      k += run;
    }
    this.pool.give(old);
    this.buf = nb;
    this.mask = n - 1;
    this.head = 0;
  }

  private spanInUse(): number {
    const r = this.ranges;
    if (r.length === 0) return this.length;
    return this.length + seqSub(r[r.length - 1]!, this.nxt);
  }

  private put(offset: number, src: Uint8Array, off: number, len: number): void {
    this.ensure(offset + len);
    const size = this.buf.length;
    const p = (this.head + offset) & this.mask;
    const first = Math.min(len, size - p);
    this.buf.set(src.subarray(off, off + first), p);
    if (first < len) this.buf.set(src.subarray(off + first, off + len), 0);
  }

  /**
   * Stores the bytes src[off, off+len) that carry sequence numbers from `seq`.
   * Bytes before `nxt` or beyond the capacity are cut off. Returns what
   * happened; for 'in-order', `nxt` and `length` moved (possibly across
   * out-of-order ranges that joined).
   */
  insert(seq: number, src: Uint8Array, off: number, len: number): InsertResult {
    if (seqLt(seq, this.nxt)) {
      const skip = (this.nxt - seq) | 0;
      if (skip >= len) return 'duplicate';
      seq = this.nxt;
      off += skip;
      len -= skip;
    }
    const rel = (seq - this.nxt) | 0;
    const room = this.capacity - this.length - rel;
    if (room <= 0) return 'no-room';
    if (len > room) len = room;
    if (rel === 0) {
      this.put(this.length, src, off, len);
      this.length += len;
      this.nxt = seqAdd(this.nxt, len);
      this.joinRanges();
      return 'in-order';
    }
    const end = seqAdd(seq, len);
    // Out of order: merge [seq, end) into the ranges.
    const r = this.ranges;
    let i = 0;
    while (i < r.length && seqLt(r[i + 1]!, seq)) i += 2;
    // r[i..] ends at or after seq. Ranges [i, j) overlap or touch [seq, end).
    let j = i;
    while (j < r.length && seqLe(r[j]!, end)) j += 2;
    if (j === i) {
      if (r.length >= this.maxRanges * 2) return 'too-many-ranges';
      this.put(this.length + rel, src, off, len);
      r.splice(i, 0, seq, end);
      this.touch(seq);
      return 'out-of-order';
    }
    const covered = seqLe(r[i]!, seq) && seqGe(r[i + 1]!, end) && j === i + 2;
    if (covered) {
      this.touch(r[i]!);
      return 'duplicate';
    }
    this.put(this.length + rel, src, off, len);
    const ns = seqLt(r[i]!, seq) ? r[i]! : seq;
    const ne = seqGt(r[j - 1]!, end) ? r[j - 1]! : end;
    r.splice(i, j - i, ns, ne);
    this.touch(ns);
    return 'out-of-order';
  }

  private touch(start: number): void {
    const rc = this.recent;
    const k = rc.indexOf(start);
    if (k >= 0) rc.splice(k, 1);
    rc.unshift(start);
    if (rc.length > 4) rc.length = 4;
  }

  private joinRanges(): void {
    const r = this.ranges;
    while (r.length > 0 && seqLe(r[0]!, this.nxt)) {
      const e = r[1]!;
      if (seqGt(e, this.nxt)) {
        this.length += (e - this.nxt) | 0;
        this.nxt = e;
      }
      r.splice(0, 2);
    }
  }

  /** Whether sequence number `seq` lies inside an out-of-order range (used to place a FIN). */
  holds(seq: number): boolean {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if (seqInRange(seq, r[i]!, r[i + 1]!)) return true;
    return false;
  }

  /**
   * Fills `out` with up to `max` SACK blocks (left, right pairs): the range
   * holding the most recent arrival first, then the other recent ones, then
   * the rest (RFC 2018 §4). Returns the number of blocks.
   */
  sackBlocks(out: Uint32Array, max: number): number {
    const r = this.ranges;
    if (r.length === 0) return 0;
    let n = 0;
    const used: number[] = [];
    const rc = this.recent;
    for (let k = 0; k < rc.length && n < max; k++) {
      const s = rc[k]!;
      for (let i = 0; i < r.length; i += 2) {
        if (seqInRange(s, r[i]!, r[i + 1]!) && !used.includes(i)) {
          used.push(i);
          out[2 * n] = r[i]!;
          out[2 * n + 1] = r[i + 1]!;
          n++;
          break;
        }
      }
    }
    for (let i = r.length - 2; i >= 0 && n < max; i -= 2) {
      if (used.includes(i)) continue;
      out[2 * n] = r[i]!;
      out[2 * n + 1] = r[i + 1]!;
      n++;
    }
    return n;
  }

  /** Copies up to `max` in-order bytes out (and drops them); returns a Buffer or null when empty. */
  read(max: number): Buffer | null {
    const n = Math.min(max, this.length);
    if (n <= 0) return null;
    const out = Buffer.allocUnsafe(n);
    const size = this.buf.length;
    const first = Math.min(n, size - this.head);
    out.set(this.buf.subarray(this.head, this.head + first), 0);
    if (first < n) out.set(this.buf.subarray(0, n - first), first);
    this.head = (this.head + n) & this.mask;
    this.length -= n;
    return out;
  }

  /** Drops up to `max` in-order bytes without copying them anywhere (Linux recv(MSG_TRUNC)); returns how many. */
  skip(max: number): number {
    const n = Math.min(max, this.length);
    if (n <= 0) return 0;
    this.head = (this.head + n) & this.mask;
    this.length -= n;
    return n;
  }

  /** Forgets everything (out-of-order data included), e.g. when the connection closes. */
  clear(): void {
    this.length = 0;
    this.head = 0;
    this.ranges.length = 0;
    this.recent.length = 0;
  }
}
