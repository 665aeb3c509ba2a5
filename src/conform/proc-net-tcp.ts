/**
 * `/proc/net/tcp` for a script's shell lines: packetdrill scripts check the kernel's socket table with
 * `grep PATTERN /proc/net/tcp /proc/net/tcp6 | grep PATTERN`, and packetdrill fails the script when the
 * command's exit status is not 0. The runner writes the stack's table in Linux's format and runs exactly
 * that form of pipeline — `grep` with one literal pattern, no flags — over it; anything else stays unsupported.
 */
import { ANY6, isV6 } from '../tcp/addresses.js';
import type { TcpLayer } from '../tcp/layer.js';
import { TcpState, type TcpStateValue } from '../tcp/state.js';

/** Linux's state numbers in /proc/net/tcp (include/net/tcp_states.h), indexed by our TcpState. */
const LINUX_STATE: Record<TcpStateValue, number> = {
  [TcpState.CLOSED]: 7,
  [TcpState.LISTEN]: 0x0a,
  [TcpState.SYN_SENT]: 2,
  [TcpState.SYN_RECEIVED]: 3,
  [TcpState.ESTABLISHED]: 1,
  [TcpState.FIN_WAIT_1]: 4,
  [TcpState.FIN_WAIT_2]: 5,
  [TcpState.CLOSE_WAIT]: 8,
  [TcpState.CLOSING]: 0x0b,
  [TcpState.LAST_ACK]: 9,
  [TcpState.TIME_WAIT]: 6,
};

/** The header line of /proc/net/tcp (Linux tcp4_seq_show). */
const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

const hex = (v: number, width: number): string => (v >>> 0).toString(16).toUpperCase().padStart(width, '0');

/** An IPv4 address as /proc/net/tcp prints it: the network-order word read on a little-endian host (Linux %08X of a __be32). */
function procAddr(addr: number): string {
  const swapped = ((addr & 0xff) << 24) | ((addr & 0xff00) << 8) | ((addr >>> 8) & 0xff00) | (addr >>> 24);
  return hex(swapped, 8);
}

/**
 * One socket line (Linux get_tcp4_sock / get_openreq4 / get_timewait4_sock): slot, local and remote address:port,
 * state, tx_queue:rx_queue. The timer, uid, inode, refcount and pointer fields are not modelled and print as 0.
 */
function socketLine(slot: number, local: number, lport: number, remote: number, rport: number, state: number, txQueue: number, rxQueue: number): string {
  return `${String(slot).padStart(4)}: ${procAddr(local)}:${hex(lport, 4)} ${procAddr(remote)}:${hex(rport, 4)} ${hex(state, 2)} ${hex(txQueue, 8)}:${hex(rxQueue, 8)} 00:00000000 00000000     0        0 0 0 0`;
}

/**
 * The text of /proc/net/tcp for the stack's TCP layer: listeners (rx_queue: the accept queue, Linux sk_ack_backlog),
 * half-open connections (SYN_RECV), connections (tx_queue: unacknowledged bytes, rx_queue: unread bytes) and
 * TIME-WAIT pairs (undefined: the stack has not started). IPv4 sockets only.
 */
export function procNetTcp(tcp: TcpLayer | undefined): string {
  const lines = [HEADER];
  if (tcp === undefined) return HEADER + '\n'; // no stack started yet: no sockets
  let slot = 0;
  // AF_INET6 sockets (IPv6 numbers, src/tcp/addresses.ts) belong to /proc/net/tcp6, not listed here.
  for (const l of tcp.listenerList()) {
    if (isV6(l.localAddr)) continue;
    lines.push(socketLine(slot++, l.localAddr, l.localPort, 0, 0, LINUX_STATE[TcpState.LISTEN], 0, l.acceptQueueLength));
    for (const h of l.synQueue.values()) lines.push(socketLine(slot++, h.localAddr, l.localPort, h.remoteAddr, h.remotePort, LINUX_STATE[TcpState.SYN_RECEIVED], 0, 0));
  }
  for (const c of tcp.connections()) {
    if (c.v6Socket) continue;
    const i = c.info();
    lines.push(socketLine(slot++, c.localAddr, c.localPort, c.remoteAddr, c.remotePort, LINUX_STATE[c.state], i.sendQ, i.recvQ));
  }
  for (const e of tcp.timeWait.entries()) if (!isV6(e.localAddr)) lines.push(socketLine(slot++, e.localAddr, e.localPort, e.remoteAddr, e.remotePort, LINUX_STATE[TcpState.TIME_WAIT], 0, 0));
  return lines.join('\n') + '\n';
}

const HEADER6 = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

/**
 * The text of /proc/net/tcp6 (Linux tcp6_seq_show): the IPv6 listeners, half-open and full connections and
 * TIME-WAIT pairs, an address as its four 32-bit words each printed as /proc/net/tcp prints one; an IPv4
 * peer of an IPv6 socket as ::ffff:a.b.c.d.
 */
export function procNetTcp6(tcp: TcpLayer | undefined): string {
  const lines = [HEADER6];
  if (tcp === undefined) return HEADER6 + '\n';
  const addr = (a: number): string => {
    const w = isV6(a) ? tcp.addrs.words(a) : [0, 0, 0xffff, a];
    return w === null ? '0'.repeat(32) : w.map(procAddr).join('');
  };
  const line = (slot: number, l: number, lp: number, r: number, rp: number, st: number, tx: number, rx: number): string =>
    `${String(slot).padStart(4)}: ${addr(l)}:${hex(lp, 4)} ${addr(r)}:${hex(rp, 4)} ${hex(st, 2)} ${hex(tx, 8)}:${hex(rx, 8)} 00:00000000 00000000     0        0 0 0 0`;
  let slot = 0;
  for (const l of tcp.listenerList()) {
    if (!isV6(l.localAddr)) continue;
    lines.push(line(slot++, l.localAddr, l.localPort, ANY6, 0, LINUX_STATE[TcpState.LISTEN], 0, l.acceptQueueLength));
    for (const h of l.synQueue.values()) lines.push(line(slot++, h.localAddr, l.localPort, h.remoteAddr, h.remotePort, LINUX_STATE[TcpState.SYN_RECEIVED], 0, 0));
  }
  for (const c of tcp.connections()) {
    if (!c.v6Socket) continue;
    const i = c.info();
    lines.push(line(slot++, c.localAddr, c.localPort, c.remoteAddr, c.remotePort, LINUX_STATE[c.state], i.sendQ, i.recvQ));
  }
  for (const e of tcp.timeWait.entries()) if (isV6(e.localAddr)) lines.push(line(slot++, e.localAddr, e.localPort, e.remoteAddr, e.remotePort, LINUX_STATE[TcpState.TIME_WAIT], 0, 0));
  return lines.join('\n') + '\n';
}

/** What a `grep` pipeline printed and its exit status (0: some line matched, 1: none). */
export interface GrepOutcome {
  status: number;
  output: string;
}

/** One `grep PATTERN [FILE...]` stage: the pattern must be literal (no regular-expression characters, no flags). */
interface GrepStage {
  pattern: string;
  files: string[];
}

const QUOTED_WORD = /"([^"\\$`]*)"|'([^']*)'|([^\s"'|;&<>()$`\\]+)/y;

function parseStage(text: string): GrepStage | undefined {
  const words: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i < s.length) {
    if (/\s/.test(s[i]!)) {
      i++;
      continue;
    }
    QUOTED_WORD.lastIndex = i;
    const m = QUOTED_WORD.exec(s);
    if (!m) return undefined;
    words.push(m[1] ?? m[2] ?? m[3]!);
    i = QUOTED_WORD.lastIndex;
  }
  if (words[0] !== 'grep' || words.length < 2) return undefined;
  const pattern = words[1]!;
  // Flags, or a pattern with basic-regex characters, are not understood: the command stays unsupported.
  if (pattern.startsWith('-') || pattern === '' || /[.[\]*^$\\]/.test(pattern)) return undefined;
  return { pattern, files: words.slice(2) };
}

/**
 * Runs `grep P FILE... [| grep P]...` over the emulated files (`read` gives a file's text, undefined when it is
 * not one we emulate); undefined when the command is not of that form. As grep: with more than one file a line
 * is printed as `FILE:line`; the status is 0 when the last stage printed a line.
 */
export function runProcGrep(command: string, read: (path: string) => string | undefined): GrepOutcome | undefined {
  const stages = command.split('|').map(parseStage);
  if (stages.length === 0 || stages.some((s) => s === undefined)) return undefined;
  const [first, ...rest] = stages as GrepStage[];
  if (first!.files.length === 0 || rest.some((s) => s.files.length > 0)) return undefined;
  let lines: string[] = [];
  for (const f of first!.files) {
    const text = read(f);
    if (text === undefined) return undefined;
    for (const l of text.split('\n')) {
      if (l === '' || !l.includes(first!.pattern)) continue;
      lines.push(first!.files.length > 1 ? `${f}:${l}` : l);
    }
  }
  for (const s of rest) lines = lines.filter((l) => l.includes(s.pattern));
  return { status: lines.length > 0 ? 0 : 1, output: lines.join('\n') };
}
