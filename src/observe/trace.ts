/**
 * `tunstack trace`: segments as a ladder diagram.
 *
 *   tunstack trace --conn ID          live, one connection of a running stack (ids: `tunstack top`, the dashboard)
 *   tunstack trace --port N           live, every connection with that port (SYN-ACKs of the SYN queue included)
 *   tunstack trace --pcap FILE [--conn N|A:P-B:P | --port N] [--svg OUT]
 *                                     from a capture: the ladder as text, and with --svg a time-sequence
 *                                     graph plus the ladder as one SVG document
 *
 * Live tracing subscribes over the control socket (`{"cmd":"subscribe"}`):
 * the stack sends only that connection's events, bounded like every
 * subscriber of the feed.
 */
import { formatCwndEvent } from './cwnd-line.js';
import { createConnection } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolveControlPath } from '../control/client.js';
import { onLines } from '../control/lines.js';
import type { Target } from '../control/commands.js';
import type { ConnRow, ObsEvent } from './events.js';
import { LadderText, traceSvg, type TraceSeg } from './ladder.js';
import { connEnds, connFacts, connLabel, pickConnection, tcpConnectionsOf } from './pcap-trace.js';

export interface TraceOptions extends Target {
  conn?: string;
  port?: number;
  pcap?: string;
  svg?: string;
  /** Stop after this many segments (live), or print at most this many (capture; default 2000). */
  count?: number;
  /** Live: stop after this many seconds. */
  duration?: number;
  width?: number;
}

function ipOf(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** `--pcap`: list the connections, or draw one. Returns the exit code. */
export function tracePcap(opts: TraceOptions, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  const file = opts.pcap!;
  if (!existsSync(file)) {
    err.write(`tunstack: ${file}: no such file\n`);
    return 1;
  }
  const s = tcpConnectionsOf(new Uint8Array(readFileSync(file)), file);
  if (s instanceof Error) {
    err.write(`tunstack: ${s.message}\n`);
    return 1;
  }
  if (s.tcp === 0) {
    err.write(`tunstack: ${file}: no TCP segments (${s.packets} packets, ${s.ipv4} IPv4): nothing to draw\n`);
    return 1;
  }
  if (opts.conn === undefined && opts.port === undefined) {
    out.write(`connections in ${file} (choose one with --conn N or --port N):\n${s.conns.map(connLabel).join('\n')}\n`);
    return 0;
  }
  const c = pickConnection(s, { ...(opts.conn !== undefined ? { conn: opts.conn } : {}), ...(opts.port !== undefined ? { port: opts.port } : {}) }, file);
  if (c instanceof Error) {
    err.write(`tunstack: ${c.message}\n`);
    return 1;
  }
  const ends = connEnds(c);
  const ladder = new LadderText(ends, opts.width ?? 100);
  const limit = opts.count ?? 2000;
  const facts = connFacts(c);
  out.write(`connection ${c.index}: ${ends.a} -> ${ends.b}, ${c.segs.length} segments${facts ? `\n  ${facts}` : ''}\n${ladder.header()}\n`);
  for (let i = 0; i < c.segs.length && i < limit; i++) out.write(`${ladder.line(c.segs[i]!)}\n`);
  if (c.segs.length > limit) out.write(`... ${c.segs.length - limit} more segments (--count N shows more)\n`);
  if (opts.svg !== undefined) {
    writeFileSync(opts.svg, traceSvg(c.segs, ends, { title: `${file}: connection ${c.index}  ${ends.a} \u21c4 ${ends.b}`, ...(facts ? { subtitle: facts } : {}) }));
    out.write(`wrote ${opts.svg} (time-sequence graph and ladder)\n`);
  }
  return 0;
}

/** Live: subscribe to a connection or port over the control socket and print its segments as they pass. */
export function traceLive(opts: TraceOptions, out: NodeJS.WritableStream): Promise<number> {
  const path = resolveControlPath(opts);
  let conn: number | undefined;
  if (opts.conn !== undefined) {
    if (!/^\d+$/.test(opts.conn)) return Promise.reject(new Error(`--conn takes a connection id (a number from \`tunstack top\` or the dashboard), got '${opts.conn}'`));
    conn = Number(opts.conn);
  }
  if (conn === undefined && opts.port === undefined) return Promise.reject(new Error('trace: give --conn ID or --port N (or --pcap FILE)'));
  if (!existsSync(path)) return Promise.reject(new Error(`no tunstack instance answers on ${path} (no such socket): is \`tunstack up\` running in this namespace?`));
  const width = opts.width ?? Math.max(80, Math.min(140, (process.stdout as { columns?: number }).columns ?? 100));
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    const ladders = new Map<number, LadderText>();
    const rows = new Map<number, ConnRow>();
    let answered = false;
    let segs = 0;
    let printedHeader = false;
    let timer: NodeJS.Timeout | null = null;
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      process.off('SIGINT', onSig);
      sock.destroy();
      resolve(code);
    };
    const onSig = (): void => finish(0);
    process.on('SIGINT', onSig);
    if (opts.duration !== undefined) timer = setTimeout(() => finish(0), opts.duration * 1000);
    // One ladder (and one relative-sequence base) per peer endpoint: a handshake on the SYN queue and the
    // connection it becomes share it.
    const ladderFor = (ev: Extract<ObsEvent, { type: 'seg' }>): LadderText => {
      const key = ev.ra * 65536 + ev.rp;
      let l = ladders.get(key);
      if (l === undefined) {
        const row = rows.get(ev.conn);
        l = new LadderText({ a: `stack ${ipOf(ev.la)}:${ev.lp}`, b: `peer ${ipOf(ev.ra)}:${ev.rp}` }, width);
        if (row) l.base.set(row.iss, row.irs);
        ladders.set(key, l);
        if (!printedHeader || opts.port !== undefined) {
          out.write(`${opts.port !== undefined ? `:${String(ev.rp).padEnd(6)}` : ''}${l.header()}\n`);
          printedHeader = true;
        }
      }
      return l;
    };
    const onEvent = (ev: ObsEvent): void => {
      switch (ev.type) {
        case 'hello':
          for (const r of ev.conns) rows.set(r.id, r);
          if (conn !== undefined) {
            const r = rows.get(conn);
            out.write(r ? `tracing connection #${conn}: ${r.local} (stack) <-> ${r.peer} (peer), ${r.state}; Ctrl-C to stop\n` : `tracing connection #${conn}\n`);
          } else out.write(`tracing port ${opts.port}: every connection with it; Ctrl-C to stop\n`);
          break;
        case 'seg': {
          const l = ladderFor(ev);
          const s: TraceSeg = { t: ev.t, fromA: ev.out, seq: ev.seq, ack: ev.ack, flags: ev.flags, len: ev.len, win: ev.win, rtx: ev.rtx, ...(ev.note !== undefined ? { note: ev.note } : {}) };
          out.write(`${opts.port !== undefined ? `:${String(ev.rp).padEnd(6)}` : ''}${l.line(s)}\n`);
          segs++;
          if (opts.count !== undefined && segs >= opts.count) finish(0);
          break;
        }
        case 'state':
          out.write(`${''.padStart(14)}* #${ev.conn} ${ev.peer}: ${ev.from} -> ${ev.to}\n`);
          break;
        case 'cwnd':
          out.write(`${''.padStart(14)}${formatCwndEvent(ev)}\n`);
          break;
        case 'suppressed':
          out.write(`${''.padStart(14)}* budget: ${Object.entries(ev.counts).map(([k, v]) => `${v} ${k}`).join(', ')} left out\n`);
          break;
        case 'bye':
          out.write(`${''.padStart(14)}* feed ended: ${ev.reason}\n`);
          finish(0);
          break;
        default:
          break;
      }
    };
    sock.once('connect', () => sock.write(`${JSON.stringify({ cmd: 'subscribe', ...(conn !== undefined ? { conn } : { port: opts.port }) })}\n`));
    onLines(sock, (line) => {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return true;
      }
      if (done) return false;
      if (!answered) {
        answered = true;
        if (obj['ok'] !== true) {
          if (timer) clearTimeout(timer);
          process.off('SIGINT', onSig);
          sock.destroy();
          reject(new Error(typeof obj['error'] === 'string' ? obj['error'] : 'subscribe failed'));
          return false;
        }
        return true;
      }
      onEvent(obj as unknown as ObsEvent);
      return true;
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      process.off('SIGINT', onSig);
      reject(e.code === 'ECONNREFUSED' ? new Error(`no tunstack instance answers on ${path} (connection refused)`) : e);
    });
    sock.once('close', () => {
      if (answered) finish(0);
    });
  });
}

export async function traceCommand(opts: TraceOptions, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  if (opts.pcap !== undefined) return tracePcap(opts, out, err);
  if (opts.svg !== undefined) throw new Error('--svg draws from a capture: use it with --pcap FILE');
  return traceLive(opts, out);
}
