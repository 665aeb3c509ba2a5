/**
 * HTTP clients for tests on the virtual network: stack A talks to an HTTP
 * server on stack B.
 *
 *   RawClient   — bytes in, bytes out over one TcpSocket (for bad input and
 *                 exact wire checks); `statusCodes()` lists the status lines seen.
 *   request()   — node:http's own client on a tunstack socket
 *                 (`createConnection`), so responses (chunked included) are
 *                 parsed by llhttp, not by the test.
 */
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { B_ADDR, type Vnet } from './vnet.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Like `net.until`, but when nothing is due in virtual time before `maxMs` it
 * also lets real time pass (up to `realMs`): file system calls of the static
 * handler and node:http's real-clock timeout checks complete in real time.
 */
export async function waitUntil(net: Vnet, pred: () => boolean, maxMs = 60_000, what = 'condition', realMs = 5_000): Promise<void> {
  const vEnd = net.clock.now() + maxMs;
  const realEnd = Date.now() + realMs;
  for (;;) {
    await net.settle();
    if (pred()) return;
    const next = Math.min(net.a.timers.nextDeadline(), net.b.timers.nextDeadline());
    if (next <= vEnd) {
      if (next > net.clock.now()) net.clock.set(next);
      continue;
    }
    if (Date.now() > realEnd) throw new Error(`${what} not reached within ${maxMs} ms (virtual) / ${realMs} ms (real)`);
    await sleep(2);
  }
}

export class RawClient {
  readonly sock: TcpSocket;
  readonly chunks: Buffer[] = [];
  ended = false;
  closed = false;
  error: (Error & { code?: string }) | null = null;
  connected = false;

  constructor(
    readonly net: Vnet,
    port = 80,
  ) {
    this.sock = net.a.tcp.connect({ host: B_ADDR, port, allowHalfOpen: true });
    this.sock.on('connect', () => (this.connected = true));
    this.sock.on('data', (d: Buffer) => this.chunks.push(d));
    this.sock.on('end', () => (this.ended = true));
    this.sock.on('close', () => (this.closed = true));
    this.sock.on('error', (e: Error) => (this.error = e));
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  text(): string {
    return this.bytes.toString('latin1');
  }

  /** Status codes of the response heads seen so far, in order. */
  statusCodes(): number[] {
    return [...this.text().matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  }

  send(data: string | Buffer): void {
    this.sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Runs the network until `pred` holds. */
  until(pred: (c: RawClient) => boolean, maxMs = 10_000, what = 'client condition'): Promise<void> {
    return waitUntil(this.net, () => pred(this), maxMs, what);
  }

  /** Runs until the server has answered `n` responses or closed. */
  untilResponses(n: number, maxMs = 10_000): Promise<void> {
    return this.until((c) => c.statusCodes().length >= n || c.ended || c.closed, maxMs, `${n} responses`);
  }
}

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string | number>;
  body?: Buffer | string;
  /** Send the body chunked, in pieces of this size. */
  chunkSize?: number;
  port?: number;
}

/** One request with node:http's client over a tunstack socket; resolves with the whole response. */
export async function request(net: Vnet, o: RequestOptions = {}, maxMs = 60_000): Promise<Response> {
  let result: Response | null = null;
  let failure: Error | null = null;
  const req = http.request({
    method: o.method ?? 'GET',
    path: o.path ?? '/',
    headers: { Host: B_ADDR, ...o.headers },
    createConnection: () => net.a.tcp.connect({ host: B_ADDR, port: o.port ?? 80 }) as unknown as import('node:net').Socket,
  });
  req.on('response', (res) => {
    const parts: Buffer[] = [];
    res.on('data', (d: Buffer) => parts.push(d));
    res.on('end', () => {
      result = { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) };
    });
    res.on('error', (e) => (failure = e));
  });
  req.on('error', (e) => (failure = e));
  const body = o.body === undefined ? undefined : Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body);
  if (body !== undefined && o.chunkSize !== undefined) {
    for (let i = 0; i < body.length; i += o.chunkSize) req.write(body.subarray(i, i + o.chunkSize));
    req.end();
  } else req.end(body);
  await waitUntil(net, () => result !== null || failure !== null, maxMs, `response to ${o.method ?? 'GET'} ${o.path ?? '/'}`);
  if (failure !== null) throw failure;
  return result!;
}

/** A deterministic byte pattern. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
