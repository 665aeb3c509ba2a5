/**
 * A tunstack listener that hands accepted connections to a server up to a cap: established connections
 * beyond it wait in the accept queue (bounded by `backlog`; beyond that SYN cookies or drops, like Linux)
 * until a served connection closes. The HTTP server (node:http) and the HTTPS/HTTP/2 server (node:tls and
 * node:http2) both take their connections from one of these.
 */
import type { Stack } from '../stack.js';
import type { TcpServer } from '../tcp/server.js';
import type { TcpSocket } from '../tcp/socket.js';

export interface StackListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

export interface AcceptorCounters {
  ConnectionsAccepted: number;
  /** Times a connection had to wait in the accept queue because the cap was reached. */
  ConnectionsDeferred: number;
  /** Keep-alive or idle connections closed by the socket timeout. */
  IdleTimeouts: number;
}

export interface AcceptorHooks {
  /** A connection taken from the accept queue: the server serves it. */
  admit(socket: TcpSocket): void;
  /** A served connection closed (after `live` went down). */
  released?(): void;
  listening(): void;
  error(e: Error): void;
}

export class CappedAcceptor {
  /** The tunstack listener, while listening. */
  tcp: TcpServer | null = null;
  /** Connections being served now. */
  live = 0;

  constructor(
    private readonly stack: Stack,
    private readonly maxConnections: number,
    private readonly counters: AcceptorCounters,
    private readonly hooks: AcceptorHooks,
  ) {}

  get listening(): boolean {
    return this.tcp !== null && this.tcp.listening;
  }

  listen(o: StackListenOptions, defaultPort: number): void {
    // allowHalfOpen like net.Server under http: the server above decides what a client's FIN means.
    const tcp = this.stack.tcp.createServer({ allowHalfOpen: true, noDelay: true, manualAccept: true });
    this.tcp = tcp;
    tcp.on('acceptable', () => this.pump());
    tcp.on('error', (e: Error) => {
      this.tcp = null;
      this.hooks.error(e);
    });
    tcp.once('listening', () => this.hooks.listening());
    tcp.listen({ port: o.port ?? defaultPort, ...(o.host !== undefined ? { host: o.host } : {}), ...(o.backlog !== undefined ? { backlog: o.backlog } : {}) });
  }

  /** Stops listening; connections still waiting in the accept queue are reset by the listener's close. False when not listening. */
  close(): boolean {
    const tcp = this.tcp;
    if (tcp === null) return false;
    this.tcp = null;
    tcp.close();
    return true;
  }

  /** Takes connections from the accept queue up to the cap. */
  private pump(): void {
    const tcp = this.tcp;
    if (tcp === null) return;
    while (this.live < this.maxConnections) {
      const s = tcp.accept();
      if (s === null) return;
      this.take(s);
    }
    if (tcp.acceptQueueLength > 0) this.counters.ConnectionsDeferred++;
  }

  private take(s: TcpSocket): void {
    this.live++;
    this.counters.ConnectionsAccepted++;
    // The server relays socket errors (node:http to 'clientError', counted there); this keeps a late one from throwing.
    s.on('error', () => undefined);
    s.on('timeout', () => {
      this.counters.IdleTimeouts++;
    });
    s.once('close', () => {
      this.live--;
      this.hooks.released?.();
      this.pump();
    });
    this.hooks.admit(s);
  }
}
