/**
 * When to send an ACK: Linux's delayed-ACK engine (inet_connection_sock icsk_ack, tcp_input.c) on top of RFC
 * 1122 §4.2.3.2 — quick ACKs at the start, an ACK for every second full segment when the window would not
 * shrink, else the delayed-ACK timer; interactive (pingpong) mode where ACKs ride on replies; D-SACK reports
 * (RFC 2883); the peer's segment size as the receiver measures it; the ACK a read that opened the window owes.
 */
import { TCP_FIN, TCP_PSH, TCP_SYN, TCP_URG } from '../wire/tcp.js';
import { rcvSpaceAdjust } from './autotune.js';
import { selectWindow } from './rcv-window.js';
import { TcpState } from './state.js';
import type { Tcb } from './tcb.js';
import { seqSub } from './seq.js';

/**
 * Linux tcp_cleanup_rbuf, after the application consumed `copied` bytes: ACK now if a once-per-two-segments
 * ACK is still owed, or if the window we could offer now is non-zero and at least twice the one the peer has.
 */
export function cleanupRbuf(c: Tcb, copied: number): void {
  if (copied <= 0 || c.state === TcpState.CLOSED) return;
  if (c.cfg.rmemMax > c.rb.capacity) rcvSpaceAdjust(c, copied, c.layer.now());
  let timeToAck = c.ackScheduled && seqSub(c.rcvNxt, c.lastAckSent) > c.rcvMss;
  // ... or if this read emptied the receive queue after the end of a write arrived (a small segment), and the
  // connection is not interactive (or two ends of writes came): the sender may be holding its next segment for
  // this ACK (Nagle's algorithm, RFC 896/1122 §4.2.3.4) and no reply will carry it.
  if (!timeToAck && c.ackScheduled && (c.ackPushed2 || (c.ackPushed && !c.pingpong)) && c.unread === 0 && c.rb.rangeCount === 0) {
    timeToAck = true;
  }
  if (!timeToAck && !c.finReceived) {
    const cur = Math.max(0, seqSub(c.rcvAdvRight, c.rcvNxt));
    if (2 * cur <= c.windowClamp) {
      const next = selectWindow(c);
      if (next > 0 && next >= 2 * cur) timeToAck = true;
    }
  }
  if (timeToAck) {
    c.ackPending = true;
    c.requestOutput();
  }
}

/**
 * Linux __tcp_ack_snd_check, once per batch after the application was told about the data: ACK now when
 * more than one full segment is unacknowledged and the window would not shrink by it (RFC 1122 §4.2.3.2:
 * every second full segment), in quick-ACK mode, or when something asked for it (ICSK_ACK_NOW: a gap
 * filled, a duplicate); otherwise the delayed-ACK timer (40 ms), whose ACK may ride on a reply first.
 */
export function ackSndCheck(c: Tcb, now: number): void {
  if (!c.ackScheduled || c.ackPending) return;
  // The window is computed first: under memory pressure it ends quick-ACK mode (as __tcp_select_window).
  if ((seqSub(c.rcvNxt, c.lastAckSent) > c.rcvMss && selectWindow(c) >= c.rcvWnd) || inQuickAckMode(c)) {
    ackNow(c);
  } else if (!c.delackTimer.armed) {
    c.layer.timers.arm(c.delackTimer, now + delackTimeout(c, now));
  }
}

/**
 * Linux tcp_send_delayed_ack: the timer runs for the ACK timeout, icsk_ack.ato — 0 until the first data arrives
 * (inet_csk_delack_init; tcp_event_data_recv sets TCP_ATO_MIN), so a bare FIN on a connection that never
 * carried data is ACKed at the next tick (captured: 1–5 ms), not after 40 ms — or rides on the application's
 * answer if it comes within that tick.
 */
function delackTimeout(c: Tcb, now: number): number {
  if (c.ackStarted) return c.cfg.delayedAckMs;
  const tick = c.cfg.tickMs;
  return tick - (now % tick);
}

/** Linux tcp_in_quickack_mode: quick ACKs left and not interactive. */
function inQuickAckMode(c: Tcb): boolean {
  return c.quick > 0 && !c.pingpong;
}

/**
 * Linux tcp_incr_quickack: at most rcv_wnd / (2·rcv_mss) quick ACKs (2 when the window is smaller than two
 * segments), at most `quickAcks` (TCP_MAX_QUICKACKS, 16) — a small window gets few, so the sender's
 * ACK clock is every second segment almost at once.
 */
export function incrQuick(c: Tcb, max = c.cfg.quickAcks): void {
  let q = Math.floor(c.rcvWnd / (2 * c.rcvMss));
  if (q === 0) q = 2;
  q = Math.min(q, max);
  if (q > c.quick) c.quick = q;
}

/** Linux tcp_enter_quickack_mode (duplicate or out-of-window data): quick ACKs again, interactive mode off. */
export function enterQuickAck(c: Tcb, max = c.cfg.quickAcks): void {
  incrQuick(c, max);
  c.pingpong = false;
}

/**
 * Linux tcp_measure_rcv_mss: the peer's segment size from full-sized segments (a super-segment counts as full
 * sized); a short segment marks the end of a write (ICSK_ACK_PUSHED, a second one ICSK_ACK_PUSHED2), unless it
 * looks like the peer's real segment size (at least 536 bytes with the header, or 88 without PSH/URG/FIN/SYN:
 * the same size twice running becomes the segment size).
 */
export function measureRcvMss(c: Tcb, len: number, flags: number, headerLength: number): void {
  if (len >= c.rcvMss) {
    c.rcvMss = Math.min(len, c.advMss);
    if (flags & TCP_PSH) c.ackPushed = true;
    return;
  }
  // The segment with its header, less the header every segment has (20 bytes, 32 with timestamps): SACK
  // blocks do not make a segment look short.
  const withHeader = len + headerLength;
  if (withHeader >= 536 + 20 || (withHeader >= 88 + 20 && (flags & (TCP_FIN | TCP_URG | TCP_SYN | TCP_PSH)) === 0)) {
    const size = withHeader - (c.tsOk ? 32 : 20);
    const last = c.lastSegSize;
    c.lastSegSize = size;
    if (size === last) {
      c.rcvMss = size;
      return;
    }
  }
  if (c.ackPushed) c.ackPushed2 = true;
  c.ackPushed = true;
}

/** RFC 2883: report [start, end) as the first SACK block of the next segment (Linux tcp_dsack_set, tcp_dsack = 1). */
export function setDsack(c: Tcb, start: number, end: number): void {
  if (!c.sackOk) return;
  c.dsackOn = true;
  c.dsackStart = start;
  c.dsackEnd = end;
}

/** An ACK in this egress pass (ICSK_ACK_NOW). */
export function ackNow(c: Tcb): void {
  c.ackScheduled = true;
  c.ackPending = true;
  c.wantOutput = true;
  c.layer.markDirty(c);
}

/** Bookkeeping after every segment that carried an ACK (Linux tcp_event_ack_sent): Last.ACK.sent, one quick ACK used, the pushed marks and the delayed-ACK timer cleared. */
export function ackSent(c: Tcb): void {
  c.lastAckSent = c.rcvNxt;
  c.ackPending = false;
  // Linux tcp_event_ack_sent → tcp_dec_quickack_mode: each ACK of new data (pure or riding on data) uses one quick ACK.
  if (c.ackScheduled) {
    c.ackScheduled = false;
    if (c.quick > 0) c.quick--;
  }
  c.ackPushed = false;
  c.ackPushed2 = false;
  if (c.delackTimer.armed) c.layer.timers.disarm(c.delackTimer);
}
