/**
 * Built-in services the CLI can start on a stack (`--services echo,dns`).
 * Each transport module registers its services here; `all` means every
 * registered one. A name that is not registered is a clear error, never a
 * silent no-op.
 */
import type { Stack } from './stack.js';
import type { ShardView } from './run.js';
import type { HttpLimits } from './http/limits.js';

export interface ServiceContext {
  /** Extra names the DNS responder answers for (`--hostname`). */
  hostnames: string[];
  /** The `http` service's port, static directory and limits (`--http`, `--static`, `--http-limit`); defaults when absent. */
  http?: { port?: number; staticDir?: string; limits?: Partial<HttpLimits> };
  /** The `https` service's port and certificate files (`--https`, `--tls-cert`, `--tls-key`); a self-signed certificate when absent. */
  https?: { port?: number; certFile?: string; keyFile?: string };
  /** The observatory dashboard on the HTTP server: the token it requires (`--dashboard-token`). */
  dashboard?: { token: string | null };
  /** Under `--workers N`: the whole sharded stack, whose counters and sockets /_stack/stats and /_stack/sockets show. */
  shards?: ShardView;
}

/** Starts a service; returns a function that stops it. */
export type ServiceStarter = (stack: Stack, ctx: ServiceContext) => () => void;

export interface ServiceInfo {
  name: string;
  description: string;
  start: ServiceStarter;
}

const registry = new Map<string, ServiceInfo>();
/** Names that stand for several services, e.g. `echo` → echo-tcp and echo-udp. Each transport adds its member. */
const aliases = new Map<string, Set<string>>();

export function registerService(info: ServiceInfo): void {
  registry.set(info.name, info);
}

/** Makes `alias` (also) start the service `member`: `registerAlias('echo', 'echo-udp')`. */
export function registerAlias(alias: string, member: string): void {
  let set = aliases.get(alias);
  if (!set) {
    set = new Set();
    aliases.set(alias, set);
  }
  set.add(member);
}

/** The aliases and the registered services each one starts. */
export function knownAliases(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [a, m] of aliases) out.set(a, [...m].filter((n) => registry.has(n)));
  return out;
}

export function knownServices(): ServiceInfo[] {
  return [...registry.values()];
}

/** Resolves a `--services` list (`all`, `none`, or comma-separated names) to services, or an Error naming the unknown ones. */
export function resolveServices(list: string): ServiceInfo[] | Error {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 1 && names[0] === 'none') return [];
  if (names.includes('all')) return knownServices();
  const expanded: string[] = [];
  for (const n of names) {
    const members = aliases.get(n);
    const live = members && !registry.has(n) ? [...members].filter((m) => registry.has(m)) : [];
    if (live.length > 0) expanded.push(...live);
    else expanded.push(n);
  }
  const unknown = expanded.filter((n) => !registry.has(n));
  if (unknown.length > 0) {
    const avail = [...registry.keys(), ...[...aliases.keys()].filter((a) => !registry.has(a))].join(', ') || '(none yet)';
    return new Error(`unknown service(s): ${unknown.join(', ')}; available: ${avail}`);
  }
  return [...new Set(expanded)].map((n) => registry.get(n)!);
}
