/**
 * JIT warm-up before the stack takes traffic.
 *
 * V8 compiles a function with its optimizing compiler only after it has run hot for a while, so the first
 * bulk transfer a fresh process serves runs the TCP send and receive paths, the checksum loops and the HTTP
 * body writer partly in the interpreter: a first 200 MB download measured 1.1 GB/s, the fourth 2.0 GB/s
 * (same process, same path). The warm-up runs the same code once, in process: two stacks joined by a memory
 * link that takes super-segments and partial checksums like a TUN with offloads, the bundled HTTP server on
 * one, a download from its `/bytes` and an upload to a discard server from the other, on a virtual clock.
 * No packet leaves the process. It takes a few hundred milliseconds; `--warmup off` skips it.
 */
import { TimerQueue, VirtualClock } from './clock.js';
import { MemoryLink } from './link/memory.js';
import { Stack } from './stack.js';
import { startBundledHttp } from './http/bundled.js';
import { startTcpDiscard } from './services/tcp-services.js';
import { releaseFreeMemory } from './link/tun.js';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface WarmupResult {
  ms: number;
  downloaded: number;
  uploaded: number;
}

/**
 * After the warm-up: one full collection, so the warm-up's packets and rings are freed now rather than at some
 * later collection, then the C heap's free pages go back to the kernel — otherwise RSS keeps the warm-up's
 * high-water mark (~50 MiB) for the life of the process.
 */
export function releaseWarmupMemory(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc === 'function') gc();
  releaseFreeMemory();
}

const SERVER = '10.255.255.2';
const CLIENT = '10.255.255.1';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Runs a download of `bytes` and an upload of `bytes` between two in-process stacks. */
export async function warmUp(bytes = 32 * 1024 * 1024, budgetMs = 5000): Promise<WarmupResult> {
  const t0 = performance.now();
  const clock = new VirtualClock(1_000_000);
  const [la, lb] = MemoryLink.pair({ mtu: 1500, names: ['warm0', 'warm1'], offloads: true, copyOnSend: true });
  const client = new Stack({ clock, timers: new TimerQueue() });
  const server = new Stack({ clock, timers: new TimerQueue() });
  client.addInterface(la, `${CLIENT}/24`, { defaultRoute: true });
  server.addInterface(lb, `${SERVER}/24`, { defaultRoute: true });
  const http = startBundledHttp(server, { port: 80 });
  const stopDiscard = startTcpDiscard(server, 9);

  let downloaded = 0;
  let uploaded = 0;
  let downDone = false;
  let upDone = false;
  const get = client.tcp.connect({ host: SERVER, port: 80 });
  get.on('connect', () => get.write(`GET /bytes?n=${bytes} HTTP/1.1\r\nHost: warmup\r\nConnection: close\r\n\r\n`));
  get.discard().resume(); // counted, never copied into Buffers (as the discard service)
  get.on('close', () => {
    downloaded = get.bytesRead;
    downDone = true;
  });
  get.on('error', () => (downDone = true));

  const put = client.tcp.connect({ host: SERVER, port: 9 });
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  const pump = (): void => {
    while (uploaded < bytes) {
      const n = Math.min(chunk.length, bytes - uploaded);
      uploaded += n;
      if (!put.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return;
    }
    put.end();
  };
  put.resume(); // the server's FIN must be read for 'close' to come
  put.on('connect', pump);
  put.on('drain', pump);
  put.on('close', () => (upDone = true));
  put.on('error', () => (upDone = true));

  try {
    // Event by event, as the test network does: links, due timers, then the event loop for stream callbacks;
    // when nothing is left at this instant, virtual time jumps to the next deadline.
    while (!(downDone && upDone) && performance.now() - t0 < budgetMs) {
      const moved = la.deliver() + lb.deliver();
      client.runTimers();
      server.runTimers();
      await tick();
      if (moved === 0 && la.pending === 0 && lb.pending === 0) {
        await tick(); // stream callbacks may still have writes to make at this instant
        if (la.pending !== 0 || lb.pending !== 0 || client.timers.nextDeadline() <= clock.now() || server.timers.nextDeadline() <= clock.now()) continue;
        const next = Math.min(client.timers.nextDeadline(), server.timers.nextDeadline());
        if (next === Infinity) break;
        if (next > clock.now()) clock.set(next);
      }
    }
    await tick(); // the last 'close' events
    await tick();
  } finally {
    get.destroy();
    put.destroy();
    stopDiscard();
    http.close();
    client.close();
    server.close();
  }
  return { ms: performance.now() - t0, downloaded, uploaded: upDone ? uploaded : 0 };
}
