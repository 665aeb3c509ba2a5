/**
 * WebSocket on the bundled server: node:http's 'upgrade' event hands the
 * tunstack socket to the `ws` package (`WebSocketServer({ noServer: true })`),
 * which then speaks RFC 6455 over it unchanged. `/ws` echoes every message,
 * text as text and binary as binary.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** A server that emits node:http's 'upgrade' (node:http's, or node:http2's secure server for HTTP/1.1 over TLS). */
export interface UpgradingServer {
  on(event: 'upgrade', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

export interface WsEchoOptions {
  /** Path of the echo endpoint (default /ws). */
  path?: string;
  /** Largest message accepted, bytes (default 64 MiB); larger ones close the connection with 1009. */
  maxPayload?: number;
  /** Other upgrade endpoints (the dashboard's /_stack/ws): tried first; true when one took the request. */
  otherUpgrades?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
}

/** Adds the `/ws` echo endpoint; other upgrade requests get 404. Returns the WebSocketServer. */
export function attachWebSocketEcho(server: UpgradingServer, opts: WsEchoOptions = {}): WebSocketServer {
  const path = opts.path ?? '/ws';
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload ?? 64 * 1024 * 1024 });
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data, isBinary) => {
      ws.send(data, { binary: isBinary });
    });
    ws.on('error', () => ws.terminate());
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (opts.otherUpgrades !== undefined && opts.otherUpgrades(req, socket, head)) return;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== path || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  server.once('close', () => wss.close());
  return wss;
}
