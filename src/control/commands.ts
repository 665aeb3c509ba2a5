/**
 * The operator commands: `tunstack stats` (like nstat), `tunstack ss` (like
 * `ss -tuani`) and `tunstack capture`, talking to a running instance over
 * its control socket. Formatting is pure (tested on its own); the commands
 * write to a stream and return an exit code.
 */
import { resolve } from 'node:path';
import { controlCall, resolveControlPath } from './client.js';
import { captureSettingsOf, checkCaptureSettings } from './capture.js';

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

function num(row: Record<string, unknown>, ...keys: string[]): number | undefined {
  for (const k of keys) if (typeof row[k] === 'number') return row[k] as number;
  return undefined;
}

function endpoint(addr: unknown, port: unknown): string {
  const a = addr === undefined || addr === null || addr === '' ? '0.0.0.0' : String(addr);
  const p = port === undefined || port === null || port === 0 ? '*' : String(port);
  // An IPv6 address in brackets, as ss prints it (`[::]:53`).
  return a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`;
}

const STATE_NAMES: Record<string, string> = {
  ESTABLISHED: 'ESTAB',
  'SYN-SENT': 'SYN-SENT',
  'SYN-RECEIVED': 'SYN-RECV',
  SYN_RECEIVED: 'SYN-RECV',
  'FIN-WAIT-1': 'FIN-WAIT-1',
  'FIN-WAIT-2': 'FIN-WAIT-2',
  'CLOSE-WAIT': 'CLOSE-WAIT',
  'LAST-ACK': 'LAST-ACK',
  'TIME-WAIT': 'TIME-WAIT',
  CLOSING: 'CLOSING',
  LISTEN: 'LISTEN',
  CLOSED: 'UNCONN',
};

/** `ss -tan` state names (ESTAB, SYN-RECV, TIME-WAIT, ...) from RFC 9293 names in any spelling. */
export function ssState(state: unknown): string {
  const s = str(state, '?').toUpperCase().replace(/_/g, '-');
  return STATE_NAMES[s] ?? s;
}

/** The `ss -i` detail line of a TCP row: only the fields the row has. */
export function tcpInfoLine(r: Record<string, unknown>): string {
  const parts: string[] = [];
  const cc = r['congestionControl'] ?? r['cc'];
  if (cc) parts.push(String(cc));
  const ws = r['wscale'];
  if (ws !== undefined && ws !== null && ws !== '') parts.push(`wscale:${Array.isArray(ws) ? ws.join(',') : String(ws)}`);
  const rto = num(r, 'rto', 'rtoMs');
  if (rto !== undefined) parts.push(`rto:${rto}`);
  const rtt = num(r, 'rtt', 'srttMs', 'srtt');
  const rttvar = num(r, 'rttvar', 'rttvarMs');
  if (rtt !== undefined) parts.push(`rtt:${+rtt.toFixed(3)}/${+(rttvar ?? 0).toFixed(3)}`);
  const mss = num(r, 'mss');
  if (mss !== undefined) parts.push(`mss:${mss}`);
  const cwnd = num(r, 'cwnd');
  if (cwnd !== undefined) parts.push(`cwnd:${cwnd}`);
  const ssthresh = num(r, 'ssthresh');
  if (ssthresh !== undefined && ssthresh > 0 && ssthresh < 0x7fffffff) parts.push(`ssthresh:${ssthresh}`);
  const sent = num(r, 'bytesSent', 'bytesWritten');
  if (sent !== undefined) parts.push(`bytes_sent:${sent}`);
  const acked = num(r, 'bytesAcked');
  if (acked !== undefined) parts.push(`bytes_acked:${acked}`);
  const recv = num(r, 'bytesReceived', 'bytesRead');
  if (recv !== undefined) parts.push(`bytes_received:${recv}`);
  const retrans = num(r, 'retrans', 'retransmits');
  const totalRetrans = num(r, 'totalRetrans', 'retransTotal');
  if (retrans !== undefined || totalRetrans !== undefined) parts.push(`retrans:${retrans ?? 0}/${totalRetrans ?? retrans ?? 0}`);
  const rwnd = num(r, 'rcvWnd', 'rcvWindow', 'rwnd');
  if (rwnd !== undefined) parts.push(`rcv_space:${rwnd}`);
  const rb = num(r, 'rcvBuf');
  const tb = num(r, 'sndBuf');
  if (rb !== undefined && tb !== undefined && rb + tb > 0) parts.push(`skmem:(rb${rb},tb${tb})`);
  const id = r['id'] ?? r['connId'];
  if (id !== undefined) parts.push(`id:${String(id)}`);
  const shard = num(r, 'shard');
  if (shard !== undefined) parts.push(`shard:${shard}`);
  return parts.join(' ');
}

/** `ss -tuani`-like table. tcp null: this build has no TCP layer. */
export function formatSocketTable(tcp: Record<string, unknown>[] | null, udp: Record<string, unknown>[] | null, opts: { info?: boolean } = {}): string {
  const rows: string[][] = [['Netid', 'State', 'Recv-Q', 'Send-Q', 'Local Address:Port', 'Peer Address:Port']];
  const infos: (string | null)[] = [null];
  for (const r of tcp ?? []) {
    rows.push([
      'tcp',
      ssState(r['state']),
      str(num(r, 'recvQ', 'recvQueue', 'rcvQueue'), '0'),
      str(num(r, 'sendQ', 'sendQueue', 'sndQueue'), '0'),
      typeof r['local'] === 'string' ? r['local'] : endpoint(r['localAddress'], r['localPort']),
      typeof r['peer'] === 'string' ? r['peer'] : endpoint(r['remoteAddress'] ?? r['peerAddress'], r['remotePort'] ?? r['peerPort']),
    ]);
    infos.push(opts.info === false || r['state'] === 'LISTEN' ? null : tcpInfoLine(r) || null);
  }
  for (const r of udp ?? []) {
    const connected = (num(r, 'remotePort') ?? 0) !== 0;
    rows.push([
      'udp',
      connected ? 'ESTAB' : 'UNCONN',
      str(num(r, 'recvQueue', 'recvQ'), '0'),
      '0',
      endpoint(r['localAddress'], r['localPort']),
      endpoint(r['remoteAddress'] || '0.0.0.0', r['remotePort']),
    ]);
    const drops = num(r, 'drops');
    infos.push(opts.info === false || !drops ? null : `drops:${drops}`);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines: string[] = [];
  rows.forEach((r, i) => {
    lines.push(r.map((cell, c) => (c === 2 || c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' ').trimEnd());
    const info = infos[i];
    if (info) lines.push(`\t ${info}`);
  });
  if (tcp === null) lines.push('(no TCP sockets: this build of tunstack has no TCP layer)');
  else if (tcp.length === 0) lines.push('(no TCP sockets)');
  return lines.join('\n');
}

export interface SsOptions extends Target {
  json?: boolean;
  info?: boolean;
}

export async function ssCommand(opts: SsOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const res = (await controlCall(resolveControlPath(opts), { cmd: 'sockets' })) as {
    tcp: Record<string, unknown>[] | null;
    udp: Record<string, unknown>[] | null;
  };
  if (opts.json) out.write(`${JSON.stringify({ tcp: res.tcp, udp: res.udp })}\n`);
  else out.write(`${formatSocketTable(res.tcp, res.udp, opts.info === false ? { info: false } : {})}\n`);
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
  stop?: boolean;
  status?: boolean;
}

export async function captureCommand(opts: CaptureOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const n = [opts.start !== undefined, !!opts.stop, !!opts.status].filter(Boolean).length;
  if (n !== 1) throw new Error('capture: give exactly one of --start FILE, --stop, --status');
  if (opts.start === undefined && (opts.snaplen !== undefined || opts.filter !== undefined || opts.rotateBytes !== undefined || opts.rotateCount !== undefined)) {
    throw new Error('capture: --snaplen, --filter, -C and -W go with --start FILE');
  }
  const settings = captureSettingsOf(opts);
  checkCaptureSettings(settings); // a bad filter is reported here, before the stack is asked
  const path = resolveControlPath(opts);
  if (opts.start !== undefined) {
    // The stack opens the file: send an absolute path (relative to where this command runs).
    const res = await controlCall(path, { cmd: 'capture', action: 'start', file: resolve(opts.start), ...settings });
    const kept = [settings.snaplen !== undefined ? `${settings.snaplen} bytes per packet` : '', settings.filter !== undefined ? `packets matching '${settings.filter}'` : '', settings.rotateBytes !== undefined ? `a new file every ${settings.rotateBytes} bytes${settings.rotateCount !== undefined ? `, ${settings.rotateCount} kept` : ''}` : ''].filter(Boolean).join(', ');
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
