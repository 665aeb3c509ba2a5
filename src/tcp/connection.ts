/**
 * One TCP connection: the transmission control block (src/tcp/tcb.ts) with the entry points the rest of the
 * stack calls — the layer (a segment arrives, an ICMP error, the egress pass, the timers), the listener (the
 * passive open) and the socket above (write, read, shutdown, close, options). Each entry point hands over to
 * the module of its concern (see tcb.ts for the map).
 *
 * Input never sends directly: it records what is owed (an ACK now, a delayed ACK, room to send) and marks the
 * connection dirty; the layer's egress pass (once per input batch, or per timer run, or on a microtask after
 * an application call) delivers events to the socket and then transmits — so the ACKs for a batch of segments
 * are coalesced into one.
 */
import { deferredSynSpace, sendDeferredSyn } from './fastopen-active.js';
import type { TcpHeader } from '../wire/tcp.js';
import { ackSndCheck, cleanupRbuf } from './ack-engine.js';
import { abort, abortWithReset, closeByApplication, resetByApplication, retireToTimeWait, shutdownSilently, shutdownWrite, terminate } from './close.js';
import type { TcpError, TcpErrorCode } from './errors.js';
import { icmpErrorArrives } from './icmp-errors.js';
import { openActive, openPassive } from './open.js';
import { sendAck } from './output.js';
import { maxPacingRate, setMaxPacingRate } from './pacing.js';
import { segmentArrives } from './rcv.js';
import { lowatWriteLimit } from './write-queue.js';
import { queueWrite, setCork, setNoDelay, setSendBufferSize, unsentBelowLowat, unsentBytes } from './send-control.js';
import { seqGt } from './seq.js';
import { transmit } from './snd.js';
import { READ_CHUNK } from './tunables.js';
import { successorIsnAfter } from './time-wait.js';
import { TcpState, type ConnectionUser, type PassiveOpen } from './state.js';
import { EV_CLOSED, EV_CONNECTED, EV_DATA, EV_EOF, EV_WRITABLE, Tcb } from './tcb.js';
import { delackTimerFires, keepaliveTimerFires, rtxTimerFires, waitTimerFires } from './timers.js';

export class TcpConnection extends Tcb {
  // ---------------------------------------------------------------- opening and closing (open.ts, close.ts)

  /** Active open (RFC 9293 §3.10.1): CLOSED → SYN-SENT, SYN sent. */
  openActive(now: number): void {
    openActive(this, now);
  }

  /** Passive open from a SYN-queue entry or a validated cookie: SYN-RECEIVED, its final ACK about to be processed. */
  openPassive(p: PassiveOpen, now: number): void {
    openPassive(this, p, now);
  }

  /** shutdown(SHUT_WR): a FIN after the data written so far. */
  shutdownWrite(): void {
    shutdownWrite(this);
  }

  /** close(2): the application is done (unread data → RST, else a FIN after the unsent data). */
  close(now: number): void {
    closeByApplication(this, now);
  }

  /** Abortive close: RST now (when synchronized), resources freed. */
  reset(now: number): void {
    resetByApplication(this, now);
  }

  /** Ends the connection: timers off, out of the tables, the user told. */
  terminate(err: TcpError | null): void {
    terminate(this, err);
  }

  /** RST to the peer and ECONNABORTED for the socket (stack shutdown after the grace period). */
  abortWithReset(now: number): void {
    abortWithReset(this, now);
  }

  /** The stack is closing: the connection ends without a packet and the socket is destroyed without an error. */
  shutdownSilently(): void {
    shutdownSilently(this);
  }

  /** The socket above went away before the connection ended; the user sees `code`. */
  abort(code: TcpErrorCode, now: number): void {
    abort(this, code, now);
  }

  // ---------------------------------------------------------------- from the layer

  /** A segment for this connection (rcv.ts). `pkt[payloadStart, +h.payloadLength)` is the payload. */
  segmentArrives(h: TcpHeader, pkt: Uint8Array, payloadStart: number, now: number): void {
    segmentArrives(this, h, pkt, payloadStart, now);
  }

  /** An ICMP error quoting one of our segments with sequence `seq` (icmp-errors.ts). */
  icmpError(type: number, code: number, info: number, seq: number, now: number): void {
    icmpErrorArrives(this, type, code, info, seq, now);
  }

  /** Sends what the windows allow, then a pure ACK if one is still owed (snd.ts). */
  transmit(now: number): void {
    transmit(this, now);
  }

  /** A pure ACK now (output.ts). */
  sendAck(now: number): void {
    sendAck(this, now);
  }

  protected rtxTimerFires(now: number): void {
    rtxTimerFires(this, now);
  }

  protected delackTimerFires(now: number): void {
    delackTimerFires(this, now);
  }

  protected keepaliveTimerFires(now: number): void {
    keepaliveTimerFires(this, now);
  }

  protected waitTimerFires(now: number): void {
    waitTimerFires(this, now);
  }

  // ---------------------------------------------------------------- application calls

  /** Copies up to `len` bytes in; returns how many fit. `flags`: WRITE_MORE / WRITE_EOR (send-control.ts), applied once all `len` are in. */
  write(src: Uint8Array, off: number, len: number, flags = 0): number {
    if (this.finQueued || this.state === TcpState.CLOSED || this.state === TcpState.TIME_WAIT) return 0;
    // TCP_NOTSENT_LOWAT stops the copy at a buffer boundary (write-queue.ts); a cut write is a partial one.
    const take = lowatWriteLimit(this, len);
    const n = take < len ? queueWrite(this, src, off, take, 0) : queueWrite(this, src, off, len, flags);
    if (n < take) this.writeTailSeq = -1;
    if (n > 0) this.requestOutput();
    return n;
  }

  /** Bytes the deferred Fast Open SYN can carry (Linux tcp_send_syn_data's size), 0 without a deferred connect. */
  get deferredSynRoom(): number {
    return this.fastOpen !== null && this.fastOpen.deferred ? deferredSynSpace(this, this.layer.fastOpen.cache) : 0;
  }

  /** A write of no bytes after a deferred Fast Open connect: the SYN goes now, without data (tcp_sendmsg_fastopen). */
  connectDeferredNow(now: number): void {
    if (this.state === TcpState.SYN_SENT) sendDeferredSyn(this, this.layer.fastOpen.cache, now, true);
  }

  /** The socket above held bytes it never read: close() must treat them as unread data. */
  discardUnread(): void {
    this.unreadAtClose = true;
  }

  /** The application takes up to `max` in-order bytes (recvmsg); an ACK follows when the read opened the window a lot. */
  read(max = READ_CHUNK): Buffer | null {
    const b = this.rb.read(max);
    if (b === null) return null;
    cleanupRbuf(this, b.length);
    return b;
  }

  /** The application takes up to `max` in-order bytes and drops them uncopied (recv with MSG_TRUNC); returns how many. */
  skip(max = Number.MAX_SAFE_INTEGER): number {
    const n = this.rb.skip(max);
    if (n > 0) cleanupRbuf(this, n);
    return n;
  }

  /**
   * Moves up to `max` in-order bytes to a buffer of the socket above (a stream's), where they still count as
   * unread until `appConsumed` says the application took them.
   */
  readToApp(max = READ_CHUNK): Buffer | null {
    const b = this.rb.read(max);
    if (b !== null) this.appBuffered += b.length;
    return b;
  }

  /** The socket above now holds `buffered` bytes the application has not consumed (it consumed the rest). */
  appConsumed(buffered: number): void {
    const copied = this.appBuffered - buffered;
    if (copied <= 0) return;
    this.appBuffered = buffered;
    cleanupRbuf(this, copied);
  }

  setNoDelay(on: boolean): void {
    setNoDelay(this, on);
    if (on) this.requestOutput();
  }

  /** TCP_CORK: hold partial segments while on; pulling it pushes what waits. */
  setCork(on: boolean): void {
    setCork(this, on);
    if (!on) this.requestOutput();
  }

  /** A write sleeps until the unsent bytes drop under TCP_NOTSENT_LOWAT (sk_stream_wait_memory). */
  lowatWaiter = false;

  /** TCP_NOTSENT_LOWAT of this connection (0: the stack's tcp_notsent_lowat). */
  setNotSentLowat(bytes: number): void {
    this.notSentLowat = bytes;
  }

  /** SO_SNDBUF: the send buffer's size from now on (no autotuning). */
  setSendBufferSize(bytes: number): void {
    setSendBufferSize(this, bytes);
    this.requestOutput();
  }

  /** Bytes written but not sent yet. */
  get unsent(): number {
    return unsentBytes(this);
  }

  /** Writable for poll(2) (POLLOUT): unsent bytes below half the TCP_NOTSENT_LOWAT in force (tcp_stream_memory_free, wake). */
  get belowNotSentLowat(): boolean {
    return unsentBelowLowat(this, true);
  }

  setKeepAlive(on: boolean, idleMs: number | undefined, now: number): void {
    this.keepalive = on;
    if (idleMs !== undefined && idleMs > 0) this.keepIdleMs = idleMs;
    if (on) this.armKeepalive(now);
    else this.layer.timers.disarm(this.keepTimer);
  }

  /** TCP_USER_TIMEOUT in ms (0: off); the timers read it when they fire (user-timeout.ts). */
  setUserTimeout(ms: number): void {
    this.userTimeoutMs = ms;
  }

  /** SO_MAX_PACING_RATE in bytes per second (pacing.ts). */
  setMaxPacingRate(bytesPerSecond: number): void {
    setMaxPacingRate(this, bytesPerSecond);
  }

  /** getsockopt(SO_MAX_PACING_RATE). */
  get maxPacingRate(): number {
    return maxPacingRate(this);
  }

  /** SO_ERROR: the pending error's errno (0 for none), cleared by the read. */
  takeError(): number {
    const e = this.pendingError;
    this.pendingError = 0;
    return e;
  }

  /** The egress pass: tell the user what happened, then transmit what is owed. */
  service(now: number): void {
    const u = this.user;
    const ev = this.events;
    if (u === null) {
      // Not accepted yet: keep the events for the socket that will attach; an orphan has nobody to tell.
      if (this.orphaned) this.events = 0;
    } else if (ev !== 0) {
      this.events = 0;
      try {
        if (ev & EV_CONNECTED) u.onConnected();
        // Only an answer to arriving data is held back; a writer refilling on 'drain' goes out at once.
        this.inUserCallback = true;
        if (ev & EV_DATA && this.user) this.user.onData();
        if (ev & EV_EOF && this.user) this.user.onEof();
        this.inUserCallback = false;
        if (ev & EV_WRITABLE && this.user) this.user.onWritable();
        if (ev & EV_CLOSED && this.user) {
          const e = this.closeError;
          this.user = null;
          u.onClosed(e);
        }
      } finally {
        this.inUserCallback = false;
      }
    }
    if (this.state === TcpState.CLOSED) return;
    if (this.outputDeferred) {
      this.outputDeferred = false;
      this.layer.deferToKick(this);
      return;
    }
    if (this.ackCheck) {
      this.ackCheck = false;
      ackSndCheck(this, now);
    }
    if (this.wantOutput || this.ackPending) {
      this.wantOutput = false;
      transmit(this, now);
    }
    // Linux tcp_data_snd_check → tcp_check_space: after sending, a writer asleep on TCP_NOTSENT_LOWAT wakes
    // once twice the unsent bytes are below the mark.
    if (this.lowatWaiter && unsentBelowLowat(this, true)) {
      this.lowatWaiter = false;
      this.post(EV_WRITABLE);
      this.layer.kick();
    }
    if (this.state === TcpState.TIME_WAIT && this.user === null) retireToTimeWait(this, now);
  }

  /** Attaches the socket that will receive events (accept(), or connect()). */
  attach(u: ConnectionUser): void {
    this.user = u;
    if (this.events !== 0) {
      this.layer.markDirty(this);
      this.layer.kick();
    }
  }

  /** TIME-WAIT: may a new SYN reuse this 4-tuple (Linux tcp_timewait_state_process)? */
  acceptsNewSyn(h: TcpHeader): boolean {
    if (this.state !== TcpState.TIME_WAIT) return false;
    if (this.tsOk && h.tsPresent) return seqGt(h.tsVal, this.tsRecent) || (h.tsVal === this.tsRecent && seqGt(h.seq, this.rcvNxt));
    return seqGt(h.seq, this.rcvNxt);
  }

  /** An ISN for a new incarnation of this 4-tuple above everything this one sent. */
  get successorIsn(): number {
    return successorIsnAfter(this.sndMax);
  }
}
