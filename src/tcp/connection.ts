/**
 * One TCP connection: the transmission control block and the RFC 9293
 * state machine (all eleven states), with the segment-arrives checks in the
 * RFC's order (§3.10.7), RFC 7323 (window scale, timestamps, PAWS), RFC 2018
 * SACK, RFC 5961 (challenge ACKs, ACK range check), RFC 6298 (RTO), RFC
 * 5681/6582 (fast retransmit, NewReno), RFC 6675 (SACK loss recovery),
 * delayed ACKs (RFC 1122 §4.2.3.2), Nagle (RFC 896), persist and keepalive.
 *
 * Input never sends directly: it records what is owed (an ACK now, a delayed
 * ACK, room to send) and marks the connection dirty; the layer's egress pass
 * (once per input batch, or per timer run, or on a microtask after an
 * application call) delivers events to the socket and then transmits — so
 * the ACKs for a batch of segments are coalesced into one.
 */
import { Timer } from '../clock.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, type TcpHeader, type TcpOptions } from '../wire/tcp.js';
import type { TcpConfig } from './config.js';
import { receiveBufferCeiling, windowScaleFor } from './config.js';
import { createCongestionController, type CongestionController } from './congestion.js';
import { TcpError, ERRNO, type TcpErrorCode } from './errors.js';
import { ReceiveBuffer } from './receive-buffer.js';
import { RttEstimator, probeTimeout } from './rtt.js';
import { SackScoreboard } from './sack-scoreboard.js';
import { SendBuffer } from './send-buffer.js';
import { TimeWaitEntry } from './time-wait.js';
import { seqGe, seqGt, seqLe, seqLt } from './seq.js';
import { DOUBLE_ZERO } from '../shape.js';
import type { TcpLayer } from './layer.js';
import type { TcpListener } from './listener.js';

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
}

const EV_CONNECTED = 1;
const EV_DATA = 2;
const EV_EOF = 4;
const EV_WRITABLE = 8;
const EV_CLOSED = 16;

const RTX_NONE = 0;
const RTX_RTO = 1;
const RTX_PERSIST = 2;
/** The rtx timer is a tail loss probe timeout (RFC 8985 §7), which an RTO follows. */
const RTX_TLP = 3;

const REC_NONE = 0;
const REC_NEWRENO = 1;
const REC_SACK = 2;

/** Linux TCP_INFINITE_SSTHRESH. */
const INFINITE_SSTHRESH = 0x7fffffff;
/** RFC 7323 §5.5: a TS.Recent older than 24 days is no longer trusted for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;
/** Linux sysctl_tcp_invalid_ratelimit: duplicate ACKs for out-of-window segments without data, at most one per this. */
const OOW_ACK_INTERVAL_MS = 500;
/** Largest chunk handed to the application in one push. */
const READ_CHUNK = 256 * 1024;
/**
 * Buffers grow only on paths whose smallest round trip (the path's own delay, not the queueing and processing
 * a busy moment adds to the smoothed RTT) is at least this. Below it the starting buffers (1 MiB) already hold
 * more than a round trip at any rate the stack reaches (1 MiB per 0.25 ms is 4 GB/s), and growing them only
 * made the rings outgrow the CPU caches: over a local TUN, send-buffer growth to 4 MiB took a 200 MB download
 * from 3.5 to 1.5 GB/s and peak RSS from 139 to 186 MiB (peers harness, measured). Gating on the smoothed RTT
 * was not enough: on a saturated core it passes 4 ms now and then.
 */
const AUTOTUNE_MIN_RTT_MS = 4;
/** RFC 9293 §3.8.6.2.1: the sender's SWS override timeout is the persist timer. */

export class TcpConnection {
  state: TcpStateValue = TcpState.CLOSED;
  user: ConnectionUser | null = null;
  /** Passive open waiting in (or for) the listener's accept queue. */
  listener: TcpListener | null = null;
  /** The application closed its socket: the connection finishes on its own. */
  orphaned = false;
  /** The application closed with received bytes it never read. */
  private unreadAtClose = false;
  /** In the layer's dirty list. */
  dirty = false;
  /** In the demultiplexing table. */
  hashed = false;
  private events = 0;
  /** Inside service()'s data/EOF calls into the socket above. */
  private inUserCallback = false;
  /** The application wrote (or ended) during those calls: transmit from the next kick. */
  private outputDeferred = false;
  private wantOutput = false;
  private closeError: TcpError | null = null;
  /** SO_ERROR: errno of the last hard error, cleared when read. */
  pendingError = 0;
  /** Soft error from ICMP (reported if the connection then times out). */
  private softError: TcpErrorCode | null = null;

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
  private pmtuMss = 0xffff;
  /** Payload bytes per full segment (options excluded). */
  smss = 536;

  // Receive sequence space.
  irs = DOUBLE_ZERO;
  rcvNxt = DOUBLE_ZERO;
  /** Right edge of the window we advertised (never moved left: RFC 9293 §3.8.6.2.2). */
  rcvAdvRight = DOUBLE_ZERO;
  /** Largest payload received (estimate of the peer's segment size, for delayed ACKs). */
  private rcvMss = 536;
  finReceived = false;
  private peerFinSeq = DOUBLE_ZERO;
  private peerFinKnown = false;

  // Timestamps (RFC 7323).
  tsRecent = DOUBLE_ZERO;
  /** RCV.NXT carried by the last ACK we sent (Last.ACK.sent). */
  private lastAckSent = DOUBLE_ZERO;
  private tsRecentStamp = DOUBLE_ZERO;
  readonly tsOffset: number;

  // ACK state: Linux's delayed-ACK engine (inet_connection_sock icsk_ack, tcp_input.c).
  /** An ACK goes out in this egress pass (ICSK_ACK_NOW). */
  private ackPending = false;
  /** Received data (or a FIN) not acknowledged yet (ICSK_ACK_SCHED). */
  private ackScheduled = false;
  /** Data arrived in this batch: decide at egress, after the application saw it, whether to ACK now or delay. */
  private ackCheck = false;
  /** Quick ACKs left (icsk_ack.quick). */
  private quick = 0;
  /**
   * A segment shorter than the peer's segment size (or a full one with PSH) arrived since our last ACK: the end
   * of a write, so the sender may be waiting for this ACK (Nagle, a full window) — ICSK_ACK_PUSHED; a second
   * one — ICSK_ACK_PUSHED2. Cleared by the next ACK we send.
   */
  private ackPushed = false;
  private ackPushed2 = false;
  /** Payload size of the last short segment that looked like the peer's real segment size (icsk_ack.last_seg_size). */
  private lastSegSize = 0;
  /** The delayed-ACK engine started with the first data (icsk_ack.ato != 0). */
  private ackStarted = false;
  /** Interactive mode (inet_csk_in_pingpong_mode, TCP_PINGPONG_THRESH 1): no quick ACKs, ACKs ride on replies. */
  pingpong = false;
  /** When the last in-order data arrived (icsk_ack.lrcvtime). */
  private lrcvtime = DOUBLE_ZERO;
  /** The window size we last advertised (tp->rcv_wnd). */
  private rcvWnd = 0;
  /** D-SACK block to report once (RFC 2883; Linux tp->duplicate_sack), when dsackOn. */
  private dsackOn = false;
  private dsackStart = DOUBLE_ZERO;
  private dsackEnd = DOUBLE_ZERO;
  /** When the last duplicate ACK for an out-of-window segment without data left (Linux last_oow_ack_time). */
  private lastOowAck = DOUBLE_ZERO;
  /** End of the last sub-MSS segment sent (Linux tp->snd_sml, for the Minshall Nagle check). */
  private sndSml = DOUBLE_ZERO;
  /**
   * Bytes the socket above took out of the receive buffer that the application has not consumed yet (a
   * stream's buffer): still unread for the window, as in Linux where the window is the free space of the one
   * receive queue the application reads from.
   */
  private appBuffered = 0;

  // Buffer autotuning (Linux tcp_moderate_rcvbuf / tcp_sndbuf_expand), when rmemMax / wmemMax allow it.
  /** Receiver's RTT estimate in ms from timestamps echoed on data (Linux rcv_rtt_est); 0: none yet. */
  private rcvRtt = DOUBLE_ZERO;
  /** Smallest of those samples (the path's delay as the receiver sees it). */
  private rcvRttMin = Infinity;
  private rcvRttLastEcr = DOUBLE_ZERO;
  /** Bytes the application consumed in the last measured round trip (Linux rcvq_space.space); 0: not started. */
  private rcvqSpace = 0;
  /** Bytes consumed since `rcvqTime` (Linux copied_seq - rcvq_space.seq). */
  private rcvqCopied = DOUBLE_ZERO;
  private rcvqTime = DOUBLE_ZERO;

  // Application side.
  sb: SendBuffer;
  rb: ReceiveBuffer;
  /** end() was called: a FIN follows the data. */
  finQueued = false;
  /** Sequence number of our FIN (valid when finQueued). */
  finSeq = DOUBLE_ZERO;
  nodelay = false;

  // Congestion control and loss recovery.
  cwnd = 0;
  ssthresh = INFINITE_SSTHRESH;
  private readonly cc: CongestionController;
  private dupAcks = 0;
  private recovery = REC_NONE;
  /**
   * Retransmissions of this SACK recovery not yet known to have arrived: (seq, len, SND.MAX when sent) triples
   * (Linux tcp_mark_lost_retrans, the idea RACK generalises in RFC 8985 §6.2): when the receiver SACKs data
   * sent after a retransmission while the retransmission itself is still missing, it was lost too.
   */
  private readonly rtxInFlight: number[] = [];
  /** A tail loss probe is out and no ACK has covered it yet (Linux tlp_high_seq != 0). */
  private tlpOut = false;
  /** SND.MAX when the last tail loss probe went out (Linux tlp_high_seq), while tlpOut. */
  private tlpHighSeq = DOUBLE_ZERO;
  private recover = DOUBLE_ZERO;
  private rxtNext = DOUBLE_ZERO;
  private readonly scoreboard = new SackScoreboard();
  readonly rtt: RttEstimator;
  private rttTiming = false;
  private rttSeq = DOUBLE_ZERO;
  private rttTime = DOUBLE_ZERO;

  // Timers.
  private readonly rtxTimer: Timer;
  private rtxMode = RTX_NONE;
  /** Consecutive retransmission timeouts (or unanswered persist probes). */
  retransmits = 0;
  private synRetransmitted = false;
  /** Our SYN is not acknowledged yet (it occupies SND.UNA, the buffer starts one later). */
  private synUnacked = true;
  private readonly delackTimer: Timer;
  private readonly keepTimer: Timer;
  private readonly waitTimer: Timer;
  keepalive = false;
  keepIdleMs: number;
  keepIntervalMs: number;
  keepProbes: number;
  private probesOut = 0;
  private lastRecv = DOUBLE_ZERO;
  private lastSend = DOUBLE_ZERO;

  // Statistics (ss -i).
  bytesAcked = DOUBLE_ZERO;
  bytesReceived = DOUBLE_ZERO;
  bytesSent = DOUBLE_ZERO;
  retransTotal = 0;
  segsIn = 0;
  segsOut = 0;

  /** Options emitted with each segment (mutated in place). */
  private readonly opts: TcpOptions = {};
  private readonly tsPair = { val: 0, ecr: 0 };
  private readonly sackOut = new Uint32Array(8);
  private readonly sackTmp = new Uint32Array(8);

  constructor(
    readonly layer: TcpLayer,
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
    this.advMss = layer.advertisedMss(remoteAddr);
    this.tsOffset = layer.tsOffset(localAddr, localPort, remoteAddr, remotePort);
    this.rtxTimer = new Timer((now) => this.onRtxTimer(now));
    this.delackTimer = new Timer((now) => this.onDelackTimer(now));
    this.keepTimer = new Timer((now) => this.onKeepaliveTimer(now));
    this.waitTimer = new Timer((now) => this.onWaitTimer(now));
  }

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
    return (Math.floor(now) + this.tsOffset) >>> 0;
  }

  // ---------------------------------------------------------------- opening

  /** Active open (RFC 9293 §3.10.1): CLOSED → SYN-SENT, SYN sent. */
  openActive(now: number): void {
    this.iss = this.layer.isn(this.localAddr, this.localPort, this.remoteAddr, this.remotePort, now);
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.sndSml = this.iss;
    this.recover = this.iss;
    this.setState(TcpState.SYN_SENT);
    this.layer.stats.Tcp.ActiveOpens++;
    this.rttTime = now;
    this.sendSyn(false, now);
    this.armRtx(RTX_RTO, now + this.rtt.rto);
  }

  /** Passive open from a SYN-queue entry or a validated cookie: a connection in SYN-RECEIVED whose final ACK is about to be processed. */
  openPassive(p: PassiveOpen, now: number): void {
    this.iss = p.iss;
    this.sndUna = p.iss;
    this.sndSml = p.iss;
    this.sndNxt = (p.iss + 1) >>> 0;
    this.sndMax = this.sndNxt;
    this.recover = p.iss;
    this.irs = p.irs;
    this.rcvNxt = (p.irs + 1) >>> 0;
    this.rb.nxt = this.rcvNxt;
    this.lastAckSent = this.rcvNxt;
    this.advMss = p.advMss;
    this.applyPeerOptions(p.peerMss, p.peerWscale, p.sackOk, p.tsOk);
    this.tsRecent = p.tsRecent;
    this.tsRecentStamp = now;
    // RFC 7323 §2.2: the window of a SYN is never scaled.
    this.sndWnd = p.peerWindow;
    this.maxSndWnd = p.peerWindow;
    this.sndWl1 = p.irs;
    this.sndWl2 = p.iss;
    this.rcvWnd = Math.min(this.rb.free, 0xffff);
    this.rcvAdvRight = (this.rcvNxt + this.rcvWnd) >>> 0;
    if (p.synAckSentAt >= 0 && !p.retransmitted) {
      this.rttTiming = true;
      this.rttSeq = p.iss;
      this.rttTime = p.synAckSentAt;
    }
    this.synRetransmitted = p.retransmitted;
    this.setState(TcpState.SYN_RECEIVED);
    this.lastRecv = now;
  }

  private applyPeerOptions(peerMss: number, peerWscale: number, sackOk: boolean, tsOk: boolean): void {
    const cfg = this.cfg;
    this.peerMss = peerMss > 0 ? peerMss : 536;
    this.wsOk = cfg.windowScaling && peerWscale >= 0;
    this.sndWscale = this.wsOk ? Math.min(peerWscale, 14) : 0;
    this.rcvWscale = this.wsOk ? windowScaleFor(receiveBufferCeiling(cfg)) : 0;
    this.sackOk = cfg.sack && sackOk;
    this.tsOk = cfg.timestamps && tsOk;
    this.updateMss();
    this.cwnd = this.cfg.initialCwnd * this.smss;
  }

  private updateMss(): void {
    const m = Math.min(this.peerMss, this.advMss, this.pmtuMss);
    this.smss = Math.max(64, m - (this.tsOk ? 12 : 0));
  }

  private setState(s: TcpStateValue): void {
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
    if (this.layer.feed.active) this.layer.feed.stateChange(this, old, s);
  }

  // ---------------------------------------------------------------- application calls

  /** Copies up to `len` bytes in; returns how many fit. */
  write(src: Uint8Array, off: number, len: number): number {
    if (this.finQueued || this.state === TcpState.CLOSED || this.state === TcpState.TIME_WAIT) return 0;
    const n = this.sb.write(src, off, len);
    if (n > 0) this.requestOutput();
    return n;
  }

  /** Whether writes are still possible (no FIN queued, not closed). */
  get writable(): boolean {
    return !this.finQueued && this.state !== TcpState.CLOSED && this.state !== TcpState.TIME_WAIT;
  }

  /** shutdown(SHUT_WR): a FIN after the data written so far. */
  shutdownWrite(): void {
    if (this.finQueued) return;
    const s = this.state;
    if (s === TcpState.CLOSED || s === TcpState.LISTEN) return;
    this.finQueued = true;
    this.finSeq = (this.sndUna + (this.synUnacked ? 1 : 0) + this.sb.length) >>> 0;
    if (s === TcpState.ESTABLISHED) this.setState(TcpState.FIN_WAIT_1);
    else if (s === TcpState.CLOSE_WAIT) this.setState(TcpState.LAST_ACK);
    // SYN-SENT / SYN-RECEIVED: the FIN goes out once established (RFC 9293 §3.10.4).
    this.requestOutput();
  }

  /**
   * close(2): the application is done. Unread data → RST (RFC 2525 §2.17,
   * as Linux); otherwise a FIN after the unsent data and the connection
   * finishes on its own.
   */
  close(now: number): void {
    if (this.orphaned) return;
    this.orphaned = true;
    this.user = null;
    const s = this.state;
    if (s === TcpState.CLOSED || s === TcpState.TIME_WAIT) return;
    if (s === TcpState.SYN_SENT) {
      this.terminate(null, false);
      return;
    }
    if (this.rb.length > 0 || this.unreadAtClose) {
      this.layer.stats.TcpExt.TCPAbortOnData++;
      this.reset(now);
      return;
    }
    this.shutdownWrite();
    if (this.state === TcpState.FIN_WAIT_2) this.armFinTimeout(now);
  }

  /** The socket above held bytes it never read: close() must treat them as unread data. */
  discardUnread(): void {
    this.unreadAtClose = true;
  }

  /** Abortive close: RST now (when synchronized), resources freed. */
  reset(now: number): void {
    const s = this.state;
    if (s === TcpState.CLOSED) return;
    if (s !== TcpState.SYN_SENT && s !== TcpState.TIME_WAIT && s !== TcpState.LISTEN) {
      this.layer.sendRst(this.localAddr, this.localPort, this.remoteAddr, this.remotePort, this.sndMax, this.rcvNxt, true);
      void now;
    }
    this.user = null;
    this.terminate(null, false);
  }

  /** The application takes up to `max` in-order bytes (recvmsg); an ACK follows when the read opened the window a lot. */
  read(max = READ_CHUNK): Buffer | null {
    const b = this.rb.read(max);
    if (b === null) return null;
    this.cleanupRbuf(b.length);
    return b;
  }

  /** The application takes up to `max` in-order bytes and drops them uncopied (recv with MSG_TRUNC); returns how many. */
  skip(max = Number.MAX_SAFE_INTEGER): number {
    const n = this.rb.skip(max);
    if (n > 0) this.cleanupRbuf(n);
    return n;
  }

  /**
   * Moves up to `max` in-order bytes to a buffer of the socket above (a stream's), where they still count as
   * unread until `appConsumed` says the application took them.
   */
  readToApp(max = READ_CHUNK): Buffer | null {
    const b = this.rb.read(max);
    if (b !== null) this.appBuffered += b.length;
    return b;
  }

  /** The socket above now holds `buffered` bytes the application has not consumed (it consumed the rest). */
  appConsumed(buffered: number): void {
    const copied = this.appBuffered - buffered;
    if (copied <= 0) return;
    this.appBuffered = buffered;
    this.cleanupRbuf(copied);
  }

  /** Bytes the application has not read: the receive buffer's in-order data and what the socket above holds. */
  get unread(): number {
    return this.rb.length + this.appBuffered;
  }

  /**
   * Receive buffer autotuning (Linux tcp_rcv_space_adjust, "dynamic right-sizing"), on paths of
   * AUTOTUNE_MIN_RTT_MS and more: once per receiver RTT, compare what the application consumed in that round
   * trip with the round trip before; when it grew, the buffer becomes twice the new amount (losses) plus the
   * growth again, twice (the sender in slow start doubles per round trip, and the window we offer now is for
   * the next one), up to `rmemMax`. The window follows the buffer (window_clamp), so a long fat path is not
   * held to `rmem` per round trip.
   */
  private rcvSpaceAdjust(copied: number, now: number): void {
    if (this.rcvqSpace === 0) {
      // Linux tcp_init_buffer_space: the first measure starts from an initial window's worth.
      this.rcvqSpace = Math.min(this.rb.capacity, 10 * this.advMss);
      this.rcvqTime = now;
      this.rcvqCopied = copied;
      return;
    }
    this.rcvqCopied += copied;
    const rtt = this.rcvRtt > 0 ? this.rcvRtt : this.rtt.hasSample ? this.rtt.srtt : 0;
    if (rtt <= 0 || now - this.rcvqTime < rtt) return;
    const c = this.rcvqCopied;
    if (c > this.rcvqSpace && this.onLongPath()) {
      let win = 2 * c + 16 * this.advMss;
      win += 2 * Math.floor((win * (c - this.rcvqSpace)) / this.rcvqSpace);
      const target = Math.min(win, this.cfg.rmemMax);
      this.rb.growCapacity(target);
      this.rcvqSpace = c;
    }
    this.rcvqCopied = 0;
    this.rcvqTime = now;
  }

  /**
   * Linux tcp_rcv_rtt_measure_ts: a full-sized data segment echoing a timestamp we have not seen echoed yet
   * gives the receiver an RTT sample (now - TSecr, at least 1 ms at our 1 ms clock), smoothed by 1/8.
   */
  private rcvRttMeasure(h: TcpHeader, len: number, now: number): void {
    if (!this.tsOk || !h.tsPresent || h.tsEcr === 0 || h.tsEcr === this.rcvRttLastEcr) return;
    this.rcvRttLastEcr = h.tsEcr;
    if (len < this.rcvMss) return;
    let d = (this.tsNow(now) - h.tsEcr) | 0;
    if (d <= 0) d = 1;
    this.rcvRtt = this.rcvRtt === 0 ? d : this.rcvRtt + (d - this.rcvRtt) / 8;
    if (d < this.rcvRttMin) this.rcvRttMin = d;
  }

  /** Whether the smallest round trip either side measured (the path's delay, without queueing) is AUTOTUNE_MIN_RTT_MS or more. */
  private onLongPath(): boolean {
    const m = Math.min(this.rtt.hasSample ? this.rtt.minRtt : Infinity, this.rcvRttMin);
    return m !== Infinity && m >= AUTOTUNE_MIN_RTT_MS;
  }

  /**
   * Send buffer autotuning (Linux tcp_new_space → tcp_sndbuf_expand), on paths of AUTOTUNE_MIN_RTT_MS and
   * more: after an ACK freed space, while the connection is not using all of its congestion window, the buffer
   * grows to hold twice the window (the data in flight plus as much again queued behind it), up to `wmemMax`.
   */
  private expandSendBuffer(): void {
    if (!this.onLongPath()) return;
    const target = Math.min(2 * this.cwnd, this.cfg.wmemMax);
    if (target <= this.sb.capacity || ((this.sndNxt - this.sndUna) | 0) >= this.cwnd) return;
    this.sb.growCapacity(target);
  }

  /**
   * Linux tcp_cleanup_rbuf, after the application consumed `copied` bytes: ACK now if a once-per-two-segments
   * ACK is still owed, or if the window we could offer now is non-zero and at least twice the one the peer has.
   */
  private cleanupRbuf(copied: number): void {
    if (copied <= 0 || this.state === TcpState.CLOSED) return;
    if (this.cfg.rmemMax > this.rb.capacity) this.rcvSpaceAdjust(copied, this.layer.now());
    let timeToAck = this.ackScheduled && ((this.rcvNxt - this.lastAckSent) | 0) > this.rcvMss;
    // ... or if this read emptied the receive queue after the end of a write arrived (a small segment), and the
    // connection is not interactive (or two ends of writes came): the sender may be holding its next segment for
    // this ACK (Nagle's algorithm, RFC 896/1122 §4.2.3.4) and no reply will carry it.
    if (!timeToAck && this.ackScheduled && (this.ackPushed2 || (this.ackPushed && !this.pingpong)) && this.unread === 0 && this.rb.rangeCount === 0) {
      timeToAck = true;
    }
    if (!timeToAck && !this.finReceived) {
      const cur = Math.max(0, (this.rcvAdvRight - this.rcvNxt) | 0);
      if (2 * cur <= this.windowClamp) {
        const next = this.selectWindow();
        if (next > 0 && next >= 2 * cur) timeToAck = true;
      }
    }
    if (timeToAck) {
      this.ackPending = true;
      this.requestOutput();
    }
  }

  /** Bytes readable now. */
  get readable(): number {
    return this.rb.length;
  }

  setNoDelay(on: boolean): void {
    this.nodelay = on;
    if (on) this.requestOutput();
  }

  setKeepAlive(on: boolean, idleMs: number | undefined, now: number): void {
    this.keepalive = on;
    if (idleMs !== undefined && idleMs > 0) this.keepIdleMs = idleMs;
    if (on) this.armKeepalive(now);
    else this.layer.timers.disarm(this.keepTimer);
  }

  /** SO_ERROR: the pending error's errno (0 for none), cleared by the read. */
  takeError(): number {
    const e = this.pendingError;
    this.pendingError = 0;
    return e;
  }

  private requestOutput(): void {
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

  private post(ev: number): void {
    this.events |= ev;
    this.layer.markDirty(this);
  }

  /** The egress pass: tell the user what happened, then transmit what is owed. */
  service(now: number): void {
    const u = this.user;
    const ev = this.events;
    if (u === null) {
      // Not accepted yet: keep the events for the socket that will attach; an orphan has nobody to tell.
      if (this.orphaned) this.events = 0;
    } else if (ev !== 0) {
      this.events = 0;
      try {
        if (ev & EV_CONNECTED) u.onConnected();
        // Only an answer to arriving data is held back; a writer refilling on 'drain' goes out at once.
        this.inUserCallback = true;
        if (ev & EV_DATA && this.user) this.user.onData();
        if (ev & EV_EOF && this.user) this.user.onEof();
        this.inUserCallback = false;
        if (ev & EV_WRITABLE && this.user) this.user.onWritable();
        if (ev & EV_CLOSED && this.user) {
          const e = this.closeError;
          this.user = null;
          u.onClosed(e);
        }
      } finally {
        this.inUserCallback = false;
      }
    }
    if (this.state === TcpState.CLOSED) return;
    if (this.outputDeferred) {
      this.outputDeferred = false;
      this.layer.deferToKick(this);
      return;
    }
    if (this.ackCheck) {
      this.ackCheck = false;
      this.ackSndCheck(now);
    }
    if (this.wantOutput || this.ackPending) {
      this.wantOutput = false;
      this.transmit(now);
    }
    if (this.state === TcpState.TIME_WAIT && this.user === null) this.retireToTimeWait(now);
  }

  /**
   * Linux __tcp_ack_snd_check, once per batch after the application was told about the data: ACK now when
   * more than one full segment is unacknowledged and the window would not shrink by it (RFC 1122 §4.2.3.2:
   * every second full segment), in quick-ACK mode, or when something asked for it (ICSK_ACK_NOW: a gap
   * filled, a duplicate); otherwise the delayed-ACK timer (40 ms), whose ACK may ride on a reply first.
   */
  private ackSndCheck(now: number): void {
    if (!this.ackScheduled || this.ackPending) return;
    // The window is computed first: under memory pressure it ends quick-ACK mode (as __tcp_select_window).
    if ((((this.rcvNxt - this.lastAckSent) | 0) > this.rcvMss && this.selectWindow() >= this.rcvWnd) || this.inQuickAckMode()) {
      this.ackNow();
    } else if (!this.delackTimer.armed) {
      this.layer.timers.arm(this.delackTimer, now + this.cfg.delayedAckMs);
    }
  }

  /** Linux tcp_in_quickack_mode: quick ACKs left and not interactive. */
  private inQuickAckMode(): boolean {
    return this.quick > 0 && !this.pingpong;
  }

  /**
   * Linux tcp_incr_quickack: at most rcv_wnd / (2·rcv_mss) quick ACKs (2 when the window is smaller than two
   * segments), at most `quickAcks` (TCP_MAX_QUICKACKS, 16) — a small window gets few, so the sender's
   * ACK clock is every second segment almost at once.
   */
  private incrQuick(): void {
    let q = Math.floor(this.rcvWnd / (2 * this.rcvMss));
    if (q === 0) q = 2;
    q = Math.min(q, this.cfg.quickAcks);
    if (q > this.quick) this.quick = q;
  }

  /** Linux tcp_enter_quickack_mode (duplicate or out-of-window data): quick ACKs again, interactive mode off. */
  private enterQuickAck(): void {
    this.incrQuick();
    this.pingpong = false;
  }

  /** Attaches the socket that will receive events (accept(), or connect()). */
  attach(u: ConnectionUser): void {
    this.user = u;
    if (this.events !== 0) {
      this.layer.markDirty(this);
      this.layer.kick();
    }
  }

  // ---------------------------------------------------------------- segment arrives (RFC 9293 §3.10.7)

  /** A segment for this connection. `pkt[payloadStart, +h.payloadLength)` is the payload. */
  segmentArrives(h: TcpHeader, pkt: Uint8Array, payloadStart: number, now: number): void {
    this.segsIn++;
    this.lastRecv = now;
    this.probesOut = 0;
    switch (this.state) {
      case TcpState.CLOSED:
        this.layer.noSocket(h, now);
        return;
      case TcpState.SYN_SENT:
        this.synSentArrives(h, pkt, payloadStart, now);
        return;
      default:
        this.synchronizedArrives(h, pkt, payloadStart, now);
    }
  }

  /** §3.10.7.3 SYN-SENT. */
  private synSentArrives(h: TcpHeader, pkt: Uint8Array, payloadStart: number, now: number): void {
    const stats = this.layer.stats;
    const flags = h.flags;
    let ackOk = false;
    // First: the ACK bit.
    if (flags & TCP_ACK) {
      if (seqLe(h.ack, this.iss) || seqGt(h.ack, this.sndMax)) {
        stats.drop('tcp.syn-sent-bad-ack');
        if (!(flags & TCP_RST)) this.layer.sendRst(this.localAddr, this.localPort, this.remoteAddr, this.remotePort, h.ack, 0, false);
        return;
      }
      ackOk = seqLe(this.sndUna, h.ack);
    }
    // Second: RST.
    if (flags & TCP_RST) {
      if (ackOk) {
        this.pendingError = ERRNO.ECONNREFUSED;
        this.terminate(new TcpError('ECONNREFUSED', 'connect'), true);
      } else stats.drop('tcp.syn-sent-rst-no-ack');
      return;
    }
    // Fourth: SYN.
    if (!(flags & TCP_SYN)) {
      stats.drop('tcp.syn-sent-no-syn');
      return;
    }
    this.irs = h.seq;
    this.rcvNxt = (h.seq + 1) >>> 0;
    this.rb.nxt = this.rcvNxt;
    this.applyPeerOptions(h.mss, h.wscale, h.sackPermitted, h.tsPresent);
    if (this.tsOk) {
      this.tsRecent = h.tsVal;
      this.tsRecentStamp = now;
    }
    if (ackOk) {
      // SYN-ACK: established.
      this.sndUna = h.ack;
      this.synUnacked = false;
      this.sndWnd = h.window; // never scaled in a SYN (RFC 7323 §2.2)
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = h.seq;
      this.sndWl2 = h.ack;
      this.layer.timers.disarm(this.rtxTimer);
      this.rtxMode = RTX_NONE;
      this.retransmits = 0;
      if (this.tsOk && h.tsEcr !== 0) this.rtt.sample(Math.max(0, (this.tsNow(now) - h.tsEcr) | 0));
      else if (!this.synRetransmitted) this.rtt.sample(now - this.rttTime);
      if (this.synRetransmitted) this.rtt.fallBackAfterSynLoss();
      this.setState(TcpState.ESTABLISHED);
      if (this.finQueued) this.setState(TcpState.FIN_WAIT_1);
      this.rcvAdvRight = this.rcvNxt;
      this.ackPending = true;
      this.wantOutput = true;
      this.post(EV_CONNECTED);
      if (this.keepalive) this.armKeepalive(now);
      // Data or FIN in the SYN-ACK (§3.10.7.3: continue with the URG/data/FIN steps).
      if (h.payloadLength > 0 || flags & TCP_FIN) {
        const seg = (h.seq + 1) >>> 0;
        this.acceptData(seg, pkt, payloadStart, h.payloadLength, flags, h.headerLength, now);
        if (flags & TCP_FIN) this.noteFin((seg + h.payloadLength) >>> 0, now);
      }
      return;
    }
    // Simultaneous open: SYN-RECEIVED, SYN-ACK with our ISN.
    this.sndWnd = h.window;
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = h.seq;
    this.sndWl2 = this.iss;
    this.setState(TcpState.SYN_RECEIVED);
    this.sendSyn(true, now);
  }

  /** §3.10.7.4 the other states. */
  private synchronizedArrives(h: TcpHeader, pkt: Uint8Array, payloadStart: number, now: number): void {
    const stats = this.layer.stats;
    let flags = h.flags;
    let seq = h.seq;
    // Simultaneous open: the peer's SYN-ACK in SYN-RECEIVED acknowledges our SYN; take it as the ACK it carries
    // (Linux tcp_validate_incoming lets exactly this one through).
    if (this.state === TcpState.SYN_RECEIVED && this.listener === null && (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === (TCP_SYN | TCP_ACK) && ((seq + 1) >>> 0) === this.rcvNxt && h.ack === this.sndNxt) {
      flags &= ~TCP_SYN;
      seq = this.rcvNxt;
      this.ackNow();
    }
    let len = h.payloadLength;
    let off = payloadStart;
    let fin = (flags & TCP_FIN) !== 0;

    // RFC 7323 §5.3: PAWS before the sequence check.
    // Linux TCP_PAWS_WINDOW: one tick of disorder is tolerated.
    if (this.tsOk && h.tsPresent && !(flags & TCP_RST) && ((this.tsRecent - h.tsVal) | 0) > 1 && now - this.tsRecentStamp < PAWS_IDLE_MS) {
      stats.TcpExt.PAWSEstab++;
      stats.drop('tcp.paws');
      this.ackPending = true;
      this.wantOutput = true;
      this.layer.markDirty(this);
      return;
    }

    // First: sequence number acceptability (four cases).
    const segLen = len + (flags & TCP_SYN ? 1 : 0) + (fin ? 1 : 0);
    const wnd = Math.max(0, (this.rcvAdvRight - this.rcvNxt) | 0);
    const rn = this.rcvNxt;
    let acceptable: boolean;
    if (segLen === 0) {
      acceptable = wnd === 0 ? seq === rn : seqGe(seq, rn) && seqLt(seq, (rn + wnd) >>> 0);
    } else if (wnd === 0) {
      acceptable = false;
    } else {
      const last = (seq + segLen - 1) >>> 0;
      acceptable = (seqGe(seq, rn) && seqLt(seq, (rn + wnd) >>> 0)) || (seqGe(last, rn) && seqLt(last, (rn + wnd) >>> 0));
    }
    let zeroWindowAck = false;
    if (!acceptable) {
      // RFC 9293: with a zero window, valid ACKs (and RSTs) are still processed.
      if (wnd === 0 && seq === rn && !(flags & TCP_SYN)) {
        zeroWindowAck = true;
        if (len > 0) stats.TcpExt.TCPZeroWindowDrop++;
      } else {
        if (flags & TCP_RST) {
          stats.drop('tcp.rst-out-of-window');
          return;
        }
        stats.drop('tcp.out-of-window');
        if (fin && this.state === TcpState.TIME_WAIT) this.armTimeWait(now);
        if (len > 0 && seqLt(seq, rn)) {
          // Linux tcp_send_dupack: data received before — quick ACKs again, the old part reported as a D-SACK.
          this.enterQuickAck();
          const end = (seq + len) >>> 0;
          this.setDsack(seq, seqGt(end, rn) ? rn : end);
        }
        // Linux tcp_oow_rate_limited (net.ipv4.tcp_invalid_ratelimit, 500 ms): a segment without data or SYN
        // (a window probe, a stray ACK) gets at most one duplicate ACK per 500 ms — no ACK loops.
        if (segLen === 0) {
          if (this.lastOowAck !== 0 && now - this.lastOowAck < OOW_ACK_INTERVAL_MS) return;
          this.lastOowAck = now === 0 ? 1e-9 : now;
        }
        this.ackPending = true;
        this.wantOutput = true;
        this.layer.markDirty(this);
        return;
      }
    }

    // Second: RST (RFC 5961 §3.2: exact match resets, otherwise a challenge ACK).
    if (flags & TCP_RST) {
      if (seq !== rn) {
        this.challengeAck(now);
        return;
      }
      this.onReset();
      return;
    }

    // Fourth: SYN in a synchronized state → challenge ACK (RFC 5961 §4.2).
    if (flags & TCP_SYN) {
      if (this.state === TcpState.SYN_RECEIVED && seq === this.irs && !(flags & TCP_ACK)) {
        // A retransmitted SYN for our simultaneous/passive open: answer with the SYN-ACK again.
        this.sendSyn(true, now);
        return;
      }
      this.challengeAck(now);
      return;
    }

    // Fifth: the ACK field.
    if (!(flags & TCP_ACK)) {
      stats.drop('tcp.no-ack');
      return;
    }
    if (this.state === TcpState.SYN_RECEIVED) {
      if (seqLe(h.ack, this.sndUna) || seqGt(h.ack, this.sndMax)) {
        stats.drop('tcp.syn-recv-bad-ack');
        this.layer.sendRst(this.localAddr, this.localPort, this.remoteAddr, this.remotePort, h.ack, 0, false);
        return;
      }
      this.establishFromSynReceived(h, seq, now);
      if ((this.state as number) === TcpState.CLOSED) return;
    }
    if (!this.processAck(h, seq, now)) return;
    if (this.state === TcpState.CLOSED) return;

    // Timestamps: RFC 7323 §4.3 (update TS.Recent when SEG.SEQ <= Last.ACK.sent).
    if (this.tsOk && h.tsPresent && seqLe(seq, this.lastAckSent) && !seqLt(h.tsVal, this.tsRecent)) {
      this.tsRecent = h.tsVal;
      this.tsRecentStamp = now;
    }

    // Seventh: segment text.
    if (zeroWindowAck) {
      len = 0;
      fin = false;
    }
    if (len > 0 || fin) {
      const s = this.state;
      if (s === TcpState.ESTABLISHED || s === TcpState.FIN_WAIT_1 || s === TcpState.FIN_WAIT_2) {
        if (this.orphaned && len > 0 && this.finQueued) {
          // The application is gone and cannot read this: RST (Linux tcp_rcv_state_process, TCPAbortOnData).
          stats.TcpExt.TCPAbortOnData++;
          this.reset(now);
          return;
        }
        // Trim what lies beyond the window we advertised.
        const right = this.rcvAdvRight;
        const end = (seq + len) >>> 0;
        if (seqGt(end, right)) {
          const cut = (end - right) | 0;
          len = Math.max(0, len - cut);
          fin = false;
        }
        if (len > 0) {
          if (this.cfg.rmemMax > this.rb.capacity) this.rcvRttMeasure(h, len, now);
          this.acceptData(seq, pkt, off, len, h.flags, h.headerLength, now);
        }
        if (fin) this.noteFin((h.seq + h.payloadLength) >>> 0, now);
      } else if (fin && (s === TcpState.CLOSE_WAIT || s === TcpState.CLOSING || s === TcpState.LAST_ACK || s === TcpState.TIME_WAIT)) {
        // Eighth, a retransmitted FIN: ACK again; TIME-WAIT restarts its 2·MSL.
        this.ackPending = true;
        this.wantOutput = true;
        this.layer.markDirty(this);
        if (s === TcpState.TIME_WAIT) this.armTimeWait(now);
      }
    }
    void off;
  }

  private establishFromSynReceived(h: TcpHeader, seq: number, now: number): void {
    this.setState(TcpState.ESTABLISHED);
    this.sndWnd = h.window << this.sndWscale;
    this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
    this.sndWl1 = seq;
    this.sndWl2 = h.ack;
    if (this.synRetransmitted) this.rtt.fallBackAfterSynLoss();
    if (this.finQueued) this.setState(TcpState.FIN_WAIT_1);
    const l = this.listener;
    if (l !== null) {
      this.layer.stats.Tcp.PassiveOpens++;
      l.established(this, now);
    } else {
      this.post(EV_CONNECTED);
    }
    if (this.keepalive) this.armKeepalive(now);
  }

  private onReset(): void {
    const s = this.state;
    switch (s) {
      case TcpState.SYN_RECEIVED:
        if (this.listener !== null) {
          // Passive open: back to LISTEN, i.e. this half-open connection vanishes.
          this.terminate(null, false);
        } else {
          this.pendingError = ERRNO.ECONNREFUSED;
          this.terminate(new TcpError('ECONNREFUSED', 'connect'), true);
        }
        return;
      case TcpState.ESTABLISHED:
      case TcpState.FIN_WAIT_1:
      case TcpState.FIN_WAIT_2:
      case TcpState.CLOSE_WAIT:
        this.pendingError = ERRNO.ECONNRESET;
        this.terminate(new TcpError('ECONNRESET', 'read'), true);
        return;
      default:
        // CLOSING, LAST-ACK, TIME-WAIT: just close (Linux kills TIME-WAIT on RST, tcp_rfc1337 = 0).
        this.terminate(null, true);
    }
  }

  private challengeAck(now: number): void {
    const stats = this.layer.stats;
    if (this.layer.allowChallengeAck(now)) {
      stats.TcpExt.TCPChallengeACK++;
      stats.drop('tcp.challenge-ack');
      this.ackPending = true;
      this.wantOutput = true;
      this.layer.markDirty(this);
    } else {
      stats.drop('tcp.challenge-ack-limited');
    }
  }

  /** Step five for synchronized states. Returns false when the segment must be dropped. */
  private processAck(h: TcpHeader, seq: number, now: number): boolean {
    const stats = this.layer.stats;
    const ack = h.ack;
    if (seqGt(ack, this.sndMax)) {
      // ACK for data never sent (RFC 9293, RFC 5961 §5.2): ACK and drop.
      stats.drop('tcp.ack-unsent');
      this.ackPending = true;
      this.wantOutput = true;
      this.layer.markDirty(this);
      return false;
    }
    if (seqLt(ack, (this.sndUna - this.maxSndWnd) >>> 0)) {
      stats.drop('tcp.ack-too-old');
      this.ackPending = true;
      this.wantOutput = true;
      this.layer.markDirty(this);
      return false;
    }
    const newWnd = h.window << this.sndWscale;
    let sackNew = false;
    if (this.sackOk && h.sackCount > 0) {
      const blocks = h.sackBlocks;
      for (let i = 0; i < h.sackCount; i++) {
        if (this.scoreboard.add(blocks[2 * i]!, blocks[2 * i + 1]!, ack, this.sndMax)) sackNew = true;
      }
    }
    const oldWnd = this.sndWnd;
    if (seqGt(ack, this.sndUna)) {
      this.newAck(h, ack, now);
      // An ACK that moves SND.UNA can still report loss: its SACK blocks cover DupThresh segments above a hole
      // (RFC 6675 §5: IsLost(SND.UNA); Linux tcp_fastretrans_alert runs for any ACK carrying SACK). A receiver
      // that acknowledges a coalesced batch at once sends no duplicate ACK to wait for.
      if (this.recovery === REC_NONE && sackNew && this.scoreboard.sacked >= 3 * this.smss && this.beyondRecoveryPoint() && this.sndMax !== this.sndUna) {
        this.enterRecovery(now);
        this.wantOutput = true;
        this.layer.markDirty(this);
      }
    } else if (ack === this.sndUna) {
      const dup = this.sndMax !== this.sndUna && ((h.payloadLength === 0 && !(h.flags & TCP_FIN) && newWnd === oldWnd) || sackNew);
      if (dup) this.onDupAck(now);
    }
    if (this.recovery === REC_SACK && sackNew && this.rtxInFlight.length > 0) this.markLostRetransmits(now);
    // Window update (§3.10.7.4, SND.WL1/WL2 rule).
    if (seqLt(this.sndWl1, seq) || (this.sndWl1 === seq && seqLe(this.sndWl2, ack))) {
      this.sndWnd = newWnd;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      if (newWnd > this.maxSndWnd) this.maxSndWnd = newWnd;
      if (newWnd > oldWnd) {
        this.wantOutput = true;
        this.layer.markDirty(this);
        if (this.rtxMode === RTX_PERSIST && newWnd > 0) {
          this.layer.timers.disarm(this.rtxTimer);
          this.rtxMode = RTX_NONE;
          this.rtt.resetBackoff();
          this.retransmits = 0;
        }
      }
    }
    // State transitions driven by the ACK of our FIN.
    if (this.finQueued && seqGt(this.sndUna, this.finSeq)) {
      switch (this.state) {
        case TcpState.FIN_WAIT_1:
          this.setState(TcpState.FIN_WAIT_2);
          if (this.orphaned) this.armFinTimeout(now);
          break;
        case TcpState.CLOSING:
          this.enterTimeWait(now);
          return false;
        case TcpState.LAST_ACK:
          this.terminate(null, true);
          return false;
      }
    }
    return true;
  }

  private newAck(h: TcpHeader, ack: number, now: number): void {
    const stats = this.layer.stats;
    let acked = (ack - this.sndUna) | 0;
    // The SYN and FIN take sequence space but no buffer.
    let dataAcked = acked;
    if (this.synUnacked) {
      dataAcked--; // our SYN
      this.synUnacked = false;
    }
    if (this.finQueued && seqGt(ack, this.finSeq) && seqLe(this.sndUna, this.finSeq)) dataAcked--;
    if (dataAcked > 0) {
      this.sb.consume(dataAcked);
      this.bytesAcked += dataAcked;
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    this.scoreboard.advance(ack);
    // RTT: timestamps when present (RFC 7323 §4), else one timed segment (Karn). After a timeout or during
    // recovery the echoed TSval may be the original transmission's (the receiver does not take timestamps from
    // duplicates, RFC 7323 §5.3 R3), so such ACKs give no sample: Karn's rule applied to timestamps.
    if (this.tsOk && h.tsPresent && h.tsEcr !== 0) {
      if (this.retransmits === 0 && this.recovery === REC_NONE) this.rtt.sample(Math.max(0, (this.tsNow(now) - h.tsEcr) | 0));
    } else if (this.rttTiming && seqGt(ack, this.rttSeq)) {
      this.rttTiming = false;
      this.rtt.sample(now - this.rttTime);
    }
    this.retransmits = 0;
    this.rtt.resetBackoff();
    if (this.recovery !== REC_NONE) {
      if (seqGe(ack, this.recover)) {
        // Full ACK: leave recovery (RFC 6582 §3.2 step 3; RFC 6675 §5).
        this.recovery = REC_NONE;
        this.rtxInFlight.length = 0;
        this.cwnd = Math.max(this.ssthresh, this.smss);
        this.cc.onRecoveryEnd(this, now);
        this.dupAcks = 0;
      } else if (this.recovery === REC_NEWRENO) {
        // Partial ACK: retransmit the next hole, deflate by the amount acked (RFC 6582 step 4).
        this.retransmitOne(this.sndUna, now);
        this.cwnd = Math.max(this.smss, this.cwnd - Math.max(0, dataAcked) + this.smss);
        this.armRtx(RTX_RTO, now + this.rtt.rto);
      } else {
        if (seqLt(this.rxtNext, ack)) this.rxtNext = ack;
      }
    } else {
      this.dupAcks = 0;
      if (dataAcked > 0) this.cc.onAck(this, dataAcked, now, this.rtt.srtt);
    }
    if (dataAcked > 0) {
      if (this.cfg.wmemMax > this.sb.capacity) this.expandSendBuffer();
      this.post(EV_WRITABLE);
    }
    this.wantOutput = true;
    this.layer.markDirty(this);
    if (this.tlpOut && seqGe(ack, this.tlpHighSeq)) this.tlpOut = false;
    // §5.2/5.3: restart the timer when data is outstanding, stop it when all is acknowledged.
    if (this.sndMax === this.sndUna) {
      if (this.rtxMode === RTX_RTO || this.rtxMode === RTX_TLP) {
        this.layer.timers.disarm(this.rtxTimer);
        this.rtxMode = RTX_NONE;
      }
    } else if (this.rtxMode !== RTX_PERSIST) {
      this.armRtoOrProbe(now);
    }
    void stats;
  }

  /**
   * The cumulative ACK covers more than the last recovery's "recover", the highest sequence number sent when it
   * began (RFC 6582 §3.2 step 2; RFC 6675 §5: "beyond the last value of RecoveryPoint"): a new loss may start a new
   * recovery. `recover` holds SND.MAX of that moment — one past that highest octet — so SND.UNA equal to it already
   * covers it all: a segment lost right at the old recovery point is a new loss, not an RTO.
   */
  private beyondRecoveryPoint(): boolean {
    return seqGe(this.sndUna, this.recover);
  }

  private onDupAck(now: number): void {
    this.dupAcks++;
    const stats = this.layer.stats.TcpExt;
    if (this.recovery === REC_NONE) {
      const sackLoss = this.sackOk && this.scoreboard.sacked >= 3 * this.smss;
      if (this.dupAcks >= 3 || sackLoss) {
        // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover` (not duplicates from the last episode).
        // After the first retransmission, NextSeg goes on as the pipe allows (RFC 6675 §5 step 4.3): with one
        // coalesced SACK for a whole flight there may be no further duplicate ACK to start it.
        if (this.beyondRecoveryPoint()) this.enterRecovery(now);
        this.wantOutput = true;
        this.layer.markDirty(this);
      } else {
        // Limited transmit (RFC 3042): transmit() allows up to two extra segments.
        this.wantOutput = true;
        this.layer.markDirty(this);
      }
      void stats;
      return;
    }
    if (this.recovery === REC_NEWRENO) this.cwnd += this.smss; // window inflation (RFC 5681 §3.2 step 4)
    this.wantOutput = true;
    this.layer.markDirty(this);
  }

  private enterRecovery(now: number): void {
    const x = this.layer.stats.TcpExt;
    const flight = (this.sndMax - this.sndUna) | 0;
    this.ssthresh = this.cc.ssthreshOnLoss(this, flight, now);
    this.recover = this.sndMax;
    this.rttTiming = false;
    if (this.sackOk) {
      x.TCPSACKRecovery++;
      this.recovery = REC_SACK;
      this.cwnd = this.ssthresh;
      this.rxtNext = this.sndUna;
      // RFC 6675 §5 step 4.2: the first lost segment goes out regardless of pipe.
      const holeEnd = this.scoreboard.nextSackedStart(this.sndUna);
      const len = holeEnd === -1 ? this.smss : Math.min(this.smss, (holeEnd - this.sndUna) | 0);
      this.retransmitOne(this.sndUna, now, len);
      this.rtxInFlight.length = 0;
      this.rtxInFlight.push(this.sndUna, len, this.sndMax);
      this.rxtNext = (this.sndUna + len) >>> 0;
    } else {
      x.TCPFastRetrans++;
      this.recovery = REC_NEWRENO;
      this.cwnd = this.ssthresh + 3 * this.smss;
      this.retransmitOne(this.sndUna, now);
    }
    if (this.sackOk) x.TCPFastRetrans++;
    this.armRtx(RTX_RTO, now + this.rtt.rto);
  }

  /**
   * Linux tcp_measure_rcv_mss: the peer's segment size from full-sized segments (a super-segment counts as full
   * sized); a short segment marks the end of a write (ICSK_ACK_PUSHED, a second one ICSK_ACK_PUSHED2), unless it
   * looks like the peer's real segment size (at least 536 bytes with the header, or 88 without PSH/URG/FIN/SYN:
   * the same size twice running becomes the segment size).
   */
  private measureRcvMss(len: number, flags: number, headerLength: number): void {
    if (len >= this.rcvMss) {
      this.rcvMss = Math.min(len, this.advMss);
      if (flags & TCP_PSH) this.ackPushed = true;
      return;
    }
    // The segment with its header, less the header every segment has (20 bytes, 32 with timestamps): SACK
    // blocks do not make a segment look short.
    const withHeader = len + headerLength;
    if (withHeader >= 536 + 20 || (withHeader >= 88 + 20 && (flags & (TCP_FIN | TCP_URG | TCP_SYN | TCP_PSH)) === 0)) {
      const size = withHeader - (this.tsOk ? 32 : 20);
      const last = this.lastSegSize;
      this.lastSegSize = size;
      if (size === last) {
        this.rcvMss = size;
        return;
      }
    }
    if (this.ackPushed) this.ackPushed2 = true;
    this.ackPushed = true;
  }

  /** In-order or out-of-order payload into the receive buffer; decides how soon to ACK. */
  private acceptData(seq: number, pkt: Uint8Array, off: number, len: number, flags: number, headerLength: number, now: number): void {
    const rb = this.rb;
    const stats = this.layer.stats;
    // Out-of-order data, or a FIN beyond a hole, waiting: filling the gap is ACKed at once (RFC 5681 §4.2).
    const hadGap = rb.rangeCount > 0 || (this.peerFinKnown && !this.finReceived);
    const before = rb.nxt;
    const r = rb.insert(seq, pkt, off, len);
    switch (r) {
      case 'in-order': {
        const adv = (rb.nxt - before) | 0;
        this.bytesReceived += adv;
        this.rcvNxt = rb.nxt;
        // A segment that began below RCV.NXT: its old head is reported as a D-SACK (RFC 2883 §4; Linux tcp_data_queue).
        if (seqLt(seq, before)) this.setDsack(seq, before);
        // Linux tcp_event_data_recv: measure the peer's segment size; the first data starts quick-ACK mode.
        // (Linux also re-arms quick ACKs for data after a silence longer than the RTO. Not modelled: in the
        // tcp-zero-window capture the transfer resuming after 4 s is ACKed every second segment from its first
        // one — the receiver took those segments from the socket backlog while the reader held the socket and
        // deferred the ACK (tcp_backlog_ack_defer); ACKing the first alone would misalign every later ACK.)
        this.measureRcvMss(len, flags, headerLength);
        if (!this.ackStarted) {
          this.ackStarted = true;
          this.incrQuick();
        }
        this.lrcvtime = now;
        this.ackScheduled = true;
        this.post(EV_DATA);
        if (hadGap) {
          // A gap filled (RFC 5681 §4.2: SHOULD ACK at once).
          this.ackNow();
        } else {
          this.ackCheck = true;
          this.layer.markDirty(this);
        }
        break;
      }
      case 'out-of-order':
        stats.TcpExt.TCPOFOQueue++;
        this.ackNow();
        break;
      case 'duplicate':
        // Received before: an ACK at once, the duplicate reported as a D-SACK (RFC 2883), quick ACKs again
        // (Linux tcp_data_queue: tcp_dsack_set + tcp_enter_quickack_mode).
        stats.drop('tcp.duplicate-data');
        this.setDsack(seq, (seq + len) >>> 0);
        this.enterQuickAck();
        this.ackScheduled = true;
        this.ackCheck = true;
        this.layer.markDirty(this);
        break;
      case 'no-room':
        stats.TcpExt.TCPZeroWindowDrop++;
        stats.drop('tcp.rcvbuf-full');
        this.ackNow();
        break;
      case 'too-many-ranges':
        stats.TcpExt.TCPOFODrop++;
        stats.drop('tcp.ofo-drop');
        this.ackNow();
        break;
    }
    if (this.peerFinKnown && !this.finReceived && rb.nxt === this.peerFinSeq) this.processFin(now);
  }

  /** RFC 2883: report [start, end) as the first SACK block of the next segment (Linux tcp_dsack_set, tcp_dsack = 1). */
  private setDsack(start: number, end: number): void {
    if (!this.sackOk) return;
    this.dsackOn = true;
    this.dsackStart = start;
    this.dsackEnd = end;
  }

  private ackNow(): void {
    this.ackScheduled = true;
    this.ackPending = true;
    this.wantOutput = true;
    this.layer.markDirty(this);
  }

  /** A FIN at sequence `finSeq`: processed now if everything before it arrived, else when the gap fills. */
  private noteFin(finSeq: number, now: number): void {
    if (this.finReceived) return;
    this.peerFinSeq = finSeq;
    this.peerFinKnown = true;
    if (this.rb.nxt === finSeq) this.processFin(now);
    else this.ackNow();
  }

  /** Eighth: the FIN bit (RFC 9293 §3.10.7.4). */
  private processFin(now: number): void {
    this.finReceived = true;
    this.rcvNxt = (this.rb.nxt + 1) >>> 0;
    this.post(EV_EOF);
    switch (this.state) {
      case TcpState.SYN_RECEIVED:
      case TcpState.ESTABLISHED:
        // Linux tcp_fin: CLOSE-WAIT in interactive mode, so the ACK of the FIN is delayed and usually rides
        // on the application's answer or its own FIN (tcp-http-get and tcp-syn-cookies captures).
        this.setState(TcpState.CLOSE_WAIT);
        this.pingpong = true;
        this.ackScheduled = true;
        this.ackCheck = true;
        this.layer.markDirty(this);
        break;
      case TcpState.FIN_WAIT_1:
        this.ackNow();
        if (this.finQueued && seqGt(this.sndUna, this.finSeq)) this.enterTimeWait(now);
        else this.setState(TcpState.CLOSING);
        break;
      case TcpState.FIN_WAIT_2:
        this.ackNow();
        this.enterTimeWait(now);
        break;
      default:
        this.ackNow();
    }
  }

  private enterTimeWait(now: number): void {
    this.setState(TcpState.TIME_WAIT);
    // Nothing more to send, and what was received is the application's: no ring needed for 2·MSL.
    this.sb.release();
    this.rb.release();
    const t = this.layer.timers;
    t.disarm(this.rtxTimer);
    t.disarm(this.keepTimer);
    t.disarm(this.delackTimer);
    this.rtxMode = RTX_NONE;
    this.post(EV_CLOSED);
    // Retired to a TimeWaitEntry by the egress pass, after the ACK of the peer's FIN went out.
    this.layer.markDirty(this);
    this.armTimeWait(now);
  }

  /**
   * The egress pass has sent what TIME-WAIT owed: the pair goes on as a small record (Linux tcp_time_wait) and
   * this object leaves the tables.
   */
  private retireToTimeWait(now: number): void {
    const t = this.layer.timers;
    t.disarm(this.waitTimer);
    if (this.listener !== null) {
      this.listener.forget(this);
      this.listener = null;
    }
    const e = new TimeWaitEntry(
      this.localAddr,
      this.localPort,
      this.remoteAddr,
      this.remotePort,
      this.sndMax,
      this.rcvNxt,
      Math.max(0, (this.rcvAdvRight - this.rcvNxt) | 0) >> this.rcvWscale,
      this.tsOk,
      this.tsRecent,
      this.tsRecentStamp,
      this.tsOffset,
    );
    // Not a state change anyone sees: the pair stays in TIME-WAIT, only its representation changes.
    this.layer.timeWaitConnections--;
    this.state = TcpState.CLOSED;
    this.ackPending = false;
    this.wantOutput = false;
    this.layer.retireToTimeWait(this, e, now);
  }

  private armTimeWait(now: number): void {
    this.layer.timers.arm(this.waitTimer, now + this.cfg.timeWaitMs);
  }

  private armFinTimeout(now: number): void {
    this.layer.timers.arm(this.waitTimer, now + this.cfg.finTimeoutMs);
  }

  /** TIME-WAIT: may a new SYN reuse this 4-tuple (Linux tcp_timewait_state_process)? */
  acceptsNewSyn(h: TcpHeader): boolean {
    if (this.state !== TcpState.TIME_WAIT) return false;
    if (this.tsOk && h.tsPresent) return seqGt(h.tsVal, this.tsRecent) || (h.tsVal === this.tsRecent && seqGt(h.seq, this.rcvNxt));
    return seqGt(h.seq, this.rcvNxt);
  }

  /** An ISN for a new incarnation of this 4-tuple above everything this one sent (Linux: tw_snd_nxt + 65535 + 2). */
  get successorIsn(): number {
    return (this.sndMax + 65535 + 2) >>> 0;
  }

  /** Ends the connection: timers off, out of the tables, the user told (unless `notify` is false). */
  terminate(err: TcpError | null, notify: boolean): void {
    const s = this.state;
    if (s === TcpState.CLOSED && !this.hashed) return;
    const stats = this.layer.stats;
    // Linux tcp_done / tcp_set_state(TCP_CLOSE).
    if (s === TcpState.SYN_SENT || s === TcpState.SYN_RECEIVED) stats.Tcp.AttemptFails++;
    if (s === TcpState.ESTABLISHED || s === TcpState.CLOSE_WAIT) stats.Tcp.EstabResets++;
    this.setState(TcpState.CLOSED);
    const t = this.layer.timers;
    t.disarm(this.rtxTimer);
    t.disarm(this.delackTimer);
    t.disarm(this.keepTimer);
    t.disarm(this.waitTimer);
    this.rtxMode = RTX_NONE;
    this.layer.unhash(this);
    this.sb.release(); // both kept while they hold bytes (unsent data, or data the application has yet to read)
    this.rb.release();
    if (this.listener !== null) {
      this.listener.forget(this);
      this.listener = null;
    }
    this.closeError = err;
    this.ackPending = false;
    this.wantOutput = false;
    if (this.user !== null) this.post(EV_CLOSED);
    void notify;
  }

  /** RST to the peer and ECONNRESET-like end for the socket (stack shutdown after the grace period). */
  abortWithReset(now: number): void {
    const s = this.state;
    if (s === TcpState.CLOSED || s === TcpState.TIME_WAIT) return;
    if (s !== TcpState.SYN_SENT && s !== TcpState.LISTEN) this.layer.sendRst(this.localAddr, this.localPort, this.remoteAddr, this.remotePort, this.sndMax, this.rcvNxt, true);
    this.pendingError = ERRNO.ECONNABORTED;
    this.terminate(new TcpError('ECONNABORTED', 'read'), true);
    void now;
  }

  /** The stack is closing: the connection ends without a packet and the socket is destroyed without an error. */
  shutdownSilently(): void {
    const u = this.user;
    this.user = null;
    this.terminate(null, false);
    u?.onStackClosed();
  }

  /** The socket above went away before the connection ended; with `err` the user sees it. */
  abort(code: TcpErrorCode, now: number): void {
    const s = this.state;
    if (s === TcpState.CLOSED) return;
    void now;
    this.pendingError = ERRNO[code];
    const e = new TcpError(code, s === TcpState.SYN_SENT ? 'connect' : 'read');
    this.terminate(e, true);
  }

  // ---------------------------------------------------------------- output

  /** Largest window we can offer (Linux window_clamp): the receive buffer, within what the window field can say. */
  private get windowClamp(): number {
    return Math.min(this.rb.capacity, 0xffff << this.rcvWscale);
  }

  /**
   * The window we would offer now, in bytes (Linux __tcp_select_window): the free space of the receive
   * buffer — bytes the application has not consumed count, wherever they sit. Receiver SWS avoidance (RFC
   * 9293 §3.8.6.2.2) as Linux does it: below half the buffer, quick-ACK mode ends and less than one segment
   * (or 1/16 of the buffer) offers zero; without window scaling the window is a multiple of the peer's
   * segment size, kept while within one segment of the free space.
   */
  private selectWindow(): number {
    const full = this.windowClamp;
    let mss = this.rcvMss;
    if (mss > full) mss = full;
    let free = this.rb.capacity - this.rb.length - this.appBuffered;
    if (free < 0) free = 0;
    if (free < full >> 1) {
      this.quick = 0;
      free -= free & ((1 << this.rcvWscale) - 1);
      if (free < full >> 4 || free < mss) return 0;
    }
    if (free > full) free = full;
    if (this.rcvWscale > 0) {
      const unit = 1 << this.rcvWscale;
      return Math.min((free + unit - 1) & ~(unit - 1), 0xffff << this.rcvWscale);
    }
    let window = this.rcvWnd;
    if (window <= free - mss || window > free) window = free - (free % mss);
    else if (mss === full && free > window + (full >> 1)) window = free;
    return window;
  }

  /** The 16-bit window field for a segment now (never shrinking the offered window, RFC 7323 §2.4); moves RCV.ADV right when it grows. */
  private windowField(): number {
    let win = this.selectWindow();
    const unit = 1 << this.rcvWscale;
    const cur = Math.max(0, (this.rcvAdvRight - this.rcvNxt) | 0);
    let field = win >> this.rcvWscale;
    if (field << this.rcvWscale < cur) field = (cur + unit - 1) >> this.rcvWscale;
    if (field > 0xffff) field = 0xffff;
    win = field << this.rcvWscale;
    this.rcvWnd = win;
    const right = (this.rcvNxt + win) >>> 0;
    if (seqGt(right, this.rcvAdvRight)) this.rcvAdvRight = right;
    return field;
  }

  private fillOptions(now: number, syn: boolean, withSack: boolean): TcpOptions {
    const o = this.opts;
    o.mss = undefined;
    o.wscale = undefined;
    o.sackPermitted = false;
    o.ts = undefined;
    o.sack = undefined;
    o.sackCount = 0;
    if (this.tsOk) {
      this.tsPair.val = this.tsNow(now);
      this.tsPair.ecr = this.tsRecent;
      o.ts = this.tsPair;
    }
    void syn;
    if (withSack && this.sackOk && (this.rb.rangeCount > 0 || this.dsackOn)) {
      const max = this.tsOk ? 3 : 4;
      const out = this.sackOut;
      let n = 0;
      if (this.dsackOn) {
        // RFC 2883 §4: the D-SACK block first, once, then the usual blocks (Linux tcp_options_write).
        this.dsackOn = false;
        out[0] = this.dsackStart;
        out[1] = this.dsackEnd;
        n = 1;
        const k = this.rb.sackBlocks(this.sackTmp, max - 1);
        for (let i = 0; i < 2 * k; i++) out[2 + i] = this.sackTmp[i]!;
        n += k;
      } else {
        n = this.rb.sackBlocks(out, max);
      }
      o.sack = out;
      o.sackCount = n;
    }
    return o;
  }

  /** SYN (active open) or SYN-ACK (simultaneous open / retransmission in SYN-RECEIVED). */
  private sendSyn(withAck: boolean, now: number): void {
    const cfg = this.cfg;
    const o = this.opts;
    o.mss = this.advMss;
    o.sack = undefined;
    o.sackCount = 0;
    if (withAck) {
      o.wscale = this.wsOk ? this.rcvWscale : undefined;
      o.sackPermitted = this.sackOk;
      if (this.tsOk) {
        this.tsPair.val = this.tsNow(now);
        this.tsPair.ecr = this.tsRecent;
        o.ts = this.tsPair;
      } else o.ts = undefined;
    } else {
      o.wscale = cfg.windowScaling ? windowScaleFor(receiveBufferCeiling(cfg)) : undefined;
      o.sackPermitted = cfg.sack;
      if (cfg.timestamps) {
        this.tsPair.val = this.tsNow(now);
        this.tsPair.ecr = 0;
        o.ts = this.tsPair;
      } else o.ts = undefined;
    }
    const win = Math.min(this.rb.free, 0xffff);
    this.rcvWnd = win;
    if (withAck) this.rcvAdvRight = (this.rcvNxt + win) >>> 0;
    this.layer.emit(this, this.iss, withAck ? this.rcvNxt : 0, withAck ? TCP_SYN | TCP_ACK : TCP_SYN, win, o, 0, 0);
    if (seqLe(this.sndMax, this.iss)) {
      this.sndNxt = (this.iss + 1) >>> 0;
      this.sndMax = this.sndNxt;
    }
    this.lastSend = now;
  }

  /** Sends what the windows allow, then a pure ACK if one is still owed; arms the RTO / persist timer. */
  transmit(now: number): void {
    const s = this.state;
    if (s === TcpState.CLOSED || s === TcpState.LISTEN) return;
    if (s === TcpState.SYN_SENT) return;
    if (s === TcpState.SYN_RECEIVED) {
      // RFC 9293 §3.10.7.4: an unacceptable segment here is answered with a plain ACK (the SYN-ACK is the timer's job).
      if (this.ackPending) this.sendAck(now);
      return;
    }
    if (s === TcpState.FIN_WAIT_2 || s === TcpState.TIME_WAIT) {
      if (this.ackPending) this.sendAck(now);
      return;
    }
    const sb = this.sb;
    const smss = this.smss - this.sackOptionBytes();
    let sent = 0;
    // RFC 5681 §4.1: restart from the initial window after an idle period longer than the RTO.
    if (this.sndMax === this.sndUna && sb.length > 0 && this.lastSend > 0 && now - this.lastSend > this.rtt.rto) {
      const iw = this.cfg.initialCwnd * smss;
      if (this.cwnd > iw) this.cwnd = iw;
    }
    if (this.recovery === REC_SACK) sent += this.sackRetransmit(now);
    // Consecutive full segments leave as one super-segment (TSO/GSO): [bSeq, bSeq + bLen), cut at smss.
    const maxSegs = this.layer.tsoSegments(smss);
    let bSeq = 0;
    let bLen = 0;
    let bFlags = 0;
    let bSegs = 0;
    for (let guard = 0; guard < 100000; guard++) {
      // Go-back-N after an RTO: skip what the receiver SACKed.
      if (seqLt(this.sndNxt, this.sndMax) && this.sackOk && !this.scoreboard.empty) {
        const e = this.scoreboard.sackedEnd(this.sndNxt);
        if (e !== -1) this.sndNxt = seqLt(e, this.sndMax) ? e : this.sndMax;
      }
      const offset = (this.sndNxt - this.sndUna - (this.synUnacked ? 1 : 0)) | 0;
      const avail = sb.length - offset;
      const finHere = this.finQueued && this.sndNxt === this.finSeq;
      if (avail <= 0 && !finHere) break;
      const flight = this.recovery === REC_SACK ? this.pipe() : (this.sndNxt - this.sndUna) | 0;
      let cwnd = this.cwnd;
      if (this.recovery === REC_NONE && this.dupAcks > 0 && this.dupAcks < 3) cwnd += this.dupAcks * smss; // limited transmit
      const cwndRoom = cwnd - flight;
      const wndRoom = (this.sndUna + this.sndWnd - this.sndNxt) | 0;
      if (avail <= 0) {
        // A bare FIN (it needs no window, but respects cwnd like Linux).
        if (cwndRoom <= 0 && flight > 0) break;
        if (bLen > 0) {
          this.sendData(bSeq, bLen, bFlags, now, smss);
          bLen = 0;
        }
        this.sendData(this.sndNxt, 0, TCP_FIN | TCP_ACK, now);
        this.sndNxt = (this.sndNxt + 1) >>> 0;
        if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
        sent++;
        break;
      }
      const len = Math.min(smss, avail, wndRoom, cwndRoom);
      if (len <= 0) break;
      if (len < smss && len < avail) {
        // Window- or cwnd-limited partial segment: sender SWS avoidance (RFC 9293 §3.8.6.2.1).
        if (cwndRoom < wndRoom && flight > 0) break;
        if (len < (this.maxSndWnd >> 1) && flight > 0) break;
        if (len < (this.maxSndWnd >> 1) && flight === 0 && this.rtxMode !== RTX_PERSIST) break;
      }
      const retrans = seqLt(this.sndNxt, this.sndMax);
      // Nagle (RFC 896) in Minshall's form, as Linux (tcp_nagle_check / tcp_minshall_check): the last, partial
      // segment waits only while an earlier partial segment is unacknowledged — not behind full ones.
      if (!retrans && len === avail && len < smss && !this.nodelay && flight > 0 && !this.finQueued && seqGt(this.sndSml, this.sndUna) && seqLe(this.sndSml, this.sndNxt)) break;
      let flags = TCP_ACK;
      if (len === avail) flags |= TCP_PSH;
      const end = (this.sndNxt + len) >>> 0;
      if (!retrans && len < smss) this.sndSml = end; // Linux tcp_minshall_update
      if (this.finQueued && end === this.finSeq) flags |= TCP_FIN;
      if (bLen > 0 && this.sndNxt !== ((bSeq + bLen) >>> 0)) {
        this.sendData(bSeq, bLen, bFlags, now, smss);
        bLen = 0;
      }
      if (bLen === 0) {
        bSeq = this.sndNxt;
        bFlags = 0;
        bSegs = 0;
      }
      bLen += len;
      bFlags |= flags;
      bSegs++;
      // A short segment, the FIN, or a full super-segment closes the burst.
      if (len !== smss || flags & TCP_FIN || bSegs >= maxSegs) {
        this.sendData(bSeq, bLen, bFlags, now, smss);
        bLen = 0;
      }
      if (retrans) this.countRetrans();
      else if (!this.rttTiming && !this.tsOk) {
        this.rttTiming = true;
        this.rttSeq = this.sndNxt;
        this.rttTime = now;
      }
      this.sndNxt = flags & TCP_FIN ? (end + 1) >>> 0 : end;
      if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
      sent++;
    }
    if (bLen > 0) this.sendData(bSeq, bLen, bFlags, now, smss);
    if (this.ackPending) this.sendAck(now);
    // Timers.
    if (this.sndMax !== this.sndUna) {
      // New data re-arms the probe (Linux tcp_schedule_loss_probe after tcp_write_xmit); the RTO is not restarted.
      if ((this.rtxMode !== RTX_RTO && this.rtxMode !== RTX_TLP) || (sent > 0 && this.rtxMode === RTX_TLP)) this.armRtoOrProbe(now);
    } else if (this.rtxMode === RTX_RTO || this.rtxMode === RTX_TLP) {
      this.layer.timers.disarm(this.rtxTimer);
      this.rtxMode = RTX_NONE;
    }
    const unsent = sb.length - ((this.sndNxt - this.sndUna - (this.synUnacked ? 1 : 0)) | 0);
    if ((unsent > 0 || (this.finQueued && this.sndNxt === this.finSeq)) && this.sndMax === this.sndUna && this.rtxMode === RTX_NONE) {
      // Nothing in flight and nothing allowed out: the persist timer probes the window (RFC 9293 §3.8.6.1).
      this.armRtx(RTX_PERSIST, now + this.rtt.rto);
    }
    void sent;
  }

  /** RFC 6675 pipe: outstanding bytes not SACKed and not deemed lost (holes below the highest SACK not yet retransmitted). */
  private pipe(): number {
    const sbd = this.scoreboard;
    const high = sbd.highest(this.sndUna);
    const from = seqLt(this.rxtNext, this.sndUna) ? this.sndUna : this.rxtNext;
    return ((this.sndMax - this.sndUna) | 0) - sbd.sacked - sbd.holeBytes(from, high);
  }

  /**
   * RFC 6675 §5 NextSeg rule 1: retransmit holes below the highest SACK while pipe allows. Consecutive full
   * segments leave as one super-segment (as Linux retransmits a TSO skb whole, up to the congestion window):
   * the wire segments are the same, but a receiver refilling a 44-segment hole takes one packet, not 44.
   */
  private sackRetransmit(now: number): number {
    const sbd = this.scoreboard;
    const smss = this.smss - this.sackOptionBytes();
    const maxSegs = this.layer.tsoSegments(smss);
    let bSeq = 0;
    let bLen = 0;
    let bSegs = 0;
    let n = 0;
    for (let guard = 0; guard < 10000; guard++) {
      if (this.cwnd - this.pipe() < this.smss) break;
      let s = seqLt(this.rxtNext, this.sndUna) ? this.sndUna : this.rxtNext;
      for (let e = sbd.sackedEnd(s); e !== -1; e = sbd.sackedEnd(s)) s = e;
      const high = sbd.highest(this.sndUna);
      if (!seqLt(s, high)) break;
      const holeEnd = sbd.nextSackedStart(s);
      const limit = holeEnd === -1 ? high : holeEnd;
      const len = Math.min(smss, (limit - s) | 0);
      if (len <= 0) break;
      const offset = (s - this.sndUna - (this.synUnacked ? 1 : 0)) | 0;
      const end = (s + len) >>> 0;
      const plain = maxSegs > 1 && len === smss && offset + len < this.sb.length && !(this.finQueued && end === this.finSeq);
      if (plain) {
        if (bLen > 0 && s !== ((bSeq + bLen) >>> 0)) {
          this.sendData(bSeq, bLen, TCP_ACK, now, smss);
          bLen = 0;
        }
        if (bLen === 0) {
          bSeq = s;
          bSegs = 0;
        }
        bLen += len;
        bSegs++;
        if (bSegs >= maxSegs) {
          this.sendData(bSeq, bLen, TCP_ACK, now, smss);
          bLen = 0;
        }
        this.countRetrans();
      } else {
        if (bLen > 0) {
          this.sendData(bSeq, bLen, TCP_ACK, now, smss);
          bLen = 0;
        }
        this.retransmitOne(s, now, len);
      }
      if (this.rtxInFlight.length < 3 * 256) this.rtxInFlight.push(s, len, this.sndMax);
      this.rxtNext = end;
      n++;
    }
    if (bLen > 0) this.sendData(bSeq, bLen, TCP_ACK, now, smss);
    return n;
  }

  /**
   * A retransmission still missing below data the receiver SACKed that was sent after it is lost: send it
   * again now (one recovery would otherwise end in an RTO — at 1% loss each way, most recoveries of a 20 MB
   * transfer lose a retransmission).
   */
  private markLostRetransmits(now: number): void {
    const q = this.rtxInFlight;
    const sbd = this.scoreboard;
    const high = sbd.highest(this.sndUna);
    let w = 0;
    for (let i = 0; i < q.length; i += 3) {
      const seq = q[i]!;
      const len = q[i + 1]!;
      const mark = q[i + 2]!;
      const end = (seq + len) >>> 0;
      if (seqLe(end, this.sndUna) || sbd.sackedEnd(seq) !== -1) continue; // arrived
      if (seqGt(high, mark)) {
        this.layer.stats.TcpExt.TCPLostRetransmit++;
        this.retransmitOne(seq, now, len);
        q[w++] = seq;
        q[w++] = len;
        q[w++] = this.sndMax;
        continue;
      }
      q[w++] = seq;
      q[w++] = len;
      q[w++] = mark;
    }
    q.length = w;
  }

  private countRetrans(): void {
    this.retransTotal++;
    this.layer.stats.Tcp.RetransSegs++;
    this.rttTiming = false;
    if (this.layer.feed.active) this.layer.feed.retransmitted(this);
  }

  /** Retransmits one segment at `seq` (at most `max` bytes, default one MSS). */
  /** Option bytes the SACK blocks we would send now take (a full segment must shrink by as much, like Linux's tcp_current_mss). */
  private sackOptionBytes(): number {
    if (!this.sackOk) return 0;
    const n = this.rb.rangeCount + (this.dsackOn ? 1 : 0);
    if (n === 0) return 0;
    return 4 + 8 * Math.min(n, this.tsOk ? 3 : 4);
  }

  private retransmitOne(seq: number, now: number, max = this.smss): void {
    max = Math.min(max, this.smss - this.sackOptionBytes());
    const base = this.synUnacked ? 1 : 0;
    const offset = (seq - this.sndUna - base) | 0;
    let len = Math.min(max, this.sb.length - offset, (this.sndMax - seq) | 0);
    let flags = TCP_ACK;
    if (len < 0) len = 0;
    const end = (seq + len) >>> 0;
    if (this.finQueued && end === this.finSeq && seqGt(this.sndMax, this.finSeq)) flags |= TCP_FIN;
    if (len === 0 && !(flags & TCP_FIN)) return;
    if (len > 0 && offset + len === this.sb.length) flags |= TCP_PSH;
    this.sendData(seq, len, flags, now);
    this.countRetrans();
  }

  /** Emits a data (or FIN) segment with the current ACK and window; above `gsoSize` bytes a super-segment cut at it. */
  private sendData(seq: number, len: number, flags: number, now: number, gsoSize = 0): void {
    const o = this.fillOptions(now, false, true);
    const base = this.synUnacked ? 1 : 0;
    const offset = (seq - this.sndUna - base) | 0;
    this.layer.emit(this, seq, this.rcvNxt, flags, this.windowField(), o, offset, len, gsoSize);
    this.bytesSent += len;
    this.lastSend = now;
    // Linux tcp_event_data_sent: data sent within the delayed-ACK time of the last data received is an answer —
    // interactive (pingpong) mode: the next request's ACK waits for the answer to ride on.
    if (len > 0 && this.ackStarted && now - this.lrcvtime < this.cfg.delayedAckMs) this.pingpong = true;
    this.ackSent();
  }

  private ackSent(): void {
    this.lastAckSent = this.rcvNxt;
    this.ackPending = false;
    // Linux tcp_event_ack_sent → tcp_dec_quickack_mode: each ACK of new data (pure or riding on data) uses one quick ACK.
    if (this.ackScheduled) {
      this.ackScheduled = false;
      if (this.quick > 0) this.quick--;
    }
    this.ackPushed = false;
    this.ackPushed2 = false;
    if (this.delackTimer.armed) this.layer.timers.disarm(this.delackTimer);
  }

  /** A pure ACK (with SACK blocks for what we hold out of order). */
  sendAck(now: number): void {
    const o = this.fillOptions(now, false, true);
    // SEQ = the highest sequence sent, not a SND.NXT pulled back by go-back-N: a pure ACK must stay acceptable
    // to the peer, whose RCV.NXT may already be past our retransmission point (Linux tcp_acceptable_seq).
    this.layer.emit(this, this.sndMax, this.rcvNxt, TCP_ACK, this.windowField(), o, 0, 0);
    this.ackSent();
  }

  /** Zero-length probe with SEQ = SND.UNA − 1 (Linux tcp_xmit_probe_skb): the peer must answer with an ACK. */
  private sendProbe(now: number): void {
    const o = this.fillOptions(now, false, false);
    this.layer.emit(this, (this.sndUna - 1) >>> 0, this.rcvNxt, TCP_ACK, this.windowField(), o, 0, 0);
    this.ackSent();
  }

  // ---------------------------------------------------------------- timers

  /**
   * With data in flight: the tail loss probe timer when a probe may go (RFC 8985 §7.2: SACK on, not in loss
   * recovery, no probe outstanding, an RTT measured), else the RTO. The probe timeout: rtt.ts probeTimeout.
   */
  private armRtoOrProbe(now: number): void {
    const rto = this.rtt.rto;
    if (this.cfg.tailLossProbe && this.sackOk && this.recovery === REC_NONE && !this.tlpOut && this.retransmits === 0 && this.rtt.hasSample) {
      const flight = (this.sndMax - this.sndUna) | 0;
      this.armRtx(RTX_TLP, now + probeTimeout(this.rtt.srtt, flight <= this.smss, this.cfg, rto));
      return;
    }
    this.armRtx(RTX_RTO, now + rto);
  }

  /**
   * The probe timeout fired (RFC 8985 §7.3): the most recent segment goes out again, so that a lost tail is
   * reported by an ACK (and repaired by SACK recovery) rather than after an RTO. Then the RTO runs.
   */
  private sendLossProbe(now: number): void {
    if (this.sndMax === this.sndUna) return;
    this.layer.stats.TcpExt.TCPLossProbes++;
    const finSent = this.finQueued && seqGt(this.sndMax, this.finSeq);
    const dataEnd = finSent ? this.finSeq : this.sndMax;
    const inFlight = Math.max(0, (dataEnd - this.sndUna - (this.synUnacked ? 1 : 0)) | 0);
    const len = Math.min(this.smss - this.sackOptionBytes(), inFlight);
    this.retransmitOne((dataEnd - len) >>> 0, now, Math.max(len, 1));
    this.tlpHighSeq = this.sndMax;
    this.tlpOut = true;
    this.armRtx(RTX_RTO, now + this.rtt.rto);
  }

  private armRtx(mode: number, deadline: number): void {
    this.rtxMode = mode;
    this.layer.timers.arm(this.rtxTimer, deadline);
  }

  private onRtxTimer(now: number): void {
    const mode = this.rtxMode;
    this.rtxMode = RTX_NONE;
    if (mode === RTX_PERSIST) {
      this.onPersistTimer(now);
      return;
    }
    if (mode === RTX_TLP) {
      this.sendLossProbe(now);
      return;
    }
    const s = this.state;
    const cfg = this.cfg;
    const x = this.layer.stats.TcpExt;
    if (s === TcpState.SYN_SENT || (s === TcpState.SYN_RECEIVED && this.listener === null)) {
      this.retransmits++;
      const limit = s === TcpState.SYN_SENT ? cfg.synRetries : cfg.synAckRetries;
      if (this.retransmits > limit) {
        x.TCPAbortOnTimeout++;
        this.abort(this.softError ?? 'ETIMEDOUT', now);
        return;
      }
      this.synRetransmitted = true;
      x.TCPTimeouts++;
      this.rtt.backOff();
      this.sendSyn(s === TcpState.SYN_RECEIVED, now);
      this.countRetrans();
      this.armRtx(RTX_RTO, now + this.rtt.rto);
      return;
    }
    if (this.sndMax === this.sndUna) return;
    // Linux tcp_retransmit_timer: against a zero window the retransmissions are probes; only silence for TCP_RTO_MAX ends it.
    if (this.sndWnd === 0 && now - this.lastRecv <= cfg.maxRto) this.retransmits = Math.min(this.retransmits, cfg.retries2 - 1);
    this.retransmits++;
    if (this.retransmits > cfg.retries2) {
      x.TCPAbortOnTimeout++;
      this.abort(this.softError ?? 'ETIMEDOUT', now);
      return;
    }
    x.TCPTimeouts++;
    // RFC 5681 §3.1 eq. (4) on the first timeout only; cwnd = loss window.
    if (this.retransmits === 1 || this.recovery !== REC_NONE) this.ssthresh = this.cc.ssthreshOnLoss(this, (this.sndMax - this.sndUna) | 0, now);
    this.cwnd = this.smss;
    this.cc.onTimeout(this);
    this.recovery = REC_NONE;
    this.recover = this.sndMax;
    this.dupAcks = 0;
    this.scoreboard.clear(); // RFC 2018 §8: forget SACK information after a timeout
    this.rtxInFlight.length = 0;
    this.tlpOut = false;
    this.rttTiming = false;
    this.rtt.backOff();
    this.sndNxt = this.sndUna;
    if (this.synUnacked) this.sndNxt = (this.iss + 1) >>> 0;
    this.transmit(now);
    if (this.sndNxt === this.sndUna && this.sndMax !== this.sndUna) {
      // Nothing could go out (zero window): retransmit the head anyway, like Linux.
      this.retransmitOne(this.sndUna, now);
    }
    this.armRtx(RTX_RTO, now + this.rtt.rto);
  }

  private onPersistTimer(now: number): void {
    const s = this.state;
    if (s === TcpState.CLOSED || s === TcpState.TIME_WAIT) return;
    const offset = (this.sndNxt - this.sndUna) | 0;
    const unsent = this.sb.length - offset;
    if (unsent <= 0 && !(this.finQueued && this.sndNxt === this.finSeq)) return;
    if (this.sndMax !== this.sndUna) return;
    this.layer.stats.TcpExt.TCPWinProbe++;
    if (this.sndWnd > 0) {
      // The window is open but too small for the SWS rule: send what fits (the override timeout).
      this.rtxMode = RTX_PERSIST;
      this.transmit(now);
      if (this.sndMax !== this.sndUna) return;
    }
    if (this.probesOut >= this.cfg.retries2) {
      // Linux tcp_probe_timer: probes left unanswered that long mean the peer is gone.
      this.layer.stats.TcpExt.TCPAbortOnTimeout++;
      this.abort(this.softError ?? 'ETIMEDOUT', now);
      return;
    }
    this.sendProbe(now);
    this.probesOut++;
    this.rtt.backOff();
    this.armRtx(RTX_PERSIST, now + this.rtt.rto);
  }

  private onDelackTimer(now: number): void {
    if (this.state === TcpState.CLOSED) return;
    // Linux tcp_delack_timer_handler: the ACK did not ride on a reply in time, so leave interactive mode.
    if (this.ackScheduled) this.pingpong = false;
    this.ackPending = true;
    this.transmit(now);
  }

  private armKeepalive(now: number): void {
    if (!this.keepalive) return;
    this.layer.timers.arm(this.keepTimer, Math.max(now, this.lastRecv) + this.keepIdleMs);
  }

  private onKeepaliveTimer(now: number): void {
    const s = this.state;
    if (!this.keepalive || (s !== TcpState.ESTABLISHED && s !== TcpState.CLOSE_WAIT && s !== TcpState.FIN_WAIT_2)) return;
    const idle = now - this.lastRecv;
    if (this.probesOut === 0 && idle < this.keepIdleMs) {
      this.layer.timers.arm(this.keepTimer, this.lastRecv + this.keepIdleMs);
      return;
    }
    if (this.probesOut > 0 && idle < this.keepIdleMs) {
      this.probesOut = 0;
      this.layer.timers.arm(this.keepTimer, this.lastRecv + this.keepIdleMs);
      return;
    }
    if (this.probesOut >= this.keepProbes) {
      // Linux tcp_keepalive_timer: the peer is gone — tcp_send_active_reset (RST with SEQ = SND.NXT, ACK =
      // RCV.NXT) tells any middlebox or half-alive peer, then tcp_write_err reports ETIMEDOUT.
      this.layer.sendRst(this.localAddr, this.localPort, this.remoteAddr, this.remotePort, this.sndMax, this.rcvNxt, true);
      this.layer.stats.TcpExt.TCPAbortOnTimeout++;
      this.abort(this.softError ?? 'ETIMEDOUT', now);
      return;
    }
    this.layer.stats.TcpExt.TCPKeepAlive++;
    this.sendProbe(now);
    this.probesOut++;
    this.layer.timers.arm(this.keepTimer, now + this.keepIntervalMs);
  }

  private onWaitTimer(now: number): void {
    void now;
    if (this.state === TcpState.TIME_WAIT || this.state === TcpState.FIN_WAIT_2) this.terminate(null, true);
  }

  // ---------------------------------------------------------------- ICMP (RFC 5927, RFC 1122 §4.2.3.9)

  /** An ICMP error quoting one of our segments with sequence `seq`. */
  icmpError(type: number, code: number, info: number, seq: number, now: number): void {
    const x = this.layer.stats.TcpExt;
    // RFC 5927 §4.1: believe it only if the quoted sequence number is one we have outstanding.
    if (!(seqGe(seq, this.sndUna) && seqLe(seq, this.sndMax)) || this.state === TcpState.TIME_WAIT) {
      x.IcmpForgedDrops++;
      this.layer.stats.drop('tcp.icmp-out-of-window');
      return;
    }
    if (type === 3 && code === 4) {
      // Fragmentation needed: lower the path MTU and resend smaller (RFC 1191).
      const mtu = info & 0xffff;
      if (mtu < 68) return;
      const mss = Math.max(mtu - 40, 48);
      if (mss >= this.pmtuMss && mss >= Math.min(this.peerMss, this.advMss)) return;
      this.pmtuMss = mss;
      this.updateMss();
      if (this.sndMax !== this.sndUna && this.state !== TcpState.SYN_SENT) {
        this.sndNxt = this.sndUna;
        this.rttTiming = false;
        this.wantOutput = true;
        this.layer.markDirty(this);
      }
      return;
    }
    let err: TcpErrorCode | null = null;
    if (type === 3) {
      if (code === 2) err = 'ENOPROTOOPT';
      else if (code === 3) err = 'ECONNREFUSED';
      else if (code === 0 || code === 6 || code === 9 || code === 11) err = 'ENETUNREACH';
      else err = 'EHOSTUNREACH';
    } else if (type === 11) {
      err = 'EHOSTUNREACH';
    }
    if (err === null) return;
    if (this.state === TcpState.SYN_SENT || (this.state === TcpState.SYN_RECEIVED && this.listener === null)) {
      // Linux tcp_v4_err: during the handshake an unreachable ends the attempt.
      this.pendingError = ERRNO[err];
      this.terminate(new TcpError(err, 'connect'), true);
      return;
    }
    this.softError = err;
    void now;
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
      rcvWnd: Math.max(0, (this.rcvAdvRight - this.rcvNxt) | 0),
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
