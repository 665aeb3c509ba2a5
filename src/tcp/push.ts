/**
 * How Linux cuts new data into TSO/GSO units and which segments carry PSH (tcp.c tcp_sendmsg_locked,
 * tcp_output.c tcp_write_xmit). Linux queues a write in buffers of a size goal (tcp_xmit_size_goal: at most
 * half the largest window the peer offered) and sends them in units of at most tcp_tso_autosize segments and
 * half the congestion window (tcp_cwnd_test). Captured on Linux 6.18 behind packetdrill's TUN (offloads on and
 * off): every unit cut from a larger buffer ends with PSH — two-segment units at a 100 ms RTT, half-window units
 * at a very short one, a unit the peer's window cut — and so does the end of a write. When the size goal is a
 * single segment (a small peer window) no unit is cut and PSH comes from forced_push: more than half the largest
 * window written since the last PSH (tcp_mark_push).
 */
import type { Tcb } from './tcb.js';
import { seqSub } from './seq.js';

/** Linux's GSO limit for one unit (GSO_LEGACY_MAX_SIZE, the TUN device's gso_max_size). */
const GSO_MAX_SIZE = 65536;
/** net.ipv4.tcp_min_tso_segs. */
const MIN_TSO_SEGS = 2;
/** net.ipv4.tcp_tso_rtt_log: a unit gets GSO_MAX_SIZE >> (min RTT in µs >> 9) more bytes at short RTTs. */
const TSO_RTT_LOG = 9;
/** sk_pacing_shift: a unit carries about 1 ms (2^-10 s) of the pacing rate. */
const PACING_SHIFT = 10;

/**
 * Linux tcp_tso_autosize (with tcp_update_pacing_rate's rate: 200% of cwnd per RTT in slow start, 120% after):
 * the segments one unit may carry — about a millisecond of the pacing rate plus a bonus at very short RTTs,
 * at least two.
 */
export function tsoAutosizeSegs(c: Tcb, smss: number, flight: number): number {
  const srtt = c.rtt.srtt;
  const ratio = c.cwnd < c.ssthresh / 2 ? 2 : 1.2;
  // No RTT sample yet: Linux does not divide, which makes the rate (and the unit) as large as allowed.
  let bytes = srtt > 0 ? (ratio * Math.max(c.cwnd, flight) * 1000) / srtt / (1 << PACING_SHIFT) : GSO_MAX_SIZE;
  const minRtt = c.rtt.minRtt;
  if (Number.isFinite(minRtt)) {
    const r = Math.floor(minRtt * 1000) >> TSO_RTT_LOG;
    if (r < 32) bytes += GSO_MAX_SIZE >>> r;
  }
  // sk_pacing_rate is capped by SO_MAX_PACING_RATE (pacing.ts), and so is the unit.
  const cap = c.pacing.maxRate;
  if (cap !== Infinity) bytes = Math.min(bytes, (cap * 1000) / (1 << PACING_SHIFT));
  bytes = Math.min(bytes, GSO_MAX_SIZE);
  return Math.max(MIN_TSO_SEGS, Math.floor(bytes / smss));
}

/** Linux tcp_cwnd_test: at most half the congestion window per unit (two units in flight), and what is left of it. */
export function cwndQuotaSegs(c: Tcb, smss: number, flight: number): number {
  const cwnd = Math.max(1, Math.floor(c.cwnd / smss));
  const inFlight = Math.ceil(flight / smss);
  return Math.max(1, Math.min(Math.max(cwnd >> 1, 1), cwnd - inFlight));
}

/**
 * Linux tcp_xmit_size_goal with tcp_bound_to_half_wnd: whether a write-queue buffer holds one segment only —
 * half the largest window is at least one segment but under two. Observed, not derived: with half the window
 * below one segment (a 2000-byte window, MSS 1448) Linux 6.18 still sends a two-segment unit, so that case
 * keeps the unit rule.
 */
export function oneSegmentBuffers(c: Tcb, smss: number): boolean {
  const w = c.maxSndWnd;
  const cutoff = w > 536 ? w >> 1 : w;
  return cutoff >= smss && cutoff < 2 * smss;
}

/** Linux forced_push: more than half the largest window was written since the last PSH. */
export function forcedPush(c: Tcb, end: number): boolean {
  return seqSub(end, c.pushedSeq) > c.maxSndWnd >> 1;
}
