/**
 * Live harness for the adversarial suites: the built CLI (`tunstack up`) in a
 * network namespace of our own, its counters over the control socket, its
 * RSS sampled from /proc, legitimate traffic (scripts/soak/legit.py) and
 * hostile tools (hping3, scapy via scripts/soak/hostile.py) started
 * asynchronously inside the namespace, every one bounded in count and time.
 *
 * Hygiene: traffic only inside the namespace, to the stack's address;
 * processes stopped by PID; the namespace deleted on every exit path
 * (NetNs.destroy, also on process exit).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canRunInterop, NetNs, which, waitForExit } from '../interop/netns.js';
import { cliBuilt, startStack, STACK_ADDR, type StackProcess } from '../interop/stack-process.js';
import { controlCall } from '../../src/control/client.js';

export { STACK_ADDR };
export const PY = '/usr/bin/python3';
export const LEGIT = fileURLToPath(new URL('../../scripts/soak/legit.py', import.meta.url));
export const HOSTILE = fileURLToPath(new URL('../../scripts/soak/hostile.py', import.meta.url));

/** Why the live suites cannot run here ('' when they can). */
export function liveSkipReason(tools: string[] = []): string {
  const can = canRunInterop();
  if (!can.ok) return can.reason;
  if (!cliBuilt()) return 'dist/cli.js not built (run npx tsc -p tsconfig.build.json)';
  for (const t of tools) if (!which(t)) return `${t} not installed`;
  if (spawnSync(PY, ['-c', 'import scapy.all'], { timeout: 30_000 }).status !== 0) return `${PY} cannot import scapy`;
  return '';
}

/** Long variants: ADV_LONG=1 (or a number of seconds for the outage scenario). */
export const LONG = process.env['ADV_LONG'] !== undefined && process.env['ADV_LONG'] !== '' && process.env['ADV_LONG'] !== '0';

export type Counters = Record<string, number>;

/** `{Ip: {InReceives: 3}, drops: {'ip.x': 1}}` → `{IpInReceives: 3, 'drop:ip.x': 1}`. */
export function flatten(stats: Record<string, Record<string, number>>): Counters {
  const out: Counters = {};
  for (const [g, c] of Object.entries(stats)) {
    if (!c || typeof c !== 'object') continue;
    for (const [k, v] of Object.entries(c)) if (typeof v === 'number') out[g === 'drops' ? `drop:${k}` : `${g}${k}`] = v;
  }
  return out;
}

/** Non-zero differences after − before. */
export function diff(before: Counters, after: Counters): Counters {
  const out: Counters = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every `everyMs`; keeps the peak and the series. */
export class RssSampler {
  peakKb = 0;
  readonly samples: [number, number][] = [];
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly pid: number,
    everyMs = 250,
  ) {
    const take = () => {
      const kb = rssKb(this.pid);
      if (kb > this.peakKb) this.peakKb = kb;
      this.samples.push([Date.now(), kb]);
      if (this.samples.length > 100_000) this.samples.shift();
    };
    take();
    this.timer = setInterval(take, everyMs);
    this.timer.unref();
  }
  /** Resets the peak to the current value (start of a scenario). */
  reset(): void {
    this.peakKb = rssKb(this.pid);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

export interface LegitResult {
  tcp: { ok: number; fail: number; corrupt: number; bytes: number; errors: Record<string, number> };
  chargen: { ok: number; fail: number; corrupt: number; bytes: number; errors: Record<string, number> };
  ping: { sent: number; recv: number; bad: number };
  udp: { sent: number; recv: number; bad: number };
  ok: boolean;
}

/** Successful legitimate operations / attempted ones (TCP transfers, chargen reads, pings, UDP echoes). */
export function successRatio(r: LegitResult): { ok: number; total: number; ratio: number } {
  const ok = r.tcp.ok + r.chargen.ok + r.ping.recv + r.udp.recv;
  const total = r.tcp.ok + r.tcp.fail + r.tcp.corrupt + r.chargen.ok + r.chargen.fail + r.chargen.corrupt + r.ping.sent + r.udp.sent;
  return { ok, total, ratio: total === 0 ? 0 : ok / total };
}

export interface Job<T> {
  child: ChildProcess;
  done: Promise<T>;
}

/** Starts `cmd` in the namespace; resolves with its stdout when it exits (killed by PID after timeoutMs). */
export function job(ns: NetNs, cmd: string[], timeoutMs: number, env?: Record<string, string>): Job<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const child = ns.spawn(cmd, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    if (stdout.length < 4_000_000) stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 200_000) stderr += d.toString();
  });
  const done = waitForExit(child, timeoutMs).then((r) => ({ code: r.code, stdout, stderr, timedOut: r.timedOut }));
  return { child, done };
}

/** legit.py in the namespace; resolves with its JSON summary. */
export function legit(ns: NetNs, args: string[], durationS: number): Job<LegitResult> {
  // legit.py ends by itself at duration + op-timeout + 5 s; the kill is a backstop beyond that.
  const i = args.indexOf('--op-timeout');
  const opTimeout = i >= 0 ? Number(args[i + 1]) : 20;
  const j = job(ns, [PY, LEGIT, '--dst', STACK_ADDR, '--duration', String(durationS), ...args], (durationS + opTimeout + 30) * 1000);
  return {
    child: j.child,
    done: j.done.then((r) => {
      const line = r.stdout.trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(line) as LegitResult;
      } catch {
        throw new Error(`legit.py gave no summary (code ${r.code}, timedOut ${r.timedOut}): ${r.stderr.slice(-800)}`);
      }
    }),
  };
}

/** hostile.py in the namespace; resolves with its JSON output. */
export async function hostile<T = Record<string, unknown>>(ns: NetNs, args: string[], timeoutMs = 60_000, env?: Record<string, string>): Promise<T> {
  const r = await job(ns, [PY, HOSTILE, STACK_ADDR, ...args], timeoutMs, env).done;
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`hostile.py ${args.join(' ')} failed (code ${r.code}, timedOut ${r.timedOut}): ${r.stderr.slice(-1500)} ${r.stdout.slice(-300)}`);
  }
}

/** Kernel-side TUN counters: tx = kernel → stack (tx.dropped: the queue to the stack overflowed), rx = stack → kernel. */
export interface TunCounters {
  txPackets: number;
  txDropped: number;
  rxPackets: number;
  rxDropped: number;
}

export function tunCounters(ns: NetNs, dev = 'tun0'): TunCounters {
  const r = ns.exec(['ip', '-s', '-j', 'link', 'show', dev], { timeoutMs: 5000 });
  try {
    const j = JSON.parse(r.stdout) as { stats64: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } } }[];
    const s = j[0]!.stats64;
    return { txPackets: s.tx.packets, txDropped: s.tx.dropped, rxPackets: s.rx.packets, rxDropped: s.rx.dropped };
  } catch {
    return { txPackets: 0, txDropped: 0, rxPackets: 0, rxDropped: 0 };
  }
}

export interface LiveStack {
  ns: NetNs;
  proc: StackProcess;
  pid: number;
  dir: string;
  control: string;
  rss: RssSampler;
  counters(): Promise<Counters>;
  sockets(): Promise<{ tcp: Record<string, unknown>[]; udp: Record<string, unknown>[] }>;
  /** SIGTERM; resolves with the exit code and the counters from the shutdown log. */
  stop(): Promise<{ code: number | null; final: Counters | null }>;
  /** Deletes the namespace and temp dir (kills anything left, by PID). Idempotent. */
  destroy(): void;
}

/** The stats object of the 'stack down' log line. */
export function shutdownCounters(output: string): Counters | null {
  for (const line of output.split('\n')) {
    if (!line.includes('"stack down"')) continue;
    try {
      return flatten((JSON.parse(line) as { stats: Record<string, Record<string, number>> }).stats);
    } catch {
      /* not JSON */
    }
  }
  return null;
}

export async function startLive(prefix: string, args: string[] = []): Promise<LiveStack> {
  const ns = NetNs.create(prefix);
  // The legitimate clients open thousands of short connections per scenario and close first, so each leaves a
  // TIME-WAIT on the kernel side for 60 s: the whole file would run the namespace out of its 28k ephemeral
  // ports (EADDRNOTAVAIL). As the peers' harness does, TIME-WAIT ports are reused for new connections (the
  // range stays the default one: the hostile scripts use source ports 10000-30000 below it).
  ns.exec(['sysctl', '-q', '-w', 'net.ipv4.tcp_tw_reuse=1']);
  const dir = mkdtempSync(join(tmpdir(), `tunstack-${prefix}-`));
  const control = join(dir, 'ctl.sock');
  let proc: StackProcess;
  try {
    proc = await startStack(ns, ['--control', control, '--log-level', 'warn', ...args]);
  } catch (e) {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const pid = proc.child.pid!;
  const rss = new RssSampler(pid);
  let destroyed = false;
  const live: LiveStack = {
    ns,
    proc,
    pid,
    dir,
    control,
    rss,
    async counters() {
      const r = (await controlCall(control, { cmd: 'stats' }, 10_000)) as { stats: Record<string, Record<string, number>> };
      return flatten(r.stats);
    },
    async sockets() {
      return (await controlCall(control, { cmd: 'sockets' }, 10_000)) as { tcp: Record<string, unknown>[]; udp: Record<string, unknown>[] };
    },
    async stop() {
      rss.stop();
      const code = await proc.stop(15_000);
      return { code, final: shutdownCounters(proc.output()) };
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      rss.stop();
      ns.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return live;
}

export interface ScenarioRow {
  scenario: string;
  sent: string;
  did: string;
  success: string;
  bytesLost: number;
  peakRssMb: number;
}

/** Picks the named counters out of a delta, as `Name=value` text for the results table. */
export function pickCounters(d: Counters, names: string[]): string {
  return names
    .filter((n) => d[n] !== undefined)
    .map((n) => `${n.replace(/^drop:/, '')}=${d[n]}`)
    .join(', ');
}

/** Rows collected by a suite, printed (and appended to ADV_REPORT when set) at the end. */
export function reportRows(suite: string, rows: ScenarioRow[]): void {
  const lines = rows.map((r) => `| ${r.scenario} | ${r.sent} | ${r.did} | ${r.success} | ${r.bytesLost} | ${r.peakRssMb.toFixed(0)} |`);
  console.log(`\n${suite}\n| scenario | traffic sent | what the stack did | legitimate success | bytes lost | peak RSS MB |\n|---|---|---|---|---|---|\n${lines.join('\n')}\n`);
  const file = process.env['ADV_REPORT'];
  if (file) appendFileSync(file, `${lines.join('\n')}\n`);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
