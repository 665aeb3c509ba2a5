/**
 * TCP_INFO as Linux reports it (struct tcp_info, net/ipv4/tcp.c tcp_get_info): the fields of a connection
 * under Linux's names and units — times in µs (rto, ato, rtt, rttvar, rcv_rtt) or ms since the event
 * (last_*), cwnd and ssthresh in segments. Only fields the stack really keeps are here; a field that is not
 * is absent (undefined), never made up.
 */
import { ecnInCwr } from './ecn.js';
import { TcpState } from './state.js';
import { INFINITE_SSTHRESH, REC_NONE, type Tcb } from './tcb.js';
import { seqGt } from './seq.js';

/** Linux include/net/tcp_states.h: TCP_ESTABLISHED = 1 ... TCP_CLOSING = 11. */
const LINUX_STATE: Readonly<Record<number, number>> = {
  [TcpState.ESTABLISHED]: 1,
  [TcpState.SYN_SENT]: 2,
  [TcpState.SYN_RECEIVED]: 3,
  [TcpState.FIN_WAIT_1]: 4,
  [TcpState.FIN_WAIT_2]: 5,
  [TcpState.TIME_WAIT]: 6,
  [TcpState.CLOSED]: 7,
  [TcpState.CLOSE_WAIT]: 8,
  [TcpState.LAST_ACK]: 9,
  [TcpState.LISTEN]: 10,
  [TcpState.CLOSING]: 11,
};

/** tcpi_options bits (uapi/linux/tcp.h). */
export const TCPI_OPT_TIMESTAMPS = 1;
export const TCPI_OPT_SACK = 2;
export const TCPI_OPT_WSCALE = 4;

/** tcpi_ca_state (enum tcp_ca_state): Open, Disorder, CWR, Recovery, Loss. */
export const TCP_CA_OPEN = 0;
export const TCP_CA_DISORDER = 1;
export const TCP_CA_CWR = 2;
export const TCP_CA_RECOVERY = 3;
export const TCP_CA_LOSS = 4;

/** struct tcp_info's fields the stack keeps, under Linux's names. */
export interface LinuxTcpInfo {
  tcpi_state: number;
  tcpi_ca_state: number;
  tcpi_retransmits: number;
  tcpi_probes: number;
  tcpi_backoff: number;
  tcpi_options: number;
  tcpi_snd_wscale: number;
  tcpi_rcv_wscale: number;
  tcpi_rto: number;
  tcpi_snd_mss: number;
  tcpi_rcv_mss: number;
  tcpi_last_data_sent: number;
  tcpi_last_data_recv: number;
  tcpi_last_ack_recv: number;
  tcpi_rtt: number;
  tcpi_rttvar: number;
  tcpi_snd_ssthresh: number;
  tcpi_snd_cwnd: number;
  tcpi_advmss: number;
  tcpi_total_retrans: number;
  tcpi_rcv_space: number;
  tcpi_bytes_acked: number;
  tcpi_bytes_received: number;
  tcpi_bytes_sent: number;
  tcpi_segs_out: number;
  tcpi_segs_in: number;
  tcpi_notsent_bytes: number;
  tcpi_min_rtt: number;
  /** Segments the peer reported CE-marked: ECE-echoed deliveries (RFC 3168) or the ACE field's count (AccECN). */
  tcpi_delivered_ce: number;
  /** AccECN (Linux 6.18 tcp_info): CE-marked segments received (r.cep − 5). */
  tcpi_received_ce: number;
  /** AccECN: payload bytes per ECN field the peer reported (its option) and we received. */
  tcpi_delivered_e1_bytes: number;
  tcpi_delivered_e0_bytes: number;
  tcpi_delivered_ce_bytes: number;
  tcpi_received_e1_bytes: number;
  tcpi_received_e0_bytes: number;
  tcpi_received_ce_bytes: number;
  /** AccECN: the peer's options so far (0 none, 1 empty, 2 counters, 3 zeroed) and the failure bits (ACE/option, send/receive). */
  tcpi_accecn_opt_seen: number;
  tcpi_accecn_fail_mode: number;
}

/** Data bytes sent and not yet acknowledged (the SYN and FIN take sequence space, not buffer). */
function dataInFlight(c: Tcb): number {
  let n = (c.sndMax - c.sndUna) | 0;
  if (c.synUnacked && n > 0) n--;
  if (c.finQueued && seqGt(c.sndMax, c.finSeq)) n--;
  return Math.max(0, n);
}

/** Linux tcp_get_info for connection `c` at `now` (ms). */
export function linuxTcpInfo(c: Tcb, now: number): LinuxTcpInfo {
  const mss = Math.max(1, c.smss);
  const a = c.accecn;
  const caState = c.recovery !== REC_NONE ? TCP_CA_RECOVERY : c.retransmits > 0 ? TCP_CA_LOSS : ecnInCwr(c) ? TCP_CA_CWR : c.dupAcks > 0 ? TCP_CA_DISORDER : TCP_CA_OPEN;
  return {
    tcpi_state: LINUX_STATE[c.state] ?? 7,
    tcpi_ca_state: caState,
    tcpi_retransmits: c.retransmits,
    tcpi_probes: c.probesOut,
    tcpi_backoff: c.rtt.backoff,
    tcpi_options: (c.tsOk ? TCPI_OPT_TIMESTAMPS : 0) | (c.sackOk ? TCPI_OPT_SACK : 0) | (c.wsOk ? TCPI_OPT_WSCALE : 0),
    tcpi_snd_wscale: c.wsOk ? c.sndWscale : 0,
    tcpi_rcv_wscale: c.wsOk ? c.rcvWscale : 0,
    tcpi_rto: Math.round(c.rtt.rto * 1000),
    tcpi_snd_mss: c.smss,
    tcpi_rcv_mss: c.rcvMss,
    tcpi_last_data_sent: Math.max(0, Math.floor(now - c.lastSend)),
    tcpi_last_data_recv: Math.max(0, Math.floor(now - c.lrcvtime)),
    tcpi_last_ack_recv: Math.max(0, Math.floor(now - c.lastRecv)),
    tcpi_rtt: Math.round(c.rtt.srtt * 1000),
    tcpi_rttvar: Math.round(c.rtt.rttvar * 1000),
    // Linux reports the "infinite" initial ssthresh as TCP_INFINITE_SSTHRESH itself.
    tcpi_snd_ssthresh: c.ssthresh >= INFINITE_SSTHRESH ? INFINITE_SSTHRESH : Math.floor(c.ssthresh / mss),
    tcpi_snd_cwnd: Math.floor(c.cwnd / mss),
    tcpi_advmss: c.advMss,
    tcpi_total_retrans: c.retransTotal,
    tcpi_rcv_space: c.rcvqSpace,
    tcpi_bytes_acked: c.bytesAcked,
    tcpi_bytes_received: c.bytesReceived,
    tcpi_bytes_sent: c.bytesSent,
    tcpi_segs_out: c.segsOut,
    tcpi_segs_in: c.segsIn,
    tcpi_notsent_bytes: Math.max(0, c.sb.length - dataInFlight(c)),
    tcpi_min_rtt: Number.isFinite(c.rtt.minRtt) ? Math.round(c.rtt.minRtt * 1000) : 0,
    tcpi_delivered_ce: a !== null ? a.deliveredCe : c.deliveredCe,
    tcpi_received_ce: a !== null ? a.receivedCe : 0,
    tcpi_delivered_e1_bytes: a !== null ? a.deliveredBytes[0]! : 0,
    tcpi_delivered_e0_bytes: a !== null ? a.deliveredBytes[1]! : 0,
    tcpi_delivered_ce_bytes: a !== null ? a.deliveredBytes[2]! : 0,
    tcpi_received_e1_bytes: a !== null ? a.receivedBytes[0]! : 0,
    tcpi_received_e0_bytes: a !== null ? a.receivedBytes[1]! : 0,
    tcpi_received_ce_bytes: a !== null ? a.receivedBytes[2]! : 0,
    tcpi_accecn_opt_seen: a !== null ? a.sawOpt : 0,
    tcpi_accecn_fail_mode: a !== null ? a.failMode : 0,
  };
}
