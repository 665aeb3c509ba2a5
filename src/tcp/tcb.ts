/**
 * The transmission control block of one connection (RFC 9293 §3.3.1): every variable of the connection on one
 * object, so that each connection keeps one hidden class (fields that hold sequence numbers or times start as
 * doubles, DOUBLE_ZERO). The behaviour lives in modules of plain functions named for their concern, each taking
 * the block as `c`:
 *
 *   rcv.ts         segment arrives (RFC 9293 §3.10.7), one function per step; data and FIN in
 *   ack-engine.ts  when to ACK (Linux's delayed-ACK engine, quick ACKs, D-SACK)
 *   rcv-window.ts  the window we offer (receiver SWS avoidance, never shrinking)
 *   autotune.ts    receive and send buffer autotuning
 *   recovery.ts    ACK processing, SACK/NewReno loss recovery, tail loss probes
 *   snd.ts         transmit (Nagle/Minshall, sender SWS, TSO) and window probes
 *   output.ts      building and emitting one segment (options, SYN, data, ACK, probe, retransmission)
 *   timers.ts      what each timer does when it fires (RTO, persist, delayed ACK, keepalive, 2·MSL)
 *   open.ts        active and passive open
 *   close.ts       close, shutdown, reset, abort, TIME-WAIT
 *   icmp-errors.ts ICMP errors for a connection (RFC 5927)
 *   segment-checks.ts PAWS and the out-of-window ACK limit (shared with TIME-WAIT records)
 *   connection.ts  TcpConnection: this block with the API the layer and the socket call
 *
 * The fields are public so that those modules can reach them; only the modules of `tcp/` touch them.
 */
import type { AccEcnState } from './accecn-state.js';
import { Timer, type TimerQueue } from '../clock.js';
import type { Stats } from '../stats.js';
import type { TcpFastOpenOption, TcpOptions } from '../wire/tcp.js';
import type { TcpConfig } from './config.js';
import type { FastOpenCookieCache } from './fastopen.js';
import { createCongestionController, type CongestionController } from './congestion.js';
import type { TcpError, TcpErrorCode } from './errors.js';
import type { TcpProbe } from './probe.js';
import { ReceiveBuffer } from './receive-buffer.js';
import type { RingPool } from './ring-pool.js';
import { RttEstimator } from './rtt.js';
import { PrrState } from './prr-state.js';
import { RackState } from './rack-state.js';
import { PacingState } from './pacing-state.js';
import { SackScoreboard } from './sack-scoreboard.js';
import type { RecordMarks } from './records.js';
import { SentLog } from './sent-log.js';
import { SendBuffer } from './send-buffer.js';
import { STATE_NAMES, TcpState, type ConnectionUser, type TcpInfo, type TcpStateValue } from './state.js';
import type { TimeWaitEntry } from './time-wait.js';
import { DOUBLE_ZERO } from '../shape.js';
import { isV6 } from './addresses.js';
import { seqSub } from './seq.js';
import { tsClock } from './ts-clock.js';

/** What a connection needs from its TCP layer (src/tcp/layer.ts implements it). */
export interface ConnectionHost {
  readonly stats: Stats;
  /** The IP ECN field of the segment being processed (RFC 3168 §5). */
  readonly rxIpEcn: number;
  /** Fast Open: the client's cookie cache (src/tcp/fastopen.ts). */
  readonly fastOpen: { readonly cache: FastOpenCookieCache };
  readonly timers: TimerQueue;
  readonly probe: TcpProbe;
  /** Free send/receive rings shared by the layer's connections. */
  readonly rings: RingPool;
  /** Connections in TIME-WAIT not yet retired to the TIME-WAIT table (kept by setState). */
  timeWaitConnections: number;
  now(): number;
  /** RFC 6528 ISN for a 4-tuple. */
  isn(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, now: number): number;
  /** Per-connection timestamp offset (a keyed hash of the 4-tuple). */
  tsOffset(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number;
  /** MSS we announce towards `remote`. */
  advertisedMss(remote: number): number;
  /** The path MSS already known towards `remote` (a learnt path MTU less the headers), 0xffff when none. */
  knownPathMss(remote: number): number;
  /** RFC 5961 §7: may another challenge ACK go out now? */
  allowChallengeAck(now: number): boolean;
  /** Payload bytes per super-segment at this MSS towards `remote` (1 without TSO, and over IPv6). */
  tsoSegments(smss: number, remote: number): number;
  /** Emits a segment of `c` with `len` bytes of its send buffer from `sbOffset`. */
  emit(c: Tcb, seq: number, ack: number, flags: number, window: number, opts: TcpOptions | undefined, sbOffset: number, len: number, gsoSize?: number, ipEcn?: number): void;
  sendRst(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, seq: number, ack: number, withAck: boolean): void;
  /** `c` has work for the egress pass. */
  markDirty(c: Tcb): void;
  /** Service `c` from the next kick rather than in this egress pass. */
  deferToKick(c: Tcb): void;
  /** Run the egress pass soon (a microtask). */
  kick(): void;
  /** A segment for a connection that is gone. */
  noSocket(): void;
  unhash(c: Tcb): void;
  /** `c` leaves the table; `e` takes its place in the TIME-WAIT table. */
  retireToTimeWait(c: Tcb, e: TimeWaitEntry, now: number): void;
}

/** The listener a passive open belongs to until the application accepts it (src/tcp/listener.ts). */
export interface ConnectionListener {
  /** The handshake completed: into the accept queue. */
  established(c: Tcb, now: number): void;
  /** The connection ended before it was accepted. */
  forget(c: Tcb): void;
  /** Is the connection in the accept queue? */
  holds(c: Tcb): boolean;
}

/** A listener's pending Fast Open children (Linux fastopenq.qlen, bounded by TCP_FASTOPEN's max_qlen). */
export interface FastOpenQueue {
  pending: number;
}

/** Client Fast Open state of one connection (Linux tp->fastopen_req and the syn_fastopen/syn_data bits). */
export interface ActiveFastOpen {
  /** The cookie (or request, len 0) our SYN carries; len -1 = no option (a retransmitted SYN, or no-cookie mode). */
  readonly option: TcpFastOpenOption;
  /** The SYN carried a Fast Open option (tp->syn_fastopen) in the experimental form (syn_fastopen_exp). */
  synFastOpen: boolean;
  synFastOpenExp: boolean;
  /** Bytes of the send buffer that rode in the SYN (tp->syn_data when > 0). */
  synData: number;
  /** The SYN's data was acknowledged by the SYN-ACK (tp->syn_data_acked; TCPI_OPT_SYN_DATA). */
  synDataAcked: boolean;
  /** connect() was deferred to the first write (TCP_FASTOPEN_CONNECT with a cookie): no SYN yet. */
  deferred: boolean;
}

/** Events for the socket above (`events` bits), delivered by the egress pass. */
export const EV_CONNECTED = 1;
export const EV_DATA = 2;
export const EV_EOF = 4;
export const EV_WRITABLE = 8;
export const EV_CLOSED = 16;

/** What the retransmission timer (`rtxTimer`) is armed for (`rtxMode`). */
export const RTX_NONE = 0;
export const RTX_RTO = 1;
export const RTX_PERSIST = 2;
/** The rtx timer is a tail loss probe timeout (RFC 8985 §7), which an RTO follows. */
export const RTX_TLP = 3;
/** The rtx timer is RACK's reordering timer (RFC 8985 §6.3; Linux ICSK_TIME_REO_TIMEOUT), which an RTO follows. */
export const RTX_REO = 4;

/** Loss recovery in progress (`recovery`): none, NewReno (RFC 6582), SACK (RFC 6675). */
export const REC_NONE = 0;
export const REC_NEWRENO = 1;
export const REC_SACK = 2;

/** Linux TCP_INFINITE_SSTHRESH. */
export const INFINITE_SSTHRESH = 0x7fffffff;

export abstract class Tcb {
  state: TcpStateValue = TcpState.CLOSED;
  user: ConnectionUser | null = null;
  /** Passive open waiting in (or for) the listener's accept queue. */
  listener: ConnectionListener | null = null;
  /**
   * A passive Fast Open child (RFC 7413 §4.2.2, Linux tcp_passive_fastopen): created by the SYN with its data,
   * in the accept queue before the handshake completes; counted in its listener's Fast Open queue until then.
   */
  fastOpenQueue: FastOpenQueue | null = null;
  /** The active Fast Open of this connection (src/tcp/fastopen-active.ts), null without one. */
  fastOpen: ActiveFastOpen | null = null;
  /** The application closed its socket: the connection finishes on its own. */
  orphaned = false;
  /** The application closed with received bytes it never read. */
  unreadAtClose = false;
  /** In the layer's dirty list. */
  dirty = false;
  /** In the demultiplexing table. */
  hashed = false;
  events = 0;
  /** Inside service()'s data/EOF calls into the socket above. */
  inUserCallback = false;
  /** The application wrote (or ended) during those calls: transmit from the next kick. */
  outputDeferred = false;
  wantOutput = false;
  closeError: TcpError | null = null;
  /** SO_ERROR: errno of the last hard error, cleared when read. */
  pendingError = 0;
  /** Soft error from ICMP (reported if the connection then times out). */
  softError: TcpErrorCode | null = null;

  // Send sequence space (RFC 9293 §3.3.1).
  iss = DOUBLE_ZERO;
  sndUna = DOUBLE_ZERO;
  /** Next sequence number to send (pulled back to SND.UNA after an RTO: go-back-N). */
  sndNxt = DOUBLE_ZERO;
  /** Highest sequence number sent + 1. */
  sndMax = DOUBLE_ZERO;
  sndWnd = 0;
  sndWl1 = DOUBLE_ZERO;
  sndWl2 = DOUBLE_ZERO;
  maxSndWnd = 0;
  /** Peer's shift (applied to windows we receive). */
  sndWscale = 0;
  /** Our shift (applied to windows we send). */
  rcvWscale = 0;
  wsOk = false;
  tsOk = false;
  sackOk = false;
  /** MSS we announce. */
  advMss: number;
  /** MSS the peer announced (536 when absent, RFC 9293 §3.7.1). */
  peerMss = 536;
  /** Path-MTU bound on the MSS (from ICMP fragmentation-needed). */
  pmtuMss = 0xffff;
  /** Payload bytes per full segment (options excluded). */
  smss = 536;

  // Receive sequence space.
  irs = DOUBLE_ZERO;
  rcvNxt = DOUBLE_ZERO;
  /** Right edge of the window we advertised (never moved left: RFC 9293 §3.8.6.2.2). */
  rcvAdvRight = DOUBLE_ZERO;
  /** Largest payload received (estimate of the peer's segment size, for delayed ACKs). */
  rcvMss = 536;
  finReceived = false;
  peerFinSeq = DOUBLE_ZERO;
  peerFinKnown = false;

  // Timestamps (RFC 7323).
  tsRecent = DOUBLE_ZERO;
  /** RCV.NXT carried by the last ACK we sent (Last.ACK.sent). */
  lastAckSent = DOUBLE_ZERO;
  tsRecentStamp = DOUBLE_ZERO;
  readonly tsOffset: number;

  // ACK state: Linux's delayed-ACK engine (inet_connection_sock icsk_ack, tcp_input.c).
  /** An ACK goes out in this egress pass (ICSK_ACK_NOW). */
  ackPending = false;
  /** Received data (or a FIN) not acknowledged yet (ICSK_ACK_SCHED). */
  ackScheduled = false;
  /** Data arrived in this batch: decide at egress, after the application saw it, whether to ACK now or delay. */
  ackCheck = false;
  /** Quick ACKs left (icsk_ack.quick). */
  quick = 0;
  /**
   * A segment shorter than the peer's segment size (or a full one with PSH) arrived since our last ACK: the end
   * of a write, so the sender may be waiting for this ACK (Nagle, a full window) — ICSK_ACK_PUSHED; a second
   * one — ICSK_ACK_PUSHED2. Cleared by the next ACK we send.
   */
  ackPushed = false;
  ackPushed2 = false;
  /** Payload size of the last short segment that looked like the peer's real segment size (icsk_ack.last_seg_size). */
  lastSegSize = 0;
  /** The delayed-ACK engine started with the first data (icsk_ack.ato != 0). */
  ackStarted = false;
  /** Interactive mode (inet_csk_in_pingpong_mode, TCP_PINGPONG_THRESH 1): no quick ACKs, ACKs ride on replies. */
  pingpong = false;
  /** When the last in-order data arrived (icsk_ack.lrcvtime). */
  lrcvtime = DOUBLE_ZERO;
  /** The window size we last advertised (tp->rcv_wnd). */
  rcvWnd = 0;
  /** D-SACK block to report once (RFC 2883; Linux tp->duplicate_sack), when dsackOn. */
  dsackOn = false;
  dsackStart = DOUBLE_ZERO;
  dsackEnd = DOUBLE_ZERO;
  /** When the last duplicate ACK for an out-of-window segment without data left (Linux last_oow_ack_time). */
  lastOowAck = DOUBLE_ZERO;
  /** End of the last sub-MSS segment sent (Linux tp->snd_sml, for the Minshall Nagle check). */
  sndSml = DOUBLE_ZERO;
  /** End of the last data segment sent with PSH (Linux tp->pushed_seq, for forced_push). */
  pushedSeq = DOUBLE_ZERO;
  /**
   * Bytes the socket above took out of the receive buffer that the application has not consumed yet (a
   * stream's buffer): still unread for the window, as in Linux where the window is the free space of the one
   * receive queue the application reads from.
   */
  appBuffered = 0;

  // Buffer autotuning (Linux tcp_moderate_rcvbuf / tcp_sndbuf_expand), when rmemMax / wmemMax allow it.
  /** Receiver's RTT estimate in ms from timestamps echoed on data (Linux rcv_rtt_est); 0: none yet. */
  rcvRtt = DOUBLE_ZERO;
  /** Smallest of those samples (the path's delay as the receiver sees it). */
  rcvRttMin = Infinity;
  rcvRttLastEcr = DOUBLE_ZERO;
  /** Bytes the application consumed in the last measured round trip (Linux rcvq_space.space); 0: not started. */
  rcvqSpace = 0;
  /** Bytes consumed since `rcvqTime` (Linux copied_seq - rcvq_space.seq). */
  rcvqCopied = DOUBLE_ZERO;
  rcvqTime = DOUBLE_ZERO;

  // Application side.
  sb: SendBuffer;
  rb: ReceiveBuffer;
  /** end() was called: a FIN follows the data. */
  finQueued = false;
  /** Sequence number of our FIN (valid when finQueued). */
  finSeq = DOUBLE_ZERO;
  nodelay = false;
  // Holding back partial segments and marking records (send-control.ts).
  /** TCP_CORK: the last partial segment waits for more data (Linux TCP_NAGLE_CORK in tp->nonagle). */
  cork = false;
  /** The write being pushed was MSG_MORE: this push holds the last partial segment (tcp_push with TCP_NAGLE_CORK). */
  corkOnce = false;
  /** TCP_NODELAY was just set, or TCP_CORK cleared with it on: one push ignores cork and Nagle (TCP_NAGLE_PUSH). */
  pushOnce = false;
  /** The last write was MSG_MORE: the end of the send stream is not marked for PSH (tcp_mark_push skipped). */
  morePending = false;
  /** The persist timer sends what it can (tcp_write_wakeup): no cork, no Nagle, PSH set. */
  wakeup = false;
  /** Record ends (MSG_EOR) not yet acknowledged; null until the first record. */
  records: RecordMarks | null = null;
  /** TCP_NOTSENT_LOWAT of this socket; 0: the stack's `notsentLowat` (tcp_notsent_lowat(tp)). */
  notSentLowat = 0;
  /** Where the last write-queue buffer begins (Linux's tail skb, write-queue.ts); -1: none. */
  writeTailSeq = -1;
  /** SO_SNDBUF was set on the connection: the send buffer keeps that size (no autotuning, SOCK_SNDBUF_LOCK). */
  sndBufLocked = false;

  // Congestion control and loss recovery.
  cwnd = 0;
  ssthresh = INFINITE_SSTHRESH;
  readonly cc: CongestionController;
  dupAcks = 0;
  recovery = REC_NONE;
  /**
   * Retransmissions of this SACK recovery not yet known to have arrived: (seq, len, SND.MAX when sent) triples
   * (Linux tcp_mark_lost_retrans, the idea RACK generalises in RFC 8985 §6.2): when the receiver SACKs data
   * sent after a retransmission while the retransmission itself is still missing, it was lost too.
   */
  readonly rtxInFlight: number[] = [];
  /** A tail loss probe is out and no ACK has covered it yet (Linux tlp_high_seq != 0). */
  tlpOut = false;
  /** SND.MAX when the last tail loss probe went out (Linux tlp_high_seq), while tlpOut. */
  tlpHighSeq = DOUBLE_ZERO;
  recover = DOUBLE_ZERO;
  rxtNext = DOUBLE_ZERO;
  readonly scoreboard = new SackScoreboard();
  /** Every outstanding segment's send time and marks (RFC 8985 §5.2), for RACK and undo. */
  readonly sent = new SentLog();
  /** RACK's and undo's connection variables (RFC 8985 §5.3). */
  readonly rack = new RackState();
  /** Proportional Rate Reduction counters for fast recovery (prr.ts). */
  readonly prr = new PrrState();
  /** Internal pacing: the next departure time and the pacing timer (pacing.ts). */
  readonly pacing = new PacingState();
  readonly rtt: RttEstimator;
  rttTiming = false;
  rttSeq = DOUBLE_ZERO;
  rttTime = DOUBLE_ZERO;
  /** When the first SYN of an active open left (Linux retrans_stamp in SYN-SENT). */
  synSentAt = DOUBLE_ZERO;

  // Timers.
  readonly rtxTimer: Timer;
  rtxMode = RTX_NONE;
  /** Consecutive retransmission timeouts (or unanswered persist probes). */
  retransmits = 0;
  synRetransmitted = false;
  /** Segments delivered while the peer echoed ECE (classic ECN; Linux tp->delivered_ce, tcpi_delivered_ce). */
  deliveredCe = 0;
  /** Accurate ECN state (src/tcp/accecn.ts), only on connections that ask for or agreed to AccECN. */
  accecn: AccEcnState | null = null;
  /** Classic ECN state, Linux's tp->ecn_flags (ECN_OK, ECN_QUEUE_CWR, ECN_DEMAND_CWR: src/tcp/ecn.ts). */
  ecnFlags = 0;
  /** SND.NXT when the last ECE reduction began: it lasts, and no second one starts, until SND.UNA passes it (Linux tp->high_seq in TCP_CA_CWR). */
  ecnCwrEnd = 0;
  /** Our SYN is not acknowledged yet (it occupies SND.UNA, the buffer starts one later). */
  synUnacked = true;
  readonly delackTimer: Timer;
  readonly keepTimer: Timer;
  readonly waitTimer: Timer;
  keepalive = false;
  keepIdleMs: number;
  keepIntervalMs: number;
  keepProbes: number;
  probesOut = 0;
  /** TCP_USER_TIMEOUT in ms (RFC 5482; 0: off, retries2 decides). Rules in user-timeout.ts. */
  userTimeoutMs = 0;
  /** When the head of the flight being retransmitted was first sent (Linux tp->retrans_stamp), while retransmits > 0. */
  rtxStamp = DOUBLE_ZERO;
  /** When the first unanswered zero-window probe timeout fired (Linux icsk_probes_tstamp), while probesOut > 0. */
  probesStamp = DOUBLE_ZERO;
  lastRecv = DOUBLE_ZERO;
  lastSend = DOUBLE_ZERO;

  // Statistics (ss -i).
  bytesAcked = DOUBLE_ZERO;
  bytesReceived = DOUBLE_ZERO;
  bytesSent = DOUBLE_ZERO;
  retransTotal = 0;
  segsIn = 0;
  segsOut = 0;
  /** The socket is an IPv6 one (AF_INET6): its addresses show as IPv6, an IPv4 peer as ::ffff:a.b.c.d. */
  v6Socket = false;

  /** Options emitted with each segment (mutated in place). */
  readonly opts: TcpOptions = {};
  readonly tsPair = { val: 0, ecr: 0 };
  readonly sackOut = new Uint32Array(8);
  readonly sackTmp = new Uint32Array(8);

  constructor(
    readonly layer: ConnectionHost,
    readonly localAddr: number,
    readonly localPort: number,
    readonly remoteAddr: number,
    readonly remotePort: number,
    readonly cfg: TcpConfig,
  ) {
    this.sb = new SendBuffer(cfg.wmem, undefined, layer.rings);
    this.rb = new ReceiveBuffer(cfg.rmem, cfg.maxOooRanges, undefined, layer.rings);
    this.cc = createCongestionController(cfg.congestionControl);
    this.rtt = new RttEstimator(cfg.initialRto, cfg.minRto, cfg.maxRto);
    this.keepIdleMs = cfg.keepaliveTimeMs;
    this.keepIntervalMs = cfg.keepaliveIntervalMs;
    this.keepProbes = cfg.keepaliveProbes;
    this.v6Socket = isV6(localAddr);
    this.advMss = layer.advertisedMss(remoteAddr);
    this.pmtuMss = layer.knownPathMss(remoteAddr);
    this.tsOffset = layer.tsOffset(localAddr, localPort, remoteAddr, remotePort);
    this.rtxTimer = new Timer((now) => this.rtxTimerFires(now));
    this.delackTimer = new Timer((now) => this.delackTimerFires(now));
    this.keepTimer = new Timer((now) => this.keepaliveTimerFires(now));
    this.waitTimer = new Timer((now) => this.waitTimerFires(now));
  }

  // The timers' and the egress pass's entry points (TcpConnection, src/tcp/connection.ts).
  protected abstract rtxTimerFires(now: number): void;
  protected abstract delackTimerFires(now: number): void;
  protected abstract keepaliveTimerFires(now: number): void;
  protected abstract waitTimerFires(now: number): void;
  /** The egress pass: tell the user what happened, then transmit what is owed. */
  abstract service(now: number): void;

  get stateName(): string {
    return STATE_NAMES[this.state]!;
  }

  /** Bytes sent and not yet acknowledged (SYN/FIN included). */
  get flight(): number {
    return (this.sndNxt - this.sndUna) | 0;
  }

  /** Bytes the application has written that are not acknowledged yet. */
  get sendQueue(): number {
    return this.sb.length;
  }

  tsNow(now: number): number {
    return tsClock(now, this.tsOffset);
  }

  updateMss(): void {
    const m = Math.min(this.peerMss, this.advMss, this.pmtuMss);
    this.smss = Math.max(64, m - (this.tsOk ? 12 : 0));
  }

  setState(s: TcpStateValue): void {
    const old = this.state;
    if (old === s) return;
    const st = this.layer.stats.Tcp;
    const wasEst = old === TcpState.ESTABLISHED || old === TcpState.CLOSE_WAIT;
    const isEst = s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT;
    if (wasEst && !isEst) st.CurrEstab--;
    if (!wasEst && isEst) st.CurrEstab++;
    this.state = s;
    // The layer's TIME-WAIT count is what maxTimeWait (tcp_max_tw_buckets) is checked against.
    if (old === TcpState.TIME_WAIT) this.layer.timeWaitConnections--;
    if (s === TcpState.TIME_WAIT) {
      this.layer.timeWaitConnections++;
      this.layer.stats.TcpExt.TW++;
    }
    if (this.layer.probe.active) this.layer.probe.stateChange(this, old, s);
  }

  /** Whether writes are still possible (no FIN queued, not closed). */
  get writable(): boolean {
    return !this.finQueued && this.state !== TcpState.CLOSED && this.state !== TcpState.TIME_WAIT;
  }

  /** Bytes the application has not read: the receive buffer's in-order data and what the socket above holds. */
  get unread(): number {
    return this.rb.length + this.appBuffered;
  }

  /** Bytes readable now. */
  get readable(): number {
    return this.rb.length;
  }

  requestOutput(): void {
    this.wantOutput = true;
    if (this.inUserCallback) {
      // Written while the egress pass tells the application what arrived (a server answering in its data
      // callback): sent from the kick after Node's tick queue instead, so that an end() that follows the write
      // (node:http's Connection: close) leaves in the same segment as the data — as Linux's FIN rides on the
      // last unsent segment (tcp_send_fin). The peer then closes second and keeps no TIME-WAIT of its own.
      this.outputDeferred = true;
      return;
    }
    this.layer.markDirty(this);
    this.layer.kick();
  }

  /** Out of the listener's Fast Open queue: the handshake completed or the child ended (Linux reqsk_fastopen_remove). */
  leaveFastOpenQueue(): void {
    const q = this.fastOpenQueue;
    if (q === null) return;
    this.fastOpenQueue = null;
    if (q.pending > 0) q.pending--;
  }

  post(ev: number): void {
    this.events |= ev;
    this.layer.markDirty(this);
  }

  armTimeWait(now: number): void {
    this.layer.timers.arm(this.waitTimer, now + this.cfg.timeWaitMs);
  }

  armFinTimeout(now: number): void {
    this.layer.timers.arm(this.waitTimer, now + this.cfg.finTimeoutMs);
  }

  /** Largest window we can offer (Linux window_clamp): the receive buffer, within what the window field can say. */
  get windowClamp(): number {
    return Math.min(this.rb.capacity, 0xffff << this.rcvWscale);
  }

  armRtx(mode: number, deadline: number): void {
    this.rtxMode = mode;
    this.layer.timers.arm(this.rtxTimer, deadline);
  }

  armKeepalive(now: number): void {
    if (!this.keepalive) return;
    this.layer.timers.arm(this.keepTimer, Math.max(now, this.lastRecv) + this.keepIdleMs);
  }

  /** A row for the socket table. */
  info(): TcpInfo {
    return {
      state: this.stateName,
      sndUna: this.sndUna,
      sndNxt: this.sndNxt,
      sndMax: this.sndMax,
      sndWnd: this.sndWnd,
      sndWscale: this.sndWscale,
      rcvNxt: this.rcvNxt,
      rcvWnd: Math.max(0, seqSub(this.rcvAdvRight, this.rcvNxt)),
      rcvWscale: this.rcvWscale,
      iss: this.iss,
      irs: this.irs,
      mss: this.smss,
      advMss: this.advMss,
      peerMss: this.peerMss,
      cwnd: this.cwnd,
      ssthresh: this.ssthresh,
      srtt: this.rtt.srtt,
      rttvar: this.rtt.rttvar,
      rto: this.rtt.rto,
      backoff: this.rtt.backoff,
      retransmits: this.retransmits,
      totalRetrans: this.retransTotal,
      timestamps: this.tsOk,
      sack: this.sackOk,
      windowScaling: this.wsOk,
      recvQ: this.rb.length,
      sendQ: this.sb.length,
      rcvBuf: this.rb.capacity,
      sndBuf: this.sb.capacity,
      bytesAcked: this.bytesAcked,
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      segsIn: this.segsIn,
      segsOut: this.segsOut,
      nodelay: this.nodelay,
      keepalive: this.keepalive,
      congestionControl: this.cc.name,
      inRecovery: this.recovery !== REC_NONE,
      oooRanges: this.rb.rangeCount,
    };
  }
}
