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

/** Counters of one HTTP server, shown by `/_stack/stats` beside the stack's. */
export interface HttpCounters {
  ConnectionsAccepted: number;
  /** Times a connection had to wait in the accept queue because the cap was reached. */
  ConnectionsDeferred: number;
  Requests: number;
  Responses1xx: number;
  Responses2xx: number;
  Responses3xx: number;
  Responses4xx: number;
  Responses5xx: number;
  /** Requests answered 413 by our handlers (body over maxBodyBytes). */
  BodyTooLarge: number;
  /** Connections closed by node:http for a parse error or a timeout, by code (HPE_*, ERR_HTTP_REQUEST_TIMEOUT). */
  ClientErrors: Record<string, number>;
  /** Other socket errors (ECONNRESET, EPIPE, ...), by code. */
  SocketErrors: Record<string, number>;
  /** Keep-alive or idle connections closed by the socket timeout. */
  IdleTimeouts: number;
  Upgrades: number;
}

function newCounters(): HttpCounters {
  return {
    ConnectionsAccepted: 0,
    ConnectionsDeferred: 0,
    Requests: 0,
    Responses1xx: 0,
    Responses2xx: 0,
    Responses3xx: 0,
    Responses4xx: 0,
    Responses5xx: 0,
    BodyTooLarge: 0,
    ClientErrors: Object.create(null) as Record<string, number>,
    SocketErrors: Object.create(null) as Record<string, number>,
    IdleTimeouts: 0,
    Upgrades: 0,
  };
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

export interface StackListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

/**
 * Lets a handler be async: a promise it returns that rejects answers the error's
 * `statusCode` (e.g. readBody's 413) or 500 when nothing was sent yet, and
 * destroys the response otherwise — never an unhandled rejection.
 */
export function settleAsync(handler: RequestListener): RequestListener {
  return (req, res) => {
    const r: unknown = handler(req, res);
    if (r instanceof Promise) {
      r.catch((e: unknown) => {
        const status = (e as { statusCode?: unknown } | null)?.statusCode;
        if (res.headersSent || res.writableEnded) {
          res.destroy();
          return;
        }
        const code = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
        const body = `${http.STATUS_CODES[code] ?? 'error'}\n`;
        res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
        res.end(body);
      });
    }
  };
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
export class StackHttpServer extends http.Server {
  readonly stack: Stack;
  readonly limits: HttpLimits;
  readonly counters: HttpCounters = newCounters();
  /** The tunstack listener, once listening. */
  tcp: TcpServer | null = null;
  private live = 0;
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
    Object.defineProperty(this, 'listening', { get: () => this.tcp !== null && this.tcp.listening, configurable: true });
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
    const c = this.counters;
    if (status < 200) c.Responses1xx++;
    else if (status < 300) c.Responses2xx++;
    else if (status < 400) c.Responses3xx++;
    else if (status < 500) c.Responses4xx++;
    else c.Responses5xx++;
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
    if (this.tcp !== null) {
      process.nextTick(() => this.emit('error', Object.assign(new Error('the server is already listening'), { code: 'ERR_SERVER_ALREADY_LISTEN' })));
      return this;
    }
    if (cb) this.once('listening', cb);
    // allowHalfOpen like net.Server under http: node:http decides what a client's FIN means.
    const tcp = this.stack.tcp.createServer({ allowHalfOpen: true, noDelay: true, manualAccept: true });
    this.tcp = tcp;
    this.closing = false;
    tcp.on('acceptable', () => this.pump());
    tcp.on('error', (e: Error) => {
      this.tcp = null;
      this.emit('error', e);
    });
    tcp.once('listening', () => {
      this.stack.logger.debug({ http: tcp.address() }, 'http server listening on the stack');
      // Also starts node:http's connection tracking (headersTimeout/requestTimeout).
      this.emit('listening');
    });
    tcp.listen({ port: o.port ?? 80, ...(o.host !== undefined ? { host: o.host } : {}), ...(o.backlog !== undefined ? { backlog: o.backlog } : {}) });
    return this;
  }

  /** Takes connections from the accept queue up to the cap. */
  private pump(): void {
    const tcp = this.tcp;
    if (tcp === null) return;
    while (this.live < this.limits.maxConnections) {
      const s = tcp.accept();
      if (s === null) return;
      this.admit(s);
    }
    if (tcp.acceptQueueLength > 0) this.counters.ConnectionsDeferred++;
  }

  private admit(s: TcpSocket): void {
    this.live++;
    this.counters.ConnectionsAccepted++;
    const book = this as unknown as NetServerBookkeeping;
    book._connections++;
    // node:http relays socket errors to 'clientError' (counted there); this keeps a late one from throwing.
    s.on('error', () => undefined);
    s.on('timeout', () => {
      this.counters.IdleTimeouts++;
    });
    s.once('close', () => {
      this.live--;
      book._connections--;
      if (this.closing) book._emitCloseIfDrained();
      this.pump();
    });
    this.emit('connection', s);
  }

  /** Connections being served now. */
  get activeConnections(): number {
    return this.live;
  }

  override address(): { address: string; family: string; port: number } | null {
    return this.tcp?.address() ?? null;
  }

  /**
   * Stops listening on the stack, closes idle keep-alive connections (node:http's
   * close), and emits 'close' once the last connection has closed.
   */
  override close(cb?: (err?: Error) => void): this {
    const tcp = this.tcp;
    if (tcp === null) {
      if (cb) process.nextTick(() => cb(Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' })));
      return this;
    }
    this.tcp = null;
    this.closing = true;
    if (cb) this.once('close', () => cb());
    // Connections still waiting in the accept queue are reset by the listener's close.
    tcp.close();
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
