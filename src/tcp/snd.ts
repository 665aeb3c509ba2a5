/**
 * The send side: transmit what the windows allow — the congestion window (RFC 5681, limited transmit RFC
 * 3042, restart after idle §4.1), the peer's window with sender SWS avoidance (RFC 9293 §3.8.6.2.1), Nagle in
 * Minshall's form (RFC 896, RFC 1122 §4.2.3.4), consecutive full segments as one TSO super-segment — and the
 * persist timer's window probes (RFC 9293 §3.8.6.1).
 */
import { cwndChanged } from './cwnd-events.js';
import { TCP_ACK, TCP_FIN, TCP_PSH } from '../wire/tcp.js';
import { abort } from './close.js';
import { sendDeferredSyn } from './fastopen-active.js';
import { inMarkedTail } from './write-queue.js';
import { countRetrans, sackOptionBytes, sendAck, sendData, sendProbe } from './output.js';
import { pacingHolds } from './pacing.js';
import { rackEnabled } from './rack.js';
import { armRtoOrProbe, pipe, sackRetransmit } from './recovery.js';
import { holdsLastPartial, pushDone, recordRoom } from './send-control.js';
import { cwndQuotaSegs, forcedPush, oneSegmentBuffers as oneSegmentBuffersFor, tsoAutosizeSegs } from './push.js';
import { seqAdd, seqGt, seqLe, seqLt, seqSub } from './seq.js';
import { TcpState } from './state.js';
import { REC_NONE, REC_SACK, RTX_NONE, RTX_PERSIST, RTX_REO, RTX_RTO, RTX_TLP, type Tcb } from './tcb.js';
import { clampProbeToUserTimeout, probesTimedOut } from './user-timeout.js';

/**
 * Linux tcp_mss_split_point sends the partial segment at the window's edge with a unit (captured); off for now:
 * with it the 1 MiB memory-link transfer (test/unit/tcp-socket.test.ts) retransmits once — cause not found yet.
 */
const FILL_WINDOW_EDGE = false;

/** Sends what the windows allow, then a pure ACK if one is still owed; arms the RTO / persist timer. */
export function transmit(c: Tcb, now: number): void {
  const s = c.state;
  if (s === TcpState.CLOSED || s === TcpState.LISTEN) return;
  if (s === TcpState.SYN_SENT) {
    // TCP_FASTOPEN_CONNECT: the deferred SYN leaves with the first data written.
    if (c.fastOpen !== null && c.fastOpen.deferred) sendDeferredSyn(c, c.layer.fastOpen.cache, now);
    return;
  }
  // A passive Fast Open child may send data before the handshake completes (RFC 7413 §4.2.2; Linux tcp_passive_fastopen).
  if (s === TcpState.SYN_RECEIVED && c.fastOpenQueue === null) {
    // RFC 9293 §3.10.7.4: an unacceptable segment here is answered with a plain ACK (the SYN-ACK is the timer's job).
    if (c.ackPending) sendAck(c, now);
    return;
  }
  if (s === TcpState.FIN_WAIT_2 || s === TcpState.TIME_WAIT) {
    if (c.ackPending) sendAck(c, now);
    return;
  }
  const sb = c.sb;
  const smss = c.smss - sackOptionBytes(c);
  let sent = 0;
  // RFC 5681 §4.1: restart from the initial window after an idle period longer than the RTO.
  if (c.sndMax === c.sndUna && sb.length > 0 && c.lastSend > 0 && now - c.lastSend > c.rtt.rto) {
    const iw = c.cfg.initialCwnd * smss;
    if (c.cwnd > iw) {
      const prevCwnd = c.cwnd;
      c.cwnd = iw;
      cwndChanged(c, 'idle-restart', prevCwnd, c.ssthresh);
    }
  }
  if (c.records !== null) c.records.acked(c.sndUna);
  // Retransmissions wait for their departure time as new data does (Linux tcp_xmit_retransmit_queue).
  if (c.recovery === REC_SACK && !pacingHolds(c, now)) sent += sackRetransmit(c, now);
  // New data leaves in Linux's units (push.ts): at most uMax segments each; with TSO a unit is one
  // super-segment [bSeq, bSeq + bLen) cut at smss, without it the burst is flushed every segment. The last
  // segment waits until the next one shows whether the unit ends there, which decides its PSH.
  const emitMax = c.layer.tsoSegments(smss, c.remoteAddr);
  const oneSegmentBuffers = oneSegmentBuffersFor(c, smss);
  let bSeq = 0;
  let bLen = 0;
  let bFlags = 0;
  let bSegs = 0;
  let uSegs = 0;
  let uMax = 1;
  let uNew = false;
  let uFlight = 0;
  let uAutoCut = false;
  let windowStop = false;
  const flush = (): void => {
    sendData(c, bSeq, bLen, bFlags, now, smss, uNew);
    bLen = 0;
  };
  // The unit ends: PSH on its last segment when new data was `cut` there from more by the unit size or the
  // peer's window (Linux 6.18), or, with one-segment buffers, when forced_push marks it; any PSH of new data
  // moves pushed_seq. A unit the congestion window ends gets none (the capture tcp-1mb-transfer).
  const endUnit = (cut: boolean): void => {
    const e = seqAdd(bSeq, bLen);
    if (uNew && bLen > 0) {
      // A write with MSG_MORE (c.morePending) asks for no PSH, cut or not (send-control.ts).
      if (oneSegmentBuffers ? forcedPush(c, e) : (cut || inMarkedTail(c, e)) && !c.morePending) bFlags |= TCP_PSH;
      if (bFlags & TCP_PSH) c.pushedSeq = e;
    }
    flush();
    uSegs = 0;
  };
  for (let guard = 0; guard < 100000; guard++) {
    // Go-back-N after an RTO: skip what the receiver SACKed.
    if (seqLt(c.sndNxt, c.sndMax) && c.sackOk && !c.scoreboard.empty) {
      const e = c.scoreboard.sackedEnd(c.sndNxt);
      if (e !== -1) c.sndNxt = seqLt(e, c.sndMax) ? e : c.sndMax;
    }
    const offset = (c.sndNxt - c.sndUna - (c.synUnacked ? 1 : 0)) | 0;
    const avail = sb.length - offset;
    const finHere = c.finQueued && c.sndNxt === c.finSeq;
    if (avail <= 0 && !finHere) break;
    // RACK on: in flight is what is neither SACKed nor lost, in recovery or not (Linux tcp_packets_in_flight).
    const flight = c.recovery === REC_SACK || (rackEnabled(c) && !c.rack.lossState) ? pipe(c) : (c.sndNxt - c.sndUna) | 0;
    let cwnd = c.cwnd;
    if (c.recovery === REC_NONE && c.dupAcks > 0 && c.dupAcks < 3) cwnd += c.dupAcks * smss; // limited transmit
    const cwndRoom = cwnd - flight;
    const wndRoom = (c.sndUna + c.sndWnd - c.sndNxt) | 0;
    // Each comparison runs every time (no short circuit): one that had never run before, on the first send the
    // peer's window limited, deoptimized the whole of transmit mid-download (~100 ms to compile it again).
    const underSegment = wndRoom < smss;
    const underAvail = wndRoom < avail;
    const withinCwnd = wndRoom <= cwndRoom;
    windowStop = underSegment && underAvail && withinCwnd;
    if (avail <= 0) {
      // A bare FIN (it needs no window, but respects cwnd like Linux).
      if (cwndRoom <= 0 && flight > 0) break;
      if (bLen > 0) endUnit(false);
      sendData(c, c.sndNxt, 0, TCP_FIN | TCP_ACK, now);
      c.sndNxt = seqAdd(c.sndNxt, 1);
      if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt;
      sent++;
      break;
    }
    // MSG_EOR: a segment ends at its record's end (send-control.ts); `room` is what this segment may take.
    const room = recordRoom(c, c.sndNxt, avail);
    const len = Math.min(smss, room, wndRoom, cwndRoom);
    if (len <= 0) break;
    // Linux tcp_mss_split_point: a unit that began with a full segment runs up to the window's edge, a partial
    // segment included, unless Nagle would hold it (a small segment unacknowledged while data was in flight).
    const fillsWindow =
      FILL_WINDOW_EDGE &&
      len === wndRoom && len < smss && len < room && uSegs > 0 && uSegs < uMax && uNew && !seqLt(c.sndNxt, c.sndMax) &&
      (c.nodelay || uFlight === 0 || !(seqGt(c.sndSml, c.sndUna) && seqLe(c.sndSml, c.sndNxt)));
    if (len < smss && len < room && !fillsWindow) {
      // Window- or cwnd-limited partial segment: sender SWS avoidance (RFC 9293 §3.8.6.2.1). Every comparison
      // runs each time, for the reason given at windowStop.
      const cwndLimited = cwndRoom < wndRoom;
      const inFlight = flight > 0;
      const underHalfWindow = len < (c.maxSndWnd >> 1);
      const persisting = c.rtxMode === RTX_PERSIST;
      const idle = flight === 0 && !persisting;
      if (cwndLimited && inFlight) break;
      if (underHalfWindow && inFlight) break;
      if (underHalfWindow && idle) break;
    }
    const retrans = seqLt(c.sndNxt, c.sndMax);
    // Nagle (RFC 896) in Minshall's form, as Linux (tcp_nagle_check / tcp_minshall_check): the last, partial
    // segment waits only while an earlier partial segment is unacknowledged — not behind full ones.
    if (!retrans && len === avail && len < smss && !c.nodelay && !c.pushOnce && !c.wakeup && flight > 0 && !c.finQueued && seqGt(c.sndSml, c.sndUna) && seqLe(c.sndSml, c.sndNxt)) break;
    // TCP_CORK / MSG_MORE hold the last partial segment (Linux tcp_nagle_check with TCP_NAGLE_CORK); a FIN goes.
    if (!retrans && len === avail && len < smss && !c.finQueued && holdsLastPartial(c)) break;
    let flags = TCP_ACK;
    // PSH where a write marked it (Linux tcp_mark_push; not after MSG_MORE), at a record's end, and on a wakeup.
    const recordEnd = len === room && room < avail;
    if ((len === avail && !c.morePending) || recordEnd || c.wakeup) flags |= TCP_PSH;
    const end = seqAdd(c.sndNxt, len);
    if (!retrans && len < smss) c.sndSml = end; // Linux tcp_minshall_update
    if (c.finQueued && end === c.finSeq) flags |= TCP_FIN;
    if (bLen > 0) {
      if (c.sndNxt !== seqAdd(bSeq, bLen) || uSegs >= uMax || retrans === uNew) endUnit(uSegs >= uMax && uAutoCut);
      else if (bSegs >= emitMax) flush();
    }
    if (uSegs === 0) {
      // A new unit leaves at its departure time (pacing.ts; Linux tcp_write_xmit → tcp_pacing_check).
      if (pacingHolds(c, now)) break;
      // A new unit: Linux tcp_write_xmit's limit, min(tcp_tso_autosize, tcp_cwnd_test).
      uNew = !retrans;
      uFlight = flight;
      // Cut by the unit size tcp_tso_autosize gives → PSH. Units the congestion window cuts (half of it, or what
      // is left) get none here: Linux marks its half-window units too, but its units follow every ACK's cwnd
      // growth and ours a batch's, so marking them put PSH where the tcp-1mb-transfer capture has none.
      const auto = tsoAutosizeSegs(c, smss, flight);
      const quota = cwndQuotaSegs(c, smss, flight);
      uAutoCut = auto <= quota;
      uMax = oneSegmentBuffers ? 1 : Math.min(auto, quota);
    }
    if (bLen === 0) {
      bSeq = c.sndNxt;
      bFlags = 0;
      bSegs = 0;
    }
    bLen += len;
    bFlags |= flags;
    bSegs++;
    uSegs++;
    // A short segment, the FIN or a record's end (MSG_EOR: never coalesced with what follows) ends the unit.
    if (len !== smss || flags & TCP_FIN || recordEnd) endUnit(fillsWindow);
    if (retrans) countRetrans(c);
    else if (!c.rttTiming && !c.tsOk) {
      c.rttTiming = true;
      c.rttSeq = c.sndNxt;
      c.rttTime = now;
    }
    c.sndNxt = flags & TCP_FIN ? seqAdd(end, 1) : end;
    if (seqGt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt;
    sent++;
  }
  // The loop stopped: a unit the peer's window ended is cut (PSH), one the congestion window ended is not.
  if (bLen > 0) endUnit(windowStop || (uSegs >= uMax && uAutoCut));
  pushDone(c);
  if (c.ackPending) sendAck(c, now);
  // Timers.
  if (c.sndMax !== c.sndUna) {
    // New data re-arms the probe (Linux tcp_schedule_loss_probe after tcp_write_xmit); the RTO is not restarted.
    if ((c.rtxMode !== RTX_RTO && c.rtxMode !== RTX_TLP && c.rtxMode !== RTX_REO) || (sent > 0 && c.rtxMode === RTX_TLP)) armRtoOrProbe(c, now);
  } else if (c.rtxMode === RTX_RTO || c.rtxMode === RTX_TLP || c.rtxMode === RTX_REO) {
    c.layer.timers.disarm(c.rtxTimer);
    c.rtxMode = RTX_NONE;
  }
  const unsent = sb.length - seqSub(c.sndNxt, seqAdd(c.sndUna, c.synUnacked ? 1 : 0));
  if ((unsent > 0 || (c.finQueued && c.sndNxt === c.finSeq)) && c.sndMax === c.sndUna && c.rtxMode === RTX_NONE) {
    // Nothing in flight and nothing allowed out: the persist timer probes the window (RFC 9293 §3.8.6.1).
    c.armRtx(RTX_PERSIST, now + c.rtt.rto);
  }
}

/** The persist timer fired (RFC 9293 §3.8.6.1): against a zero window a probe (SEQ = SND.UNA − 1) with backoff; an open but too small window gets what fits (the SWS override, §3.8.6.2.1). */
export function persistTimerFires(c: Tcb, now: number): void {
  const s = c.state;
  if (s === TcpState.CLOSED || s === TcpState.TIME_WAIT) return;
  const offset = (c.sndNxt - c.sndUna) | 0;
  const unsent = c.sb.length - offset;
  if (unsent <= 0 && !(c.finQueued && c.sndNxt === c.finSeq)) return;
  if (c.sndMax !== c.sndUna) return;
  c.layer.stats.TcpExt.TCPWinProbe++;
  if (c.sndWnd > 0) {
    // The window is open but too small for the SWS rule: send what fits (the override timeout).
    c.rtxMode = RTX_PERSIST;
    // Linux tcp_write_wakeup: what waits goes out regardless of cork and Nagle, with PSH.
    c.wakeup = true;
    transmit(c, now);
    c.wakeup = false;
    if (c.sndMax !== c.sndUna) return;
  }
  // Linux tcp_probe_timer: probes left unanswered that long (retries2 of them, or the user timeout) mean the peer is gone.
  if (probesTimedOut(c, now) || c.probesOut >= c.cfg.retries2) {
    c.layer.stats.TcpExt.TCPAbortOnTimeout++;
    abort(c, c.softError ?? 'ETIMEDOUT', now);
    return;
  }
  sendProbe(c, now);
  c.probesOut++;
  c.rtt.backOff();
  c.armRtx(RTX_PERSIST, now + clampProbeToUserTimeout(c, c.rtt.rto, now));
}
