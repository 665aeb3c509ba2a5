/**
 * The operator commands: `tunstack stats` (like nstat), `tunstack ss` (like
 * `ss -tuani`) and `tunstack capture`, talking to a running instance over
 * its control socket. Formatting is pure (tested on its own); the commands
 * write to a stream and return an exit code.
 */
import { resolve } from 'node:path';
import { controlCall, resolveControlPath } from './client.js';
import { captureFormatFor, captureSettingsOf, checkCaptureSettings, type CaptureFormat } from './capture.js';
import { formatSocketTable } from './ss-format.js';
import { parseSsFilter } from './ss-filter.js';

export interface Target {
  socket?: string;
  name?: string;
}

type StatsJson = Record<string, Record<string, number>>;

/** `{Ip: {InReceives: 3}, drops: {'ip.bad-checksum': 1}}` → `[['IpInReceives', 3], ['Drop:ip.bad-checksum', 1]]`, in order. */
export function flattenStats(stats: StatsJson): [string, number][] {
  const out: [string, number][] = [];
  for (const [group, counters] of Object.entries(stats)) {
    if (counters === null || typeof counters !== 'object') continue;
    const prefix = group === 'drops' ? 'Drop:' : group;
    for (const [k, v] of Object.entries(counters)) if (typeof v === 'number') out.push([`${prefix}${k}`, v]);
  }
  return out;
}

/** nstat-like lines: the non-zero counters (all with `all`), name left, value right, optional rate column. */
export function formatCounters(rows: [string, number][], opts: { all?: boolean; rates?: Map<string, number> } = {}): string {
  const lines: string[] = [];
  for (const [name, v] of rows) {
    if (v === 0 && !opts.all) continue;
    const rate = opts.rates ? (opts.rates.get(name) ?? 0).toFixed(1) : null;
    lines.push(`${name.padEnd(32)}${String(v).padStart(18)}${rate !== null ? rate.padStart(16) : ''}`);
  }
  return lines.join('\n');
}

/** The column names over `formatCounters` lines, as a `#` comment line (nstat's convention for non-data lines). */
export function counterHeader(value: string, rate?: string): string {
  return `${'#counter'.padEnd(32)}${value.padStart(18)}${rate !== undefined ? rate.padStart(16) : ''}`;
}

/** Counter deltas `cur - prev` (counters that appeared count from 0). */
export function deltas(prev: [string, number][], cur: [string, number][]): [string, number][] {
  const before = new Map(prev);
  return cur.map(([k, v]) => [k, v - (before.get(k) ?? 0)]);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface StatsOptions extends Target {
  watch?: number;
  count?: number;
  json?: boolean;
  all?: boolean;
}

export async function statsCommand(opts: StatsOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const path = resolveControlPath(opts);
  const fetch = async () => (await controlCall(path, { cmd: 'stats' })) as { name: string; stats: StatsJson; at: string };
  let res = await fetch();
  if (opts.watch === undefined) {
    if (opts.json) out.write(`${JSON.stringify(res.stats)}\n`);
    else out.write(`#tunstack ${res.name}\n${formatCounters(flattenStats(res.stats), opts.all ? { all: true } : {})}\n`);
    return 0;
  }
  // --watch: the counters once, then the deltas every interval (non-zero ones, with a per-second rate).
  const interval = Math.max(0.1, opts.watch) * 1000;
  const count = opts.count ?? Infinity;
  let prev = flattenStats(res.stats);
  if (opts.json) out.write(`${JSON.stringify({ at: res.at, stats: res.stats })}\n`);
  else out.write(`#tunstack ${res.name} (every ${interval / 1000}s, deltas)\n${counterHeader('total')}\n${formatCounters(prev, opts.all ? { all: true } : {})}\n`);
  for (let i = 0; i < count; i++) {
    await sleep(interval);
    res = await fetch();
    const cur = flattenStats(res.stats);
    const d = deltas(prev, cur);
    prev = cur;
    if (opts.json) {
      out.write(`${JSON.stringify({ at: res.at, deltas: Object.fromEntries(d.filter(([, v]) => v !== 0)) })}\n`);
    } else {
      const rates = new Map(d.map(([k, v]) => [k, v / (interval / 1000)]));
      const body = formatCounters(d, { rates });
      out.write(`#${res.at}\n${body ? `${counterHeader('delta', 'per second')}\n${body}\n` : ''}`);
    }
  }
  return 0;
}

function str(v: unknown, dflt = ''): string {
  return v === undefined || v === null ? dflt : String(v);
}

export { formatSocketTable, skmemLine, ssState, tcpInfoLine } from './ss-format.js';

export interface SsOptions extends Target {
  json?: boolean;
  /** `-i`: internals; `-m`: memory; `-t`/`-u`: only TCP / only UDP. */
  info?: boolean;
  memory?: boolean;
  tcp?: boolean;
  udp?: boolean;
  /** iproute2's FILTER words, e.g. ['state', 'established', 'dport', '=', ':443'] (src/control/ss-filter.ts). */
  filter?: string[];
}

export async function ssCommand(opts: SsOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  // A filter that does not parse is reported before the instance is asked.
  const filter = parseSsFilter(opts.filter ?? []);
  if (filter instanceof Error) throw filter;
  const res = (await controlCall(resolveControlPath(opts), { cmd: 'sockets' })) as {
    tcp: Record<string, unknown>[] | null;
    udp: Record<string, unknown>[] | null;
  };
  if (opts.json) out.write(`${JSON.stringify({ tcp: res.tcp, udp: res.udp })}\n`);
  else {
    const text = formatSocketTable(res.tcp, res.udp, {
      ...(opts.tcp ? { tcp: true } : {}),
      ...(opts.udp ? { udp: true } : {}),
      ...(opts.info ? { info: true } : {}),
      ...(opts.memory ? { memory: true } : {}),
      ...((opts.filter ?? []).length > 0 ? { filter } : {}),
    });
    out.write(`${text}\n`);
  }
  return 0;
}

export interface CaptureOptions extends Target {
  start?: string;
  /** With start: bytes kept per packet. */
  snaplen?: number;
  /** With start: a filter expression (src/wire/packet-filter.ts). */
  filter?: string;
  /** With start: a new file every this many bytes (tcpdump -C, given there in millions of bytes). */
  rotateBytes?: number;
  /** With start and rotateBytes: files kept (tcpdump -W). */
  rotateCount?: number;
  /** With start: pcap or pcapng (default by the file name). */
  format?: CaptureFormat;
  /** With start, pcapng: micro or nano (tcpdump --time-stamp-precision). */
  precision?: 'micro' | 'nano';
  stop?: boolean;
  status?: boolean;
}

export async function captureCommand(opts: CaptureOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const n = [opts.start !== undefined, !!opts.stop, !!opts.status].filter(Boolean).length;
  if (n !== 1) throw new Error('capture: give exactly one of --start FILE, --stop, --status');
  if (opts.start === undefined && (opts.snaplen !== undefined || opts.filter !== undefined || opts.rotateBytes !== undefined || opts.rotateCount !== undefined || opts.format !== undefined || opts.precision !== undefined)) {
    throw new Error('capture: --snaplen, --filter, -C, -W, --format and --time-stamp-precision go with --start FILE');
  }
  const settings = captureSettingsOf(opts);
  checkCaptureSettings(settings, opts.start); // a bad filter is reported here, before the stack is asked
  const path = resolveControlPath(opts);
  if (opts.start !== undefined) {
    // The stack opens the file: send an absolute path (relative to where this command runs).
    const res = await controlCall(path, { cmd: 'capture', action: 'start', file: resolve(opts.start), ...settings });
    const kept = [captureFormatFor(opts.start, settings.format) === 'pcapng' ? `pcapng${settings.precision === 'nano' ? ', nanosecond time stamps' : ''}` : '', settings.snaplen !== undefined ? `${settings.snaplen} bytes per packet` : '', settings.filter !== undefined ? `packets matching '${settings.filter}'` : '', settings.rotateBytes !== undefined ? `a new file every ${settings.rotateBytes} bytes${settings.rotateCount !== undefined ? `, ${settings.rotateCount} kept` : ''}` : ''].filter(Boolean).join(', ');
    out.write(`capturing into ${str(res['file'])}${kept ? ` (${kept})` : ''}\n`);
  } else if (opts.stop) {
    const res = await controlCall(path, { cmd: 'capture', action: 'stop' });
    out.write(`capture stopped: ${str(res['file'])}, ${str(res['packets'])} packets, ${str(res['bytes'])} bytes\n`);
  } else {
    const res = await controlCall(path, { cmd: 'capture', action: 'status' });
    out.write(res['capturing'] ? `capturing into ${str(res['file'])}: ${str(res['packets'])} packets so far\n` : 'no capture running\n');
  }
  return 0;
}
