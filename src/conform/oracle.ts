/**
 * The Linux oracle (`tunstack conform --oracle linux --packetdrill PATH FILE|DIR`): every
 * script runs twice — real packetdrill against this machine's kernel, in a network namespace
 * of its own, and our runner against tunstack — and one table shows both verdicts and the
 * first difference (packetdrill's error line against ours).
 *
 * packetdrill is never part of the project: PATH is a packetdrill binary, or a source checkout
 * of google/packetdrill (its root or `gtests/net/packetdrill`) that is built in place with
 * `./configure && make` (bison and flex needed).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { runScript, type ScriptResult } from './runner.js';
import { parseScript } from './parse.js';
import type { EventTime, TimePoint } from './ast.js';

/** The options packetdrill itself knows: only these are passed to it (the rest are our runner's). */
const PACKETDRILL_OPTIONS = new Set([
  'tolerance_usecs',
  'tolerance_percent',
  'tcp_ts_tick_usecs',
  'tcp_ts_ecr_scaled',
  'strict_segments',
  'non_fatal',
  'bind_port',
  'connect_port',
  'local_ip',
  'remote_ip',
  'gateway_ip',
  'netmask_ip',
  'mtu',
  'mss',
  'ip_version',
  'dry_run',
  'verbose',
  'init_scripts',
  'speed',
]);

/** Option words (`--name=value`, `-v`, `-Dx=y`) packetdrill understands, in order. */
export function packetdrillOptionWords(words: readonly string[]): string[] {
  return words.filter((w) => {
    if (w === '-v' || w.startsWith('-D')) return true;
    const m = /^--([A-Za-z_][\w-]*)/.exec(w);
    return m !== null && PACKETDRILL_OPTIONS.has(m[1]!.replace(/-/g, '_'));
  });
}

/** What the environment offers the oracle; injectable so the checks are testable without root. */
export interface OracleEnvironment {
  isRoot(): boolean;
  /** Whether a command is on PATH. */
  hasCommand(name: string): boolean;
  /** Whether the kernel lets us create (and delete) a network namespace with a TUN device available. */
  netnsProbe(): string | undefined;
}

export const systemEnvironment: OracleEnvironment = {
  isRoot: () => typeof process.getuid === 'function' && process.getuid() === 0,
  hasCommand: (name) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0,
  netnsProbe: () => {
    if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun (packetdrill needs a TUN device)';
    const ns = namespaceName('probe');
    const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
    if (add.status !== 0) return `cannot create a network namespace (ip netns add: ${(add.stderr || 'failed').trim().split('\n')[0]})`;
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    return undefined;
  },
};

/** Raised for anything that keeps the oracle from running: one line, said as it is. */
export class OracleUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OracleUnavailable';
  }
}

let namespaceCounter = 0;
function namespaceName(tag: string): string {
  return `tsoracle${process.pid}${tag}${namespaceCounter++}`.slice(0, 15);
}

/** The packetdrill source folder inside PATH (a checkout root or the folder itself), if any. */
function sourceFolder(path: string): string | undefined {
  for (const d of [join(path, 'gtests', 'net', 'packetdrill'), path]) {
    if (existsSync(join(d, 'configure')) && existsSync(join(d, 'packetdrill.c'))) return d;
  }
  return undefined;
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks the oracle's prerequisites and returns the packetdrill binary to run, building it
 * from a source checkout when needed. Throws OracleUnavailable with one line.
 */
export function preparePacketdrill(oracle: string | undefined, packetdrill: string | undefined, env: OracleEnvironment = systemEnvironment, build: (dir: string) => string | undefined = buildPacketdrill): string {
  if (oracle === undefined) throw new OracleUnavailable('--packetdrill is for the Linux oracle: add --oracle linux');
  if (oracle !== 'linux') throw new OracleUnavailable(`--oracle takes 'linux' (got '${oracle ?? ''}')`);
  if (packetdrill === undefined || packetdrill === '') throw new OracleUnavailable('--oracle linux needs --packetdrill PATH (a packetdrill binary or a google/packetdrill checkout)');
  if (!existsSync(packetdrill)) throw new OracleUnavailable(`--packetdrill ${packetdrill}: no such file or directory`);
  if (!env.isRoot()) throw new OracleUnavailable('--oracle linux needs root: packetdrill runs in a network namespace of its own');
  if (!env.hasCommand('ip')) throw new OracleUnavailable("--oracle linux needs the 'ip' command (iproute2) to create network namespaces");
  const missing = env.netnsProbe();
  if (missing !== undefined) throw new OracleUnavailable(`--oracle linux: the kernel does not allow it: ${missing}`);
  if (isExecutableFile(packetdrill)) return packetdrill;
  if (!statSync(packetdrill).isDirectory()) throw new OracleUnavailable(`--packetdrill ${packetdrill}: neither an executable nor a folder`);
  const src = sourceFolder(packetdrill);
  if (src === undefined) {
    const bin = join(packetdrill, 'packetdrill');
    if (isExecutableFile(bin)) return bin;
    throw new OracleUnavailable(`--packetdrill ${packetdrill}: no packetdrill binary and no packetdrill sources (configure, packetdrill.c) there`);
  }
  const bin = join(src, 'packetdrill');
  if (isExecutableFile(bin)) return bin;
  for (const tool of ['bison', 'flex', 'make', 'cc']) {
    if (!env.hasCommand(tool)) throw new OracleUnavailable(`--packetdrill ${packetdrill}: building packetdrill needs '${tool}' (apt-get install bison flex build-essential)`);
  }
  const err = build(src);
  if (err !== undefined) throw new OracleUnavailable(`--packetdrill ${packetdrill}: the build failed: ${err}`);
  if (!isExecutableFile(bin)) throw new OracleUnavailable(`--packetdrill ${packetdrill}: the build made no ${bin}`);
  return bin;
}

/** `./configure && make` in the packetdrill source folder; the last error line, or undefined. */
function buildPacketdrill(dir: string): string | undefined {
  const r = spawnSync('sh', ['-c', './configure >/dev/null && make -j2 >/dev/null'], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
  if (r.status === 0) return undefined;
  const lines = (r.stderr || '').trim().split('\n').filter((l) => l.trim() !== '');
  return lines.at(-1) ?? `exit status ${r.status ?? 'killed'}`;
}

// ---------------------------------------------------------------- the Linux side

export type LinuxVerdict = 'pass' | 'fail' | 'timeout';

export interface LinuxOutcome {
  verdict: LinuxVerdict;
  /** packetdrill's first error line ('' on pass). */
  firstError: string;
}

/** The first line of packetdrill's output that says what went wrong. */
export function packetdrillFirstError(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const err = lines.find((l) => /^\S+:\d+: (error|runtime error|syntax error)/i.test(l) || /\berror\b/i.test(l));
  return err ?? lines[0] ?? '';
}

/** Namespaces this process has made and not yet deleted (deleted on exit, whatever the path). */
const liveNamespaces = new Set<string>();
let exitHooked = false;

function deleteNamespace(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  liveNamespaces.delete(ns);
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const ns of [...liveNamespaces]) deleteNamespace(ns);
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const ns of [...liveNamespaces]) deleteNamespace(ns);
      process.exit(130);
    });
  }
}

/** Runs one script with real packetdrill in a fresh network namespace, from the script's folder. */
export async function runOnLinux(packetdrill: string, file: string, optionWords: readonly string[], timeoutMs = 60_000): Promise<LinuxOutcome> {
  hookExit();
  const ns = namespaceName('s');
  const add = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (add.status !== 0) throw new OracleUnavailable(`ip netns add ${ns} failed: ${(add.stderr || '').trim().split('\n')[0] ?? ''}`);
  liveNamespaces.add(ns);
  try {
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
    const args = ['netns', 'exec', ns, packetdrill, ...packetdrillOptionWords(optionWords), basename(file)];
    const { code, output, timedOut } = await runBounded('ip', args, dirname(file), timeoutMs);
    if (timedOut) return { verdict: 'timeout', firstError: `packetdrill gave no verdict within ${Math.round(timeoutMs / 1000)} s` };
    return code === 0 ? { verdict: 'pass', firstError: '' } : { verdict: 'fail', firstError: packetdrillFirstError(output) };
  } finally {
    deleteNamespace(ns);
  }
}

/** Spawns a command, collects stdout+stderr, kills it (by its PID) after timeoutMs. */
function runBounded(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, output: output + e.message, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

/**
 * How long packetdrill may take on a script: the script's own length in time (packetdrill runs
 * in real time: a TIME_WAIT script lasts a minute) plus a minute of slack. An unparsable script
 * gets the minute.
 */
export function linuxTimeBoundMs(text: string): number {
  const slackMs = 60_000;
  let events;
  try {
    events = parseScript(text).events;
  } catch {
    return slackMs;
  }
  let now = 0;
  let latest = 0;
  const at = (p: TimePoint, base: number): number => (p.relative ? base + p.seconds : p.seconds);
  const end = (t: EventTime): number => {
    switch (t.kind) {
      case 'point':
        return at(t.at, now);
      case 'range':
        return at(t.to, now);
      case 'blocking':
        return at(t.end, at(t.start, now));
      case 'any':
        return now;
    }
  };
  for (const ev of events) {
    const t = end(ev.time);
    latest = Math.max(latest, t);
    now = ev.time.kind === 'blocking' ? at(ev.time.start, now) : t;
  }
  return Math.ceil(latest * 1000) + slackMs;
}

// ---------------------------------------------------------------- the table

export interface OracleRow {
  script: string;
  linux: LinuxOutcome;
  tunstack: Pick<ScriptResult, 'status' | 'reason' | 'line'>;
  /** The script's `// linux-differs: WHY` mark. */
  linuxDiffers: string | undefined;
}

function ourLine(r: OracleRow['tunstack']): string {
  return `${r.line !== undefined ? `line ${r.line}: ` : ''}${r.reason}`;
}

/** The first difference of a row: packetdrill's error line against ours ('' when both pass). */
export function firstDifference(row: OracleRow): string {
  const parts: string[] = [];
  if (row.linux.verdict !== 'pass') parts.push(`linux: ${row.linux.firstError}`);
  if (row.tunstack.status !== 'pass') parts.push(`tunstack: ${ourLine(row.tunstack)}`);
  if (row.linuxDiffers !== undefined) parts.push(`marked linux-differs: ${row.linuxDiffers}`);
  return parts.join(' / ');
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();
}

/** One Markdown table: script, Linux verdict, tunstack verdict, first difference. */
export function formatOracleTable(rows: readonly OracleRow[]): string[] {
  const out = ['| script | Linux | tunstack | first difference |', '| --- | --- | --- | --- |'];
  for (const r of rows) out.push(`| ${cell(r.script)} | ${r.linux.verdict} | ${r.tunstack.status} | ${cell(firstDifference(r))} |`);
  return out;
}

export interface OracleTotals {
  scripts: number;
  linuxPass: number;
  tunstackPass: number;
  /** tunstack passes among the scripts Linux passes. */
  bothPass: number;
  marked: number;
  unmarked: number;
  unmarkedLinuxPass: number;
}

export function oracleTotals(rows: readonly OracleRow[]): OracleTotals {
  const t: OracleTotals = { scripts: rows.length, linuxPass: 0, tunstackPass: 0, bothPass: 0, marked: 0, unmarked: 0, unmarkedLinuxPass: 0 };
  for (const r of rows) {
    const l = r.linux.verdict === 'pass';
    const s = r.tunstack.status === 'pass';
    if (l) t.linuxPass++;
    if (s) t.tunstackPass++;
    if (l && s) t.bothPass++;
    if (r.linuxDiffers !== undefined) t.marked++;
    else {
      t.unmarked++;
      if (l) t.unmarkedLinuxPass++;
    }
  }
  return t;
}

const pct = (a: number, b: number): number => (b > 0 ? Math.floor((100 * a) / b) : 0);

/** The closing line, in agree.sh's words plus the marked scripts. */
export function formatOracleSummary(t: OracleTotals): string {
  return (
    `linux ${t.linuxPass}/${t.scripts}; tunstack ${t.bothPass}/${t.linuxPass} on the scripts Linux passes (${pct(t.bothPass, t.linuxPass)}%); ` +
    `tunstack ${t.tunstackPass}/${t.scripts} in all; unmarked scripts on Linux ${t.unmarkedLinuxPass}/${t.unmarked} (${pct(t.unmarkedLinuxPass, t.unmarked)}%), ${t.marked} marked linux-differs`
  );
}

/** Every row agrees with Linux: each unmarked script passes on both sides. */
export function oracleAgrees(rows: readonly OracleRow[]): boolean {
  return rows.every((r) => r.linuxDiffers !== undefined || (r.linux.verdict === 'pass' && r.tunstack.status === 'pass'));
}

/** Runs every file on Linux and on tunstack; rows in file order. */
export async function runOracle(packetdrill: string, files: readonly string[], optionWords: readonly string[], opts: { base?: string; onRow?: (r: OracleRow) => void } = {}): Promise<OracleRow[]> {
  const rows: OracleRow[] = [];
  for (const f of files) {
    const name = opts.base !== undefined ? relative(opts.base, f) || f : f;
    const text = readFileSync(f, 'utf8');
    const linux = await runOnLinux(packetdrill, f, optionWords, linuxTimeBoundMs(text));
    const ours = await runScript(text, { name, options: optionWords, dir: dirname(f) });
    const row: OracleRow = { script: name, linux, tunstack: ours, linuxDiffers: ours.linuxDiffers };
    rows.push(row);
    opts.onRow?.(row);
  }
  return rows;
}
