/**
 * One configuration object for `tunstack up`, validated once at start.
 *
 * The same options come from three places; the first that sets a key wins:
 *   1. command-line flags        (`--addr 10.77.0.2/24`)
 *   2. the environment           (`TUNSTACK_ADDR=10.77.0.2/24`)
 *   3. a JSON file               (`--config FILE` or `TUNSTACK_CONFIG=FILE`: `{"addr": "10.77.0.2/24"}`)
 * then the defaults below. Every problem is reported at once, each naming
 * where the bad value came from; an unknown key in the file or an unknown
 * `TUNSTACK_*` variable is an error (a typo must not be silently ignored).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseAddress, parseCidr } from './ip/address.js';
import { parseImpairSpec } from './link/impair-spec.js';
import { resolveServices } from './services.js';
import { parseHttpLimitSpec, resolveHttpLimits } from './http/limits.js';
import { loadTlsIdentity } from './http/tls-identity.js';
import { parseIpv6, parseIpv6Cidr } from './wire/ipv6.js';
import { stageSysctls } from './control/sysctl.js';

export interface TunstackConfig {
  /** TUN device name (created and configured if it does not exist, attached as is if it does). */
  tun: string;
  /** The stack's own address and prefix. */
  addr: string;
  /** The kernel side of the TUN: inside `addr`'s prefix, not `addr` itself. */
  peer: string;
  /** The stack's IPv6 address and prefix on the TUN, or `off` (IPv4 only). */
  addr6: string;
  /** The kernel side's IPv6 address. */
  peer6: string;
  /** Link MTU, 68..65535. */
  mtu: number;
  /** Extra subnets the kernel routes through the TUN (CIDRs with no host bits). */
  routes: string[];
  /**
   * The bundled HTTP server: a TCP port (on even when `services` leaves `http` out), `off`, or
   * null — the default: as `services` says (the default `all` includes it), on port 80.
   */
  http: number | 'off' | null;
  /**
   * The HTTPS server (HTTP/2 and HTTP/1.1 over TLS): a TCP port (on even when `services` leaves `https` out),
   * `off`, or null — the default: as `services` says (the default `all` includes it), on port 443.
   */
  https: number | 'off' | null;
  /** PEM certificate of the HTTPS server (with `tlsKey`); null: a self-signed one made at start. */
  tlsCert: string | null;
  /** PEM private key of the HTTPS server (with `tlsCert`). */
  tlsKey: string | null;
  /** Directory the HTTP server serves static files from; null: none. */
  static: string | null;
  /** HTTP limits, `key=value,...` (maxBodyBytes, headersTimeout, ... — src/http/limits.ts); null: defaults. */
  httpLimits: string | null;
  /** Capture file from the start (libpcap); null: none (start one later with `tunstack capture`). */
  pcap: string | null;
  /** Impairment spec (`loss=5%,delay=10ms`); null: none. */
  impair: string | null;
  /** Built-in services: `all`, `none` or a comma-separated list. */
  services: string;
  /** Extra names the DNS service answers for. */
  hostnames: string[];
  logLevel: string;
  /** Instance name: names the control socket. Default: the TUN name (prefixed by the netns name inside a named netns). */
  name: string | null;
  /** Control socket path; `off` disables it. Default: /run/tunstack/NAME.sock. */
  control: string | null;
  /** Graceful-shutdown budget in milliseconds: connections get a FIN, those still open after it get a RST. */
  graceMs: number;
  /** Token the dashboard (/_stack/ on the HTTP server) requires; null: none. */
  dashboardToken: string | null;
  /** Observatory samples per second (per-connection cwnd/srtt/..., listener queues, counters), 1..100. */
  sampleRate: number;
  /** Stack shards, one worker thread and one TUN queue each (IFF_MULTI_QUEUE), 1..64; 1: one stack on the main thread. */
  workers: number;
  /** Tunables set at start, `NAME=VALUE` each (src/control/sysctl.ts, docs/sysctl.md). */
  sysctl: string[];
}

export type ConfigKey = keyof TunstackConfig;
export type ConfigSource = 'flag' | 'env' | 'file' | 'default';

export const DEFAULTS: Readonly<TunstackConfig> = Object.freeze({
  tun: 'tun0',
  addr: '10.77.0.2/24',
  peer: '10.77.0.1',
  addr6: 'fd77::2/64',
  peer6: 'fd77::1',
  mtu: 1500,
  routes: [],
  http: null,
  https: null,
  tlsCert: null,
  tlsKey: null,
  static: null,
  httpLimits: null,
  pcap: null,
  impair: null,
  services: 'all',
  hostnames: [],
  logLevel: 'info',
  name: null,
  control: null,
  graceMs: 5000,
  dashboardToken: null,
  sampleRate: 10,
  workers: 1,
  sysctl: [],
});

/** Per key: its flag, its environment variable and a one-line description (README and `--help` use these). */
export const KEYS: Readonly<Record<ConfigKey, { flag: string; env: string; help: string }>> = {
  tun: { flag: '--tun', env: 'TUNSTACK_TUN', help: 'TUN device name' },
  addr: { flag: '--addr', env: 'TUNSTACK_ADDR', help: "the stack's address and prefix" },
  peer: { flag: '--peer', env: 'TUNSTACK_PEER', help: 'the kernel side of the TUN' },
  addr6: { flag: '--addr6', env: 'TUNSTACK_ADDR6', help: "the stack's IPv6 address and prefix, or off" },
  peer6: { flag: '--peer6', env: 'TUNSTACK_PEER6', help: 'the kernel side of the TUN, IPv6' },
  mtu: { flag: '--mtu', env: 'TUNSTACK_MTU', help: 'link MTU (68..65535)' },
  routes: { flag: '--kernel-route', env: 'TUNSTACK_ROUTES', help: 'subnets the kernel routes through the TUN' },
  http: { flag: '--http', env: 'TUNSTACK_HTTP', help: 'port of the bundled HTTP server, or off' },
  https: { flag: '--https', env: 'TUNSTACK_HTTPS', help: 'port of the HTTPS server (HTTP/2 and HTTP/1.1 over TLS), or off' },
  tlsCert: { flag: '--tls-cert', env: 'TUNSTACK_TLS_CERT', help: 'PEM certificate of the HTTPS server (default: self-signed, made at start)' },
  tlsKey: { flag: '--tls-key', env: 'TUNSTACK_TLS_KEY', help: 'PEM private key of the HTTPS server' },
  static: { flag: '--static', env: 'TUNSTACK_STATIC', help: 'directory of static files the HTTP server serves' },
  httpLimits: { flag: '--http-limit', env: 'TUNSTACK_HTTP_LIMITS', help: 'HTTP limits, key=value,... (maxBodyBytes, headersTimeout, maxConnections, ...)' },
  pcap: { flag: '--pcap', env: 'TUNSTACK_PCAP', help: 'capture file from the start' },
  impair: { flag: '--impair', env: 'TUNSTACK_IMPAIR', help: 'impairment spec' },
  services: { flag: '--services', env: 'TUNSTACK_SERVICES', help: 'built-in services' },
  hostnames: { flag: '--hostname', env: 'TUNSTACK_HOSTNAMES', help: 'extra DNS names' },
  logLevel: { flag: '--log-level', env: 'TUNSTACK_LOG_LEVEL', help: 'log level' },
  name: { flag: '--name', env: 'TUNSTACK_NAME', help: 'instance name (names the control socket)' },
  control: { flag: '--control', env: 'TUNSTACK_CONTROL', help: 'control socket path, or off' },
  graceMs: { flag: '--grace', env: 'TUNSTACK_GRACE', help: 'graceful-shutdown budget (ms, or with a unit: 5s)' },
  dashboardToken: { flag: '--dashboard-token', env: 'TUNSTACK_DASHBOARD_TOKEN', help: 'token the dashboard (/_stack/) requires' },
  sampleRate: { flag: '--sample-rate', env: 'TUNSTACK_SAMPLE_RATE', help: 'observatory samples per second (1..100)' },
  workers: { flag: '--workers', env: 'TUNSTACK_WORKERS', help: 'stack shards: worker threads, one TUN queue each (1..64)' },
  sysctl: { flag: '--sysctl', env: 'TUNSTACK_SYSCTL', help: 'a tunable set at start, NAME=VALUE (see docs/sysctl.md)' },
};

/** `TUNSTACK_*` variables that are not configuration keys but are read elsewhere (so they are not "unknown"). */
export const OTHER_ENV: ReadonlySet<string> = new Set([
  'TUNSTACK_CONFIG', // the JSON file
  'TUNSTACK_TUNSHIM', // path of the native addon (src/link/tun.ts)
  'TUNSTACK_TEST_SHARD_CRASH', // fault injection: INDEX:MS makes that shard of --workers throw (src/workers/shard.ts)
  'TUNSTACK_FORWARD', // docker/entrypoint.sh: enable IPv4 forwarding in the container
  'TUNSTACK_SKIP_CHECKS', // docker/entrypoint.sh: skip the device/capability checks
  'TUNSTACK_CLI_JS', // docker/entrypoint.sh: path of dist/cli.js
]);

/** TCP ports the built-in services listen on (src/services/tcp-services.ts, src/services/dns-service.ts). */
const BUILTIN_TCP_PORTS: Readonly<Record<string, number>> = { 'echo-tcp': 7, 'discard-tcp': 9, chargen: 19, dns: 53 };

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0]! : `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigInputs {
  /** Values from command-line flags, by key (only those given). */
  flags?: Partial<Record<ConfigKey, unknown>>;
  /** The environment (default: none). */
  env?: Record<string, string | undefined>;
  /** A JSON file to read (a `--config` flag); else `env.TUNSTACK_CONFIG`. */
  file?: string;
}

export interface LoadedConfig {
  config: TunstackConfig;
  /** Where each key's value came from. */
  sources: Record<ConfigKey, ConfigSource>;
  /** The JSON file read, if any. */
  file: string | null;
}

function levenshtein(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

function suggest(word: string, candidates: readonly string[]): string {
  let best = '';
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? ` (did you mean ${best}?)` : '';
}

type Coerced<T> = { value: T } | { error: string };

function asString(v: unknown): Coerced<string> {
  if (typeof v === 'string') return { value: v.trim() };
  if (typeof v === 'number' && Number.isFinite(v)) return { value: String(v) };
  return { error: `expected a string, got ${JSON.stringify(v)}` };
}

function asList(v: unknown): Coerced<string[]> {
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const x of v) {
      if (typeof x !== 'string') return { error: `expected a list of strings, got ${JSON.stringify(v)}` };
      if (x.trim()) out.push(x.trim());
    }
    return { value: out };
  }
  if (typeof v === 'string') return { value: v.split(/[\s,]+/).filter((s) => s.length > 0) };
  return { error: `expected a list of strings, got ${JSON.stringify(v)}` };
}

function asOptString(v: unknown): Coerced<string | null> {
  if (v === null || v === false) return { value: null };
  const s = asString(v);
  if ('error' in s) return s;
  return { value: s.value === '' || s.value === 'off' || s.value === 'none' ? null : s.value };
}

function asInt(v: unknown, what: string): Coerced<number> {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) return { error: `${what} must be an integer, got ${JSON.stringify(v)}` };
  return { value: n };
}

function coerceMtu(v: unknown): Coerced<number> {
  const n = asInt(v, 'mtu');
  if ('error' in n) return n;
  if (n.value < 68 || n.value > 65535) return { error: `mtu ${n.value} is out of range 68..65535 (68 is the IPv4 minimum, RFC 791)` };
  return n;
}

function coercePort(what: string): (v: unknown) => Coerced<number | 'off' | null> {
  return (v) => {
    if (v === null || v === '') return { value: null };
    if (v === false || v === 'off' || v === 'none' || v === 0 || v === '0') return { value: 'off' };
    const n = asInt(v, `${what} port`);
    if ('error' in n) return { error: `${what} must be a TCP port (1..65535) or off, got ${JSON.stringify(v)}` };
    if (n.value < 1 || n.value > 65535) return { error: `${what} port ${n.value} is out of range 1..65535` };
    return n;
  };
}

function coerceGrace(v: unknown): Coerced<number> {
  let ms: number;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/.exec(v);
    ms = m ? Number(m[1]) * (m[2] === 's' ? 1000 : 1) : NaN;
  } else ms = NaN;
  if (!Number.isFinite(ms) || ms < 0 || ms > 600_000) {
    return { error: `grace must be a duration between 0 and 600s (e.g. 5000, 5000ms or 5s), got ${JSON.stringify(v)}` };
  }
  return { value: Math.round(ms) };
}

function coerceSampleRate(v: unknown): Coerced<number> {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 1 || n > 100) return { error: `sample rate must be 1..100 samples per second, got ${JSON.stringify(v)}` };
  return { value: n };
}

/** At most 64 shards (a multi-queue TUN takes 256 queues; more threads than that is no use on any machine here). */
export const MAX_WORKERS = 64;

function coerceWorkers(v: unknown): Coerced<number> {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) return { error: `workers must be an integer 1..${MAX_WORKERS}, got ${JSON.stringify(v)}` };
  return { value: n };
}

const COERCE: Record<ConfigKey, (v: unknown) => Coerced<unknown>> = {
  tun: asString,
  addr: asString,
  peer: asString,
  addr6: asString,
  peer6: asString,
  mtu: coerceMtu,
  routes: asList,
  http: coercePort('http'),
  https: coercePort('https'),
  tlsCert: asOptString,
  tlsKey: asOptString,
  static: asOptString,
  httpLimits: asOptString,
  pcap: asOptString,
  impair: asOptString,
  services: asString,
  hostnames: asList,
  logLevel: asString,
  name: asOptString,
  control: (v) => {
    const s = asOptString(v);
    // `off` disables the control socket: kept as the literal so it differs from "default path".
    if (!('error' in s) && s.value === null) return { value: 'off' };
    return s;
  },
  graceMs: coerceGrace,
  dashboardToken: asOptString,
  sampleRate: coerceSampleRate,
  workers: coerceWorkers,
  // A list of NAME=VALUE; only commas separate them (a value may hold a space: ip_local_port_range "1024 65000").
  sysctl: (v) => (typeof v === 'string' ? { value: v.split(',').map((s) => s.trim()).filter((s) => s.length > 0) } : asList(v)),
};

const CONFIG_KEYS = Object.keys(KEYS) as ConfigKey[];
const ENV_TO_KEY = new Map(CONFIG_KEYS.map((k) => [KEYS[k].env, k]));

function describeSource(key: ConfigKey, source: ConfigSource, file: string | null): string {
  switch (source) {
    case 'flag':
      return KEYS[key].flag;
    case 'env':
      return KEYS[key].env;
    case 'file':
      return `"${key}" in ${file}`;
    default:
      return `${key} (default)`;
  }
}

function readJsonFile(path: string, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    problems.push(`config file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    return {};
  }
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    problems.push(`config file ${path} is not valid JSON: ${(e as Error).message}`);
    return {};
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    problems.push(`config file ${path} must hold a JSON object, e.g. {"addr": "10.77.0.2/24"}`);
    return {};
  }
  return obj as Record<string, unknown>;
}

/** A valid interface name (IFNAMSIZ: at most 15 bytes; no '/', ':' or whitespace; not '.' or '..'). */
export function validInterfaceName(name: string): boolean {
  return /^[A-Za-z0-9_.@+-]{1,15}$/.test(name) && name !== '.' && name !== '..';
}

/** Merges flags, environment, file and defaults; validates; throws ConfigError listing every problem. */
export function loadConfig(inputs: ConfigInputs = {}): LoadedConfig {
  const problems: string[] = [];
  const env = inputs.env ?? {};
  const flags = inputs.flags ?? {};

  // Unknown TUNSTACK_* variables.
  const knownEnv = [...ENV_TO_KEY.keys(), ...OTHER_ENV];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('TUNSTACK_') || env[name] === undefined) continue;
    if (!ENV_TO_KEY.has(name) && !OTHER_ENV.has(name)) problems.push(`unknown environment variable ${name}${suggest(name, knownEnv)}`);
  }

  const fileArg = inputs.file ?? (env['TUNSTACK_CONFIG'] ? env['TUNSTACK_CONFIG'] : undefined);
  const file = fileArg ? resolve(fileArg) : null;
  const fromFile = file ? readJsonFile(file, problems) : {};
  const unknownKeys = Object.keys(fromFile).filter((k) => !(CONFIG_KEYS as string[]).includes(k));
  for (const k of unknownKeys) problems.push(`unknown key "${k}" in ${file}${suggest(k, CONFIG_KEYS)}`);
  // The list of known keys once, however many were unknown.
  if (unknownKeys.length > 0) problems.push(`known keys: ${CONFIG_KEYS.join(', ')}`);

  const config = { ...DEFAULTS, routes: [...DEFAULTS.routes], hostnames: [...DEFAULTS.hostnames] } as TunstackConfig;
  const sources = {} as Record<ConfigKey, ConfigSource>;
  for (const key of CONFIG_KEYS) {
    let raw: unknown;
    let source: ConfigSource = 'default';
    if (flags[key] !== undefined) {
      raw = flags[key];
      source = 'flag';
    } else if (env[KEYS[key].env] !== undefined) {
      raw = env[KEYS[key].env];
      source = 'env';
    } else if (Object.prototype.hasOwnProperty.call(fromFile, key)) {
      raw = fromFile[key];
      source = 'file';
    }
    sources[key] = source;
    if (source === 'default') continue;
    const c = COERCE[key](raw);
    if ('error' in c) problems.push(`${describeSource(key, source, file)}: ${c.error}`);
    else (config as unknown as Record<string, unknown>)[key] = c.value;
  }

  const where = (k: ConfigKey): string => describeSource(k, sources[k], file);

  if (!validInterfaceName(config.tun)) {
    problems.push(`${where('tun')}: '${config.tun}' is not a valid interface name (1..15 characters: letters, digits, _ . - @ +)`);
  }
  const addr = parseCidr(config.addr);
  if (addr instanceof Error) problems.push(`${where('addr')}: ${addr.message}; expected e.g. 10.77.0.2/24`);
  else if (!config.addr.includes('/')) problems.push(`${where('addr')}: '${config.addr}' has no prefix length; expected e.g. ${config.addr}/24`);
  else {
    if (addr.prefixLength > 30) {
      problems.push(`${where('addr')}: prefix /${addr.prefixLength} leaves no room for a peer; use /30 or shorter`);
    } else {
      const host = (addr.address & ~addr.mask) >>> 0;
      const hostMask = ~addr.mask >>> 0;
      if (host === 0) problems.push(`${where('addr')}: ${config.addr} is the network address of its prefix; pick a host address, e.g. the .2`);
      else if (host === hostMask) problems.push(`${where('addr')}: ${config.addr} is the broadcast address of its prefix`);
    }
    const peer = parseAddress(config.peer);
    if (peer instanceof Error) problems.push(`${where('peer')}: ${peer.message}`);
    else if (((peer & addr.mask) >>> 0) !== addr.network) {
      problems.push(`${where('peer')}: ${config.peer} is outside the prefix of ${config.addr}; the kernel side must be on the same subnet (e.g. ${formatAddr((addr.network + 1) >>> 0)})`);
    } else if (peer === addr.address) {
      problems.push(`${where('peer')}: ${config.peer} is the stack's own address (${where('addr')}); the two sides need different addresses`);
    } else if (addr.prefixLength <= 30 && (((peer & ~addr.mask) >>> 0) === 0 || ((peer & ~addr.mask) >>> 0) === ~addr.mask >>> 0)) {
      problems.push(`${where('peer')}: ${config.peer} is the network or broadcast address of ${config.addr}`);
    }
  }
  for (const r of config.routes) {
    const c = parseCidr(r);
    if (c instanceof Error) problems.push(`${where('routes')}: route ${r}: ${c.message}`);
    else if (c.address !== c.network) {
      problems.push(`${where('routes')}: route ${r} has host bits set (did you mean ${formatAddr(c.network)}/${c.prefixLength}?)`);
    } else if (c.prefixLength === 0) problems.push(`${where('routes')}: a default route through the TUN is not allowed (it would take over this namespace's traffic)`);
  }
  if (config.impair) {
    const spec = parseImpairSpec(config.impair);
    // The parser's messages start with "impair: "; `where` already names the option.
    if ('error' in spec) problems.push(`${where('impair')}: ${spec.error.replace(/^impair: /, '')}`);
  }
  const svc = resolveServices(config.services);
  if (svc instanceof Error) problems.push(`${where('services')}: ${svc.message}`);
  else if (typeof config.http === 'number') {
    // Port in use: the HTTP server would fail to listen where a built-in TCP service already does.
    const clash = svc.find((s) => BUILTIN_TCP_PORTS[s.name] === config.http);
    if (clash) {
      problems.push(
        `${where('http')}: port ${config.http} is in use on the stack by the built-in service ${clash.name}: pick another port, or leave ${clash.name} out (--services)`,
      );
    }
  }
  if (typeof config.https === 'number' && config.https === config.http) problems.push(`${where('https')}: port ${config.https} is the HTTP server's too`);
  if ((config.tlsCert === null) !== (config.tlsKey === null)) {
    problems.push(`${config.tlsCert === null ? where('tlsKey') : where('tlsCert')}: give both --tls-cert and --tls-key, or neither (a self-signed certificate is made at start)`);
  } else if (config.tlsCert !== null && config.tlsKey !== null) {
    const id = loadTlsIdentity(config.tlsCert, config.tlsKey);
    if (id instanceof Error) problems.push(id.message);
  }
  if (config.addr6 !== 'off') {
    const a = config.addr6.split('/')[0];
    if (parseIpv6Cidr(config.addr6, 64) instanceof Error) problems.push(`${where('addr6')}: '${config.addr6}' is not an IPv6 address with a prefix (e.g. fd77::2/64), nor off`);
    else if (parseIpv6(config.peer6) instanceof Error) problems.push(`${where('peer6')}: '${config.peer6}' is not an IPv6 address`);
    else if (config.peer6 === a) problems.push(`${where('peer6')}: the same address as --addr6`);
  }
  if (!LOG_LEVELS.includes(config.logLevel)) problems.push(`${where('logLevel')}: unknown log level '${config.logLevel}'; one of ${LOG_LEVELS.join(', ')}`);
  if (config.pcap) {
    const dir = dirname(resolve(config.pcap));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) problems.push(`${where('pcap')}: directory ${dir} does not exist`);
  }
  if (config.static) {
    const dir = resolve(config.static);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) problems.push(`${where('static')}: ${dir} is not a directory`);
  }
  if (config.httpLimits) {
    const spec = parseHttpLimitSpec(config.httpLimits);
    if (spec instanceof Error) problems.push(`${where('httpLimits')}: ${spec.message}`);
    else {
      try {
        resolveHttpLimits(spec);
      } catch (e) {
        problems.push(`${where('httpLimits')}: ${(e as Error).message}`);
      }
    }
  }
  if (config.name !== null && !/^[A-Za-z0-9_.@+-]{1,64}$/.test(config.name)) {
    problems.push(`${where('name')}: '${config.name}' is not a valid instance name (1..64 characters: letters, digits, _ . - @ +)`);
  }
  if (config.control && config.control !== 'off') {
    const dir = dirname(resolve(config.control));
    if (existsSync(dir) && !statSync(dir).isDirectory()) problems.push(`${where('control')}: ${dir} is not a directory`);
    if (Buffer.byteLength(resolve(config.control)) > 107) problems.push(`${where('control')}: socket path longer than 107 bytes (the Unix socket limit)`);
  }

  if (config.dashboardToken !== null && (config.dashboardToken.length < 8 || config.dashboardToken.length > 256 || /[\s;,]/.test(config.dashboardToken))) {
    problems.push(`${where('dashboardToken')}: a dashboard token must be 8..256 characters without spaces, ';' or ','`);
  }
  const staged = stageSysctls(config.sysctl);
  if (staged instanceof Error) problems.push(`${where('sysctl')}: ${staged.message}`);
  if (problems.length > 0) throw new ConfigError(problems);
  return { config, sources, file };
}

function formatAddr(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
