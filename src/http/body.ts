/**
 * Request bodies under a size cap, for the built-in routes and for users'
 * handlers: a declared Content-Length over the cap is refused before any
 * byte is read (413, and `Expect: 100-continue` clients are never told to
 * send); a chunked body that grows past the cap is cut off.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpServerView } from './counters.js';

/** The declared Content-Length (null when absent; llhttp has already rejected malformed ones). */
export function declaredLength(req: IncomingMessage): number | null {
  const v = req.headers['content-length'];
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}

/** Answers 413 with `Connection: close` (the rest of the body is not read). */
export function tooLarge(res: ServerResponse, limit: number, server?: HttpServerView): void {
  if (server) server.counters.BodyTooLarge++;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `request body over the limit of ${limit} bytes\n`;
  res.writeHead(413, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  res.end(body);
}

/**
 * Counts the body as it streams and calls `onOver` (once) when it passes `limit`.
 * Returns false (and answers 413) at once when the declared length is already over.
 */
export function guardBody(req: IncomingMessage, res: ServerResponse, limit: number, server?: HttpServerView): boolean {
  const declared = declaredLength(req);
  if (declared !== null && declared > limit) {
    tooLarge(res, limit, server);
    return false;
  }
  let seen = 0;
  const onData = (d: Buffer): void => {
    seen += d.length;
    if (seen > limit) {
      req.removeListener('data', onData);
      tooLarge(res, limit, server);
      req.destroy();
    }
  };
  req.on('data', onData);
  return true;
}

/** Reads a whole body (at most `limit` bytes) into one Buffer; rejects with `statusCode: 413` when over. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = declaredLength(req);
    const over = (): Error & { statusCode: number } => Object.assign(new Error(`request body over the limit of ${limit} bytes`), { statusCode: 413 });
    if (declared !== null && declared > limit) {
      reject(over());
      return;
    }
    const parts: Buffer[] = [];
    let n = 0;
    req.on('data', (d: Buffer) => {
      n += d.length;
      if (n > limit) {
        req.destroy();
        reject(over());
        return;
      }
      parts.push(d);
    });
    req.once('end', () => resolve(Buffer.concat(parts, n)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(Object.assign(new Error('request aborted'), { statusCode: 400 }));
    });
  });
}
