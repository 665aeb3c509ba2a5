/**
 * Network namespaces for interop tests.
 *
 * Hygiene (hard rule): traffic only inside namespaces created here, to
 * addresses there; every command has a timeout; processes are killed by PID
 * (never by name); every namespace is deleted on destroy() and, as a safety
 * net, when the process exits.
 *
 *   const can = canRunInterop();               // root, /dev/net/tun, `ip`
 *   const ns = NetNs.create('tun');            // `ip netns add tun-<pid>-<n>`, lo up
 *   ns.run(['ip', 'addr', 'show']);            // throws on failure
 *   const r = ns.exec(['ping', '-c', '3', ...], { timeoutMs: 10_000 });
 *   const child = ns.spawnNode('test/interop/fixtures/x.mjs', ['--flag']);
 *   ns.destroy();
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface ExecResult {
  /** Exit status, or null when killed by a signal (e.g. on timeout). */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the command hit its timeout and was killed. */
  timedOut: boolean;
}

export interface ExecOptions {
  /** Kill the command (SIGKILL, by PID) after this long. Default 20 s. */
  timeoutMs?: number;
  /** Written to the command's stdin. */
  input?: string;
  /** Extra environment variables (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const DEFAULT_TIMEOUT_MS = 20_000;

/** The full path of a program on PATH (plus the sbin directories), or null. */
export function which(program: string): string | null {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, program);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** Whether interop tests can run here: root, /dev/net/tun, and the `ip` tool. */
export function canRunInterop(): { ok: boolean; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: `interop tests need Linux (this is ${process.platform})` };
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { ok: false, reason: 'interop tests need root (network namespaces and TUN devices): run them as root or in a privileged container' };
  }
  if (!existsSync('/dev/net/tun')) {
    return {
      ok: false,
      reason: '/dev/net/tun does not exist: load the tun module (modprobe tun), or in Docker pass --device /dev/net/tun',
    };
  }
  if (!which('ip')) return { ok: false, reason: 'the `ip` tool (iproute2) is not installed' };
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5_000 });
  if (probe.status !== 0) {
    return { ok: false, reason: `\`ip netns list\` failed (${(probe.stderr || String(probe.error ?? '')).trim()}): no network namespace support` };
  }
  return { ok: true, reason: 'root, /dev/net/tun and ip are available' };
}

function execSync(cmd: string[], opts: ExecOptions = {}): ExecResult {
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    input: opts.input,
    env: opts.env ? { ...process.env, ...opts.env } : process.env,
    cwd: opts.cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  let stderr = r.stderr ?? '';
  if (r.error && !timedOut) stderr += `${stderr ? '\n' : ''}${r.error.message}`;
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr, timedOut };
}

function describeFailure(cmd: string[], r: ExecResult): string {
  const how = r.timedOut ? 'timed out' : r.status !== null ? `exited ${r.status}` : `was killed by ${r.signal}`;
  return `\`${cmd.join(' ')}\` ${how}${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const live = new Set<NetNs>();
let counter = 0;
let hooked = false;

function destroyAll(): void {
  for (const ns of [...live]) ns.destroy();
}

function installExitHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', destroyAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Only when nobody else handles the signal: clean up, then die of it as before.
    if (process.listenerCount(sig) > 0) continue;
    process.once(sig, () => {
      destroyAll();
      process.kill(process.pid, sig);
    });
  }
}

export class NetNs {
  /** The namespace name, `<prefix>-<pid>-<n>`, unique per process. */
  readonly name: string;
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(name: string) {
    this.name = name;
  }

  /** Creates a namespace named `<prefix>-<pid>-<counter>` with `lo` up. */
  static create(prefix: string): NetNs {
    if (!/^[A-Za-z0-9_.-]{1,40}$/.test(prefix)) throw new Error(`bad namespace prefix '${prefix}'`);
    installExitHooks();
    const name = `${prefix}-${process.pid}-${++counter}`;
    const add = execSync(['ip', 'netns', 'add', name], { timeoutMs: 10_000 });
    if (add.status !== 0) throw new Error(`cannot create network namespace: ${describeFailure(['ip', 'netns', 'add', name], add)}`);
    const ns = new NetNs(name);
    live.add(ns);
    try {
      ns.run(['ip', 'link', 'set', 'lo', 'up']);
    } catch (e) {
      ns.destroy();
      throw e;
    }
    return ns;
  }

  /**
   * Deletes namespaces `<prefix>-<pid>-<n>` left behind by processes that no
   * longer exist (a test run killed with SIGKILL). Returns the names deleted.
   */
  static reapStale(prefix: string): string[] {
    const list = execSync(['ip', 'netns', 'list'], { timeoutMs: 5_000 });
    if (list.status !== 0) return [];
    const re = new RegExp(`^${prefix.replace(/[.]/g, '\\.')}-(\\d+)-\\d+$`);
    const reaped: string[] = [];
    for (const line of list.stdout.split('\n')) {
      const name = line.trim().split(/\s+/)[0] ?? '';
      const m = re.exec(name);
      if (!m) continue;
      const pid = Number(m[1]);
      if (pid === process.pid || pidAlive(pid)) continue;
      killNamespacePids(name);
      if (execSync(['ip', 'netns', 'del', name], { timeoutMs: 10_000 }).status === 0) reaped.push(name);
    }
    return reaped;
  }

  /** Runs `cmd` inside the namespace, synchronously, with a timeout. */
  exec(cmd: string[], opts: ExecOptions = {}): ExecResult {
    this.assertAlive();
    return execSync(['ip', 'netns', 'exec', this.name, ...cmd], opts);
  }

  /** Like exec, but throws (with stderr) unless the command exits 0. Returns stdout. */
  run(cmd: string[], opts: ExecOptions = {}): string {
    const r = this.exec(cmd, opts);
    if (r.status !== 0) throw new Error(`in netns ${this.name}: ${describeFailure(cmd, r)}`);
    return r.stdout;
  }

  /** Starts `cmd` inside the namespace; destroy() kills it (by PID) if it is still running. */
  spawn(cmd: string[], opts: SpawnOptions = {}): ChildProcess {
    this.assertAlive();
    // `ip netns exec` execs the command in place, so the child's PID is the command's.
    const child = spawn('ip', ['netns', 'exec', this.name, ...cmd], { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** Starts `node scriptPath ...args` inside the namespace (the same node binary as this process). */
  spawnNode(scriptPath: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return this.spawn([process.execPath, scriptPath, ...args], opts);
  }

  /** Kills every process spawned here (and any other left in the namespace) by PID, then deletes the namespace. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const child of this.children) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    this.children.clear();
    killNamespacePids(this.name);
    // Deleting can race with the dying processes still holding the namespace busy: retry, bounded.
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = execSync(['ip', 'netns', 'del', this.name], { timeoutMs: 10_000 });
      if (r.status === 0 || !existsSync(`/run/netns/${this.name}`)) break;
      spawnSync('sleep', ['0.1']);
    }
    live.delete(this);
  }

  get isDestroyed(): boolean {
    return this.destroyed;
  }

  private assertAlive(): void {
    if (this.destroyed) throw new Error(`network namespace ${this.name} was destroyed`);
  }
}

/** SIGKILLs, by PID, every process still inside namespace `name` (never this process). */
function killNamespacePids(name: string): void {
  const r = execSync(['ip', 'netns', 'pids', name], { timeoutMs: 5_000 });
  if (r.status !== 0) return;
  for (const tok of r.stdout.split(/\s+/)) {
    const pid = Number(tok);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * Collects a child's stdout lines (and stderr text) from the moment it is
 * attached, so no line is lost between waits.
 */
export class ChildOutput {
  readonly lines: string[] = [];
  stderr = '';
  private partial = '';
  private cursor = 0;
  private exited: string | null = null;
  private wake: (() => void) | null = null;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      this.partial += chunk;
      let nl: number;
      while ((nl = this.partial.indexOf('\n')) >= 0) {
        this.lines.push(this.partial.slice(0, nl));
        this.partial = this.partial.slice(nl + 1);
      }
      this.wake?.();
    });
    child.stderr?.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    child.once('exit', (code, signal) => {
      this.exited = String(code ?? signal);
      this.wake?.();
    });
  }

  /**
   * Resolves with the next line (after those already returned) for which `match`
   * is true; rejects when the process exits first or after `timeoutMs`. One waiter at a time.
   */
  next(match: (line: string) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        while (this.cursor < this.lines.length) {
          const line = this.lines[this.cursor++]!;
          if (match(line)) {
            finish();
            resolve(line);
            return true;
          }
        }
        if (this.exited !== null) {
          finish();
          reject(new Error(`process exited (${this.exited}) before the expected line${this.stderrNote()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching line within ${timeoutMs} ms${this.stderrNote()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.wake = null;
      };
      if (!check()) this.wake = () => void check();
    });
  }

  /** The next stdout line that is a JSON object satisfying `pred`, parsed. One waiter at a time. */
  async nextJson<T = Record<string, unknown>>(pred: (obj: Record<string, unknown>) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    const line = await this.next((l) => {
      if (!l.startsWith('{')) return false;
      try {
        return pred(JSON.parse(l) as Record<string, unknown>);
      } catch {
        return false;
      }
    }, timeoutMs);
    return JSON.parse(line) as T;
  }

  private stderrNote(): string {
    return this.stderr.trim() ? `; stderr: ${this.stderr.trim()}` : '';
  }
}

/** Resolves with the exit status once `child` exits; after `timeoutMs` kills it (SIGKILL, by PID) and resolves with timedOut. */
export function waitForExit(
  child: ChildProcess,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode, timedOut: false });
  }
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut });
    });
  });
}
