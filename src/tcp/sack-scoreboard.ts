/**
 * The sender's SACK scoreboard (RFC 2018, RFC 6675 §3): which ranges above
 * SND.UNA the receiver holds. Blocks are validated against
 * SND.UNA..SND.MAX, merged into sorted disjoint ranges, and trimmed as the
 * cumulative ACK advances.
 */
import { seqGe, seqGt, seqLe, seqLt } from './seq.js';

export class SackScoreboard {
  /** Sorted, disjoint [start, end) pairs above SND.UNA. */
  readonly ranges: number[] = [];
  /** Bytes covered by `ranges`. */
  sacked = 0;

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  /** Highest SACKed sequence number (end of the last range), or `una` when none. */
  highest(una: number): number {
    const r = this.ranges;
    return r.length === 0 ? una : r[r.length - 1]!;
  }

  clear(): void {
    this.ranges.length = 0;
    this.sacked = 0;
  }

  /** Adds a block; returns true when it told us something new. Blocks outside (una, max] are ignored. */
  add(left: number, right: number, una: number, max: number): boolean {
    if (!seqLt(left, right) || seqLe(right, una) || seqGt(right, max)) return false;
    if (seqLt(left, una)) left = una;
    const r = this.ranges;
    let i = 0;
    while (i < r.length && seqLt(r[i + 1]!, left)) i += 2;
    let j = i;
    while (j < r.length && seqLe(r[j]!, right)) j += 2;
    if (j === i) {
      r.splice(i, 0, left, right);
      this.sacked += (right - left) | 0;
      return true;
    }
    const ns = seqLt(r[i]!, left) ? r[i]! : left;
    const ne = seqGt(r[j - 1]!, right) ? r[j - 1]! : right;
    let before = 0;
    for (let k = i; k < j; k += 2) before += (r[k + 1]! - r[k]!) | 0;
    r.splice(i, j - i, ns, ne);
    const after = (ne - ns) | 0;
    this.sacked += after - before;
    return after > before;
  }

  /** The cumulative ACK moved to `una`: forget what lies below. */
  advance(una: number): void {
    const r = this.ranges;
    let k = 0;
    while (k < r.length && seqLe(r[k + 1]!, una)) {
      this.sacked -= (r[k + 1]! - r[k]!) | 0;
      k += 2;
    }
    if (k > 0) r.splice(0, k);
    if (r.length > 0 && seqLt(r[0]!, una)) {
      this.sacked -= (una - r[0]!) | 0;
      r[0] = una;
    }
  }

  /** Is `seq` SACKed? If so, returns the end of its range; else -1. */
  sackedEnd(seq: number): number {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) {
      if (seqLt(seq, r[i]!)) return -1;
      if (seqLt(seq, r[i + 1]!)) return r[i + 1]!;
    }
    return -1;
  }

  /** The next SACKed start at or after `seq` (the end of the hole holding `seq`), or -1 when none. */
  nextSackedStart(seq: number): number {
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) if (seqGe(r[i]!, seq)) return r[i]!;
    return -1;
  }

  /** Bytes in holes (not SACKed) within [from, to). */
  holeBytes(from: number, to: number): number {
    if (!seqLt(from, to)) return 0;
    let holes = (to - from) | 0;
    const r = this.ranges;
    for (let i = 0; i < r.length; i += 2) {
      const s = seqLt(r[i]!, from) ? from : r[i]!;
      const e = seqGt(r[i + 1]!, to) ? to : r[i + 1]!;
      if (seqLt(s, e)) holes -= (e - s) | 0;
    }
    return holes;
  }
}
