/**
 * HTTPS on the stack with Node's own engines: node:tls (OpenSSL: TLS 1.2 and 1.3, session resumption by
 * tickets, ALPN) over tunstack sockets, then node:http2 for `h2` or node:http for `http/1.1`, as ALPN chose —
 * one `http2.createSecureServer({ allowHTTP1: true })` that never listens on the kernel: a tunstack listener
 * (CappedAcceptor) hands it each TcpSocket as 'connection', exactly what a net.Server would do. Nothing
 * above TCP is written by hand here.
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import type { RequestListener } from 'node:http';
import type { Stack } from '../stack.js';
import type { TcpSocket } from '../tcp/socket.js';
import { CappedAcceptor, type StackListenOptions } from './acceptor.js';
import { countStatus, newCounters, type HttpCounters, type HttpServerView } from './counters.js';
import { countedHttp2Handler } from './http2-handler.js';
import { resolveHttpLimits, type HttpLimits } from './limits.js';
import type { TlsIdentity } from './tls-identity.js';
import { YoungBufferCollector } from './young-buffers.js';

export const DEFAULT_HTTPS_PORT = 443;

export interface HttpsServerOptions extends Partial<HttpLimits> {
  identity: TlsIdentity;
}

export class StackHttpsServer extends EventEmitter implements HttpServerView {
  readonly counters: HttpCounters = newCounters();
  readonly limits: HttpLimits;
  readonly secure: http2.Http2SecureServer;
  private readonly acceptor: CappedAcceptor;
  private readonly sockets = new Set<TcpSocket>();
  /** Frees the encrypted records node:tls copies out for each write (young-buffers.ts). */
  readonly recordCollector = new YoungBufferCollector();

  constructor(
    readonly stack: Stack,
    opts: HttpsServerOptions,
  ) {
    super();
    this.limits = resolveHttpLimits(opts);
    const l = this.limits;
    this.secure = http2.createSecureServer({
      key: opts.identity.key,
      cert: opts.identity.cert,
      allowHTTP1: true, // ALPN offers h2 and http/1.1
      minVersion: 'TLSv1.2',
      handshakeTimeout: l.headersTimeout,
      maxHeaderListPairs: l.maxHeadersCount,
      maxSendHeaderBlockLength: l.maxHeaderSize,
    });
    // Garbage instead of a ClientHello, an alert mid-handshake, a handshake timeout: counted, the socket closed by node:tls.
    this.secure.on('tlsClientError', (err: Error & { code?: string }) => {
      const code = err.code ?? 'ERR_TLS';
      this.counters.ClientErrors[code] = (this.counters.ClientErrors[code] ?? 0) + 1;
    });
    this.secure.on('sessionError', () => undefined);
    this.acceptor = new CappedAcceptor(stack, l.maxConnections, this.counters, {
      admit: (s) => {
        // A connection with no traffic either way for requestTimeout (default 120 s) is closed (counted as IdleTimeouts).
        const idle = l.requestTimeout > 0 ? l.requestTimeout : 120_000;
        s.setTimeout(idle, () => s.destroy());
        this.sockets.add(s);
        s.once('close', () => this.sockets.delete(s));
        s.onWriteBatch = this.recordCollector.note;
        this.secure.emit('connection', s);
      },
      listening: () => this.emit('listening'),
      error: (e) => this.emit('error', e),
    });
  }

  /** Serves every request (HTTP/2 streams and HTTP/1.1 over TLS alike) with `handler`. */
  handle(handler: RequestListener): this {
    const h = countedHttp2Handler(this, handler);
    this.secure.on('request', h);
    return this;
  }

  listen(o: StackListenOptions = {}): this {
    this.acceptor.listen(o, DEFAULT_HTTPS_PORT);
    return this;
  }

  get listening(): boolean {
    return this.acceptor.listening;
  }

  get activeConnections(): number {
    return this.acceptor.live;
  }

  address(): { address: string; family: string; port: number } | null {
    return this.acceptor.tcp?.address() ?? null;
  }

  countResponse(status: number): void {
    countStatus(this.counters, status);
  }

  /** Stops listening and closes every connection (a TLS close_notify, then FIN); 'close' once all are gone. */
  close(): void {
    this.acceptor.close();
    this.secure.close();
    for (const s of this.sockets) s.end();
    const done = (): void => {
      if (this.sockets.size === 0) this.emit('close');
      else setTimeout(done, 50).unref();
    };
    done();
  }
}
