/**
 * The vocabulary every part of TCP shares: the eleven states (RFC 9293 §3.3.2) and their `ss` names, what the
 * socket above a connection is told, the parameters a passive open hands over, and `TCP_INFO`'s row.
 */
import type { TcpError } from './errors.js';

export const TcpState = {
  CLOSED: 0,
  LISTEN: 1,
  SYN_SENT: 2,
  SYN_RECEIVED: 3,
  ESTABLISHED: 4,
  FIN_WAIT_1: 5,
  FIN_WAIT_2: 6,
  CLOSE_WAIT: 7,
  CLOSING: 8,
  LAST_ACK: 9,
  TIME_WAIT: 10,
} as const;
export type TcpStateValue = (typeof TcpState)[keyof typeof TcpState];

/** State names as `ss` prints them. */
export const STATE_NAMES: readonly string[] = ['CLOSED', 'LISTEN', 'SYN-SENT', 'SYN-RECV', 'ESTAB', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT'];

/** What the socket above a connection is told (from the egress pass, never from inside input processing). */
export interface ConnectionUser {
  onConnected(): void;
  /** In-order data is waiting: call `read()`. */
  onData(): void;
  /** The peer's FIN arrived and every byte before it has been made readable. */
  onEof(): void;
  /** Send-buffer space was freed. */
  onWritable(): void;
  /** The connection is gone (reset, timed out, refused, or closed); `err` null for an orderly end. */
  onClosed(err: TcpError | null): void;
  /** The stack itself is closing. */
  onStackClosed(): void;
}

/** Negotiated parameters of a passive open (from the SYN queue or a SYN cookie). */
export interface PassiveOpen {
  iss: number;
  irs: number;
  /** Peer's MSS option, 0 when absent. */
  peerMss: number;
  /** Peer's window scale, -1 when absent (or not negotiated). */
  peerWscale: number;
  sackOk: boolean;
  tsOk: boolean;
  tsRecent: number;
  /** The peer's SYN window field (never scaled). */
  peerWindow: number;
  /** MSS we announced in the SYN-ACK. */
  advMss: number;
  /** When the first SYN-ACK went out, or -1 if it was retransmitted (Karn: no sample). */
  synAckSentAt: number;
  retransmitted: boolean;
  /** The SYN asked for ECN and we agreed (RFC 3168 §6.1.1; src/tcp/ecn.ts). */
  ecnOk?: boolean;
  /** The SYN asked for AccECN and we agreed: its IP ECN field (RFC 9768 §3.1; src/tcp/accecn.ts); absent or -1 = no AccECN. */
  accecnSynEct?: number;
}

/** `socket.tcpInfo()`: the TCB's variables (like Linux TCP_INFO). Windows and cwnd in bytes, times in ms. */
export interface TcpInfo {
  state: string;
  sndUna: number;
  sndNxt: number;
  sndMax: number;
  sndWnd: number;
  sndWscale: number;
  rcvNxt: number;
  rcvWnd: number;
  rcvWscale: number;
  iss: number;
  irs: number;
  mss: number;
  advMss: number;
  peerMss: number;
  cwnd: number;
  ssthresh: number;
  srtt: number;
  rttvar: number;
  rto: number;
  backoff: number;
  retransmits: number;
  totalRetrans: number;
  timestamps: boolean;
  sack: boolean;
  windowScaling: boolean;
  recvQ: number;
  sendQ: number;
  bytesAcked: number;
  /** Receive and send buffer sizes now (SO_RCVBUF / SO_SNDBUF; they grow with autotuning; `ss -m` rb / tb). */
  rcvBuf: number;
  sndBuf: number;
  bytesReceived: number;
  bytesSent: number;
  segsIn: number;
  segsOut: number;
  nodelay: boolean;
  keepalive: boolean;
  congestionControl: string;
  inRecovery: boolean;
  oooRanges: number;
}
