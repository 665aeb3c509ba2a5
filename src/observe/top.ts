/**
 * `tunstack top`: a refreshing terminal view of a running stack — counters
 * with rates, listeners (SYN queue and accept queue against the backlog),
 * the busiest connections (with the ids `tunstack trace --conn` takes).
 * Polls the control socket's `observe` snapshot; `q` or Ctrl-C quits.
 */
import { controlCall, resolveControlPath } from '../control/client.js';
import type { Target } from '../control/commands.js';
import type { ConnRow, ListenerRow } from './events.js';

export interface TopSnapshot {
  name: string;
  at: string;
  conns: ConnRow[];
  listeners: ListenerRow[];
  stats: Record<string, Record<string, number>>;
}

export interface TopOptions extends Target {
  /** Seconds between frames (default 1). */
  interval?: number;
  /** Stop after this many frames. */
  count?: number;
  /** Connections shown (default: as many as fit, at least 10). */
  conns?: number;
}

function n(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function get(s: TopSnapshot, g: string, k: string): number {
  const v = s.stats[g]?.[k];
  return typeof v === 'number' ? v : 0;
}

function bar(v: number, max: number, w = 12): string {
  const k = max > 0 ? Math.min(w, Math.round((v / max) * w)) : 0;
  return `[${'#'.repeat(k)}${'.'.repeat(w - k)}]`;
}

/** One frame of `top` (pure: tested on its own). `prev` null on the first frame. */
export function renderTop(cur: TopSnapshot, prev: TopSnapshot | null, dtSec: number, o: { rows?: number; width?: number } = {}): string {
  const width = o.width ?? 110;
  const rate = (g: string, k: string): number => (prev === null || dtSec <= 0 ? 0 : Math.max(0, (get(cur, g, k) - get(prev, g, k)) / dtSec));
  const r = (g: string, k: string): string => `${n(rate(g, k))}/s`;
  const lines: string[] = [];
  lines.push(`tunstack top — ${cur.name}   ${cur.at}   (q quits)`);
  lines.push(
    `Tcp  estab ${get(cur, 'Tcp', 'CurrEstab')}  segs in ${r('Tcp', 'InSegs')} out ${r('Tcp', 'OutSegs')}  retrans ${r('Tcp', 'RetransSegs')}  opens act ${r('Tcp', 'ActiveOpens')} pas ${r('Tcp', 'PassiveOpens')}  rsts out ${r('Tcp', 'OutRsts')}  fails ${r('Tcp', 'AttemptFails')}`,
  );
  lines.push(
    `Ip   in ${r('Ip', 'InReceives')} delivered ${r('Ip', 'InDelivers')} out ${r('Ip', 'OutRequests')}  reasm ok ${r('Ip', 'ReasmOKs')} fail ${r('Ip', 'ReasmFails')}   Udp in ${r('Udp', 'InDatagrams')} out ${r('Udp', 'OutDatagrams')}   Icmp echo ${r('Icmp', 'InEchos')}`,
  );
  lines.push(
    `SYN cookies sent ${r('TcpExt', 'SyncookiesSent')} ok ${r('TcpExt', 'SyncookiesRecv')} failed ${r('TcpExt', 'SyncookiesFailed')}   listen overflows ${r('TcpExt', 'ListenOverflows')} drops ${r('TcpExt', 'ListenDrops')}   timeouts ${r('TcpExt', 'TCPTimeouts')}`,
  );
  const drops = Object.entries(cur.stats['drops'] ?? {})
    .map(([k, v]) => [k, prev === null || dtSec <= 0 ? 0 : (v - (prev.stats['drops']?.[k] ?? 0)) / dtSec] as const)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6);
  lines.push(`Drops ${drops.length === 0 ? 'none' : drops.map(([k, v]) => `${k} ${n(v)}/s`).join('  ')}`);
  lines.push('');
  lines.push(`LISTENERS (${cur.listeners.length})`);
  lines.push(`${'local'.padEnd(22)} ${'syn-q'.padStart(11)} ${'accept-q'.padStart(11)}  syn queue       accept queue`);
  for (const l of cur.listeners.slice(0, 8)) {
    lines.push(`${l.local.padEnd(22)} ${`${l.synQ}/${l.backlog}`.padStart(11)} ${`${l.acceptQ}/${l.backlog}`.padStart(11)}  ${bar(l.synQ, l.backlog)}  ${bar(l.acceptQ, l.backlog)}`);
  }
  lines.push('');
  const before = new Map((prev?.conns ?? []).map((c) => [c.id, c.bytesAcked + c.bytesReceived]));
  const busy = cur.conns
    .map((c) => ({ c, bps: dtSec > 0 && before.has(c.id) ? (c.bytesAcked + c.bytesReceived - before.get(c.id)!) / dtSec : 0 }))
    .sort((a, b) => b.bps - a.bps || b.c.bytesAcked + b.c.bytesReceived - (a.c.bytesAcked + a.c.bytesReceived) || a.c.id - b.c.id);
  const rows = Math.max(1, o.rows ?? 15);
  lines.push(`CONNECTIONS (busiest ${Math.min(rows, busy.length)} of ${cur.conns.length}; trace one with \`tunstack trace --conn ID\`)`);
  lines.push(
    `${'id'.padStart(5)} ${'state'.padEnd(11)} ${'local'.padEnd(21)} ${'peer'.padEnd(21)} ${'B/s'.padStart(8)} ${'cwnd'.padStart(6)} ${'ssthr'.padStart(6)} ${'srtt'.padStart(7)} ${'rto'.padStart(5)} ${'rtx'.padStart(5)} ${'sendQ'.padStart(7)} ${'recvQ'.padStart(7)}`,
  );
  for (const { c, bps } of busy.slice(0, rows)) {
    const mss = Math.max(1, c.mss);
    lines.push(
      `${String(c.id).padStart(5)} ${c.state.padEnd(11)} ${c.local.padEnd(21)} ${c.peer.padEnd(21)} ${n(bps).padStart(8)} ${String(Math.round(c.cwnd / mss)).padStart(6)} ${(c.ssthresh < 0 ? '-' : String(Math.round(c.ssthresh / mss))).padStart(6)} ${c.srtt.toFixed(2).padStart(7)} ${String(c.rto).padStart(5)} ${String(c.retrans).padStart(5)} ${String(c.sendQ).padStart(7)} ${String(c.recvQ).padStart(7)}`,
    );
  }
  if (cur.conns.length === 0) lines.push('  (no TCP connections)');
  return lines.map((l) => (l.length > width ? l.slice(0, width) : l)).join('\n');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function topCommand(opts: TopOptions, out: NodeJS.WriteStream | NodeJS.WritableStream = process.stdout, input: NodeJS.ReadStream = process.stdin): Promise<number> {
  const path = resolveControlPath(opts);
  const interval = Math.max(0.1, opts.interval ?? 1) * 1000;
  const tty = (out as NodeJS.WriteStream).isTTY === true;
  let quit = false;
  const onKey = (d: Buffer): void => {
    const s = d.toString();
    if (s === 'q' || s === 'Q' || s === '\u0003') quit = true;
  };
  const onSig = (): void => {
    quit = true;
  };
  process.on('SIGINT', onSig);
  if (tty && input.isTTY) {
    input.setRawMode(true);
    input.resume();
    input.on('data', onKey);
    out.write('\x1b[?25l');
  }
  let prev: TopSnapshot | null = null;
  let prevAt = 0;
  try {
    for (let frame = 0; !quit && (opts.count === undefined || frame < opts.count); frame++) {
      const cur = (await controlCall(path, { cmd: 'observe' })) as unknown as TopSnapshot;
      const now = Date.now();
      const cols = (out as NodeJS.WriteStream).columns ?? 110;
      const rowsAvail = ((out as NodeJS.WriteStream).rows ?? 40) - 14 - Math.min(8, cur.listeners.length);
      const text = renderTop(cur, prev, prev === null ? 0 : (now - prevAt) / 1000, { width: cols, rows: opts.conns ?? Math.max(10, rowsAvail) });
      out.write(tty ? `\x1b[H\x1b[2J${text}\n` : `${text}\n\n`);
      prev = cur;
      prevAt = now;
      for (let waited = 0; waited < interval && !quit; waited += 100) await sleep(Math.min(100, interval - waited));
    }
  } finally {
    process.off('SIGINT', onSig);
    if (tty && input.isTTY) {
      input.off('data', onKey);
      input.setRawMode(false);
      input.pause();
      out.write('\x1b[?25h');
    }
  }
  return 0;
}
