/**
 * `tunstack up --workers N`: N stack shards, each in a worker thread on its own queue of a multi-queue TUN,
 * run by this (main) thread — the "socket sharding" server pattern done at the link.
 *
 *   preflight → control socket → N threads warm up in parallel → queue 0 opens (creates the device) →
 *   queues 1..N-1 attach → serve: control requests aggregate every shard (stats summed, sockets joined) →
 *   SIGTERM: every shard shuts down gracefully → exit 0.
 *
 * A shard that dies (an exception, an exit) takes the process down with a non-zero status: the kernel would
 * otherwise keep steering that queue's flows to nobody, and half the flows would fail silently.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { TunstackConfig } from '../config.js';
import type { UpOptions } from '../run.js';
import { ControlServer } from '../control/server.js';
import type { ControlRequest, ControlResponse } from '../control/protocol.js';
import { preflight } from '../control/preflight.js';
import { captureSettingsOf } from '../control/capture.js';
import { refuseSecondInstance } from '../control/tun-owner.js';
import { exitOnSignals, instanceIdentity, instanceInfo } from '../control/instance.js';
import type { SocketTable } from '../control/sockets.js';
import { joinSocketTables, sumStats } from './aggregate.js';
import { YOUNG_GENERATION_CAP } from '../gc-tuning.js';
import type { FromShard, ShardQuery, ShardStart, ToShard } from './messages.js';

/** `x.pcap` → `x.2.pcap` (shard 2's capture); without an extension, `x.2`. */
export function shardFile(file: string, index: number): string {
  const m = /^(.*?)(\.[^./]*)?$/.exec(file)!;
  return `${m[1]}.${index}${m[2] ?? ''}`;
}

/** Options `--workers` cannot be combined with (clear errors, before anything starts). */
export function workersConflict(up: Pick<UpOptions, 'topology' | 'forward'>): string | null {
  if (up.topology !== undefined) return '--workers cannot be combined with --topology: a virtual network behind the TUN is one stack';
  if (up.forward) return '--workers cannot be combined with --forward: a router shard would not see the other shards\' flows';
  return null;
}

class Shard {
  readonly worker: Worker;
  state: 'warming' | 'warm' | 'ready' | 'down' | 'dead' = 'warming';
  private nextId = 1;
  private readonly pending = new Map<number, (a: unknown) => void>();
  private readonly waiters: { want: FromShard['t']; resolve(m: FromShard): void; reject(e: Error): void }[] = [];
  onGather: ((id: number, query: ShardQuery) => void) | null = null;
  onDeath: ((why: string) => void) | null = null;

  constructor(
    readonly index: number,
    start: ShardStart,
  ) {
    // The young generation at the same cap as the main thread's (gc-tuning.ts): 3 × an 8 MiB semi-space.
    this.worker = new Worker(new URL('./shard.js', import.meta.url), { workerData: start, resourceLimits: { maxYoungGenerationSizeMb: (3 * YOUNG_GENERATION_CAP) / 2 / (1 << 20) } });
    this.worker.on('message', (m: FromShard) => this.onMessage(m));
    this.worker.on('error', (e: Error) => this.died(`failed: ${e.message}`));
    this.worker.on('exit', (code: number) => {
      if (this.state !== 'down') this.died(`exited (code ${code}) without being asked to`);
      else this.state = 'dead';
    });
  }

  private onMessage(m: FromShard): void {
    switch (m.t) {
      case 'warm':
        this.state = 'warm';
        break;
      case 'ready':
        this.state = 'ready';
        break;
      case 'down':
        this.state = 'down';
        break;
      case 'answer': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.(m.answer);
        return;
      }
      case 'gather':
        this.onGather?.(m.id, m.query);
        return;
      case 'failed':
        break;
    }
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i]!;
      if (m.t === w.want || m.t === 'failed') {
        this.waiters.splice(i--, 1);
        if (m.t === 'failed') w.reject(new Error(m.error));
        else w.resolve(m);
      }
    }
  }

  private died(why: string): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    for (const w of this.waiters.splice(0)) w.reject(new Error(`shard ${this.index} ${why}`));
    for (const p of this.pending.values()) p({ error: `shard ${this.index} ${why}` });
    this.pending.clear();
    this.onDeath?.(why);
  }

  send(m: ToShard): void {
    if (this.state !== 'dead') this.worker.postMessage(m);
  }

  /** The next message of kind `want` (a 'failed' message, or the thread's death, rejects). */
  expect(want: FromShard['t']): Promise<FromShard> {
    if (this.state === 'dead') return Promise.reject(new Error(`shard ${this.index} is gone`));
    return new Promise((resolve, reject) => this.waiters.push({ want, resolve, reject }));
  }

  ask(query: ShardQuery): Promise<unknown> {
    if (this.state === 'dead') return Promise.resolve({ error: `shard ${this.index} is gone` });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ t: 'query', id, query });
    });
  }
}

export interface Supervisor {
  /** Graceful shutdown of every shard; resolves when all are down. */
  shutdown(reason: string): Promise<void>;
  /** Stops every shard at once. */
  stop(): void;
}

/** Starts N shards and the control socket; resolves once every shard serves. */
export async function startSupervisor(config: TunstackConfig, up: UpOptions, logger: Logger, onFatal: (why: string) => void): Promise<Supervisor> {
  const conflict = workersConflict(up);
  if (conflict) throw new Error(conflict);
  preflight(config);
  await refuseSecondInstance(config.tun); // before the shards warm up
  const n = config.workers;
  const { name, controlPath } = instanceIdentity(config);
  const control = controlPath ? await ControlServer.claim(controlPath, logger) : null;
  // Each shard captures its own queue's packets (--pcap x.pcap: x.0.pcap, x.1.pcap, ...).
  const { pcap, queue: _queue, ...shardUp } = up;
  const shards = Array.from({ length: n }, (_, i) => new Shard(i, { index: i, config, up: { ...shardUp, ...(pcap !== undefined ? { pcap: shardFile(pcap, i) } : {}) } }));
  let stopping = false;
  const ask = (query: ShardQuery): Promise<unknown[]> => Promise.all(shards.map((s) => s.ask(query)));
  for (const s of shards) {
    s.onGather = (id, query) => {
      ask(query).then(
        (answers) => s.send({ t: 'gathered', id, answers }),
        (e: unknown) => s.send({ t: 'gathered', id, error: (e as Error).message }),
      );
    };
    s.onDeath = (why) => {
      if (stopping) return;
      logger.error({ shard: s.index, why }, `shard ${s.index} ${why}: stopping every shard (its queue's flows would go unanswered)`);
      onFatal(`shard ${s.index} ${why}`);
    };
  }
  const stopAll = (): void => {
    stopping = true;
    for (const s of shards) s.send({ t: 'stop' });
  };
  try {
    // Warm-ups in parallel; then queue 0 creates (or first attaches to) the device, the others join it.
    await Promise.all(shards.map((s) => (s.state === 'warm' ? Promise.resolve() : s.expect('warm'))));
    const first = shards[0]!.expect('ready');
    shards[0]!.send({ t: 'open' });
    await first;
    await Promise.all(
      shards.slice(1).map((s) => {
        const r = s.expect('ready');
        s.send({ t: 'open' });
        return r;
      }),
    );
  } catch (e) {
    stopAll();
    await control?.close();
    await Promise.all(shards.map((s) => s.worker.terminate()));
    throw e;
  }
  const startedAt = new Date();
  logger.info({ tun: config.tun, addr: config.addr, workers: n }, `${n} shards up, one TUN queue each`);

  const handle = async (req: ControlRequest): Promise<ControlResponse> => {
    switch (req.cmd) {
      case 'info':
        return { ok: true, ...instanceInfo(config, name, startedAt), workers: n, capture: await ask({ q: 'capture', action: 'status' }) };
      case 'stats':
        return { ok: true, name, at: new Date().toISOString(), workers: n, stats: sumStats((await ask({ q: 'stats', withHttp: false })) as Record<string, unknown>[]) };
      case 'sockets':
        return { ok: true, name, workers: n, ...joinSocketTables((await ask({ q: 'sockets' })) as SocketTable[]) };
      case 'observe':
        // The observatory's samples are per shard: the control socket shows shard 0 (the dashboard, the shard that serves it).
        return { ok: true, name, at: new Date().toISOString(), shard: 0, workers: n, ...((await shards[0]!.ask({ q: 'observe' })) as object) };
      case 'subscribe':
        return { ok: false, error: 'subscribe is answered by the stream handler' };
      case 'sysctl': {
        // Every shard holds its own stack: a write goes to each; the answer is shard 0's (a failure, the first).
        const r = (await ask({ q: 'sysctl', ...(req.name !== undefined ? { name: req.name } : {}), ...(req.value !== undefined ? { value: req.value } : {}) })) as ControlResponse[];
        return r.find((x) => !x.ok) ?? r[0]!;
      }
      case 'connect':
        return { ok: false, error: 'connect through the control socket needs a single-shard instance (this one runs --workers)' };
      case 'capture': {
        if (req.action === 'start') {
          const files = shards.map((s) => shardFile(req.file, s.index));
          const r = await Promise.all(shards.map((s, i) => s.ask({ q: 'capture', action: 'start', file: files[i]!, settings: captureSettingsOf(req) })));
          return { ok: true, file: files.join(', '), files, shards: r };
        }
        const r = (await ask({ q: 'capture', action: req.action })) as ({ file?: string; packets?: number; bytes?: number; capturing?: boolean } | null)[];
        if (req.action === 'stop' && r.every((x) => x === null)) return { ok: false, error: 'no capture is running' };
        const files = r.map((x) => x?.file).filter((f): f is string => typeof f === 'string');
        return {
          ok: true,
          capturing: r.some((x) => x?.capturing === true),
          file: files.join(', '),
          packets: r.reduce((a, x) => a + (x?.packets ?? 0), 0),
          bytes: r.reduce((a, x) => a + (x?.bytes ?? 0), 0),
          shards: r,
        };
      }
    }
  };
  control?.setHandler(handle);
  control?.setStreamHandler(() => ({
    ok: false,
    error: `with --workers the event feed is per shard: subscribe to a shard's feed on its HTTP server (/_stack/events); the control socket has none`,
  }));
  if (controlPath) logger.info({ control: controlPath, name }, 'control socket ready');

  let down: Promise<void> | null = null;
  return {
    shutdown(reason: string) {
      if (down) return down;
      stopping = true;
      logger.info({ reason, graceMs: config.graceMs }, 'shutting down');
      down = (async () => {
        await control?.close();
        await Promise.all(
          shards.map((s) => {
            if (s.state === 'dead' || s.state === 'down') return Promise.resolve();
            const d = s.expect('down').catch(() => undefined);
            s.send({ t: 'shutdown', graceMs: config.graceMs });
            return d;
          }),
        );
        await Promise.all(shards.map((s) => s.worker.terminate()));
      })();
      return down;
    },
    stop() {
      stopAll();
    },
  };
}

/** Runs N shards until SIGINT/SIGTERM (exit 0), a second signal (exit 1) or a shard's death (exit 1). */
export async function runSupervisor(config: TunstackConfig, up: UpOptions, logger: Logger): Promise<void> {
  let sup: Supervisor | null = null;
  let fatal = false;
  const onFatal = (): void => {
    if (fatal) return;
    fatal = true;
    if (sup === null) return; // still starting: startSupervisor rejects and the caller exits non-zero
    // The other shards close their queues (and the device, if we made it), then the process fails.
    sup.stop();
    setTimeout(() => process.exit(1), 500);
  };
  sup = await startSupervisor(config, up, logger, onFatal);
  if (fatal) {
    sup.stop();
    process.exit(1);
  }
  const s = sup;
  exitOnSignals(logger, config.graceMs, { shutdown: (sig) => s.shutdown(sig), stopNow: () => s.stop(), exitCode: () => (fatal ? 1 : 0) });
}
