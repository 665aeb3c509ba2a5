/**
 * Observation of TCP from above (gVisor's `AddTCPProbe` idea): TCP calls a probe it defines here, and an
 * observer (src/observe/feed.ts) implements it — so nothing in `tcp/` imports the layers above it.
 *
 * Cost: every call site first tests `active` (or `segActive` for per-segment hooks), a property load; a probe
 * with nobody listening is never called.
 */
import type { TcpHeader } from '../wire/tcp.js';
import type { TcpInfo } from './state.js';

/** What an observer may read of a connection (a TcpConnection has all of it). */
export interface ProbedConnection {
  readonly localAddr: number;
  readonly localPort: number;
  readonly remoteAddr: number;
  readonly remotePort: number;
  readonly state: number;
  readonly sndUna: number;
  readonly bytesAcked: number;
  readonly bytesReceived: number;
  readonly retransTotal: number;
  info(): TcpInfo;
}

/**
 * Why a connection's congestion window or slow-start threshold changed (tcp/cwnd-events.ts):
 *   rack — RACK deemed segments lost (RFC 8985), recovery began; dupack — three duplicate ACKs or DupThresh
 *   SACKed segments (RFC 5681 / RFC 6675); tlp — the tail loss probe's ACK revealed the loss (RFC 8985 §7);
 *   rto — a retransmission timeout (RFC 5681 §3.1); ece — the peer echoed congestion experienced (RFC 3168
 *   §6.1.2); recovery-end — recovery ended, cwnd set to ssthresh; undo-dsack / undo-eifel — the reduction was
 *   given back, D-SACKs (RFC 3708) or timestamps (RFC 3522) having proved it spurious; idle-restart — the window
 *   restarted from the initial window after an idle period (RFC 5681 §4.1).
 */
export const CWND_CAUSES = ['rack', 'dupack', 'tlp', 'rto', 'ece', 'recovery-end', 'undo-dsack', 'undo-eifel', 'idle-restart'] as const;
export type CwndCause = (typeof CWND_CAUSES)[number];

export interface TcpProbe {
  /** Something listens: the connection-level hooks (state, retransmission, cookies) are called. */
  readonly active: boolean;
  /** Something follows segments: the per-segment hooks are called. */
  readonly segActive: boolean;
  /** A connection changed state. */
  stateChange(c: ProbedConnection, from: number, to: number): void;
  /** A connection's cwnd or ssthresh changed (bytes; `prev*` before the change, the connection has the new ones). */
  cwndChange(c: ProbedConnection, cause: CwndCause, prevCwnd: number, prevSsthresh: number): void;
  /** A connection retransmitted a segment. */
  retransmitted(c: ProbedConnection): void;
  /** A valid segment arrived, for a connection or not (`len` payload bytes). */
  tcpIn(c: ProbedConnection | undefined, h: TcpHeader, src: number, dst: number, len: number): void;
  /** A segment of a connection leaves (`ack` is 0 without ACK). */
  tcpOut(c: ProbedConnection, seq: number, ack: number, flags: number, win: number, len: number): void;
  /** A segment that belongs to no connection object leaves (SYN-ACKs of the SYN queue, cookies, RSTs). */
  tcpOutRaw(la: number, lp: number, ra: number, rp: number, seq: number, ack: number, flags: number, win: number): void;
  /** A SYN cookie was sent, or a cookie in an ACK was accepted or rejected. */
  cookie(what: 'sent' | 'ok' | 'failed', la: number, lp: number, ra: number, rp: number): void;
}

