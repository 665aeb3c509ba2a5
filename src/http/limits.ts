/**
 * Limits of the bundled HTTP server, each with a safe default and each
 * configurable. Most map straight onto node:http's own server options (so
 * llhttp and Node's server enforce them); `maxBodyBytes` is enforced by our
 * handlers (413) and `maxConnections` by the mounting (at the cap the
 * tunstack listener stops accepting: the backlog, then SYN cookies, take over).
 */

export interface HttpLimits {
  /** Largest request head (request line + headers) llhttp accepts, bytes; beyond it: 431. Node's default 16 KiB. */
  maxHeaderSize: number;
  /** Most header fields kept per request (node:http maxHeadersCount). */
  maxHeadersCount: number;
  /** Time for a client to send the complete request head, ms (slowloris); then 408 and close. */
  headersTimeout: number;
  /** Time for a client to send the complete request (head and body), ms; then 408 and close. 0: none. */
  requestTimeout: number;
  /** Idle time of a kept-alive connection between requests, ms. */
  keepAliveTimeout: number;
  /** Requests served on one connection before it is closed (`Connection: close`); 0: no limit. */
  maxRequestsPerSocket: number;
  /** Largest request body our handlers take (POST /echo, users' bodies through readBody), bytes; beyond it: 413. */
  maxBodyBytes: number;
  /** Connections served at once; at the cap new ones wait in the listener's accept queue. */
  maxConnections: number;
  /** How often node:http checks headersTimeout/requestTimeout, ms. */
  connectionsCheckingInterval: number;
}

export const defaultHttpLimits: Readonly<HttpLimits> = Object.freeze({
  maxHeaderSize: 16 * 1024,
  maxHeadersCount: 2000,
  headersTimeout: 10_000,
  requestTimeout: 120_000,
  keepAliveTimeout: 5_000,
  maxRequestsPerSocket: 0,
  maxBodyBytes: 256 * 1024 * 1024,
  maxConnections: 1024,
  connectionsCheckingInterval: 1_000,
});

/** Each limit's allowed range (inclusive). */
export const BOUNDS: Readonly<Record<keyof HttpLimits, readonly [number, number]>> = {
  maxHeaderSize: [1024, 1024 * 1024],
  maxHeadersCount: [1, 100_000],
  headersTimeout: [1, 3_600_000],
  requestTimeout: [0, 86_400_000],
  keepAliveTimeout: [0, 3_600_000],
  maxRequestsPerSocket: [0, 1e9],
  maxBodyBytes: [0, 2 ** 50],
  maxConnections: [1, 1_000_000],
  connectionsCheckingInterval: [10, 60_000],
};

/** Merges `given` over the defaults; throws a RangeError naming every bad value. */
export function resolveHttpLimits(given: Partial<HttpLimits> = {}): HttpLimits {
  const out: HttpLimits = { ...defaultHttpLimits };
  const problems: string[] = [];
  for (const key of Object.keys(BOUNDS) as (keyof HttpLimits)[]) {
    const v = given[key];
    if (v === undefined) continue;
    const [lo, hi] = BOUNDS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      problems.push(`http ${key} must be an integer in ${lo}..${hi} (got ${String(v)})`);
      continue;
    }
    out[key] = v;
  }
  // node:http insists that requestTimeout (when on) is not below headersTimeout.
  if (out.requestTimeout > 0 && out.requestTimeout < out.headersTimeout) {
    problems.push(`http requestTimeout (${out.requestTimeout} ms) must not be below headersTimeout (${out.headersTimeout} ms)`);
  }
  if (problems.length > 0) throw new RangeError(problems.join('; '));
  return out;
}

/** The `--http-limit key=value,...` syntax: `maxBodyBytes=10485760,headersTimeout=5000`. */
export function parseHttpLimitSpec(spec: string): Partial<HttpLimits> | Error {
  const out: Partial<HttpLimits> = {};
  for (const part of spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^([A-Za-z]+)=(\d+)$/.exec(part);
    if (!m) return new Error(`bad http limit '${part}': expected key=integer`);
    const key = m[1] as keyof HttpLimits;
    if (!(key in BOUNDS)) return new Error(`unknown http limit '${m[1]}'; known: ${Object.keys(BOUNDS).join(', ')}`);
    out[key] = Number(m[2]);
  }
  return out;
}
