/**
 * RACK, time-based loss detection (RFC 8985 §6), as Linux runs it when `tcp_recovery` bit 1 is set (its
 * default since 4.18; net/ipv4/tcp_recovery.c): a segment is lost when a segment sent sufficiently later has
 * been delivered — later by the RTT of that delivery plus a reordering window — not when three duplicate
 * ACKs or three SACKed segments lie above it (RFC 6675's DupThresh, which mistakes reordering for loss).
 *
 * Per ACK (recovery.ts calls `rackOnAck`): the newly delivered segments update RACK's most recent delivery
 * (§6.2 step 2, `rackUpdate`), reveal reordering (step 3, `rackDetectReordering`), D-SACKs widen the window
 * (step 4, `rackUpdateReoWnd`), and loss is marked (step 5, `rackDetectLoss`) — segments close to expiry arm
 * the reordering timer (§6.3, `rackReoTimeout`). Lost segments are retransmitted as the pipe allows
 * (`rackRetransmit`). The tail loss probe (§7) lives in recovery.ts.
 *
 * The per-segment times come from the sent log (sent-log.ts); nothing here allocates.
 */
import type { TcpHeader } from '../wire/tcp.js';
import { retransmitOne, sackOptionBytes } from './output.js';
import { seqAdd, seqGt, seqLe, seqLt, seqSub } from './seq.js';
import { SEG_EVER_RETRANS, SEG_LOST, SEG_RETRANS, SEG_SACKED, isLostPending } from './sent-log.js';
import { REC_NONE, RTX_REO, type Tcb } from './tcb.js';

/** net.ipv4.tcp_recovery bits (Linux include/net/tcp.h). */
export const TCP_RACK_LOSS_DETECTION = 0x1;
export const TCP_RACK_STATIC_REO_WND = 0x2;
export const TCP_RACK_NO_DUPTHRESH = 0x4;

/** Recoveries a widened reordering window persists for (Linux TCP_RACK_RECOVERY_THRESH). */
export const RACK_RECOVERY_THRESH = 16;
/** Linux's min_rtt filter window (net.ipv4.tcp_min_rtt_wlen = 300 s). */
const MIN_RTT_WINDOW_MS = 300_000;

/** RACK decides loss on this connection: SACK is on and tcp_recovery has bit 1. */
export function rackEnabled(c: Tcb): boolean {
  return c.sackOk && (c.cfg.recovery & TCP_RACK_LOSS_DETECTION) !== 0;
}

/** RFC 8985 §6.2 RACK_sent_after: was (t1, seq1) sent after (t2, seq2)? Equal times: the higher end is later. */
export function rackSentAfter(t1: number, seq1: number, t2: number, seq2: number): boolean {
  return t1 > t2 || (t1 === t2 && seqGt(seq1, seq2));
}

/**
 * The D-SACK a SACK option carries (RFC 2883 §4; Linux tcp_check_dsack): its first block lies below the
 * cumulative ACK, or inside the second block. Returns the block's length in bytes, 0 when there is none.
 */
export function dsackBytes(h: TcpHeader): number {
  if (h.sackCount === 0) return 0;
  const b = h.sackBlocks;
  const s0 = b[0]!;
  const e0 = b[1]!;
  if (!seqLt(s0, e0)) return 0;
  if (seqLe(e0, h.ack) || (h.sackCount > 1 && !seqLt(s0, b[2]!) && !seqGt(e0, b[3]!))) return (e0 - s0) | 0;
  return 0;
}

/**
 * Linux tcp_dsack_seen: a D-SACK is believed only while the segments D-SACKed in all do not outnumber those
 * ever retransmitted — a peer that D-SACKs everything neither widens the window nor undoes a reduction
 * (TcpExt TCPDSACKIgnoredDubious). Returns the D-SACK's bytes, or 0 when it is not believed.
 */
export function dsackCredible(c: Tcb, bytes: number): number {
  if (bytes === 0) return 0;
  const r = c.rack;
  r.dsackDups += Math.max(1, Math.ceil(bytes / c.smss));
  if (r.dsackDups > c.retransTotal) {
    c.layer.stats.TcpExt.TCPDSACKIgnoredDubious++;
    return 0;
  }
  return bytes;
}

/**
 * One ACK for RACK: the segments it delivers (cumulatively or by SACK) are taken out of play, RACK's most
 * recent delivery and min_RTT advance, reordering and D-SACKs adapt the window, then loss is marked.
 * `dsack` is `dsackBytes(h)`. The caller starts recovery when `c.sent.lostPending` > 0.
 */
export function rackOnAck(c: Tcb, dsack: number, now: number): void {
  const r = c.rack;
  const priorDelivered = r.delivered;
  r.candX = -1;
  r.candEnd = 0;
  r.candRttSack = -1;
  r.candRttCum = -1;
  r.priorFack = r.fackValid ? r.fack : c.sndUna;
  r.priorFackValid = r.fackValid;
  const log = c.sent;
  // Cumulatively acknowledged (Linux tcp_clean_rtx_queue).
  while (log.count > 0) {
    const k = log.slot(0);
    if (!seqLe(log.end(k), c.sndUna)) break;
    if (!(log.flags(k) & SEG_SACKED)) rackDeliver(c, k, now, true);
    log.shift();
  }
  log.trimHead(c.sndUna);
  // Selectively acknowledged (Linux tcp_sacktag_write_queue): entries wholly inside a SACKed range.
  const ranges = c.scoreboard.ranges;
  let i = 0;
  for (let j = 0; j < ranges.length && i < log.count; j += 2) {
    const s = ranges[j]!;
    const e = ranges[j + 1]!;
    const from = log.firstEndingAbove(s);
    if (from > i) i = from;
    for (; i < log.count; i++) {
      const k = log.slot(i);
      if (!seqLe(log.end(k), e)) break;
      const f = log.flags(k);
      if (f & SEG_SACKED || seqLt(log.start(k), s)) continue;
      log.setFlags(k, f | SEG_SACKED);
      rackDeliver(c, k, now, false);
    }
  }
  rackUpdate(c, now);
  if (dsack > 0) r.dsackSeen = true;
  rackUpdateReoWnd(c, priorDelivered);
  rackMarkLost(c, now);
}

/** One newly delivered segment (slot k): its share of RACK_update (step 2) and RACK_detect_reordering (step 3). */
function rackDeliver(c: Tcb, k: number, now: number, cumulative: boolean): void {
  const r = c.rack;
  const log = c.sent;
  r.delivered++;
  const f = log.flags(k);
  const x = log.xmit(k);
  const end = log.end(k);
  const rtt = now - x;
  const ambiguous = (f & SEG_EVER_RETRANS) !== 0;
  rackDetectReordering(c, end, ambiguous);
  // Step 2: a retransmitted segment acknowledged sooner than min_RTT after its retransmission was delivered by
  // an earlier transmission; its time says nothing (Linux tcp_rack_advance).
  if (ambiguous && rtt < r.minRtt) return;
  if (cumulative) r.candRttCum = rtt;
  else r.candRttSack = rtt;
  if (!ambiguous && (rtt <= r.minRtt || now - r.minRttStamp > MIN_RTT_WINDOW_MS)) {
    r.minRtt = rtt;
    r.minRttStamp = now;
  }
  if (r.candX < 0 || rackSentAfter(x, end, r.candX, r.candEnd)) {
    r.candX = x;
    r.candEnd = end;
  }
}

/**
 * RFC 8985 §6.2 step 2, RACK_update: the most recently sent of the segments this ACK delivered becomes RACK's
 * reference (xmit_ts, end_seq) if sent after the current one; RACK.rtt is its round trip.
 */
export function rackUpdate(c: Tcb, now: number): void {
  const r = c.rack;
  if (r.candX < 0) return;
  // Linux's RACK.rtt: the round trip of the last segment processed, not of the most recently sent one (RFC
  // 8985 §6.2 step 2) — after a retransmission is acknowledged with older data, the older data's longer RTT.
  r.rtt = r.candRttCum >= 0 ? r.candRttCum : r.candRttSack >= 0 ? r.candRttSack : now - r.candX;
  r.advanced = true;
  if (r.xmitTs < 0 || rackSentAfter(r.candX, r.candEnd, r.xmitTs, r.endSeq)) {
    r.xmitTs = r.candX;
    r.endSeq = r.candEnd;
  }
}

/**
 * RFC 8985 §6.2 step 3, RACK_detect_reordering: a segment never retransmitted, delivered below the highest
 * sequence delivered before this ACK (RACK.fack), arrived out of order — reordering, not loss. Linux counts
 * it in tp->reord_seen (and TcpExt TCPSACKReorder).
 */
export function rackDetectReordering(c: Tcb, end: number, ambiguous: boolean): void {
  const r = c.rack;
  if (!ambiguous && r.priorFackValid && seqLt(end, r.priorFack)) {
    r.reordSeen++;
    c.layer.stats.TcpExt.TCPSACKReorder++;
  }
  if (!r.fackValid || seqGt(end, r.fack)) {
    r.fack = end;
    r.fackValid = true;
  }
}

/**
 * RFC 8985 §6.2 step 4, RACK_update_reo_wnd (Linux tcp_rack_update_reo_wnd): a D-SACK — a retransmission
 * proved needless, likely by reordering deeper than the window — widens it by one step of min_RTT/4, at most
 * once per round trip (a D-SACK for data delivered before the last widening is disregarded); the widened
 * window persists for 16 recoveries, then returns to one step.
 */
export function rackUpdateReoWnd(c: Tcb, priorDelivered: number): void {
  const r = c.rack;
  if (c.cfg.recovery & TCP_RACK_STATIC_REO_WND || priorDelivered === 0) return;
  if (priorDelivered < r.lastDelivered) r.dsackSeen = false;
  if (r.dsackSeen) {
    r.reoWndSteps = Math.min(0xff, r.reoWndSteps + 1);
    r.dsackSeen = false;
    r.lastDelivered = r.delivered;
    r.reoWndPersist = RACK_RECOVERY_THRESH;
  } else if (r.reoWndPersist === 0) {
    r.reoWndSteps = 1;
  }
}

/** A recovery ended: one of the 16 during which a widened reordering window persists (RFC 8985 §6.2 step 4). */
export function rackRecoveryEnded(c: Tcb): void {
  if (c.rack.reoWndPersist > 0) c.rack.reoWndPersist--;
}

/**
 * The reordering window (Linux tcp_rack_reo_wnd, RFC 8985 §6.2 step 4): zero while no reordering has been
 * seen and either recovery is under way or DupThresh (3) segments are SACKed — as fast as RFC 6675 then — else
 * min_RTT/4 per step, never above SRTT.
 */
export function rackReoWnd(c: Tcb): number {
  const r = c.rack;
  if (r.reordSeen === 0) {
    if (c.recovery !== REC_NONE) return 0;
    if (c.scoreboard.sacked >= 3 * c.smss && !(c.cfg.recovery & TCP_RACK_NO_DUPTHRESH)) return 0;
  }
  // Differs from Linux on purpose: min_RTT counts as at least one timer tick (tcp.tickMs). Where reordering
  // is a queue that some packets skip (netem's reorder, our --impair), the skipping packets' RTT — near zero —
  // is the minimum, so Linux's min_rtt/4 · steps stays near zero however many D-SACKs widen it, and every
  // reordering event is a burst of spurious retransmissions (4 MB through delay=5ms,reorder=25%: 17 % of
  // segments). A tick is the finest time Linux's own reordering timer resolves.
  const minRtt = Math.max(r.minRtt === Infinity ? 0 : r.minRtt, c.cfg.tickMs);
  return Math.min((minRtt / 4) * r.reoWndSteps, c.rtt.srtt);
}

/**
 * RFC 8985 §6.2 step 5, RACK_detect_loss (Linux tcp_rack_detect_loss): every outstanding segment sent before
 * RACK's reference whose time is up — RACK.rtt + reo_wnd since it left — is lost (a lost retransmission
 * counts as TCPLostRetransmit and waits to be sent again). Returns the longest wait left among the others (0:
 * none), for the reordering timer.
 */
export function rackDetectLoss(c: Tcb, now: number): number {
  const r = c.rack;
  const log = c.sent;
  if (r.xmitTs < 0 || r.lossState) return 0;
  const reoWnd = rackReoWnd(c);
  let wait = 0;
  for (let i = 0; i < log.count; i++) {
    const k = log.slot(i);
    const f = log.flags(k);
    if (f & SEG_SACKED || isLostPending(f)) continue;
    if (!rackSentAfter(r.xmitTs, r.endSeq, log.xmit(k), log.end(k))) {
      // Originals leave in sequence order: past RACK's end, only retransmissions can still be older.
      if (!(f & SEG_EVER_RETRANS) && seqGt(log.start(k), r.endSeq)) break;
      continue;
    }
    const remaining = r.rtt + reoWnd - (now - log.xmit(k));
    if (remaining <= 0) {
      if (f & SEG_RETRANS) c.layer.stats.TcpExt.TCPLostRetransmit++;
      log.setFlags(k, (f & ~SEG_RETRANS) | SEG_LOST);
    } else if (remaining > wait) wait = remaining;
  }
  return wait;
}

/**
 * Loss marking after an ACK that advanced RACK (Linux tcp_rack_mark_lost): segments that may still be only
 * reordered arm the reordering timer (§6.3) for the longest wait, in Linux's arithmetic — rounded up to a
 * timer tick plus TCP_TIMEOUT_MIN (two ticks); it stands in for the RTO or probe timer until it fires.
 */
export function rackMarkLost(c: Tcb, now: number): void {
  const r = c.rack;
  if (!r.advanced) return;
  r.advanced = false;
  const wait = rackDetectLoss(c, now);
  if (wait > 0) {
    const tick = c.cfg.tickMs;
    c.armRtx(RTX_REO, now + Math.ceil(wait / tick) * tick + 2 * tick);
  }
}

/**
 * The reordering timer fired (RFC 8985 §6.3 RACK_reo_timer; Linux tcp_rack_reo_timeout): detect loss again
 * now that time has passed. Returns true when something was newly deemed lost (the caller enters recovery
 * and retransmits).
 */
export function rackReoTimeout(c: Tcb, now: number): boolean {
  const before = c.sent.lostPending;
  rackDetectLoss(c, now);
  return c.sent.lostPending > before;
}

/** Bytes in flight (Linux tcp_packets_in_flight = packets_out − sacked_out − lost_out + retrans_out, in bytes). */
export function rackPipe(c: Tcb): number {
  return seqSub(c.sndMax, c.sndUna) - c.scoreboard.sacked - c.sent.lostPending;
}

/**
 * Retransmits the segments deemed lost, lowest first, while the pipe leaves room for a segment (Linux
 * tcp_xmit_retransmit_queue). With `force` the first one goes regardless (the fast retransmit, RFC 6675 §5
 * step 4.2; Linux PRR grants one segment for it). Returns the number sent.
 */
export function rackRetransmit(c: Tcb, now: number, force = false): number {
  const log = c.sent;
  if (log.lostPending === 0) return 0;
  const smss = c.smss - sackOptionBytes(c);
  let n = 0;
  for (let i = 0; i < log.count && log.lostPending > 0; i++) {
    const k = log.slot(i);
    if (!isLostPending(log.flags(k))) continue;
    if (!(force && n === 0) && c.cwnd - rackPipe(c) < c.smss) break;
    const start = log.start(k);
    const end = log.end(k);
    // The entry is retransmitted whole (in segments of the current size, should it have shrunk).
    for (let s = start; seqLt(s, end); ) {
      const len = Math.min(smss, seqSub(end, s));
      retransmitOne(c, s, now, len);
      s = seqAdd(s, len);
    }
    n++;
  }
  return n;
}

/** A retransmission timeout: everything outstanding goes again from SND.UNA (go-back-N), SACK information is forgotten (RFC 2018 §8) — so are the log's marks. */
export function rackOnTimeout(c: Tcb): void {
  const log = c.sent;
  for (let i = 0; i < log.count; i++) {
    const k = log.slot(i);
    log.setFlags(k, log.flags(k) & SEG_EVER_RETRANS);
  }
  c.rack.reset();
  c.rack.lossState = true;
}

/** SND.UNA passed what was outstanding at the timeout: loss detection resumes (Linux leaves TCP_CA_Loss). */
export function rackLeaveLossState(c: Tcb): void {
  if (c.rack.lossState && seqLe(c.recover, c.sndUna)) c.rack.lossState = false;
}
