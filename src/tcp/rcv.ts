/**
 * Segment arrives (RFC 9293 §3.10.7): SYN-SENT (§3.10.7.3) and the synchronized states (§3.10.7.4), one
 * function per step in the RFC's order — PAWS (RFC 7323 §5.3) before the sequence check, then sequence
 * acceptability, RST (RFC 5961 §3.2), SYN (RFC 5961 §4.2), ACK, TS.Recent (RFC 7323 §4.3), segment text, FIN.
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpHeader } from '../wire/tcp.js';
import { ackNow, enterQuickAck, incrQuick, measureRcvMss, setDsack } from './ack-engine.js';
import { rcvRttMeasure } from './autotune.js';
import { abortOnData, enterTimeWait, terminate } from './close.js';
import { ERRNO, TcpError } from './errors.js';
import { ecnSegmentArrives, ecnSimultaneousSyn, ecnSynAckArrives } from './ecn.js';
import { accEcnSegmentArrives, accEcnSimultaneousSyn, accEcnSynAckArrives, accEcnThirdAck } from './accecn.js';
import { applyPeerOptions } from './open.js';
import { fastOpenSynAckArrives } from './fastopen-active.js';
import { sendSyn } from './output.js';
import { processAck } from './recovery.js';
import { oowAckAllowed, tsValTooOld } from './segment-checks.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from './seq.js';
import { TcpState } from './state.js';
import { EV_CONNECTED, EV_DATA, EV_EOF, RTX_NONE, RTX_RTO, type Tcb } from './tcb.js';
import { tsDiff } from './ts-clock.js';

/** A segment for this connection. `pkt[payloadStart, +h.payloadLength)` is the payload. */
export function segmentArrives(c: Tcb, h: TcpHeader, pkt: Uint8Array, payloadStart: number, now: number): void {
  c.segsIn++;
  c.lastRecv = now;
  c.probesOut = 0;
  switch (c.state) {
    case TcpState.CLOSED:
      c.layer.noSocket();
      return;
    case TcpState.SYN_SENT:
      synSentArrives(c, h, pkt, payloadStart, now);
      return;
    default:
      synchronizedArrives(c, h, pkt, payloadStart, now);
  }
}

/** §3.10.7.3 SYN-SENT. */
function synSentArrives(c: Tcb, h: TcpHeader, pkt: Uint8Array, payloadStart: number, now: number): void {
  const stats = c.layer.stats;
  const flags = h.flags;
  let ackOk = false;
  // First: the ACK bit.
  if (flags & TCP_ACK) {
    if (seqLe(h.ack, c.iss) || seqGt(h.ack, c.sndMax)) {
      stats.drop('tcp.syn-sent-bad-ack');
      // Linux tcp_rcv_synsent_state_process: an old FIN/ACK or RST/ACK of ours may have been ignored, so
      // before any retransmission the SYN goes again after TCP_TIMEOUT_MIN (two ticks), not the RTO.
      if (c.retransmits === 0) c.armRtx(RTX_RTO, now + 2 * c.cfg.tickMs);
      if (!(flags & TCP_RST)) c.layer.sendRst(c.localAddr, c.localPort, c.remoteAddr, c.remotePort, h.ack, 0, false);
      return;
    }
    ackOk = seqLe(c.sndUna, h.ack);
    // Linux tcp_rcv_synsent_state_process: a TS ecr that is not between our first SYN's TS val and now cannot
    // answer our SYN (PAWSActiveRejected); the segment is reset like an unacceptable ACK, RST included.
    if (h.tsPresent && h.tsEcr !== 0 && c.cfg.timestamps && !tsBetween(h.tsEcr, c.tsNow(c.synSentAt), c.tsNow(now))) {
      stats.TcpExt.PAWSActive++;
      stats.drop('tcp.syn-sent-bad-ts-ecr');
      if (!(flags & TCP_RST)) c.layer.sendRst(c.localAddr, c.localPort, c.remoteAddr, c.remotePort, h.ack, 0, false);
      return;
    }
  }
  // Second: RST.
  if (flags & TCP_RST) {
    if (ackOk) {
      c.pendingError = ERRNO.ECONNREFUSED;
      terminate(c, new TcpError('ECONNREFUSED', 'connect'));
    } else stats.drop('tcp.syn-sent-rst-no-ack');
    return;
  }
  // Fourth: SYN.
  if (!(flags & TCP_SYN)) {
    stats.drop('tcp.syn-sent-no-syn');
    return;
  }
  c.irs = h.seq;
  c.rcvNxt = seqAdd(h.seq, 1);
  c.rb.nxt = c.rcvNxt;
  applyPeerOptions(c, h.mss, h.wscale, h.sackPermitted, h.tsPresent);
  if (c.tsOk) {
    c.tsRecent = h.tsVal;
    c.tsRecentStamp = now;
  }
  if (ackOk) {
    // SYN-ACK: established.
    // AccECN's answer table first (RFC 9768 §3.1.2); a classic answer leaves the RFC 3168 check to run.
    if (!accEcnSynAckArrives(c, h, c.layer.rxIpEcn)) ecnSynAckArrives(c, flags);
    c.sndUna = h.ack;
    c.synUnacked = false;
    // RFC 7413 §4.1: the cookie cache learns from the SYN-ACK; SYN data not acknowledged goes again.
    if (c.fastOpen !== null) fastOpenSynAckArrives(c, c.layer.fastOpen.cache, h, now);
    c.sndWnd = h.window; // never scaled in a SYN (RFC 7323 §2.2)
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = h.seq;
    c.sndWl2 = h.ack;
    c.layer.timers.disarm(c.rtxTimer);
    c.rtxMode = RTX_NONE;
    c.retransmits = 0;
    if (c.tsOk && h.tsEcr !== 0) c.rtt.sample(Math.max(0, tsDiff(c.tsNow(now), h.tsEcr)));
    else if (!c.synRetransmitted) c.rtt.sample(now - c.rttTime);
    if (c.synRetransmitted) c.rtt.fallBackAfterSynLoss();
    c.setState(TcpState.ESTABLISHED);
    if (c.finQueued) c.setState(TcpState.FIN_WAIT_1);
    c.rcvAdvRight = c.rcvNxt;
    c.ackPending = true;
    c.wantOutput = true;
    c.post(EV_CONNECTED);
    if (c.keepalive) c.armKeepalive(now);
    // Data or FIN in the SYN-ACK (§3.10.7.3: continue with the URG/data/FIN steps).
    if (h.payloadLength > 0 || flags & TCP_FIN) {
      const seg = seqAdd(h.seq, 1);
      acceptData(c, seg, pkt, payloadStart, h.payloadLength, flags, h.headerLength, now);
      if (flags & TCP_FIN) noteFin(c, seqAdd(seg, h.payloadLength), now);
    }
    return;
  }
  // Simultaneous open: SYN-RECEIVED, SYN-ACK with our ISN.
  if (!accEcnSimultaneousSyn(c, flags, c.layer.rxIpEcn)) ecnSimultaneousSyn(c, flags);
  c.sndWnd = h.window;
  c.maxSndWnd = c.sndWnd;
  c.sndWl1 = h.seq;
  c.sndWl2 = c.iss;
  c.setState(TcpState.SYN_RECEIVED);
  sendSyn(c, true, now);
}

/** Verdicts of the sequence check (§3.10.7.4 first step). */
const SEQ_ACCEPT = 0;
/** Not acceptable, but at RCV.NXT against a zero window: its ACK (and RST) are still processed, not its text. */
const SEQ_ZERO_WINDOW_ACK = 1;
const SEQ_DROP = 2;

/** §3.10.7.4 the synchronized states: each step in the RFC's order, one function each. */
function synchronizedArrives(c: Tcb, h: TcpHeader, pkt: Uint8Array, payloadStart: number, now: number): void {
  let flags = h.flags;
  let seq = h.seq;
  if (isSimultaneousOpenSynAck(c, h)) {
    // Taken as the ACK it carries (Linux tcp_validate_incoming lets exactly this one through); its SYN is a
    // sequence number already received, so tcp_data_queue answers it at once with a D-SACK of it (RFC 2883).
    flags &= ~TCP_SYN;
    seq = c.rcvNxt;
    setDsack(c, h.seq, c.rcvNxt);
    ackNow(c);
  }
  if (pawsRejects(c, h, flags, now)) return;
  const verdict = checkSequence(c, h, seq, flags, now);
  if (verdict === SEQ_DROP) return;
  if (flags & TCP_RST) {
    rstArrives(c, seq, now);
    return;
  }
  // Third, security and precedence: not used (RFC 9293 §3.10.7.4 leaves it to RFC 791's IP options).
  if (flags & TCP_SYN) {
    synArrives(c, seq, flags, now);
    return;
  }
  // AccECN counts every segment past the sequence check, pure ACKs too (Linux tcp_ecn_received_counters before tcp_ack).
  if (c.accecn !== null && accEcnSegmentArrives(c, c.layer.rxIpEcn, h.payloadLength)) ackNow(c);
  if (!ackArrives(c, h, seq, flags, now)) return;
  updateTsRecent(c, h, seq, now);
  // Sixth, the URG bit: the urgent pointer is not supported (RFC 6093 §6 discourages its use).
  if (verdict === SEQ_ZERO_WINDOW_ACK) return;
  textArrives(c, h, seq, flags, pkt, payloadStart, now);
}

/** Simultaneous open (RFC 9293 §3.5, figure 7): the peer's SYN-ACK in SYN-RECEIVED acknowledges our SYN. */
function isSimultaneousOpenSynAck(c: Tcb, h: TcpHeader): boolean {
  return (
    c.state === TcpState.SYN_RECEIVED &&
    c.listener === null &&
    c.fastOpenQueue === null &&
    (h.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === (TCP_SYN | TCP_ACK) &&
    seqAdd(h.seq, 1) === c.rcvNxt &&
    h.ack === c.sndNxt
  );
}

/**
 * RFC 7323 §5.3 PAWS, before the sequence check: a segment whose TSval is older than TS.Recent is a duplicate
 * from an earlier wrap of the sequence space — dropped, with an ACK. Linux's TCP_PAWS_WINDOW tolerates one tick
 * of disorder; a TS.Recent idle for 24 days is no longer trusted (§5.5). RSTs are exempt.
 */
function pawsRejects(c: Tcb, h: TcpHeader, flags: number, now: number): boolean {
  // An RST is accepted even if it fails PAWS (Linux tcp_validate_incoming).
  if (!c.tsOk || !h.tsPresent || flags & TCP_RST || !tsValTooOld(c.tsRecent, c.tsRecentStamp, h.tsVal, now)) return false;
  const stats = c.layer.stats;
  stats.TcpExt.PAWSEstab++;
  stats.drop('tcp.paws');
  // Linux tcp_send_dupack: old data refused by PAWS is still reported as a D-SACK — the late original of a
  // retransmission is how the sender learns its retransmission was spurious (RFC 3708).
  const end = seqAdd(h.seq, h.payloadLength);
  if (h.payloadLength > 0 && seqLt(h.seq, c.rcvNxt)) setDsack(c, h.seq, seqGt(end, c.rcvNxt) ? c.rcvNxt : end);
  c.ackPending = true;
  c.wantOutput = true;
  c.layer.markDirty(c);
  return true;
}

/**
 * §3.10.7.4 first step, sequence number acceptability (the four cases of segment length and window). An
 * unacceptable segment is dropped with an ACK — except an RST; a duplicate's old data is reported as a D-SACK
 * (Linux tcp_send_dupack) and, without data, at most one such ACK per 500 ms (Linux tcp_oow_rate_limited).
 */
function checkSequence(c: Tcb, h: TcpHeader, seq: number, flags: number, now: number): number {
  const len = h.payloadLength;
  const fin = (flags & TCP_FIN) !== 0;
  const segLen = len + (flags & TCP_SYN ? 1 : 0) + (fin ? 1 : 0);
  const wnd = Math.max(0, seqSub(c.rcvAdvRight, c.rcvNxt));
  const rn = c.rcvNxt;
  let acceptable: boolean;
  if (segLen === 0) {
    acceptable = wnd === 0 ? seq === rn : seqGe(seq, rn) && seqLt(seq, seqAdd(rn, wnd));
  } else if (wnd === 0) {
    acceptable = false;
  } else {
    const last = seqAdd(seq, segLen - 1);
    acceptable = (seqGe(seq, rn) && seqLt(seq, seqAdd(rn, wnd))) || (seqGe(last, rn) && seqLt(last, seqAdd(rn, wnd)));
  }
  if (acceptable) return SEQ_ACCEPT;
  const stats = c.layer.stats;
  // RFC 9293: with a zero window, valid ACKs (and RSTs) are still processed.
  if (wnd === 0 && seq === rn && !(flags & TCP_SYN)) {
    if (len > 0) stats.TcpExt.TCPZeroWindowDrop++;
    return SEQ_ZERO_WINDOW_ACK;
  }
  if (flags & TCP_RST) {
    stats.drop('tcp.rst-out-of-window');
    return SEQ_DROP;
  }
  stats.drop('tcp.out-of-window');
  if (fin && c.state === TcpState.TIME_WAIT) c.armTimeWait(now);
  if (len > 0 && seqLt(seq, rn)) {
    // Linux tcp_send_dupack: data received before — quick ACKs again, the old part reported as a D-SACK.
    enterQuickAck(c);
    const end = seqAdd(seq, len);
    setDsack(c, seq, seqGt(end, rn) ? rn : end);
  }
  // Linux tcp_oow_rate_limited (net.ipv4.tcp_invalid_ratelimit, 500 ms): a segment without data or SYN
  // (a window probe, a stray ACK) gets at most one duplicate ACK per 500 ms — no ACK loops.
  if (segLen === 0) {
    if (!oowAckAllowed(c.lastOowAck, now)) return SEQ_DROP;
    c.lastOowAck = now === 0 ? 1e-9 : now;
  }
  c.ackPending = true;
  c.wantOutput = true;
  c.layer.markDirty(c);
  return SEQ_DROP;
}

/** §3.10.7.4 second step, the RST bit (RFC 5961 §3.2): an exact match resets, any other in-window RST gets a challenge ACK. */
function rstArrives(c: Tcb, seq: number, now: number): void {
  if (seq !== c.rcvNxt) {
    challengeAck(c, now);
    return;
  }
  resetArrives(c);
}

/** §3.10.7.4 fourth step, the SYN bit: in a synchronized state a challenge ACK (RFC 5961 §4.2). */
function synArrives(c: Tcb, seq: number, flags: number, now: number): void {
  if (c.state === TcpState.SYN_RECEIVED && seq === c.irs && !(flags & TCP_ACK)) {
    // A retransmitted SYN for our simultaneous/passive open: answer with the SYN-ACK again.
    sendSyn(c, true, now);
    return;
  }
  challengeAck(c, now);
}

/**
 * §3.10.7.4 fifth step, the ACK field: a segment without ACK is dropped; in SYN-RECEIVED an acceptable ACK
 * establishes the connection (an unacceptable one gets a RST); then the ACK is processed (recovery.ts).
 * Returns false when the segment goes no further.
 */
function ackArrives(c: Tcb, h: TcpHeader, seq: number, flags: number, now: number): boolean {
  const stats = c.layer.stats;
  if (!(flags & TCP_ACK)) {
    stats.drop('tcp.no-ack');
    return false;
  }
  if (c.state === TcpState.SYN_RECEIVED) {
    if (seqLe(h.ack, c.sndUna) || seqGt(h.ack, c.sndMax)) {
      stats.drop('tcp.syn-recv-bad-ack');
      c.layer.sendRst(c.localAddr, c.localPort, c.remoteAddr, c.remotePort, h.ack, 0, false);
      return false;
    }
    establishFromSynReceived(c, h, seq, now);
    if ((c.state as number) === TcpState.CLOSED) return false;
  }
  if (!processAck(c, h, seq, now)) return false;
  return c.state !== TcpState.CLOSED;
}

/** RFC 7323 §4.3: TS.Recent takes the segment's TSval when SEG.SEQ <= Last.ACK.sent (and it is not older). */
function updateTsRecent(c: Tcb, h: TcpHeader, seq: number, now: number): void {
  if (c.tsOk && h.tsPresent && seqLe(seq, c.lastAckSent) && !seqLt(h.tsVal, c.tsRecent)) {
    c.tsRecent = h.tsVal;
    c.tsRecentStamp = now;
  }
}

/**
 * §3.10.7.4 seventh step, the segment text, and eighth, the FIN bit: data in ESTABLISHED and FIN-WAIT-1/2,
 * trimmed to the window we advertised, goes to the receive buffer; a FIN is noted (processed once everything
 * before it arrived). In the states after the peer's FIN a retransmitted FIN is ACKed again, and TIME-WAIT
 * restarts its 2·MSL.
 */
function textArrives(c: Tcb, h: TcpHeader, seq: number, flags: number, pkt: Uint8Array, payloadStart: number, now: number): void {
  let len = h.payloadLength;
  let fin = (flags & TCP_FIN) !== 0;
  if (len === 0 && !fin) return;
  const s = c.state;
  if (s === TcpState.ESTABLISHED || s === TcpState.FIN_WAIT_1 || s === TcpState.FIN_WAIT_2) {
    if (c.orphaned && len > 0 && c.finQueued) {
      // The application is gone and cannot read this: RST (Linux tcp_rcv_state_process, TCPAbortOnData).
      abortOnData(c, seq, h.ack, flags, h.payloadLength);
      return;
    }
    // Trim what lies beyond the window we advertised.
    const right = c.rcvAdvRight;
    const end = seqAdd(seq, len);
    if (seqGt(end, right)) {
      const cut = (end - right) | 0;
      len = Math.max(0, len - cut);
      fin = false;
    }
    // RFC 3168 §6.1.3: CWR ends our ECE echo, a CE mark starts it (the ACK goes at once).
    if (ecnSegmentArrives(c, h.flags, c.layer.rxIpEcn, len)) enterQuickAck(c, 2); // Linux tcp_enter_quickack_mode(sk, 2)
    if (len > 0) {
      if (c.cfg.rmemMax > c.rb.capacity) rcvRttMeasure(c, h, len, now);
      acceptData(c, seq, pkt, payloadStart, len, h.flags, h.headerLength, now);
    }
    if (fin) noteFin(c, seqAdd(h.seq, h.payloadLength), now);
  } else if (fin && (s === TcpState.CLOSE_WAIT || s === TcpState.CLOSING || s === TcpState.LAST_ACK || s === TcpState.TIME_WAIT)) {
    // Eighth, a retransmitted FIN: ACK again; TIME-WAIT restarts its 2·MSL.
    c.ackPending = true;
    c.wantOutput = true;
    c.layer.markDirty(c);
    if (s === TcpState.TIME_WAIT) c.armTimeWait(now);
  }
}

/** SYN-RECEIVED → ESTABLISHED on an acceptable ACK (§3.10.7.4 fifth step): the listener's accept queue, or the socket told. */
function establishFromSynReceived(c: Tcb, h: TcpHeader, seq: number, now: number): void {
  c.setState(TcpState.ESTABLISHED);
  if (c.accecn !== null) accEcnThirdAck(c, h);
  c.sndWnd = h.window << c.sndWscale;
  // Linux tcp_create_openreq_child: the largest window starts as the one this ACK offers (not the SYN's).
  c.maxSndWnd = c.sndWnd;
  c.sndWl1 = seq;
  c.sndWl2 = h.ack;
  if (c.synRetransmitted) c.rtt.fallBackAfterSynLoss();
  if (c.finQueued) c.setState(TcpState.FIN_WAIT_1);
  const l = c.listener;
  if (c.fastOpenQueue !== null) {
    // A Fast Open child is in the accept queue (or accepted) already; it leaves the Fast Open queue.
    c.leaveFastOpenQueue();
  } else if (l !== null) {
    c.layer.stats.Tcp.PassiveOpens++;
    l.established(c, now);
  } else {
    c.post(EV_CONNECTED);
  }
  if (c.keepalive) c.armKeepalive(now);
}

/** An acceptable RST (§3.10.7.4 second step): what it ends depends on the state. */
function resetArrives(c: Tcb): void {
  const s = c.state;
  switch (s) {
    case TcpState.SYN_RECEIVED:
      if (c.fastOpenQueue !== null) {
        // A Fast Open child is a socket already: reset like an established one (Linux tcp_reset).
        c.pendingError = ERRNO.ECONNRESET;
        terminate(c, new TcpError('ECONNRESET', 'read'));
      } else if (c.listener !== null) {
        // Passive open: back to LISTEN, i.e. this half-open connection vanishes.
        terminate(c, null);
      } else {
        c.pendingError = ERRNO.ECONNREFUSED;
        terminate(c, new TcpError('ECONNREFUSED', 'connect'));
      }
      return;
    case TcpState.ESTABLISHED:
    case TcpState.FIN_WAIT_1:
    case TcpState.FIN_WAIT_2:
    case TcpState.CLOSE_WAIT:
      c.pendingError = ERRNO.ECONNRESET;
      terminate(c, new TcpError('ECONNRESET', 'read'));
      return;
    default:
      // CLOSING, LAST-ACK, TIME-WAIT: just close (Linux kills TIME-WAIT on RST, tcp_rfc1337 = 0).
      terminate(c, null);
  }
}

/** A challenge ACK (RFC 5961 §3.2, §4.2), rate limited as Linux tcp_challenge_ack_limit (RFC 5961 §7). */
function challengeAck(c: Tcb, now: number): void {
  const stats = c.layer.stats;
  if (c.layer.allowChallengeAck(now)) {
    stats.TcpExt.TCPChallengeACK++;
    stats.drop('tcp.challenge-ack');
    c.ackPending = true;
    c.wantOutput = true;
    c.layer.markDirty(c);
  } else {
    stats.drop('tcp.challenge-ack-limited');
  }
}

/** In-order or out-of-order payload into the receive buffer; decides how soon to ACK. */
function acceptData(c: Tcb, seq: number, pkt: Uint8Array, off: number, len: number, flags: number, headerLength: number, now: number): void {
  const rb = c.rb;
  const stats = c.layer.stats;
  // Out-of-order data, or a FIN beyond a hole, waiting: filling the gap is ACKed at once (RFC 5681 §4.2).
  const hadGap = rb.rangeCount > 0 || (c.peerFinKnown && !c.finReceived);
  const before = rb.nxt;
  const r = rb.insert(seq, pkt, off, len);
  switch (r) {
    case 'in-order': {
      const adv = (rb.nxt - before) | 0;
      c.bytesReceived += adv;
      c.rcvNxt = rb.nxt;
      // A segment that began below RCV.NXT: its old head is reported as a D-SACK (RFC 2883 §4; Linux tcp_data_queue).
      if (seqLt(seq, before)) setDsack(c, seq, before);
      // Linux tcp_event_data_recv: measure the peer's segment size; the first data starts quick-ACK mode.
      // (Linux also re-arms quick ACKs for data after a silence longer than the RTO. Not modelled: in the
      // tcp-zero-window capture the transfer resuming after 4 s is ACKed every second segment from its first
      // one — the receiver took those segments from the socket backlog while the reader held the socket and
      // deferred the ACK (tcp_backlog_ack_defer); ACKing the first alone would misalign every later ACK.)
      measureRcvMss(c, len, flags, headerLength);
      if (!c.ackStarted) {
        c.ackStarted = true;
        incrQuick(c);
      }
      c.lrcvtime = now;
      c.ackScheduled = true;
      c.post(EV_DATA);
      if (hadGap) {
        // A gap filled (RFC 5681 §4.2: SHOULD ACK at once).
        ackNow(c);
      } else {
        c.ackCheck = true;
        c.layer.markDirty(c);
      }
      break;
    }
    case 'out-of-order':
      stats.TcpExt.TCPOFOQueue++;
      ackNow(c);
      break;
    case 'duplicate':
      // Received before: an ACK at once, the duplicate reported as a D-SACK (RFC 2883), quick ACKs again
      // (Linux tcp_data_queue: tcp_dsack_set + tcp_enter_quickack_mode).
      stats.drop('tcp.duplicate-data');
      setDsack(c, seq, seqAdd(seq, len));
      enterQuickAck(c);
      c.ackScheduled = true;
      c.ackCheck = true;
      c.layer.markDirty(c);
      break;
    case 'no-room':
      stats.TcpExt.TCPZeroWindowDrop++;
      stats.drop('tcp.rcvbuf-full');
      ackNow(c);
      break;
    case 'too-many-ranges':
      stats.TcpExt.TCPOFODrop++;
      stats.drop('tcp.ofo-drop');
      ackNow(c);
      break;
  }
  if (c.peerFinKnown && !c.finReceived && rb.nxt === c.peerFinSeq) processFin(c, now);
}

/** A FIN at sequence `finSeq`: processed now if everything before it arrived, else when the gap fills. */
function noteFin(c: Tcb, finSeq: number, now: number): void {
  if (c.finReceived) return;
  c.peerFinSeq = finSeq;
  c.peerFinKnown = true;
  if (c.rb.nxt === finSeq) processFin(c, now);
  else ackNow(c);
}

/** Eighth: the FIN bit (RFC 9293 §3.10.7.4). */
function processFin(c: Tcb, now: number): void {
  c.finReceived = true;
  c.rcvNxt = seqAdd(c.rb.nxt, 1);
  c.post(EV_EOF);
  switch (c.state) {
    case TcpState.SYN_RECEIVED:
    case TcpState.ESTABLISHED:
      // Linux tcp_fin: CLOSE-WAIT in interactive mode, so the ACK of the FIN is delayed and usually rides
      // on the application's answer or its own FIN (tcp-http-get and tcp-syn-cookies captures).
      c.setState(TcpState.CLOSE_WAIT);
      c.pingpong = true;
      c.ackScheduled = true;
      c.ackCheck = true;
      c.layer.markDirty(c);
      break;
    case TcpState.FIN_WAIT_1:
      ackNow(c);
      if (c.finQueued && seqGt(c.sndUna, c.finSeq)) enterTimeWait(c, now);
      else c.setState(TcpState.CLOSING);
      break;
    case TcpState.FIN_WAIT_2:
      ackNow(c);
      enterTimeWait(c, now);
      break;
    default:
      ackNow(c);
  }
}

/** Linux between(): lo ≤ v ≤ hi in 32-bit modular order. */
function tsBetween(v: number, lo: number, hi: number): boolean {
  return ((v - lo) >>> 0) <= ((hi - lo) >>> 0);
}
