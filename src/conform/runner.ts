/**
 * The script runner: a fresh stack on a ScriptLink with a VirtualClock,
 * driven event by event (dialect section 2.4). Inbound packet lines are
 * built and injected, outbound lines are matched against what the stack
 * sent (section 3.7), system calls go through the fd table of
 * `syscalls.ts`, backquoted sysctls change the stack's settings.
 *
 *   const r = await runScript(text, { name: 'a.pkt' });
 *   r.status  // 'pass' | 'fail' | 'unsupported'
 *
 * Never throws for a script problem: syntax errors, failures and
 * unsupported features all come back in the result.
 */
import { DEFAULT_LOCAL_IP6, DEFAULT_REMOTE_IP6, Ipv6Translation } from './ip-translate.js';
import { parseIpv6, type Ipv6Words } from '../wire/ipv6.js';
import { VirtualClock, TimerQueue } from '../clock.js';
import { Stack, type StackOptions } from '../stack.js';
import { TCP_ACK, TCP_CWR, TCP_SYN, TcpOptionKind, TCP_MIN_HEADER, formatTcpFlags, FASTOPEN_EXP_MAGIC } from '../wire/tcp.js';
import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP } from '../wire/ipv4.js';
import { ipToString, read16, read32 } from '../wire/bytes.js';
import { internetChecksum } from '../wire/checksum.js';
import { ScriptSyntaxError, type EventTime, type IcmpPacketLine, type PacketLine, type Script, type ScriptEvent, type ScriptOption, type TcpOptionSpec, type TcpPacketLine, type UdpPacketLine } from './ast.js';
import { parseScript } from './parse.js';
import { linuxDiffersReason } from './marks.js';
import { applyOption, applyShellCommand, defaultRunnerConfig, OptionError, Unsupported, type RunnerConfig } from './config.js';
import { ScriptLink } from './link.js';
import {
  buildIcmp,
  buildTcp,
  buildUdp,
  decodeOut,
  echoRestOf,
  encodeOptions,
  parseIp,
  quotedTcp,
  quotedUdp,
  splitOptions,
  type DecodedOut,
  type IpFields,
  type OutPacket,
} from './packets.js';
import { SyscallAdapter, type CallOutcome, type Blocked } from './syscalls.js';
import { procNetTcp, procNetTcp6, runProcGrep } from './proc-net-tcp.js';
import { NstatHistory } from './nstat.js';
import { ScriptFailure, localSeqOffset, type RunContext, type SocketUnderTest, type TupleState } from './run-context.js';

export { ScriptFailure } from './run-context.js';
import { errnoName } from './constants.js';

export type ScriptStatus = 'pass' | 'fail' | 'unsupported';

export interface ScriptResult {
  name: string;
  status: ScriptStatus;
  /** One line: why it failed or what is unsupported ('' on pass). */
  reason: string;
  /** Script line of the failure, when there is one. */
  line: number | undefined;
  /** Multi-line diagnostic: expected vs actual, time. */
  details: string[];
  warnings: string[];
  /** Event-by-event trace (always collected; printed with -v). */
  trace: string[];
  /** The script's `// linux-differs: WHY` mark: Linux fails it on purpose, for this reason. */
  linuxDiffers?: string;
}

export interface RunScriptOptions {
  /** File name used in messages. */
  name?: string;
  /** Options applied before the script's own (command-line flags), e.g. ['--strict_time']. */
  options?: readonly string[];
  /** The script's folder: shell files it runs are found from here (default: the working folder, as packetdrill). */
  dir?: string;
}

/** Parses `--name=value` / `--name` words into options. */
export function parseOptionWords(words: readonly string[]): ScriptOption[] {
  return words.map((w) => {
    const body = w.replace(/^--?/, '');
    const eq = body.indexOf('=');
    return eq < 0 ? { line: 0, name: body, value: undefined } : { line: 0, name: body.slice(0, eq), value: body.slice(eq + 1) };
  });
}

export async function runScript(text: string, opts: RunScriptOptions = {}): Promise<ScriptResult> {
  const name = opts.name ?? '<script>';
  const result: ScriptResult = { name, status: 'pass', reason: '', line: undefined, details: [], warnings: [], trace: [] };
  const linuxDiffers = linuxDiffersReason(text);
  if (linuxDiffers !== undefined) result.linuxDiffers = linuxDiffers;
  let script: Script;
  try {
    script = parseScript(text);
  } catch (e) {
    if (e instanceof ScriptSyntaxError) {
      result.status = 'fail';
      result.reason = `syntax error: ${e.message}`;
      result.line = e.line;
      return result;
    }
    throw e;
  }
  const cfg = defaultRunnerConfig();
  cfg.scriptDir = opts.dir;
  try {
    for (const o of parseOptionWords(opts.options ?? [])) applyOption(cfg, o);
    for (const o of script.options) applyOption(cfg, o);
  } catch (e) {
    return fromError(result, e);
  }
  // Static checks for unsupported constructs, so nothing runs half-way.
  try {
    preflight(script, cfg);
  } catch (e) {
    return fromError(result, e);
  }
  if (cfg.dryRun) {
    result.trace.push(`dry run: ${script.events.length} events parsed`);
    return result;
  }
  const run = new Run(cfg, result);
  try {
    await run.execute(script);
  } catch (e) {
    fromError(result, e);
  } finally {
    run.dispose();
  }
  return result;
}

function fromError(result: ScriptResult, e: unknown): ScriptResult {
  if (e instanceof Unsupported) {
    result.status = 'unsupported';
    result.reason = e.message;
    result.line = e.line;
  } else if (e instanceof ScriptFailure) {
    result.status = 'fail';
    result.reason = e.message;
    result.line = e.line;
    result.details = e.details;
  } else if (e instanceof OptionError || e instanceof ScriptSyntaxError) {
    result.status = 'fail';
    result.reason = `syntax error: ${e.message}`;
    result.line = e instanceof ScriptSyntaxError ? e.line : e.line;
  } else {
    // A crash inside the runner or the stack is a failure of the script, never of the caller.
    result.status = 'fail';
    result.reason = `internal error: ${(e as Error)?.message ?? String(e)}`;
    result.details = ((e as Error)?.stack ?? '').split('\n').slice(0, 8);
  }
  return result;
}

/** packetdrill's names of the IP ECN field's codepoints (RFC 3168 §5), 4 for `ect01` (either ECT). */
const ECN_NAMES = ['noecn', 'ect1', 'ect0', 'ce', 'ect01'] as const;

/** Rejects scripts using features we do not have before running anything. */
function preflight(script: Script, cfg: RunnerConfig): void {
  for (const ev of script.events) {
    const a = ev.action;
    if (a.kind === 'code' && cfg.strictCode) throw new Unsupported('%{ }% code block (--strict_code)', ev.line);
    if (a.kind === 'packet' && a.packet.proto === 'tcp' && Array.isArray(a.packet.options)) {
      for (const o of a.packet.options) if (o.kind === 'unsupported') throw new Unsupported(o.what, ev.line);
    }
    if (a.kind === 'syscall') SyscallAdapter.preflight(a.call, ev.line, cfg.ipVersion);
    if (a.kind === 'packet' && a.packet.proto === 'icmp' && cfg.ipVersion === 'ipv6') throw new Unsupported('ICMP packets with --ip_version=ipv6', ev.line);
  }
}

// ---------------------------------------------------------------- run state


const TOL_EPS = 1e-6;
/** Longest wait for an outbound packet written with '*'. */
const ANY_TIME_LIMIT_MS = 3_600_000;
/** Timer firings in one advance before the runner calls it a runaway timer. */
const MAX_STEPS = 200_000;

function fmtTime(ms: number): string {
  return (ms / 1000).toFixed(6).replace(/0{3}$/, '');
}

export class Run implements RunContext {
  readonly clock = new VirtualClock(0);
  readonly timers = new TimerQueue();
  readonly link: ScriptLink;
  stack: Stack | undefined;
  /** `nstat` in shell lines (nstat.ts). */
  private readonly nstat = new NstatHistory();
  readonly local: number;
  readonly remote: number;
  private readonly tuples = new Map<string, TupleState>();
  cut: TupleState;
  sut: SocketUnderTest = 'none';
  private nextRemotePort: number;
  /** UDP ports of the socket under test: local learned on bind or from the first datagram. */
  udpLocalPort: number;
  udpRemotePort: number;
  private ipId = 1;
  // Timing: virtual ms.
  private prevActual = 0;
  private prevScript = 0;
  private prevInbound = false;
  private prevInboundScheduled = 0;
  readonly sys: SyscallAdapter;
  private pending:
    | {
        ev: ScriptEvent;
        startMs: number;
        endMs: number;
        tol: number;
        retry: () => Promise<CallOutcome | Blocked>;
        wakeAt: number | undefined;
        check: (o: CallOutcome) => void;
      }
    | undefined;

  constructor(
    readonly cfg: RunnerConfig,
    readonly result: ScriptResult,
  ) {
    this.local = parseIp(cfg.localIp);
    this.remote = parseIp(cfg.remoteIp);
    this.link = new ScriptLink(
      cfg.mtu,
      this.clock,
      cfg.ipVersion === 'ipv6' ? new Ipv6Translation(this.local, this.remote, parseIpv6(DEFAULT_LOCAL_IP6) as Ipv6Words, parseIpv6(DEFAULT_REMOTE_IP6) as Ipv6Words) : null,
    );
    this.nextRemotePort = cfg.remotePortBase;
    this.cut = this.tuple(cfg.bindPort, this.nextRemotePort);
    this.udpLocalPort = cfg.bindPort;
    this.udpRemotePort = cfg.connectPort;
    this.sys = new SyscallAdapter(this);
  }

  trace(s: string): void {
    this.result.trace.push(`${fmtTime(this.clock.now())} ${s}`);
  }

  tuple(localPort: number, remotePort: number): TupleState {
    const k = `${localPort}>${remotePort}`;
    let t = this.tuples.get(k);
    if (!t) {
      t = { localPort, remotePort, off: 0, synSeen: false, relearn: false, tsMap: new Map(), tsFirst: undefined };
      this.tuples.set(k, t);
    }
    return t;
  }

  /** A new connection under test with a fresh peer port (passive open). */
  newPassiveTuple(): TupleState {
    let port = this.nextRemotePort;
    while (this.tuples.has(`${this.cfg.bindPort}>${port}`)) port++;
    this.nextRemotePort = port + 1;
    this.cut = this.tuple(this.cfg.bindPort, port);
    return this.cut;
  }

  /** Creates the stack lazily, so that sysctls at time 0 apply to its configuration. */
  ensureStack(): Stack {
    if (this.stack) return this.stack;
    const opts: StackOptions & { tcp?: Record<string, number | boolean | string> } = {
      clock: this.clock,
      timers: this.timers,
      autoFlush: false,
      tcp: { ...this.cfg.tcp },
      ...(this.cfg.icmpRateLimit ? {} : { icmp: { perDestIntervalMs: 0, msgsPerSec: 1e9, msgsBurst: 1e9 } }),
      ...(this.cfg.reassemblyTimeoutMs !== undefined ? { reassembly: { timeoutMs: this.cfg.reassemblyTimeoutMs } } : {}),
    };
    const stack = new Stack(opts);
    const iface = stack.addInterface(this.link, `${this.cfg.localIp}/${this.cfg.prefix}`, { defaultRoute: true });
    // packetdrill's IPv6 local prefix is a /48 (config.c); the remote end lies beyond the default route.
    if (this.cfg.ipVersion === 'ipv6') stack.addAddress6(iface, `${DEFAULT_LOCAL_IP6}/48`, { defaultRoute: true });
    this.stack = stack;
    return stack;
  }

  dispose(): void {
    try {
      this.sys.dispose();
      this.stack?.close();
    } catch {
      // the instance is discarded either way
    }
  }

  // ------------------------------------------------------------ time

  private tol(T: number, Tprev: number): number {
    if (this.cfg.strictTime) return 0;
    return Math.max(this.cfg.toleranceUsecs / 1000, ((this.cfg.tolerancePercent / 100) * Math.max(0, T - Tprev)));
  }

  private resolve(p: { relative: boolean; seconds: number }, base: number): number {
    return p.relative ? base + p.seconds * 1000 : p.seconds * 1000;
  }

  /** Lets stream events, microtasks and setImmediate callbacks run, then flushes the stack's output. */
  async settle(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
    this.stack?.runTimers(this.clock.now());
  }

  /** Moves virtual time to `t`, firing every timer on the way (and checking a pending blocking call). */
  async advanceTo(t: number): Promise<void> {
    let steps = 0;
    for (;;) {
      if (++steps > MAX_STEPS) throw new ScriptFailure(`runaway timers: more than ${MAX_STEPS} timer firings before ${fmtTime(t)} (a timer re-armed at the same time?)`, undefined);
      const stack = this.stack;
      let next = stack ? this.timers.nextDeadline() : Infinity;
      const p = this.pending;
      let wake = p ? Math.min(p.endMs + p.tol, p.wakeAt ?? Infinity) : Infinity;
      if (p && wake <= this.clock.now()) wake = Infinity;
      const step = Math.min(next, wake);
      if (step > t) break;
      if (step > this.clock.now()) this.clock.set(step);
      if (next <= step && stack) stack.runTimers(this.clock.now());
      await this.settle();
      await this.checkPending(step >= (p ? p.endMs + p.tol : Infinity));
      next = Infinity;
    }
    if (t > this.clock.now()) this.clock.set(t);
    if (this.stack) {
      this.stack.runTimers(this.clock.now());
      await this.settle();
    }
    await this.checkPending(false);
  }

  /** Tries to complete the pending blocking call; with `deadline`, not completing is a failure. */
  private async checkPending(deadline: boolean): Promise<void> {
    const p = this.pending;
    if (!p) return;
    const r = await p.retry();
    const now = this.clock.now();
    if ('blocked' in r) {
      p.wakeAt = r.wakeAt;
      if (deadline || now > p.endMs + p.tol + TOL_EPS) {
        this.pending = undefined;
        throw new ScriptFailure(`blocking call did not return by ${fmtTime(p.endMs + p.tol)}`, p.ev.line, [`script: ${p.ev.text}`, `expected return at ${fmtTime(p.endMs)} (±${fmtTime(p.tol)})`, `now: ${fmtTime(now)}`]);
      }
      return;
    }
    this.pending = undefined;
    this.trace(`returned: ${p.ev.text} -> ${describeOutcome(r)}`);
    if (Math.abs(now - p.endMs) > p.tol + TOL_EPS) {
      this.fail('syscall', `blocking call returned at ${fmtTime(now)}, expected at ${fmtTime(p.endMs)} (±${fmtTime(p.tol)})`, p.ev.line, [`script: ${p.ev.text}`]);
    }
    p.check(r);
  }

  /** A failure, or a warning under --non_fatal for its kind. */
  fail(kind: 'packet' | 'syscall' | 'other', message: string, line: number | undefined, details: string[] = []): void {
    if (kind !== 'other' && this.cfg.nonFatal.has(kind)) {
      this.result.warnings.push(`line ${line ?? '?'}: ${message}${details.length ? ' — ' + details.join('; ') : ''}`);
      return;
    }
    throw new ScriptFailure(message, line, details);
  }

  // ------------------------------------------------------------ main loop

  async execute(script: Script): Promise<void> {
    for (const ev of script.events) {
      const a = ev.action;
      const inbound = a.kind === 'packet' && a.packet.dir === 'in';
      const base = inbound && this.prevInbound ? this.prevInboundScheduled : this.prevActual;
      if (a.kind === 'packet' && a.packet.dir === 'out') {
        await this.outbound(ev, a.packet, ev.time, base);
        this.prevInbound = false;
        continue;
      }
      const at = ev.time.kind === 'point' ? ev.time.at : ev.time.kind === 'blocking' ? ev.time.start : undefined;
      if (at === undefined) throw new ScriptFailure('bad time form for this event', ev.line);
      const T = this.resolve(at, base);
      if (a.kind !== 'shell' || this.stack) this.ensureStack();
      if (this.pending && a.kind === 'syscall') {
        // One syscall thread: the next call waits for the blocking one to return.
        await this.advanceTo(Math.min(T, this.pending.endMs + this.pending.tol));
        if (this.pending) await this.advanceTo(this.pending.endMs + this.pending.tol);
      }
      await this.advanceTo(T);
      const now = Math.max(T, this.clock.now());
      switch (a.kind) {
        case 'packet':
          this.inject(ev, a.packet);
          await this.settle();
          await this.checkPending(false);
          break;
        case 'syscall':
          await this.syscall(ev, T, base);
          break;
        case 'shell':
          this.shell(ev, a.command);
          break;
        case 'code':
          this.result.warnings.push(`line ${ev.line}: %{ }% code block ignored (Python assertions are not run)`);
          break;
      }
      this.prevScript = T;
      this.prevActual = now;
      this.prevInbound = inbound;
      if (inbound) this.prevInboundScheduled = T;
    }
    if (this.pending) await this.advanceTo(this.pending.endMs + this.pending.tol);
    if (this.pending) await this.checkPending(true);
    if (this.cfg.strictTail) {
      await this.settle();
      const left = this.link.queue.filter((p) => this.belongsToScript(p));
      if (left.length > 0) {
        throw new ScriptFailure(
          `${left.length} packet(s) sent but not expected by the script (--strict_tail)`,
          undefined,
          left.slice(0, 5).map((p) => `${fmtTime(p.time)} > ${this.describe(p)}`),
        );
      }
    }
  }

  private belongsToScript(p: OutPacket): boolean {
    const d = decodeOut(p.bytes);
    return d.ip.dst === this.remote;
  }

  // ------------------------------------------------------------ shell

  private shell(ev: ScriptEvent, command: string): void {
    if (this.procGrep(ev, command)) return;
    const n = this.nstat.run(command, this.stack?.stats ?? null);
    if (n !== undefined) {
      this.trace(`shell ${command}: status ${n.status}${n.output ? '\n' + n.output : ''}`);
      if (n.status !== 0) this.fail('other', `shell command '${command}' exited with status ${n.status}`, ev.line, [`script: ${ev.text}`]);
      return;
    }
    const outcome = applyShellCommand(this.cfg, command, ev.line);
    for (const d of outcome.done) this.trace(`shell ${d}`);
    for (const w of outcome.warnings) this.result.warnings.push(`line ${ev.line}: ${w}`);
    // After the stack started: the live settings change (connections created from now on read them).
    if (this.stack) Object.assign(this.stack.tcp.config, this.cfg.tcp);
    // `ip tcp_metrics flush` empties the kernel's metrics, Fast Open cookies included.
    if (this.stack && /\bip\s+tcp_metrics\s+flush\b/.test(command)) this.stack.tcp.fastOpen.cache.clear();
  }

  /**
   * A `grep ... /proc/net/tcp /proc/net/tcp6 | grep ...` check of the socket table (proc-net-tcp.ts); false when the
   * command is something else. packetdrill fails the script when the command's status is not 0 (run.c run_command).
   */
  private procGrep(ev: ScriptEvent, command: string): boolean {
    const tcp = this.stack?.tcp;
    const read = (path: string): string | undefined => {
      if (path === '/proc/net/tcp') return procNetTcp(tcp);
      if (path === '/proc/net/tcp6') return procNetTcp6(tcp);
      return undefined;
    };
    const r = runProcGrep(command, read);
    if (r === undefined) return false;
    this.trace(`shell ${command}: status ${r.status}${r.output ? '\n' + r.output : ''}`);
    if (r.status !== 0) this.fail('other', `shell command '${command}' exited with status ${r.status}`, ev.line, [`script: ${ev.text}`]);
    return true;
  }

  // ------------------------------------------------------------ syscalls

  /**
   * `base` is what a relative start counts from: the end of a blocking call written `+S...E` is
   * base + E, like packetdrill (run.c adds the same offset to the start and to the end).
   */
  private async syscall(ev: ScriptEvent, T: number, base: number): Promise<void> {
    if (ev.action.kind !== 'syscall') return;
    const call = ev.action.call;
    const blocking = ev.time.kind === 'blocking';
    const r = await this.sys.start(call, ev.line, blocking);
    await this.settle();
    const check = (o: CallOutcome): void => this.sys.checkResult(call, o, ev.line, ev.text);
    if ('blocked' in r) {
      if (!blocking) {
        this.fail('syscall', `call would block (write 'S...E' times for a blocking call)`, ev.line, [`script: ${ev.text}`]);
        return;
      }
      if (ev.time.kind !== 'blocking') return;
      const endMs = ev.time.end.relative ? base + ev.time.end.seconds * 1000 : ev.time.end.seconds * 1000;
      this.pending = { ev, startMs: T, endMs, tol: this.tol(endMs, T), retry: r.retry, wakeAt: r.wakeAt, check };
      this.trace(`blocking: ${ev.text}`);
      return;
    }
    this.trace(`${ev.text} -> ${describeOutcome(r)}`);
    if (blocking && ev.time.kind === 'blocking') {
      const endMs = ev.time.end.relative ? base + ev.time.end.seconds * 1000 : ev.time.end.seconds * 1000;
      const tol = this.tol(endMs, T);
      if (Math.abs(this.clock.now() - endMs) > tol + TOL_EPS) {
        this.fail('syscall', `blocking call returned at once (${fmtTime(this.clock.now())}), expected at ${fmtTime(endMs)}`, ev.line, [`script: ${ev.text}`]);
      }
    }
    check(r);
  }

  // ------------------------------------------------------------ inbound

  private ipFields(protocol: number, info: PacketLine['ip']): IpFields {
    return {
      src: this.remote,
      dst: this.local,
      protocol,
      id: info?.id ?? this.ipId++,
      ttl: info?.ttl ?? 64,
      tos: (info?.tos ?? 0) | (typeof info?.ecn === 'number' ? info.ecn : 0),
      df: info?.df ?? protocol === IPPROTO_TCP,
    };
  }

  private inject(ev: ScriptEvent, p: PacketLine): void {
    let bytes: Uint8Array;
    if (p.proto === 'tcp') bytes = this.buildTcpIn(ev, p);
    else if (p.proto === 'udp') {
      const sport = p.ports?.src ?? this.udpRemotePort;
      const dport = p.ports?.dst ?? this.udpLocalPort;
      bytes = buildUdp(sport, dport, p.len, this.ipFields(IPPROTO_UDP, p.ip));
    } else bytes = this.buildIcmpIn(ev, p);
    if (p.ip?.frag) bytes = fragmentOf(bytes, p.ip.frag, ev.line);
    this.trace(`< ${ev.text.replace(/^\S+\s+<\s*/, '')}`);
    this.link.inject(bytes);
  }

  private buildTcpIn(ev: ScriptEvent, p: TcpPacketLine): Uint8Array {
    if (p.ports) {
      this.cut = this.tuple(p.ports.dst, p.ports.src);
      if ((p.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && (this.sut === 'none' || this.sut === 'listener')) this.sut = 'child';
    } else if ((p.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && (this.sut === 'none' || this.sut === 'listener')) {
      this.newPassiveTuple();
      this.sut = 'child';
    }
    const t = this.cut;
    if ((p.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && t.synSeen && this.sut === 'socket') t.relearn = true;
    const rOff = this.cfg.remoteIsnOffset;
    const opts: TcpOptionSpec[] = [];
    const ackOff = localSeqOffset(t, (p.flags & TCP_SYN) !== 0);
    if (Array.isArray(p.options)) {
      for (const o of p.options) {
        if (o.kind === 'sack') opts.push({ kind: 'sack', blocks: o.blocks.map(([a, b]) => [(a + ackOff) >>> 0, (b + ackOff) >>> 0]) });
        // packetdrill (run_packet.c) maps the TS ecr only on segments with ACK: a pure SYN's goes out as written.
        else if (o.kind === 'ts') opts.push({ kind: 'ts', val: o.val, ecr: p.flags & TCP_ACK ? this.mapEcr(t, o.ecr, ev.line) : o.ecr });
        else opts.push(o);
      }
    }
    // packetdrill remote_seq_script_to_live_offset: a SYN's sequence number is absolute, every later one counts
    // from the peer's ISN — learned once per tuple, from its first SYN (a SYN reusing a TIME-WAIT tuple keeps it).
    if (p.flags & TCP_SYN && t.remoteIsn === undefined) t.remoteIsn = p.start;
    const rIsn = p.flags & TCP_SYN ? 0 : (t.remoteIsn ?? 0);
    return buildTcp(
      {
        srcPort: t.remotePort,
        dstPort: t.localPort,
        seq: (p.start + rIsn + rOff) >>> 0,
        ack: p.ack !== undefined ? (p.ack + ackOff) >>> 0 : 0,
        flags: p.flags,
        window: p.win ?? 0,
        urgent: p.urg ?? 0,
        options: encodeOptions(opts),
        payloadLength: p.len,
      },
      this.ipFields(IPPROTO_TCP, p.ip),
    );
  }

  private mapEcr(t: TupleState, ecr: number, line: number): number {
    const real = t.tsMap.get(ecr);
    if (real !== undefined) return real;
    if (this.cfg.tsEcrScaled && t.tsFirst) return (t.tsFirst.real + (ecr - t.tsFirst.script)) >>> 0;
    if (ecr === 0) return 0;
    throw new ScriptFailure(`TS ecr ${ecr}: the stack never sent a packet the script wrote with TS val ${ecr} (use --tcp_ts_ecr_scaled to extrapolate)`, line);
  }

  private buildIcmpIn(ev: ScriptEvent, p: IcmpPacketLine): Uint8Array {
    const f = this.ipFields(IPPROTO_ICMP, p.ip);
    if (p.echo) return buildIcmp(p.type, 0, echoRestOf(p.echo.id, p.echo.seq), new Uint8Array(p.echo.len), f);
    let body: Uint8Array;
    const q = p.quote;
    if (q?.proto === 'udp') body = quotedUdp(this.local, this.remote, this.udpLocalPort, this.udpRemotePort, q.len);
    else {
      const t = this.cut;
      // packetdrill map_inbound_icmp_tcp_packet: the quoted segment counts from the live ISN (is_syn false).
      const off = localSeqOffset(t, false);
      const seq = q ? (q.start + off) >>> 0 : off;
      body = quotedTcp(this.local, this.remote, t.localPort, t.remotePort, seq, 0, q?.flags ?? TCP_ACK, q?.len ?? 0);
    }
    const rest = p.type === 3 && p.code === 4 ? (p.mtu ?? 0) & 0xffff : 0;
    if (p.type === 3 && p.code === 4 && p.mtu === undefined) throw new ScriptFailure('frag_needed needs mtu N', ev.line);
    return buildIcmp(p.type, p.code, rest, body, f);
  }

  // ------------------------------------------------------------ outbound

  /** Does the queued packet belong to what the line describes? */
  private selects(p: PacketLine, d: DecodedOut, bytes: Uint8Array): boolean {
    if (d.ipError || d.ip.dst !== this.remote || d.ip.src !== this.local) return false;
    if (p.proto === 'tcp') {
      if (d.ip.protocol !== IPPROTO_TCP) return false;
      if (d.ip.isFragment) return false;
      if (!d.tcp) return d.len >= 4 && this.tcpPortsMatch(p, read16(bytes, d.off), read16(bytes, d.off + 2));
      return this.tcpPortsMatch(p, d.tcp.srcPort, d.tcp.dstPort);
    }
    if (p.proto === 'udp') {
      if (d.ip.protocol !== IPPROTO_UDP || d.ip.isFragment) return d.ip.protocol === IPPROTO_UDP && d.ip.fragmentOffset === 0 && d.ip.moreFragments;
      if (p.ports) return d.udp !== undefined && d.udp.srcPort === p.ports.src && d.udp.dstPort === p.ports.dst;
      return true;
    }
    return d.ip.protocol === IPPROTO_ICMP;
  }

  private tcpPortsMatch(p: TcpPacketLine, src: number, dst: number): boolean {
    if (p.ports) return src === p.ports.src && dst === p.ports.dst;
    const t = this.cut;
    if (this.sut === 'socket' && !t.synSeen && t.localPort === 0) return dst === t.remotePort;
    return src === t.localPort && dst === t.remotePort;
  }

  private async outbound(ev: ScriptEvent, p: PacketLine, time: EventTime, base: number): Promise<void> {
    let lo: number;
    let hi: number;
    let T: number;
    if (time.kind === 'any') {
      // '*': no time check; the wait ends when no timer is pending, or after an hour of virtual time
      // (a stack with a periodic timer, e.g. keepalive, would otherwise be waited on forever).
      lo = -Infinity;
      hi = this.clock.now() + ANY_TIME_LIMIT_MS;
      T = this.clock.now();
    } else if (time.kind === 'range') {
      const a = this.resolve(time.from, base);
      const b = this.resolve(time.to, base);
      const tol = this.tol(b, this.prevScript);
      lo = a - tol;
      hi = b + tol;
      T = b;
    } else if (time.kind === 'point') {
      T = this.resolve(time.at, base);
      const tol = this.tol(T, this.prevScript);
      lo = T - tol;
      hi = T + tol;
    } else throw new ScriptFailure('a blocking time on a packet', ev.line);
    this.ensureStack();
    let got: OutPacket | undefined;
    for (;;) {
      got = this.take(p);
      if (got) break;
      const next = Math.min(this.timers.nextDeadline(), this.pending ? Math.min(this.pending.wakeAt ?? Infinity, this.pending.endMs + this.pending.tol) : Infinity);
      if (next === Infinity || next > hi) {
        if (hi !== Infinity && hi > this.clock.now()) await this.advanceTo(hi);
        got = this.take(p);
        if (got) break;
        const when = time.kind === 'any' ? (next === Infinity ? 'and the stack has no timer pending' : `within an hour (by ${fmtTime(hi)})`) : `by ${fmtTime(hi)}`;
        const others = this.link.queue.slice(0, 3).map((q) => `  queued: ${fmtTime(q.time)} ${this.describe(q)}`);
        this.fail('packet', `expected packet not sent ${when}`, ev.line, [`script: ${ev.text}`, `expected at ${time.kind === 'any' ? 'any time' : fmtTime(T)}`, ...others]);
        this.prevActual = this.clock.now();
        this.prevScript = T;
        return;
      }
      await this.advanceTo(Math.max(next, this.clock.now()));
    }
    const mismatches = this.check(p, got, ev.line);
    const actualText = this.describe(got);
    this.trace(`> ${actualText}`);
    if (mismatches.length > 0) {
      this.fail('packet', `outbound packet mismatch: ${mismatches[0]}`, ev.line, [
        `script: ${ev.text}`,
        `actual: ${fmtTime(got.time)} > ${actualText}`,
        ...mismatches.map((m) => `  - ${m}`),
      ]);
    } else if (got.time < lo - TOL_EPS || got.time > hi + TOL_EPS) {
      const range = time.kind === 'range' ? `${fmtTime(lo)}..${fmtTime(hi)}` : `${fmtTime(T)} ±${fmtTime(hi - T)}`;
      this.fail('packet', `timing error: packet sent at ${fmtTime(got.time)}, expected ${range}`, ev.line, [`script: ${ev.text}`, `actual: ${fmtTime(got.time)} > ${actualText}`]);
    }
    this.prevActual = got.time;
    this.prevScript = time.kind === 'any' ? got.time : T;
  }

  /** Takes the oldest queued packet the line selects (gluing segments with --coalesce_segments). */
  private take(p: PacketLine): OutPacket | undefined {
    const q = this.link.queue;
    for (let i = 0; i < q.length; i++) {
      const d = decodeOut(q[i]!.bytes);
      if (!this.selects(p, d, q[i]!.bytes)) continue;
      if (p.proto !== 'tcp' && d.ip.moreFragments && d.ip.fragmentOffset === 0) {
        const whole = this.reassembleOut(i, d);
        if (whole) return whole;
        continue;
      }
      const first = q.splice(i, 1)[0]!;
      if (p.proto === 'tcp' && this.cfg.coalesceSegments && d.tcp && d.tcp.payloadLength < p.len) return this.coalesce(first, d, p, i);
      return first;
    }
    return undefined;
  }

  /**
   * An outbound datagram the stack fragmented: when all its fragments are
   * queued, they are taken out and put back together (the runner checks
   * the datagram; offsets must be multiples of 8 and cover it exactly).
   */
  private reassembleOut(i: number, d: DecodedOut): OutPacket | undefined {
    const q = this.link.queue;
    const id = d.ip.id;
    const parts: { idx: number; off: number; len: number; more: boolean; bytes: Uint8Array; hl: number }[] = [];
    for (let k = i; k < q.length; k++) {
      const dd = decodeOut(q[k]!.bytes);
      if (dd.ipError || dd.ip.id !== id || dd.ip.protocol !== d.ip.protocol || dd.ip.src !== d.ip.src || dd.ip.dst !== d.ip.dst || !dd.ip.isFragment) continue;
      parts.push({ idx: k, off: dd.ip.fragmentOffset, len: dd.len, more: dd.ip.moreFragments, bytes: q[k]!.bytes, hl: dd.ip.headerLength });
    }
    parts.sort((a, b) => a.off - b.off);
    let next = 0;
    for (const p of parts) {
      if (p.off !== next) return undefined;
      next += p.len;
      if (!p.more) break;
    }
    const last = parts.find((p) => !p.more);
    if (!last || last.off + last.len !== next) return undefined;
    const used = parts.filter((p) => p.off + p.len <= next);
    const out = new Uint8Array(20 + next);
    out.set(q[i]!.bytes.subarray(0, 20));
    for (const p of used) out.set(p.bytes.subarray(p.hl, p.hl + p.len), 20 + p.off);
    out[2] = ((20 + next) >> 8) & 0xff;
    out[3] = (20 + next) & 0xff;
    out[6] = 0;
    out[7] = 0;
    out[10] = 0;
    out[11] = 0;
    const c = internetChecksum(out, 0, 20);
    out[10] = c >> 8;
    out[11] = c & 0xff;
    const time = q[i]!.time;
    const index = q[i]!.index;
    for (const p of [...used].sort((a, b) => b.idx - a.idx)) q.splice(p.idx, 1);
    this.trace(`(reassembled ${used.length} outbound fragments of IP id ${id}: ${used.map((p) => `${p.off}+${p.len}${p.more ? ' MF' : ''}`).join(', ')})`);
    return { bytes: out, time, index };
  }

  private coalesce(first: OutPacket, d: DecodedOut, p: TcpPacketLine, from: number): OutPacket {
    const parts: { bytes: Uint8Array; d: DecodedOut }[] = [{ bytes: first.bytes, d }];
    let total = d.tcp!.payloadLength;
    let nextSeq = (d.tcp!.seq + total) >>> 0;
    const q = this.link.queue;
    for (let i = from; i < q.length && total < p.len; ) {
      const dd = decodeOut(q[i]!.bytes);
      if (!this.selects(p, dd, q[i]!.bytes) || !dd.tcp) {
        i++;
        continue;
      }
      if (dd.tcp.seq !== nextSeq || dd.tcp.ack !== d.tcp!.ack || dd.tcp.payloadLength === 0) break;
      parts.push({ bytes: q[i]!.bytes, d: dd });
      total += dd.tcp.payloadLength;
      nextSeq = (nextSeq + dd.tcp.payloadLength) >>> 0;
      q.splice(i, 1);
    }
    if (parts.length === 1) return first;
    // Rebuild one segment as packetdrill's aggregate_packets does: the headers (flags included) of the last
    // part, the sequence number and CWR of the first, the payload of all — a TSO packet's PSH and FIN sit on
    // its last segment, so an earlier segment's PSH is not the line's.
    const last = parts[parts.length - 1]!;
    const lt = last.d.tcp!;
    const hdrLen = last.d.off + lt.headerLength;
    const out = new Uint8Array(hdrLen + total);
    out.set(last.bytes.subarray(0, hdrLen));
    let o = hdrLen;
    const flags = (lt.flags & ~TCP_CWR) | (d.tcp!.flags & TCP_CWR);
    for (const part of parts) {
      const t = part.d.tcp!;
      out.set(part.bytes.subarray(part.d.off + t.headerLength, part.d.off + t.headerLength + t.payloadLength), o);
      o += t.payloadLength;
    }
    const seg = out.subarray(last.d.off);
    const src = last.d.ip.src;
    const dst = last.d.ip.dst;
    // Re-emit the TCP header with the first seq, merged flags and a fresh checksum.
    const opts = seg.slice(TCP_MIN_HEADER, lt.headerLength);
    const rebuilt = buildTcp(
      { srcPort: lt.srcPort, dstPort: lt.dstPort, seq: d.tcp!.seq, ack: lt.ack, flags, window: lt.window, urgent: lt.urgent, options: opts, payloadLength: total },
      { src, dst, protocol: IPPROTO_TCP, id: last.d.ip.id, ttl: last.d.ip.ttl, tos: last.d.ip.tos, df: last.d.ip.dontFragment },
    );
    return { bytes: rebuilt, time: first.time, index: first.index };
  }

  /** Every field of section 3.7 that differs, as readable phrases. */
  private check(p: PacketLine, got: OutPacket, line: number): string[] {
    const d = decodeOut(got.bytes);
    const m: string[] = [];
    if (d.ipError) return [`IP header invalid: ${d.ipError}`];
    if (d.ip.headerLength !== 20) m.push(`IP header length ${d.ip.headerLength}, expected 20`);
    if (p.ip?.ttl !== undefined && d.ip.ttl !== p.ip.ttl) m.push(`ttl: expected ${p.ip.ttl}, got ${d.ip.ttl}`);
    if (p.ip?.tos !== undefined && d.ip.tos !== p.ip.tos) m.push(`tos: expected 0x${p.ip.tos.toString(16)}, got 0x${d.ip.tos.toString(16)}`);
    if (p.ip?.ecn !== undefined) {
      const got = d.ip.tos & 3;
      const ok = p.ip.ecn === 'either' ? got === 1 || got === 2 : got === p.ip.ecn;
      if (!ok) m.push(`ECN field: expected ${ECN_NAMES[p.ip.ecn === 'either' ? 4 : p.ip.ecn]}, got ${ECN_NAMES[got]}`);
    }
    if (p.proto === 'tcp') {
      if (d.tcpError) return [...m, `TCP header invalid: ${d.tcpError}`];
      this.checkTcp(p, d, got, line, m);
    } else if (p.proto === 'udp') this.checkUdp(p, d, got, m);
    else this.checkIcmp(p, d, m);
    return m;
  }

  private checkUdp(p: UdpPacketLine, d: DecodedOut, got: OutPacket, m: string[]): void {
    if (d.ip.isFragment) {
      m.push(`the datagram left as IP fragments (offset ${d.ip.fragmentOffset}${d.ip.moreFragments ? ', MF' : ''})`);
      return;
    }
    const u = d.udp;
    if (!u) {
      m.push('UDP header truncated');
      return;
    }
    if (!u.checksumOk) m.push('UDP checksum wrong');
    if (u.length - 8 !== p.len) m.push(`udp length: expected (${p.len}), got (${u.length - 8})`);
    for (let i = d.off + 8; i < d.off + u.length; i++) {
      if (got.bytes[i] !== 0) {
        m.push(`payload byte ${i - d.off - 8} is 0x${got.bytes[i]!.toString(16)}, expected zeros`);
        break;
      }
    }
    if (!p.ports) {
      if (this.udpLocalPort === 0) this.udpLocalPort = u.srcPort;
      else if (u.srcPort !== this.udpLocalPort) m.push(`source port: expected ${this.udpLocalPort}, got ${u.srcPort}`);
      if (u.dstPort !== this.udpRemotePort) m.push(`destination port: expected ${this.udpRemotePort}, got ${u.dstPort}`);
    }
  }

  private checkIcmp(p: IcmpPacketLine, d: DecodedOut, m: string[]): void {
    const h = d.icmp;
    if (!h) {
      m.push('ICMP header invalid (truncated or bad checksum)');
      return;
    }
    if (h.type !== p.type) m.push(`ICMP type: expected ${p.typeWord} (${p.type}), got ${h.type}`);
    if (!p.echo && h.code !== p.code) m.push(`ICMP code: expected ${p.codeWord ?? p.code} (${p.code}), got ${h.code}`);
    if (p.mtu !== undefined && h.nextHopMtu !== p.mtu) m.push(`next-hop MTU: expected ${p.mtu}, got ${h.nextHopMtu}`);
    if (p.echo) {
      if (h.id !== p.echo.id) m.push(`echo id: expected ${p.echo.id}, got ${h.id}`);
      if (h.sequence !== p.echo.seq) m.push(`echo seq: expected ${p.echo.seq}, got ${h.sequence}`);
      if (d.len - 8 !== p.echo.len) m.push(`echo payload: expected (${p.echo.len}), got (${d.len - 8})`);
    }
  }

  private checkTcp(p: TcpPacketLine, d: DecodedOut, got: OutPacket, line: number, m: string[]): void {
    const h = d.tcp!;
    const t = p.ports ? this.tuple(p.ports.src, p.ports.dst) : this.cut;
    if (!p.ports && this.sut === 'socket' && t.localPort === 0) {
      // Active open: the stack's SYN tells the runner its port.
      this.cut = this.tuple(h.srcPort, h.dstPort);
    }
    const tt = p.ports ? t : this.cut;
    const rOff = this.cfg.remoteIsnOffset;
    if (h.flags !== p.flags) m.push(`flags: expected ${p.flagsText} got ${formatTcpFlags(h.flags)}`);
    if (p.flags & TCP_SYN && h.flags & TCP_SYN && (!tt.synSeen || tt.relearn)) {
      tt.off = (h.seq - p.start) >>> 0;
      // packetdrill learns the live ISN once per socket: a SYN-ACK reusing a TIME-WAIT tuple does not move it.
      if (tt.localIsn === undefined) tt.localIsn = h.seq;
      tt.synSeen = true;
      tt.relearn = false;
      tt.tsFirst = undefined;
    }
    const seq = (h.seq - localSeqOffset(tt, (h.flags & TCP_SYN) !== 0)) >>> 0;
    if (seq !== p.start) m.push(`seq: expected ${p.start}, got ${seq} (real ${h.seq})`);
    const ackExpected = p.ack === undefined ? 0 : p.ack;
    // Our SYN-ACK's ack is absolute; other segments' count from the peer's ISN (packetdrill).
    const rIsn = h.flags & TCP_SYN ? 0 : (tt.remoteIsn ?? 0);
    const ackGot = p.ack === undefined ? h.ack : (h.ack - rOff - rIsn) >>> 0;
    if (ackGot !== ackExpected) m.push(`ack: expected ${ackExpected}, got ${ackGot}`);
    if (p.win !== undefined && h.window !== p.win) m.push(`win: expected ${p.win}, got ${h.window}`);
    if (h.urgent !== (p.urg ?? 0)) m.push(`urg: expected ${p.urg ?? 0}, got ${h.urgent}`);
    if (h.payloadLength !== p.len) m.push(`payload length: expected (${p.len}), got (${h.payloadLength})`);
    else {
      const start = d.off + h.headerLength;
      for (let i = 0; i < h.payloadLength; i++) {
        if (got.bytes[start + i] !== 0) {
          m.push(`payload byte ${i} is 0x${got.bytes[start + i]!.toString(16)}, expected the zeros the script wrote`);
          break;
        }
      }
    }
    if (p.options === 'any') return;
    const actual = splitOptions(got.bytes, d.off + TCP_MIN_HEADER, d.off + h.headerLength);
    if (typeof actual === 'string') {
      m.push(`options malformed: ${actual}`);
      return;
    }
    const want = p.options ?? [];
    if (want.length === 0) {
      if (h.headerLength !== TCP_MIN_HEADER) m.push(`options: expected none, got <${this.fmtOptions(got.bytes, d, tt)}>`);
      return;
    }
    if (this.cfg.relaxOptionOrder) this.compareOptionSet(want, actual, tt, got.time, line, m);
    else this.compareOptionList(want, actual, tt, got.time, line, m);
  }

  private compareOptionList(want: TcpOptionSpec[], actual: { kind: number; bytes: Uint8Array }[], t: TupleState, time: number, _line: number, m: string[]): void {
    const n = Math.max(want.length, actual.length);
    for (let i = 0; i < n; i++) {
      const w = want[i];
      const a = actual[i];
      if (!w || !a) {
        m.push(`options: expected <${want.map(fmtSpec).join(',')}>, got <${actual.map((x) => this.fmtActualOpt(x.bytes, t)).join(',')}>`);
        return;
      }
      const err = this.compareOption(w, a, t, time);
      if (err) {
        m.push(`option ${i + 1}: ${err}; expected <${want.map(fmtSpec).join(',')}>, got <${actual.map((x) => this.fmtActualOpt(x.bytes, t)).join(',')}>`);
        return;
      }
    }
  }

  private compareOptionSet(want: TcpOptionSpec[], actual: { kind: number; bytes: Uint8Array }[], t: TupleState, time: number, _line: number, m: string[]): void {
    const pad = (k: number): boolean => k === TcpOptionKind.Nop || k === TcpOptionKind.Eol;
    const left = actual.filter((a) => !pad(a.kind));
    for (const w of want) {
      if (w.kind === 'nop' || w.kind === 'eol') continue;
      const i = left.findIndex((a) => a.kind === specKind(w));
      if (i < 0) {
        m.push(`option ${fmtSpec(w)} missing; got <${actual.map((x) => this.fmtActualOpt(x.bytes, t)).join(',')}>`);
        continue;
      }
      const err = this.compareOption(w, left[i]!, t, time);
      if (err) m.push(err);
      left.splice(i, 1);
    }
    if (left.length > 0) m.push(`unexpected option(s) ${left.map((x) => this.fmtActualOpt(x.bytes, t)).join(',')}`);
  }

  /** One option against its spec; records TS pairs. */
  private compareOption(w: TcpOptionSpec, a: { kind: number; bytes: Uint8Array }, t: TupleState, time: number): string | undefined {
    const k = specKind(w);
    if (a.kind !== k) return `expected ${fmtSpec(w)}, got ${this.fmtActualOpt(a.bytes, t)}`;
    const b = a.bytes;
    switch (w.kind) {
      case 'mss':
        if (b.length !== 4 || read16(b, 2) !== w.value) return `expected mss ${w.value}, got ${this.fmtActualOpt(b, t)}`;
        return undefined;
      case 'wscale':
        if (b.length !== 3 || b[2] !== w.value) return `expected wscale ${w.value}, got ${this.fmtActualOpt(b, t)}`;
        return undefined;
      case 'sackOK':
        return b.length === 2 ? undefined : `sackOK with length ${b.length}`;
      case 'sack': {
        const blocks: string[] = [];
        // As the ack: SACK blocks count from the peer's ISN (packetdrill remote_seq_live_to_script_offset).
        const off = this.cfg.remoteIsnOffset + (t.remoteIsn ?? 0);
        for (let i = 2; i + 8 <= b.length; i += 8) blocks.push(`${(read32(b, i) - off) >>> 0}:${(read32(b, i + 4) - off) >>> 0}`);
        const exp = w.blocks.map(([x, y]) => `${x}:${y}`);
        if (blocks.join(' ') !== exp.join(' ')) return `expected sack ${exp.join(' ')}, got sack ${blocks.join(' ')}`;
        return undefined;
      }
      case 'ts': {
        if (b.length !== 10) return `TS option with length ${b.length}`;
        const real = read32(b, 2);
        if (!t.tsFirst) t.tsFirst = { script: w.val, real };
        else if (this.cfg.tsTickUsecs !== undefined) {
          const ticks = ((real - t.tsFirst.real) | 0) - (w.val - t.tsFirst.script);
          const errMs = (Math.abs(ticks) * this.cfg.tsTickUsecs) / 1000;
          const tol = this.cfg.strictTime ? 0 : this.cfg.toleranceUsecs / 1000;
          if (errMs > tol + TOL_EPS) return `TS val ${w.val}: off by ${ticks} ticks (${errMs.toFixed(3)} ms) at ${fmtTime(time)}`;
        }
        t.tsMap.set(w.val, real);
        return undefined;
      }
      case 'fastopen': {
        const at = w.exp ? 4 : 2;
        const got = b.subarray(at);
        if ((w.exp && (b.length < 4 || read16(b, 2) !== FASTOPEN_EXP_MAGIC)) || got.length !== w.cookie.length || got.some((x, i) => x !== w.cookie[i])) return `expected ${fmtSpec(w)}, got ${this.fmtActualOpt(b, t)}`;
        return undefined;
      }
      case 'accecn': {
        let same = b.length === 2 + 3 * w.fields.length;
        for (let k = 0; same && k < w.fields.length; k++) same = ((b[2 + 3 * k]! << 16) | (b[3 + 3 * k]! << 8) | b[4 + 3 * k]!) === w.fields[k];
        return same ? undefined : `expected ${fmtSpec(w)}, got ${this.fmtActualOpt(b, t)}`;
      }
      case 'md5': {
        const got = b.subarray(2);
        if (got.length !== w.digest.length || got.some((x, i) => x !== w.digest[i])) return `expected ${fmtSpec(w)}, got ${this.fmtActualOpt(b, t)}`;
        return undefined;
      }
      default:
        return undefined;
    }
  }

  private fmtActualOpt(b: Uint8Array, t: TupleState): string {
    const kind = b[0]!;
    switch (kind) {
      case TcpOptionKind.Eol:
        return 'eol';
      case TcpOptionKind.Nop:
        return 'nop';
      case TcpOptionKind.Mss:
        return b.length === 4 ? `mss ${read16(b, 2)}` : `mss?len${b.length}`;
      case TcpOptionKind.WindowScale:
        return b.length === 3 ? `wscale ${b[2]}` : `wscale?len${b.length}`;
      case TcpOptionKind.SackPermitted:
        return 'sackOK';
      case TcpOptionKind.Sack: {
        let s = 'sack';
        const off = this.cfg.remoteIsnOffset + (t.remoteIsn ?? 0);
        for (let i = 2; i + 8 <= b.length; i += 8) s += ` ${(read32(b, i) - off) >>> 0}:${(read32(b, i + 4) - off) >>> 0}`;
        return s;
      }
      case TcpOptionKind.FastOpen:
      case TcpOptionKind.Experimental: {
        const exp = kind === TcpOptionKind.Experimental;
        if (exp && (b.length < 4 || read16(b, 2) !== FASTOPEN_EXP_MAGIC)) return `kind ${kind} len ${b.length}`;
        const hex = Buffer.from(b.subarray(exp ? 4 : 2)).toString('hex');
        return `${exp ? 'FOEXP' : 'FO'}${hex ? ' ' + hex : ''}`;
      }
      case TcpOptionKind.AccEcn0:
      case TcpOptionKind.AccEcn1: {
        const labels = kind === TcpOptionKind.AccEcn1 ? ['e1b', 'ceb', 'e0b'] : ['e0b', 'ceb', 'e1b'];
        let s = 'ECN';
        for (let k = 0; k < 3 && 5 + 3 * k <= b.length; k++) s += ` ${labels[k]!} ${(b[2 + 3 * k]! << 16) | (b[3 + 3 * k]! << 8) | b[4 + 3 * k]!}`;
        return s;
      }
      case TcpOptionKind.Md5Sig:
        return b.length === 18 ? `md5 ${Buffer.from(b.subarray(2)).toString('hex')}` : `md5?len${b.length}`;
      case TcpOptionKind.Timestamps: {
        if (b.length !== 10) return `TS?len${b.length}`;
        const real = read32(b, 2);
        let sv: string = String(real);
        if (t.tsFirst) sv = String((t.tsFirst.script + ((real - t.tsFirst.real) | 0)) >>> 0);
        return `TS val ${sv} ecr ${read32(b, 6)}`;
      }
      default:
        return `kind ${kind} len ${b.length}`;
    }
  }

  private fmtOptions(bytes: Uint8Array, d: DecodedOut, t: TupleState): string {
    const list = splitOptions(bytes, d.off + TCP_MIN_HEADER, d.off + d.tcp!.headerLength);
    if (typeof list === 'string') return list;
    return list.map((o) => this.fmtActualOpt(o.bytes, t)).join(',');
  }

  /** An emitted packet in script notation, numbers mapped back to the script's. */
  describe(p: OutPacket): string {
    const d = decodeOut(p.bytes);
    if (d.ipError) return `<invalid IP packet: ${d.ipError}>`;
    if (d.ip.isFragment) return `[IP fragment id ${d.ip.id} off ${d.ip.fragmentOffset}${d.ip.moreFragments ? ' MF' : ''} proto ${d.ip.protocol}] (${d.len})`;
    if (d.tcp) {
      const h = d.tcp;
      const t = this.tuples.get(`${h.srcPort}>${h.dstPort}`) ?? { off: 0, tsFirst: undefined, tsMap: new Map(), localPort: h.srcPort, remotePort: h.dstPort, synSeen: false, relearn: false };
      const seq = (h.seq - localSeqOffset(t, (h.flags & TCP_SYN) !== 0)) >>> 0;
      let s = `${h.srcPort}>${h.dstPort} ${formatTcpFlags(h.flags)} ${seq}:${(seq + h.payloadLength) >>> 0}(${h.payloadLength})`;
      if (h.flags & TCP_ACK || h.ack !== 0) s += ` ack ${(h.ack - this.cfg.remoteIsnOffset) >>> 0}`;
      s += ` win ${h.window}`;
      if (h.urgent !== 0) s += ` urg ${h.urgent}`;
      if (h.headerLength > TCP_MIN_HEADER) s += ` <${this.fmtOptions(p.bytes, d, t)}>`;
      return s;
    }
    if (d.tcpError) return `<TCP segment invalid: ${d.tcpError}>`;
    if (d.udp) return `${d.udp.srcPort}>${d.udp.dstPort} udp (${d.udp.length - 8})`;
    if (d.icmp) {
      const h = d.icmp;
      if (h.type === 0 || h.type === 8) return `icmp ${h.type === 0 ? 'echo_reply' : 'echo_request'} id ${h.id} seq ${h.sequence} (${d.len - 8})`;
      return `icmp type ${h.type} code ${h.code} (${d.len - 8} bytes after the header)`;
    }
    return `IP protocol ${d.ip.protocol} ${ipToString(d.ip.src)} > ${ipToString(d.ip.dst)} (${d.len})`;
  }
}

/** The fragment [offset, offset+length) of a whole datagram's payload, with its own IP header. */
function fragmentOf(whole: Uint8Array, f: { offset: number; length: number; more: boolean }, line: number): Uint8Array {
  const payload = whole.length - 20;
  if (f.offset + f.length > payload) throw new ScriptFailure(`frag ${f.offset}:${f.length} is beyond the ${payload}-byte datagram`, line);
  const out = new Uint8Array(20 + f.length);
  out.set(whole.subarray(0, 20));
  out.set(whole.subarray(20 + f.offset, 20 + f.offset + f.length), 20);
  const total = out.length;
  out[2] = (total >> 8) & 0xff;
  out[3] = total & 0xff;
  const fl = (f.more ? 0x2000 : 0) | (f.offset >> 3);
  out[6] = (fl >> 8) & 0xff;
  out[7] = fl & 0xff;
  out[10] = 0;
  out[11] = 0;
  const c = internetChecksum(out, 0, 20);
  out[10] = c >> 8;
  out[11] = c & 0xff;
  return out;
}

function specKind(w: TcpOptionSpec): number {
  switch (w.kind) {
    case 'nop':
      return TcpOptionKind.Nop;
    case 'eol':
      return TcpOptionKind.Eol;
    case 'mss':
      return TcpOptionKind.Mss;
    case 'wscale':
      return TcpOptionKind.WindowScale;
    case 'sackOK':
      return TcpOptionKind.SackPermitted;
    case 'sack':
      return TcpOptionKind.Sack;
    case 'ts':
      return TcpOptionKind.Timestamps;
    case 'fastopen':
      return w.exp ? TcpOptionKind.Experimental : TcpOptionKind.FastOpen;
    case 'md5':
      return TcpOptionKind.Md5Sig;
    case 'accecn':
      return w.order === 1 ? TcpOptionKind.AccEcn1 : TcpOptionKind.AccEcn0;
    case 'unsupported':
      return -1;
  }
}

export function fmtSpec(w: TcpOptionSpec): string {
  switch (w.kind) {
    case 'nop':
    case 'eol':
    case 'sackOK':
      return w.kind;
    case 'mss':
    case 'wscale':
      return `${w.kind} ${w.value}`;
    case 'sack':
      return `sack ${w.blocks.map(([a, b]) => `${a}:${b}`).join(' ')}`;
    case 'ts':
      return `TS val ${w.val} ecr ${w.ecr}`;
    case 'fastopen':
      return `${w.exp ? 'FOEXP' : 'FO'}${w.cookie.length > 0 ? ' ' + Buffer.from(w.cookie).toString('hex') : ''}`;
    case 'md5':
      return `md5 ${Buffer.from(w.digest).toString('hex')}`;
    case 'accecn': {
      const labels = w.order === 1 ? ['e1b', 'ceb', 'e0b'] : ['e0b', 'ceb', 'e1b'];
      return `ECN ${w.fields.map((v, i) => `${labels[i]!} ${v}`).join(' ')}`;
    }
    case 'unsupported':
      return w.what;
  }
}

export function describeOutcome(o: CallOutcome): string {
  return o.errno !== undefined ? `${o.ret} ${errnoName(o.errno)}` : String(o.ret);
}
