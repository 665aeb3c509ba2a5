/**
 * Accurate ECN (RFC 9768) as Linux 6.18 negotiates and feeds it back (include/net/tcp_ecn.h,
 * net/ipv4/tcp_input.c tcp_accecn_*, net/ipv4/tcp_output.c tcp_ecn_send): the AE,CWR,ECE handshake codepoints
 * and their fallbacks to classic ECN or none, the ACE field (r.cep, CE-marked segments received, plus 5, modulo
 * 8) on every segment after the handshake, ECT(0) on every segment, and the sender's inference of newly
 * CE-marked segments from the ACE field — corrected for wraps with the option's byte counters — that answers
 * as classic ECE does (src/tcp/ecn.ts: one reduction per window of data).
 *
 * net.ipv4.tcp_ecn (Linux's tcp_ecn_mode): 3 ask for AccECN and accept it, 4 ask for classic ECN and accept
 * AccECN, 5 accept AccECN only. Linux 6.18 carries this code but its sysctl stops at 2 (mainline opens 3..5).
 */
import { TCP_ACK, TCP_AE, TCP_CWR, TCP_ECE, TCP_SYN, type AccEcnOption, type TcpHeader, type TcpOptions } from '../wire/tcp.js';
import type { TcpConfig } from './config.js';
import {
  ACCECN_ACE_FAIL_RECV,
  ACCECN_MODE_ACCECN,
  ACCECN_MODE_PENDING,
  ACCECN_OPT_COUNTER_SEEN,
  ACCECN_OPT_FAIL_RECV,
  AccEcnState,
} from './accecn-state.js';
import { bytesStepCrossed, fillSynAckAccEcnOption, minFieldsFor, noteOptionSeen, optionSeen, processOption } from './accecn-option.js';
import { ECN_CE, ECN_ECT0, ECN_NOT_ECT, ECN_OK, ECN_SEEN } from './ecn.js';
import { ackNow } from './ack-engine.js';
import { seqGt, seqSub } from './seq.js';
import { REC_NONE, type Tcb } from './tcb.js';

const ECN_ECT1 = 1;
/** r.cep starts at 5 (RFC 9768 §3.2.1; Linux TCP_ACCECN_CEP_INIT_OFFSET): a zeroed ACE field shows. */
export const CEP_INIT = 5;
/** The ACE field counts modulo 8 (Linux TCP_ACCECN_CEP_ACE_MASK). */
const ACE_MASK = 7;
/** Unreported CE marks that make the receiver ACK at once (RFC 9768 §3.2.2.5.1; Linux TCP_ACCECN_ACE_MAX_DELTA). */
const ACE_MAX_DELTA = 6;
/** Packets acknowledged per ACK (EWMA, 6 fraction bits) above which ACKs are thinned and the ACE delta is taken as is (Linux ACK_COMP_THRESH). */
const ACK_COMP_THRESH = 4;
const EWMA_PREC = 6;
const EWMA_WEIGHT = 6;

/** The three flags AE, CWR, ECE as one number (Linux tcp_accecn_ace). */
export function aceOf(flags: number): number {
  return (flags & TCP_AE ? 4 : 0) | (flags & TCP_CWR ? 2 : 0) | (flags & TCP_ECE ? 1 : 0);
}

/** A 3-bit ACE value as TCP flags. */
export function aceFlags(ace: number): number {
  return (ace & 4 ? TCP_AE : 0) | (ace & 2 ? TCP_CWR : 0) | (ace & 1 ? TCP_ECE : 0);
}

/** Is the connection's feedback AccECN (Linux tcp_ecn_mode_accecn)? */
export function accEcnOn(c: Tcb): boolean {
  return c.accecn !== null && c.accecn.mode === ACCECN_MODE_ACCECN;
}

// --- negotiation ---------------------------------------------------------------------------------------------

/** Does a SYN ask for AccECN (RFC 9768 §3.1.2; Linux tcp_accecn_syn_requested): any AE,CWR,ECE but 000 and 011. */
export function accEcnSynRequested(flags: number): boolean {
  const ace = aceOf(flags);
  return ace !== 0 && ace !== 3;
}

/** A listener answers a SYN with AccECN when it asks and tcp_ecn is 3..5 (Linux tcp_ecn_create_request); any ECN field on the SYN is fine. */
export function accEcnSynAccepted(ecn: number, flags: number): boolean {
  return ecn >= 3 && accEcnSynRequested(flags);
}

/** The SYN-ACK's AE,CWR,ECE echo the SYN's ECN field (RFC 9768 §3.1.1 Table 2; Linux tcp_accecn_echo_syn_ect). */
export function synAckAceFlags(synEct: number): number {
  // Not-ECT 010, ECT(1) 011, ECT(0) 100, CE 110.
  return aceFlags(REFLECT[synEct & 3]!);
}
const REFLECT = [0b010, 0b011, 0b100, 0b110] as const;

/**
 * The SYN-ACK of an AccECN SYN (Linux tcp_ecn_make_synack, tcp_synack_options): ACE echoes the SYN's ECN field —
 * on the first SYN-ACK and the first retransmission; later ones send 000, in case a middlebox drops AccECN
 * SYN-ACKs. The option, all counters at their start, goes on the first SYN-ACK only, with tcp_ecn_option ≠ 0.
 * Returns the SYN-ACK's flags.
 */
export function accEcnSynAck(cfg: TcpConfig, o: TcpOptions, opt: AccEcnOption, synEct: number, numTimeout: number | undefined): number {
  o.accecn = undefined;
  if (numTimeout === undefined && cfg.ecnOption !== 0) fillSynAckAccEcnOption(o, opt);
  if (numTimeout !== undefined && numTimeout > 0) return TCP_SYN | TCP_ACK;
  return TCP_SYN | TCP_ACK | synAckAceFlags(synEct);
}

/** Our SYN asks for AccECN (Linux tcp_ecn_send_syn with tcp_ecn=3): AE|CWR|ECE, state pending; never on a retransmitted SYN (tcp_ecn_clear_syn). */
export function accEcnSynFlags(c: Tcb, retransmission: boolean): number {
  if (retransmission || c.cfg.ecn !== 3) {
    c.accecn = null;
    c.ecnFlags = 0;
    return 0;
  }
  const st = c.accecn ?? new AccEcnState(ACCECN_MODE_PENDING);
  st.mode = ACCECN_MODE_PENDING;
  st.synEctSnt = ECN_NOT_ECT;
  c.accecn = st;
  return TCP_AE | TCP_CWR | TCP_ECE;
}

/** The ECN field an ACE value says our SYN (or SYN-ACK) arrived with (RFC 9768 Table 2; Linux tcp_accecn_extract_syn_ect). */
export function synEctFromAce(ace: number): number {
  return ACE_TO_ECN[ace & 7]!;
}
const ACE_TO_ECN = [ECN_ECT0, ECN_ECT1, ECN_NOT_ECT, ECN_ECT1, ECN_ECT0, ECN_ECT1, ECN_CE, ECN_ECT1] as const;

/** Can a path turn ECN field `sent` into `got` (Linux tcp_ect_transition_valid)? Not-ECT stays, CE is never undone. */
export function ectTransitionValid(sent: number, got: number): boolean {
  if (got === sent) return true;
  if (sent === ECN_NOT_ECT || got === ECN_NOT_ECT) return false;
  return sent !== ECN_CE;
}

/** The handshake feedback is consistent with what we sent, else ACE is not trusted (Linux tcp_accecn_validate_syn_feedback). */
function synFeedbackValid(st: AccEcnState, ace: number, sent: number): boolean {
  if (!ectTransitionValid(sent, synEctFromAce(ace))) {
    st.failMode |= ACCECN_ACE_FAIL_RECV;
    return false;
  }
  return true;
}

/**
 * The SYN-ACK of our AccECN SYN (RFC 9768 §3.1.2 Table 2; Linux tcp_ecn_rcv_synack): 000 or 111 — no ECN;
 * 001 — a classic ECN server (fall back to RFC 3168); anything else — AccECN, its SYN-ACK's ECN field to reflect
 * on our last handshake ACK, a CE mark on it counted. Returns true when the connection took AccECN.
 */
export function accEcnSynAckArrives(c: Tcb, h: TcpHeader, ipEcn: number): boolean {
  const st = c.accecn;
  if (st === null || st.mode !== ACCECN_MODE_PENDING) return false;
  const ace = aceOf(h.flags);
  if (ace === 0 || ace === 7) {
    c.accecn = null;
    c.ecnFlags = 0;
    return false;
  }
  if (ace === 1) {
    c.accecn = null;
    c.ecnFlags = ECN_OK; // Linux: classic ECN unless the congestion control forbids the fallback
    return false;
  }
  st.mode = ACCECN_MODE_ACCECN;
  st.synEctRcv = ipEcn;
  st.prevEcnField = ipEcn;
  st.reflectSynEct = true;
  c.ecnFlags = 0;
  if (h.accecnOrder >= 0 && st.sawOpt < ACCECN_OPT_COUNTER_SEEN) {
    noteOptionSeen(st, optionSeen(h));
    st.optDemand = 2; // the handshake's option answered on the next ACKs
  }
  // Linux validates the feedback only of a CE-marked SYN-ACK (the && short-circuits in tcp_ecn_rcv_synack).
  if (ipEcn === ECN_CE && (ace === 5 || synFeedbackValid(st, ace, st.synEctSnt))) {
    st.receivedCe++;
    st.receivedCePending++;
  }
  return true;
}

/**
 * A SYN crossing our AccECN SYN (simultaneous open; Linux tcp_ecn_rcv_syn): AccECN if it asks too (its ECN field
 * to echo on our SYN-ACK), classic ECN if it asks for that, else none. Returns true when AccECN's rules decided.
 */
export function accEcnSimultaneousSyn(c: Tcb, flags: number, ipEcn: number): boolean {
  const st = c.accecn;
  if (st === null || st.mode !== ACCECN_MODE_PENDING) return false;
  if (accEcnSynRequested(flags)) {
    st.mode = ACCECN_MODE_ACCECN;
    st.synEctRcv = ipEcn;
    st.prevEcnField = ipEcn;
    return true;
  }
  c.accecn = null;
  c.ecnFlags = (flags & (TCP_ECE | TCP_CWR)) === (TCP_ECE | TCP_CWR) ? ECN_OK : 0;
  return true;
}

/** A listener's child starts with AccECN (Linux tcp_ecn_openreq_child): the SYN's ECN field was echoed on our SYN-ACK, sent Not-ECT. */
export function accEcnPassiveOpen(c: Tcb, synEct: number): void {
  const st = new AccEcnState(ACCECN_MODE_ACCECN);
  st.synEctRcv = synEct;
  st.prevEcnField = synEct;
  st.synEctSnt = ECN_NOT_ECT;
  c.accecn = st;
  c.ecnFlags = 0;
}

/**
 * The ACK that completes a passive open (RFC 9768 §3.2.2.1 Table 4; Linux tcp_accecn_third_ack): ACE 000 means a
 * middlebox zeroes the field (no ACE and no option from the peer is trusted); 001, 101, 111 are legal but say
 * nothing; on a pure ACK the others reflect our SYN-ACK's ECN field, CE counting as one delivered CE mark.
 */
export function accEcnThirdAck(c: Tcb, h: TcpHeader): void {
  const st = c.accecn;
  if (st === null || st.mode !== ACCECN_MODE_ACCECN) return;
  if (h.accecnOrder >= 0 && st.sawOpt < ACCECN_OPT_COUNTER_SEEN) noteOptionSeen(st, optionSeen(h));
  const ace = aceOf(h.flags);
  if (ace === 0) {
    if (h.sackCount === 0) st.failMode |= ACCECN_ACE_FAIL_RECV | ACCECN_OPT_FAIL_RECV;
    return;
  }
  if (ace === 1 || ace === 5 || ace === 7) return;
  if (h.payloadLength === 0 && h.sackCount === 0 && synFeedbackValid(st, ace, st.synEctSnt)) {
    if (synEctFromAce(ace) === ECN_CE && st.deliveredCe === 0) st.deliveredCe = 1;
  }
}

// --- the receiver --------------------------------------------------------------------------------------------

/**
 * A segment of an AccECN connection arrives (Linux tcp_ecn_received_counters): ECT or CE counts — CE in r.cep
 * for every segment, pure ACKs too; payload bytes per field. A change of the ECN field, or CE, demands the option
 * on the next two ACKs, and a change makes the ACK of the segment's data go at once. Returns true when it must.
 */
export function accEcnSegmentArrives(c: Tcb, ipEcn: number, payloadLength: number): boolean {
  const st = c.accecn;
  if (st === null) return false;
  const isCe = ipEcn === ECN_CE ? 1 : 0;
  if (ipEcn !== ECN_NOT_ECT) {
    c.ecnFlags |= ECN_SEEN;
    // A super-segment (GRO, or a TSO one from the loopback) counts as the segments it holds (Linux: gso_segs).
    const pcount = isCe * (payloadLength > c.rcvMss ? Math.ceil(payloadLength / Math.max(1, c.rcvMss)) : 1);
    st.receivedCe = (st.receivedCe + pcount) >>> 0;
    st.receivedCePending = Math.min(st.receivedCePending + pcount, 15);
    if (payloadLength > 0) {
      const before = st.receivedBytes[ipEcn - 1]!;
      const after = (before + payloadLength) >>> 0;
      st.receivedBytes[ipEcn - 1] = after;
      st.minLen = Math.max(st.minLen, minFieldsFor(ipEcn));
      if (bytesStepCrossed(before, after) && st.optDemand < 1) st.optDemand = 1;
    }
  }
  const edge = st.prevEcnField !== ipEcn;
  if (!edge && !isCe) return false;
  st.prevEcnField = ipEcn;
  if (st.mode !== ACCECN_MODE_ACCECN) return false;
  st.optDemand = 2;
  // Linux sets ICSK_ACK_NOW: the ACK this segment's data schedules goes at once; a pure ACK schedules none.
  return edge && payloadLength > 0;
}

/**
 * The ECN of one non-SYN segment of an AccECN connection (Linux tcp_ecn_send → tcp_accecn_set_ace): ECT(0) on
 * every segment — data, retransmissions and pure ACKs alike — unless the peer's feedback failed; the ACE field
 * carries r.cep (or, on the handshake's last ACK, the SYN-ACK's ECN field). Returns flags with the IP ECN field
 * in bits 16..17, as ecnSegment.
 */
export function accEcnSegment(c: Tcb, flags: number): number {
  const st = c.accecn!;
  flags &= ~(TCP_AE | TCP_CWR | TCP_ECE);
  if (st.mode !== ACCECN_MODE_ACCECN) return flags;
  if (st.reflectSynEct) {
    st.reflectSynEct = false;
    flags |= synAckAceFlags(st.synEctRcv);
  } else {
    flags |= aceFlags((st.receivedCe + CEP_INIT) & ACE_MASK);
    st.receivedCePending = 0;
  }
  const ip = st.failMode & ACCECN_ACE_FAIL_RECV ? ECN_NOT_ECT : ECN_ECT0;
  return flags | (ip << 16);
}

// --- the sender ----------------------------------------------------------------------------------------------

/** The figures of one ACK that the ACE inference needs (Linux __tcp_accecn_process's arguments). */
export interface AceSample {
  /** The ACE field as it arrived. */
  ace: number;
  /** Segments this ACK newly acknowledged or SACKed. */
  deliveredPkts: number;
  /** Bytes of them. */
  deliveredBytes: number;
  /** The option's byte counters moved consistently (processOption's verdict). */
  optValid: boolean;
  /** Newly reported CE bytes by the option. */
  ceBytesDelta: number;
  /** SACK is on, or the connection is in the Open/CWR state (delivered counts are exact). */
  exactDelivered: boolean;
  mss: number;
  /** Packets per ACK, the EWMA with 6 fraction bits. */
  pktsAckedEwma: number;
}

/**
 * How many newly CE-marked segments an ACK reports (RFC 9768 §3.2.2.4 and Appendix A.2; Linux
 * __tcp_accecn_process): the ACE field's step modulo 8 from what we counted so far, unless the ACK covers more
 * than 7 segments — then the field may have wrapped, and `safe` (as many wraps as possible) is taken unless
 * the option's CE byte counter or thinned ACKs say the plain step is right.
 */
export function aceDelta(deliveredCe: number, s: AceSample): number {
  const corrected = (s.ace - CEP_INIT) & 0xffffffff;
  const delta = (corrected - deliveredCe) & ACE_MASK;
  if (s.deliveredPkts <= ACE_MASK) return delta;
  const safe = s.deliveredPkts - ((s.deliveredPkts - delta) & ACE_MASK);
  if (s.optValid) {
    const dCeb = s.ceBytesDelta;
    if (dCeb === 0) return delta;
    if (s.deliveredPkts >= (ACE_MASK + 1) * 2 && s.exactDelivered) {
      if (s.deliveredBytes <= dCeb) return safe;
      const est = Math.ceil((dCeb * s.deliveredPkts) / s.deliveredBytes);
      return Math.min(safe, delta + (est & ~ACE_MASK));
    }
    if (dCeb > delta * s.mss) return safe;
    if (dCeb < (safe * s.mss) >>> 1) return delta; // TCP_ACCECN_SAFETY_SHIFT
  } else if (s.pktsAckedEwma > ACK_COMP_THRESH << EWMA_PREC) return delta;
  return safe;
}

/** Linux's pkts_acked_ewma: weight 1/64, 6 fraction bits, at most 0xffff. */
export function nextPktsAckedEwma(prev: number, deliveredPkts: number): number {
  if (deliveredPkts === 0) return prev;
  const x = prev === 0 ? deliveredPkts << EWMA_PREC : ((prev << EWMA_WEIGHT) - prev + (deliveredPkts << EWMA_PREC)) >>> EWMA_WEIGHT;
  return Math.min(x, 0xffff);
}

/**
 * An ACK on an AccECN connection (Linux tcp_ack → tcp_accecn_process): only one that makes progress counts (a
 * reordered ACK says nothing new); the ACK of our SYN carries no ACE feedback. Newly CE-marked segments go to
 * delivered_ce and TcpExt.TCPDeliveredCE, and make the ACK an echo of congestion — the caller answers it as a
 * classic ECE (FLAG_ECE). Unreported CE marks of ours past 6 ACK at once. Returns the segments newly marked.
 */
export function accEcnAckArrives(c: Tcb, h: TcpHeader, deliveredPkts: number, deliveredBytes: number, ackedSyn: boolean): number {
  const st = c.accecn;
  if (st === null || st.mode !== ACCECN_MODE_ACCECN) return 0;
  if (deliveredPkts === 0 && deliveredBytes === 0) return 0; // Linux: no FLAG_FORWARD_PROGRESS
  const oldCeb = st.deliveredBytes[ECN_CE - 1]!;
  const optValid = processOption(st, h, deliveredBytes, c.bytesSent);
  st.pktsAckedEwma = nextPktsAckedEwma(st.pktsAckedEwma, deliveredPkts);
  if (ackedSyn) return 0; // the ACE field is not feedback during the handshake (FLAG_SYN_ACKED)
  // Unreported CE marks near the ACE field's range: the ACK due for this segment's data goes at once (ICSK_ACK_NOW).
  if (st.receivedCePending >= ACE_MAX_DELTA && h.payloadLength > 0) ackNow(c);
  const delta = aceDelta(st.deliveredCe, {
    ace: aceOf(h.flags),
    deliveredPkts,
    deliveredBytes,
    optValid,
    ceBytesDelta: (st.deliveredBytes[ECN_CE - 1]! - oldCeb) >>> 0,
    exactDelivered: c.sackOk || c.recovery === REC_NONE,
    mss: c.smss,
    pktsAckedEwma: st.pktsAckedEwma,
  });
  if (delta > 0) {
    st.deliveredCe = (st.deliveredCe + delta) >>> 0;
    c.layer.stats.TcpExt.TCPDeliveredCE += delta;
  }
  return delta;
}

/**
 * processAck's question on an AccECN connection: does this ACK report new CE marks? Its delivered bytes are
 * what it newly acknowledges (our SYN aside) and newly SACKs; segments, those in MSS units.
 */
export function accEcnEchoed(c: Tcb, h: TcpHeader, ack: number, newlySacked: number): boolean {
  const acked = seqGt(ack, c.sndUna) ? seqSub(ack, c.sndUna) : 0;
  const ackedSyn = c.synUnacked && acked > 0;
  const bytes = acked - (ackedSyn ? 1 : 0) + Math.max(0, newlySacked);
  const pkts = bytes > 0 ? Math.ceil(bytes / Math.max(1, c.smss)) : ackedSyn ? 1 : 0;
  return accEcnAckArrives(c, h, pkts, bytes, ackedSyn) > 0;
}

/** The peer's option is known stripped or zeroed (Linux tcpi_accecn_fail_mode): for observers. */
export function accEcnOptionFailed(c: Tcb): boolean {
  return c.accecn !== null && (c.accecn.failMode & ACCECN_OPT_FAIL_RECV) !== 0;
}
