/**
 * JIT warm-up before the stack takes traffic.
 *
 * V8 compiles a function with its optimizing compiler only after it has run hot for a while, for the object
 * shapes and value types it saw; when later calls bring others it throws the code away and compiles again. A
 * fresh process therefore served its first 200 MB download at ~1.1 GB/s and its fourth at 4–5 GB/s: about half
 * of the first one's CPU went to the optimizing compiler (`perf`: v8::internal::compiler frames), the rest to
 * code not yet optimized.
 *
 * The warm-up runs, in process and before the TUN device is opened, the traffic the stack will serve, through
 * the code live traffic takes: two stacks on the real clock and timer driver, each behind a TunLink with
 * offloads (a loopback pair, src/link/tun-loopback.ts: virtio headers, super-segments, partial checksums) and
 * the pcap tap, the bundled HTTP server and the discard service on one; keep-alive requests, requests on new
 * connections, a download from `/bytes`, an upload. No packet leaves the process. About a second;
 * `--warmup off` skips it.
 *
 * One object of each hot class is kept afterwards (`retained`): optimized code holds the hidden classes it was
 * specialised on weakly, and once the warm-up's objects were collected their classes went with them and the
 * code was discarded ("weak objects") before the first real packet.
 */
import { Stack } from './stack.js';
import { defaultTcpConfig, liveTcpConfig } from './tcp/config.js';
import { PcapTap } from './link/pcap-tap.js';
import { TunLoopback } from './link/tun-loopback.js';
import { startBundledHttp } from './http/bundled.js';
import { startTcpDiscard } from './services/tcp-services.js';
import { releaseFreeMemory } from './link/tun.js';
import type { TcpSocket } from './tcp/socket.js';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface WarmupOptions {
  /** Bytes of the plain download and upload (default 32 MiB each; the slow and lossy ones take a quarter). */
  bytes?: number;
  /** Keep-alive requests (default 3000, over 10 connections). */
  requests?: number;
  /** Requests on new connections (`Connection: close`, default 400). */
  connections?: number;
  /** Gives up after this long (default 5 s); what ran until then still counts. */
  budgetMs?: number;
}

export interface WarmupResult {
  ms: number;
  requests: number;
  connections: number;
  downloaded: number;
  uploaded: number;
}

/**
 * A full collection now (V8's gc(), reached without --expose-gc on the command line), then the C heap's free
 * pages go back to the kernel (malloc_trim): ring and packet memory freed by the collection would otherwise
 * stay in the process, and each bulk phase of the warm-up would add its peak to the last one's.
 */
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc === 'function') gc();
  releaseFreeMemory();
}

/**
 * After the warm-up: one full collection, so the warm-up's packets and rings are freed now rather than at some
 * later collection, and their pages go back to the kernel — otherwise RSS keeps the warm-up's high-water mark
 * for the life of the process.
 */
export function releaseWarmupMemory(): void {
  collectGarbage();
}

/** Objects of the warm-up kept alive so that their hidden classes (and the code specialised on them) live on. */
const retained: unknown[] = [];
const keptOfKind = new Map<string, number>();
/** Keeps the first few objects of each kind. */
function keep(kind: string, ...objs: unknown[]): void {
  const n = keptOfKind.get(kind) ?? 0;
  if (n >= 2) return;
  keptOfKind.set(kind, n + 1);
  retained.push(...objs);
}

const SERVER = '10.255.255.2';
const CLIENT = '10.255.255.1';

class Budget {
  private readonly end: number;
  constructor(ms: number) {
    this.end = performance.now() + ms;
  }
  get over(): boolean {
    return performance.now() > this.end;
  }
  /** Destroys `s` when the budget runs out before it closed. */
  guard(s: TcpSocket): void {
    const t = setTimeout(() => s.destroy(), Math.max(0, this.end - performance.now()));
    s.once('close', () => clearTimeout(t));
  }
}

/** One HTTP/1.1 request at a time on `s`; resolves with the number of responses read (stops at `count` or when over budget). */
function keepAliveRequests(s: TcpSocket, count: number, budget: Budget, onFirst: () => void): Promise<number> {
  keep('keep-alive socket', s);
  return new Promise((resolve) => {
    let done = 0;
    let buf = '';
    const next = (): void => {
      if (done >= count || budget.over) {
        s.end();
        return;
      }
      s.write('GET / HTTP/1.1\r\nHost: warmup\r\n\r\n');
    };
    s.setEncoding('latin1');
    s.on('data', (chunk: string) => {
      buf += chunk;
      // Responses of `GET /` are small: a header block with Content-Length, then the body.
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /content-length:\s*(\d+)/i.exec(buf.slice(0, end));
        const total = end + 4 + (m ? Number(m[1]) : 0);
        if (buf.length < total) return;
        buf = buf.slice(total);
        if (++done === 1) onFirst();
        next();
      }
    });
    s.on('connect', next);
    s.on('close', () => resolve(done));
    s.on('error', () => {});
  });
}

/**
 * Keeps both ends of every connection open now, under `kind`: a bulk transfer's connections are the objects whose
 * hidden classes the bulk path's optimized code was specialised on (fields added by RACK, pacing and autotuning,
 * numbers grown past small integers). Keeping only the keep-alive connections was not enough: their classes
 * are older ones, and when the bulk connections were collected `transmit`, `processAck` and the RACK functions
 * lost their code ("weak objects") and were compiled again during the first real download (~400 ms of
 * compiler time, the download at a third of its speed).
 */
function keepConnections(kind: string, ...stacks: Stack[]): void {
  keep(kind, ...stacks.flatMap((st) => st.tcp.connections()));
}

/** A socket to the HTTP server that sends `GET path` with `Connection: close` once connected. */
function getRequest(client: Stack, path: string, kind: string, budget: Budget, server?: Stack): TcpSocket {
  const s = client.tcp.connect({ host: SERVER, port: 80 });
  keep(kind, s);
  budget.guard(s);
  s.on('connect', () => {
    if (server !== undefined) keepConnections(`${kind} connections`, client, server);
    s.write(`GET ${path} HTTP/1.1\r\nHost: warmup\r\nConnection: close\r\n\r\n`);
  });
  s.on('error', () => {});
  return s;
}

/** A request with `Connection: close`; resolves with the bytes received once the connection has closed. */
function closeRequest(client: Stack, path: string, budget: Budget, bulk?: { kind: string; server: Stack }): Promise<number> {
  return new Promise((resolve) => {
    const s = getRequest(client, path, bulk?.kind ?? 'discarding socket', budget, bulk?.server);
    s.discard().resume(); // counted, never copied into Buffers (as the discard service)
    s.on('close', () => resolve(s.bytesRead));
  });
}

/**
 * A download read by a slow application: the socket pauses every few chunks, so the receive window closes and
 * reopens and the sender meets window-limited, partial and zero-window sends, as against a busy client.
 */
function slowDownload(client: Stack, server: Stack, bytes: number, budget: Budget): Promise<number> {
  return new Promise((resolve) => {
    const s = getRequest(client, `/bytes?n=${bytes}`, 'reading socket', budget, server);
    let got = 0;
    let chunks = 0;
    s.on('data', (b: Buffer) => {
      got += b.length;
      if (++chunks % 8 === 0) {
        s.pause();
        setTimeout(() => s.resume(), 1);
      }
    });
    s.on('close', () => resolve(got));
  });
}

/**
 * Runs `fn` with the client's connections starting at Linux's receive window (the library's 64240, autotuned
 * from there), as the kernel's clients do: the sender then meets the peer's window as the limit, partial
 * segments at its edge and, with a slow reader, a closed window, persist probes and the window update. The
 * warm-up's client otherwise starts at 1 MiB and shows none of it; live, the first such send deoptimized
 * `transmit` mid-download (~100 ms to compile it again).
 */
async function withLinuxWindow<T>(client: Stack, fn: () => Promise<T>): Promise<T> {
  const cfg = client.tcp.config;
  const rmem = cfg.rmem;
  cfg.rmem = defaultTcpConfig.rmem;
  try {
    return await fn();
  } finally {
    cfg.rmem = rmem;
  }
}

/** Sends `bytes` to the discard service; resolves with the bytes written once the connection has closed. */
function upload(client: Stack, server: Stack, kind: string, bytes: number, budget: Budget): Promise<number> {
  return new Promise((resolve) => {
    const s = client.tcp.connect({ host: SERVER, port: 9 });
    keep(kind, s);
    s.once('connect', () => keepConnections(`${kind} connections`, client, server));
    budget.guard(s);
    const chunk = Buffer.alloc(256 * 1024, 0x5a);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes && !budget.over) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return;
      }
      s.end();
    };
    s.resume(); // the server's FIN must be read for 'close' to come
    s.on('connect', pump);
    s.on('drain', pump);
    s.on('close', () => resolve(sent));
    s.on('error', () => {});
  });
}

export async function warmUp(opts: WarmupOptions = {}): Promise<WarmupResult> {
  const t0 = performance.now();
  const bytes = opts.bytes ?? 32 * 1024 * 1024;
  const budget = new Budget(opts.budgetMs ?? 5000);
  // 16 packets per read (the shim reads 64): a quarter of the receive areas, which stay with the kept stacks.
  const loop = new TunLoopback({ names: ['warm0', 'warm1'], batchSize: 16 });
  const [la, lb] = [loop.a, loop.b];
  const client = new Stack({ tcp: liveTcpConfig });
  const server = new Stack({ tcp: liveTcpConfig });
  client.addInterface(new PcapTap(la, null, client.clock), `${CLIENT}/24`, { defaultRoute: true });
  server.addInterface(new PcapTap(lb, null, server.clock), `${SERVER}/24`, { defaultRoute: true });
  const http = startBundledHttp(server, { port: 80 });
  const stopDiscard = startTcpDiscard(server, 9);
  client.startRealTime();
  server.startRealTime();
  const result: WarmupResult = { ms: 0, requests: 0, connections: 0, downloaded: 0, uploaded: 0 };
  // The classes of live connections, sockets and HTTP messages live on in these (see the module comment).
  http.on('request', (req: { url?: string }, res: unknown) => {
    keep('http message', req, res);
    // A /bytes response keeps its stream (src/http/routes.ts), whose shape the download loop's code names.
    if (req.url?.startsWith('/bytes') === true) keep('bytes response', req, res);
  });
  http.on('connection', (s: unknown) => keep('accepted socket', s));
  const keepSpecimens = (): void => keep('connections', ...server.tcp.connections(), ...client.tcp.connections());
  try {
    const requests = opts.requests ?? 3000;
    const perConn = Math.ceil(requests / 10);
    const counts = await Promise.all(Array.from({ length: 10 }, () => keepAliveRequests(client.tcp.connect({ host: SERVER, port: 80 }), perConn, budget, keepSpecimens)));
    result.requests = counts.reduce((a, b) => a + b, 0);
    const connections = opts.connections ?? 400;
    while (result.connections < connections && !budget.over) {
      const got = await Promise.all(Array.from({ length: 4 }, () => closeRequest(client, '/', budget)));
      result.connections += got.filter((n) => n > 0).length;
    }
    // Between the bulk phases, what the last one left behind is collected: the peak RSS of the process (what
    // `tunstack up` reports as VmHWM) is otherwise set by the warm-up's garbage piling up.
    collectGarbage();
    // The rarer paths first — a slow reader (window-limited and zero-window sends), then loss recovery (SACK,
    // fast retransmit, tail loss probes, retransmitted retransmissions) — and the plain bulk transfers last:
    // the new feedback and object layouts the rare paths bring throw optimized code away ("code dependencies"),
    // and what is optimized when live traffic starts must be the common path, with all of that feedback in.
    if (!budget.over) result.downloaded += await withLinuxWindow(client, () => slowDownload(client, server, bytes >> 2, budget));
    collectGarbage();
    loop.loss = 0.01;
    if (!budget.over) result.downloaded += await closeRequest(client, `/bytes?n=${bytes >> 2}`, budget, { kind: 'lossy download', server });
    collectGarbage();
    if (!budget.over) result.uploaded += await upload(client, server, 'lossy upload', bytes >> 2, budget);
    loop.loss = 0;
    collectGarbage();
    // The plain transfers twice: functions the first round deoptimized (a branch or a type met for the first
    // time there) run unoptimized until they are hot again, which the second round makes them. The last download
    // is eight times as long: code that runs once per 64 KiB written (the /bytes loop, node:http's drain
    // handler) becomes hot only after thousands of calls, and otherwise compiled during the first live download.
    for (let round = 0; round < 2; round++) {
      if (!budget.over) result.downloaded += await withLinuxWindow(client, () => closeRequest(client, `/bytes?n=${bytes >> 2}`, budget, { kind: 'linux-window download', server }));
      if (!budget.over) result.downloaded += await closeRequest(client, `/bytes?n=${round === 1 ? bytes * 8 : bytes}`, budget, { kind: 'download', server });
      collectGarbage();
      if (!budget.over) result.uploaded += await upload(client, server, 'upload', bytes, budget);
    }
  } finally {
    stopDiscard();
    http.close();
    client.close();
    server.close();
    retained.push(client, server, http);
  }
  result.ms = performance.now() - t0;
  return result;
}
