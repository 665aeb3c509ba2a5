/**
 * Classic Explicit Congestion Notification (RFC 3168) as Linux runs it (net/ipv4/tcp_output.c tcp_ecn_send*,
 * tcp_input.c tcp_ecn_*): negotiation on the handshake, ECT(0) on new data, the receiver's ECE echo of a CE
 * mark until the sender's CWR. net.ipv4.tcp_ecn: 0 off, 1 ask on our SYNs and accept, 2 only accept (default).
 */
import { cwndChanged } from './cwnd-events.js';
import { TCP_CWR, TCP_ECE } from '../wire/tcp.js';
import { seqLt } from './seq.js';
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
/** A reduction for ECE is in progress until SND.UNA passes `ecnCwrEnd` (Linux's TCP_CA_CWR state). */
export const ECN_IN_CWR = 8;
/** An ECT or CE segment has arrived on this connection (Linux TCP_ECN_SEEN; `ss -i` ecnseen). */
export const ECN_SEEN = 16;

/** The ECN flags of our SYN (Linux tcp_ecn_send_syn): ECE|CWR with tcp_ecn=1, and never on a retransmitted SYN (tcp_ecn_clear_syn, ecn_fallback). */
export function ecnSynFlags(c: Tcb, retransmission: boolean): number {
  if (retransmission) {
    c.ecnFlags = 0;
    return 0;
  }
  if (c.cfg.ecn !== 1) return 0;
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

/**
 * An ACK with ECE on an ECN connection (Linux tcp_ecn_rcv_ecn_echo, FLAG_ECE → tcp_enter_cwr): at most once
 * per window of data (RFC 3168 §6.1.2), and not during loss recovery (which has reduced already), ssthresh
 * comes from the congestion controller and the window drops to it, CWR goes on the next new data. Linux
 * walks cwnd down to ssthresh over the window with PRR (tcp_cwnd_reduction); we reduce at once, as RFC 3168
 * §6.1.2 describes. Runs before the ACK grows the window, so the reduction starts from the prior cwnd.
 */
export function ecnEchoArrives(c: Tcb, flags: number, now: number): void {
  const e = c.ecnFlags;
  if (!(e & ECN_OK) || !(flags & TCP_ECE) || c.recovery !== REC_NONE) return;
  if (e & ECN_IN_CWR && seqLt(c.sndUna, c.ecnCwrEnd)) return;
  const prevCwnd = c.cwnd;
  const prevSsthresh = c.ssthresh;
  c.ssthresh = c.cc.ssthreshOnLoss(c, (c.sndMax - c.sndUna) | 0, now);
  c.cwnd = Math.min(c.cwnd, c.ssthresh);
  cwndChanged(c, 'ece', prevCwnd, prevSsthresh);
  c.ecnCwrEnd = c.sndMax;
  c.ecnFlags = e | ECN_IN_CWR | ECN_QUEUE_CWR;
}

/** After a congestion window reduction (Linux tcp_init_cwnd_reduction → tcp_ecn_queue_cwr): CWR goes on the next new data. */
export function ecnQueueCwr(c: Tcb): void {
  if (c.ecnFlags & ECN_OK) c.ecnFlags |= ECN_QUEUE_CWR;
}
