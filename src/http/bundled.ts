/**
 * The bundled server as `tunstack up` runs it: the built-in routes, optional
 * static files and the `/ws` echo, on one StackHttpServer.
 */
import type { Duplex } from 'node:stream';
import type { Stack } from '../stack.js';
import type { HttpLimits } from './limits.js';
import { builtinRoutes, type RouteOptions } from './routes.js';
import { createHttpServer, type StackHttpServer } from './server.js';
import { attachWebSocketEcho } from './ws.js';
import { createDashboard } from './dashboard.js';
import { DEFAULT_HTTPS_PORT, StackHttpsServer } from './https.js';
import type { TlsIdentity } from './tls-identity.js';

export interface BundledHttpOptions {
  port?: number;
  host?: string;
  backlog?: number;
  /** Serve files from this directory (`--static DIR`). */
  staticDir?: string;
  limits?: Partial<HttpLimits>;
  /** The /ws echo endpoint (default on). */
  webSocket?: boolean;
  /** The observatory dashboard at /_stack/ (default on); `token`: required token (`--dashboard-token`). */
  dashboard?: { token?: string | null } | false;
  /** Under `--workers N`: every shard's counters and sockets for /_stack/stats and /_stack/sockets. */
  shards?: RouteOptions['shards'];
  /** HTTP/2 with prior knowledge (h2c) on the same port (default on). */
  h2c?: boolean;
}

export function startBundledHttp(stack: Stack, opts: BundledHttpOptions = {}): StackHttpServer {
  const server = createHttpServer(stack, {
    ...opts.limits,
    port: opts.port ?? 80,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.backlog !== undefined ? { backlog: opts.backlog } : {}),
  });
  const ws = opts.webSocket ?? true;
  const dash = opts.dashboard === false ? null : createDashboard(stack, { token: opts.dashboard?.token ?? null });
  const links = [...(dash ? [{ path: '/_stack/', what: 'observatory: live dashboard (SSE /_stack/events, WebSocket /_stack/ws)' }] : []), ...(ws ? [{ path: '/ws', what: 'WebSocket echo' }] : [])];
  const routes = builtinRoutes(stack, server, {
    ...(opts.staticDir !== undefined ? { staticDir: opts.staticDir } : {}),
    ...(links.length > 0 ? { extraLinks: links } : {}),
    ...(dash ? { dashboard: dash } : {}),
    ...(opts.shards !== undefined ? { shards: opts.shards } : {}),
  });
  server.on('request', routes);
  if (opts.h2c ?? true) server.acceptPriorKnowledgeH2(routes);
  if (ws) attachWebSocketEcho(server, dash ? { otherUpgrades: dash.handleUpgrade } : {});
  else if (dash) {
    server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
      if (!dash.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }
  if (dash) server.once('close', () => dash.close());
  return server;
}

export interface BundledHttpsOptions {
  port?: number;
  host?: string;
  backlog?: number;
  identity: TlsIdentity;
  staticDir?: string;
  limits?: Partial<HttpLimits>;
  shards?: RouteOptions['shards'];
}

/** The built-in routes over HTTPS (HTTP/2 and HTTP/1.1 by ALPN) on port 443, or `opts.port`. */
export function startBundledHttps(stack: Stack, opts: BundledHttpsOptions): StackHttpsServer {
  const server = new StackHttpsServer(stack, { ...opts.limits, identity: opts.identity });
  server.handle(
    builtinRoutes(stack, server, {
      ...(opts.staticDir !== undefined ? { staticDir: opts.staticDir } : {}),
      ...(opts.shards !== undefined ? { shards: opts.shards } : {}),
    }),
  );
  // wss://…/ws: HTTP/1.1 over TLS upgrades reach node:http2's secure server as node:http's 'upgrade'.
  attachWebSocketEcho(server.secure);
  server.listen({ port: opts.port ?? DEFAULT_HTTPS_PORT, ...(opts.host !== undefined ? { host: opts.host } : {}), ...(opts.backlog !== undefined ? { backlog: opts.backlog } : {}) });
  return server;
}
