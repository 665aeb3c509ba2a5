/**
 * Per-connection events at debug level, each with a connection id:
 * `connection accepted` (local, remote) and `connection closed` (duration,
 * bytes each way, whether it ended in an error). Hooked at the one place
 * every accepted connection passes, `TcpServer.accept()` — the auto-accepting
 * services and the HTTP server's manual accept alike — and only when the
 * logger is at debug or trace, so info-level runs pay nothing.
 */
import type { Logger } from 'pino';
import type { Stack } from '../stack.js';
import type { TcpSocket } from '../tcp/socket.js';

interface Acceptor {
  accept(): TcpSocket | null;
}

export function logConnections(stack: Stack, logger: Logger): number {
  if (!logger.isLevelEnabled('debug')) return 0;
  let next = 0;
  let hooked = 0;
  for (const server of stack.tcp.servers as Set<unknown> as Set<Acceptor>) {
    const accept = server.accept.bind(server);
    server.accept = () => {
      const s = accept();
      if (s === null) return s;
      const id = ++next;
      const t0 = Date.now();
      const conn = { conn: id, local: `${s.localAddress}:${s.localPort}`, remote: `${s.remoteAddress}:${s.remotePort}` };
      logger.debug(conn, 'connection accepted');
      s.once('close', () => {
        const e = s.errored as (Error & { code?: string }) | null;
        const error = e ? (e.code ?? e.message) : null;
        logger.debug({ ...conn, ms: Date.now() - t0, bytesRead: s.bytesRead, bytesWritten: s.bytesWritten, error }, 'connection closed');
      });
      return s;
    };
    hooked++;
  }
  return hooked;
}
