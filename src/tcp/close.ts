/**
 * Closing a connection: the application's close and shutdown (RFC 9293 §3.10.4), resets and aborts (§3.10.5),
 * the end of a connection (its timers off, out of the tables, the socket told), and TIME-WAIT (§3.6.1): entered
 * here, then retired to a small TimeWaitEntry once its last ACK went out.
 */
import { TCP_ACK, TCP_FIN } from '../wire/tcp.js';
import { ERRNO, TcpError, type TcpErrorCode } from './errors.js';
import { sendActiveReset } from './output.js';
import { TcpState } from './state.js';
import { EV_CLOSED, RTX_NONE, type Tcb } from './tcb.js';
import { pacingStop } from './pacing.js';
import { TimeWaitEntry } from './time-wait.js';
import { seqAdd, seqSub } from './seq.js';

/** shutdown(SHUT_WR): a FIN after the data written so far. */
export function shutdownWrite(c: Tcb): void {
  if (c.finQueued) return;
  const s = c.state;
  if (s === TcpState.CLOSED || s === TcpState.LISTEN) return;
  c.finQueued = true;
  c.finSeq = seqAdd(c.sndUna, (c.synUnacked ? 1 : 0) + c.sb.length);
  if (s === TcpState.ESTABLISHED) c.setState(TcpState.FIN_WAIT_1);
  else if (s === TcpState.CLOSE_WAIT) c.setState(TcpState.LAST_ACK);
  // SYN-SENT / SYN-RECEIVED: the FIN goes out once established (RFC 9293 §3.10.4).
  c.requestOutput();
}

/**
 * close(2): the application is done. Unread data → RST (RFC 2525 §2.17,
 * as Linux); otherwise a FIN after the unsent data and the connection
 * finishes on its own.
 */
export function closeByApplication(c: Tcb, now: number): void {
  if (c.orphaned) return;
  c.orphaned = true;
  c.user = null;
  const s = c.state;
  if (s === TcpState.CLOSED || s === TcpState.TIME_WAIT) return;
  if (s === TcpState.SYN_SENT) {
    terminate(c, null);
    return;
  }
  if (c.rb.length > 0 || c.unreadAtClose) {
    c.layer.stats.TcpExt.TCPAbortOnData++;
    resetByApplication(c, now);
    return;
  }
  shutdownWrite(c);
  if (c.state === TcpState.FIN_WAIT_2) c.armFinTimeout(now);
}

/**
 * Data arrived for a connection the application closed (Linux tcp_rcv_state_process in FIN-WAIT-1/2 after
 * RCV_SHUTDOWN, TCPAbortOnData; RFC 1122 §4.2.2.13): the connection is reset (tcp_reset) and the segment
 * answered as one for no connection (tcp_v4_send_reset, RFC 9293 §3.10.7.1): with an ACK in it, RST with
 * SEQ = SEG.ACK; without, RST+ACK with ACK = SEG.SEQ + SEG.LEN.
 */
export function abortOnData(c: Tcb, segSeq: number, segAck: number, flags: number, segLen: number): void {
  c.layer.stats.TcpExt.TCPAbortOnData++;
  if (flags & TCP_ACK) c.layer.sendRst(c.localAddr, c.localPort, c.remoteAddr, c.remotePort, segAck, 0, false);
  else c.layer.sendRst(c.localAddr, c.localPort, c.remoteAddr, c.remotePort, 0, seqAdd(segSeq, segLen + (flags & TCP_FIN ? 1 : 0)), true);
  c.user = null;
  terminate(c, null);
}

/** Abortive close: RST now (when synchronized), resources freed. */
export function resetByApplication(c: Tcb, now: number): void {
  const s = c.state;
  if (s === TcpState.CLOSED) return;
  if (s !== TcpState.SYN_SENT && s !== TcpState.TIME_WAIT && s !== TcpState.LISTEN) {
    sendActiveReset(c, now);
  }
  c.user = null;
  terminate(c, null);
}

/** TIME-WAIT (RFC 9293 §3.6.1): buffers and timers released, the socket told, 2·MSL armed; retired to a small record by the egress pass. */
export function enterTimeWait(c: Tcb, now: number): void {
  c.setState(TcpState.TIME_WAIT);
  // Nothing more to send, and what was received is the application's: no ring needed for 2·MSL.
  c.sb.release();
  c.rb.release();
  const t = c.layer.timers;
  t.disarm(c.rtxTimer);
  t.disarm(c.keepTimer);
  t.disarm(c.delackTimer);
  pacingStop(c);
  c.rtxMode = RTX_NONE;
  c.post(EV_CLOSED);
  // Retired to a TimeWaitEntry by the egress pass, after the ACK of the peer's FIN went out.
  c.layer.markDirty(c);
  c.armTimeWait(now);
}

/**
 * The egress pass has sent what TIME-WAIT owed: the pair goes on as a small record (Linux tcp_time_wait) and
 * this object leaves the tables.
 */
export function retireToTimeWait(c: Tcb, now: number): void {
  const t = c.layer.timers;
  t.disarm(c.waitTimer);
  if (c.listener !== null) {
    c.listener.forget(c);
    c.listener = null;
  }
  const e = new TimeWaitEntry(
    c.localAddr,
    c.localPort,
    c.remoteAddr,
    c.remotePort,
    c.sndMax,
    c.rcvNxt,
    Math.max(0, seqSub(c.rcvAdvRight, c.rcvNxt)) >> c.rcvWscale,
    c.tsOk,
    c.tsRecent,
    c.tsRecentStamp,
    c.tsOffset,
  );
  // Not a state change anyone sees: the pair stays in TIME-WAIT, only its representation changes.
  c.layer.timeWaitConnections--;
  c.state = TcpState.CLOSED;
  c.ackPending = false;
  c.wantOutput = false;
  c.layer.retireToTimeWait(c, e, now);
}

/** Ends the connection: timers off, out of the tables, the user told (with `err`, null for an orderly end). */
export function terminate(c: Tcb, err: TcpError | null): void {
  const s = c.state;
  if (s === TcpState.CLOSED && !c.hashed) return;
  const stats = c.layer.stats;
  // Linux tcp_done / tcp_set_state(TCP_CLOSE).
  if (s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED) stats.Tcp.AttemptFails++;
  if (s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT) stats.Tcp.EstabResets++;
  c.leaveFastOpenQueue();
  c.setState(TcpState.CLOSED);
  const t = c.layer.timers;
  t.disarm(c.rtxTimer);
  t.disarm(c.delackTimer);
  t.disarm(c.keepTimer);
  t.disarm(c.waitTimer);
  pacingStop(c);
  c.rtxMode = RTX_NONE;
  c.layer.unhash(c);
  c.sb.release(); // both kept while they hold bytes (unsent data, or data the application has yet to read)
  c.rb.release();
  // Linux tcp_done: a child not yet accepted that dies of an error (reset, timeout) stays in the accept queue
  // in TCP_CLOSE — accept() returns it, its data stays readable, then the error (inet_csk_accept takes any).
  const stillQueued = err !== null && c.listener !== null && c.listener.holds(c);
  if (c.listener !== null && !stillQueued) {
    c.listener.forget(c);
    c.listener = null;
  }
  c.closeError = err;
  c.ackPending = false;
  c.wantOutput = false;
  if (c.user !== null || stillQueued) c.post(EV_CLOSED);
}

/** RST to the peer and ECONNRESET-like end for the socket (stack shutdown after the grace period). */
export function abortWithReset(c: Tcb, now: number): void {
  const s = c.state;
  if (s === TcpState.CLOSED || s === TcpState.TIME_WAIT) return;
  if (s !== TcpState.SYN_SENT && s !== TcpState.LISTEN) sendActiveReset(c, now);
  c.pendingError = ERRNO.ECONNABORTED;
  terminate(c, new TcpError('ECONNABORTED', 'read'));
}

/** The stack is closing: the connection ends without a packet and the socket is destroyed without an error. */
export function shutdownSilently(c: Tcb): void {
  const u = c.user;
  c.user = null;
  terminate(c, null);
  u?.onStackClosed();
}

/** The socket above went away before the connection ended; with `err` the user sees it. */
export function abort(c: Tcb, code: TcpErrorCode, now: number): void {
  const s = c.state;
  if (s === TcpState.CLOSED) return;
  c.pendingError = ERRNO[code];
  const e = new TcpError(code, s === TcpState.SYN_SENT ? 'connect' : 'read');
  terminate(c, e);
}
