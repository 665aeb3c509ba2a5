/**
 * One request handler for node:http and node:http2. node:http2's compatibility API
 * (Http2ServerRequest/Response) mirrors node:http's IncomingMessage/ServerResponse where the built-in routes
 * touch them (method, url, headers, statusCode, writeHead, write/end with back-pressure, pipe), so the same
 * `(req, res)` listener serves both; requests and statuses are counted in the HTTP server's counters.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { settleAsync } from './settle-async.js';

export interface HttpServerCounting {
  readonly counters: { Requests: number };
  countResponse(status: number): void;
}

export function countedHttp2Handler(server: HttpServerCounting, handler: RequestListener): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  const h = settleAsync(handler);
  return (req, res) => {
    server.counters.Requests++;
    res.once('finish', () => server.countResponse(res.statusCode));
    // The compatibility API stands in for node:http's classes (see above).
    h(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  };
}
