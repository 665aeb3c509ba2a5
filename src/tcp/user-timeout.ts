/**
 * TCP_USER_TIMEOUT (RFC 5482; RFC 9293 §3.8.3 "USER TIMEOUT"): how long transmitted data may stay
 * unacknowledged — or how long zero-window probes may stay unanswered — before the connection is given up
 * with ETIMEDOUT. 0 (the default) leaves it to retries2 (R2). Linux's rules, from net/ipv4/tcp_timer.c:
 *
 * - retransmissions (tcp_write_timeout → retransmits_timed_out): a user timeout replaces the retries2
 *   count; the connection times out at the first RTO at which `user timeout` ms have passed since the head
 *   segment was first sent (tp->retrans_stamp), and the RTO is clamped so that it fires then
 *   (tcp_clamp_rto_to_user_timeout);
 * - keepalive (tcp_keepalive_timer): with probes unanswered, the connection ends once the silence has lasted
 *   the user timeout, whatever the probe count;
 * - zero-window probes (tcp_probe_timer): the clock starts at the first probe timeout
 *   (icsk_probes_tstamp) and stops with any ACK; the probe interval is clamped the same way
 *   (tcp_clamp_probe0_to_user_timeout).
 */
import type { Tcb } from './tcb.js';

/** Linux TCP_TIMEOUT_MIN: the shortest timer a clamp leaves (2 jiffies; ms here). */
const TIMEOUT_MIN_MS = 2;

/** Linux do_tcp_setsockopt TCP_USER_TIMEOUT: a negative value is EINVAL; the value is in ms. */
export function validUserTimeout(ms: number): boolean {
  return Number.isInteger(ms) && ms >= 0 && ms <= 0x7fffffff;
}

/**
 * The first retransmission timeout of a flight: remember when its head was first sent (Linux
 * tp->retrans_stamp). The timer was armed when it was sent and fired one (unbacked-off) RTO later.
 */
export function noteFirstRetransmission(c: Tcb, rtoThatFired: number, now: number): void {
  c.rtxStamp = now - rtoThatFired;
}

/** Linux retransmits_timed_out with a user timeout: `retransmitsBefore` retransmissions happened and the time is over. */
export function retransmitsTimedOut(c: Tcb, retransmitsBefore: number, now: number): boolean {
  return c.userTimeoutMs > 0 && retransmitsBefore > 0 && now - c.rtxStamp >= c.userTimeoutMs;
}

/** Linux tcp_clamp_rto_to_user_timeout: the next RTO fires no later than the user timeout. */
export function clampRtoToUserTimeout(c: Tcb, rto: number, now: number): number {
  if (c.userTimeoutMs <= 0) return rto;
  const remaining = c.userTimeoutMs - (now - c.rtxStamp);
  if (remaining <= 0) return 1; // the user timeout has passed: fire at once
  return Math.min(rto, remaining);
}

/**
 * Linux tcp_rtx_probe0_timed_out with a user timeout: against a zero window the retransmissions are probes,
 * and the connection dies once they have gone unacknowledged longer than the user timeout.
 */
export function zeroWindowRetransmitsTimedOut(c: Tcb, now: number): boolean {
  return c.userTimeoutMs > 0 && c.retransmits > 0 && now - c.rtxStamp > c.userTimeoutMs;
}

/** Linux tcp_probe_timer: the first probe timeout starts the clock (an ACK resets probesOut to 0); later ones check it. */
export function probesTimedOut(c: Tcb, now: number): boolean {
  if (c.probesOut === 0) {
    c.probesStamp = now;
    return false;
  }
  return c.userTimeoutMs > 0 && now - c.probesStamp >= c.userTimeoutMs;
}

/** Linux tcp_clamp_probe0_to_user_timeout: the next probe fires no later than the user timeout (at least TCP_TIMEOUT_MIN on). */
export function clampProbeToUserTimeout(c: Tcb, when: number, now: number): number {
  if (c.userTimeoutMs <= 0) return when;
  const elapsed = Math.max(0, now - c.probesStamp);
  const remaining = Math.max(c.userTimeoutMs - elapsed, TIMEOUT_MIN_MS);
  return Math.min(remaining, when);
}

/** Linux tcp_keepalive_timer with a user timeout: a probe is out and nothing came back for the user timeout. */
export function keepaliveTimedOut(c: Tcb, idle: number): boolean {
  return c.userTimeoutMs > 0 && c.probesOut > 0 && idle >= c.userTimeoutMs;
}
