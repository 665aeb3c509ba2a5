/**
 * The demos' own stack: a network namespace made for the run, `tunstack up` on a TUN inside it with a capture
 * and a log in a temporary folder, and teardown on every exit path (normal end, an exception, Ctrl-C or
 * SIGTERM): the stack stopped by its PID, the namespace deleted. `tunstack demo` (demo.ts) and
 * `tunstack demo --handshakes` (demo-handshakes.ts) both run on it.
 *
 * Traffic goes only to the stack's own address inside the namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEMO_STACK = '10.77.0.2';
export const DEMO_PEER = '10.77.0.1';

export interface RunResult {
  status: number;
  /** Standard output alone. */
  stdout: string;
  /** Standard output then standard error. */
  out: string;
}

/** Runs a command to its end (bounded by `timeoutMs`). */
export function run(cmd: readonly string[], timeoutMs = 60_000): RunResult {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 << 20 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Whether a tool is on PATH. */
export function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

export class DemoStack {
  /** The temporary folder holding `pcap` and `log`. */
  readonly dir: string;
  readonly pcap: string;
  readonly log: string;
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  private nsCreated = false;
  private readonly onSignal = (): void => {
    this.dispose(false);
    process.exit(130);
  };

  private constructor(
    readonly ns: string,
    tmpPrefix: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), tmpPrefix));
    this.pcap = join(this.dir, 'capture.pcap');
    this.log = join(this.dir, 'stack.log');
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Creates the namespace `<prefix><pid>` with lo up; throws with ip's words when it cannot. */
  static create(prefix: string, tmpPrefix: string): DemoStack {
    const d = new DemoStack(`${prefix}${process.pid}`, tmpPrefix);
    const add = run(['ip', 'netns', 'add', d.ns], 10_000);
    if (add.status !== 0) {
      d.dispose(false);
      throw new Error(`ip netns add failed: ${add.out.trim()}`);
    }
    d.nsCreated = true;
    run(['ip', '-n', d.ns, 'link', 'set', 'lo', 'up'], 10_000);
    return d;
  }

  /** Runs a command inside the namespace. */
  exec(cmd: readonly string[], timeoutMs = 60_000): RunResult {
    return run(['ip', 'netns', 'exec', this.ns, ...cmd], timeoutMs);
  }

  /**
   * Starts `tunstack up` on tun0 (the stack at DEMO_STACK, capture and log in `dir`) with `extra` arguments;
   * `cli` is the built dist/cli.js (the default: the one beside this module).
   */
  start(extra: readonly string[] = [], cli = fileURLToPath(new URL('./cli.js', import.meta.url))): void {
    const fd = openSync(this.log, 'w');
    const child = spawn(
      'ip',
      ['netns', 'exec', this.ns, process.execPath, cli, 'up', '--tun', 'tun0', '--addr', `${DEMO_STACK}/24`, '--peer', DEMO_PEER, '--pcap', this.pcap, ...extra],
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Waits until the stack answers ping (bounded: `tries` pings a quarter second apart) or has exited. */
  async answering(tries = 40): Promise<boolean> {
    for (let i = 0; i < tries; i++) {
      if (this.child === null || this.child.exitCode !== null) return false;
      if (this.exec(['ping', '-c', '1', '-W', '1', DEMO_STACK], 5000).status === 0) return true;
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }

  /** The last lines of the stack's log, for an error message. */
  logTail(n = 3): string {
    try {
      return readFileSync(this.log, 'utf8').trim().split('\n').slice(-n).join(' | ');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM to the stack (which flushes its capture); resolves with its exit code, null if it did not exit in time. */
  async stop(timeoutMs = 5000): Promise<number | null> {
    const c = this.child;
    if (c !== null && c.pid && c.exitCode === null) process.kill(c.pid, 'SIGTERM');
    return Promise.race([this.exited, new Promise<null>((r) => setTimeout(() => r(null), timeoutMs))]);
  }

  /** Stops the stack if it still runs, deletes the namespace, forgets the signal handlers; `keepDir` keeps the log and capture. */
  dispose(keepDir: boolean): void {
    const c = this.child;
    if (c !== null && c.pid && c.exitCode === null) {
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    if (this.nsCreated) run(['ip', 'netns', 'del', this.ns], 10_000);
    this.nsCreated = false;
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    if (!keepDir) rmSync(this.dir, { recursive: true, force: true });
  }
}
