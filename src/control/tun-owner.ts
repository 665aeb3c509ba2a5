/**
 * Which running tunstack instance has a TUN device: asked of every control
 * socket before `up` warms up, so a second instance on the same device stops
 * at once with the first one's name and pid. Control sockets are shared by
 * all network namespaces while TUN names are not, so an instance counts only
 * when it runs in this process's namespace.
 */
import { readlinkSync } from 'node:fs';
import { controlCall } from './client.js';
import { controlPathFor, listInstances } from './paths.js';

/** This process's network namespace (`net:[4026531840]`), or null where /proc does not tell. */
export function netnsId(): string | null {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return null;
  }
}

export interface TunOwner {
  name: string;
  pid: number;
}

/** The instance running on `tun` in this namespace, or null (instances that do not answer within `timeoutMs` are passed over). */
export async function instanceOnTun(tun: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 1000): Promise<TunOwner | null> {
  const here = netnsId();
  for (const name of listInstances(env)) {
    let info: Record<string, unknown>;
    try {
      info = await controlCall(controlPathFor(name, env), { cmd: 'info' }, timeoutMs);
    } catch {
      continue; // a stale socket, or one that does not answer: not an owner we can name
    }
    if (info['tun'] === tun && info['netns'] === here) return { name: typeof info['name'] === 'string' ? info['name'] : name, pid: Number(info['pid']) };
  }
  return null;
}

/** Throws one line naming the instance already running on `tun` in this namespace, if there is one. */
export async function refuseSecondInstance(tun: string): Promise<void> {
  const owner = await instanceOnTun(tun);
  if (owner === null) return;
  throw new Error(
    `another tunstack instance (pid ${owner.pid}, named ${owner.name}) is already running on TUN ${tun}: stop it (kill ${owner.pid}), or give this one its own --tun; \`tunstack stats --name ${owner.name}\` shows it`,
  );
}
