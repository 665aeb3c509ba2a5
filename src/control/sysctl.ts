/**
 * The one registry of tunables, like Linux's sysctl tree: every layer's declarations (src/*\/tunables.ts)
 * collected here, bound to a running stack for `tunstack sysctl` (read any; write the `run` ones) and to the
 * stack's options for `tunstack up --sysctl NAME=VALUE` (the `start` ones too). docs/sysctl.md is generated
 * from it (src/control/sysctl-doc.ts).
 */
import type { Stack, StackOptions } from '../stack.js';
import { formatTunableValue, parseTunableValue, rangeEnds, type Tunable, type TunableKind, type TunableValue, type TunableWhen } from '../tunable.js';
import { icmpTunables, ipConstants, ipTunables, reassemblyTunables, type IpSettings } from '../ip/tunables.js';
import { udpConstants, udpTunables } from '../udp/tunables.js';
import { tcpConstants, tcpTunables } from '../tcp/tunables.js';
import { httpTunables } from '../http/tunables.js';
import type { HttpLimits } from '../http/limits.js';
import type { IcmpOptions } from '../ip/icmp.js';
import type { ReassemblyOptions } from '../ip/reassembler.js';
import type { UdpOptions } from '../udp/layer.js';
import { defaultTcpConfig, liveTcpConfig, type TcpConfig } from '../tcp/config.js';
import type { ControlResponse } from './protocol.js';

/** What a running stack's tunables are read from and written to. */
export interface SysctlTarget {
  stack: Stack;
  /** The limits the HTTP server was started with. */
  httpLimits: Readonly<HttpLimits>;
}

/** Values given at start (`--sysctl`), per options object, before the stack is made. */
export interface SysctlStart {
  ip: Partial<IpSettings>;
  icmp: Partial<IcmpOptions>;
  reassembly: Partial<ReassemblyOptions>;
  udp: Partial<UdpOptions>;
  tcp: Partial<TcpConfig>;
}

export interface SysctlEntry {
  readonly name: string;
  readonly unit: string;
  readonly kind: TunableKind;
  readonly default: TunableValue;
  /** The value `tunstack up` starts with when it differs from the library's default (src/tcp/config.ts liveTcpConfig). */
  readonly upDefault: TunableValue;
  readonly text: string;
  readonly linux: string | undefined;
  readonly differs: string | undefined;
  readonly when: TunableWhen;
  /** How to set it at start: `--sysctl NAME=VALUE`, or the tunable's own flag. */
  readonly startFlag: string;
  read(t: SysctlTarget): TunableValue;
  /** Present when the entry may change on a running stack. */
  write?(t: SysctlTarget, v: TunableValue): void;
  /** Present when `--sysctl NAME=VALUE` sets it at start. */
  stage?(s: SysctlStart, v: TunableValue): void;
}

/** The live IP settings of a stack, as the one options shape the IP tunables speak. */
function liveIpSettings(stack: Stack): IpSettings {
  return {
    get defaultTtl() {
      return stack.ip.options.defaultTtl;
    },
    set defaultTtl(v: number) {
      stack.ip.options.defaultTtl = v;
    },
    get forwarding() {
      return stack.forwarder.enabled;
    },
    set forwarding(v: boolean) {
      stack.setForwarding(v);
    },
    get localPortRange() {
      return `${stack.tcp.config.ephemeralPortLow} ${stack.tcp.config.ephemeralPortHigh}`;
    },
    set localPortRange(_v: string) {
      // A `start` tunable: never written on a running stack (the TCP layer sized its port search for it).
    },
  };
}

function group<O>(decls: readonly Tunable<O>[], live: ((t: SysctlTarget) => O) | null, staged: ((s: SysctlStart) => Partial<O>) | null, up: O | null = null): SysctlEntry[] {
  return decls.map((d) => {
    const put = d.put;
    const entry: SysctlEntry = {
      name: d.name,
      unit: d.unit,
      kind: d.kind,
      default: d.default,
      upDefault: up === null ? d.default : d.get(up),
      text: d.text,
      linux: d.linux,
      differs: d.differs,
      when: d.when,
      startFlag: d.flag ?? `--sysctl ${d.name}=VALUE`,
      read: (t) => (live === null ? d.default : d.get(live(t))),
      ...(put !== undefined && live !== null && d.when === 'run' ? { write: (t: SysctlTarget, v: TunableValue) => put(live(t), v) } : {}),
      ...(put !== undefined && staged !== null && d.flag === undefined && d.when !== 'build' ? { stage: (s: SysctlStart, v: TunableValue) => put(staged(s), v) } : {}),
    };
    return entry;
  });
}

/** Every tunable, sorted by name (the order `sysctl -a` and docs/sysctl.md show). */
export const SYSCTLS: readonly SysctlEntry[] = [
  ...group(ipTunables, (t) => liveIpSettings(t.stack), (s) => s.ip),
  ...group(icmpTunables, (t) => t.stack.icmp.options, (s) => s.icmp),
  ...group(reassemblyTunables, (t) => t.stack.reassembler.options, (s) => s.reassembly),
  ...group(udpTunables, (t) => t.stack.udp.options, (s) => s.udp),
  ...group(tcpTunables, (t) => t.stack.tcp.config, (s) => s.tcp, { ...defaultTcpConfig, ...liveTcpConfig }),
  ...group(httpTunables, (t) => t.httpLimits, null),
  ...group([...ipConstants, ...udpConstants, ...tcpConstants], null, null),
].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

const BY_NAME = new Map(SYSCTLS.map((e) => [e.name, e]));

/** The entry for `name` (Linux's sysctl also takes slashes: net/ipv4/tcp_sack). */
export function findSysctl(name: string): SysctlEntry | undefined {
  return BY_NAME.get(name.includes('/') ? name.replace(/\//g, '.') : name);
}

/** Unknown name: the entries whose name contains its last part (`tcp_keepalive` → the three keepalive ones). */
function unknown(name: string): Error {
  const last = name.split(/[./]/).pop() ?? '';
  const near = last.length >= 3 ? SYSCTLS.filter((e) => e.name.includes(last)).map((e) => e.name) : [];
  return new Error(`unknown sysctl ${name}${near.length > 0 && near.length <= 8 ? ` (did you mean ${near.join(', ')}?)` : ''}`);
}

/** Why `e` cannot be written on a running stack, or null when it can. */
export function readOnlyReason(e: SysctlEntry): string | null {
  if (e.write !== undefined) return null;
  if (e.when === 'build') return `${e.name} is a constant of this build: it cannot be set`;
  return `${e.name} is read-only at run time: set it with ${e.startFlag} at start`;
}

/** Reads one tunable of a running stack as `sysctl` prints it. */
export function readSysctl(t: SysctlTarget, name: string): string | Error {
  const e = findSysctl(name);
  if (e === undefined) return unknown(name);
  return formatTunableValue(e.read(t));
}

/** Writes one tunable of a running stack; an Error says why not (unknown, read-only, bad value). */
export function writeSysctl(t: SysctlTarget, name: string, text: string): string | Error {
  const e = findSysctl(name);
  if (e === undefined) return unknown(name);
  const ro = readOnlyReason(e);
  if (ro !== null || e.write === undefined) return new Error(ro ?? `${e.name} cannot be written`);
  const v = parseTunableValue(e.kind, text);
  if (v instanceof Error) return new Error(`${e.name}: ${v.message}`);
  e.write(t, v);
  return formatTunableValue(e.read(t));
}

/** The options `--sysctl NAME=VALUE ...` give a stack at start; an Error names every bad assignment. */
export function stageSysctls(assignments: readonly string[]): SysctlStart | Error {
  const s: SysctlStart = { ip: {}, icmp: {}, reassembly: {}, udp: {}, tcp: {} };
  const problems: string[] = [];
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) {
      problems.push(`'${a}': expected NAME=VALUE`);
      continue;
    }
    const name = a.slice(0, eq).trim();
    const e = findSysctl(name);
    if (e === undefined) {
      problems.push(unknown(name).message);
      continue;
    }
    if (e.stage === undefined) {
      problems.push(e.when === 'build' ? `${e.name} is a constant of this build: it cannot be set` : `${e.name} is set with ${e.startFlag}, not --sysctl`);
      continue;
    }
    const v = parseTunableValue(e.kind, a.slice(eq + 1));
    if (v instanceof Error) problems.push(`${e.name}: ${v.message}`);
    else e.stage(s, v);
  }
  return problems.length > 0 ? new Error(problems.join('; ')) : s;
}

/** Folds staged values into StackOptions over `base` (the stack's own starting options). */
export function applySysctls(base: StackOptions, s: SysctlStart): StackOptions {
  const out: StackOptions = { ...base };
  const tcp: Partial<TcpConfig> = { ...base.tcp, ...s.tcp };
  const udp: Partial<UdpOptions> = { ...base.udp, ...s.udp };
  if (s.ip.localPortRange !== undefined) {
    const [lo, hi] = rangeEnds(s.ip.localPortRange);
    tcp.ephemeralPortLow = udp.ephemeralLow = lo;
    tcp.ephemeralPortHigh = udp.ephemeralHigh = hi;
  }
  if (s.ip.defaultTtl !== undefined) out.ttl = s.ip.defaultTtl;
  if (s.ip.forwarding !== undefined) out.forwarding = s.ip.forwarding;
  if (Object.keys(tcp).length > 0) out.tcp = tcp;
  if (Object.keys(udp).length > 0) out.udp = udp;
  if (Object.keys(s.icmp).length > 0) out.icmp = { ...base.icmp, ...s.icmp };
  if (Object.keys(s.reassembly).length > 0) out.reassembly = { ...base.reassembly, ...s.reassembly };
  return out;
}

/** One row of a `sysctl` answer. */
export interface SysctlRow {
  name: string;
  value: string;
  unit: string;
  writable: boolean;
  text: string;
}

function row(t: SysctlTarget, e: SysctlEntry): SysctlRow {
  return { name: e.name, value: formatTunableValue(e.read(t)), unit: e.unit, writable: e.write !== undefined, text: e.text };
}

/** The control request `sysctl`: all entries, one, or a write (then the value read back). */
export function answerSysctl(t: SysctlTarget, req: { name?: string; value?: string }): ControlResponse {
  if (req.name === undefined) return { ok: true, entries: SYSCTLS.map((e) => row(t, e)) };
  if (req.value !== undefined) {
    const r = writeSysctl(t, req.name, req.value);
    if (r instanceof Error) return { ok: false, error: r.message };
  }
  const e = findSysctl(req.name);
  if (e === undefined) return { ok: false, error: unknown(req.name).message };
  return { ok: true, entries: [row(t, e)] };
}
