/**
 * Where a running instance's control socket lives.
 *
 * `/run/tunstack/NAME.sock`, NAME being the TUN name by default. Unix socket
 * paths are shared by every network namespace of the machine, while TUN
 * names are per namespace (every test namespace has its own `tun0`): inside a
 * named namespace (`ip netns exec ns1 ...`) the default NAME is therefore
 * `ns1.tun0`. The CLI's `stats`/`ss`/`capture`, run in the same namespace,
 * work the same name out, so `ip netns exec ns1 tunstack stats` just works.
 * In a container, /run is the container's own and NAME is plain `tun0`.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

/** The directory of control sockets: /run/tunstack for root, else $XDG_RUNTIME_DIR/tunstack or a per-user temp dir. */
export function controlDir(env: NodeJS.ProcessEnv = process.env): string {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root) return '/run/tunstack';
  const xdg = env['XDG_RUNTIME_DIR'];
  if (xdg) return join(xdg, 'tunstack');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `tunstack-${uid}`);
}

/** The name of the network namespace this process is in, when it is one `ip netns` named; else null. */
export function currentNetnsName(): string | null {
  let self: { ino: number; dev: number };
  try {
    self = statSync('/proc/self/ns/net');
  } catch {
    return null;
  }
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return null;
  }
  for (const n of names) {
    try {
      const s = statSync(join('/run/netns', n));
      if (s.ino === self.ino && s.dev === self.dev) return n;
    } catch {
      /* a namespace being deleted */
    }
  }
  return null;
}

/** The default instance name for a TUN name: `tun0`, or `NETNS.tun0` inside a named namespace. */
export function defaultInstanceName(tun: string): string {
  const ns = currentNetnsName();
  return ns ? `${ns}.${tun}` : tun;
}

export function controlPathFor(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(controlDir(env), `${name}.sock`);
}

/** Control sockets present in the control directory (names without `.sock`), for error messages. */
export function listInstances(env: NodeJS.ProcessEnv = process.env): string[] {
  try {
    return readdirSync(controlDir(env))
      .filter((f) => f.endsWith('.sock'))
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}
