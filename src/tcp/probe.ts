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

export interface TcpProbe {
  /** Something listens: the connection-level hooks (state, retransmission, cookies) are called. */
  readonly active: boolean;
  /** Something follows segments: the per-segment hooks are called. */
  readonly segActive: boolean;
  /** A connection changed state. */
  stateChange(c: ProbedConnection, from: number, to: number): void;
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

