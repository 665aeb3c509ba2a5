/**
 * The observatory dashboard on the bundled HTTP server (read-only):
 *
 *   GET /_stack/                the page (self-contained HTML + JS + CSS, SVG charts; no CDN)
 *   GET /_stack/events          Server-Sent Events: one `data: {json}` per feed event
 *       ?conn=ID                  follow one connection (segments, samples, state) — 404 for an unknown id
 *       ?port=N                   follow a port
 *   GET /_stack/ws              the same over WebSocket ({"feed": "main"|"follow", "events": [...]} per batch); the client may send
 *                               {"follow": ID | null} to follow a connection — nothing else is accepted
 *   GET /_stack/conn/ID         one connection's row (JSON), 404 for an unknown id
 *   GET /_stack/snapshot        connections (with ids), listeners (with SYN-queue length), counters
 *
 * Access: only on the stack's own addresses (a request that reached the
 * server through any other local address gets 403), and, with a token
 * (`--dashboard-token`), only with that token — `Authorization: Bearer T`,
 * `?token=T`, or the cookie the page sets — compared in constant time;
 * missing or wrong: 401. No route here changes anything: GET and HEAD only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Stack } from '../stack.js';
import { ipToString } from '../wire/bytes.js';
import { formatIpv6 } from '../wire/ipv6.js';
import type { ObsEvent } from '../observe/events.js';
import type { Subscriber, SubscribeOptions } from '../observe/feed.js';
import { dashboardPage } from './dashboard-page.js';

export interface DashboardOptions {
  /** Required token; null/undefined/'': no token needed. */
  token?: string | null;
  /** WebSocket: bytes buffered before the subscriber counts as not reading (default 1 MiB). */
  wsHighWater?: number;
}

export interface Dashboard {
  /** Handles a request for a dashboard path; false when the path is not the dashboard's. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): boolean;
  /** Handles an upgrade for /_stack/ws; false when the path is not the dashboard's. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Closes the WebSocket server. */
  close(): void;
}

export const DASHBOARD_PATHS = ['/_stack/', '/_stack/events', '/_stack/ws', '/_stack/snapshot'] as const;
const COOKIE = 'tunstack_dashboard';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time token check: both sides hashed to 32 bytes, then timingSafeEqual (no early exit on length or content). */
export function tokenMatches(given: string | null, want: string): boolean {
  const ok = timingSafeEqual(digest(given ?? ''), digest(want));
  return ok && given !== null;
}

function cookieToken(req: IncomingMessage): string | null {
  const c = req.headers.cookie;
  if (!c) return null;
  for (const part of c.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** The token a request carries: Authorization: Bearer, ?token=, or the dashboard cookie. */
function requestToken(req: IncomingMessage, query: URLSearchParams): string | null {
  const auth = req.headers.authorization;
  if (auth && /^Bearer\s+/i.test(auth)) return auth.replace(/^Bearer\s+/i, '').trim();
  const q = query.get('token');
  if (q !== null) return q;
  return cookieToken(req);
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  const b = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': b.length, 'Cache-Control': 'no-store', ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : b);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', JSON.stringify(value) + '\n');
}

function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  return { path: q < 0 ? url : url.slice(0, q), query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) };
}

/** `?conn=ID` / `?port=N` → subscribe options, or an error message. */
function followOptions(query: URLSearchParams): SubscribeOptions | string {
  const o: SubscribeOptions = {};
  const conn = query.get('conn');
  const port = query.get('port');
  if (conn !== null) {
    if (!/^\d{1,9}$/.test(conn)) return `conn must be a connection id (a positive integer), got '${conn.slice(0, 20)}'`;
    o.conn = Number(conn);
  }
  if (port !== null) {
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return `port must be 1..65535, got '${port.slice(0, 20)}'`;
    o.port = Number(port);
  }
  if (o.conn !== undefined && o.port !== undefined) return 'give conn or port, not both';
  return o;
}

export function createDashboard(stack: Stack, opts: DashboardOptions = {}): Dashboard {
  const token = opts.token ? opts.token : null;
  const wsHighWater = opts.wsHighWater ?? 1024 * 1024;
  const feed = stack.feed;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

  /** The request reached us on one of the stack's own addresses (never through another local address). */
  const onStackAddress = (req: IncomingMessage): boolean => {
    const sa = req.socket.localAddress;
    if (sa === undefined) return false;
    // A dual-stack listener shows an IPv4 address as ::ffff:a.b.c.d.
    const la = sa.startsWith('::ffff:') && sa.includes('.') ? sa.slice(7) : sa;
    return stack.interfaces.some((i) => ipToString(i.address) === la) || stack.ip6.addressList.some((a) => formatIpv6(a.address) === la);
  };

  /** null when access is granted, else [status, message]. */
  const denied = (req: IncomingMessage, query: URLSearchParams): [number, string] | null => {
    if (!onStackAddress(req)) return [403, "the dashboard answers only on the stack's own address\n"];
    if (token !== null && !tokenMatches(requestToken(req, query), token)) return [401, 'dashboard token missing or wrong (--dashboard-token): add ?token=... or Authorization: Bearer ...\n'];
    return null;
  };

  const page = (_req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void => {
    const extra: Record<string, string> = {
      'Content-Security-Policy': "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
    };
    const q = query.get('token');
    if (token !== null && q !== null) extra['Set-Cookie'] = `${COOKIE}=${encodeURIComponent(q)}; Path=/_stack/; HttpOnly; SameSite=Strict`;
    const iface = stack.interfaces[0];
    send(res, 200, 'text/html; charset=utf-8', dashboardPage({ address: iface ? ipToString(iface.address) : '', sampleMs: feed.sampleMs }), extra);
  };

  const events = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void => {
    const f = followOptions(query);
    if (typeof f === 'string') return send(res, 400, 'text/plain; charset=utf-8', `${f}\n`);
    if (f.conn !== undefined && feed.connById(f.conn) === undefined) {
      return send(res, 404, 'text/plain; charset=utf-8', `unknown connection id ${f.conn} (not open: see the socket table for the ids of open connections)\n`);
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      res.end();
      return;
    }
    let sub: Subscriber | null = null;
    const label = `sse ${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const r = feed.subscribe(
      {
        deliver(batch: ObsEvent[]): boolean {
          if (res.destroyed || res.writableEnded) return true;
          let s = '';
          for (const ev of batch) s += `data: ${JSON.stringify(ev)}\n\n`;
          return res.write(s);
        },
        closed(reason: string): void {
          if (res.destroyed || res.writableEnded) return;
          stack.logger.debug({ subscriber: label, reason }, 'dashboard subscriber ended');
          res.end();
          // A subscriber that stopped reading would hold the socket open: cut it.
          setTimeout(() => res.destroy(), 2000).unref();
        },
      },
      { ...f, label },
    );
    if (r instanceof Error) return send(res, f.conn !== undefined ? 404 : 400, 'text/plain; charset=utf-8', `${r.message}\n`);
    sub = r;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
    res.write('retry: 2000\n\n');
    res.on('drain', () => {
      if (sub !== null) feed.resume(sub);
    });
    res.once('close', () => {
      if (sub !== null) feed.unsubscribe(sub);
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): boolean => {
    const isConn = path.startsWith('/_stack/conn/');
    if (path !== '/_stack' && !(DASHBOARD_PATHS as readonly string[]).includes(path) && !isConn) return false;
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'the dashboard is read-only: GET and HEAD only\n', { Allow: 'GET, HEAD' });
      return true;
    }
    const no = denied(req, query);
    if (no !== null) {
      send(res, no[0], 'text/plain; charset=utf-8', no[1], no[0] === 401 ? { 'WWW-Authenticate': 'Bearer realm="tunstack dashboard"' } : {});
      return true;
    }
    if (path === '/_stack') {
      send(res, 301, 'text/plain; charset=utf-8', 'see /_stack/\n', { Location: '/_stack/' });
      return true;
    }
    if (path === '/_stack/') page(req, res, query);
    else if (path === '/_stack/events') events(req, res, query);
    else if (path === '/_stack/ws') send(res, 426, 'text/plain; charset=utf-8', 'upgrade to a WebSocket here (or use /_stack/events)\n', { Upgrade: 'websocket' });
    else if (path === '/_stack/snapshot') sendJson(res, 200, { ...feed.snapshot(), sampleMs: feed.sampleMs });
    else {
      const id = path.slice('/_stack/conn/'.length);
      const c = /^\d{1,9}$/.test(id) ? feed.connById(Number(id)) : undefined;
      if (c === undefined) sendJson(res, 404, { error: `unknown connection id '${id.slice(0, 20)}' (not open: see /_stack/snapshot for the ids of open connections)` });
      else sendJson(res, 200, feed.connRow(c));
    }
    return true;
  };

  const wsClient = (ws: WebSocket, req: IncomingMessage): void => {
    const label = `ws ${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const subs: { general: Subscriber | null; follow: Subscriber | null } = { general: null, follow: null };
    let gone = false;
    const sink = (kind: 'general' | 'follow') => ({
      deliver(batch: ObsEvent[]): boolean {
        if (gone) return true;
        ws.send(JSON.stringify({ feed: kind === 'general' ? 'main' : 'follow', events: batch }), () => {
          const s = subs[kind];
          if (s !== null && ws.bufferedAmount < wsHighWater) feed.resume(s);
        });
        return ws.bufferedAmount < wsHighWater;
      },
      closed(reason: string): void {
        subs[kind] = null;
        if (gone) return;
        if (kind === 'general') ws.close(1013, reason.slice(0, 120));
      },
    });
    const g = feed.subscribe(sink('general'), { label });
    if (g instanceof Error) {
      ws.close(1011, g.message.slice(0, 120));
      return;
    }
    subs.general = g;
    ws.on('message', (data, isBinary) => {
      let msg: unknown;
      try {
        msg = isBinary ? null : JSON.parse(String(data));
      } catch {
        msg = null;
      }
      const follow = msg !== null && typeof msg === 'object' ? (msg as Record<string, unknown>)['follow'] : undefined;
      if (follow === undefined || (follow !== null && typeof follow !== 'number')) {
        ws.send(JSON.stringify({ feed: 'main', events: [{ type: 'error', error: 'the dashboard socket accepts only {"follow": <connection id> | null}' }] }));
        return;
      }
      if (subs.follow !== null) {
        feed.unsubscribe(subs.follow);
        subs.follow = null;
      }
      if (follow === null) return;
      const f = feed.subscribe(sink('follow'), { conn: follow, label: `${label} follow` });
      if (f instanceof Error) ws.send(JSON.stringify({ feed: 'follow', events: [{ type: 'error', error: f.message }] }));
      else subs.follow = f;
    });
    const bye = (): void => {
      gone = true;
      for (const s of [subs.general, subs.follow]) if (s !== null) feed.unsubscribe(s);
    };
    ws.on('close', bye);
    ws.on('error', () => {
      bye();
      ws.terminate();
    });
  };
  wss.on('connection', wsClient);

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const { path, query } = splitUrl(req.url ?? '/');
    if (path !== '/_stack/ws') return false;
    const reject = (status: string, why: string): void => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(why)}\r\n\r\n${why}`);
    };
    const no = denied(req, query);
    if (no !== null) {
      reject(no[0] === 401 ? '401 Unauthorized' : '403 Forbidden', no[1]);
      return true;
    }
    // Cross-site WebSocket hijacking: a browser's Origin must name the host it asked.
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let host = '';
      try {
        host = new URL(origin).host;
      } catch {
        host = '';
      }
      if (host !== (req.headers.host ?? '')) {
        reject('403 Forbidden', 'cross-origin WebSocket refused\n');
        return true;
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    return true;
  };

  return {
    handle,
    handleUpgrade,
    close: () => wss.close(),
  };
}
