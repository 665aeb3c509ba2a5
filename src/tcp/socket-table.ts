/** The socket table (`tunstack ss`, `stack.tcp.socketTable()`): one row per listener, connection and TIME-WAIT pair. */
import { ipToString } from '../wire/bytes.js';
import { ANY6, ipHeaderBytes, isV6, type TcpAddresses } from './addresses.js';
import type { TcpConnection } from './connection.js';
import type { TcpListener } from './listener.js';
import { recoveryInfo, type RecoveryInfo } from './recovery-info.js';
import type { TimeWaitEntry } from './time-wait.js';
import { seqSub } from './seq.js';

/** One row of `socketTable()`, like a line of `ss -tani`. */
export interface TcpSocketRow {
  /** Linux state name: ESTAB, SYN-SENT, SYN-RECV, FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSE-WAIT, LAST-ACK, CLOSING, LISTEN. */
  state: string;
  /** Bytes received not yet read (LISTEN: connections waiting in the accept queue). */
  recvQ: number;
  /** Bytes written not yet acknowledged (LISTEN: the backlog). */
  sendQ: number;
  /** `address:port` */
  local: string;
  peer: string;
  /** Congestion window in segments. */
  cwnd: number;
  /** Slow-start threshold in segments (0 while still "infinite"). */
  ssthresh: number;
  /** Smoothed RTT and variance in ms. */
  srtt: number;
  rttvar: number;
  /** Current RTO in ms. */
  rto: number;
  /** Send MSS. */
  mss: number;
  /** `snd,rcv` shifts, or '' without window scaling. */
  wscale: string;
  bytesAcked: number;
  bytesReceived: number;
  /** Retransmitted segments over the connection's life. */
  retrans: number;
  /** Receive / send buffer sizes (`ss -m` rb / tb); 0 for listeners and TIME-WAIT. */
  rcvBuf: number;
  sndBuf: number;
  /** Connections only: the rest of what `ss -ti` prints (Linux tcp_get_info). */
  internals?: TcpRowInternals;
}

/**
 * The `ss -i` fields beyond the row's own, for a connection (times in ms, windows in bytes), with the ECN, lost,
 * D-SACKed and reordering figures of recovery-info.ts.
 */
export interface TcpRowInternals extends RecoveryInfo {
  congestionControl: string;
  timestamps: boolean;
  sack: boolean;
  /** RTO back-offs in a row (icsk_backoff). */
  backoff: number;
  advMss: number;
  /** The peer's segment size as measured (icsk_ack.rcv_mss). */
  rcvMss: number;
  /** Path MTU: the route's MTU, lowered by ICMP fragmentation-needed (icsk_pmtu_cookie). */
  pmtu: number;
  bytesSent: number;
  segsOut: number;
  segsIn: number;
  /** Since the last segment sent / in-order data received / segment received (ms; tcpi_last_*). */
  lastSnd: number;
  lastRcv: number;
  lastAck: number;
  /** Smallest RTT sample (ms; 0: none). */
  minRtt: number;
  /** The receiver's RTT estimate (ms; 0: none) and the autotuning's rcv_space (bytes). */
  rcvRtt: number;
  rcvSpace: number;
  /** The peer's window (scaled) and ours as last advertised. */
  sndWnd: number;
  rcvWnd: number;
  /** Retransmissions of the current episode (tcpi_retransmits); the row's `retrans` is the total. */
  retransNow: number;
  /** Bytes written but not yet sent (tcpi_notsent_bytes). */
  notSent: number;
}

/** A socket-table row for a listener or a TIME-WAIT pair: no congestion or transfer figures. */
/** `addr:port`, an IPv6 socket's address in brackets (iproute2 ss). */
function endpoint(text: string, port: number, v6Socket: boolean): string {
  return v6Socket ? `[${text}]:${port}` : `${text}:${port}`;
}

const IPV4_ONLY = { format: (a: number): string => ipToString(a) };

function socketRowWithoutTransfer(state: string, recvQ: number, sendQ: number, local: string, peer: string): TcpSocketRow {
  return { state, recvQ, sendQ, local, peer, cwnd: 0, ssthresh: 0, srtt: 0, rttvar: 0, rto: 0, mss: 0, wscale: '', bytesAcked: 0, bytesReceived: 0, retrans: 0, rcvBuf: 0, sndBuf: 0 };
}

/** Every listener, connection and TIME-WAIT pair as rows, like `ss -tani`. */
export function socketTable(
  listeners: readonly TcpListener[],
  connections: readonly TcpConnection[],
  timeWait: Iterable<TimeWaitEntry>,
  now: number,
  routeMtu: (remote: number) => number,
  addrs: Pick<TcpAddresses, 'format'> = IPV4_ONLY,
): TcpSocketRow[] {
  const rows: TcpSocketRow[] = [];
  const ep = (a: number, port: number, v6Socket: boolean): string => endpoint(addrs.format(a, v6Socket), port, v6Socket);
  for (const l of listeners) {
    // iproute2 ss: a dual-stack `::` listener shows as `*`, a v6-only one as `[::]`.
    const [local, peer] =
      l.localAddr === ANY6 && !l.v6only ? [`*:${l.localPort}`, '*:*'] : l.localAddr === ANY6 ? [`[::]:${l.localPort}`, '[::]:*'] : [ep(l.localAddr, l.localPort, isV6(l.localAddr)), '0.0.0.0:*'];
    rows.push(socketRowWithoutTransfer('LISTEN', l.acceptQueueLength, l.backlog, local, isV6(l.localAddr) && l.localAddr !== ANY6 ? '[::]:*' : peer));
  }
  for (const c of connections) {
    const i = c.info();
    rows.push({
      state: i.state,
      recvQ: i.recvQ,
      sendQ: i.sendQ,
      local: ep(c.localAddr, c.localPort, c.v6Socket),
      peer: ep(c.remoteAddr, c.remotePort, c.v6Socket),
      cwnd: Math.round(i.cwnd / Math.max(1, i.mss)),
      ssthresh: i.ssthresh >= 0x7fffffff ? 0 : Math.round(i.ssthresh / Math.max(1, i.mss)),
      srtt: Math.round(i.srtt * 1000) / 1000,
      rttvar: Math.round(i.rttvar * 1000) / 1000,
      rto: Math.round(i.rto),
      mss: i.mss,
      wscale: i.windowScaling ? `${i.sndWscale},${i.rcvWscale}` : '',
      bytesAcked: i.bytesAcked,
      bytesReceived: i.bytesReceived,
      retrans: i.totalRetrans,
      rcvBuf: i.rcvBuf,
      sndBuf: i.sndBuf,
      internals: internalsOf(c, i, now, routeMtu(c.remoteAddr), ipHeaderBytes(c.remoteAddr) + 20),
    });
  }
  for (const e of timeWait) {
    rows.push(socketRowWithoutTransfer('TIME-WAIT', 0, 0, ep(e.localAddr, e.localPort, isV6(e.localAddr)), ep(e.remoteAddr, e.remotePort, isV6(e.remoteAddr))));
  }
  return rows;
}

const ms3 = (v: number): number => Math.round(v * 1000) / 1000;
const since = (now: number, t: number): number => (t > 0 ? Math.max(0, Math.round(now - t)) : 0);

/** The `ss -ti` extras of one connection (Linux tcp_get_info's fields that this stack keeps). */
function internalsOf(c: TcpConnection, i: ReturnType<TcpConnection['info']>, now: number, mtu: number, headers: number): TcpRowInternals {
  const inFlight = Math.max(0, seqSub(i.sndNxt, i.sndUna));
  return {
    congestionControl: i.congestionControl,
    timestamps: i.timestamps,
    sack: i.sack,
    backoff: i.backoff,
    advMss: i.advMss,
    rcvMss: c.rcvMss,
    pmtu: Math.min(mtu, c.pmtuMss + headers),
    bytesSent: i.bytesSent,
    segsOut: i.segsOut,
    segsIn: i.segsIn,
    lastSnd: since(now, c.lastSend),
    lastRcv: since(now, c.lrcvtime),
    lastAck: since(now, c.lastRecv),
    minRtt: Number.isFinite(c.rtt.minRtt) ? ms3(c.rtt.minRtt) : 0,
    rcvRtt: ms3(c.rcvRtt),
    rcvSpace: c.rcvqSpace,
    sndWnd: i.sndWnd,
    rcvWnd: i.rcvWnd,
    retransNow: i.retransmits,
    notSent: Math.max(0, i.sendQ - inFlight),
    ...recoveryInfo(c),
  };
}
