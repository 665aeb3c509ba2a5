/**
 * The client side of TCP Fast Open (RFC 7413 §4.1), as Linux does it: with a cookie cached for the server the
 * SYN carries data (tcp_send_syn_data: as much as the cached MSS less 40 option bytes allows); without one it
 * asks for a cookie (an empty Fast Open option). A retransmitted SYN carries neither. The SYN-ACK updates the
 * cookie cache (tcp_rcv_fastopen_synack) and data it did not acknowledge is sent again at once. With
 * TCP_FASTOPEN_CONNECT and a cookie, connect() sends nothing: the SYN leaves with the first write.
 */
import { TCP_SYN, type TcpHeader } from '../wire/tcp.js';
import { receiveBufferCeiling, windowScaleFor } from './config.js';
import { SYN_DATA_OPTION_RESERVE, TFO_CLIENT_NO_COOKIE, type FastOpenCookieCache } from './fastopen.js';
import { TcpState } from './state.js';
import { RTX_RTO, type ActiveFastOpen, type Tcb } from './tcb.js';
import { RecordMarks } from './records.js';
import { seqAdd, seqSub } from './seq.js';

/** Linux tcp_fastopen_cookie_check: is there a cookie for this server (or is none needed)? Fills the option. */
function loadCookie(c: Tcb, cache: FastOpenCookieCache, fo: ActiveFastOpen): boolean {
  const e = cache.get(c.remoteAddr);
  const o = fo.option;
  if (c.cfg.fastOpen & TFO_CLIENT_NO_COOKIE) {
    o.len = -1;
    return true;
  }
  if (e !== undefined && e.cookieLen > 0) {
    o.cookie.set(e.cookie.subarray(0, e.cookieLen));
    o.len = e.cookieLen;
    o.exp = e.exp;
    return true;
  }
  // A cookie request; in the experimental form when the server ignored the RFC one (tcp_fastopen_cache_get, try_exp 1).
  o.len = 0;
  o.exp = e !== undefined && e.tryExp === 1;
  return false;
}

/** Bytes of data a SYN may carry (tcp_send_syn_data): the cached MSS (else ours), bounded by the path, less 40 option bytes. */
function synDataSpace(c: Tcb, cache: FastOpenCookieCache): number {
  const cached = cache.get(c.remoteAddr)?.mss ?? 0;
  const clamp = cached > 0 ? cached : c.advMss;
  return Math.max(0, Math.min(clamp, c.advMss, c.pmtuMss) - SYN_DATA_OPTION_RESERVE);
}

function newState(): ActiveFastOpen {
  return { option: { cookie: new Uint8Array(16), len: -1, exp: false }, synFastOpen: false, synFastOpenExp: false, synData: 0, synDataAcked: false, deferred: false };
}

/**
 * An active open with Fast Open (sendto(MSG_FASTOPEN) when `data` is given, TCP_FASTOPEN_CONNECT when not).
 * With data and a cookie, the SYN carries the first bytes of `data`: they are written to the send buffer and
 * their count returned; `takeAll` writes the rest too (a blocking sendto sends it once connected). Without
 * data and with a cookie, nothing is sent yet (deferred) and -1 is returned. Otherwise an ordinary SYN with a
 * cookie request goes out and 0 is returned.
 */
export function openActiveFastOpen(c: Tcb, cache: FastOpenCookieCache, data: Uint8Array | null, takeAll: boolean, now: number): number {
  const fo = newState();
  c.fastOpen = fo;
  c.iss = c.layer.isn(c.localAddr, c.localPort, c.remoteAddr, c.remotePort, now);
  c.sndUna = c.iss;
  c.sndNxt = c.iss;
  c.sndMax = c.iss;
  c.sndSml = c.iss;
  c.recover = c.iss;
  c.setState(TcpState.SYN_SENT);
  c.layer.stats.Tcp.ActiveOpens++;
  const haveCookie = loadCookie(c, cache, fo);
  if (haveCookie && data === null) {
    // Linux tcp_fastopen_defer_connect: connect() returns at once; the first write sends the SYN.
    fo.deferred = true;
    return -1;
  }
  let inSyn = 0;
  if (haveCookie && data !== null) {
    inSyn = Math.min(data.length, synDataSpace(c, cache));
    c.sb.write(data, 0, inSyn);
  }
  if (takeAll && data !== null && data.length > inSyn) c.sb.write(data, inSyn, data.length - inSyn);
  sendFastOpenSyn(c, inSyn, now);
  return inSyn;
}

/**
 * The first write after a deferred connect: the SYN with as much of the buffer as fits (tcp_sendmsg_fastopen).
 * `empty`: a write of no bytes still connects (the SYN with the cookie and no data).
 */
export function sendDeferredSyn(c: Tcb, cache: FastOpenCookieCache, now: number, empty = false): void {
  const fo = c.fastOpen;
  if (fo === null || !fo.deferred || (c.sb.length === 0 && !empty)) return;
  fo.deferred = false;
  sendFastOpenSyn(c, Math.min(c.sb.length, synDataSpace(c, cache)), now);
}

/** The bytes of the first write that ride in a deferred SYN. */
export function deferredSynSpace(c: Tcb, cache: FastOpenCookieCache): number {
  return synDataSpace(c, cache);
}

/** Linux tcp_syn_options + tcp_send_syn_data: our SYN options, the Fast Open option when it fits, `len` bytes of data. */
function sendFastOpenSyn(c: Tcb, len: number, now: number): void {
  const cfg = c.cfg;
  const fo = c.fastOpen!;
  const o = c.opts;
  o.mss = c.advMss;
  o.sack = undefined;
  o.sackCount = 0;
  o.wscale = cfg.windowScaling ? windowScaleFor(receiveBufferCeiling(cfg)) : undefined;
  o.sackPermitted = cfg.sack;
  if (cfg.timestamps) {
    c.tsPair.val = c.tsNow(now);
    c.tsPair.ecr = 0;
    o.ts = c.tsPair;
  } else o.ts = undefined;
  o.fastOpen = fo.option.len >= 0 ? fo.option : undefined;
  fo.synFastOpen = o.fastOpen !== undefined;
  fo.synFastOpenExp = fo.synFastOpen && fo.option.exp;
  fo.synData = len;
  const win = Math.min(c.rb.free, 0xffff);
  c.rcvWnd = win;
  c.layer.emit(c, c.iss, 0, TCP_SYN, win, o, 0, len);
  o.fastOpen = undefined;
  c.sndNxt = seqAdd(c.iss, 1 + len);
  c.sndMax = c.sndNxt;
  c.lastSend = now;
  c.rttTime = now;
  c.synSentAt = now;
  c.armRtx(RTX_RTO, now + c.rtt.rto);
}

/**
 * The SYN-ACK of a Fast Open attempt (Linux tcp_rcv_fastopen_synack), after SND.UNA took its ack: the cookie
 * cache learns the server's MSS and cookie; SYN data the SYN-ACK did not cover is sent again now (and the
 * attempt counted as failed), covered data leaves the send buffer.
 */
export function fastOpenSynAckArrives(c: Tcb, cache: FastOpenCookieCache, h: TcpHeader, now: number): void {
  const fo = c.fastOpen;
  if (fo === null) return;
  const x = c.layer.stats.TcpExt;
  const acked = Math.max(0, Math.min(fo.synData, seqSub(h.ack, seqAdd(c.iss, 1))));
  if (acked > 0) {
    c.sb.consume(acked);
    c.bytesAcked += acked;
  }
  const dataLeft = fo.synData > acked;
  let cookie: Uint8Array | null = null;
  let cookieLen = 0;
  let synDrop = false;
  let tryExp = 0;
  if (!fo.synFastOpen) {
    // An unsolicited cookie is ignored.
  } else {
    if (h.foLen > 0) {
      cookie = h.foCookie;
      cookieLen = h.foLen;
    }
    if (c.synRetransmitted) synDrop = h.foLen < 0 && dataLeft;
    else if (h.foLen < 0 && fo.synData === 0) tryExp = fo.synFastOpenExp ? 2 : 1;
  }
  cache.set(c.remoteAddr, h.mss, cookie, cookieLen, h.foExp, synDrop, tryExp, now);
  if (dataLeft) {
    // The rest of the SYN's data goes again at once (tcp_non_congestion_loss_retransmit), as the skb it was
    // queued in (tcp_send_syn_data): one segment of its own with PSH, never joined to the bytes written after.
    x.TCPFastOpenActiveFail++;
    c.sndNxt = c.sndUna;
    if (c.sb.length > fo.synData - acked) {
      if (c.records === null) c.records = new RecordMarks();
      c.records.insert(seqAdd(c.iss, 1 + fo.synData));
    }
    return;
  }
  if (fo.synData > 0) {
    fo.synDataAcked = true;
    x.TCPFastOpenActive++;
  }
  if (c.sb.length > 0) {
    // A write waits for the handshake (Linux sk_write_pending): the ACK is delayed to ride on that data, which
    // then goes out within the ACK timeout of the SYN-ACK — interactive mode (tcp_event_data_sent).
    c.ackStarted = true;
    c.pingpong = true;
  }
}
