/**
 * Classic Explicit Congestion Notification (RFC 3168) as Linux runs it (net/ipv4/tcp_output.c tcp_ecn_send*,
 * tcp_input.c tcp_ecn_*): negotiation on the handshake, ECT(0) on new data, the receiver's ECE echo of a CE
 * mark until the sender's CWR. net.ipv4.tcp_ecn: 0 off, 1 ask on our SYNs and accept, 2 only accept (default); 3..5 are Accurate
 * ECN's (src/tcp/accecn.ts), which falls back to these rules when the peer answers classic ECN.
 */
import { TCP_CWR, TCP_ECE, TCP_SYN } from '../wire/tcp.js';
import { cwndChanged } from './cwnd-events.js';
import { prrBegin, prrEnd } from './prr.js';
import { seqGt, seqSub } from './seq.js';
import { REC_NONE, type Tcb } from './tcb.js';

/** The IP ECN field's codepoints (RFC 3168 §5). */
export const ECN_NOT_ECT = 0;
export const ECN_ECT0 = 2;
export const ECN_CE = 3;

/** Linux's tp->ecn_flags bits. */
export const ECN_OK = 1;
/** Set CWR on the next new data segment (TCP_ECN_QUEUE_CWR). */
export const ECN_QUEUE_CWR = 2;
/** Echo ECE on every segment until the peer's CWR (TCP_ECN_DEMAND_CWR). */
export const ECN_DEMAND_CWR = 4;
/** A reduction for ECE is in progress until SND.UNA passes `ecnCwrEnd` (Linux's TCP_CA_CWR state; PRR walks cwnd down). */
export const ECN_IN_CWR = 8;
/** An ECT or CE segment has arrived on this connection (Linux TCP_ECN_SEEN; `ss -i` ecnseen). */
export const ECN_SEEN = 16;

/** The ECN flags of our SYN (Linux tcp_ecn_send_syn): ECE|CWR with tcp_ecn=1, and never on a retransmitted SYN (tcp_ecn_clear_syn, ecn_fallback). */
export function ecnSynFlags(c: Tcb, retransmission: boolean): number {
  if (retransmission) {
    c.ecnFlags = 0;
    return 0;
  }
  if (c.cfg.ecn !== 1 && c.cfg.ecn !== 4) return 0; // 4: ask for classic ECN, accept AccECN (Linux TCP_ECN_IN_ACCECN_OUT_ECN)
  c.ecnFlags = ECN_OK;
  return TCP_ECE | TCP_CWR;
}

/** The SYN-ACK of our ECN SYN agrees only with ECE alone (RFC 3168 §6.1.1; Linux tcp_ecn_rcv_synack). */
export function ecnSynAckArrives(c: Tcb, flags: number): void {
  if (c.ecnFlags & ECN_OK && (flags & (TCP_ECE | TCP_CWR)) !== TCP_ECE) c.ecnFlags = 0;
}

/** A SYN crossing ours (simultaneous open) keeps ECN only if it asks for it too (Linux tcp_ecn_rcv_syn). */
export function ecnSimultaneousSyn(c: Tcb, flags: number): void {
  if ((flags & (TCP_ECE | TCP_CWR)) !== (TCP_ECE | TCP_CWR)) c.ecnFlags = 0;
}

/**
 * Does a listener accept ECN for this SYN (Linux tcp_ecn_create_request)? It must carry ECE and CWR, come
 * not-ECT (an ECT SYN means a middlebox rewrites the field), and tcp_ecn be on (1 or 2).
 */
export function ecnSynAccepted(enabled: number, flags: number, ipEcn: number): boolean {
  return enabled !== 0 && (flags & (TCP_ECE | TCP_CWR)) === (TCP_ECE | TCP_CWR) && ipEcn === ECN_NOT_ECT;
}

/**
 * The ECN of one non-SYN segment (Linux tcp_ecn_send): ECT(0) on new data only (never retransmissions, pure
 * ACKs, probes, a bare FIN), CWR once on the first new data after a reduction, ECE while CWR is demanded.
 * Adds to `flags`; returns the IP ECN field in bits 16..17 of the result (`>>> 16`).
 */
export function ecnSegment(c: Tcb, len: number, isNew: boolean, flags: number): number {
  const e = c.ecnFlags;
  if (!(e & ECN_OK)) return flags;
  let ip = ECN_NOT_ECT;
  if (len > 0 && isNew) {
    ip = ECN_ECT0;
    if (e & ECN_QUEUE_CWR) {
      c.ecnFlags = e & ~ECN_QUEUE_CWR;
      flags |= TCP_CWR;
    }
  }
  if (e & ECN_DEMAND_CWR) flags |= TCP_ECE;
  return flags | (ip << 16);
}

/**
 * A segment of an ECN connection arrives (Linux tcp_ecn_accept_cwr + __tcp_ecn_check_ce): CWR ends our ECE
 * echo; data marked CE starts it (the ACK goes at once: quickack). Returns true when the ACK must not wait.
 */
export function ecnSegmentArrives(c: Tcb, flags: number, ipEcn: number, dataLength: number): boolean {
  if (!(c.ecnFlags & ECN_OK)) return false;
  if (ipEcn !== ECN_NOT_ECT) c.ecnFlags |= ECN_SEEN; // Linux __tcp_ecn_check_ce: ECT(0), ECT(1) and CE
  let quick = false;
  if (flags & TCP_CWR) {
    c.ecnFlags &= ~ECN_DEMAND_CWR;
    if (dataLength > 0) quick = true;
  }
  if (ipEcn === ECN_CE && dataLength > 0) {
    if (!(c.ecnFlags & ECN_DEMAND_CWR)) quick = true;
    c.ecnFlags |= ECN_DEMAND_CWR;
  }
  return quick;
}

/** Does this ACK echo congestion (Linux tcp_ecn_rcv_ecn_echo → FLAG_ECE): ECE on a non-SYN segment of an ECN connection. */
export function ecnEchoed(c: Tcb, flags: number): boolean {
  return (c.ecnFlags & ECN_OK) !== 0 && (flags & TCP_ECE) !== 0 && (flags & TCP_SYN) === 0;
}

/** A reduction for ECE is under way (Linux icsk_ca_state == TCP_CA_CWR). */
export function ecnInCwr(c: Tcb): boolean {
  return (c.ecnFlags & ECN_IN_CWR) !== 0;
}

/**
 * The cumulative ACK has passed the point CWR began at (Linux tcp_fastretrans_alert, state CWR: SND.UNA after
 * high_seq — not equal to it, "CWR is to be held something above high_seq is ACKed for CWR bit to reach
 * receiver"): the reduction ends with cwnd = ssthresh (tcp_end_cwnd_reduction), the state is Open again.
 * Runs as SND.UNA moves, before the ACK may grow the window.
 */
export function ecnCwrEnds(c: Tcb): void {
  if (!(c.ecnFlags & ECN_IN_CWR) || !seqGt(c.sndUna, c.ecnCwrEnd)) return;
  c.ecnFlags &= ~ECN_IN_CWR;
  const prevCwnd = c.cwnd;
  c.cwnd = Math.max(c.ssthresh, c.smss);
  prrEnd(c);
  cwndChanged(c, 'recovery-end', prevCwnd, c.ssthresh);
}

/**
 * An ACK with ECE outside loss recovery and the Loss state (Linux tcp_try_to_open → tcp_enter_cwr → tcp_init_cwnd_reduction): at
 * most once per window of data (RFC 3168 §6.1.2: not again before SND.UNA passes the SND.NXT of this moment,
 * Linux's high_seq), ssthresh from the congestion controller, CWR on the next new data, and the window walked
 * down to ssthresh by Proportional Rate Reduction over the following ACKs (Linux "tcp: use PRR to reduce cwin
 * in CWR state", 3.7; recovery.ts runs prrOnAck for this ACK and the next) rather than cut at once. The ACK
 * that carries ECE does not grow the window (recovery.ts newAck).
 */
export function ecnEnterCwr(c: Tcb, now: number): void {
  if (c.ecnFlags & ECN_IN_CWR || c.recovery !== REC_NONE || c.rack.lossState) return; // Linux: only in Open/Disorder
  c.rack.undoArmed = false; // tp->undo_marker = 0: no undo gives back what the network asked for
  prrBegin(c); // prior_cwnd before the controller cuts
  const prevSsthresh = c.ssthresh;
  c.ssthresh = c.cc.ssthreshOnLoss(c, seqSub(c.sndMax, c.sndUna), now);
  cwndChanged(c, 'ece', c.cwnd, prevSsthresh); // the cut itself: ssthresh now, cwnd walked down by PRR
  c.ecnCwrEnd = c.sndNxt;
  c.ecnFlags |= ECN_IN_CWR | ECN_QUEUE_CWR;
}

/**
 * Loss recovery begins (Linux tcp_enter_recovery): during CWR the window is being reduced already — the
 * recovery goes on with the same ssthresh and PRR counts (tcp_init_cwnd_reduction is skipped: one reduction
 * per window of data, RFC 3168 §6.1.2). Returns true when it was so.
 */
export function ecnCwrBecomesRecovery(c: Tcb): boolean {
  if (!(c.ecnFlags & ECN_IN_CWR)) return false;
  c.ecnFlags &= ~ECN_IN_CWR;
  return true;
}

/** A retransmission timeout ends CWR (Linux tcp_enter_loss: state Loss); the timeout's own reduction follows. */
export function ecnCwrAbandoned(c: Tcb): void {
  c.ecnFlags &= ~ECN_IN_CWR;
}

/** After a congestion window reduction (Linux tcp_init_cwnd_reduction → tcp_ecn_queue_cwr): CWR goes on the next new data. */
export function ecnQueueCwr(c: Tcb): void {
  if (c.ecnFlags & ECN_OK) c.ecnFlags |= ECN_QUEUE_CWR;
}
