/**
 * The instance's side of `tunstack connect --name NAME HOST:PORT`: a `connect` control request opens a TCP
 * connection *from* the running stack and joins it to the control connection, byte for byte, half-close
 * included (the client's EOF sends our FIN; the peer's FIN ends the control connection's stream).
 *
 *   client ──{"cmd":"connect",...}──▶ control socket ──stack.tcp.connect──▶ peer
 *          ◀─{"ok":true,...}── once established, then raw bytes both ways
 *
 * A failure before the connection is up is one JSON error line (Linux's errno name); after it, the control
 * connection is closed (reset → destroyed).
 */
import type { Logger } from 'pino';
import type { Stack } from '../stack.js';
import type { ConnectRequest } from './protocol.js';
import type { ControlPipe } from './server.js';

export function connectFromStack(stack: Stack, req: ConnectRequest, pipe: ControlPipe, logger: Logger): void {
  const client = pipe.socket;
  const tcp = stack.tcp.connect({ host: req.host, port: req.port, allowHalfOpen: true, ...(req.localPort !== undefined ? { localPort: req.localPort } : {}) });
  let established = false;
  tcp.once('connect', () => {
    established = true;
    const local = `${tcp.localAddress}:${tcp.localPort}`;
    const remote = `${req.host}:${req.port}`;
    logger.info({ local, remote }, 'control: connection opened for a client');
    if (client.destroyed) {
      tcp.end();
      return;
    }
    client.write(`${JSON.stringify({ ok: true, local, remote })}\n`);
    if (pipe.early.length > 0) tcp.write(pipe.early);
    // pipe(): back-pressure both ways; end follows end (client EOF → our FIN; peer FIN → client EOF).
    client.pipe(tcp);
    tcp.pipe(client);
  });
  tcp.on('error', (e: Error & { code?: string }) => {
    if (!established) {
      if (!client.destroyed) client.end(`${JSON.stringify({ ok: false, error: `connect ${req.host}:${req.port}: ${e.code ?? e.message}` })}\n`);
    } else {
      logger.info({ err: e.code ?? e.message, remote: `${req.host}:${req.port}` }, 'control: a client connection failed');
      client.destroy();
    }
  });
  // The client went away (killed, Ctrl-C): finish the connection as a closed socket would (FIN).
  client.on('close', () => {
    if (!tcp.destroyed && !tcp.writableEnded) tcp.end();
  });
  client.on('error', () => client.destroy());
}
