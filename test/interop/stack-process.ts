/**
 * The real `tunstack up` (built CLI, dist/cli.js) inside a test's network
 * namespace: started, waited for (it answers ping), stopped with SIGTERM.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type NetNs, waitForExit } from './netns.js';

export const STACK_ADDR = '10.77.0.2';
export const KERNEL_ADDR = '10.77.0.1';
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface StackProcess {
  child: ChildProcess;
  /** Everything the process wrote so far (logs are pino JSON on stderr). */
  output(): string;
  /** Waits until the output matches (the pipes are read on the event loop, so a log line may lag the event it reports). */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then wait; resolves with the exit code (null if it had to be killed). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Whether the CLI has been built (npm test builds it first). */
export function cliBuilt(): boolean {
  return existsSync(CLI);
}

/**
 * `--warmup off` unless `args` say otherwise: the JIT warm-up (src/warmup.ts) changes how fast the first transfer
 * runs, never what the stack does, and cost every start-up here 1.4 s of CPU (2.7 s → 1.3 s, median of 3 on 2
 * cores) and several seconds of wall time on a loaded machine — the suite starts dozens of stacks. The warm-up
 * itself is covered by test/unit/warmup-and-pools.test.ts, and runs in the stacks ops.test.ts starts on its own
 * (the attached tun1) and in the soak (scripts/soak.sh).
 */
export function withoutWarmup(args: string[]): string[] {
  return args.includes('--warmup') ? args : ['--warmup', 'off', ...args];
}

// waitMs bounds the start-up: about a second on a quiet machine, 6 s at load 15 on 2 cores and past 20 s at load 20
// (a fresh clone's `npm test` lost tests to "never answered ping" at 20 s). A bound, not a timing assertion.
// launcher: a command that execs the rest of its arguments (the stack keeps its PID), e.g. to start it in a mount namespace.
export async function startStack(ns: NetNs, args: string[] = [], waitMs = 45_000, launcher: string[] = []): Promise<StackProcess> {
  const child = ns.spawn([...launcher, process.execPath, CLI, 'up', '--tun', 'tun0', '--addr', `${STACK_ADDR}/24`, '--peer', KERNEL_ADDR, '--log-level', 'info', ...withoutWarmup(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    setTimeout(resolve, 30_000).unref();
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const proc: StackProcess = {
    child,
    output: () => out,
    async waitForOutput(re, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return out;
    },
    async stop(timeoutMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await closed;
        return child.exitCode;
      }
      child.kill('SIGTERM');
      const r = await waitForExit(child, timeoutMs);
      // 'exit' can come before the last output is read: wait for the pipes to close too (bounded).
      await closed;
      return r.timedOut ? null : r.code;
    },
  };
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`stack exited at start (code ${child.exitCode}): ${out.slice(-500)}`);
    if (ns.exec(['ping', '-c', '1', '-W', '1', STACK_ADDR], { timeoutMs: 3000 }).status === 0) return proc;
    await new Promise((r) => setTimeout(r, 200));
  }
  await proc.stop();
  throw new Error(`stack never answered ping: ${out.slice(-500)}`);
}
