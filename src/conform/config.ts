/**
 * Script options (dialect sections 2.3, 3, 6, 7 and the runner's own) and
 * the sysctl whitelist of section 6, mapped onto runner settings and stack
 * settings. Anything not recognised is reported as `unsupported: ...`.
 */
import { DEFAULT_LOCAL_IP6, DEFAULT_REMOTE_IP6 } from './ip-translate.js';
import { applyFileCommand, type ScriptFiles } from './script-files.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { ScriptOption } from './ast.js';
import { expandArithmetic, isHousekeeping, shellLines } from './shell-file.js';
import { parseFastOpenKeys } from '../tcp/fastopen.js';
import { tcpTunables } from '../tcp/tunables.js';
import type { TcpConfig } from '../tcp/config.js';
import { parseTunableValue, type Tunable } from '../tunable.js';

/** TCP stack settings a script may change (keys of StackOptions.tcp). */
export type TcpSettings = Record<string, number | boolean | string>;

export interface RunnerConfig {
  toleranceUsecs: number;
  tolerancePercent: number;
  strictTime: boolean;
  coalesceSegments: boolean;
  strictTail: boolean;
  relaxOptionOrder: boolean;
  remoteIsnOffset: number;
  tsTickUsecs: number | undefined;
  tsEcrScaled: boolean;
  nonFatal: Set<'packet' | 'syscall'>;
  bindPort: number;
  connectPort: number;
  localIp: string;
  remoteIp: string;
  /**
   * packetdrill's --ip_version: `ipv4`; `ipv4-mapped-ipv6` (AF_INET6 sockets on IPv4-mapped addresses, IPv4 on
   * the wire); `ipv6` (IPv6 on the wire: ip-translate.ts carries the script's packets over it).
   */
  ipVersion: 'ipv4' | 'ipv4-mapped-ipv6' | 'ipv6';
  /** Prefix length of the stack's address on the script link. */
  prefix: number;
  mtu: number;
  dryRun: boolean;
  verbose: boolean;
  strictCode: boolean;
  /** First ephemeral port the runner uses for the peer. */
  remotePortBase: number;
  /** Stack's TCP settings (StackOptions.tcp). */
  tcp: TcpSettings;
  /** Stack-level settings: ICMP rate limit off etc. */
  icmpRateLimit: boolean;
  /** IP reassembly timeout (ms) when set. */
  reassemblyTimeoutMs: number | undefined;
  /** The script's folder: shell files it runs (`../common/defaults.sh`) are found from here (else the working folder). */
  scriptDir: string | undefined;
  /** Files the script's shell lines made or removed (script-files.ts), for open(2). */
  files: ScriptFiles;
}

/** The address the script's sockets bind and listen on, per --ip_version (packetdrill config.c live_bind_ip). */
export function bindAddress(c: RunnerConfig): string {
  return c.ipVersion === 'ipv6' ? DEFAULT_LOCAL_IP6 : c.ipVersion === 'ipv4-mapped-ipv6' ? `::ffff:${c.localIp}` : c.localIp;
}

/** The address the script's sockets connect to, per --ip_version (packetdrill config.c live_connect_ip). */
export function connectAddress(c: RunnerConfig): string {
  return c.ipVersion === 'ipv6' ? DEFAULT_REMOTE_IP6 : c.ipVersion === 'ipv4-mapped-ipv6' ? `::ffff:${c.remoteIp}` : c.remoteIp;
}

export function defaultRunnerConfig(): RunnerConfig {
  return {
    toleranceUsecs: 4000,
    tolerancePercent: 12.5,
    strictTime: false,
    // packetdrill glues consecutive outbound segments to match a longer line (a kernel behind a TUN with
    // TSO/GSO sends super-packets); --strict_segments turns it off, as in packetdrill.
    coalesceSegments: true,
    strictTail: false,
    relaxOptionOrder: false,
    remoteIsnOffset: 0,
    tsTickUsecs: undefined,
    tsEcrScaled: false,
    nonFatal: new Set(),
    bindPort: 8080,
    connectPort: 8080,
    localIp: '192.168.0.2',
    remoteIp: '192.0.2.1',
    ipVersion: 'ipv4',
    prefix: 16,
    mtu: 1500,
    dryRun: false,
    verbose: false,
    strictCode: false,
    remotePortBase: 40000,
    // Deterministic runs: a fixed seed for ISNs, cookies and timestamps.
    tcp: { seed: 1 },
    icmpRateLimit: true,
    reassemblyTimeoutMs: undefined,
    scriptDir: undefined,
    files: new Map(),
  };
}

/** Raised for an option or sysctl the runner or the stack cannot honour. */
export class Unsupported extends Error {
  constructor(
    readonly what: string,
    readonly line: number | undefined = undefined,
  ) {
    super(`unsupported: ${what}`);
    this.name = 'Unsupported';
  }
}

/** A bad value for a known option: a usage/syntax problem, not unsupported. */
export class OptionError extends Error {
  constructor(
    message: string,
    readonly line: number | undefined = undefined,
  ) {
    super(message);
    this.name = 'OptionError';
  }
}

function num(o: ScriptOption, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = Number(o.value);
  if (o.value === undefined || o.value === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new OptionError(`--${o.name} needs a number between ${min} and ${max} (got ${o.value ?? 'nothing'})`, o.line);
  }
  return v;
}

function bool(o: ScriptOption): boolean {
  if (o.value === undefined) return true;
  if (/^(1|true|yes|on)$/i.test(o.value)) return true;
  if (/^(0|false|no|off)$/i.test(o.value)) return false;
  throw new OptionError(`--${o.name} takes 0/1 (got ${o.value})`, o.line);
}

function ipv4(o: ScriptOption): string {
  const v = o.value ?? '';
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(v) || v.split('.').some((x) => Number(x) > 255)) {
    if (v.includes(':')) throw new Unsupported(`IPv6 address --${o.name}=${v}`, o.line);
    throw new OptionError(`--${o.name} needs an IPv4 address (got ${v || 'nothing'})`, o.line);
  }
  return v;
}

/** Friendly names of stack settings, beside the generic `--tcp.KEY=VALUE`. */
const TCP_ALIASES: Readonly<Record<string, string>> = {
  syncookies: 'syncookies',
  rmem: 'rmem',
  wmem: 'wmem',
  tcp_mss: 'mssClamp',
  mss_clamp: 'mssClamp',
  initial_rto_ms: 'initialRto',
  initial_rto: 'initialRto',
  min_rto_ms: 'minRto',
  max_rto_ms: 'maxRto',
  congestion_control: 'congestionControl',
  cc: 'congestionControl',
  timestamps: 'timestamps',
  sack: 'sack',
  window_scaling: 'windowScaling',
  wscale: 'windowScaling',
  delayed_ack_ms: 'delayedAckMs',
  quick_acks: 'quickAcks',
  time_wait_ms: 'timeWaitMs',
  fin_timeout_ms: 'finTimeoutMs',
  syn_retries: 'synRetries',
  syn_linear_timeouts: 'synLinearTimeouts',
  synack_retries: 'synAckRetries',
  retries2: 'retries2',
  keepalive_time_ms: 'keepaliveTimeMs',
  keepalive_intvl_ms: 'keepaliveIntervalMs',
  keepalive_probes: 'keepaliveProbes',
  linux_option_layout: 'linuxOptionLayout',
  seed: 'seed',
  initial_cwnd: 'initialCwnd',
  challenge_ack_limit: 'challengeAckLimit',
  somaxconn: 'somaxconn',
};

const BOOL_TCP_KEYS = new Set(['timestamps', 'sack', 'windowScaling', 'linuxOptionLayout']);

function setTcp(c: RunnerConfig, key: string, o: ScriptOption): void {
  if (BOOL_TCP_KEYS.has(key)) c.tcp[key] = bool(o);
  else if (key === 'congestionControl') {
    const v = (o.value ?? '').toLowerCase();
    if (v === 'reno' || v === 'newreno') c.tcp[key] = 'newreno';
    else if (v === 'cubic') c.tcp[key] = 'cubic';
    else throw new Unsupported(`congestion control '${o.value ?? ''}'`, o.line);
  } else if (key === 'syncookies') c.tcp[key] = num(o, 0, 2);
  else c.tcp[key] = num(o);
}

/** Applies one option to the configuration. Throws Unsupported or OptionError. */
export function applyOption(c: RunnerConfig, o: ScriptOption): void {
  const name = o.name.replace(/-/g, '_');
  switch (name) {
    case 'tolerance_usecs':
      c.toleranceUsecs = num(o);
      return;
    case 'tolerance_percent':
      c.tolerancePercent = num(o, 0, 100);
      return;
    case 'strict_time':
      c.strictTime = bool(o);
      return;
    case 'coalesce_segments':
      c.coalesceSegments = bool(o);
      return;
    case 'strict_segments':
      c.coalesceSegments = !bool(o);
      return;
    case 'strict_tail':
      c.strictTail = bool(o);
      return;
    case 'relax_option_order':
      c.relaxOptionOrder = bool(o);
      return;
    case 'remote_isn_offset':
      c.remoteIsnOffset = num(o, 0, 0xffffffff);
      return;
    case 'tcp_ts_tick_usecs':
      c.tsTickUsecs = num(o, 1);
      return;
    case 'tcp_ts_ecr_scaled':
      c.tsEcrScaled = bool(o);
      return;
    case 'non_fatal':
      for (const k of (o.value ?? '').split(',')) {
        if (k === 'packet' || k === 'syscall') c.nonFatal.add(k);
        else if (k !== '') throw new OptionError(`--non_fatal takes packet,syscall (got ${k})`, o.line);
      }
      return;
    case 'bind_port':
      c.bindPort = num(o, 1, 65535);
      return;
    case 'connect_port':
      c.connectPort = num(o, 1, 65535);
      return;
    case 'local_ip':
      c.localIp = ipv4(o);
      return;
    case 'remote_ip':
      c.remoteIp = ipv4(o);
      return;
    case 'gateway_ip':
    case 'netmask_ip':
      return;
    case 'mtu':
      c.mtu = num(o, 68, 65535);
      return;
    case 'mss':
      // packetdrill: MSS of GRO-style inbound packets; nothing to do for us.
      num(o, 1, 65535);
      return;
    case 'ip_version':
      if (o.value === 'ipv4' || o.value === 'ipv4-mapped-ipv6' || o.value === 'ipv6') {
        c.ipVersion = o.value;
        return;
      }
      throw new OptionError(`--ip_version takes ipv4, ipv4-mapped-ipv6 or ipv6 (got ${o.value ?? 'nothing'})`, o.line);
    case 'dry_run':
      c.dryRun = bool(o);
      return;
    case 'v':
    case 'verbose':
      c.verbose = true;
      return;
    case 'strict_code':
      c.strictCode = bool(o);
      return;
    case 'speed':
    case 'init_scripts':
    case 'tun_dev':
    case 'persist_tun':
      return;
    case 'icmp_ratelimit':
      c.icmpRateLimit = bool(o);
      return;
    case 'reassembly_timeout_ms':
      c.reassemblyTimeoutMs = num(o, 1);
      return;
  }
  if (name.startsWith('tcp.')) {
    setTcp(c, o.name.slice(4), o);
    return;
  }
  const alias = TCP_ALIASES[name];
  if (alias !== undefined) {
    setTcp(c, alias, o);
    return;
  }
  if (/^(wire_|so_filename|psp_|udp_encapsulation|tcp_md5_secret|send_omit_free|define)/.test(name)) throw new Unsupported(`option --${o.name}`, o.line);
  throw new Unsupported(`option --${o.name}`, o.line);
}

// ---------------------------------------------------------------- sysctls
//
// A TCP tunable with a Linux sysctl name is set from the one registry (src/tcp/tunables.ts): its kind checks
// the value, its `put` stores it, as `tunstack sysctl` does. The runner's own rules below are only for what the
// registry does not hold: Linux sysctls that map onto a tunstack.* tunable or two (tcp_rmem, tcp_early_retrans),
// Linux spellings the registry does not take (reno, -1, flag bits beyond ours), other kernels' names (net.inet.*,
// FreeBSD's, in the packetdrill suite), and features we do not model, accepted only at the value that is our
// fixed behaviour.

interface SysctlRule {
  /** Applies `value`; throws Unsupported when the value is not our behaviour. */
  apply(c: RunnerConfig, value: string, line: number | undefined): void;
}

/** Linux's integer sysctls take hexadecimal as well (proc_dointvec reads with base 0); the registry reads decimal. */
function linuxInteger(text: string): string {
  const t = text.trim();
  return /^0x[0-9a-f]+$/i.test(t) ? String(parseInt(t, 16)) : t;
}

/**
 * A registry tunable as a script sets it. A value of the right form that the tunable cannot hold (out of our
 * range, e.g. tcp_ecn=6) is Linux behaviour we do not model, so `unsupported`; text that is no value at all
 * is the script's error.
 */
function registryRule(t: Tunable<TcpConfig>): SysctlRule {
  const put = t.put;
  if (put === undefined) throw new Error(`tunable ${t.name} has no setter`);
  return {
    apply(c, v, line) {
      const text = t.kind.type === 'int' ? linuxInteger(v) : v.trim();
      const parsed = parseTunableValue(t.kind, text);
      if (parsed instanceof Error) {
        if (/^-?\d+$/.test(text)) throw new Unsupported(`sysctl ${t.name}=${v.trim()} (${parsed.message})`, line);
        throw new OptionError(`sysctl ${t.name}: ${parsed.message}`, line);
      }
      put(c.tcp as Partial<TcpConfig>, parsed);
    },
  };
}

/** The registry's TCP tunables that carry a Linux sysctl name (`net.…`), by name. */
const REGISTRY_SYSCTLS: Readonly<Record<string, SysctlRule>> = Object.fromEntries(
  tcpTunables.filter((t) => t.name.startsWith('net.') && t.put !== undefined && t.when !== 'build').map((t) => [t.name, registryRule(t)]),
);

/** The registry's rule for `name`, applied to another spelling of its value. */
function viaRegistry(name: string, translate: (v: string, line: number | undefined) => string): SysctlRule {
  const rule = REGISTRY_SYSCTLS[name];
  if (rule === undefined) throw new Error(`no registry sysctl ${name}`);
  return {
    apply(c, v, line) {
      rule.apply(c, translate(v, line), line);
    },
  };
}

/** Accepts only the value(s) that match our behaviour. */
function onlyRule(ok: readonly string[], what: string): SysctlRule {
  const [name, ...rest] = what.split(' ');
  const note = rest.length > 0 ? ` ${rest.join(' ')}` : '';
  return {
    apply(_c, v, line) {
      if (!ok.includes(v.trim())) throw new Unsupported(`sysctl ${name}=${v.trim()}${note}`, line);
    },
  };
}

/** tcp_rmem/tcp_wmem "min default max": the default is the starting buffer, the max its autotuning ceiling (and the window scale). */
const bufRule = (key: string, maxKey: string): SysctlRule => ({
  apply(c, v, line) {
    const parts = v.trim().split(/\s+/).map(Number);
    const def = parts.length >= 2 ? parts[1]! : parts[0]!;
    if (!Number.isFinite(def) || parts.some((n) => !Number.isFinite(n))) throw new OptionError(`sysctl value '${v}' is not a buffer size`, line);
    c.tcp[key] = def;
    if (parts.length >= 3) c.tcp[maxKey] = Math.max(parts[2]!, def);
  },
});

/** Linux names NewReno `reno`; the other controllers Linux has (bbr, dctcp, ...) we do not model. */
const ccRule: SysctlRule = {
  apply(c, v, line) {
    const x = v.trim().toLowerCase();
    if (x !== 'reno' && x !== 'newreno' && x !== 'cubic') throw new Unsupported(`congestion control '${v}'`, line);
    REGISTRY_SYSCTLS['net.ipv4.tcp_congestion_control']!.apply(c, x === 'reno' ? 'newreno' : x, line);
  },
};

/** FreeBSD's on/off switches: any non-zero value is on. */
const freebsdBool = (name: string): SysctlRule => viaRegistry(name, (v) => (Number(v) !== 0 ? '1' : '0'));

/** The runner's own rules, for what the registry does not hold (see above). */
const RUNNER_SYSCTLS: Readonly<Record<string, SysctlRule>> = {
  'net.inet.tcp.rfc1323': {
    apply(c, v, line) {
      freebsdBool('net.ipv4.tcp_timestamps').apply(c, v, line);
      freebsdBool('net.ipv4.tcp_window_scaling').apply(c, v, line);
    },
  },
  'net.inet.tcp.sack.enable': freebsdBool('net.ipv4.tcp_sack'),
  'net.inet.tcp.syncookies': viaRegistry('net.ipv4.tcp_syncookies', (v) => (Number(v) !== 0 ? '1' : '0')),
  'net.inet.tcp.syncookies_only': {
    apply(c, v, line) {
      if (Number(v) !== 0) REGISTRY_SYSCTLS['net.ipv4.tcp_syncookies']!.apply(c, '2', line);
    },
  },
  // Linux's buffer triples set two tunstack tunables each (tunstack.tcp.rmem and rmem_max, wmem and wmem_max).
  'net.ipv4.tcp_rmem': bufRule('rmem', 'rmemMax'),
  'net.ipv4.tcp_wmem': bufRule('wmem', 'wmemMax'),
  'net.inet.tcp.recvspace': bufRule('rmem', 'rmemMax'),
  'net.inet.tcp.sendspace': bufRule('wmem', 'wmemMax'),
  'net.inet.tcp.ecn.enable': onlyRule(['0', '2'], 'net.inet.tcp.ecn.enable (ECN)'),
  'net.inet.tcp.insecure_rst': onlyRule(['0'], 'net.inet.tcp.insecure_rst (classic RFC 793 RST rules)'),
  'net.inet.tcp.insecure_syn': onlyRule(['0'], 'net.inet.tcp.insecure_syn (classic RFC 793 SYN rules)'),
  'net.inet.tcp.blackhole': onlyRule(['0'], 'net.inet.tcp.blackhole'),
  'net.ipv4.tcp_congestion_control': ccRule,
  'net.inet.tcp.cc.algorithm': ccRule,
  // Linux keeps any int here; flag bits beyond the ones we know (0x10000, 0x20000 in old scripts) change nothing
  // on either side, so the value is stored as given rather than checked against the registry's 0..0xfff.
  'net.ipv4.tcp_fastopen': {
    apply(c, v, line) {
      const n = Number(v.trim());
      if (!Number.isInteger(n) || n < 0) throw new OptionError(`tcp_fastopen must be a number of flag bits (got ${v})`, line);
      c.tcp['fastOpen'] = n;
    },
  },
  'net.ipv4.tcp_fastopen_key': {
    apply(c, v, line) {
      if (parseFastOpenKeys(v) === null) throw new OptionError(`tcp_fastopen_key must be xxxxxxxx-xxxxxxxx-xxxxxxxx-xxxxxxxx[,backup] (got ${v})`, line);
      c.tcp['fastOpenKey'] = v.trim();
    },
  },
  // Not in mainline Linux (a packetdrill script's cookie-cache flush tries it first, then `ip tcp_metrics flush`).
  // Linux turns active Fast Open off for a while after SYN data seems black-holed; 0 disables that, our behaviour.
  'net.ipv4.tcp_fastopen_blackhole_timeout_sec': onlyRule(['0'], 'net.ipv4.tcp_fastopen_blackhole_timeout_sec (Fast Open black-hole detection)'),
  'net.ipv4.tcp_fastopen_cookies': onlyRule(['0', '10'], 'net.ipv4.tcp_fastopen_cookies'),
  // Features we do not have: only the "off" value equals our behaviour.
  'net.ipv4.tcp_frto': onlyRule(['0'], 'net.ipv4.tcp_frto (F-RTO)'),
  // We send D-SACK blocks (RFC 2883) and cannot turn them off.
  'net.ipv4.tcp_dsack': onlyRule(['1'], 'net.ipv4.tcp_dsack (D-SACK blocks cannot be turned off)'),
  'net.ipv4.tcp_fack': onlyRule(['0'], 'net.ipv4.tcp_fack'),
  // Linux's 0..4 modes: 0 none, 3 and 4 tail loss probes (tunstack.tcp.tail_loss_probe); 1 and 2 are early retransmit, which we lack.
  'net.ipv4.tcp_early_retrans': {
    apply(c, v, line) {
      const x = v.trim();
      if (x === '0') c.tcp['tailLossProbe'] = false;
      else if (x === '3' || x === '4') c.tcp['tailLossProbe'] = true;
      else throw new Unsupported(`sysctl net.ipv4.tcp_early_retrans=${x} (only 0, and 3 or 4: tail loss probes)`, line);
    },
  },
  'net.ipv4.tcp_thin_linear_timeouts': onlyRule(['0'], 'net.ipv4.tcp_thin_linear_timeouts'),
  'net.ipv4.tcp_mtu_probing': onlyRule(['0'], 'net.ipv4.tcp_mtu_probing'),
  'net.ipv4.tcp_tw_reuse': onlyRule(['0', '2'], 'net.ipv4.tcp_tw_reuse'),
  'net.ipv4.tcp_abort_on_overflow': onlyRule(['0'], 'net.ipv4.tcp_abort_on_overflow'),
  'net.ipv4.tcp_slow_start_after_idle': onlyRule(['0', '1'], 'net.ipv4.tcp_slow_start_after_idle'),
  'net.ipv4.tcp_reordering': onlyRule(['3'], 'net.ipv4.tcp_reordering (our duplicate-ACK threshold is 3)'),
  // An int sysctl holding a u32 in Linux: -1 is 0xffffffff, no limit (its default).
  'net.ipv4.tcp_notsent_lowat': viaRegistry('net.ipv4.tcp_notsent_lowat', (v) => (v.trim() === '-1' ? String(0xffffffff) : v)),
  // Sysctls that do not change what a script observes on our stack.
  'net.ipv4.tcp_no_metrics_save': onlyRule(['0', '1'], 'net.ipv4.tcp_no_metrics_save'),
  'net.ipv4.tcp_min_tso_segs': onlyRule(['0', '1', '2'], 'net.ipv4.tcp_min_tso_segs'),
};

/** Every sysctl a script may set: the registry's, then the runner's own (which win where both have a name). */
export const SYSCTLS: Readonly<Record<string, SysctlRule>> = { ...REGISTRY_SYSCTLS, ...RUNNER_SYSCTLS };

/** The names the runner's own rules take over from the registry (each says why above). */
export const RUNNER_OVERRIDES: readonly string[] = Object.keys(RUNNER_SYSCTLS).filter((n) => n in REGISTRY_SYSCTLS);

/** Names of commands that are housekeeping for a kernel and ignored when they are not found. */
const IGNORED_COMMANDS = /(^|\/)(defaults\.sh|set_sysctls\.py)\b/;
/** `ethtool -K DEV tso off gso off …`: offloads turned off, nothing turned on. */
const OFFLOADS_OFF = /^ethtool\s+(-K|--offload|--features)\s+\S+(\s+(tso|gso|gro|lro|tx-tcp-segmentation|generic-segmentation-offload)\s+off)+$/;
/** packetdrill's own clean-up file, written by its init scripts: restores sysctls after a run. */
const SYSCTL_RESTORE = /^\/tmp\/sysctl_restore_\S*\.sh$/;

/** What a shell command did: the settings applied, and what was reported without stopping the script. */
export interface ShellOutcome {
  done: string[];
  warnings: string[];
}

/** Applies the name=value assignments of one `sysctl ...` command; Unsupported from a rule goes to `unsupported` when given. */
function applySysctl(c: RunnerConfig, cmd: string, line: number | undefined, outcome: ShellOutcome, unsupported?: (e: Unsupported) => void): void {
  // sysctl [-q] [-w] name=value ...   (value may be quoted and contain spaces)
  const rest = cmd.replace(/^\S+/, '').replace(/\s-[qwe]+\b/g, ' ').trim();
  const re = /([A-Za-z0-9_.\-/]+)\s*=\s*("[^"]*"|'[^']*'|\S+)/g;
  let m: RegExpExecArray | null;
  let any = false;
  while ((m = re.exec(rest)) !== null) {
    any = true;
    const key = m[1]!.replace(/^\/proc\/sys\//, '').replace(/\//g, '.');
    const value = m[2]!.replace(/^["']|["']$/g, '');
    try {
      const rule = SYSCTLS[key];
      if (!rule) throw new Unsupported(`sysctl ${key}`, line);
      rule.apply(c, value, line);
      outcome.done.push(`${key}=${value}`);
    } catch (e) {
      if (e instanceof Unsupported && unsupported) unsupported(e);
      else throw e;
    }
  }
  if (!any) throw new Unsupported(`shell command '${cmd}' (only sysctl name=value is understood)`, line);
}

/**
 * Runs a shell file the way the script's kernel would see it: its sysctl lines are applied;
 * sysctls we do not model are reported as warnings (a suite's defaults file sets many that
 * a given script never exercises), as is any other command.
 */
function sourceShellFile(c: RunnerConfig, path: string, line: number | undefined, outcome: ShellOutcome): void {
  const name = basename(path);
  for (const l of shellLines(readFileSync(path, 'utf8'))) {
    const where = `${name}:${l.line}`;
    const cmd = expandArithmetic(l.text);
    if (cmd === undefined) {
      outcome.warnings.push(`${where}: not run (arithmetic not understood): ${l.text}`);
      continue;
    }
    if (isHousekeeping(cmd)) {
      outcome.done.push(`ignored ${cmd} (${where})`);
      continue;
    }
    const word = cmd.split(/\s+/)[0]!;
    if (word !== 'sysctl' && !word.endsWith('/sysctl')) {
      outcome.warnings.push(`${where}: not run: ${cmd}`);
      continue;
    }
    applySysctl(c, cmd, line, outcome, (e) => outcome.warnings.push(`${where}: not modelled: ${e.what}`));
  }
}

/**
 * Interprets a backquoted shell command: sysctl assignments on the
 * whitelist are applied, a shell file the script runs (`../common/defaults.sh`)
 * is read for its sysctls, `set_sysctls.py /proc/sys/...=value` is a sysctl,
 * kernel housekeeping is ignored, anything else is unsupported.
 */
export function applyShellCommand(c: RunnerConfig, command: string, line: number | undefined): ShellOutcome {
  const outcome: ShellOutcome = { done: [], warnings: [] };
  // A backslash-newline continues the line, as in a shell.
  for (const part of command.replace(/\\\n/g, ' ').replace(/\\\s*$/, '').split(/;|&&|\n/)) {
    const raw = part.trim();
    if (raw === '' || raw === 'true' || raw === ':') continue;
    const cmd = expandArithmetic(raw) ?? raw;
    const word = cmd.split(/\s+/)[0]!;
    if (isHousekeeping(cmd.replace(/\s\d?>\s*\/dev\/null|\s\d>&\d/g, '')) || SYSCTL_RESTORE.test(word)) {
      outcome.done.push(`ignored ${cmd}`);
      continue;
    }
    const made = applyFileCommand(c.files, cmd);
    if (made !== undefined) {
      outcome.done.push(made);
      continue;
    }
    if (OFFLOADS_OFF.test(cmd)) {
      // No TSO/GSO on the TUN: the kernel sends MSS-sized segments, as the stack does on the script link.
      outcome.done.push(`ignored ${cmd} (segments at MSS size are our behaviour)`);
      continue;
    }
    if (/(^|\/)set_sysctls\.py$/.test(word)) {
      applySysctl(c, cmd, line, outcome);
      continue;
    }
    if (word !== 'sysctl' && !word.endsWith('/sysctl') && (word.includes('/') || word.endsWith('.sh'))) {
      const path = resolve(c.scriptDir ?? process.cwd(), word);
      if (existsSync(path) && statSync(path).isFile()) {
        sourceShellFile(c, path, line, outcome);
        outcome.done.push(`ran ${word}`);
        continue;
      }
      if (IGNORED_COMMANDS.test(word)) {
        outcome.done.push(`ignored ${cmd} (not found)`);
        continue;
      }
    }
    if (word !== 'sysctl' && !word.endsWith('/sysctl')) throw new Unsupported(`shell command '${cmd}'`, line);
    applySysctl(c, cmd, line, outcome);
  }
  return outcome;
}
