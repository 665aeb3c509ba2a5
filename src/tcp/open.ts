/**
 * Opening a connection: the active open (RFC 9293 §3.10.1, CLOSED → SYN-SENT) and the passive open a listener
 * completes (SYN-RECEIVED from its SYN queue or a SYN cookie), with the options both ends agreed on (RFC 7323
 * window scale and timestamps, RFC 2018 SACK permitted, the MSS of RFC 9293 §3.7.1).
 */
import { receiveBufferCeiling, windowScaleFor } from './config.js';
import { ECN_OK } from './ecn.js';
import { accEcnPassiveOpen } from './accecn.js';
import { sendSyn } from './output.js';
import { type PassiveOpen, TcpState } from './state.js';
import { RTX_RTO, type Tcb } from './tcb.js';
import { seqAdd } from './seq.js';

/** Active open (RFC 9293 §3.10.1): CLOSED → SYN-SENT, SYN sent. */
export function openActive(c: Tcb, now: number): void {
  c.iss = c.layer.isn(c.localAddr, c.localPort, c.remoteAddr, c.remotePort, now);
  c.sndUna = c.iss;
  c.sndNxt = c.iss;
  c.sndMax = c.iss;
  c.sndSml = c.iss;
  c.pushedSeq = seqAdd(c.iss, 1);
  c.recover = c.iss;
  c.setState(TcpState.SYN_SENT);
  c.layer.stats.Tcp.ActiveOpens++;
  c.rttTime = now;
  c.synSentAt = now;
  sendSyn(c, false, now);
  c.armRtx(RTX_RTO, now + c.rtt.rto);
}

/** Passive open from a SYN-queue entry or a validated cookie: a connection in SYN-RECEIVED whose final ACK is about to be processed. */
export function openPassive(c: Tcb, p: PassiveOpen, now: number): void {
  c.iss = p.iss;
  c.sndUna = p.iss;
  c.sndSml = p.iss;
  c.pushedSeq = seqAdd(p.iss, 1);
  c.sndNxt = seqAdd(p.iss, 1);
  c.sndMax = c.sndNxt;
  c.recover = p.iss;
  c.irs = p.irs;
  c.rcvNxt = seqAdd(p.irs, 1);
  c.rb.nxt = c.rcvNxt;
  c.lastAckSent = c.rcvNxt;
  c.advMss = p.advMss;
  applyPeerOptions(c, p.peerMss, p.peerWscale, p.sackOk, p.tsOk);
  c.tsRecent = p.tsRecent;
  c.tsRecentStamp = now;
  // RFC 7323 §2.2: the window of a SYN is never scaled.
  c.sndWnd = p.peerWindow;
  c.maxSndWnd = p.peerWindow;
  c.sndWl1 = p.irs;
  c.sndWl2 = p.iss;
  c.rcvWnd = Math.min(c.rb.free, 0xffff);
  c.rcvAdvRight = seqAdd(c.rcvNxt, c.rcvWnd);
  if (p.synAckSentAt >= 0 && !p.retransmitted) {
    c.rttTiming = true;
    c.rttSeq = p.iss;
    c.rttTime = p.synAckSentAt;
  }
  c.synRetransmitted = p.retransmitted;
  c.ecnFlags = p.ecnOk === true ? ECN_OK : 0;
  if (p.accecnSynEct !== undefined && p.accecnSynEct >= 0) accEcnPassiveOpen(c, p.accecnSynEct);
  c.setState(TcpState.SYN_RECEIVED);
  c.lastRecv = now;
}

/** The options the peer sent with its SYN, as far as ours allow: MSS (536 when absent, RFC 9293 §3.7.1), window scale and timestamps (RFC 7323), SACK (RFC 2018); the initial window (RFC 5681 §3.1). */
export function applyPeerOptions(c: Tcb, peerMss: number, peerWscale: number, sackOk: boolean, tsOk: boolean): void {
  const cfg = c.cfg;
  c.peerMss = peerMss > 0 ? peerMss : 536;
  c.wsOk = cfg.windowScaling && peerWscale >= 0;
  c.sndWscale = c.wsOk ? Math.min(peerWscale, 14) : 0;
  c.rcvWscale = c.wsOk ? windowScaleFor(receiveBufferCeiling(cfg)) : 0;
  c.sackOk = cfg.sack && sackOk;
  c.tsOk = cfg.timestamps && tsOk;
  c.updateMss();
  c.cwnd = c.cfg.initialCwnd * c.smss;
}
