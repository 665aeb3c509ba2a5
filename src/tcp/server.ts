/**
 * TcpServer: an EventEmitter shaped like net.Server ('listening',
 * 'connection', 'close', 'error'; listen(), close(), address(),
 * maxConnections, getConnections()) over a TcpListener. By default every
 * established connection is accepted at once and emitted as 'connection';
 * with `manualAccept` they wait in the accept queue (bounded by the backlog)
 * until `accept()` — what a conformance runner needs to exercise backlog
 * overflow.
 */
import { EventEmitter } from 'node:events';
import { ANY6, isV6 } from './addresses.js';
import { TcpError } from './errors.js';
import type { TcpConfig } from './config.js';
import type { FastOpenKeys } from './fastopen.js';
import { TcpListener, type ListenerHost } from './listener.js';
import { TcpSocket, type SocketHost } from './socket.js';

export interface ServerOptions {
  /** Like net: keep our side open after the peer's FIN (default false). */
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused. */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** Leave established connections in the accept queue until accept() is called ('acceptable' is emitted). */
  manualAccept?: boolean;
}

export interface ListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
  /**
   * TCP Fast Open (RFC 7413) on this listener, like Linux's TCP_FASTOPEN socket option: the most children
   * accepted with their SYN's data before their handshake completes (0 = off). Needs the server bit (0x2) of
   * `tcp.fastOpen`.
   */
  fastOpen?: number;
  /** IPV6_V6ONLY (Node's `ipv6Only`): a `::` listener takes no IPv4 connections. */
  ipv6Only?: boolean;
}

/** What a server needs from its TCP layer (src/tcp/layer.ts implements it). */
export interface ServerHost extends ListenerHost, SocketHost {
  readonly config: TcpConfig;
  /** Open servers, closed with the stack. */
  readonly servers: Set<TcpServer>;
  isLocalAddress(addr: number): boolean;
  /** Does the stack speak IPv6 (then listen() without a host binds `::`, as Node does)? */
  readonly hasIpv6: boolean;
  /** An address of either family from text (src/tcp/addresses.ts). */
  parseAddress(text: string): number | Error;
  findListener(localAddr: number, localPort: number): TcpListener | undefined;
  /** Registers a listener; an error with code EADDRINUSE when the port is taken. */
  addListener(l: TcpListener): TcpError | undefined;
}

export class TcpServer extends EventEmitter {
  private listener: TcpListener | null = null;
  /** TCP_FASTOPEN before listen(): applied when the listener exists. */
  private fastOpenMax = 0;
  /** Like net.Server#maxConnections: beyond it new connections are closed at once. */
  maxConnections = Infinity;
  private readonly sockets = new Set<TcpSocket>();
  private closing = false;
  private closeCallbacks: ((err?: Error) => void)[] = [];
  /** TCP_MAXSEG for the connections this server accepts (0: none). */
  private userMss = 0;

  constructor(
    private readonly layer: ServerHost,
    private readonly opts: ServerOptions,
    onConnection?: (s: TcpSocket) => void,
  ) {
    super();
    if (onConnection) this.on('connection', onConnection);
  }

  get listening(): boolean {
    return this.listener !== null;
  }

  /** Connections established and waiting to be accepted. */
  get acceptQueueLength(): number {
    return this.listener?.acceptQueueLength ?? 0;
  }

  /**
   * TCP_MAXSEG on the listening socket: the MSS its SYN-ACKs announce and its connections use is at most `mss`,
   * for connections that arrive from now on (Linux keeps it in the listener and copies it into each child).
   * 0 clears it; otherwise Linux's bounds, 88 (TCP_MIN_MSS) to 32767 (MAX_TCP_WINDOW), else EINVAL.
   */
  setMaxSegment(mss: number): this {
    if (!Number.isInteger(mss) || (mss !== 0 && (mss < 88 || mss > 32767))) throw new TcpError('EINVAL', 'setsockopt');
    this.userMss = mss;
    if (this.listener !== null) this.listener.userMss = mss;
    return this;
  }

  /** The TCP_MAXSEG set with setMaxSegment() (0: none). */
  get maxSegment(): number {
    return this.userMss;
  }

  /** Half-open entries in the SYN queue. */
  get synQueueLength(): number {
    return this.listener?.synQueueLength ?? 0;
  }

  listen(port?: number | ListenOptions, hostOrCb?: string | number | (() => void), backlogOrCb?: number | (() => void), cb?: () => void): this {
    let o: ListenOptions;
    let done: (() => void) | undefined;
    if (typeof port === 'object' && port !== null) {
      o = { ...port };
      done = typeof hostOrCb === 'function' ? hostOrCb : undefined;
    } else {
      o = { ...(port !== undefined ? { port } : {}) };
      const rest = [hostOrCb, backlogOrCb, cb];
      for (const a of rest) {
        if (typeof a === 'function') done = a;
        else if (typeof a === 'string') o.host = a;
        else if (typeof a === 'number') o.backlog = a;
      }
    }
    if (done) this.once('listening', done);
    const fail = (e: Error) => process.nextTick(() => this.emit('error', e));
    if (this.listener !== null) {
      fail(new TcpError('EINVAL', 'listen', 'already listening'));
      return this;
    }
    // Node: without a host the server listens on `::` when IPv6 is available (taking IPv4 too), else 0.0.0.0.
    const host = o.host ?? (this.layer.hasIpv6 ? '::' : '0.0.0.0');
    let addr = host === '::' ? ANY6 : 0;
    if (host !== '0.0.0.0' && host !== '::') {
      const a = this.layer.parseAddress(host);
      if (a instanceof Error) {
        fail(new TcpError('EINVAL', 'listen', a.message));
        return this;
      }
      if (!this.layer.isLocalAddress(a)) {
        fail(new TcpError('EADDRNOTAVAIL', 'listen', host));
        return this;
      }
      addr = a;
    }
    const cfg = this.layer.config;
    const backlog = Math.max(0, Math.min(o.backlog ?? cfg.defaultBacklog, cfg.somaxconn));
    let p = o.port ?? 0;
    if (p === 0) {
      for (let tries = 0; tries < 65536 && (p === 0 || this.layer.findListener(addr, p)); tries++) {
        p = cfg.ephemeralPortLow + Math.floor(Math.random() * (cfg.ephemeralPortHigh - cfg.ephemeralPortLow + 1));
      }
    }
    if (!Number.isInteger(p) || p < 1 || p > 65535) {
      fail(new TcpError('EINVAL', 'listen', `bad port ${String(o.port)}`));
      return this;
    }
    const l = new TcpListener(this.layer, addr, p, backlog);
    l.userMss = this.userMss;
    l.v6only = addr === ANY6 && o.ipv6Only === true;
    const err = this.layer.addListener(l);
    if (err) {
      err.port = p;
      err.address = host;
      fail(err);
      return this;
    }
    this.listener = l;
    if (o.fastOpen !== undefined) this.fastOpenMax = o.fastOpen;
    l.fastOpenMax = this.fastOpenMax;
    this.layer.servers.add(this);
    l.onAcceptable = () => {
      if (this.opts.manualAccept) this.emit('acceptable');
      else this.acceptAll();
    };
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  private acceptAll(): void {
    for (let s = this.accept(); s !== null; s = this.accept()) {
      if (this.sockets.size > this.maxConnections) {
        s.destroy();
        continue;
      }
      this.emit('connection', s);
    }
  }

  /** Takes one established connection from the accept queue as a socket, or null. */
  accept(): TcpSocket | null {
    const l = this.listener;
    if (l === null) return null;
    const c = l.accept();
    if (c === null) return null;
    const s = new TcpSocket(this.layer, null, this.opts.allowHalfOpen ?? false);
    s.server = this;
    s.bindConnection(c);
    if (this.opts.noDelay) s.setNoDelay(true);
    if (this.opts.keepAlive) s.setKeepAlive(true, this.opts.keepAliveInitialDelay ?? 0);
    if (this.opts.pauseOnConnect) s.pause();
    this.sockets.add(s);
    s.once('close', () => {
      this.sockets.delete(s);
      this.maybeClosed();
    });
    return s;
  }

  /**
   * Linux setsockopt(TCP_FASTOPEN, qlen) on a listening (or about to listen) socket: Fast Open children at most
   * pending (0 turns it off); EINVAL for a negative or non-integer length.
   */
  setFastOpen(qlen: number): TcpError | undefined {
    if (!Number.isInteger(qlen) || qlen < 0) return new TcpError('EINVAL', 'setsockopt', `TCP_FASTOPEN ${qlen}`);
    // Linux fastopen_queue_tune: the length is capped by somaxconn.
    this.fastOpenMax = Math.min(qlen, this.layer.config.somaxconn);
    if (this.listener !== null) this.listener.fastOpenMax = this.fastOpenMax;
    return undefined;
  }

  /** TCP_FASTOPEN_NO_COOKIE on the listener: SYN data accepted without a cookie. */
  setFastOpenNoCookie(on: boolean): void {
    if (this.listener !== null) this.listener.fastOpenNoCookie = on;
  }

  /** TCP_FASTOPEN_KEY on the listener: its own primary (and backup) key. */
  setFastOpenKeys(keys: FastOpenKeys): void {
    if (this.listener !== null) this.listener.fastOpenKeys = keys;
  }

  address(): { address: string; family: 'IPv4' | 'IPv6'; port: number } | null {
    const l = this.listener;
    if (l === null) return null;
    const v6 = isV6(l.localAddr);
    return { address: this.layer.formatAddress(l.localAddr, v6), family: v6 ? 'IPv6' : 'IPv4', port: l.localPort };
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.sockets.size;
    process.nextTick(() => cb(null, n));
    return this;
  }

  /** Stops accepting; 'close' follows once every accepted socket has closed (like net.Server#close). */
  close(cb?: (err?: Error) => void): this {
    if (this.listener === null) {
      if (cb) {
        const e = new Error('Server is not running.') as Error & { code: string };
        e.code = 'ERR_SERVER_NOT_RUNNING';
        process.nextTick(() => cb(e));
      }
      return this;
    }
    if (cb) this.closeCallbacks.push(cb);
    this.listener.close(this.layer.now());
    this.listener = null;
    this.closing = true;
    this.layer.kick();
    this.maybeClosed();
    return this;
  }

  private maybeClosed(): void {
    if (!this.closing || this.sockets.size > 0) return;
    this.closing = false;
    this.layer.servers.delete(this);
    const cbs = this.closeCallbacks.splice(0);
    process.nextTick(() => {
      this.emit('close');
      for (const f of cbs) f();
    });
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}
