/**
 * The `http` service: the bundled HTTP server (built-in routes, /ws echo,
 * optional static files) on TCP port 80 of the stack, or the port, static
 * directory and limits given by `tunstack up --http PORT --static DIR
 * --http-limit key=value,...` (through ServiceContext.http).
 */
import { registerService } from '../services.js';
import { startBundledHttp } from '../http/bundled.js';

export const DEFAULT_HTTP_PORT = 80;

registerService({
  name: 'http',
  description: 'HTTP/1.1 server on TCP port 80 (node:http on tunstack): /, /bytes?n=N, POST /echo, /_stack/stats, /_stack/sockets, /ws',
  start: (stack, ctx) => {
    const o = ctx.http ?? {};
    const server = startBundledHttp(stack, {
      port: o.port ?? DEFAULT_HTTP_PORT,
      ...(o.staticDir !== undefined ? { staticDir: o.staticDir } : {}),
      ...(o.limits !== undefined ? { limits: o.limits } : {}),
      dashboard: { token: ctx.dashboard?.token ?? null },
      ...(ctx.shards !== undefined ? { shards: ctx.shards } : {}),
    });
    // Under --workers: this shard's HTTP counters go into the sum /_stack/stats shows.
    ctx.shards?.setHttpCounters(() => server.counters);
    server.on('error', (e: Error) => stack.logger.warn({ service: 'http', err: e.message }, 'http server error'));
    server.on('listening', () => stack.logger.info({ service: 'http', address: server.address() }, 'http server listening'));
    return () => {
      server.close();
    };
  },
});
