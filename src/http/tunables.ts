/**
 * The HTTP server's limits (src/http/limits.ts, the meaning in full) as tunables. node:http takes them when
 * the server is made, so they are set at start, with `--http-limit KEY=VALUE` like the rest of that flag.
 */
import { keyTunable, type Tunable } from '../tunable.js';
import { BOUNDS, defaultHttpLimits, type HttpLimits } from './limits.js';

const ROWS: readonly [keyof HttpLimits, string, string][] = [
  ['maxHeaderSize', 'bytes', 'largest request head llhttp accepts; beyond it: 431'],
  ['maxHeadersCount', 'count', 'most header fields kept per request'],
  ['headersTimeout', 'ms', 'time to send the complete request head (slowloris); then 408 and close'],
  ['requestTimeout', 'ms', 'time to send the complete request, head and body; then 408 and close (0: none)'],
  ['keepAliveTimeout', 'ms', 'idle time of a kept-alive connection between requests'],
  ['maxRequestsPerSocket', 'count', 'requests served on one connection before it closes (0: no limit)'],
  ['maxBodyBytes', 'bytes', 'largest request body the handlers take; beyond it: 413'],
  ['maxConnections', 'count', 'connections served at once; beyond, new ones wait in the accept queue'],
  ['connectionsCheckingInterval', 'ms', 'how often node:http checks the two timeouts above'],
];

/** `maxBodyBytes` → `max_body_bytes`. */
const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export const httpTunables: readonly Tunable<HttpLimits>[] = ROWS.map(([key, unit, text]) =>
  keyTunable(key, {
    name: `tunstack.http.${snake(key)}`,
    unit,
    kind: { type: 'int', min: BOUNDS[key][0], max: BOUNDS[key][1] },
    default: defaultHttpLimits[key],
    when: 'start',
    flag: `--http-limit ${key}=VALUE`,
    text,
  }),
);
