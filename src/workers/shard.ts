/**
 * One shard of `tunstack up --workers N`, in its own worker thread: a whole stack (IP, ICMP, UDP, TCP, the
 * services) on one queue of a multi-queue TUN. The kernel keeps each flow on one queue (the TUN's flow table
 * records the queue a flow's packets were last written from; a new flow goes by its hash), so a connection's
 * state never leaves its shard. Every shard has the same address and the same listeners, as SO_REUSEPORT
 * sockets do; ICMP and UDP are answered by whichever shard a datagram reaches.
 *
 *   JIT warm-up → 'warm' → (supervisor: 'open') → TUN queue opened, services up → 'ready'
 *   'query' → 'answer' (stats, sockets, observe, capture of this shard)
 *   'shutdown' → graceful close → 'down'
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from 'pino';
import { createLogger } from '../log.js';
import { startStack, type RunningStack } from '../run.js';
import type { ShardView } from '../services.js';
import { releaseWarmupMemory, warmUp } from '../warmup.js';
import { socketTable } from '../control/sockets.js';
import { logConnections } from '../control/connlog.js';
import { answerSysctl } from '../control/sysctl.js';
import { startedHttpLimits } from '../control/instance.js';
import { joinSocketTables, sumStats } from './aggregate.js';
import type { FromShard, ShardQuery, ShardStart, ToShard } from './messages.js';
import '../services-all.js';

const port = parentPort;
if (port === null) throw new Error('src/workers/shard.ts runs in a worker thread (tunstack up --workers N)');
const start = workerData as ShardStart;
const logger: Logger = createLogger(start.config.logLevel).child({ shard: start.index });

function post(m: FromShard): void {
  port!.postMessage(m);
}

let running: RunningStack | null = null;
let httpCounters: (() => object) | null = null;
let nextId = 1;
const waiting = new Map<number, { resolve(v: unknown[]): void; reject(e: Error): void }>();

/** Every shard's answer to `query` (this one's included), through the supervisor. */
function gather(query: ShardQuery): Promise<unknown[]> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    post({ t: 'gather', id, query });
  });
}

const view: ShardView = {
  stats: async () => sumStats((await gather({ q: 'stats', withHttp: true })) as Record<string, unknown>[]),
  sockets: async () => joinSocketTables((await gather({ q: 'sockets' })) as ReturnType<typeof socketTable>[]),
  setHttpCounters(c) {
    httpCounters = c;
  },
};

function answer(query: ShardQuery): unknown {
  const r = running;
  if (r === null) throw new Error(`shard ${start.index} is not up`);
  switch (query.q) {
    case 'stats':
      return { ...r.stack.stats.toJSON(), ...(query.withHttp && httpCounters !== null ? { Http: httpCounters() } : {}) };
    case 'sockets':
      return socketTable(r.stack);
    case 'observe':
      return { sampleMs: r.stack.feed.sampleMs, ...r.stack.feed.snapshot() };
    case 'sysctl':
      return answerSysctl({ stack: r.stack, httpLimits: startedHttpLimits(start.up) }, query);
    case 'capture':
      if (query.action === 'start') return r.capture.start(query.file, query.settings);
      if (query.action === 'stop') return r.capture.stop();
      return r.capture.status();
  }
}

function open(): void {
  try {
    running = startStack({ ...start.up, queue: { index: start.index, shards: view } }, logger);
  } catch (e) {
    post({ t: 'failed', error: (e as Error).message });
    return;
  }
  logConnections(running.stack, logger);
  const tun = running.stack.interfaces[0]?.link;
  post({ t: 'ready', tun: start.up.tun, createdTun: running.createdTun, mtu: tun?.mtu ?? 0 });
}

port.on('message', (m: ToShard) => {
  switch (m.t) {
    case 'query': {
      let a: unknown;
      try {
        a = answer(m.query);
      } catch (e) {
        a = { error: (e as Error).message };
      }
      post({ t: 'answer', id: m.id, answer: a ?? null });
      break;
    }
    case 'gathered': {
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (w === undefined) break;
      if (m.answers !== undefined) w.resolve(m.answers);
      else w.reject(new Error(m.error ?? 'no answer'));
      break;
    }
    case 'shutdown':
      if (running === null) post({ t: 'down' });
      else {
        running.shutdown(m.graceMs).then(
          () => post({ t: 'down' }),
          (e: unknown) => {
            logger.error({ err: (e as Error).message }, 'shutdown failed');
            running?.stop();
            post({ t: 'down' });
          },
        );
      }
      break;
    case 'stop':
      running?.stop();
      post({ t: 'down' });
      break;
    case 'open':
      open();
      break;
  }
});

// Fault injection for the supervisor's crash test (test/interop/workers.test.ts): this shard throws after N ms.
const fault = /^(\d+):(\d+)$/.exec(process.env['TUNSTACK_TEST_SHARD_CRASH'] ?? '');

(async () => {
  if (start.up.warmup ?? true) {
    const w = await warmUp();
    releaseWarmupMemory();
    logger.info({ ms: Math.round(w.ms) }, 'JIT warm-up done (in process, no packets)');
  }
  post({ t: 'warm' });
  if (fault && Number(fault[1]) === start.index) {
    setTimeout(() => {
      throw new Error(`TUNSTACK_TEST_SHARD_CRASH: shard ${start.index} fails on purpose`);
    }, Number(fault[2]));
  }
})().catch((e: unknown) => post({ t: 'failed', error: (e as Error).message }));
