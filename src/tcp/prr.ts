/**
 * Proportional Rate Reduction (RFC 6937) as Linux runs it in fast recovery (net/ipv4/tcp_input.c
 * tcp_init_cwnd_reduction, tcp_cwnd_reduction, tcp_end_cwnd_reduction): instead of cutting cwnd to ssthresh at
 * once, each ACK lets out data in proportion to what it delivered — ssthresh/prior_cwnd of it while the pipe is
 * above ssthresh (the proportional part, RFC 6937 §3), and while it is below, what was delivered plus one segment
 * when SND.UNA advanced without a new loss, up to ssthresh (Linux's slow-start reduction bound, PRR-SSRB).
 *
 * Linux counts packets; so does this module (segments of the current MSS). cwnd stays in bytes: after each ACK
 * it is the pipe plus the segments PRR grants (Linux: snd_cwnd = tcp_packets_in_flight + sndcnt).
 */
import type { Tcb } from './tcb.js';

/**
 * Linux tcp_cwnd_reduction's arithmetic (kernel 6.x), all in segments: how many segments this ACK lets out.
 * `newlyDelivered` is this ACK's delivered count and already included in `prrDelivered`.
 */
export function prrSendCount(
  ssthresh: number,
  priorCwnd: number,
  prrDelivered: number,
  prrOut: number,
  inFlight: number,
  newlyDelivered: number,
  unaAdvanced: boolean,
  newlyLost: boolean,
): number {
  const delta = ssthresh - inFlight;
  let sndcnt: number;
  if (delta < 0) {
    // RFC 6937 §3 proportional part: CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out.
    sndcnt = Math.floor((ssthresh * prrDelivered + priorCwnd - 1) / priorCwnd) - prrOut;
  } else {
    // Slow-start reduction bound: what was delivered (at least this ACK's), one more when SND.UNA moved and
    // nothing new was lost, never beyond ssthresh.
    sndcnt = Math.max(prrDelivered - prrOut, newlyDelivered);
    if (unaAdvanced && !newlyLost) sndcnt++;
    sndcnt = Math.min(delta, sndcnt);
  }
  // The fast retransmit goes out on entering recovery whatever the arithmetic says.
  return Math.max(sndcnt, prrOut > 0 ? 0 : 1);
}

/** Linux tcp_init_cwnd_reduction: recovery begins with the current cwnd as prior_cwnd, nothing delivered or sent. */
export function prrBegin(c: Tcb): void {
  const p = c.prr;
  p.priorCwnd = Math.max(1, Math.ceil(c.cwnd / c.smss));
  p.delivered = 0;
  p.out = 0;
  p.active = true;
}

/** Recovery ended (Linux tcp_end_cwnd_reduction: the caller sets cwnd to ssthresh). */
export function prrEnd(c: Tcb): void {
  c.prr.active = false;
}

/** Counts data sent during recovery toward prr_out (Linux tcp_write_xmit / tcp_xmit_retransmit_queue). */
export function prrSent(c: Tcb, bytes: number): void {
  if (c.prr.active) c.prr.out += Math.ceil(bytes / c.smss);
}

/**
 * Linux tcp_cwnd_reduction for one ACK (or a reordering timeout, which counts as one delivered segment): cwnd
 * becomes the pipe plus the segments PRR grants. `deliveredBytes` is what this ACK newly acknowledged or SACKed;
 * an ACK that delivered nothing changes nothing.
 */
export function prrOnAck(c: Tcb, deliveredBytes: number, inFlightBytes: number, unaAdvanced: boolean, newlyLost: boolean): void {
  const p = c.prr;
  if (!p.active || deliveredBytes <= 0) return;
  const smss = c.smss;
  const newly = Math.ceil(deliveredBytes / smss);
  p.delivered += newly;
  const inFlight = Math.ceil(Math.max(0, inFlightBytes) / smss);
  const ssthresh = Math.floor(c.ssthresh / smss);
  const sndcnt = prrSendCount(ssthresh, p.priorCwnd, p.delivered, p.out, inFlight, newly, unaAdvanced, newlyLost);
  c.cwnd = Math.max(0, inFlightBytes) + sndcnt * smss;
}
