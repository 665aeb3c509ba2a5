/**
 * ICMP errors about a connection's segments (RFC 5927, RFC 1122 §4.2.3.9): believed only for a sequence number
 * in flight; fragmentation needed lowers the path MTU (RFC 1191); unreachables end a handshake, and are kept as
 * a soft error otherwise.
 */
import { icmpErrno } from '../ip/icmp-errno.js';
import { terminate } from './close.js';
import { ERRNO, TcpError, type TcpErrorCode } from './errors.js';
import { seqGe, seqLe } from './seq.js';
import { TcpState } from './state.js';
import type { Tcb } from './tcb.js';

/** An ICMP error quoting one of our segments with sequence `seq`. */
export function icmpErrorArrives(c: Tcb, type: number, code: number, info: number, seq: number, now: number): void {
  if (!believable(c, seq)) return;
  if (type === 3 && code === 4) {
    // Fragmentation needed: lower the path MTU and resend smaller (RFC 1191).
    const mtu = info & 0xffff;
    if (mtu < 68) return;
    lowerPathMss(c, Math.max(mtu - 40, 48));
    return;
  }
  // Errno from the table UDP uses too. EMSGSIZE (code 4) is handled above, by the path MTU; Parameter Problem
  // (EPROTO) is not acted on, nor other types.
  if (type !== 3 && type !== 11) return;
  const e = icmpErrno(type, code)[0];
  if (e === 'EMSGSIZE' || e === 'EPROTO') return;
  hardOrSoftError(c, e);
}

/**
 * An ICMPv6 error quoting one of our segments (RFC 4443; Linux tcp_v6_err): Packet Too Big lowers the path
 * MSS to MTU − 60 (the IPv6 layer ignored any under 1280, RFC 8201 §4) and resends; Destination Unreachable
 * and Time Exceeded take the errno of Linux's icmpv6_err_convert, ending a handshake as over IPv4 and kept as a
 * soft error otherwise; Parameter Problem (EPROTO) is not acted on.
 */
export function icmp6ErrorArrives(c: Tcb, type: number, code: number, info: number, seq: number, now: number): void {
  void now;
  if (!believable(c, seq)) return;
  if (type === ICMP6_PACKET_TOO_BIG) {
    lowerPathMss(c, info - 60);
    return;
  }
  if (type === ICMP6_DEST_UNREACH) hardOrSoftError(c, UNREACH6_ERRNO[code] ?? 'EPROTO');
  else if (type === ICMP6_TIME_EXCEEDED) hardOrSoftError(c, 'EHOSTUNREACH');
}

const ICMP6_DEST_UNREACH = 1;
const ICMP6_PACKET_TOO_BIG = 2;
const ICMP6_TIME_EXCEEDED = 3;
/** Linux icmpv6_err_convert's errno for Destination Unreachable codes 0..6. */
const UNREACH6_ERRNO: readonly (TcpErrorCode | 'EPROTO')[] = ['ENETUNREACH', 'EACCES', 'EHOSTUNREACH', 'EHOSTUNREACH', 'ECONNREFUSED', 'EACCES', 'EACCES'];

/** RFC 5927 §4.1: believe an ICMP error only if the quoted sequence number is one we have outstanding. */
function believable(c: Tcb, seq: number): boolean {
  if (seqGe(seq, c.sndUna) && seqLe(seq, c.sndMax) && c.state !== TcpState.TIME_WAIT) return true;
  c.layer.stats.TcpExt.IcmpForgedDrops++;
  c.layer.stats.TcpExt.OutOfWindowIcmps++;
  c.layer.stats.drop('tcp.icmp-out-of-window');
  return false;
}

/** A smaller path MSS (RFC 1191, RFC 8201): taken when it lowers ours, and what is in flight is resent. */
function lowerPathMss(c: Tcb, mss: number): void {
  if (mss >= c.pmtuMss && mss >= Math.min(c.peerMss, c.advMss)) return;
  c.pmtuMss = mss;
  c.updateMss();
  if (c.sndMax !== c.sndUna && c.state !== TcpState.SYN_SENT) {
    c.sndNxt = c.sndUna;
    c.rttTiming = false;
    c.wantOutput = true;
    c.layer.markDirty(c);
  }
}

/** An unreachable: it ends a handshake (Linux tcp_v4_err / tcp_v6_err), otherwise it is kept as a soft error. */
function hardOrSoftError(c: Tcb, err: TcpErrorCode | 'EPROTO'): void {
  if (err === 'EPROTO') return;
  if (c.state === TcpState.SYN_SENT || (c.state === TcpState.SYN_RECEIVED && (c.listener === null || c.fastOpenQueue !== null))) {
    // Linux tcp_v4_err: during the handshake an unreachable ends the attempt — a Fast Open child's too, which
    // then stays in the accept queue with its data and the error (tcp_done).
    c.pendingError = ERRNO[err];
    terminate(c, new TcpError(err, 'connect'));
    return;
  }
  c.softError = err;
}
