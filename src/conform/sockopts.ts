/**
 * Socket options of scripts beyond syscalls.ts's first set, each mapped onto the socket API where an
 * application reaches it: TCP_USER_TIMEOUT (TcpSocket.setUserTimeout), TCP_INQ (TcpSocket.inq() for
 * recvmsg's TCP_CM_INQ), TCP_MAXSEG on a listener (TcpServer.setMaxSegment). Bad arguments get Linux's
 * errno (net/ipv4/tcp.c do_tcp_setsockopt / do_tcp_getsockopt).
 */
import type { Expr } from './ast.js';
import { Unsupported } from './config.js';
import { ERRNO } from './constants.js';
import type { LinuxTcpInfo } from '../tcp/tcp-info.js';
import type { TcpSocket } from '../tcp/socket.js';
import type { TcpServer } from '../tcp/server.js';

/** Options this module answers (setsockopt and getsockopt). */
export const EXTRA_SOCKOPTS: ReadonlySet<string> = new Set(['TCP_USER_TIMEOUT', 'TCP_INQ', 'TCP_INFO']);

/** Per-fd values of these options (copied to accepted sockets with the rest of the fd's options, as Linux clones the listener). */
export interface ExtraSockoptValues {
  userTimeout?: number;
  inq?: boolean;
}

/** What an option needs to know of the fd. */
export interface SockoptTarget {
  kind: 'tcp' | 'udp';
  sock: TcpSocket | undefined;
  server: TcpServer | undefined;
  opts: ExtraSockoptValues;
}

export interface SockoptResult {
  ret: number;
  errno?: number;
  out?: { optval?: number };
}

const ok = (optval?: number): SockoptResult => (optval === undefined ? { ret: 0 } : { ret: 0, out: { optval } });
const fail = (name: 'EINVAL' | 'ENOPROTOOPT'): SockoptResult => ({ ret: -1, errno: ERRNO[name]! });

/** Linux do_tcp_setsockopt: an int option with optlen < sizeof(int) is EINVAL. */
function shortOptlen(optlen: number | undefined): boolean {
  return optlen !== undefined && optlen < 4;
}

/** setsockopt(fd, SOL_TCP, name, [value], optlen) for the options of EXTRA_SOCKOPTS. */
export function setExtraSockopt(t: SockoptTarget, name: string, value: number, optlen: number | undefined): SockoptResult {
  // A UDP socket answers SOL_TCP options from ip_setsockopt: not its protocol.
  if (t.kind !== 'tcp') return fail('ENOPROTOOPT');
  if (shortOptlen(optlen)) return fail('EINVAL');
  switch (name) {
    case 'TCP_INFO':
      return fail('ENOPROTOOPT'); // read-only (do_tcp_setsockopt has no TCP_INFO)
    case 'TCP_USER_TIMEOUT': {
      // RFC 5482; Linux: a negative value is EINVAL.
      if (value < 0) return fail('EINVAL');
      t.opts.userTimeout = value;
      t.sock?.setUserTimeout(value);
      return ok();
    }
    case 'TCP_INQ': {
      // Linux: 0 or 1, else EINVAL; recvmsg then carries a TCP_CM_INQ control message.
      if (value !== 0 && value !== 1) return fail('EINVAL');
      t.opts.inq = value === 1;
      return ok();
    }
  }
  return fail('ENOPROTOOPT');
}

/** getsockopt(fd, SOL_TCP, name, [value], [optlen]) for the options of EXTRA_SOCKOPTS. */
export function getExtraSockopt(t: SockoptTarget, name: string): SockoptResult {
  if (t.kind !== 'tcp') return fail('ENOPROTOOPT');
  switch (name) {
    case 'TCP_USER_TIMEOUT':
      return ok(t.sock?.userTimeout ?? t.opts.userTimeout ?? 0);
    case 'TCP_INQ':
      return ok(t.opts.inq ? 1 : 0);
  }
  return fail('ENOPROTOOPT');
}

/** Linux tcp_info's symbolic values packetdrill prints (code.c): states, ca states, option bits. */
const TCP_INFO_SYMBOLS: Readonly<Record<string, number>> = {
  TCP_ESTABLISHED: 1,
  TCP_SYN_SENT: 2,
  TCP_SYN_RECV: 3,
  TCP_FIN_WAIT1: 4,
  TCP_FIN_WAIT2: 5,
  TCP_TIME_WAIT: 6,
  TCP_CLOSE: 7,
  TCP_CLOSE_WAIT: 8,
  TCP_LAST_ACK: 9,
  TCP_LISTEN: 10,
  TCP_CLOSING: 11,
  TCP_CA_Open: 0,
  TCP_CA_Disorder: 1,
  TCP_CA_CWR: 2,
  TCP_CA_Recovery: 3,
  TCP_CA_Loss: 4,
  TCPI_OPT_TIMESTAMPS: 1,
  TCPI_OPT_SACK: 2,
  TCPI_OPT_WSCALE: 4,
  TCPI_OPT_ECN: 8,
};

/**
 * getsockopt(fd, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED, tcpi_snd_cwnd=10, ...}, [len]) — a runner
 * extension (packetdrill checks tcp_info only in `%{ }%` Python blocks): each field written is compared with
 * TcpSocket.getInfo(); a field the stack does not keep is unsupported; `...` as the value skips the check.
 * Returns the first difference, or undefined when all fields match.
 */
export function checkTcpInfo(info: LinuxTcpInfo, expected: Expr | undefined, value: (e: Expr) => number, line: number): string | undefined {
  if (!expected || expected.t !== 'struct') return undefined;
  const num = (e: Expr): number => {
    if (e.t === 'ident' && TCP_INFO_SYMBOLS[e.name] !== undefined) return TCP_INFO_SYMBOLS[e.name]!;
    if (e.t === 'or') return e.items.reduce((a, x) => a | num(x), 0);
    return value(e);
  };
  for (const f of expected.fields) {
    if (f.name === undefined || f.value.t === 'ellipsis') continue;
    if (!(f.name in info)) throw new Unsupported(`TCP_INFO field ${f.name}`, line);
    const got = info[f.name as keyof LinuxTcpInfo];
    const want = num(f.value);
    if (got !== want) return `TCP_INFO ${f.name}: ${got}, expected ${want}`;
  }
  return undefined;
}

/** The options an accepted socket takes from its listener. */
export function applyExtraSockopts(opts: ExtraSockoptValues, s: TcpSocket): void {
  if (opts.userTimeout !== undefined && opts.userTimeout > 0) s.setUserTimeout(opts.userTimeout);
}

/** optlen as written: `4` or `[4]`; undefined for `...`. */
export function optlenOf(e: Expr | undefined): number | undefined {
  if (!e) return undefined;
  if (e.t === 'num') return e.v;
  if (e.t === 'list' && e.items.length === 1 && e.items[0]!.t === 'num') return e.items[0]!.v;
  return undefined;
}
