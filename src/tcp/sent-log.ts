/**
 * The sender's per-transmission log (RFC 8985 §5.2 "Per-segment variables"; Linux keeps them on each skb of
 * the retransmission queue): for every segment between SND.UNA and SND.MAX, its range, when it was last
 * (re)transmitted, and whether it was SACKed, deemed lost, retransmitted. RACK (rack.ts) reads it to detect
 * loss by time; undo (undo.ts) to know what was retransmitted.
 *
 * A ring of typed arrays in sequence order, one entry per wire segment (a TSO super-segment is logged cut at
 * its segment size, as the receiver SACKs it). It grows by doubling up to `SENT_LOG_MAX` entries — a rare,
 * amortised allocation, as Linux allocates skbs; at the cap new data extends the last entry (coarser, never
 * wrong about what is outstanding). Per ACK nothing is allocated.
 */
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from './seq.js';

/** The receiver holds this segment (a SACK block covers all of it). */
export const SEG_SACKED = 1;
/** RACK (or a timeout) deemed it lost; while not RETRANS it waits for its retransmission (Linux TCPCB_LOST). */
export const SEG_LOST = 2;
/** Its latest transmission is a retransmission still outstanding (Linux TCPCB_SACKED_RETRANS). */
export const SEG_RETRANS = 4;
/** Retransmitted at least once (Linux TCPCB_EVER_RETRANS): its delivery is ambiguous (RFC 8985 §6.2 step 2). */
export const SEG_EVER_RETRANS = 8;

/** Most entries a connection logs (a 64 MiB flight of 1448-byte segments; beyond, entries coarsen). */
export const SENT_LOG_MAX = 1 << 16;
const SENT_LOG_INITIAL = 64;
// A connection that never sends data allocates nothing: every log starts on these shared empty arrays.
const NO_U32 = new Uint32Array(0);
const NO_F64 = new Float64Array(0);
const NO_U8 = new Uint8Array(0);

export class SentLog {
  private cap = 0;
  private startA = NO_U32;
  private endA = NO_U32;
  private xmitA = NO_F64;
  private flagsA = NO_U8;
  private head = 0;
  /** Entries held. */
  count = 0;
  /** Bytes deemed lost and not yet retransmitted (nor SACKed since): Linux lost_out − retrans_out, in bytes. */
  lostPending = 0;
  /** Entries ever marked lost (Linux tp->lost, in entries): a change across an ACK means it found a new loss. */
  lostMarks = 0;

  /** Ring slot of the i-th entry (0 = lowest sequence). */
  slot(i: number): number {
    return (this.head + i) & (this.cap - 1);
  }
  start(k: number): number {
    return this.startA[k]!;
  }
  end(k: number): number {
    return this.endA[k]!;
  }
  xmit(k: number): number {
    return this.xmitA[k]!;
  }
  flags(k: number): number {
    return this.flagsA[k]!;
  }
  /** Sets an entry's flags, keeping `lostPending` in step. */
  setFlags(k: number, f: number): void {
    const was = this.flagsA[k]!;
    if (isLostPending(was)) this.lostPending -= this.len(k);
    if (isLostPending(f)) this.lostPending += this.len(k);
    if (f & SEG_LOST && !(was & SEG_LOST && !(was & SEG_RETRANS))) this.lostMarks++;
    this.flagsA[k] = f;
  }
  setXmit(k: number, t: number): void {
    this.xmitA[k] = t;
  }
  /** Bytes of the entry in slot k. */
  len(k: number): number {
    return (this.endA[k]! - this.startA[k]!) | 0;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
    this.lostPending = 0;
  }

  private grow(): boolean {
    if (this.cap >= SENT_LOG_MAX) return false;
    const ncap = this.cap === 0 ? SENT_LOG_INITIAL : this.cap * 2;
    // The four columns share one buffer: one allocation per growth (times first, 8-byte aligned).
    const buf = new ArrayBuffer(ncap * 17);
    const x = new Float64Array(buf, 0, ncap);
    const s = new Uint32Array(buf, ncap * 8, ncap);
    const e = new Uint32Array(buf, ncap * 12, ncap);
    const f = new Uint8Array(buf, ncap * 16, ncap);
    for (let i = 0; i < this.count; i++) {
      const k = this.slot(i);
      s[i] = this.startA[k]!;
      e[i] = this.endA[k]!;
      x[i] = this.xmitA[k]!;
      f[i] = this.flagsA[k]!;
    }
    this.startA = s;
    this.endA = e;
    this.xmitA = x;
    this.flagsA = f;
    this.cap = ncap;
    this.head = 0;
    return true;
  }

  /** New data [start, end) left at `t`. */
  append(start: number, end: number, t: number): void {
    if (this.count === this.cap && !this.grow()) {
      const k = this.slot(this.count - 1);
      this.endA[k] = end;
      this.xmitA[k] = t;
      return;
    }
    const k = this.slot(this.count);
    this.startA[k] = start;
    this.endA[k] = end;
    this.xmitA[k] = t;
    this.flagsA[k] = 0;
    this.count++;
  }

  /** Index (0-based from the lowest) of the first entry whose end is above `seq`, or `count` when none. */
  firstEndingAbove(seq: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqGt(this.endA[this.slot(mid)]!, seq)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Removes the lowest entry. */
  shift(): void {
    const k = this.slot(0);
    if (isLostPending(this.flagsA[k]!)) this.lostPending -= this.len(k);
    this.head = (this.head + 1) & (this.cap - 1);
    this.count--;
  }

  /** The cumulative ACK reached `una`: a partly acknowledged head entry now starts there. */
  trimHead(una: number): void {
    if (this.count === 0) return;
    const k = this.slot(0);
    if (seqLt(this.startA[k]!, una) && seqGt(this.endA[k]!, una)) {
      if (isLostPending(this.flagsA[k]!)) this.lostPending -= (una - this.startA[k]!) | 0;
      this.startA[k] = una;
    }
  }

  /**
   * A segment [seq, seq + len) left at `t` (cut at `segSize` when a super-segment): above the last entry it is
   * new data, logged per segment; below, a retransmission — the entries it covers take its time and the
   * RETRANS flags (an entry partly covered counts as retransmitted whole: the log does not split entries).
   * Returns the number of entries marked retransmitted.
   */
  recordSend(seq: number, len: number, segSize: number, t: number): number {
    const end = seqAdd(seq, len);
    let marked = 0;
    if (this.count > 0) {
      const lastEnd = this.endA[this.slot(this.count - 1)]!;
      if (seqLt(seq, lastEnd)) {
        const upto = seqLt(end, lastEnd) ? end : lastEnd;
        for (let i = this.firstEndingAbove(seq); i < this.count; i++) {
          const k = this.slot(i);
          if (!seqLt(this.startA[k]!, upto)) break;
          this.setFlags(k, (this.flagsA[k]! & ~SEG_LOST) | SEG_RETRANS | SEG_EVER_RETRANS);
          this.xmitA[k] = t;
          marked++;
        }
        if (!seqGt(end, lastEnd)) return marked;
        seq = lastEnd;
      }
    }
    const step = segSize > 0 ? segSize : len;
    while (seqLt(seq, end)) {
      const e = seqSub(end, seq) > step ? seqAdd(seq, step) : end;
      this.append(seq, e, t);
      seq = e;
    }
    return marked;
  }

  /** Does the entry in slot k lie within [from, to)? */
  within(k: number, from: number, to: number): boolean {
    return seqGe(this.startA[k]!, from) && seqLe(this.endA[k]!, to);
  }
}

/** Deemed lost, neither retransmitted since nor SACKed: it waits for a retransmission. */
export function isLostPending(f: number): boolean {
  return (f & (SEG_LOST | SEG_RETRANS | SEG_SACKED)) === SEG_LOST;
}
