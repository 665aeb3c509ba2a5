/**
 * Messages between the supervisor (main thread) and the shards (worker threads) of `tunstack up --workers N`.
 * Requests carry an id; the answer carries it back.
 */
import type { ControlResponse } from '../control/protocol.js';
import type { CaptureSettings } from '../control/capture.js';
import type { TunstackConfig } from '../config.js';
import type { UpOptions } from '../run.js';

/** What a shard is started with (workerData). */
export interface ShardStart {
  index: number;
  config: TunstackConfig;
  /** UpOptions without `queue` (the shard adds its own). */
  up: Omit<UpOptions, 'queue'>;
}

/** A question for one shard about its own stack. */
export type ShardQuery =
  | { q: 'stats'; withHttp: boolean }
  | { q: 'sockets' }
  | { q: 'observe' }
  | { q: 'capture'; action: 'start'; file: string; settings: CaptureSettings }
  | { q: 'capture'; action: 'stop' | 'status' }
  /** `tunstack sysctl`: every shard answers for (and writes) its own stack. */
  | { q: 'sysctl'; name?: string; value?: string };

/** Supervisor → shard. */
export type ToShard =
  | { t: 'query'; id: number; query: ShardQuery }
  /** The answer to the shard's own `gather` (every shard's answers, in shard order). */
  | { t: 'gathered'; id: number; answers?: unknown[]; error?: string }
  /** Warm: open the TUN queue and start the services (queue 0 first: it creates the device). */
  | { t: 'open' }
  | { t: 'shutdown'; graceMs: number }
  | { t: 'stop' };

/** Shard → supervisor. */
export type FromShard =
  /** JIT warm-up done: ready to open its queue. */
  | { t: 'warm' }
  | { t: 'ready'; tun: string; createdTun: boolean; mtu: number }
  | { t: 'failed'; error: string }
  | { t: 'answer'; id: number; answer: unknown }
  /** A service of the shard (/_stack/stats, /_stack/sockets) needs every shard's answer to `query`. */
  | { t: 'gather'; id: number; query: ShardQuery }
  | { t: 'down' };

export type { ControlResponse };
