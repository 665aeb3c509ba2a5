/**
 * Buffer autotuning, as Linux does it: the receive buffer follows what the application consumes per round trip
 * (tcp_rcv_space_adjust, "dynamic right-sizing") and the send buffer follows the congestion window
 * (tcp_sndbuf_expand) — on paths long enough for it to matter (AUTOTUNE_MIN_RTT_MS) and up to rmemMax / wmemMax.
 */
import type { TcpHeader } from '../wire/tcp.js';
import type { Tcb } from './tcb.js';
import { AUTOTUNE_MIN_RTT_MS } from './tunables.js';
import { seqSub } from './seq.js';

/**
 * Receive buffer autotuning (Linux tcp_rcv_space_adjust, "dynamic right-sizing"), on paths of
 * AUTOTUNE_MIN_RTT_MS and more: once per receiver RTT, compare what the application consumed in that round
 * trip with the round trip before; when it grew, the buffer becomes twice the new amount (losses) plus the
 * growth again, twice (the sender in slow start doubles per round trip, and the window we offer now is for
 * the next one), up to `rmemMax`. The window follows the buffer (window_clamp), so a long fat path is not
 * held to `rmem` per round trip.
 */
export function rcvSpaceAdjust(c: Tcb, copied: number, now: number): void {
  if (c.rcvqSpace === 0) {
    // Linux tcp_init_buffer_space: the first measure starts from an initial window's worth.
    c.rcvqSpace = Math.min(c.rb.capacity, 10 * c.advMss);
    c.rcvqTime = now;
    c.rcvqCopied = copied;
    return;
  }
  c.rcvqCopied += copied;
  const rtt = c.rcvRtt > 0 ? c.rcvRtt : c.rtt.hasSample ? c.rtt.srtt : 0;
  if (rtt <= 0 || now - c.rcvqTime < rtt) return;
  const consumed = c.rcvqCopied;
  if (consumed > c.rcvqSpace && onLongPath(c)) {
    let win = 2 * consumed + 16 * c.advMss;
    win += 2 * Math.floor((win * (consumed - c.rcvqSpace)) / c.rcvqSpace);
    const target = Math.min(win, c.cfg.rmemMax);
    c.rb.growCapacity(target);
    c.rcvqSpace = consumed;
  }
  c.rcvqCopied = 0;
  c.rcvqTime = now;
}

/**
 * Linux tcp_rcv_rtt_measure_ts: a full-sized data segment echoing a timestamp we have not seen echoed yet
 * gives the receiver an RTT sample (now - TSecr, at least 1 ms at our 1 ms clock), smoothed by 1/8.
 */
export function rcvRttMeasure(c: Tcb, h: TcpHeader, len: number, now: number): void {
  if (!c.tsOk || !h.tsPresent || h.tsEcr === 0 || h.tsEcr === c.rcvRttLastEcr) return;
  c.rcvRttLastEcr = h.tsEcr;
  if (len < c.rcvMss) return;
  let d = (c.tsNow(now) - h.tsEcr) | 0;
  if (d <= 0) d = 1;
  c.rcvRtt = c.rcvRtt === 0 ? d : c.rcvRtt + (d - c.rcvRtt) / 8;
  if (d < c.rcvRttMin) c.rcvRttMin = d;
}

/** Whether the smallest round trip either side measured (the path's delay, without queueing) is AUTOTUNE_MIN_RTT_MS or more. */
function onLongPath(c: Tcb): boolean {
  const m = Math.min(c.rtt.hasSample ? c.rtt.minRtt : Infinity, c.rcvRttMin);
  return m !== Infinity && m >= AUTOTUNE_MIN_RTT_MS;
}

/**
 * Send buffer autotuning (Linux tcp_new_space → tcp_sndbuf_expand), on paths of AUTOTUNE_MIN_RTT_MS and
 * more: after an ACK freed space, while the connection is not using all of its congestion window, the buffer
 * grows to hold twice the window (the data in flight plus as much again queued behind it), up to `wmemMax`.
 */
export function expandSendBuffer(c: Tcb): void {
  if (c.sndBufLocked || !onLongPath(c)) return;
  const target = Math.min(2 * c.cwnd, c.cfg.wmemMax);
  if (target <= c.sb.capacity || seqSub(c.sndNxt, c.sndUna) >= c.cwnd) return;
  c.sb.growCapacity(target);
}
