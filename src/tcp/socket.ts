/**
 * TcpSocket: a `stream.Duplex` shaped like `net.Socket` over one
 * TcpConnection, so that code written for net (Node's own http.Server
 * through `server.emit('connection', socket)`, pipe(), 'drain') runs on it.
 *
 * Reading: in-order bytes move from the receive buffer into the stream only
 * while the stream wants them (after _read(), until push() returns false).
 * Bytes in the stream's buffer that the application has not consumed yet
 * still count as unread for the advertised window (Linux: the window is the
 * free space of the receive queue the application reads from), so an
 * application that does not read closes the window; consuming them (read(),
 * 'data' in flowing mode) opens it again.
 * Writing: _write/_writev copy into the send buffer and call back as soon as
 * the bytes are in; when the buffer is full the callback waits for ACKs to
 * free space, which makes write() return false and 'drain' follow.
 * destroy() behaves like close(2) on Linux: FIN after the unsent data, or RST
 * when received data was left unread; resetAndDestroy() always sends RST.
 */
import { Duplex } from 'node:stream';
import { Timer } from '../clock.js';
import type { TcpConnection } from './connection.js';
import type { Tcb } from './tcb.js';
import { TcpState, type ConnectionUser, type TcpInfo } from './state.js';
import { TcpError } from './errors.js';
import { validUserTimeout } from './user-timeout.js';
import { linuxTcpInfo, type LinuxTcpInfo } from './tcp-info.js';
import type { EventEmitter } from 'node:events';
import type { TimerQueue } from '../clock.js';
import { DOUBLE_ZERO } from '../shape.js';
import { WRITE_EOR, WRITE_MORE } from './send-control.js';

/** Flags of one `send()` (sendmsg(2)'s MSG_MORE and MSG_EOR). */
export interface SendOptions {
  /** More bytes follow soon: this write's push holds a last partial segment and does not set PSH (MSG_MORE). */
  more?: boolean;
  /** The bytes end a record: no segment, sent or resent, carries bytes of this record and the next (MSG_EOR). */
  eor?: boolean;
}

export interface ConnectOptions {
  /** Dotted quad (or a 32-bit number). */
  host?: string | number;
  port: number;
  localAddress?: string;
  localPort?: number;
  allowHalfOpen?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /**
   * TCP Fast Open (RFC 7413; needs the client bit of `tcp.fastOpen`, on by default). With `data` the SYN
   * carries as much of it as fits when a cookie for the server is cached (else the SYN asks for one and the
   * data follows the handshake) — Linux's sendto(MSG_FASTOPEN). Without `data`, like TCP_FASTOPEN_CONNECT:
   * with a cookie cached no SYN leaves until the first write, which then rides in it.
   */
  fastOpen?: boolean;
  /** Data for a Fast Open SYN (see `fastOpen`); all of it is sent, what does not fit the SYN after the handshake. */
  data?: Uint8Array;
  /** Only the part of `data` that fits in the SYN is taken (a non-blocking sendto); `fastOpenInfo().synData` says how much. */
  synDataOnly?: boolean;
}

interface PendingWrite {
  chunks: Buffer[];
  index: number;
  offset: number;
  cb: (err?: Error | null) => void;
}

/** What a socket needs from its TCP layer (src/tcp/layer.ts implements it). */
export interface SocketHost {
  readonly timers: TimerQueue;
  now(): number;
  /** `c` has work for the egress pass. */
  markDirty(c: Tcb): void;
  /** Run the egress pass soon (a microtask). */
  kick(): void;
  /** Text of an address as a socket of that family shows it (an IPv4 peer of an IPv6 socket: ::ffff:a.b.c.d). */
  formatAddress(a: number, v6Socket: boolean): string;
}

/**
 * What woke a socket's waiters ('wakeup' event), as Linux's callbacks name it: `readable` — data arrived
 * (sk_data_ready); `writable` — send space freed after a write found the buffer full (sk_write_space with
 * SOCK_NOSPACE); `state` — connected, the peer's FIN, an error or the end (sk_state_change: every waiter).
 */
export type SocketWakeup = 'readable' | 'writable' | 'state';

export class TcpSocket extends Duplex implements ConnectionUser {
  private conn: TcpConnection | null = null;
  /** True between connect() and the SYN-ACK (like net.Socket#connecting). */
  connecting = false;
  /** The stream asked for data (_read) and has not pushed back (push() returned false) since. */
  private readWanted = false;
  private eofPushed = false;
  /** A write found the send buffer full (Linux SOCK_NOSPACE): the next freed space is a 'writable' wakeup. */
  private noSpace = false;
  /** discard(): received bytes are counted and dropped in the connection, never copied into the stream. */
  private discarding = false;
  private pendingWrite: PendingWrite | null = null;
  /** Write flags (WRITE_*) of chunks queued by send(), keyed by the chunk the stream hands to _write. */
  private chunkFlags: WeakMap<Buffer, number> | null = null;
  private connGone = false;
  /**
   * The error that ended the connection while received data was still unread: raised (destroy) once the
   * application has read that data — Linux tcp_recvmsg copies what is queued before it reports sk_err.
   */
  private errorAfterDataPending: TcpError | null = null;
  private lastErrno = 0;
  private timeoutMs = 0;
  /** TCP_USER_TIMEOUT set before the socket had its connection. */
  private userTimeoutMs = 0;
  private lastActivity = DOUBLE_ZERO;
  private readonly idleTimer: Timer;
  private corkOn = false;
  private lowat = 0;
  bytesRead = DOUBLE_ZERO;
  private written = DOUBLE_ZERO;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: 'IPv4' | 'IPv6' | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  /** The TcpServer that accepted this socket (like net.Socket#server). */
  server: EventEmitter | undefined;
  /**
   * Told the byte count of each batch the stream hands to _write/_writev, once it is in the send buffer — set by a
   * writer whose chunks are fresh copies that die there (node:tls's encrypted records, src/http/young-buffers.ts);
   * null: nobody asks.
   */
  onWriteBatch: ((bytes: number) => void) | null = null;

  constructor(
    private readonly layer: SocketHost,
    conn: TcpConnection | null,
    allowHalfOpen: boolean,
  ) {
    super({ allowHalfOpen, emitClose: true, autoDestroy: true, decodeStrings: true, readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024 });
    this.idleTimer = new Timer((now) => this.onIdle(now));
    if (conn !== null) this.bindConnection(conn);
  }

  /** Binds the socket to its connection (done by connect() and by the server on accept). */
  bindConnection(c: TcpConnection): void {
    this.conn = c;
    this.remoteAddress = this.layer.formatAddress(c.remoteAddr, c.v6Socket);
    this.remotePort = c.remotePort;
    this.remoteFamily = c.v6Socket ? 'IPv6' : 'IPv4';
    this.localAddress = this.layer.formatAddress(c.localAddr, c.v6Socket);
    this.localPort = c.localPort;
    this.connecting = c.state === TcpState.SYN_SENT || (c.state === TcpState.SYN_RECEIVED && c.listener === null && c.fastOpenQueue === null) || c.state === TcpState.CLOSED;
    this.lastActivity = this.layer.now();
    if (this.userTimeoutMs > 0) c.setUserTimeout(this.userTimeoutMs);
    c.attach(this);
    if (this.corkOn) c.setCork(true);
    if (this.lowat > 0) c.setNotSentLowat(this.lowat);
    // An accepted connection may already hold data or the peer's FIN.
    if (c.readable > 0 || c.finReceived) {
      this.layer.markDirty(c);
      this.layer.kick();
      process.nextTick(() => this.pull());
    }
  }

  /** Bytes a non-blocking first write after a deferred Fast Open connect takes: what fits the SYN (0: no deferred connect). */
  get deferredSynRoom(): number {
    return this.conn?.deferredSynRoom ?? 0;
  }

  /**
   * A write of no bytes on a socket whose Fast Open connect was deferred (TCP_FASTOPEN_CONNECT): Linux connects
   * now, the SYN carrying the cookie and no data. False when there was no deferred connect to start.
   */
  connectDeferred(): boolean {
    const c = this.conn;
    if (c === null || c.fastOpen === null || !c.fastOpen.deferred) return false;
    c.connectDeferredNow(this.layer.now());
    this.connecting = true;
    this.layer.kick();
    return true;
  }

  /** Fast Open of this socket's active open: bytes sent in the SYN, whether the SYN-ACK covered them (TCPI_OPT_SYN_DATA), whether the SYN still waits for a write; null without Fast Open. */
  fastOpenInfo(): { synData: number; synDataAcked: boolean; deferred: boolean } | null {
    const fo = this.conn?.fastOpen;
    if (fo === null || fo === undefined) return null;
    return { synData: fo.synData, synDataAcked: fo.synDataAcked, deferred: fo.deferred };
  }

  // ------------------------------------------------------------ ConnectionUser

  onConnected(): void {
    this.connecting = false;
    this.touch();
    this.emit('wakeup', 'state');
    this.emit('connect');
    this.emit('ready');
  }

  onData(): void {
    // Bytes arriving are activity for setTimeout (as net.Socket), whether or not the application reads yet.
    this.touch();
    if (this.readWanted || this.discarding) this.pull();
    this.emit('wakeup', 'readable');
  }

  /**
   * From now on every byte received is counted (`bytesRead`) and dropped inside the connection without being
   * copied out — Linux's recv(MSG_TRUNC) for a stream, for a sink like the discard service: no 'data' events,
   * no Buffers, the window stays open; 'end' still comes after the peer's FIN (in flowing mode).
   */
  discard(): this {
    this.discarding = true;
    this.pull();
    return this;
  }

  onEof(): void {
    // The EOF itself carries no bytes: it reaches the stream even when nothing is wanted, once all data has.
    this.pull(this.conn !== null && this.conn.readable === 0);
    this.emit('wakeup', 'state');
  }

  onWritable(): void {
    // A write waiting for room resumes only once the socket is writable in Linux's sense too: under
    // TCP_NOTSENT_LOWAT, twice the unsent bytes below the mark (sk_stream_write_space → __sk_stream_is_writeable).
    if (this.pendingWrite !== null && this.conn !== null && !this.conn.belowNotSentLowat) {
      this.conn.lowatWaiter = true;
      return;
    }
    if (this.pendingWrite !== null) this.flushPending();
    if (this.noSpace && this.pendingWrite === null) {
      this.noSpace = false;
      this.emit('wakeup', 'writable');
    }
  }

  onClosed(err: TcpError | null): void {
    this.connGone = true;
    this.emit('wakeup', 'state');
    if (err !== null) {
      this.lastErrno = -err.errno;
      if (this.remoteAddress !== undefined) {
        err.address = this.remoteAddress;
        err.port = this.remotePort!;
      }
      this.connecting = false;
      if (!this.discarding && this.takeAllReceived() && this.readableLength > 0) {
        this.errorAfterDataPending = err;
        this.emit('wakeup', 'state');
        return;
      }
      this.destroy(err);
      return;
    }
    // Orderly end: everything readable stays readable; a write still waiting can never complete.
    this.pull(true);
    if (this.pendingWrite !== null) {
      const p = this.pendingWrite;
      this.pendingWrite = null;
      p.cb(new TcpError('EPIPE', 'write'));
    }
  }

  onStackClosed(): void {
    this.connGone = true;
    this.destroy();
  }

  // ------------------------------------------------------------ Readable side

  /** Moves in-order bytes (then the EOF) into the stream while it wants them (or once, `force`, when the connection ended). */
  private pull(force = false): void {
    const c = this.conn;
    if (c === null || this.eofPushed || this.destroyed) return;
    if (this.discarding) {
      const n = c.skip();
      if (n > 0) {
        this.bytesRead += n;
        this.touch();
      }
    } else if (!this.readWanted && !force) return;
    for (;;) {
      const b = c.readToApp();
      if (b === null) break;
      this.bytesRead += b.length;
      this.touch();
      const more = this.push(b);
      // In flowing mode push() may have handed the bytes to a 'data' listener already: tell the connection
      // what is still waiting in the stream for the application.
      c.appConsumed(this.readableLength);
      if (!more) {
        this.readWanted = false;
        return;
      }
      if (this.conn === null) return;
    }
    if (c.finReceived && c.readable === 0 && !this.eofPushed) {
      this.eofPushed = true;
      this.push(null);
    }
  }

  /** Everything still in the connection into the stream, regardless of the high-water mark; true if there was any. */
  private takeAllReceived(): boolean {
    const c = this.conn;
    if (c === null || this.eofPushed || this.destroyed) return false;
    let any = false;
    for (let b = c.readToApp(); b !== null; b = c.readToApp()) {
      any = true;
      this.bytesRead += b.length;
      this.push(b);
    }
    return any || this.readableLength > 0;
  }

  /** The error a reset left behind data still unread: it ends the socket once that data is read (null if none). */
  get errorAfterData(): TcpError | null {
    return this.errorAfterDataPending;
  }

  override _read(_size: number): void {
    this.readWanted = true;
    this.pull();
  }

  /** Every consumer (read() in paused mode, flowing mode, async iteration, pipe) reads through here. */
  override read(size?: number): Buffer | string | null {
    const r = super.read(size) as Buffer | string | null;
    this.conn?.appConsumed(this.readableLength);
    const e = this.errorAfterDataPending;
    if (e !== null && this.readableLength === 0) {
      this.errorAfterDataPending = null;
      this.destroy(e);
    }
    return r;
  }

  // ------------------------------------------------------------ Writable side

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.startWrite([chunk], cb);
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], cb: (err?: Error | null) => void): void {
    const list: Buffer[] = new Array(chunks.length);
    for (let i = 0; i < chunks.length; i++) list[i] = chunks[i]!.chunk;
    this.startWrite(list, cb);
  }

  private startWrite(chunks: Buffer[], cb: (err?: Error | null) => void): void {
    const c = this.conn;
    if (c === null || this.connGone || !c.writable) {
      cb(new TcpError('EPIPE', 'write'));
      return;
    }
    if (this.onWriteBatch !== null) {
      let n = 0;
      for (let i = 0; i < chunks.length; i++) n += chunks[i]!.length;
      this.onWriteBatch(n);
    }
    this.pendingWrite = { chunks, index: 0, offset: 0, cb };
    this.flushPending();
  }

  private flushPending(): void {
    const p = this.pendingWrite!;
    const c = this.conn;
    if (c === null || !c.writable) {
      this.pendingWrite = null;
      p.cb(new TcpError('EPIPE', 'write'));
      return;
    }
    while (p.index < p.chunks.length) {
      const b = p.chunks[p.index]!;
      const n = c.write(b, p.offset, b.length - p.offset, (this.chunkFlags !== null ? (this.chunkFlags.get(b) ?? 0) : 0));
      p.offset += n;
      this.written += n;
      if (p.offset < b.length) {
        this.noSpace = true; // send buffer full: wait for onWritable
        return;
      }
      p.index++;
      p.offset = 0;
    }
    this.pendingWrite = null;
    this.touch();
    p.cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    const c = this.conn;
    if (c !== null && !this.connGone) c.shutdownWrite();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.layer.timers.disarm(this.idleTimer);
    const c = this.conn;
    this.conn = null;
    if (c !== null && !this.connGone) {
      // close(2): bytes received but never read by the application make it an abort (RST), as on Linux.
      if (this.readableLength > 0 && !this.eofPushed) c.discardUnread();
      c.close(this.layer.now());
    }
    if (this.pendingWrite !== null) {
      const p = this.pendingWrite;
      this.pendingWrite = null;
      p.cb(err ?? new TcpError('EPIPE', 'write'));
    }
    cb(err);
  }

  // ------------------------------------------------------------ net.Socket surface

  get bytesWritten(): number {
    return this.written;
  }

  /** Like net.Socket#pending: not connected yet. */
  get pending(): boolean {
    return this.conn === null || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return { address: this.localAddress, family: this.remoteFamily ?? 'IPv4', port: this.localPort };
  }

  setNoDelay(noDelay = true): this {
    this.conn?.setNoDelay(noDelay);
    return this;
  }

  /**
   * write() with sendmsg(2)'s flags: `more` (MSG_MORE) and `eor` (MSG_EOR). An array is one message (its parts
   * gathered, as an iovec). Returns what write() returns.
   */
  send(data: Uint8Array | readonly Uint8Array[], opts: SendOptions = {}, cb?: (err?: Error | null) => void): boolean {
    const parts = data instanceof Uint8Array ? [data] : data;
    const buf = parts.length === 1 ? toBuffer(parts[0]!) : Buffer.concat(parts);
    const flags = (opts.more ? WRITE_MORE : 0) | (opts.eor ? WRITE_EOR : 0);
    if (flags !== 0) (this.chunkFlags ??= new WeakMap()).set(buf, flags);
    return cb ? this.write(buf, cb) : this.write(buf);
  }

  /**
   * A non-blocking write (write(2) on an O_NONBLOCK socket, MSG_DONTWAIT): copies what the connection takes now
   * — the send buffer's room, and with TCP_NOTSENT_LOWAT up to the buffer where Linux stops (tcp/write-queue.ts)
   * — and returns that count; nothing is kept for later. 0: nothing fit (EAGAIN); -1: an earlier write() still
   * waits in the stream, which must go first.
   */
  trySend(data: Uint8Array, opts: SendOptions = {}): number {
    const c = this.conn;
    if (c === null || this.connGone || !c.writable) throw new TcpError('EPIPE', 'write');
    if (this.pendingWrite !== null || this.writableLength > 0) return -1;
    const flags = (opts.more ? WRITE_MORE : 0) | (opts.eor ? WRITE_EOR : 0);
    const n = c.write(data, 0, data.length, flags);
    this.written += n;
    if (n > 0) this.touch();
    // Linux sets SOCK_NOSPACE on a cut write; the next room wakes the socket's 'wakeup' listeners.
    if (n < data.length) this.noSpace = true;
    return n;
  }

  /**
   * TCP_CORK: while on, a last partial segment waits for more data (full segments still leave); it goes when
   * the cork is pulled, TCP_NODELAY is set, or after max(RTO, 200 ms) with nothing in flight (Linux's probe
   * timer). Like Linux TCP_CORK.
   */
  setCork(on = true): this {
    this.corkOn = on;
    this.conn?.setCork(on);
    return this;
  }

  /** Whether TCP_CORK is on. */
  get tcpCorked(): boolean {
    return this.corkOn;
  }

  /**
   * TCP_NOTSENT_LOWAT: the socket counts as writable (`notSentBelowLowat`, poll's POLLOUT) only while fewer than
   * half of `bytes` are written but unsent. 0 returns to the stack's `notsentLowat` (net.ipv4.tcp_notsent_lowat).
   */
  setNotSentLowat(bytes: number): this {
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > 0xffffffff) throw new RangeError('notSentLowat must be an integer between 0 and 2^32 - 1');
    this.lowat = bytes;
    this.conn?.setNotSentLowat(bytes);
    return this;
  }

  /** The TCP_NOTSENT_LOWAT set on this socket (0: the stack's applies). */
  get notSentLowat(): number {
    return this.lowat;
  }

  /** Unsent bytes are below half the TCP_NOTSENT_LOWAT in force: Linux's test for POLLOUT (tcp_stream_memory_free). */
  get notSentBelowLowat(): boolean {
    return this.conn?.belowNotSentLowat ?? true;
  }

  /** Bytes written into the connection and not sent yet (Linux write_seq − snd_nxt). */
  get unsentBytes(): number {
    return this.conn?.unsent ?? 0;
  }

  /** SO_SNDBUF on a connected socket: the send buffer holds `bytes` from now on, without autotuning. */
  setSendBufferSize(bytes: number): this {
    if (!Number.isInteger(bytes) || bytes <= 0) throw new RangeError('send buffer size must be a positive integer');
    this.conn?.setSendBufferSize(bytes);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.conn?.setKeepAlive(enable, initialDelay > 0 ? initialDelay : undefined, this.layer.now());
    return this;
  }

  /**
   * TCP_USER_TIMEOUT (RFC 5482): after `ms` with transmitted data unacknowledged (or window probes unanswered)
   * the connection ends with ETIMEDOUT, instead of after retries2 retransmissions; 0 turns it off. Unlike
   * setTimeout() this is about the peer not acknowledging, not about the application being idle. A negative
   * or non-integer value throws EINVAL, as setsockopt(2) answers.
   */
  setUserTimeout(ms: number): this {
    if (!validUserTimeout(ms)) throw new TcpError('EINVAL', 'setsockopt');
    this.userTimeoutMs = ms;
    this.conn?.setUserTimeout(ms);
    return this;
  }

  /**
   * SO_MAX_PACING_RATE: at most `bytesPerSecond` bytes per second leave, paced (src/tcp/pacing.ts) — Linux
   * turns internal pacing on for the socket with any value but 0xffffffff, which removes the cap.
   */
  setMaxPacingRate(bytesPerSecond: number): this {
    this.conn?.setMaxPacingRate(bytesPerSecond);
    return this;
  }

  /** The SO_MAX_PACING_RATE in bytes per second (0xffffffff: none). */
  get maxPacingRate(): number {
    return this.conn?.maxPacingRate ?? 0xffffffff;
  }

  /** The TCP_USER_TIMEOUT in ms (0: off). */
  get userTimeout(): number {
    return this.userTimeoutMs;
  }

  /** Idle timeout on the stack's timer queue: 'timeout' after `ms` without activity (0 turns it off). */
  setTimeout(ms: number, cb?: () => void): this {
    this.timeoutMs = ms;
    if (cb) {
      if (ms === 0) this.removeListener('timeout', cb);
      else this.once('timeout', cb);
    }
    if (ms > 0) {
      this.lastActivity = this.layer.now();
      this.layer.timers.arm(this.idleTimer, this.lastActivity + ms);
    } else this.layer.timers.disarm(this.idleTimer);
    return this;
  }

  get timeout(): number | undefined {
    return this.timeoutMs > 0 ? this.timeoutMs : undefined;
  }

  private touch(): void {
    if (this.timeoutMs <= 0) return;
    this.lastActivity = this.layer.now();
    if (!this.idleTimer.armed) this.layer.timers.arm(this.idleTimer, this.lastActivity + this.timeoutMs);
  }

  /** Used by node:http's timers. */
  _unrefTimer(): void {
    this.touch();
  }

  private onIdle(now: number): void {
    if (this.timeoutMs <= 0 || this.destroyed) return;
    const due = this.lastActivity + this.timeoutMs;
    if (now < due) {
      this.layer.timers.arm(this.idleTimer, due);
      return;
    }
    this.emit('timeout');
  }

  /** Ends the writable side, then destroys once it is finished (net.Socket#destroySoon). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Closes with RST (net.Socket#resetAndDestroy). */
  resetAndDestroy(): this {
    const c = this.conn;
    if (c !== null && !this.connGone) {
      this.connGone = true;
      c.reset(this.layer.now());
      this.layer.kick();
    }
    this.destroy();
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** SO_ERROR: errno of the pending error (0 when none), cleared by reading it. */
  getError(): number {
    const c = this.conn;
    if (c !== null) {
      const e = c.takeError();
      if (e !== 0) return e;
    }
    const e = this.lastErrno;
    this.lastErrno = 0;
    return e;
  }

  /** Bytes received in order and not read yet: those in the stream plus those still in the connection (SIOCINQ). */
  get bytesReadable(): number {
    return this.readableLength + (this.conn?.readable ?? 0);
  }

  /**
   * TCP_INQ's hint (the TCP_CM_INQ value Linux's recvmsg reports, tcp_inq_hint): the bytes readable, plus one
   * once the peer's FIN arrived — and at least 1 once the connection is done (FIN or reset) — so that a reader
   * that sees 0 knows no more data is waiting, and one that sees non-zero knows to read again (data or EOF).
   */
  inq(): number {
    const c = this.conn;
    const fin = this.eofPushed || (c !== null && c.finReceived);
    const n = this.bytesReadable + (fin ? 1 : 0);
    const done = fin || this.connGone;
    return n === 0 && done ? 1 : n;
  }

  /** TCP_INFO-like snapshot of the connection, or null once it is gone. */
  tcpInfo(): TcpInfo | null {
    return this.conn?.info() ?? null;
  }

  /**
   * getsockopt(TCP_INFO): the connection's struct tcp_info fields under Linux's names and units
   * (src/tcp/tcp-info.ts), or null once the connection is gone (Linux then reports TCP_CLOSE).
   */
  getInfo(): LinuxTcpInfo | null {
    const c = this.conn;
    return c === null ? null : linuxTcpInfo(c, this.layer.now());
  }

  /** The underlying connection (for the conformance runner and tests). */
  get connection(): TcpConnection | null {
    return this.conn;
  }
}


function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
