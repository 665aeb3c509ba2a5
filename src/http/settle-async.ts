import http from 'node:http';
import type { RequestListener } from 'node:http';

/**
 * Lets a handler be async: a promise it returns that rejects answers the error's
 * `statusCode` (e.g. readBody's 413) or 500 when nothing was sent yet, and
 * destroys the response otherwise — never an unhandled rejection.
 */
export function settleAsync(handler: RequestListener): RequestListener {
  return (req, res) => {
    const r: unknown = handler(req, res);
    if (r instanceof Promise) {
      r.catch((e: unknown) => {
        const status = (e as { statusCode?: unknown } | null)?.statusCode;
        if (res.headersSent || res.writableEnded) {
          res.destroy();
          return;
        }
        const code = typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
        const body = `${http.STATUS_CODES[code] ?? 'error'}\n`;
        res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
        res.end(body);
      });
    }
  };
}
