/**
 * The bundled server as `tunstack up` runs it: the built-in routes, optional
 * static files and the `/ws` echo, on one StackHttpServer.
 */
import type { Stack } from '../stack.js';
import type { HttpLimits } from './limits.js';
import { builtinRoutes } from './routes.js';
import { createHttpServer, type StackHttpServer } from './server.js';
import { attachWebSocketEcho } from './ws.js';

export interface BundledHttpOptions {
  port?: number;
  host?: string;
  backlog?: number;
  /** Serve files from this directory (`--static DIR`). */
  staticDir?: string;
  limits?: Partial<HttpLimits>;
  /** The /ws echo endpoint (default on). */
  webSocket?: boolean;
}

export function startBundledHttp(stack: Stack, opts: BundledHttpOptions = {}): StackHttpServer {
  const server = createHttpServer(stack, {
    ...opts.limits,
    port: opts.port ?? 80,
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.backlog !== undefined ? { backlog: opts.backlog } : {}),
  });
  const ws = opts.webSocket ?? true;
  server.on(
    'request',
    builtinRoutes(stack, server, {
      ...(opts.staticDir !== undefined ? { staticDir: opts.staticDir } : {}),
      ...(ws ? { extraLinks: [{ path: '/ws', what: 'WebSocket echo' }] } : {}),
    }),
  );
  if (ws) attachWebSocketEcho(server);
  return server;
}
