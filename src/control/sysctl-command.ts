/**
 * `tunstack sysctl [-a | NAME[=VALUE] ...]`: a running stack's tunables over its control socket, like
 * sysctl(8): `name = value` lines; NAME=VALUE writes (on a running stack only the `run` tunables; the others
 * answer how to set them at start). Arguments are handled in order; a failed one is reported on stderr and
 * makes the exit code 1, the others still run (as sysctl(8) does).
 */
import { controlRequest, resolveControlPath } from './client.js';
import type { ControlRequest } from './protocol.js';
import type { SysctlRow } from './sysctl.js';
import type { Target } from './commands.js';

export interface SysctlOptions extends Target {
  all?: boolean;
  /** Values only (sysctl -n). */
  values?: boolean;
  /** With each line, its unit and meaning. */
  describe?: boolean;
  json?: boolean;
}

/** `name = value` (sysctl's format), or the value alone, or with its meaning. */
export function formatSysctlRow(r: SysctlRow, opts: { values?: boolean; describe?: boolean } = {}): string {
  if (opts.values) return r.value;
  const line = `${r.name} = ${r.value}`;
  if (!opts.describe) return line;
  return `${line}${r.unit ? ` (${r.unit})` : ''}${r.writable ? '' : ' [read-only at run time]'}  # ${r.text}`;
}

/** A NAME=VALUE argument as a request (a name alone reads). */
export function sysctlRequestOf(arg: string): ControlRequest {
  const eq = arg.indexOf('=');
  if (eq < 0) return { cmd: 'sysctl', name: arg.trim() };
  return { cmd: 'sysctl', name: arg.slice(0, eq).trim(), value: arg.slice(eq + 1).trim() };
}

export async function sysctlCommand(args: readonly string[], opts: SysctlOptions, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  if (opts.all && args.length > 0) throw new Error('sysctl: give -a or names, not both');
  if (!opts.all && args.length === 0) throw new Error('sysctl: give -a (every tunable), NAME (read) or NAME=VALUE (write)');
  const reqs: ControlRequest[] = opts.all ? [{ cmd: 'sysctl' }] : args.map(sysctlRequestOf);
  const answers = await controlRequest(resolveControlPath(opts), reqs);
  let code = 0;
  const rows: SysctlRow[] = [];
  for (const a of answers) {
    if (!a.ok) {
      err.write(`tunstack sysctl: ${a.error}\n`);
      code = 1;
      continue;
    }
    rows.push(...((a['entries'] as SysctlRow[] | undefined) ?? []));
  }
  if (opts.json) out.write(`${JSON.stringify(rows)}\n`);
  else if (rows.length > 0) out.write(`${rows.map((r) => formatSysctlRow(r, opts)).join('\n')}\n`);
  return code;
}
