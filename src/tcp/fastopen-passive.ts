/**
 * The server side of TCP Fast Open (RFC 7413 §4.2.2), as Linux's tcp_try_fastopen decides it for a SYN that
 * reached a listener: a cookie request earns a cookie in the SYN-ACK; a valid cookie (or none needed) makes a
 * full child at once — the SYN's data queued for the application, the child in the accept queue before the
 * handshake completes; an invalid cookie leaves the data unacknowledged and the SYN-ACK carries a valid cookie.
 * Pending children are bounded by the listener's Fast Open queue (TCP_FASTOPEN's qlen; RFC 7413 §5.1).
 */
import type { TcpFastOpenOption, TcpHeader } from '../wire/tcp.js';
import { TFO_SERVER_COOKIE_NOT_REQD, TFO_SERVER_ENABLE, TFO_SERVER_WO_SOCKOPT1, FASTOPEN_COOKIE_SIZE, type FastOpenKeys } from './fastopen.js';
import type { TcpConnection } from './connection.js';
import { sendSyn } from './output.js';
import type { PassiveOpen } from './state.js';
import { EV_DATA, RTX_RTO, type FastOpenQueue } from './tcb.js';
import type { TcpConfig } from './config.js';
import type { Stats } from '../stats.js';
import { seqAdd } from './seq.js';

/** What tcp_try_fastopen needs of a listener. */
export interface FastOpenListener {
  readonly backlog: number;
  /** TCP_FASTOPEN's queue length (0 = Fast Open off on this listener unless tcp_fastopen has 0x400). */
  fastOpenMax: number;
  /** TCP_FASTOPEN_NO_COOKIE on the listener. */
  fastOpenNoCookie: boolean;
  /** TCP_FASTOPEN_KEY on the listener, else the stack's key. */
  fastOpenKeys: FastOpenKeys | null;
  readonly fastOpenQueue: FastOpenQueue;
}

/** Linux tcp_fastopen_queue_check's bound: the socket option's qlen, or with 0x400 the listen backlog. */
export function fastOpenQueueMax(l: FastOpenListener, cfg: TcpConfig): number {
  if (l.fastOpenMax > 0) return l.fastOpenMax;
  const bits = cfg.fastOpen;
  return bits & TFO_SERVER_WO_SOCKOPT1 && bits & TFO_SERVER_ENABLE ? Math.max(1, l.backlog) : 0;
}

/** The verdict on one SYN: `child` (a Fast Open child was made), or the cookie option for the SYN-ACK, or null (an ordinary SYN). */
export type FastOpenVerdict = 'child' | TcpFastOpenOption | null;

/**
 * Linux tcp_try_fastopen. `cookieOut` is the listener's reusable option (its bytes are written here);
 * `makeChild` builds the child for a SYN whose data is to be accepted (false when it could not).
 */
export function tryFastOpen(l: FastOpenListener, cfg: TcpConfig, stats: Stats, keys: FastOpenKeys, h: TcpHeader, local: number, remote: number, cookieOut: TcpFastOpenOption, makeChild: () => boolean): FastOpenVerdict {
  const x = stats.TcpExt;
  const synData = h.payloadLength > 0;
  if (h.foLen === 0) x.TCPFastOpenCookieReqd++;
  if (!(cfg.fastOpen & TFO_SERVER_ENABLE) || !(synData || h.foLen >= 0)) return null;
  const max = fastOpenQueueMax(l, cfg);
  if (max === 0) return null;
  if (l.fastOpenQueue.pending >= max) {
    // RFC 7413 §5.1: at the bound, SYN data is not accepted (the 3WHS goes on as usual).
    x.TCPFastOpenListenOverflow++;
    stats.drop('tcp.fastopen-queue-full');
    return null;
  }
  let altKey = false;
  if (!(cfg.fastOpen & TFO_SERVER_COOKIE_NOT_REQD) && !l.fastOpenNoCookie) {
    if (h.foLen <= 0) {
      // A cookie request (len 0) is answered with a cookie; an absent or malformed cookie with nothing.
      return h.foLen === 0 ? validCookie(keys, remote, local, h.foExp, cookieOut) : null;
    }
    const ok = keys.check(remote, local, h.foCookie, h.foLen);
    if (ok === 0) {
      x.TCPFastOpenPassiveFail++;
      stats.drop('tcp.fastopen-bad-cookie');
      return validCookie(keys, remote, local, h.foExp, cookieOut);
    }
    altKey = ok === 2;
  }
  if (!makeChild()) {
    x.TCPFastOpenPassiveFail++;
    return validCookie(keys, remote, local, h.foExp, cookieOut);
  }
  if (altKey) x.TCPFastOpenPassiveAltKey++;
  x.TCPFastOpenPassive++;
  return 'child';
}

function validCookie(keys: FastOpenKeys, remote: number, local: number, exp: boolean, out: TcpFastOpenOption): TcpFastOpenOption {
  keys.make(remote, local, out.cookie);
  out.len = FASTOPEN_COOKIE_SIZE;
  out.exp = exp;
  return out;
}

/**
 * Linux tcp_fastopen_create_child + tcp_fastopen_add_skb: a connection in SYN-RECEIVED whose RCV.NXT is past
 * the SYN's data, the data in its receive buffer, its SYN-ACK sent (acknowledging the data) and retransmitted
 * by its own timer.
 */
export function openFastOpenChild(c: TcpConnection, p: PassiveOpen, h: TcpHeader, pkt: Uint8Array, payloadStart: number, queue: FastOpenQueue, now: number): void {
  c.openPassive(p, now);
  c.fastOpenQueue = queue;
  queue.pending++;
  const len = h.payloadLength;
  // The SYN-ACK acknowledges the data; its window is the one the request had, before the data took room
  // (Linux req->rsk_rcv_wnd), so reading the data later owes the peer no window update.
  c.rcvNxt = seqAdd(p.irs, 1 + len);
  sendSyn(c, true, now);
  c.lastAckSent = c.rcvNxt;
  if (len > 0) {
    c.rb.insert(seqAdd(p.irs, 1), pkt, payloadStart, len);
    c.bytesReceived += len;
    c.post(EV_DATA);
  }
  c.armRtx(RTX_RTO, now + c.rtt.rto);
}
