/**
 * `tunstack up` as an operated process: checks, the control socket, the
 * stack, signals.
 *
 *   preflight  →  claim /run/tunstack/NAME.sock  →  startStack  →  serve control requests
 *   SIGTERM/SIGINT → stop accepting control requests → graceful shutdown
 *   (services stop, connections FIN within the grace period, RST after) →
 *   capture flushed, TUN closed (gone, if we created it) → exit 0.
 *   A second signal during the grace period stops at once (exit 1).
 */
import type { Logger } from 'pino';
import type { TunstackConfig } from '../config.js';
import { startStack, type RunningStack, type UpOptions } from '../run.js';
import { ControlServer } from './server.js';
import type { ControlRequest, ControlResponse } from './protocol.js';
import { controlPathFor, defaultInstanceName } from './paths.js';
import { preflight } from './preflight.js';
import { socketTable } from './sockets.js';
import { releaseWarmupMemory, warmUp } from '../warmup.js';
import { logConnections } from './connlog.js';
import { captureSettingsOf } from './capture.js';
import { netnsId, refuseSecondInstance } from './tun-owner.js';
import { subscribeControl } from '../observe/control.js';
import { connectFromStack } from './connect-pipe.js';
import { answerSysctl } from './sysctl.js';
import { resolveHttpLimits, type HttpLimits } from '../http/limits.js';

/** The limits the HTTP server of `up` runs with (what `sysctl tunstack.http.*` reports). */
export function startedHttpLimits(up: UpOptions): HttpLimits {
  return resolveHttpLimits(up.http !== undefined && up.http !== 'off' ? (up.http.limits ?? {}) : {});
}

export interface Instance {
  running: RunningStack;
  control: ControlServer | null;
  name: string;
  /** Graceful shutdown; resolves when the stack is down. */
  shutdown(reason: string): Promise<void>;
}

/** The instance name and control socket path a config resolves to (path null: control off). */
export function instanceIdentity(config: TunstackConfig): { name: string; controlPath: string | null } {
  const name = config.name ?? defaultInstanceName(config.tun);
  const controlPath = config.control === 'off' ? null : (config.control ?? controlPathFor(name));
  return { name, controlPath };
}

/** The part of the control socket's `info` answer every instance gives: who it is and since when. */
export function instanceInfo(config: TunstackConfig, name: string, startedAt: Date): Record<string, unknown> {
  return {
    pid: process.pid,
    name,
    tun: config.tun,
    addr: config.addr,
    peer: config.peer,
    mtu: config.mtu,
    http: config.http,
    startedAt: startedAt.toISOString(),
    uptimeMs: Date.now() - startedAt.getTime(),
    netns: netnsId(),
  };
}

/** Adds operator hints to errors from opening the TUN device. */
function explainTunError(e: unknown, config: TunstackConfig): Error {
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'EBUSY') {
    return new Error(
      `${err.message}. It is not a tunstack that answers on a control socket here (\`tunstack stats --name NAME\` would show one); ` +
        'two stacks cannot share one TUN device',
    );
  }
  return err instanceof Error ? err : new Error(String(e));
}

export async function startInstance(config: TunstackConfig, up: UpOptions, logger: Logger): Promise<Instance> {
  preflight(config);
  // Before the warm-up: a second instance on the same device stops at once, naming the first.
  await refuseSecondInstance(config.tun);
  const { name, controlPath } = instanceIdentity(config);
  const control = controlPath ? await ControlServer.claim(controlPath, logger) : null;
  if (up.warmup ?? true) {
    const w = await warmUp();
    releaseWarmupMemory();
    logger.info({ ms: Math.round(w.ms), requests: w.requests, connections: w.connections, downloaded: w.downloaded, uploaded: w.uploaded }, 'JIT warm-up done (in process, no packets)');
  }
  let running: RunningStack;
  try {
    running = startStack(up, logger);
  } catch (e) {
    await control?.close();
    throw explainTunError(e, config);
  }
  const startedAt = new Date();
  const httpLimits = startedHttpLimits(up);
  logConnections(running.stack, logger);
  const handle = (req: ControlRequest): ControlResponse => {
    switch (req.cmd) {
      case 'info':
        return { ok: true, ...instanceInfo(config, name, startedAt), createdTun: running.createdTun, capture: running.capture.status() };
      case 'stats':
        return { ok: true, name, at: new Date().toISOString(), stats: running.stack.stats.toJSON() };
      case 'sockets':
        return { ok: true, name, ...socketTable(running.stack) };
      case 'observe':
        return { ok: true, name, at: new Date().toISOString(), sampleMs: running.stack.feed.sampleMs, ...running.stack.feed.snapshot() };
      case 'subscribe':
        return { ok: false, error: 'subscribe is answered by the stream handler' };
      case 'sysctl':
        return answerSysctl({ stack: running.stack, httpLimits }, req);
      case 'connect':
        return { ok: false, error: 'connect is answered by the pipe handler' };
      case 'capture':
        if (req.action === 'start') return { ok: true, ...running.capture.start(req.file, captureSettingsOf(req)) };
        if (req.action === 'stop') {
          const st = running.capture.stop();
          if (!st) return { ok: false, error: 'no capture is running' };
          return { ok: true, ...st };
        }
        return { ok: true, ...running.capture.status() };
    }
  };
  control?.setHandler(handle);
  control?.setStreamHandler((req, stream) => subscribeControl(running.stack, req, stream));
  control?.setPipeHandler((req, pipe) => connectFromStack(running.stack, req, pipe, logger));
  if (controlPath) logger.info({ control: controlPath, name }, 'control socket ready');

  let down: Promise<void> | null = null;
  return {
    running,
    control,
    name,
    shutdown(reason: string) {
      if (down) return down;
      logger.info({ reason, graceMs: config.graceMs }, 'shutting down');
      down = (async () => {
        await control?.close();
        await running.shutdown(config.graceMs);
      })();
      return down;
    },
  };
}

/**
 * Runs an instance until SIGINT/SIGTERM; exits the process: 0 after a
 * graceful shutdown, 1 when a second signal (or the watchdog) cut it short.
 */
export async function runInstance(config: TunstackConfig, up: UpOptions, logger: Logger): Promise<void> {
  const inst = await startInstance(config, up, logger);
  exitOnSignals(logger, config.graceMs, {
    shutdown: (sig) => inst.shutdown(sig),
    stopNow: () => inst.running.stop(),
    exitCode: () => 0,
  });
}

/**
 * SIGINT/SIGTERM: a graceful shutdown, then exit with `exitCode()`; a second signal, a failed shutdown, or the
 * watchdog (the grace period plus a margin, whatever happens) stops at once and exits 1.
 */
export function exitOnSignals(logger: Logger, graceMs: number, how: { shutdown(sig: NodeJS.Signals): Promise<void>; stopNow(): void; exitCode(): number }): void {
  let signalled = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      logger.warn({ signal: sig }, 'second signal: stopping now');
      how.stopNow();
      process.exit(1);
    }
    signalled = true;
    setTimeout(() => {
      logger.error('graceful shutdown did not finish in time: stopping now');
      how.stopNow();
      process.exit(1);
    }, graceMs + 5000).unref();
    how.shutdown(sig).then(
      () => process.exit(how.exitCode()),
      (e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        how.stopNow();
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
