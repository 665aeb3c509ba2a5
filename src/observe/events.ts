/**
 * The observatory's event shapes: what the feed (src/observe/feed.ts) hands
 * to subscribers — the dashboard over SSE or WebSocket, `tunstack trace` and
 * `tunstack top` over the control socket. Plain objects of numbers and short
 * strings, serialized as one JSON object per event.
 *
 * Times `t` are the stack clock's milliseconds (an arbitrary origin; only
 * differences mean anything). Addresses in `seg` events are 32-bit numbers
 * (formatting is the client's job, off the packet path).
 */

/** Counters as `stats.toJSON()` gives them (Ip, Icmp, Udp, Tcp, TcpExt, drops, ...). */
import type { CwndCause } from '../tcp/probe.js';

export type CounterGroups = Record<string, unknown>;

/** One connection row, like a line of `ss -tani`, with the feed's connection id. */
export interface ConnRow {
  id: number;
  state: string;
  local: string;
  peer: string;
  recvQ: number;
  sendQ: number;
  /** Congestion window and slow-start threshold in bytes (ssthresh -1: still "infinite"). */
  cwnd: number;
  ssthresh: number;
  mss: number;
  /** Peer's advertised window (our send window) and the window we advertise, bytes. */
  rwnd: number;
  rcvWnd: number;
  /** Smoothed RTT, variance and RTO, ms. */
  srtt: number;
  rttvar: number;
  rto: number;
  flight: number;
  bytesAcked: number;
  bytesReceived: number;
  bytesSent: number;
  retrans: number;
  segsIn: number;
  segsOut: number;
  /** Sequence-space anchors for charts (relative sequence numbers are computed from iss / irs). */
  iss: number;
  irs: number;
  sndUna: number;
  sndMax: number;
  rcvNxt: number;
  cc: string;
}

/** A listener's queues against its backlog. */
export interface ListenerRow {
  local: string;
  port: number;
  synQ: number;
  acceptQ: number;
  backlog: number;
}

export type ObsEvent =
  /** First event of every subscription: the state of the stack right now. */
  | { type: 'hello'; t: number; sampleMs: number; conns: ConnRow[]; listeners: ListenerRow[]; stats: CounterGroups; filter: { conn: number | null; port: number | null } }
  /** Every sample tick: the counters (rates are computed by the client from consecutive ones). */
  | { type: 'counters'; t: number; stats: CounterGroups }
  /** Drop-reason deltas since the previous tick (only when something was dropped). */
  | { type: 'drops'; t: number; deltas: Record<string, number> }
  /** Every sample tick, per listener. */
  | ({ type: 'listener'; t: number } & ListenerRow)
  /** Every sample tick, per connection (the busiest ones, and always those a subscriber follows). */
  | ({ type: 'sample'; t: number } & ConnRow)
  /** A connection changed state (RFC 9293 names as `ss` prints them). */
  | { type: 'state'; t: number; conn: number; local: string; peer: string; from: string; to: string }
  /**
   * A connection's cwnd or ssthresh changed (bytes; ssthresh −1: still "infinite"), and why (tcp/probe.ts
   * CwndCause: rack, dupack, tlp, rto, ece, recovery-end, undo-dsack, undo-eifel, idle-restart).
   */
  | { type: 'cwnd'; t: number; conn: number; cause: CwndCause; cwnd: number; ssthresh: number; prevCwnd: number; prevSsthresh: number; mss: number }
  /** A segment was sent again (`sndUna`: the oldest unacknowledged sequence number; `total`: the connection's retransmissions so far). */
  | { type: 'retrans'; t: number; conn: number; sndUna: number; total: number }
  /** SYN cookies: sent (stateless SYN-ACK), ok (a returning ACK validated), failed (a forged or stale one). */
  | { type: 'cookie'; t: number; what: 'sent' | 'ok' | 'failed'; local: string; peer: string }
  /** IP reassembly finished a datagram, gave one up, or timed one out. */
  | { type: 'reasm'; t: number; what: 'ok' | 'fail' | 'timeout'; src: string; dst: string; id: number; protocol: number; bytes: number }
  /**
   * One TCP segment of a followed connection or port (`out`: sent by the stack).
   * `la:lp` the stack's end, `ra:rp` the peer's; `rtx`: a retransmission.
   */
  | { type: 'seg'; t: number; conn: number; out: boolean; la: number; lp: number; ra: number; rp: number; seq: number; ack: number; flags: number; len: number; win: number; rtx: boolean; note?: string }
  /** Events the per-tick budgets left out (a flood of state changes, cookies, segments), by type. */
  | { type: 'suppressed'; t: number; counts: Record<string, number> }
  /** Last event of a subscription the feed ends (too slow, replaced at the cap, the stack closing). */
  | { type: 'bye'; t: number; reason: string };

export type ObsEventType = ObsEvent['type'];
