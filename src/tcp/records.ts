/**
 * Record boundaries of the send stream (MSG_EOR, Linux's TCP_SKB_CB(skb)->eor): the sequence number just
 * after each record the application ended. Linux never appends later bytes to an skb marked EOR
 * (tcp_skb_can_collapse_to) nor merges it with the next on retransmission (tcp_skb_can_collapse), so no
 * segment — first transmission or retransmission — ever spans a boundary. Ours is a byte ring, not a list of
 * skbs: segments are cut at these marks instead.
 *
 * The marks are kept in order in a small array; the ones at or below SND.UNA are dropped as ACKs arrive.
 */
import { seqGt, seqLe } from './seq.js';

export class RecordMarks {
  private readonly ends: number[] = [];

  /** Number of record ends not yet acknowledged. */
  get size(): number {
    return this.ends.length;
  }

  /** A record ends just before sequence number `end` (the send stream's end when the application wrote it). */
  add(end: number): void {
    const n = this.ends.length;
    if (n > 0 && this.ends[n - 1] === end) return; // an empty record adds no boundary
    this.ends.push(end >>> 0);
  }

  /** A record end anywhere in the stream (kept in order; an end already there adds nothing). */
  insert(end: number): void {
    const e = end >>> 0;
    let i = this.ends.length;
    while (i > 0 && seqGt(this.ends[i - 1]!, e)) i--;
    if (i > 0 && this.ends[i - 1] === e) return;
    this.ends.splice(i, 0, e);
  }

  /** Bytes from `seq` to the first record end after it, or -1 when no record ends after `seq`. */
  bytesToEnd(seq: number): number {
    for (let i = 0; i < this.ends.length; i++) {
      const e = this.ends[i]!;
      if (seqGt(e, seq)) return (e - seq) | 0;
    }
    return -1;
  }

  /** Whether a record ends exactly at `seq`. */
  endsAt(seq: number): boolean {
    for (let i = 0; i < this.ends.length; i++) if (this.ends[i] === seq >>> 0) return true;
    return false;
  }

  /** SND.UNA moved to `una`: the records wholly acknowledged need no boundary any more. */
  acked(una: number): void {
    let k = 0;
    while (k < this.ends.length && seqLe(this.ends[k]!, una)) k++;
    if (k > 0) this.ends.splice(0, k);
  }
}
