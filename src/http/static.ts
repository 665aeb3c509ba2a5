/**
 * Static files from one directory (`--static DIR`): GET and HEAD,
 * Content-Type by extension, Last-Modified / If-Modified-Since → 304,
 * a single byte Range → 206 (or 416 when it cannot be satisfied).
 *
 * Path safety: the path is percent-decoded once (a malformed escape is a
 * 400); NUL bytes, backslashes and any `..` segment after decoding are
 * refused (so `../`, `%2e%2e/`, `%2e%2e%2f` and `..%5c` never climb), dot
 * files are hidden, and the real path (symlinks resolved) must still lie
 * inside the real root.
 */
import { createReadStream, realpathSync, promises as fsp } from 'node:fs';
import { extname, join, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MIME_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.pcap': 'application/vnd.tcpdump.pcap',
  '.mp4': 'video/mp4',
  '.woff2': 'font/woff2',
};

export function contentTypeFor(path: string): string {
  return MIME_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** The decoded, checked path segments of a URL path, or the status to answer with. */
export function safeSegments(urlPath: string): string[] | { status: 400 | 403 | 404 } {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return { status: 400 };
  }
  if (decoded.includes('\0')) return { status: 400 };
  if (decoded.includes('\\')) return { status: 403 };
  const segs = decoded.split('/').filter((s) => s.length > 0 && s !== '.');
  for (const s of segs) {
    if (s === '..') return { status: 403 };
    if (s.startsWith('.')) return { status: 404 };
  }
  return segs;
}

/** A single `bytes=` range against `size`: [start, end] inclusive, 'unsatisfiable', or null to ignore the header. */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | null {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null; // multiple ranges or another unit: serve the whole file (RFC 9110 §14.2 allows ignoring)
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || (b !== '' && Number(b) < start)) return 'unsatisfiable';
  return [start, end];
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string | number> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}

/** A handler for GET/HEAD of files under `root` (which must exist). */
export function createStaticHandler(root: string): (req: IncomingMessage, res: ServerResponse) => void {
  const realRoot = realpathSync(root);
  const inside = (p: string): boolean => p === realRoot || p.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
  return (req, res) => {
    void serve(req, res).catch(() => {
      if (!res.headersSent) plain(res, 500, 'internal error\n');
      else res.destroy();
    });
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const segs = safeSegments(q < 0 ? raw : raw.slice(0, q));
    if (!Array.isArray(segs)) {
      const s = segs.status;
      plain(res, s, s === 400 ? 'bad path\n' : s === 403 ? 'forbidden\n' : 'not found\n');
      return;
    }
    let file = join(realRoot, ...segs);
    let real: string;
    try {
      real = await fsp.realpath(file);
    } catch {
      plain(res, 404, 'not found\n');
      return;
    }
    if (!inside(real)) {
      plain(res, 403, 'forbidden\n');
      return;
    }
    let st = await fsp.stat(real);
    if (st.isDirectory()) {
      file = join(real, 'index.html');
      try {
        real = await fsp.realpath(file);
        st = await fsp.stat(real);
      } catch {
        plain(res, 404, 'not found\n');
        return;
      }
      if (!inside(real) || !st.isFile()) {
        plain(res, 404, 'not found\n');
        return;
      }
    }
    if (!st.isFile()) {
      plain(res, 404, 'not found\n');
      return;
    }
    const mtimeSec = Math.floor(st.mtimeMs / 1000);
    const lastModified = new Date(mtimeSec * 1000).toUTCString();
    const common: Record<string, string | number> = { 'Last-Modified': lastModified, 'Accept-Ranges': 'bytes', 'Content-Type': contentTypeFor(real) };
    const ims = req.headers['if-modified-since'];
    if (ims !== undefined) {
      const t = Date.parse(ims);
      if (!Number.isNaN(t) && mtimeSec * 1000 <= t) {
        res.writeHead(304, { 'Last-Modified': lastModified });
        res.end();
        return;
      }
    }
    const size = st.size;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range !== undefined) {
      const r = parseRange(range, size);
      if (r === 'unsatisfiable') {
        plain(res, 416, 'range not satisfiable\n', { 'Content-Range': `bytes */${size}` });
        return;
      }
      if (r !== null) {
        [start, end] = r;
        status = 206;
        common['Content-Range'] = `bytes ${start}-${end}/${size}`;
      }
    }
    const length = size === 0 ? 0 : end - start + 1;
    res.writeHead(status, { ...common, 'Content-Length': length });
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(real, { start, end });
    stream.on('error', () => res.destroy());
    res.once('close', () => stream.destroy());
    stream.pipe(res);
  }
}
