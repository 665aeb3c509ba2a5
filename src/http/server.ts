/**
 * node:http mounted on tunstack sockets.
 *
 * `createHttpServer(stack, opts, handler?)` returns a real `http.Server`
 * (llhttp parses every byte; we never parse HTTP ourselves) that never
 * listens on the kernel: a tunstack listener accepts TCP connections on the
 * stack's address and hands each TcpSocket to the server with
 * `server.emit('connection', socket)`, exactly what net.Server does with a
 * kernel socket. `'listening'` is emitted on the http.Server when the stack
 * listener is up, which also starts node:http's connection tracking (the
 * headersTimeout / requestTimeout checks against slowloris clients).
 *
 * The connection cap works at the listener: established connections wait in
 * the accept queue (bounded by `backlog`; beyond it SYN cookies or drops,
 * like Linux) until a served connection closes.
 */
import http from 'node:http';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Stack } from '../stack.js';
import type { TcpServer } from '../tcp/server.js';
import type { TcpSocket } from '../tcp/socket.js';
import { declaredLength, tooLarge } from './body.js';
import { resolveHttpLimits, type HttpLimits } from './limits.js';
import { CappedAcceptor, type StackListenOptions } from './acceptor.js';
import { countStatus, newCounters, type HttpCounters, type HttpServerView } from './counters.js';

export type { HttpCounters } from './counters.js';
import { PriorKnowledgeH2 } from './h2c.js';
import { settleAsync } from './settle-async.js';

export { settleAsync } from './settle-async.js';

export type { StackListenOptions } from './acceptor.js';

export interface HttpServerOptions extends Partial<HttpLimits> {
  /** TCP port on the stack (default 80). */
  port?: number;
  /** Local address to listen on (default: every address of the stack). */
  host?: string;
  /** Accept-queue length of the tunstack listener (default: the TCP layer's, 511). */
  backlog?: number;
  /** Don't listen yet (call `server.listen()` later). */
  noListen?: boolean;
}

/** node:http's own answers to a request it could not parse (lib/_http_server.js), by error code. */
function cannedResponse(code: string): string {
  const status =
    code === 'HPE_HEADER_OVERFLOW'
      ? '431 Request Header Fields Too Large'
      : code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? '413 Payload Too Large'
        : code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
  return `HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`;
}

/** After answering a bad request, how long and how much of the rest we read and discard before closing. */
export const LINGER_MS = 2_000;
export const LINGER_BYTES = 4 * 1024 * 1024;

/** The parts of net.Server's bookkeeping that http.Server#close relies on (net.Socket keeps them for kernel sockets). */
interface NetServerBookkeeping {
  _connections: number;
  _emitCloseIfDrained(): void;
}


/** node:http's ServerResponse that reports its status to the server's counters when it finishes. */
class CountingResponse extends http.ServerResponse {
  constructor(req: IncomingMessage) {
    super(req);
    const server = (req.socket as { server?: unknown } | null)?.server;
    if (server instanceof StackHttpServer) this.once('finish', () => server.countResponse(this.statusCode));
  }
}

/** An http.Server whose connections come from a tunstack listener. */
export class StackHttpServer extends http.Server implements HttpServerView {
  readonly stack: Stack;
  readonly limits: HttpLimits;
  readonly counters: HttpCounters = newCounters();
  private readonly acceptor: CappedAcceptor;
  /** HTTP/2 with prior knowledge (h2c) on the same port: set by `acceptPriorKnowledgeH2`. */
  private h2c: PriorKnowledgeH2 | null = null;
  private closing = false;

  constructor(stack: Stack, limits: Partial<HttpLimits> = {}, handler?: RequestListener) {
    const l = resolveHttpLimits(limits);
    super({
      maxHeaderSize: l.maxHeaderSize,
      headersTimeout: l.headersTimeout,
      requestTimeout: l.requestTimeout,
      keepAliveTimeout: l.keepAliveTimeout,
      connectionsCheckingInterval: l.connectionsCheckingInterval,
      noDelay: true,
      ServerResponse: CountingResponse as unknown as typeof http.ServerResponse,
    });
    this.stack = stack;
    this.limits = l;
    this.acceptor = new CappedAcceptor(stack, l.maxConnections, this.counters, {
      admit: (s) => this.admit(s),
      listening: () => {
        this.stack.logger.debug({ http: this.address() }, 'http server listening on the stack');
        // Also starts node:http's connection tracking (headersTimeout/requestTimeout).
        this.emit('listening');
      },
      error: (e) => this.emit('error', e),
    });
    this.maxHeadersCount = l.maxHeadersCount;
    this.maxRequestsPerSocket = l.maxRequestsPerSocket;
    this.keepAliveTimeout = l.keepAliveTimeout;
    // Counting first, so the numbers include requests a user's handler fails on.
    this.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.countRequest(req, res));
    if (handler) this.on('request', settleAsync(handler));
    // `Expect: 100-continue` with a body over the cap: 413 before the client sends it.
    this.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const n = declaredLength(req);
      if (n !== null && n > this.limits.maxBodyBytes) {
        this.counters.Requests++;
        tooLarge(res, this.limits.maxBodyBytes, this);
        return;
      }
      res.writeContinue();
      this.emit('request', req, res);
    });
    this.on('upgrade', () => {
      this.counters.Upgrades++;
    });
    this.on('clientError', (err: Error & { code?: string }, socket: Duplex) => this.onClientError(err, socket));
    (this as unknown as NetServerBookkeeping)._connections = 0;
    // net.Server's `listening` reads its kernel handle; ours is the tunstack listener.
    Object.defineProperty(this, 'listening', { get: () => this.acceptor.listening, configurable: true });
  }

  /**
   * Also serves HTTP/2 with prior knowledge (RFC 9113 §3.3, h2c) on this port: a connection that opens with
   * the HTTP/2 preface goes to node:http2 with `handler`, every other one to node:http as before.
   */
  acceptPriorKnowledgeH2(handler: RequestListener): void {
    this.h2c ??= new PriorKnowledgeH2(this, handler, this.limits);
  }

  private countRequest(_req: IncomingMessage, _res: ServerResponse): void {
    this.counters.Requests++;
  }

  private readonly answered = new WeakSet<Duplex>();

  /**
   * node:http's answer to a request it cannot parse (400, 431, 413 for chunk
   * extensions, 408 on a timeout), counted — and then a lingering close like
   * nginx's instead of destroy(): our FIN goes after the answer and the rest of
   * what the client is still sending is read and discarded (up to LINGER_BYTES
   * or LINGER_MS), so the answer is not wiped out by the RST that closing with
   * unread data sends (RFC 2525 §2.17).
   */
  private onClientError(err: Error & { code?: string }, socket: Duplex): void {
    // llhttp stays in its error state: every later chunk reports the error again.
    if (this.answered.has(socket)) return;
    this.answered.add(socket);
    const code = err.code ?? 'unknown';
    const parseOrTimeout = code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const table = parseOrTimeout ? this.counters.ClientErrors : this.counters.SocketErrors;
    table[code] = (table[code] ?? 0) + 1;
    // As node:http decides: answer unless a response already put bytes on the wire (`_headerSent`, not `headersSent`,
    // which is already true after a writeHead() whose head is still held back).
    const inFlight = (socket as Duplex & { _httpMessage?: { _headerSent?: boolean } | null })._httpMessage;
    if (!parseOrTimeout || !socket.writable || inFlight?._headerSent === true) {
      socket.destroy();
      return;
    }
    socket.write(cannedResponse(code));
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.destroy(); // a slow client: nothing more is owed to it
      return;
    }
    socket.end();
    let discarded = 0;
    socket.on('data', (d: Buffer) => {
      discarded += d.length;
      if (discarded > LINGER_BYTES) socket.destroy();
    });
    socket.once('end', () => socket.destroy());
    const t = setTimeout(() => socket.destroy(), LINGER_MS);
    socket.once('close', () => clearTimeout(t));
  }

  /** Called by CountingResponse for every response node:http finishes (its own 400s and 503s included). */
  countResponse(status: number): void {
    countStatus(this.counters, status);
  }

  /**
   * Listens on the stack (never on the kernel): `listen(80)`, `listen({ port, host, backlog }, cb)`.
   * Errors (port in use, an address the stack does not have) arrive as 'error'.
   */
  override listen(...args: unknown[]): this {
    let o: StackListenOptions = {};
    let cb: (() => void) | undefined;
    for (const a of args) {
      if (typeof a === 'function') cb = a as () => void;
      else if (typeof a === 'number') o.port = a;
      else if (typeof a === 'string') o.host = a;
      else if (a !== null && typeof a === 'object') o = { ...(a as StackListenOptions) };
    }
    if (this.acceptor.tcp !== null) {
      process.nextTick(() => this.emit('error', Object.assign(new Error('the server is already listening'), { code: 'ERR_SERVER_ALREADY_LISTEN' })));
      return this;
    }
    if (cb) this.once('listening', cb);
    this.closing = false;
    this.acceptor.listen(o, 80);
    return this;
  }

  /** The tunstack listener, while listening. */
  get tcp(): TcpServer | null {
    return this.acceptor.tcp;
  }

  private admit(s: TcpSocket): void {
    const book = this as unknown as NetServerBookkeeping;
    book._connections++;
    s.once('close', () => {
      book._connections--;
      if (this.closing) book._emitCloseIfDrained();
    });
    if (this.h2c === null) this.emit('connection', s);
    else this.h2c.dispatch(s);
  }

  /** Connections being served now. */
  get activeConnections(): number {
    return this.acceptor.live;
  }

  override address(): { address: string; family: string; port: number } | null {
    return this.acceptor.tcp?.address() ?? null;
  }

  /**
   * Stops listening on the stack, closes idle keep-alive connections (node:http's
   * close), and emits 'close' once the last connection has closed.
   */
  override close(cb?: (err?: Error) => void): this {
    if (!this.acceptor.close()) {
      if (cb) process.nextTick(() => cb(Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' })));
      return this;
    }
    this.closing = true;
    if (cb) this.once('close', () => cb());
    this.h2c?.close();
    // node:http's close: stops the timeout checks, closes idle connections, then
    // net.Server#close emits 'close' once _connections reaches 0.
    super.close();
    return this;
  }
}

/**
 * Creates node:http's server on the stack and listens on `opts.port` (default 80).
 * `handler` is any `(req, res)` listener — an Express-style app included; without
 * one the server has no 'request' listener yet (add the built-in routes with
 * `builtinRoutes`, or your own with `server.on('request', ...)`).
 */
export function createHttpServer(stack: Stack, opts: HttpServerOptions = {}, handler?: RequestListener): StackHttpServer {
  const { port, host, backlog, noListen, ...limits } = opts;
  const server = new StackHttpServer(stack, limits, handler);
  if (!noListen) server.listen({ port: port ?? 80, ...(host !== undefined ? { host } : {}), ...(backlog !== undefined ? { backlog } : {}) });
  return server;
}
