/** The control channel client used by `tunstack stats`, `ss` and `capture`. */
import { createConnection } from 'node:net';
import { existsSync } from 'node:fs';
import type { ControlRequest, ControlResponse } from './protocol.js';
import { onLines } from './lines.js';
import { controlDir, controlPathFor, defaultInstanceName, listInstances } from './paths.js';

/** A clear error for a control socket that is missing or dead. */
export class ControlUnavailableError extends Error {
  readonly code = 'ENOINSTANCE';
}

/** The socket path for `--socket`, else `--name`, else `$TUNSTACK_NAME`, else the default name of `$TUNSTACK_TUN` or tun0. */
export function resolveControlPath(opts: { socket?: string; name?: string }, env: NodeJS.ProcessEnv = process.env): string {
  if (opts.socket) return opts.socket;
  if (env['TUNSTACK_CONTROL'] && env['TUNSTACK_CONTROL'] !== 'off') return env['TUNSTACK_CONTROL'];
  const name = opts.name ?? env['TUNSTACK_NAME'] ?? defaultInstanceName(env['TUNSTACK_TUN'] ?? 'tun0');
  return controlPathFor(name, env);
}

function unavailable(path: string, why: string): ControlUnavailableError {
  const others = listInstances().filter((n) => controlPathFor(n) !== path);
  const hint = others.length > 0 ? ` Instances with a control socket in ${controlDir()}: ${others.join(', ')} (use --name).` : '';
  return new ControlUnavailableError(`no tunstack instance answers on ${path} (${why}): is \`tunstack up\` running in this namespace?${hint}`);
}

/** Sends requests over one connection; resolves with the responses in order. */
export function controlRequest(path: string, reqs: ControlRequest[], timeoutMs = 5000): Promise<ControlResponse[]> {
  return new Promise((resolve, reject) => {
    if (!existsSync(path)) return reject(unavailable(path, 'no such socket'));
    const sock = createConnection(path);
    const out: ControlResponse[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the instance on ${path} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once('connect', () => sock.write(reqs.map((r) => JSON.stringify(r)).join('\n') + '\n'));
    onLines(sock, (line) => {
      try {
        out.push(JSON.parse(line) as ControlResponse);
      } catch {
        out.push({ ok: false, error: `bad response line: ${line.slice(0, 200)}` });
      }
      if (out.length === reqs.length) {
        clearTimeout(timer);
        sock.end();
        resolve(out);
      }
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ECONNREFUSED') reject(unavailable(path, 'connection refused: a stale socket left by a crashed instance'));
      else if (e.code === 'ENOENT') reject(unavailable(path, 'no such socket'));
      else if (e.code === 'EACCES') reject(new Error(`permission denied on ${path}: the control socket is for the user running the stack (root)`));
      else reject(e);
    });
    sock.once('close', () => {
      if (out.length < reqs.length) {
        clearTimeout(timer);
        reject(new Error(`the instance on ${path} closed the connection before answering`));
      }
    });
  });
}

/** One request; throws with the instance's error message on `ok: false`. */
export async function controlCall(path: string, req: ControlRequest, timeoutMs = 5000): Promise<Record<string, unknown>> {
  const [res] = await controlRequest(path, [req], timeoutMs);
  if (!res || !res.ok) throw new Error((res as { error?: string } | undefined)?.error ?? 'no response');
  return res;
}
