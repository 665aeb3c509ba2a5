/**
 * The sender's side of an arriving ACK and loss recovery: ACK processing (RFC 9293 §3.10.7.4 fifth step, RFC
 * 5961 §5.2 limits, the SND.WL1/WL2 window update), RTT samples (RFC 7323 §4, Karn), fast retransmit and
 * NewReno (RFC 5681 §3.2, RFC 6582), SACK loss recovery (RFC 6675: pipe, NextSeg, the SACK scoreboard), lost
 * retransmissions, and tail loss probes (RFC 8985 §7).
 */
import { TCP_ACK, TCP_FIN, type TcpHeader } from '../wire/tcp.js';
import { expandSendBuffer } from './autotune.js';
import { enterTimeWait, terminate } from './close.js';
import { countRetrans, retransmitOne, sackOptionBytes, sendData } from './output.js';
import { dsackBytes, dsackCredible, rackEnabled, rackLeaveLossState, rackOnAck, rackPipe, rackRecoveryEnded, rackReoTimeout, rackRetransmit } from './rack.js';
import { prrBegin, prrEnd, prrOnAck } from './prr.js';
import { probeTimeout } from './rtt.js';
import { recordRoom } from './send-control.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from './seq.js';
import { undoBegin, undoOnAck } from './undo.js';
import { countDelivered } from './delivered.js';
import { cwndChanged } from './cwnd-events.js';
import { accEcnEchoed } from './accecn.js';
import { ecnCwrBecomesRecovery, ecnCwrEnds, ecnEchoed, ecnEnterCwr, ecnInCwr, ecnQueueCwr } from './ecn.js';
import { TcpState } from './state.js';
import { EV_WRITABLE, REC_NEWRENO, REC_NONE, REC_SACK, RTX_NONE, RTX_PERSIST, RTX_REO, RTX_RTO, RTX_TLP, type Tcb } from './tcb.js';
import { tsDiff } from './ts-clock.js';

/** Step five for synchronized states. Returns false when the segment must be dropped. */
export function processAck(c: Tcb, h: TcpHeader, seq: number, now: number): boolean {
  const stats = c.layer.stats;
  const ack = h.ack;
  if (seqGt(ack, c.sndMax)) {
    // ACK for data never sent (RFC 9293, RFC 5961 §5.2): ACK and drop.
    stats.drop('tcp.ack-unsent');
    c.ackPending = true;
    c.wantOutput = true;
    c.layer.markDirty(c);
    return false;
  }
  if (seqLt(ack, seqAdd(c.sndUna, -c.maxSndWnd))) {
    stats.drop('tcp.ack-too-old');
    c.ackPending = true;
    c.wantOutput = true;
    c.layer.markDirty(c);
    return false;
  }
  const newWnd = h.window << c.sndWscale;
  const rack = rackEnabled(c);
  const wasRecovering = c.recovery !== REC_NONE;
  const priorUna = c.sndUna;
  const priorSacked = c.scoreboard.sacked;
  const priorLostMarks = c.sent.lostMarks;
  const dsackRaw = c.sackOk ? dsackBytes(h) : 0;
  if (dsackRaw > 0) stats.TcpExt.TCPDSACKRecv++;
  const dsack = dsackCredible(c, dsackRaw);
  let sackNew = false;
  if (c.sackOk && h.sackCount > 0) {
    const blocks = h.sackBlocks;
    for (let i = 0; i < h.sackCount; i++) {
      if (c.scoreboard.add(blocks[2 * i]!, blocks[2 * i + 1]!, ack, c.sndMax)) sackNew = true;
    }
  }
  const oldWnd = c.sndWnd;
  // Congestion echoed: ECE (RFC 3168), or newly CE-marked segments in AccECN's ACE field (src/tcp/accecn.ts).
  const ece = c.accecn !== null ? accEcnEchoed(c, h, ack, c.scoreboard.sacked - priorSacked) : ecnEchoed(c, h.flags);
  if (seqGt(ack, c.sndUna)) {
    newAck(c, h, ack, now, ece);
    // An ACK that moves SND.UNA can still report loss: its SACK blocks cover DupThresh segments above a hole
    // (RFC 6675 §5: IsLost(SND.UNA); Linux tcp_fastretrans_alert runs for any ACK carrying SACK). A receiver
    // that acknowledges a coalesced batch at once sends no duplicate ACK to wait for.
    if (!rack && c.recovery === REC_NONE && sackNew && c.scoreboard.sacked >= 3 * c.smss && beyondRecoveryPoint(c) && c.sndMax !== c.sndUna) {
      enterRecovery(c, now, ece);
      c.wantOutput = true;
      c.layer.markDirty(c);
    }
  } else if (ack === c.sndUna) {
    const dup = c.sndMax !== c.sndUna && ((h.payloadLength === 0 && !(h.flags & TCP_FIN) && newWnd === oldWnd) || sackNew);
    if (dup) onDupAck(c, now, ece);
  }
  if (rack) rackAck(c, dsack, now, ece, h.tsPresent ? h.tsEcr : 0);
  else if (c.recovery === REC_SACK && sackNew && c.rtxInFlight.length > 0) markLostRetransmits(c, now);
  undoOnAck(c, h.tsPresent, h.tsEcr, dsack, h.sackBlocks[1]!, wasRecovering && c.recovery === REC_NONE, c.sndUna !== priorUna);
  rackLeaveLossState(c);
  // ECE with no loss to recover from: a window reduction (Linux tcp_fastretrans_alert → tcp_try_to_open).
  if (ece) ecnEnterCwr(c, now);
  // Delivered = newly acknowledged + newly SACKed (SACKed bytes now acknowledged leave the scoreboard and count once).
  const delivered = seqSub(c.sndUna, priorUna) + c.scoreboard.sacked - priorSacked;
  countDelivered(c, delivered, ece && c.accecn === null); // AccECN counts its CE-marked segments itself
  // PRR after loss detection, as Linux runs tcp_cong_control after tcp_fastretrans_alert: in SACK recovery and
  // in CWR (tcp_in_cwnd_reduction).
  if (c.recovery === REC_SACK || ecnInCwr(c)) {
    prrOnAck(c, delivered, pipe(c), c.sndUna !== priorUna, c.sent.lostMarks !== priorLostMarks);
  }
  // Window update (§3.10.7.4, SND.WL1/WL2 rule).
  if (seqLt(c.sndWl1, seq) || (c.sndWl1 === seq && seqLe(c.sndWl2, ack))) {
    c.sndWnd = newWnd;
    c.sndWl1 = seq;
    c.sndWl2 = ack;
    if (newWnd > c.maxSndWnd) c.maxSndWnd = newWnd;
    if (newWnd > oldWnd) {
      c.wantOutput = true;
      c.layer.markDirty(c);
      if (c.rtxMode === RTX_PERSIST && newWnd > 0) {
        c.layer.timers.disarm(c.rtxTimer);
        c.rtxMode = RTX_NONE;
        c.rtt.resetBackoff();
        c.retransmits = 0;
      }
    }
  }
  // State transitions driven by the ACK of our FIN.
  if (c.finQueued && seqGt(c.sndUna, c.finSeq)) {
    switch (c.state) {
      case TcpState.FIN_WAIT_1:
        c.setState(TcpState.FIN_WAIT_2);
        if (c.orphaned) c.armFinTimeout(now);
        break;
      case TcpState.CLOSING:
        enterTimeWait(c, now);
        return false;
      case TcpState.LAST_ACK:
        terminate(c, null);
        return false;
    }
  }
  return true;
}

/**
 * An ACK that moves SND.UNA: the buffer freed, an RTT sample, recovery or CWR advanced or left, the timer
 * restarted (RFC 6298 §5.2/5.3). `ece`: the ACK echoes congestion, so it does not grow the window (Linux
 * reduces it in tcp_fastretrans_alert before tcp_cong_control could grow it).
 */
function newAck(c: Tcb, h: TcpHeader, ack: number, now: number, ece: boolean): void {
  let acked = (ack - c.sndUna) | 0;
  // The SYN and FIN take sequence space but no buffer.
  let dataAcked = acked;
  if (c.synUnacked) {
    dataAcked--; // our SYN
    c.synUnacked = false;
  }
  if (c.finQueued && seqGt(ack, c.finSeq) && seqLe(c.sndUna, c.finSeq)) dataAcked--;
  if (dataAcked > 0) {
    c.sb.consume(dataAcked);
    c.bytesAcked += dataAcked;
  }
  c.sndUna = ack;
  if (seqLt(c.sndNxt, ack)) c.sndNxt = ack;
  ecnCwrEnds(c);
  c.scoreboard.advance(ack);
  // RTT: timestamps when present (RFC 7323 §4), else one timed segment (Karn). After a timeout or during
  // recovery the echoed TSval may be the original transmission's (the receiver does not take timestamps from
  // duplicates, RFC 7323 §5.3 R3), so such ACKs give no sample: Karn's rule applied to timestamps.
  if (c.tsOk && h.tsPresent && h.tsEcr !== 0) {
    if (c.retransmits === 0 && c.recovery === REC_NONE) c.rtt.sample(Math.max(0, tsDiff(c.tsNow(now), h.tsEcr)));
  } else if (c.rttTiming && seqGt(ack, c.rttSeq)) {
    c.rttTiming = false;
    c.rtt.sample(now - c.rttTime);
  }
  c.retransmits = 0;
  c.rtt.resetBackoff();
  if (c.recovery !== REC_NONE) {
    if (seqGe(ack, c.recover)) {
      // Full ACK: leave recovery (RFC 6582 §3.2 step 3; RFC 6675 §5).
      const prevCwnd = c.cwnd;
      c.recovery = REC_NONE;
      c.rtxInFlight.length = 0;
      c.cwnd = Math.max(c.ssthresh, c.smss); // Linux tcp_end_cwnd_reduction
      cwndChanged(c, 'recovery-end', prevCwnd, c.ssthresh);
      prrEnd(c);
      c.cc.onRecoveryEnd(c, now);
      c.dupAcks = 0;
      rackRecoveryEnded(c);
    } else if (c.recovery === REC_NEWRENO) {
      // Partial ACK: retransmit the next hole, deflate by the amount acked (RFC 6582 step 4).
      retransmitOne(c, c.sndUna, now);
      c.cwnd = Math.max(c.smss, c.cwnd - Math.max(0, dataAcked) + c.smss);
      c.armRtx(RTX_RTO, now + c.rtt.rto);
    } else {
      if (seqLt(c.rxtNext, ack)) c.rxtNext = ack;
    }
  } else {
    c.dupAcks = 0;
    // Linux tcp_cong_control: a window in reduction (CWR) does not grow.
    if (dataAcked > 0 && !ece && !ecnInCwr(c)) c.cc.onAck(c, dataAcked, now, c.rtt.srtt);
  }
  if (dataAcked > 0) {
    if (c.cfg.wmemMax > c.sb.capacity) expandSendBuffer(c);
    c.post(EV_WRITABLE);
  }
  c.wantOutput = true;
  c.layer.markDirty(c);
  if (c.tlpOut && seqGe(ack, c.tlpHighSeq)) c.tlpOut = false;
  // §5.2/5.3: restart the timer when data is outstanding, stop it when all is acknowledged.
  if (c.sndMax === c.sndUna) {
    if (c.rtxMode === RTX_RTO || c.rtxMode === RTX_TLP || c.rtxMode === RTX_REO) {
      c.layer.timers.disarm(c.rtxTimer);
      c.rtxMode = RTX_NONE;
    }
  } else if (c.rtxMode !== RTX_PERSIST) {
    armRtoOrProbe(c, now);
  }
}

/**
 * The cumulative ACK covers more than the last recovery's "recover", the highest sequence number sent when it
 * began (RFC 6582 §3.2 step 2; RFC 6675 §5: "beyond the last value of RecoveryPoint"): a new loss may start a new
 * recovery. `recover` holds SND.MAX of that moment — one past that highest octet — so SND.UNA equal to it already
 * covers it all: a segment lost right at the old recovery point is a new loss, not an RTO.
 */
function beyondRecoveryPoint(c: Tcb): boolean {
  return seqGe(c.sndUna, c.recover);
}

/** A duplicate ACK (RFC 5681 §2): the third — or SACKed data of three segments — starts recovery (§3.2, RFC 6675 §5); fewer allow limited transmit (RFC 3042); during NewReno recovery each inflates the window. */
function onDupAck(c: Tcb, now: number, ece: boolean): void {
  c.dupAcks++;
  if (c.recovery === REC_NONE) {
    const sackLoss = c.sackOk && c.scoreboard.sacked >= 3 * c.smss;
    // With RACK, time decides loss (rackAck), not the count of duplicates (Linux tcp_time_to_recover).
    if ((c.dupAcks >= 3 || sackLoss) && !rackEnabled(c)) {
      // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover` (not duplicates from the last episode).
      // After the first retransmission, NextSeg goes on as the pipe allows (RFC 6675 §5 step 4.3): with one
      // coalesced SACK for a whole flight there may be no further duplicate ACK to start it.
      if (beyondRecoveryPoint(c)) enterRecovery(c, now, ece);
      c.wantOutput = true;
      c.layer.markDirty(c);
    } else {
      // Limited transmit (RFC 3042): transmit() allows up to two extra segments.
      c.wantOutput = true;
      c.layer.markDirty(c);
    }
    return;
  }
  if (c.recovery === REC_NEWRENO) c.cwnd += c.smss; // window inflation (RFC 5681 §3.2 step 4)
  c.wantOutput = true;
  c.layer.markDirty(c);
}

/** Fast retransmit and the start of loss recovery: ssthresh from the congestion controller, SACK recovery (RFC 6675 §5 step 4) or NewReno (RFC 6582 §3.2 step 2), the first lost segment sent at once. */
function enterRecovery(c: Tcb, now: number, ece: boolean): void {
  const x = c.layer.stats.TcpExt;
  const flight = (c.sndMax - c.sndUna) | 0;
  const prevCwnd = c.cwnd;
  const prevSsthresh = c.ssthresh;
  // The cause: the loss probe's ACK revealed the loss (RFC 8985 §7), else RACK's or DupThresh's detection.
  const cause = c.tlpOut ? 'tlp' : rackEnabled(c) ? 'rack' : 'dupack';
  undoBegin(c, false);
  // Linux tcp_enter_recovery: a reduction already under way for ECE goes on (its ssthresh, its PRR counts).
  const fromCwr = ecnCwrBecomesRecovery(c);
  // ...and with it, or with ECE on this ACK, prior_ssthresh is 0: an undo gives nothing back — the network
  // signalled congestion, whatever the retransmissions prove (tcp_undo_cwnd_reduction).
  if (fromCwr || ece) {
    c.rack.priorCwnd = 0;
    c.rack.priorSsthresh = 0;
  }
  if (!fromCwr) {
    if (c.sackOk) prrBegin(c); // prior_cwnd before the controller cuts (Linux tcp_init_cwnd_reduction)
    c.ssthresh = c.cc.ssthreshOnLoss(c, flight, now);
    ecnQueueCwr(c); // Linux tcp_init_cwnd_reduction: the peer learns of our reduction (RFC 3168 §6.1.2)
  } else if (!c.sackOk) {
    prrEnd(c); // NewReno recovery here has no PRR
  }
  c.recover = c.sndMax;
  c.rttTiming = false;
  if (c.sackOk) {
    x.TCPSACKRecovery++;
    c.recovery = REC_SACK;
    c.cwnd = c.ssthresh;
    c.rxtNext = c.sndUna;
    if (rackEnabled(c)) {
      // The lost segments go out as PRR's cwnd (set by processAck for this ACK, at least one segment) allows.
      x.TCPFastRetrans++;
      c.wantOutput = true;
      c.layer.markDirty(c);
      c.armRtx(RTX_RTO, now + c.rtt.rto);
      cwndChanged(c, cause, prevCwnd, prevSsthresh);
      return;
    }
    // RFC 6675 §5 step 4.2: the first lost segment goes out regardless of pipe.
    const holeEnd = c.scoreboard.nextSackedStart(c.sndUna);
    const len = holeEnd === -1 ? c.smss : Math.min(c.smss, seqSub(holeEnd, c.sndUna));
    retransmitOne(c, c.sndUna, now, len);
    c.rtxInFlight.length = 0;
    c.rtxInFlight.push(c.sndUna, len, c.sndMax);
    c.rxtNext = seqAdd(c.sndUna, len);
  } else {
    x.TCPFastRetrans++;
    c.recovery = REC_NEWRENO;
    c.cwnd = c.ssthresh + 3 * c.smss;
    retransmitOne(c, c.sndUna, now);
  }
  if (c.sackOk) x.TCPFastRetrans++;
  c.armRtx(RTX_RTO, now + c.rtt.rto);
  cwndChanged(c, cause, prevCwnd, prevSsthresh);
}

/** RFC 6675 pipe: outstanding bytes not SACKed and not deemed lost (holes below the highest SACK not yet retransmitted). */
export function pipe(c: Tcb): number {
  if (rackEnabled(c) && !c.rack.lossState) return rackPipe(c);
  const sbd = c.scoreboard;
  const high = sbd.highest(c.sndUna);
  const from = seqLt(c.rxtNext, c.sndUna) ? c.sndUna : c.rxtNext;
  return seqSub(c.sndMax, c.sndUna) - sbd.sacked - sbd.holeBytes(from, high);
}

/**
 * RFC 6675 §5 NextSeg rule 1: retransmit holes below the highest SACK while pipe allows. Consecutive full
 * segments leave as one super-segment (as Linux retransmits a TSO skb whole, up to the congestion window):
 * the wire segments are the same, but a receiver refilling a 44-segment hole takes one packet, not 44.
 */
export function sackRetransmit(c: Tcb, now: number): number {
  if (rackEnabled(c)) return rackRetransmit(c, now);
  const sbd = c.scoreboard;
  const smss = c.smss - sackOptionBytes(c);
  const maxSegs = c.layer.tsoSegments(smss, c.remoteAddr);
  let bSeq = 0;
  let bLen = 0;
  let bSegs = 0;
  let n = 0;
  for (let guard = 0; guard < 10000; guard++) {
    if (c.cwnd - pipe(c) < c.smss) break;
    let s = seqLt(c.rxtNext, c.sndUna) ? c.sndUna : c.rxtNext;
    for (let e = sbd.sackedEnd(s); e !== -1; e = sbd.sackedEnd(s)) s = e;
    const high = sbd.highest(c.sndUna);
    if (!seqLt(s, high)) break;
    const holeEnd = sbd.nextSackedStart(s);
    const limit = holeEnd === -1 ? high : holeEnd;
    // MSG_EOR: a retransmission never spans a record's end either (Linux tcp_skb_can_collapse).
    const len = recordRoom(c, s, Math.min(smss, seqSub(limit, s)));
    if (len <= 0) break;
    const offset = (s - c.sndUna - (c.synUnacked ? 1 : 0)) | 0;
    const end = seqAdd(s, len);
    const plain = maxSegs > 1 && len === smss && offset + len < c.sb.length && !(c.finQueued && end === c.finSeq) && !(c.records !== null && c.records.endsAt(end));
    if (plain) {
      if (bLen > 0 && s !== seqAdd(bSeq, bLen)) {
        sendData(c, bSeq, bLen, TCP_ACK, now, smss);
        bLen = 0;
      }
      if (bLen === 0) {
        bSeq = s;
        bSegs = 0;
      }
      bLen += len;
      bSegs++;
      if (bSegs >= maxSegs) {
        sendData(c, bSeq, bLen, TCP_ACK, now, smss);
        bLen = 0;
      }
      countRetrans(c);
    } else {
      if (bLen > 0) {
        sendData(c, bSeq, bLen, TCP_ACK, now, smss);
        bLen = 0;
      }
      retransmitOne(c, s, now, len);
    }
    if (c.rtxInFlight.length < 3 * 256) c.rtxInFlight.push(s, len, c.sndMax);
    c.rxtNext = end;
    n++;
  }
  if (bLen > 0) sendData(c, bSeq, bLen, TCP_ACK, now, smss);
  return n;
}

/**
 * A retransmission still missing below data the receiver SACKed that was sent after it is lost: send it
 * again now (one recovery would otherwise end in an RTO — at 1% loss each way, most recoveries of a 20 MB
 * transfer lose a retransmission).
 */
function markLostRetransmits(c: Tcb, now: number): void {
  const q = c.rtxInFlight;
  const sbd = c.scoreboard;
  const high = sbd.highest(c.sndUna);
  let w = 0;
  for (let i = 0; i < q.length; i += 3) {
    const seq = q[i]!;
    const len = q[i + 1]!;
    const mark = q[i + 2]!;
    const end = seqAdd(seq, len);
    if (seqLe(end, c.sndUna) || sbd.sackedEnd(seq) !== -1) continue; // arrived
    if (seqGt(high, mark)) {
      c.layer.stats.TcpExt.TCPLostRetransmit++;
      retransmitOne(c, seq, now, len);
      q[w++] = seq;
      q[w++] = len;
      q[w++] = c.sndMax;
      continue;
    }
    q[w++] = seq;
    q[w++] = len;
    q[w++] = mark;
  }
  q.length = w;
}

/**
 * RACK's part of an ACK (rack.ts): delivered segments, the reordering window, loss marking. Loss found outside
 * recovery starts it (Linux tcp_time_to_recover: lost_out > 0); within, the lost segments go out as the pipe allows.
 */
function rackAck(c: Tcb, dsack: number, now: number, ece: boolean, tsEcr: number): void {
  rackOnAck(c, dsack, now, tsEcr);
  if (c.sent.lostPending > 0) {
    if (c.recovery === REC_NONE && !c.rack.lossState && beyondRecoveryPoint(c)) enterRecovery(c, now, ece);
    c.wantOutput = true;
    c.layer.markDirty(c);
  }
}

/** RACK's reordering timer fired (RFC 8985 §6.3): newly lost segments start recovery or go out in it; then the RTO runs again. */
export function reorderTimerFires(c: Tcb, now: number): void {
  if (c.sndMax === c.sndUna) return;
  if (rackReoTimeout(c, now)) {
    if (c.recovery === REC_NONE && !c.rack.lossState && beyondRecoveryPoint(c)) {
      enterRecovery(c, now, false);
      // Linux tcp_rack_reo_timeout: the timeout counts as one delivered segment for PRR.
      prrOnAck(c, c.smss, pipe(c), false, false);
    }
    c.wantOutput = true;
    c.layer.markDirty(c);
  }
  if (c.rtxMode === RTX_NONE) c.armRtx(RTX_RTO, now + c.rtt.rto);
}

/**
 * With data in flight: the tail loss probe timer when a probe may go (RFC 8985 §7.2: SACK on, not in loss
 * recovery, no probe outstanding, an RTT measured), else the RTO. The probe timeout: rtt.ts probeTimeout.
 */
export function armRtoOrProbe(c: Tcb, now: number): void {
  const rto = c.rtt.rto;
  if (c.cfg.tailLossProbe && c.sackOk && c.recovery === REC_NONE && !c.tlpOut && c.retransmits === 0 && c.rtt.hasSample) {
    const flight = (c.sndMax - c.sndUna) | 0;
    c.armRtx(RTX_TLP, now + probeTimeout(c.rtt.srtt, flight <= c.smss, c.cfg, rto));
    return;
  }
  c.armRtx(RTX_RTO, now + rto);
}

/**
 * The probe timeout fired (RFC 8985 §7.3; Linux tcp_send_loss_probe): a new segment when unsent data fits the
 * peer's window (the congestion window does not hold a probe back), else the most recent segment again — so
 * that a lost tail is reported by an ACK (and repaired by SACK recovery) rather than after an RTO. Then the RTO
 * runs.
 */
export function sendLossProbe(c: Tcb, now: number): void {
  if (c.sndMax === c.sndUna) return;
  c.layer.stats.TcpExt.TCPLossProbes++;
  if (probeWithNewData(c, now)) {
    c.tlpHighSeq = c.sndMax;
    c.tlpOut = true;
    c.armRtx(RTX_RTO, now + c.rtt.rto);
    return;
  }
  const finSent = c.finQueued && seqGt(c.sndMax, c.finSeq);
  const dataEnd = finSent ? c.finSeq : c.sndMax;
  const inFlight = Math.max(0, seqSub(dataEnd, seqAdd(c.sndUna, c.synUnacked ? 1 : 0)));
  const len = Math.min(c.smss - sackOptionBytes(c), inFlight);
  retransmitOne(c, seqAdd(dataEnd, -len), now, Math.max(len, 1));
  c.tlpHighSeq = c.sndMax;
  c.tlpOut = true;
  c.armRtx(RTX_RTO, now + c.rtt.rto);
}

/**
 * RFC 8985 §7.3 "If a previously unsent segment exists AND the receive window allows, send that segment"
 * (Linux tcp_send_loss_probe → tcp_write_xmit with Nagle off, one segment, cwnd not consulted): returns false
 * when there is none, or the whole next segment does not fit the peer's window (tcp_snd_wnd_test).
 */
function probeWithNewData(c: Tcb, now: number): boolean {
  if (c.sndNxt !== c.sndMax) return false; // go-back-N after an RTO is under way
  const offset = seqSub(c.sndMax, seqAdd(c.sndUna, c.synUnacked ? 1 : 0));
  const avail = c.sb.length - offset;
  if (avail <= 0) return false;
  const smss = c.smss - sackOptionBytes(c);
  const len = recordRoom(c, c.sndMax, Math.min(smss, avail));
  if (len <= 0) return false;
  const end = seqAdd(c.sndMax, len);
  if (seqGt(end, seqAdd(c.sndUna, c.sndWnd))) return false;
  const fin = c.finQueued && end === c.finSeq;
  sendData(c, c.sndMax, len, fin ? TCP_ACK | TCP_FIN : TCP_ACK, now, smss, true);
  c.sndNxt = c.sndMax = fin ? seqAdd(end, 1) : end;
  return true;
}
