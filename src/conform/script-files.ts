/**
 * Files a script makes and reads: its shell lines may create a file of zeros (`dd if=/dev/zero of=F bs=N
 * count=M`, as packetdrill's sendfile scripts do, since packetdrill's payloads are zeros) or remove one
 * (`rm -f F`); open(2) then reads it. These files live in the run, never on the disk: a script cannot touch
 * the machine's files, and two runs in parallel do not share them. A file the script did not make is read
 * from the disk (path relative to the script's folder, as packetdrill resolves it), read-only.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** The files made by one run's shell lines (absolute or as written paths → contents; null: removed). */
export type ScriptFiles = Map<string, Uint8Array | null>;

const DD = /^(?:\S*\/)?dd(\s+\S+=\S+)+$/;
const RM = /^(?:\S*\/)?rm\s+(-f\s+)?(\S+)$/;

/**
 * Runs `cmd` when it is a file command the runner models (`dd if=/dev/zero of=F bs=N count=M [status=none]`,
 * `rm [-f] F`); returns a description of what it did, or undefined when `cmd` is something else.
 */
export function applyFileCommand(files: ScriptFiles, cmd: string): string | undefined {
  const rm = RM.exec(cmd);
  if (rm) {
    files.set(rm[2]!, null);
    return `removed ${rm[2]!} (run-local file)`;
  }
  if (!DD.test(cmd)) return undefined;
  const args = new Map<string, string>();
  for (const w of cmd.split(/\s+/).slice(1)) {
    const i = w.indexOf('=');
    args.set(w.slice(0, i), w.slice(i + 1));
  }
  const of = args.get('of');
  const bs = Number(args.get('bs') ?? '512');
  const count = Number(args.get('count') ?? 'NaN');
  const known = [...args.keys()].every((k) => k === 'if' || k === 'of' || k === 'bs' || k === 'count' || k === 'status');
  if (args.get('if') !== '/dev/zero' || of === undefined || !known || !Number.isInteger(bs) || !Number.isInteger(count) || bs < 1 || count < 0 || bs * count > 64 << 20) return undefined;
  files.set(of, new Uint8Array(bs * count));
  return `made ${of}: ${bs * count} zero bytes (run-local file)`;
}

/** The contents of `path` for open(2): a file the script made, else the disk's (relative to `dir`); undefined when there is none. */
export function readScriptFile(files: ScriptFiles, path: string, dir: string | undefined): Uint8Array | undefined {
  if (files.has(path)) return files.get(path) ?? undefined;
  const p = resolve(dir ?? process.cwd(), path);
  if (!existsSync(p) || !statSync(p).isFile()) return undefined;
  return readFileSync(p);
}
