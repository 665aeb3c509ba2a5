/**
 * `tunstack ss` output, laid out like iproute2's ss (misc/ss.c): the columns of `ss -tn`
 * (`Netid` only when TCP and UDP are both shown, `State` dropped when the filter names one state),
 * addresses right-aligned on the `:` before the port, `-i` internals in tcp_show_info's order and
 * names, `-m` memory as `skmem:(...)`. Pure: rows in, text out.
 */
import { ssFilterMatches, type SsFilter } from './ss-filter.js';

type Row = Record<string, unknown>;

export interface SsFormatOptions {
  /** Which tables: default both. */
  tcp?: boolean;
  udp?: boolean;
  /** `-i`: the internals line under each connection. */
  info?: boolean;
  /** `-m`: the skmem line. */
  memory?: boolean;
  filter?: SsFilter;
}

function str(v: unknown, dflt = ''): string {
  return v === undefined || v === null ? dflt : String(v);
}

function num(row: Row | undefined, ...keys: string[]): number | undefined {
  if (!row) return undefined;
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
  'SYN-RECEIVED': 'SYN-RECV',
  CLOSED: 'UNCONN',
};

/** `ss -tan` state names (ESTAB, SYN-RECV, TIME-WAIT, ...) from RFC 9293 names in any spelling. */
export function ssState(state: unknown): string {
  const s = str(state, '?').toUpperCase().replace(/_/g, '-');
  return STATE_NAMES[s] ?? s;
}

/** `%g`-like: at most 3 decimals, no trailing zeros (ss prints rtt:0.56/0.686). */
const g = (v: number): string => String(+v.toFixed(3));

/**
 * The `ss -i` line of a TCP row, in iproute2's order (tcp_show_info): only the fields the row has, each printed
 * only when non-zero, as ss does. `send` is ss's own figure: cwnd·mss·8 / srtt.
 */
export function tcpInfoLine(r: Row): string {
  const x = (typeof r['internals'] === 'object' && r['internals'] !== null ? r['internals'] : {}) as Row;
  const p: string[] = [];
  const flag = (k: string, name: string): void => {
    if (x[k] === true) p.push(name);
  };
  const field = (name: string, v: number | undefined, fmt: (n: number) => string = String): void => {
    if (v !== undefined && v !== 0) p.push(`${name}:${fmt(v)}`);
  };
  flag('timestamps', 'ts');
  flag('sack', 'sack');
  flag('ecn', 'ecn');
  flag('ecnSeen', 'ecnseen');
  const cc = x['congestionControl'] ?? r['congestionControl'];
  if (typeof cc === 'string' && cc) p.push(cc);
  const ws = r['wscale'];
  if (typeof ws === 'string' && ws) p.push(`wscale:${ws}`);
  field('rto', num(r, 'rto'), g);
  field('backoff', num(x, 'backoff'));
  const rtt = num(r, 'srtt', 'rtt');
  if (rtt !== undefined && rtt !== 0) p.push(`rtt:${g(rtt)}/${g(num(r, 'rttvar') ?? 0)}`);
  const mss = num(r, 'mss');
  field('mss', mss);
  field('pmtu', num(x, 'pmtu'));
  field('rcvmss', num(x, 'rcvMss'));
  field('advmss', num(x, 'advMss'));
  const cwnd = num(r, 'cwnd');
  field('cwnd', cwnd);
  const ssthresh = num(r, 'ssthresh');
  if (ssthresh !== undefined && ssthresh > 0 && ssthresh < 0x7fffffff) p.push(`ssthresh:${ssthresh}`);
  field('bytes_sent', num(x, 'bytesSent'));
  field('bytes_acked', num(r, 'bytesAcked'));
  field('bytes_received', num(r, 'bytesReceived'));
  field('segs_out', num(x, 'segsOut'));
  field('segs_in', num(x, 'segsIn'));
  if (rtt && cwnd && mss) p.push(`send ${Math.round((cwnd * mss * 8) / (rtt / 1000))}bps`);
  field('lastsnd', num(x, 'lastSnd'));
  field('lastrcv', num(x, 'lastRcv'));
  field('lastack', num(x, 'lastAck'));
  const total = num(r, 'retrans') ?? 0;
  const now = num(x, 'retransNow') ?? 0;
  if (total || now) p.push(`retrans:${now}/${total}`);
  field('lost', num(x, 'lost'));
  field('dsack_dups', num(x, 'dsackDups'));
  const reordering = num(x, 'reordering');
  if (reordering !== undefined && reordering !== 3) p.push(`reordering:${reordering}`);
  field('reord_seen', num(x, 'reordSeen'));
  field('rcv_rtt', num(x, 'rcvRtt'), g);
  field('rcv_space', num(x, 'rcvSpace'));
  field('notsent', num(x, 'notSent'));
  field('minrtt', num(x, 'minRtt'), g);
  field('snd_wnd', num(x, 'sndWnd'));
  field('rcv_wnd', num(x, 'rcvWnd'));
  // tunstack's own: the observatory's connection id and, with --workers, the shard.
  const id = r['id'];
  if (id !== undefined && id !== null) p.push(`id:${str(id)}`);
  const shard = num(r, 'shard');
  if (shard !== undefined) p.push(`shard:${shard}`);
  return p.join(' ');
}

/**
 * The `ss -m` line: `skmem:(r,rb,t,tb,f,w,o,bl,d)` (sock_diag's SK_MEMINFO_*). r: bytes waiting to be read,
 * rb/tb: the receive/send buffer sizes, w: bytes queued to send (written, not yet acknowledged). t (in the qdisc
 * or driver), f (forward-allocated), o (option memory), bl (backlog) and d (drops) are 0 here: the stack hands a
 * segment to the TUN write at once, allocates no kernel memory per socket and has one thread, so no backlog.
 * UDP rows carry their own drop count.
 */
export function skmemLine(r: Row, udp = false): string {
  // A listener's Recv-Q / Send-Q are its accept queue and backlog, not memory.
  if (r['state'] === 'LISTEN') return `skmem:(r0,rb${num(r, 'rcvBuf') ?? 0},t0,tb${num(r, 'sndBuf') ?? 0},f0,w0,o0,bl0,d0)`;
  const rmem = num(r, 'recvQ', 'recvQueue') ?? 0;
  const rb = num(r, 'rcvBuf') ?? 0;
  const tb = num(r, 'sndBuf') ?? 0;
  const w = udp ? 0 : (num(r, 'sendQ') ?? 0);
  const d = udp ? (num(r, 'drops') ?? 0) : 0;
  return `skmem:(r${rmem},rb${rb},t0,tb${tb},f0,w${w},o0,bl0,d${d})`;
}

interface Line {
  netid: string;
  state: string;
  recvQ: string;
  sendQ: string;
  local: string;
  peer: string;
  details: string[];
}

/** `addr:port` → [addr, port] at the last colon. */
function splitAt(ep: string): [string, string] {
  const i = ep.lastIndexOf(':');
  return i < 0 ? [ep, ''] : [ep.slice(0, i), ep.slice(i + 1)];
}

/** The table like `ss -tan` / `ss -tuan`; tcp null: this build has no TCP layer. */
export function formatSocketTable(tcp: Row[] | null, udp: Row[] | null, opts: SsFormatOptions = {}): string {
  const showTcp = opts.tcp ?? !opts.udp;
  const showUdp = opts.udp ?? !opts.tcp;
  const lines: Line[] = [];
  const keep = (state: string, local: string, peer: string): boolean => !opts.filter || ssFilterMatches(opts.filter, { state, local, peer });
  if (showTcp) {
    for (const r of tcp ?? []) {
      const state = ssState(r['state']);
      const local = typeof r['local'] === 'string' ? r['local'] : endpoint(r['localAddress'], r['localPort']);
      const peer = typeof r['peer'] === 'string' ? r['peer'] : endpoint(r['remoteAddress'] ?? r['peerAddress'], r['remotePort'] ?? r['peerPort']);
      if (!keep(state, local, peer)) continue;
      const details: string[] = [];
      if (opts.memory) details.push(skmemLine(r));
      if (opts.info && state !== 'LISTEN' && state !== 'TIME-WAIT') {
        const info = tcpInfoLine(r);
        if (info) details.push(info);
      }
      lines.push({ netid: 'tcp', state, recvQ: str(num(r, 'recvQ', 'recvQueue'), '0'), sendQ: str(num(r, 'sendQ', 'sendQueue'), '0'), local, peer, details });
    }
  }
  if (showUdp) {
    for (const r of udp ?? []) {
      const connected = (num(r, 'remotePort') ?? 0) !== 0;
      const state = connected ? 'ESTAB' : 'UNCONN';
      const local = endpoint(r['localAddress'], r['localPort']);
      const peer = endpoint(r['remoteAddress'] || '0.0.0.0', r['remotePort']);
      if (!keep(state, local, peer)) continue;
      const details: string[] = [];
      if (opts.memory) details.push(skmemLine(r, true));
      const drops = num(r, 'drops');
      if (opts.info && drops) details.push(`drops:${drops}`);
      lines.push({ netid: 'udp', state, recvQ: str(num(r, 'recvQueue', 'recvQ'), '0'), sendQ: '0', local, peer, details });
    }
  }
  // ss.c: Netid only with more than one socket type; State only when the filter lets more than one state through.
  const withNetid = showTcp && showUdp;
  const withState = !opts.filter || opts.filter.states.size !== 1;
  const head = { netid: 'Netid', state: 'State', recvQ: 'Recv-Q', sendQ: 'Send-Q', local: 'Local Address:Port', peer: 'Peer Address:Port' };
  const all = [head, ...lines];
  const w = (f: (l: typeof head) => string): number => Math.max(...all.map((l) => f(l).length));
  const wNetid = w((l) => l.netid);
  const wState = w((l) => l.state);
  const wRecv = w((l) => l.recvQ);
  const wSend = w((l) => l.sendQ);
  const wLa = w((l) => splitAt(l.local)[0]);
  const wLp = w((l) => splitAt(l.local)[1]);
  const wPa = w((l) => splitAt(l.peer)[0]);
  const out: string[] = [];
  for (const l of all) {
    const [la, lp] = splitAt(l.local);
    const [pa, pp] = splitAt(l.peer);
    const cells: string[] = [];
    if (withNetid) cells.push(l.netid.padEnd(wNetid));
    if (withState) cells.push(l.state.padEnd(wState));
    cells.push(l.recvQ.padEnd(wRecv), l.sendQ.padEnd(wSend), `${la.padStart(wLa)}:${lp.padEnd(wLp)}`, `${pa.padStart(wPa)}:${pp}`);
    out.push(cells.join(' ').trimEnd());
    for (const d of (l as Partial<Line>).details ?? []) out.push(`\t ${d}`);
  }
  if (showTcp && tcp === null) out.push('(no TCP sockets: this build of tunstack has no TCP layer)');
  return out.join('\n');
}
