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
  const x = c.layer.stats.TcpExt;
  // RFC 5927 §4.1: believe it only if the quoted sequence number is one we have outstanding.
  if (!(seqGe(seq, c.sndUna) && seqLe(seq, c.sndMax)) || c.state === TcpState.TIME_WAIT) {
    x.IcmpForgedDrops++;
    x.OutOfWindowIcmps++;
    c.layer.stats.drop('tcp.icmp-out-of-window');
    return;
  }
  if (type === 3 && code === 4) {
    // Fragmentation needed: lower the path MTU and resend smaller (RFC 1191).
    const mtu = info & 0xffff;
    if (mtu < 68) return;
    const mss = Math.max(mtu - 40, 48);
    if (mss >= c.pmtuMss && mss >= Math.min(c.peerMss, c.advMss)) return;
    c.pmtuMss = mss;
    c.updateMss();
    if (c.sndMax !== c.sndUna && c.state !== TcpState.SYN_SENT) {
      c.sndNxt = c.sndUna;
      c.rttTiming = false;
      c.wantOutput = true;
      c.layer.markDirty(c);
    }
    return;
  }
  // Errno from the table UDP uses too. EMSGSIZE (code 4) is handled above, by the path MTU; Parameter Problem
  // (EPROTO) is not acted on, nor other types.
  if (type !== 3 && type !== 11) return;
  const e = icmpErrno(type, code)[0];
  if (e === 'EMSGSIZE' || e === 'EPROTO') return;
  const err: TcpErrorCode = e;
  if (c.state === TcpState.SYN_SENT || (c.state === TcpState.SYN_RECEIVED && (c.listener === null || c.fastOpenQueue !== null))) {
    // Linux tcp_v4_err: during the handshake an unreachable ends the attempt — a Fast Open child's too, which
    // then stays in the accept queue with its data and the error (tcp_done).
    c.pendingError = ERRNO[err];
    terminate(c, new TcpError(err, 'connect'));
    return;
  }
  c.softError = err;
}
