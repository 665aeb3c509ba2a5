/**
 * A UDP socket shaped like Node's `dgram.Socket` (udp4 or udp6, ./family.ts): bind, connect,
 * disconnect, send, close, address, remoteAddress; events 'listening',
 * 'connect', 'message' (msg, rinfo), 'error', 'close'. Received datagrams
 * wait in a bounded queue (bytes, like SO_RCVBUF) and are emitted
 * asynchronously, as Node does; a full queue drops and counts RcvbufErrors.
 *
 * ICMP errors about what this socket sent reach it like on Linux: on a
 * connected socket the "hard" ones (port/protocol unreachable, fragmentation
 * needed, administratively prohibited) are emitted as 'error' (e.g.
 * ECONNREFUSED); every ICMP error is also emitted as 'icmp' for applications
 * that want them all (like IP_RECVERR).
 */
import { EventEmitter } from 'node:events';
import type { UdpFamily } from './family.js';
import { nodeError, systemError, type SystemError, type UdpErrorCode } from './errors.js';
import type { UdpEndpoint } from './ports.js';

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

export interface UdpSocketOptions {
  type?: 'udp4' | 'udp6';
  /** Receive queue capacity in accounted bytes (payload + 256 per datagram), like SO_RCVBUF. Default: the layer's. */
  recvBufferSize?: number;
}

export interface BindOptions {
  port?: number;
  address?: string;
}

/** An ICMP error about a datagram this socket sent. */
export interface IcmpErrorInfo {
  type: number;
  code: number;
  /** The address that sent the ICMP message (a router or the destination host). */
  from: string;
  /** The destination of the datagram it quotes. */
  address: string;
  port: number;
  /** The errno Linux would report (e.g. ECONNREFUSED), and whether it is a hard error. */
  error: SystemError;
  fatal: boolean;
}

export type SendCallback = (error: Error | null, bytes?: number) => void;

/** What a socket needs from the UDP layer of its family. */
export interface UdpSocketHost<A = number> {
  readonly family: UdpFamily<A>;
  bindSocket(s: UdpSocket<A>, address: A, port: number): UdpErrorCode | undefined;
  unbindSocket(s: UdpSocket<A>): void;
  /** Connect: fixes the remote and, for a wildcard bind, the local address (Linux ip4_datagram_connect). */
  connectSocket(s: UdpSocket<A>, address: A, port: number): UdpErrorCode | undefined;
  disconnectSocket(s: UdpSocket<A>): void;
  sendFrom(s: UdpSocket<A>, payload: Uint8Array, address: A, port: number): UdpErrorCode | undefined;
  isLocalAddress(a: A): boolean;
  readonly defaultRecvBufferSize: number;
  readonly stats: { RcvbufErrors: number; InErrors: number; InDatagrams: number };
}

/** Accounted cost of a queued datagram beyond its payload (like an skb's truesize). */
export const DATAGRAM_QUEUE_OVERHEAD = 256;
/** Largest UDP payload over IPv4: 65,535 - 20 (IP) - 8 (UDP). */
export const MAX_UDP_PAYLOAD = 65507;

type MessageArg = Uint8Array | string | readonly (Uint8Array | string)[];

export interface UdpSocket<A = number> {
  on(event: 'message', listener: (msg: Buffer, rinfo: RemoteInfo) => void): this;
  on(event: 'listening' | 'connect' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'icmp', listener: (info: IcmpErrorInfo) => void): this;
  once(event: 'message', listener: (msg: Buffer, rinfo: RemoteInfo) => void): this;
  once(event: 'listening' | 'connect' | 'close', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'icmp', listener: (info: IcmpErrorInfo) => void): this;
}

export class UdpSocket<A = number> extends EventEmitter implements UdpEndpoint<A> {
  /** Bound local address (any) and port (0 = unbound), in the family's form (./family.ts). */
  boundAddress: A;
  boundPort = 0;
  /** Connected peer (port 0 = not connected). */
  peerAddress: A;
  peerPort = 0;
  /** The local address was fixed by connect() on a wildcard bind (disconnect() reverts it). */
  addressFromConnect = false;
  readonly type: 'udp4' | 'udp6';
  private readonly family: UdpFamily<A>;
  private bound = false;
  private closed = false;
  private recvBufferSize: number;
  /** Received datagrams waiting to be emitted: payload copies and their sources. */
  private readonly queue: { msg: Buffer; address: A; port: number }[] = [];
  private queuedBytes = 0;
  private drainScheduled = false;
  /** Datagrams dropped because the receive queue was full. */
  drops = 0;

  constructor(
    private readonly host: UdpSocketHost<A>,
    opts: UdpSocketOptions = {},
  ) {
    super();
    this.family = host.family;
    this.type = host.family.type;
    this.boundAddress = host.family.any;
    this.peerAddress = host.family.any;
    this.recvBufferSize = opts.recvBufferSize ?? host.defaultRecvBufferSize;
  }

  /** bind(port?, address?, callback?) or bind({port, address}, callback?). Port 0 or none: an ephemeral port. */
  bind(port?: number | BindOptions | (() => void), address?: string | (() => void), callback?: () => void): this {
    this.assertOpen();
    if (this.bound) throw nodeError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    let p = 0;
    let a: string | undefined;
    let cb: (() => void) | undefined;
    if (typeof port === 'function') cb = port;
    else if (typeof port === 'object' && port !== null) {
      p = port.port ?? 0;
      a = port.address;
      if (typeof address === 'function') cb = address;
    } else {
      p = port ?? 0;
      if (typeof address === 'function') cb = address;
      else {
        a = address;
        cb = callback;
      }
    }
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw nodeError('ERR_SOCKET_BAD_PORT', `Port should be >= 0 and < 65536. Received ${String(p)}.`);
    let addr = this.family.any;
    if (a !== undefined) {
      const n = this.family.parse(a);
      if (n instanceof Error) throw nodeError('ERR_INVALID_ARG_VALUE', n.message);
      addr = n;
    }
    if (cb) this.once('listening', cb);
    const err = this.host.bindSocket(this, addr, p);
    if (err !== undefined) {
      const e = systemError(err, 'bind', a ?? this.family.format(this.family.any), p);
      queueMicrotask(() => this.emit('error', e));
      return this;
    }
    this.bound = true;
    queueMicrotask(() => {
      if (!this.closed) this.emit('listening');
    });
    return this;
  }

  /** Binds implicitly (an ephemeral port on any address) the way send/connect on an unbound socket does. */
  private autobind(): UdpErrorCode | undefined {
    if (this.bound) return undefined;
    const err = this.host.bindSocket(this, this.family.any, 0);
    if (err === undefined) {
      this.bound = true;
      queueMicrotask(() => {
        if (!this.closed) this.emit('listening');
      });
    }
    return err;
  }

  connect(port: number, address?: string | (() => void), callback?: () => void): void {
    this.assertOpen();
    if (this.peerPort !== 0) throw nodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    let a = this.family.loopbackText;
    let cb = callback;
    if (typeof address === 'function') cb = address;
    else if (address !== undefined) a = address;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw nodeError('ERR_SOCKET_BAD_PORT', `Port should be > 0 and < 65536. Received ${String(port)}.`);
    const addr = this.family.parse(a);
    if (addr instanceof Error) throw nodeError('ERR_INVALID_ARG_VALUE', addr.message);
    if (cb) this.once('connect', cb);
    const err = this.autobind() ?? this.host.connectSocket(this, addr, port);
    if (err !== undefined) {
      const e = systemError(err, 'connect', a, port);
      queueMicrotask(() => this.emit('error', e));
      return;
    }
    queueMicrotask(() => {
      if (!this.closed) this.emit('connect');
    });
  }

  disconnect(): void {
    this.assertOpen();
    if (this.peerPort === 0) throw nodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    this.host.disconnectSocket(this);
  }

  /**
   * Node's forms: send(msg, port, address?, callback?) and
   * send(msg, offset, length, port, address?, callback?) on an unconnected
   * socket; send(msg, callback?) and send(msg, offset, length, callback?) on a
   * connected one. The callback gets (error, bytes); without one, errors are
   * emitted as 'error'.
   */
  send(msg: MessageArg, offset?: unknown, length?: unknown, port?: unknown, address?: unknown, callback?: unknown): void {
    this.assertOpen();
    let data = toBytes(msg);
    const slice = (): void => {
      if (typeof offset === 'number' && typeof length === 'number') {
        if (offset < 0 || length < 0 || offset + length > data.length) throw nodeError('ERR_OUT_OF_RANGE', 'offset/length out of range');
        data = data.subarray(offset, offset + length);
      }
    };
    // The argument shuffle of Node's dgram Socket.prototype.send.
    if (this.peerPort === 0) {
      if (address || (port && typeof port !== 'function')) slice();
      else {
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        slice();
        if (typeof port === 'function') {
          callback = port;
          port = null;
        }
      } else callback = offset;
      if (port || address) throw nodeError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    }
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    }
    const cb = typeof callback === 'function' ? (callback as SendCallback) : undefined;
    const fail = (e: Error): void => {
      queueMicrotask(() => {
        if (cb) cb(e);
        else this.emit('error', e);
      });
    };
    let dst: A;
    let dport: number;
    if (this.peerPort !== 0) {
      dst = this.peerAddress;
      dport = this.peerPort;
    } else {
      if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535) {
        throw nodeError('ERR_SOCKET_BAD_PORT', `Port should be > 0 and < 65536. Received ${String(port)}.`);
      }
      const n = this.family.parse(typeof address === 'string' && address !== '' ? address : this.family.loopbackText);
      if (n instanceof Error) throw nodeError('ERR_INVALID_ARG_VALUE', n.message);
      dst = n;
      dport = port;
    }
    const fmt = this.family.format;
    if (data.length > this.family.maxPayload) {
      fail(systemError('EMSGSIZE', 'send', fmt(dst), dport));
      return;
    }
    const bindErr = this.autobind();
    if (bindErr !== undefined) {
      fail(systemError(bindErr, 'send', fmt(dst), dport));
      return;
    }
    const err = this.host.sendFrom(this, data, dst, dport);
    if (err !== undefined) {
      fail(systemError(err, 'send', fmt(dst), dport));
      return;
    }
    if (cb) {
      const n = data.length;
      queueMicrotask(() => cb(null, n));
    }
  }

  close(callback?: () => void): this {
    this.assertOpen();
    if (callback) this.once('close', callback);
    this.closed = true;
    this.host.unbindSocket(this);
    this.bound = false;
    this.queue.length = 0;
    this.queuedBytes = 0;
    queueMicrotask(() => this.emit('close'));
    return this;
  }

  address(): AddressInfo {
    if (this.closed || !this.bound) throw nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    return { address: this.family.format(this.boundAddress), family: this.family.name, port: this.boundPort };
  }

  /** The connected peer; throws when not connected (like dgram). */
  remoteAddress(): AddressInfo {
    if (this.closed) throw nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    if (this.peerPort === 0) throw nodeError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    return { address: this.family.format(this.peerAddress), family: this.family.name, port: this.peerPort };
  }

  getRecvBufferSize(): number {
    return this.recvBufferSize;
  }

  setRecvBufferSize(size: number): void {
    if (!Number.isInteger(size) || size <= 0) throw nodeError('ERR_SOCKET_BUFFER_SIZE', 'Buffer size must be a positive integer');
    this.recvBufferSize = size;
  }

  /** Bytes (accounted) waiting in the receive queue. */
  get recvQueueBytes(): number {
    return this.queuedBytes;
  }

  get recvQueueLength(): number {
    return this.queue.length;
  }

  get isBound(): boolean {
    return this.bound;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** Called by the layer: a datagram for this socket (payload view valid only now). Returns false when the queue is full. */
  enqueue(payload: Uint8Array, address: A, port: number): boolean {
    const cost = payload.length + DATAGRAM_QUEUE_OVERHEAD;
    if (this.closed || this.queuedBytes + cost > this.recvBufferSize) {
      this.drops++;
      return false;
    }
    const msg = Buffer.allocUnsafe(payload.length);
    msg.set(payload);
    this.queue.push({ msg, address, port });
    this.queuedBytes += cost;
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(this.drain);
    }
    return true;
  }

  private readonly drain = (): void => {
    this.drainScheduled = false;
    const q = this.queue.splice(0, this.queue.length);
    this.queuedBytes = 0;
    for (const d of q) {
      if (this.closed) return;
      this.emit('message', d.msg, { address: this.family.format(d.address), family: this.family.name, port: d.port, size: d.msg.length } satisfies RemoteInfo);
    }
  };

  /** Called by the layer: an ICMP error about a datagram this socket sent. */
  icmpError(info: IcmpErrorInfo): void {
    if (this.closed) return;
    if (this.listenerCount('icmp') > 0) this.emit('icmp', info);
    if (info.fatal && this.peerPort !== 0) this.emit('error', info.error);
  }

  private assertOpen(): void {
    if (this.closed) throw nodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
  }
}

function toBytes(msg: MessageArg): Uint8Array {
  if (typeof msg === 'string') return Buffer.from(msg);
  if (msg instanceof Uint8Array) return msg;
  const parts = msg.map((m) => (typeof m === 'string' ? Buffer.from(m) : m));
  return Buffer.concat(parts);
}
