/**
 * TCP internal pacing, as Linux does it when no fq qdisc paces for it (tcp_output.c tcp_internal_pacing,
 * tcp_pacing_check, tcp_update_skb_after_send; tcp_input.c tcp_update_pacing_rate). Each data unit (one
 * TSO/GSO super-segment, about a millisecond of the rate: push.ts tsoAutosizeSegs) moves the connection's
 * departure time on by its length at the pacing rate; a unit whose departure time has not come waits for the
 * pacing timer. The rate is a multiple of what the congestion window delivers per round trip:
 *
 *   rate = ratio · max(cwnd, in flight) / SRTT,   ratio = tcp_pacing_ss_ratio (200%) while cwnd < ssthresh/2,
 *                                                  tcp_pacing_ca_ratio (120%) after
 *
 * so slow start's doubling spreads over the round trip instead of leaving as a burst that overflows a
 * bottleneck queue. Pure ACKs, RSTs, SYNs, window probes and RTO retransmissions are not paced (Linux paces
 * only tcp_write_xmit's and tcp_xmit_retransmit_queue's skbs).
 *
 * Linux paces a CUBIC flow internally only when something asks for it (SO_MAX_PACING_RATE, a congestion
 * control such as BBR that needs it); behind fq the qdisc paces at the same rate. Here it is a setting,
 * `tunstack.tcp.pacing`: off in the library (the conformance dialogues keep Linux-without-fq timing), on in
 * `tunstack up`; and a socket's SO_MAX_PACING_RATE turns it on for that socket, as in Linux, with the rate
 * capped at the value (bytes per second).
 */
import { Timer } from '../clock.js';
import type { Tcb } from './tcb.js';

/** Linux: the first ten data segments are never paced (tcp_update_skb_after_send, "Original sch_fq does not pace first 10 MSS"). */
const UNPACED_SEGMENTS = 10;

/**
 * How far behind its departure time a connection that was waiting for the pacing timer may fall and still
 * send the difference at once. Linux's hrtimer fires within microseconds and forgives at most half a unit
 * (the `credit`); Node's timers fire on a millisecond grid, late by a millisecond or more under load, so a
 * strict schedule would lose a unit's worth of rate on every firing. The lateness within this bound is made
 * up; beyond it, forgotten (as Linux). A connection that was not waiting (idle, or cwnd-limited) makes up
 * nothing: its next unit is due from now.
 */
export const PACING_SLACK_MS = 2;

/**
 * The shortest wait worth a timer. Linux's hrtimer waits microseconds; the stack's timers fire on Node's
 * millisecond grid (a wait of 0.01 ms would last a whole millisecond or more), so a unit due in less than
 * this leaves now: the rate holds to within a millisecond's worth, about one TSO unit (push.ts).
 */
export const PACING_GRANULARITY_MS = 1;

/** Pacing applies to this connection: the stack's setting, or the socket's SO_MAX_PACING_RATE (Linux tcp_needs_internal_pacing). */
export function pacingOn(c: Tcb): boolean {
  return c.cfg.pacing || c.pacing.requested;
}

/**
 * Linux tcp_update_pacing_rate: bytes per ms, capped at SO_MAX_PACING_RATE; Infinity before the first RTT
 * sample and without a cap (Linux does not divide then).
 */
export function pacingRate(c: Tcb, flight: number): number {
  const srtt = c.rtt.srtt;
  if (!(srtt > 0)) return c.pacing.maxRate;
  // "If snd_cwnd >= snd_ssthresh / 2, we are approaching the end of slow start and should slow down."
  const ratio = c.cwnd < c.ssthresh / 2 ? c.cfg.pacingSsRatio : c.cfg.pacingCaRatio;
  return Math.min(((ratio / 100) * Math.max(c.cwnd, flight)) / srtt, c.pacing.maxRate);
}

/** Linux's "unlimited" SO_MAX_PACING_RATE (~0U as an int: -1). */
const MAX_PACING_RATE_NONE = 0xffffffff;

/**
 * SO_MAX_PACING_RATE (Linux sk_setsockopt): the most bytes per second this socket sends; any value but ~0U
 * also asks for internal pacing (SK_PACING_NEEDED), which stays asked for. 0 leaves data unpaced (Linux
 * skips a zero rate).
 */
export function setMaxPacingRate(c: Tcb, bytesPerSecond: number): void {
  const v = bytesPerSecond >>> 0;
  if (v === MAX_PACING_RATE_NONE) {
    c.pacing.maxRate = Infinity;
    return;
  }
  c.pacing.requested = true;
  c.pacing.maxRate = v / 1000;
}

/** getsockopt(SO_MAX_PACING_RATE): bytes per second, ~0U for none. */
export function maxPacingRate(c: Tcb): number {
  return c.pacing.maxRate === Infinity ? MAX_PACING_RATE_NONE : Math.round(c.pacing.maxRate * 1000);
}

/**
 * Linux tcp_pacing_check: whether the next data unit must wait for its departure time; if so the pacing timer
 * is armed for it (when it fires, the egress pass transmits again).
 */
export function pacingHolds(c: Tcb, now: number): boolean {
  if (!pacingOn(c)) return false;
  const p = c.pacing;
  if (p.next - now < PACING_GRANULARITY_MS) return false;
  p.waiting = true;
  if (p.timer === null) p.timer = new Timer(() => pacingTimerFires(c));
  if (!p.timer.armed) {
    p.holds++;
    c.layer.stats.TcpExt.TCPPacingHold++;
  }
  if (!p.timer.armed || p.timer.deadline !== p.next) c.layer.timers.arm(p.timer, p.next);
  return true;
}

/** The pacing timer (Linux tcp_pace_kick → tcp_tsq_handler): the connection transmits again. */
function pacingTimerFires(c: Tcb): void {
  c.wantOutput = true;
  c.layer.markDirty(c);
}

/**
 * Linux tcp_update_skb_after_send (with tcp_transmit_skb's `tcp_wstamp_ns = max(tcp_wstamp_ns, now)`): a data
 * unit of `bytes` (`segs` segments) left now; the next may leave `bytes / rate` later, less a credit for
 * having been late (at most half the unit).
 */
export function pacingSent(c: Tcb, bytes: number, segs: number, flight: number, now: number): void {
  if (!pacingOn(c)) return;
  const p = c.pacing;
  const prior = p.next;
  // Late for the timer by no more than the slack: the schedule holds (see PACING_SLACK_MS); otherwise it restarts now.
  const wstamp = Math.max(prior, p.waiting ? now - PACING_SLACK_MS : now);
  p.waiting = false;
  p.dataSegsOut += segs;
  const rate = pacingRate(c, flight);
  if (rate === Infinity || rate === 0 || p.dataSegsOut < UNPACED_SEGMENTS) {
    p.next = wstamp;
    return;
  }
  let len = bytes / rate;
  const credit = wstamp - prior;
  len -= Math.min(len / 2, Math.max(0, credit));
  p.next = wstamp + len;
}

/** The connection ends: its pacing timer is off. */
export function pacingStop(c: Tcb): void {
  const t = c.pacing.timer;
  if (t !== null && t.armed) c.layer.timers.disarm(t);
}
