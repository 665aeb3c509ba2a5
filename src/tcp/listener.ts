/**
 * A listening endpoint: the SYN queue (half-open connections as compact
 * records, with SYN-ACK retransmission on the stack's timer queue and
 * expiry, like Linux's request socks) and the accept queue (established
 * connections waiting for the application), each bounded by the backlog.
 * When the SYN queue is full (or always, in mode 2) SYN cookies answer
 * instead (RFC 4987, Linux tcp_syncookies); the returning ACK is validated
 * before any state exists. A full accept queue drops the final ACK
 * (ListenOverflows, ListenDrops): the peer retries, as with Linux.
 */
import { isV6 } from './addresses.js';
import { Timer } from '../clock.js';
import { FASTOPEN_COOKIE_MAX, TCP_ACK, TCP_ECE, TCP_FIN, TCP_RST, TCP_SYN, type TcpFastOpenOption, type TcpHeader, type TcpOptions } from '../wire/tcp.js';
import type { FastOpenContext, FastOpenKeys } from './fastopen.js';
import { ecnSynAccepted } from './ecn.js';
import { accEcnSynAccepted, accEcnSynAck } from './accecn.js';
import type { AccEcnOption } from '../wire/tcp.js';
import { openFastOpenChild, tryFastOpen, type FastOpenListener } from './fastopen-passive.js';
import type { FastOpenQueue } from './tcb.js';
import { receiveBufferCeiling, windowScaleFor } from './config.js';
import { TcpConnection } from './connection.js';
import { TcpState, type PassiveOpen } from './state.js';
import type { TcpConfig } from './config.js';
import type { ConnectionHost } from './tcb.js';
import { seqAdd, seqLt } from './seq.js';
import { SynCookies, COOKIE_PERIOD_MS } from './syn-cookies.js';
import { DOUBLE_ZERO } from '../shape.js';
import { tsClock } from './ts-clock.js';

/** One SYN-queue entry: what the SYN negotiated, nothing more (no buffers, no connection). */
class HalfOpen {
  readonly timer: Timer;
  retries = 0;
  sentAt = DOUBLE_ZERO;
  /** The final ACK came while the accept queue was full. */
  acked = false;
  /** The SYN asked for ECN and we agree: ECE on the SYN-ACK (Linux inet_rsk(req)->ecn_ok). */
  ecnOk = false;
  /** The SYN asked for AccECN and we agree (Linux tcp_rsk(req)->accecn_ok): the SYN's ECN field, echoed in the SYN-ACK's ACE; -1 = no AccECN. */
  accecnSynEct = -1;
  constructor(
    readonly listener: TcpListener,
    readonly key: number,
    readonly localAddr: number,
    readonly remoteAddr: number,
    readonly remotePort: number,
    readonly iss: number,
    readonly irs: number,
    readonly peerMss: number,
    readonly peerWscale: number,
    readonly sackOk: boolean,
    readonly tsOk: boolean,
    public tsRecent: number,
    readonly peerWindow: number,
    readonly advMss: number,
  ) {
    this.timer = new Timer((now) => listener.synAckTimeout(this, now));
  }
}

/** What a listener needs from its TCP layer (src/tcp/layer.ts implements it). */
export interface ListenerHost extends ConnectionHost {
  readonly config: TcpConfig;
  readonly cookies: SynCookies;
  /** Fast Open keys and cookie cache (src/tcp/fastopen.ts). */
  readonly fastOpen: FastOpenContext;
  /** Connections and TIME-WAIT pairs; of which in TIME-WAIT. */
  readonly connectionCount: number;
  readonly timeWaitCount: number;
  /** Emits a segment that belongs to no connection object (SYN-ACKs, RSTs). */
  emitRaw(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, seq: number, ack: number, flags: number, window: number, opts: TcpOptions | undefined): void;
  /** Puts a new connection into the 4-tuple table. */
  hash(c: TcpConnection): void;
  markListenerDirty(l: TcpListener): void;
  removeListener(l: TcpListener): void;
}

export class TcpListener implements FastOpenListener {
  readonly synQueue = new Map<number, HalfOpen>();
  /** TCP_FASTOPEN's queue length: pending Fast Open children allowed (0 = off unless tcp_fastopen has 0x400). */
  fastOpenMax = 0;
  /** TCP_FASTOPEN_NO_COOKIE: SYN data accepted without a cookie. */
  fastOpenNoCookie = false;
  /** TCP_FASTOPEN_KEY on this listener (else the stack's key). */
  fastOpenKeys: FastOpenKeys | null = null;
  readonly fastOpenQueue: FastOpenQueue = { pending: 0 };
  private readonly fastOpenOption: TcpFastOpenOption = { cookie: new Uint8Array(FASTOPEN_COOKIE_MAX), len: 0, exp: false };
  readonly acceptQueue: TcpConnection[] = [];
  dirty = false;
  closed = false;
  /** Called from the egress pass when connections are waiting in the accept queue. */
  onAcceptable: (() => void) | null = null;
  private lastCookieSent = -Infinity;
  private readonly opts: TcpOptions = {};
  /** The AccECN option of our SYN-ACKs (reused). */
  private readonly accecnOpt: AccEcnOption = { fields: 0, e1b: 0, ceb: 0, e0b: 0 };
  private readonly ts = { val: 0, ecr: 0 };

  constructor(
    readonly layer: ListenerHost,
    /** 0 = every local address. */
    readonly localAddr: number,
    readonly localPort: number,
    /** Bound of each queue (listen()'s backlog capped by somaxconn). */
    public backlog: number,
  ) {}

  /** TCP_MAXSEG set on the listening socket (Linux tp->rx_opt.user_mss, copied to every child); 0: none. */
  userMss = 0;
  /** IPV6_V6ONLY on an IPv6 wildcard (`::`) listener: it takes no IPv4 connections. */
  v6only = false;

  /** MSS the SYN-ACK announces (and the child uses) towards `remote`: the layer's, lowered by the listener's TCP_MAXSEG. */
  advertisedMss(remote: number): number {
    const mss = this.layer.advertisedMss(remote);
    return this.userMss > 0 ? Math.min(mss, this.userMss) : mss;
  }

  get acceptQueueLength(): number {
    return this.acceptQueue.length;
  }

  get synQueueLength(): number {
    return this.synQueue.size;
  }

  /** Linux sk_acceptq_is_full: more than `backlog` waiting. */
  private acceptQueueFull(): boolean {
    return this.acceptQueue.length > this.backlog;
  }

  /** A segment for this listener (no connection matched). `isnHint` ≥ 0 when a SYN takes over a TIME-WAIT. */
  input(h: TcpHeader, pkt: Uint8Array, payloadStart: number, local: number, remote: number, now: number, isnHint: number): void {
    const layer = this.layer;
    const st = layer.stats;
    const flags = h.flags;
    const key = remote * 65536 + h.srcPort;
    // First: RST (RFC 9293 §3.10.7.2) — it may end a half-open entry (Linux tcp_check_req).
    if (flags & TCP_RST) {
      const e = this.synQueue.get(key);
      if (e !== undefined && h.seq === seqAdd(e.irs, 1)) {
        this.drop(e);
        st.Tcp.AttemptFails++;
      }
      st.drop('tcp.listen-rst');
      return;
    }
    // Second: an ACK completes a handshake, validates a cookie, or earns a RST.
    if (flags & TCP_ACK) {
      if (flags & TCP_SYN) {
        st.drop('tcp.listen-syn-ack');
        layer.sendRst(local, this.localPort, remote, h.srcPort, h.ack, 0, false);
        return;
      }
      const e = this.synQueue.get(key);
      if (e !== undefined) {
        if (h.ack !== seqAdd(e.iss, 1)) {
          st.drop('tcp.syn-recv-bad-ack');
          layer.sendRst(local, this.localPort, remote, h.srcPort, h.ack, 0, false);
          return;
        }
        if (seqLt(h.seq, seqAdd(e.irs, 1))) {
          st.drop('tcp.syn-recv-old-seq');
          return;
        }
        if (this.acceptQueueFull()) {
          e.acked = true;
          st.TcpExt.ListenOverflows++;
          st.TcpExt.ListenDrops++;
          st.drop('tcp.accept-queue-full');
          return;
        }
        // At the connection cap the ACK is dropped and the half-open kept, as for a full accept queue:
        // the SYN-ACK is retransmitted and the peer's next ACK gets in once a connection has closed.
        if (this.atConnectionCap()) {
          e.acked = true;
          return;
        }
        this.drop(e);
        this.createChild(
          {
            iss: e.iss,
            irs: e.irs,
            peerMss: e.peerMss,
            peerWscale: e.peerWscale,
            sackOk: e.sackOk,
            tsOk: e.tsOk,
            tsRecent: e.tsRecent,
            peerWindow: e.peerWindow,
            advMss: e.advMss,
            synAckSentAt: e.sentAt,
            retransmitted: e.retries > 0,
            ecnOk: e.ecnOk,
            accecnSynEct: e.accecnSynEct,
          },
          local,
          remote,
          h,
          pkt,
          payloadStart,
          now,
        );
        return;
      }
      const cfg = layer.config;
      if (cfg.syncookies === 2 || (cfg.syncookies === 1 && now - this.lastCookieSent < 2 * COOKIE_PERIOD_MS)) {
        const cookie = seqAdd(h.ack, -1);
        const peerIsn = seqAdd(h.seq, -1);
        const mss = layer.cookies.check(local, this.localPort, remote, h.srcPort, peerIsn, cookie, now);
        if (mss > 0) {
          const tsOk = cfg.timestamps && h.tsPresent && h.tsEcr !== 0;
          const o = tsOk ? SynCookies.decodeTimestamp(h.tsEcr) : { wscale: -1, sackOk: false };
          if (o !== null) {
            if (this.acceptQueueFull()) {
              st.TcpExt.ListenOverflows++;
              st.TcpExt.ListenDrops++;
              st.drop('tcp.accept-queue-full');
              return;
            }
            if (this.atConnectionCap()) return;
            st.TcpExt.SyncookiesRecv++;
            if (layer.probe.active) layer.probe.cookie('ok', local, this.localPort, remote, h.srcPort);
            const advMss = this.advertisedMss(remote);
            this.createChild(
              {
                iss: cookie,
                irs: peerIsn,
                peerMss: mss,
                peerWscale: cfg.windowScaling ? o.wscale : -1,
                sackOk: o.sackOk,
                tsOk,
                tsRecent: h.tsVal,
                // The SYN's window is gone; the ACK's (scaled) window stands in until the next update.
                peerWindow: h.window << (o.wscale >= 0 && cfg.windowScaling ? Math.min(o.wscale, 14) : 0),
                advMss,
                synAckSentAt: -1,
                retransmitted: false,
              },
              local,
              remote,
              h,
              pkt,
              payloadStart,
              now,
            );
            return;
          }
        }
        st.TcpExt.SyncookiesFailed++;
        if (layer.probe.active) layer.probe.cookie('failed', local, this.localPort, remote, h.srcPort);
      }
      st.drop('tcp.listen-stray-ack');
      layer.sendRst(local, this.localPort, remote, h.srcPort, h.ack, 0, false);
      return;
    }
    // Third: SYN.
    if (!(flags & TCP_SYN)) {
      st.drop('tcp.listen-no-syn');
      return;
    }
    if (flags & TCP_FIN) {
      // Linux discards SYN+FIN in LISTEN.
      st.drop('tcp.syn-fin');
      return;
    }
    const existing = this.synQueue.get(key);
    if (existing !== undefined) {
      if (existing.irs === h.seq) {
        // A retransmitted SYN: the SYN-ACK again.
        this.sendSynAck(existing, now, undefined, existing.retries);
      } else st.drop('tcp.syn-recv-other-syn');
      return;
    }
    if (this.acceptQueueFull()) {
      st.TcpExt.ListenOverflows++;
      st.TcpExt.ListenDrops++;
      st.drop('tcp.accept-queue-full');
      return;
    }
    if (this.atConnectionCap()) return;
    const cfg = layer.config;
    const advMss = this.advertisedMss(remote);
    if (cfg.syncookies === 2 || this.synQueue.size >= this.backlog) {
      if (cfg.syncookies === 0) {
        st.TcpExt.ListenDrops++;
        st.drop('tcp.syn-queue-full');
        return;
      }
      this.sendCookie(h, local, remote, advMss, now);
      return;
    }
    const iss = isnHint >= 0 ? isnHint : layer.isn(local, this.localPort, remote, h.srcPort, now);
    const tsOk = cfg.timestamps && h.tsPresent;
    let fastOpenCookie: TcpFastOpenOption | undefined;
    if (h.payloadLength > 0 || h.foLen >= 0) {
      // RFC 7413 §4.2.2 (Linux tcp_try_fastopen): a child at once, or a cookie for the SYN-ACK.
      const keys = this.fastOpenKeys ?? layer.fastOpen.keys();
      const v = tryFastOpen(this, cfg, st, keys, h, local, remote, this.fastOpenOption, () => this.fastOpenChild(h, pkt, payloadStart, local, remote, iss, tsOk, advMss, now));
      if (v === 'child') return;
      if (v !== null) fastOpenCookie = v;
    }
    const e = new HalfOpen(this, key, local, remote, h.srcPort, iss, h.seq, h.mss, cfg.windowScaling ? h.wscale : -1, cfg.sack && h.sackPermitted, tsOk, h.tsVal, h.window, advMss);
    e.ecnOk = ecnSynAccepted(cfg.ecn, h.flags, this.layer.rxIpEcn);
    if (accEcnSynAccepted(cfg.ecn, h.flags)) e.accecnSynEct = this.layer.rxIpEcn;
    this.synQueue.set(key, e);
    e.sentAt = now;
    this.sendSynAck(e, now, fastOpenCookie);
    // Linux: the SYN-ACK is retransmitted after 1 s, then 2, 4, 8, 16 s (tcp_synack_retries = 5).
    layer.timers.arm(e.timer, now + layer.config.initialRto);
  }

  private synAckOptions(local: number, remote: number, remotePort: number, mss: number, peerWscale: number, sackOk: boolean, tsOk: boolean, tsEcr: number, now: number, cookieTs: boolean, fastOpen?: TcpFastOpenOption): TcpOptions {
    const cfg = this.layer.config;
    const o = this.opts;
    o.mss = mss;
    o.fastOpen = fastOpen;
    o.accecn = undefined;
    o.sack = undefined;
    o.sackCount = 0;
    o.wscale = peerWscale >= 0 && cfg.windowScaling ? windowScaleFor(receiveBufferCeiling(cfg)) : undefined;
    o.sackPermitted = sackOk;
    if (tsOk) {
      const tsNow = tsClock(now, this.layer.tsOffset(local, this.localPort, remote, remotePort));
      this.ts.val = cookieTs ? SynCookies.encodeTimestamp(tsNow, { wscale: peerWscale, sackOk }) : tsNow;
      this.ts.ecr = tsEcr;
      o.ts = this.ts;
    } else o.ts = undefined;
    return o;
  }

  /**
   * The SYN-ACK of a SYN-queue entry; the first may carry a Fast Open cookie (retransmissions do not, as Linux's
   * tcp_rtx_synack). `numTimeout`: Linux's req->num_timeout for a retransmission (undefined for the first).
   */
  private sendSynAck(e: HalfOpen, now: number, fastOpen?: TcpFastOpenOption, numTimeout?: number): void {
    const o = this.synAckOptions(e.localAddr, e.remoteAddr, e.remotePort, e.advMss, e.peerWscale, e.sackOk, e.tsOk, e.tsRecent, now, false, fastOpen);
    const win = Math.min(this.layer.config.rmem, 0xffff);
    let flags = e.ecnOk ? TCP_SYN | TCP_ACK | TCP_ECE : TCP_SYN | TCP_ACK;
    if (e.accecnSynEct >= 0) flags = accEcnSynAck(this.layer.config, o, this.accecnOpt, e.accecnSynEct, numTimeout);
    this.layer.emitRaw(e.localAddr, this.localPort, e.remoteAddr, e.remotePort, e.iss, seqAdd(e.irs, 1), flags, win, o);
  }

  /** A stateless SYN-ACK whose ISN is a cookie. Without timestamps only the MSS survives (Linux clears the other options). */
  private sendCookie(h: TcpHeader, local: number, remote: number, advMss: number, now: number): void {
    const layer = this.layer;
    const cfg = layer.config;
    const peerMss = h.mss > 0 ? h.mss : 536;
    const mss = advMss;
    const cookie = layer.cookies.make(local, this.localPort, remote, h.srcPort, h.seq, peerMss, now);
    const tsOk = cfg.timestamps && h.tsPresent;
    const o = this.synAckOptions(local, remote, h.srcPort, mss, tsOk && cfg.windowScaling ? h.wscale : -1, tsOk && cfg.sack && h.sackPermitted, tsOk, h.tsVal, now, true);
    const win = Math.min(cfg.rmem, 0xffff);
    layer.emitRaw(local, this.localPort, remote, h.srcPort, cookie, seqAdd(h.seq, 1), TCP_SYN | TCP_ACK, win, o);
    layer.stats.TcpExt.SyncookiesSent++;
    if (layer.probe.active) layer.probe.cookie('sent', local, this.localPort, remote, h.srcPort);
    this.lastCookieSent = now;
  }

  /** SYN-ACK retransmission timer of one half-open entry. */
  synAckTimeout(e: HalfOpen, now: number): void {
    if (this.synQueue.get(e.key) !== e) return;
    const max = this.layer.config.synAckRetries;
    if (e.retries >= max) {
      this.drop(e);
      this.layer.stats.drop('tcp.syn-recv-timeout');
      return;
    }
    e.retries++;
    this.sendSynAck(e, now, undefined, e.retries - 1);
    this.layer.stats.Tcp.RetransSegs++;
    this.layer.timers.arm(e.timer, now + this.layer.config.initialRto * 2 ** e.retries);
  }

  /** At maxConnections (TIME-WAIT not counted): the segment is dropped and counted; the peer will retry. */
  private atConnectionCap(): boolean {
    const layer = this.layer;
    if (layer.connectionCount - layer.timeWaitCount < layer.config.maxConnections) return false;
    layer.stats.TcpExt.ListenDrops++;
    layer.stats.drop('tcp.max-connections');
    return true;
  }

  private drop(e: HalfOpen): void {
    this.synQueue.delete(e.key);
    this.layer.timers.disarm(e.timer);
  }

  private createChild(p: PassiveOpen, local: number, remote: number, h: TcpHeader, pkt: Uint8Array, payloadStart: number, now: number): void {
    const layer = this.layer;
    const c = new TcpConnection(layer, local, this.localPort, remote, h.srcPort, layer.config);
    if (isV6(this.localAddr)) c.v6Socket = true; // a child of an AF_INET6 listener: an IPv4 peer shows as ::ffff:a.b.c.d
    c.listener = this;
    c.openPassive(p, now);
    layer.hash(c);
    // The ACK (and any data or FIN with it) goes through the state machine: SYN-RECEIVED → ESTABLISHED.
    c.segmentArrives(h, pkt, payloadStart, now);
    if (c.state === TcpState.SYN_RECEIVED) {
      // Not acceptable after all: forget it silently.
      c.terminate(null);
    }
  }

  /**
   * A Fast Open child (RFC 7413 §4.2.2; Linux tcp_fastopen_create_child): SYN-RECEIVED with the SYN's data
   * queued, its SYN-ACK sent, straight into the accept queue. False when it cannot be made (the accept queue
   * is full, or the connection cap): the SYN then goes on as an ordinary one.
   */
  private fastOpenChild(h: TcpHeader, pkt: Uint8Array, payloadStart: number, local: number, remote: number, iss: number, tsOk: boolean, advMss: number, now: number): boolean {
    const layer = this.layer;
    const cfg = layer.config;
    const c = new TcpConnection(layer, local, this.localPort, remote, h.srcPort, cfg);
    if (isV6(this.localAddr)) c.v6Socket = true; // a child of an AF_INET6 listener: an IPv4 peer shows as ::ffff:a.b.c.d
    c.listener = this;
    const p: PassiveOpen = {
      iss,
      irs: h.seq,
      peerMss: h.mss,
      peerWscale: cfg.windowScaling ? h.wscale : -1,
      sackOk: cfg.sack && h.sackPermitted,
      tsOk,
      tsRecent: h.tsVal,
      peerWindow: h.window,
      advMss,
      synAckSentAt: now,
      retransmitted: false,
      ecnOk: ecnSynAccepted(cfg.ecn, h.flags, layer.rxIpEcn),
      accecnSynEct: accEcnSynAccepted(cfg.ecn, h.flags) ? layer.rxIpEcn : -1,
    };
    layer.hash(c);
    openFastOpenChild(c, p, h, pkt, payloadStart, this.fastOpenQueue, now);
    // Linux counts the passive open when the child is made (tcp_create_openreq_child).
    layer.stats.Tcp.PassiveOpens++;
    this.established(c, now);
    return true;
  }

  /** Called by a child entering ESTABLISHED. */
  established(c: TcpConnection, now: number): void {
    this.acceptQueue.push(c);
    this.layer.markListenerDirty(this);
  }

  /** Is `c` in the accept queue? */
  holds(c: TcpConnection): boolean {
    return this.acceptQueue.includes(c);
  }

  /** A child leaves the accept queue before being accepted (it ended without an error, or went to TIME-WAIT). */
  forget(c: TcpConnection): void {
    const i = this.acceptQueue.indexOf(c);
    if (i >= 0) this.acceptQueue.splice(i, 1);
  }

  /** Takes the oldest established connection, or null. */
  accept(): TcpConnection | null {
    const c = this.acceptQueue.shift();
    if (c === undefined) return null;
    c.listener = null;
    return c;
  }

  service(now: number): void {
    if (this.acceptQueue.length > 0 && this.onAcceptable) this.onAcceptable();
  }

  /** Stops listening: half-open entries vanish, queued connections are reset. */
  close(now: number): void {
    if (this.closed) return;
    this.closed = true;
    this.layer.removeListener(this);
    for (const e of this.synQueue.values()) this.layer.timers.disarm(e.timer);
    this.synQueue.clear();
    for (const c of this.acceptQueue.splice(0)) {
      c.listener = null;
      c.reset(now);
    }
  }
}
