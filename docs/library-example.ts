/**
 * tunstack as a library. In an application the import is `from 'tunstack'`; here it is the same entry point
 * by path, so that this file is type-checked with the code (tsconfig.json) and run by
 * test/unit/library-example.test.ts.
 *
 * - `echoOnTun()`: a stack on a TUN device answering TCP echo on port 7 and HTTP on port 80 (as root, or with
 *   CAP_NET_ADMIN; then `nc 10.77.0.2 7` or `curl http://10.77.0.2/` from the host).
 * - `memoryPair()` + `simulate()`: two stacks joined by an in-process link on a virtual clock — no device, no
 *   privileges, and time that jumps from one timer to the next (a 2-minute TIME-WAIT passes in milliseconds).
 */
import { createHttpServer, MemoryLink, Stack, TimerQueue, TunLink, VirtualClock, type TcpServer } from '../src/index.js';

/** A TCP echo server on `port`: every byte goes back, and a FIN after the peer's. */
export function startEcho(stack: Stack, port: number): TcpServer {
  return stack.tcp.createServer((socket) => socket.pipe(socket)).listen(port);
}

/** Connects to `host:port`, sends `message`, half-closes, and resolves with everything the peer sent back. */
export function echoOnce(stack: Stack, host: string, port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = stack.tcp.connect({ host, port }, () => socket.end(message));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
  });
}

/** A stack on the TUN device `tun0` (the kernel's side 10.77.0.1, ours 10.77.0.2), serving echo and HTTP. */
export function echoOnTun(): Stack {
  const stack = new Stack();
  const tun = TunLink.open({ name: 'tun0', kernelAddress: '10.77.0.1' });
  stack.addInterface(tun, '10.77.0.2/24', { defaultRoute: true });
  stack.startRealTime();
  startEcho(stack, 7);
  createHttpServer(stack, { port: 80 }, (_req, res) => res.end('hello from tunstack\n'));
  return stack;
}

/** Two stacks on one virtual clock, joined by a memory link: `a` is 10.0.0.1, `b` is 10.0.0.2. */
export interface MemoryPair {
  clock: VirtualClock;
  a: Stack;
  b: Stack;
  links: [MemoryLink, MemoryLink];
}

export function memoryPair(): MemoryPair {
  const clock = new VirtualClock(0);
  const links = MemoryLink.pair();
  const a = new Stack({ clock, timers: new TimerQueue() });
  const b = new Stack({ clock, timers: new TimerQueue() });
  a.addInterface(links[0], '10.0.0.1/24', { defaultRoute: true });
  b.addInterface(links[1], '10.0.0.2/24', { defaultRoute: true });
  return { clock, a, b, links };
}

/**
 * Runs the pair until `work` settles: packets are delivered and due timers fire at the current instant, the
 * event loop turns (stream callbacks run), and when nothing is left to do, time jumps to the next deadline.
 * Rejects when `work` has not settled after `maxMs` of virtual time.
 */
export async function simulate<T>(pair: MemoryPair, work: Promise<T>, maxMs = 60_000): Promise<T> {
  let settled = false;
  const watched = work.finally(() => {
    settled = true;
  });
  const end = pair.clock.now() + maxMs;
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  while (!settled) {
    for (const link of pair.links) link.deliver();
    pair.a.runTimers();
    pair.b.runTimers();
    await turn();
    const busy = pair.links[0].pending > 0 || pair.links[1].pending > 0;
    if (busy || settled) continue;
    const next = Math.min(pair.a.timers.nextDeadline(), pair.b.timers.nextDeadline());
    if (next > end) throw new Error(`simulate: not settled within ${maxMs} ms of virtual time`);
    if (next > pair.clock.now()) pair.clock.set(next);
  }
  return watched;
}
