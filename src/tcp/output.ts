/**
 * Building and emitting one segment of a connection: the options of each segment (timestamps, SACK and D-SACK
 * blocks), the SYN and SYN-ACK, data segments (one super-segment for TSO), pure ACKs, zero-window and
 * keepalive probes, and single retransmissions. Every segment leaves through the layer's `emit`.
 */
import { TCP_ACK, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpOptions } from '../wire/tcp.js';
import { ackSent } from './ack-engine.js';
import { ECN_OK, ecnSegment, ecnSynFlags } from './ecn.js';
import { accEcnOn, accEcnSegment, accEcnSynAck, accEcnSynFlags } from './accecn.js';
import { fillAccEcnOption } from './accecn-option.js';
import { receiveBufferCeiling, windowScaleFor } from './config.js';
import { pacingSent } from './pacing.js';
import { prrSent } from './prr.js';
import { windowField } from './rcv-window.js';
import { recordRoom } from './send-control.js';
import { seqAdd, seqGt, seqLe, seqLt, seqSub } from './seq.js';
import type { Tcb } from './tcb.js';
import { undoCountRetrans } from './undo.js';

/** The options of a non-SYN segment, in the one reused object: timestamps (RFC 7323 §3), and with `withSack` the SACK blocks (RFC 2018 §4), a D-SACK first (RFC 2883). */
function fillOptions(c: Tcb, now: number, withSack: boolean): TcpOptions {
  const o = c.opts;
  o.mss = undefined;
  o.wscale = undefined;
  o.sackPermitted = false;
  o.ts = undefined;
  o.sack = undefined;
  o.sackCount = 0;
  if (c.tsOk) {
    c.tsPair.val = c.tsNow(now);
    c.tsPair.ecr = c.tsRecent;
    o.ts = c.tsPair;
  }
  if (withSack && c.sackOk && (c.rb.rangeCount > 0 || c.dsackOn)) {
    const max = c.tsOk ? 3 : 4;
    const out = c.sackOut;
    let n = 0;
    if (c.dsackOn) {
      // RFC 2883 §4: the D-SACK block first, once, then the usual blocks (Linux tcp_options_write).
      c.dsackOn = false;
      out[0] = c.dsackStart;
      out[1] = c.dsackEnd;
      n = 1;
      const k = c.rb.sackBlocks(c.sackTmp, max - 1);
      for (let i = 0; i < 2 * k; i++) out[2 + i] = c.sackTmp[i]!;
      n += k;
    } else {
      n = c.rb.sackBlocks(out, max);
    }
    o.sack = out;
    o.sackCount = n;
  }
  // The AccECN option after the SACK blocks are chosen (Linux tcp_established_options); it may take a block's room.
  o.accecn = undefined;
  if (c.accecn !== null && accEcnOn(c)) fillAccEcnOption(c.accecn, o, c.cfg.ecnOption, c.cfg.ecnOptionBeacon, c.rtt.srtt, now, true);
  return o;
}

/** The ECN of a non-SYN segment: AccECN's ACE and ECT on every segment, or classic ECN's rules (flags | IP ECN << 16). */
function segmentEcn(c: Tcb, len: number, isNew: boolean, flags: number): number {
  return c.accecn !== null ? accEcnSegment(c, flags) : ecnSegment(c, len, isNew, flags);
}

/** SYN (active open) or SYN-ACK (simultaneous open / retransmission in SYN-RECEIVED). */
export function sendSyn(c: Tcb, withAck: boolean, now: number): void {
  const cfg = c.cfg;
  const o = c.opts;
  o.mss = c.advMss;
  o.sack = undefined;
  o.sackCount = 0;
  if (withAck) {
    o.wscale = c.wsOk ? c.rcvWscale : undefined;
    o.sackPermitted = c.sackOk;
    if (c.tsOk) {
      c.tsPair.val = c.tsNow(now);
      c.tsPair.ecr = c.tsRecent;
      o.ts = c.tsPair;
    } else o.ts = undefined;
  } else {
    o.wscale = cfg.windowScaling ? windowScaleFor(receiveBufferCeiling(cfg)) : undefined;
    o.sackPermitted = cfg.sack;
    if (cfg.timestamps) {
      c.tsPair.val = c.tsNow(now);
      c.tsPair.ecr = 0;
      o.ts = c.tsPair;
    } else o.ts = undefined;
  }
  const win = Math.min(c.rb.free, 0xffff);
  c.rcvWnd = win;
  if (withAck) c.rcvAdvRight = seqAdd(c.rcvNxt, win);
  // ECN (RFC 3168 §6.1.1): ECE|CWR on our SYN when we ask, ECE on the SYN-ACK when we agreed (Linux tcp_ecn_send_syn, tcp_ecn_make_synack);
  // AccECN (RFC 9768 §3.1): AE|CWR|ECE on our SYN, the SYN's ECN field echoed on the SYN-ACK (src/tcp/accecn.ts).
  o.accecn = undefined;
  let ecn: number;
  if (withAck) ecn = accEcnOn(c) ? accEcnSynAck(cfg, o, c.accecn!.opt, c.accecn!.synEctRcv, c.synRetransmitted ? 1 : undefined) & ~(TCP_SYN | TCP_ACK) : c.ecnFlags & ECN_OK ? TCP_ECE : 0;
  else ecn = cfg.ecn === 3 ? accEcnSynFlags(c, c.synRetransmitted) : ecnSynFlags(c, c.synRetransmitted);
  c.layer.emit(c, c.iss, withAck ? c.rcvNxt : 0, (withAck ? TCP_SYN | TCP_ACK : TCP_SYN) | ecn, win, o, 0, 0);
  if (seqLe(c.sndMax, c.iss)) {
    c.sndNxt = seqAdd(c.iss, 1);
    c.sndMax = c.sndNxt;
  }
  c.lastSend = now;
}

/** Counts one retransmitted segment (Tcp.RetransSegs); the RTT timing in progress is void (Karn). */
export function countRetrans(c: Tcb): void {
  c.retransTotal++;
  c.layer.stats.Tcp.RetransSegs++;
  c.rttTiming = false;
  undoCountRetrans(c);
  if (c.layer.probe.active) c.layer.probe.retransmitted(c);
}

/** Option bytes the SACK blocks we would send now take (a full segment must shrink by as much, like Linux's tcp_current_mss). */
export function sackOptionBytes(c: Tcb): number {
  const n = c.sackOk ? c.rb.rangeCount + (c.dsackOn ? 1 : 0) : 0;
  const sack = n === 0 ? 0 : 4 + 8 * Math.min(n, c.tsOk ? 3 : 4);
  if (c.accecn === null || !accEcnOn(c)) return sack;
  // Linux tcp_current_mss sizes the header with tcp_established_options: the AccECN option shrinks segments too.
  const o = sizingOpts;
  o.ts = c.tsOk ? c.tsPair : undefined;
  o.sack = n > 0 ? c.sackOut : undefined;
  o.sackCount = Math.min(n, c.tsOk ? 3 : 4);
  const extra = fillAccEcnOption(c.accecn, o, c.cfg.ecnOption, c.cfg.ecnOptionBeacon, c.rtt.srtt, c.layer.now(), false);
  const blocks = o.sackCount;
  return (blocks > 0 ? 4 + 8 * blocks : 0) + extra;
}
/** Scratch options for sizing only (never emitted). */
const sizingOpts: TcpOptions = {};

/** Retransmits one segment at `seq` (at most `max` bytes, default one MSS). */
export function retransmitOne(c: Tcb, seq: number, now: number, max = c.smss): void {
  max = Math.min(max, c.smss - sackOptionBytes(c));
  const base = c.synUnacked ? 1 : 0;
  const offset = (seq - c.sndUna - base) | 0;
  let len = Math.min(max, c.sb.length - offset, seqSub(c.sndMax, seq));
  let flags = TCP_ACK;
  if (len < 0) len = 0;
  if (len > 0) len = recordRoom(c, seq, len); // MSG_EOR: never across a record's end (tcp_skb_can_collapse)
  const end = seqAdd(seq, len);
  if (c.finQueued && end === c.finSeq && seqGt(c.sndMax, c.finSeq)) flags |= TCP_FIN;
  if (len === 0 && !(flags & TCP_FIN)) return;
  if (len > 0 && (offset + len === c.sb.length || (c.records !== null && c.records.endsAt(end)))) flags |= TCP_PSH;
  sendData(c, seq, len, flags, now);
  countRetrans(c);
}

/**
 * Emits a data (or FIN) segment with the current ACK and window; above `gsoSize` bytes a super-segment cut at
 * it. `isNew`: data never sent before (ECN marks only that, Linux tcp_ecn_send).
 */
export function sendData(c: Tcb, seq: number, len: number, flags: number, now: number, gsoSize = 0, isNew = !seqLt(seq, c.sndMax)): void {
  const o = fillOptions(c, now, true);
  const base = c.synUnacked ? 1 : 0;
  const offset = (seq - c.sndUna - base) | 0;
  const marked = segmentEcn(c, len, isNew, flags);
  c.layer.emit(c, seq, c.rcvNxt, marked & 0xffff, windowField(c), o, offset, len, gsoSize, marked >>> 16);
  if (len > 0 && c.sackOk) c.sent.recordSend(seq, len, gsoSize, now); // per-segment send times (RFC 8985 §5.2)
  c.bytesSent += len;
  if (len > 0) {
    prrSent(c, len);
    // Every data segment moves the departure time on, retransmissions too (Linux tcp_transmit_skb).
    pacingSent(c, len, Math.ceil(len / c.smss), (c.sndMax - c.sndUna) | 0, now);
  }
  c.lastSend = now;
  // Linux tcp_event_data_sent: data sent within the delayed-ACK time of the last data received is an answer —
  // interactive (pingpong) mode: the next request's ACK waits for the answer to ride on.
  if (len > 0 && c.ackStarted && now - c.lrcvtime < c.cfg.delayedAckMs) c.pingpong = true;
  ackSent(c);
}

/** A pure ACK (with SACK blocks for what we hold out of order). */
export function sendAck(c: Tcb, now: number): void {
  const o = fillOptions(c, now, true);
  // SEQ = the highest sequence sent, not a SND.NXT pulled back by go-back-N: a pure ACK must stay acceptable
  // to the peer, whose RCV.NXT may already be past our retransmission point (Linux tcp_acceptable_seq).
  const marked = segmentEcn(c, 0, false, TCP_ACK); // AccECN: ECT on pure ACKs too
  c.layer.emit(c, c.sndMax, c.rcvNxt, marked & 0xffff, windowField(c), o, 0, 0, 0, marked >>> 16);
  ackSent(c);
}

/**
 * The RST that ends a synchronized connection from our side (abortive close, keepalive or stack shutdown):
 * Linux tcp_send_active_reset builds it on the socket, so it carries the connection's options (a fresh
 * TSval, TSecr = TS.Recent) and its window, with SEQ = SND.NXT and ACK = RCV.NXT.
 */
export function sendActiveReset(c: Tcb, now: number): void {
  const o = fillOptions(c, now, false);
  c.layer.emit(c, c.sndMax, c.rcvNxt, TCP_RST | TCP_ACK, windowField(c), o, 0, 0);
}

/** Zero-length probe with SEQ = SND.UNA − 1 (Linux tcp_xmit_probe_skb): the peer must answer with an ACK. */
export function sendProbe(c: Tcb, now: number): void {
  const o = fillOptions(c, now, false);
  const marked = segmentEcn(c, 0, false, TCP_ACK);
  c.layer.emit(c, seqAdd(c.sndUna, -1), c.rcvNxt, marked & 0xffff, windowField(c), o, 0, 0, 0, marked >>> 16);
  ackSent(c);
}
