/**
 * Built-in services the CLI can start on a stack (`--services echo,dns`).
 * Each transport module registers its services here; `all` means every
 * registered one. A name that is not registered is a clear error, never a
 * silent no-op.
 */
import type { Stack } from './stack.js';

export interface ServiceContext {
  /** Extra names the DNS responder answers for (`--hostname`). */
  hostnames: string[];
}

/** Starts a service; returns a function that stops it. */
export type ServiceStarter = (stack: Stack, ctx: ServiceContext) => () => void;

export interface ServiceInfo {
  name: string;
  description: string;
  start: ServiceStarter;
}

const registry = new Map<string, ServiceInfo>();

export function registerService(info: ServiceInfo): void {
  registry.set(info.name, info);
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
  const unknown = names.filter((n) => !registry.has(n));
  if (unknown.length > 0) {
    const avail = [...registry.keys()].join(', ') || '(none yet)';
    return new Error(`unknown service(s): ${unknown.join(', ')}; available: ${avail}`);
  }
  return names.map((n) => registry.get(n)!);
}
