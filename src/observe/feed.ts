/**
 * The event feed: a bounded, low-overhead stream of what the stack does —
 * connection state transitions, per-listener queue occupancy, per-connection
 * cwnd/ssthresh/srtt/rto/rwnd samples, retransmissions, SYN cookies, drop
 * reasons, reassembly outcomes, and (for a followed connection or port) every
 * segment in and out.
 *
 * Cost model:
 *   - No subscriber: every emission point in the packet path is one property
 *     test (`if (feed.active)` / `if (feed.segActive)`) — no call, no
 *     allocation. The sample timer is not armed.
 *   - With subscribers: events are small objects pushed into a bounded ring
 *     per subscriber; serializing and writing happen later, on setImmediate,
 *     never inside the packet path. Samples come from one timer on the
 *     stack's TimerQueue at `sampleMs`, not per packet. Per-tick budgets cap
 *     floods of events (state changes, cookies, segments); what they leave
 *     out is reported as a `suppressed` event.
 *   - A subscriber whose ring fills (it does not read, or reads too slowly)
 *     is disconnected; at the subscriber cap, the slowest one (the fullest
 *     ring) is dropped to make room. The stack never waits for anyone.
 */
import { Timer, type Clock, type TimerQueue } from '../clock.js';
import type { Stats } from '../stats.js';
import type { CwndCause, ProbedConnection, TcpProbe } from '../tcp/probe.js';
import { STATE_NAMES, TcpState } from '../tcp/state.js';
import { isV6 } from '../tcp/addresses.js';
import type { TcpHeader } from '../wire/tcp.js';
import { fastOpenNote, SynDataMemory } from './fast-open-marks.js';
import { ipToString } from '../wire/bytes.js';
import type { ConnRow, CounterGroups, ListenerRow, ObsEvent } from './events.js';
import type { DropReason } from '../drop-reasons.js';

/** What the feed reads from its stack (lazily: the transports are built after the feed). */
export interface FeedHost {
  readonly clock: Clock;
  readonly timers: TimerQueue;
  readonly stats: Stats;
  readonly tcp: {
    connections(): ProbedConnection[];
    listenerList(): readonly ListenerLike[];
    /** Text of a TCP address of either family (src/tcp/addresses.ts). */
    formatAddress(a: number, v6Socket: boolean): string;
  };
}

/** The parts of a TcpListener the feed samples. */
export interface ListenerLike {
  readonly localAddr: number;
  readonly localPort: number;
  readonly synQueueLength: number;
  readonly acceptQueueLength: number;
  readonly backlog: number;
}

/** The transport of one subscriber (an SSE response, a WebSocket, a control-socket connection). */
export interface SubscriberSink {
  /** A batch of events, oldest first. Return false when the transport is full: delivery pauses until `feed.resume(sub)`. */
  deliver(events: ObsEvent[]): boolean;
  /** The feed ended the subscription (`reason` says why); the transport should close. Not called after `unsubscribe`. */
  closed(reason: string): void;
}

export interface SubscribeOptions {
  /** Follow one connection (by feed id): its segments, samples, state changes and retransmissions only. */
  conn?: number;
  /** Follow every connection and segment with this local or remote port. */
  port?: number;
  /** Ring size in events (default: the feed's `ringCapacity`). */
  capacity?: number;
  /** A name for logs and `bye` reasons (e.g. `sse 10.77.0.1:40000`). */
  label?: string;
}

const BUDGET_STATE = 400;
const BUDGET_COOKIE = 64;
const BUDGET_RETRANS = 256;
const BUDGET_REASM = 64;
const BUDGET_CWND = 256;
/** Segments per tick per following subscriber (10 Hz: 6000 a second). */
const BUDGET_SEG = 600;
/** Connections sampled per tick for general subscribers (the busiest; followed ones always). */
const SAMPLED_CONNS = 64;

let nextSubscriberId = 0;

export class Subscriber {
  readonly id = ++nextSubscriberId;
  readonly conn: number | null;
  readonly port: number | null;
  /** Neither a connection nor a port: counters, listeners, samples of the busiest, every state change. */
  readonly general: boolean;
  readonly label: string;
  /** Events delivered so far. */
  delivered = 0;
  /** The transport said it is full. */
  paused = false;
  closed = false;
  segLeft = BUDGET_SEG;
  private readonly ring: (ObsEvent | null)[];
  private head = 0;
  len = 0;

  constructor(
    readonly sink: SubscriberSink,
    opts: SubscribeOptions,
    capacity: number,
  ) {
    this.conn = opts.conn ?? null;
    this.port = opts.port ?? null;
    this.general = this.conn === null && this.port === null;
    this.label = opts.label ?? `subscriber ${this.id}`;
    this.ring = new Array<ObsEvent | null>(Math.max(16, capacity)).fill(null);
  }

  get capacity(): number {
    return this.ring.length;
  }

  /** False when the ring is full (the event is not kept). */
  push(ev: ObsEvent): boolean {
    const cap = this.ring.length;
    if (this.len >= cap) return false;
    this.ring[(this.head + this.len) % cap] = ev;
    this.len++;
    return true;
  }

  takeAll(): ObsEvent[] {
    const out: ObsEvent[] = new Array<ObsEvent>(this.len);
    const cap = this.ring.length;
    for (let i = 0; i < this.len; i++) {
      const k = (this.head + i) % cap;
      out[i] = this.ring[k]!;
      this.ring[k] = null;
    }
    this.head = (this.head + this.len) % cap;
    this.len = 0;
    return out;
  }
}

export class EventFeed implements TcpProbe {
  /** At least one subscriber: emission points call in. */
  active = false;
  /** At least one subscriber follows a connection or port: segment hooks call in. */
  segActive = false;
  /** Sample period, ms (`--sample-rate`). */
  sampleMs = 100;
  /** Most subscribers at once; a new one beyond it replaces the slowest. */
  maxSubscribers = 32;
  /** Default ring size per subscriber, events. */
  ringCapacity = 4096;
  /** Subscriptions ended by the feed, by reason class (for tests and `tunstack stats`-style checks). */
  readonly dropped = { slow: 0, replaced: 0 };

  private readonly subs: Subscriber[] = [];
  private readonly ids = new WeakMap<ProbedConnection, number>();
  private nextConnId = 0;
  private readonly lastBytes = new WeakMap<ProbedConnection, number>();
  private readonly timer = new Timer((now) => this.tick(now));
  private flushScheduled = false;
  private stateLeft = BUDGET_STATE;
  private cookieLeft = BUDGET_COOKIE;
  private retransLeft = BUDGET_RETRANS;
  private reasmLeft = BUDGET_REASM;
  private cwndLeft = BUDGET_CWND;
  private suppressed: Record<string, number> | null = null;
  private prevDrops: Partial<Record<DropReason, number>> = {};
  private lastConn: ProbedConnection | null = null;
  /** Highest sequence number (+1) each connection has sent while the feed was active; one cached in fields. */
  private readonly hiSent = new WeakMap<ProbedConnection, number>();
  /** SYNs with data seen arriving, to tell whether their SYN-ACK acknowledged it (Fast Open on the ladder). */
  private readonly synData = new SynDataMemory();
  private hiConn: ProbedConnection | null = null;
  private hiSeq = 0;
  private lastConnId = 0;
  private isClosed = false;

  constructor(private readonly host: FeedHost) {}

  get subscriberCount(): number {
    return this.subs.length;
  }

  // ---------------------------------------------------------------- subscriptions

  /**
   * Adds a subscriber; its first event is a `hello` snapshot. An Error when the
   * followed connection id is unknown. At the cap, the slowest subscriber is dropped.
   */
  subscribe(sink: SubscriberSink, opts: SubscribeOptions = {}): Subscriber | Error {
    if (this.isClosed) return new Error('the stack is closing');
    if (opts.conn !== undefined && (!Number.isInteger(opts.conn) || this.connById(opts.conn) === undefined)) {
      return new Error(`unknown connection id ${String(opts.conn)} (see the socket table for the ids of open connections)`);
    }
    if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535)) {
      return new Error(`port must be 1..65535, got ${String(opts.port)}`);
    }
    while (this.subs.length >= this.maxSubscribers) {
      let slowest = this.subs[0]!;
      for (const s of this.subs) if (s.len > slowest.len || (s.len === slowest.len && s.paused && !slowest.paused)) slowest = s;
      this.dropped.replaced++;
      this.end(slowest, `replaced: at the cap of ${this.maxSubscribers} subscribers the slowest is dropped`);
    }
    const sub = new Subscriber(sink, opts, opts.capacity ?? this.ringCapacity);
    this.subs.push(sub);
    const now = this.host.clock.now();
    const snap = this.snapshot(sub.conn, sub.port);
    sub.push({ type: 'hello', t: now, sampleMs: this.sampleMs, ...snap, filter: { conn: sub.conn, port: sub.port } });
    this.recompute();
    this.scheduleFlush();
    return sub;
  }

  /** The transport closed (client went away): no `closed` callback. */
  unsubscribe(sub: Subscriber): void {
    if (sub.closed) return;
    sub.closed = true;
    const i = this.subs.indexOf(sub);
    if (i >= 0) this.subs.splice(i, 1);
    this.recompute();
  }

  /** The transport drained: deliver what is waiting. */
  resume(sub: Subscriber): void {
    if (sub.closed || !sub.paused) return;
    sub.paused = false;
    this.scheduleFlush();
  }

  /** Ends every subscription (the stack is closing). */
  close(): void {
    if (this.isClosed) return;
    for (const s of [...this.subs]) this.end(s, 'the stack is closing');
    this.isClosed = true;
  }

  private end(sub: Subscriber, reason: string): void {
    if (sub.closed) return;
    // The reason goes out after whatever is queued, ring or not (one extra event is within bounds).
    const queued = sub.paused ? [] : sub.takeAll();
    queued.push({ type: 'bye', t: this.host.clock.now(), reason });
    this.unsubscribe(sub);
    try {
      sub.sink.deliver(queued);
    } catch {
      /* the transport is gone */
    }
    sub.sink.closed(reason);
  }

  private recompute(): void {
    const was = this.active;
    this.active = this.subs.length > 0;
    let seg = false;
    for (const s of this.subs) if (!s.general) seg = true;
    this.segActive = seg;
    if (this.active && !was) {
      this.prevDrops = { ...this.host.stats.drops };
      this.host.timers.arm(this.timer, this.host.clock.now() + this.sampleMs);
    } else if (!this.active && was) this.host.timers.disarm(this.timer);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    for (const sub of [...this.subs]) {
      if (sub.closed || sub.paused || sub.len === 0) continue;
      const batch = sub.takeAll();
      sub.delivered += batch.length;
      let ok: boolean;
      try {
        ok = sub.sink.deliver(batch);
      } catch {
        this.unsubscribe(sub);
        continue;
      }
      if (!ok) sub.paused = true;
    }
  };

  private push(sub: Subscriber, ev: ObsEvent): void {
    if (sub.push(ev)) {
      this.scheduleFlush();
      return;
    }
    this.dropped.slow++;
    this.end(sub, `too slow: ${sub.capacity} events waiting unread (bounded buffer full); disconnected`);
  }

  private broadcastGeneral(ev: ObsEvent): void {
    const subs = this.subs;
    for (let i = subs.length - 1; i >= 0; i--) {
      const s = subs[i];
      if (s !== undefined && s.general) this.push(s, ev);
    }
  }

  /** To general subscribers and to those following `conn` (by id) or one of its ports. */
  private broadcastConn(ev: ObsEvent, id: number, lp: number, rp: number): void {
    const subs = this.subs;
    for (let i = subs.length - 1; i >= 0; i--) {
      const s = subs[i];
      if (s === undefined) continue;
      if (s.general || s.conn === id || (s.port !== null && (s.port === lp || s.port === rp))) this.push(s, ev);
    }
  }

  private suppress(type: string): void {
    const m = (this.suppressed ??= {});
    m[type] = (m[type] ?? 0) + 1;
  }

  // ---------------------------------------------------------------- connection ids and tables

  /** The feed's id of a connection (assigned on first sight, stable for its life). */
  idOf(c: ProbedConnection): number {
    if (c === this.lastConn) return this.lastConnId;
    let id = this.ids.get(c);
    if (id === undefined) {
      id = ++this.nextConnId;
      this.ids.set(c, id);
    }
    this.lastConn = c;
    this.lastConnId = id;
    return id;
  }

  /** The open connection with this id, or undefined (unknown, or closed since). */
  connById(id: number): ProbedConnection | undefined {
    for (const c of this.host.tcp.connections()) if (this.idOf(c) === id) return c;
    return undefined;
  }

  connRow(c: ProbedConnection): ConnRow {
    const i = c.info();
    return {
      id: this.idOf(c),
      state: i.state,
      local: this.endpoint(c.localAddr, c.localPort),
      peer: this.endpoint(c.remoteAddr, c.remotePort),
      recvQ: i.recvQ,
      sendQ: i.sendQ,
      cwnd: i.cwnd,
      ssthresh: i.ssthresh >= 0x7fffffff ? -1 : i.ssthresh,
      mss: i.mss,
      rwnd: i.sndWnd,
      rcvWnd: i.rcvWnd,
      srtt: Math.round(i.srtt * 1000) / 1000,
      rttvar: Math.round(i.rttvar * 1000) / 1000,
      rto: Math.round(i.rto),
      flight: (i.sndMax - i.sndUna) | 0,
      bytesAcked: i.bytesAcked,
      bytesReceived: i.bytesReceived,
      bytesSent: i.bytesSent,
      retrans: i.totalRetrans,
      segsIn: i.segsIn,
      segsOut: i.segsOut,
      iss: i.iss,
      irs: i.irs,
      sndUna: i.sndUna,
      sndMax: i.sndMax,
      rcvNxt: i.rcvNxt,
      cc: i.congestionControl,
    };
  }

  listenerRows(): ListenerRow[] {
    return this.host.tcp.listenerList().map((l) => ({
      local: this.endpoint(l.localAddr, l.localPort),
      port: l.localPort,
      synQ: l.synQueueLength,
      acceptQ: l.acceptQueueLength,
      backlog: l.backlog,
    }));
  }

  /** Counters as plain data (a copy: the live objects keep changing). */
  counters(): CounterGroups {
    return structuredClone(this.host.stats.toJSON());
  }

  /** Connections (all, or those matching a filter), listeners and counters now. */
  snapshot(conn: number | null = null, port: number | null = null): { conns: ConnRow[]; listeners: ListenerRow[]; stats: CounterGroups } {
    const conns: ConnRow[] = [];
    for (const c of this.host.tcp.connections()) {
      if (conn !== null && this.idOf(c) !== conn) continue;
      if (port !== null && c.localPort !== port && c.remotePort !== port) continue;
      conns.push(this.connRow(c));
    }
    conns.sort((a, b) => a.id - b.id);
    return { conns, listeners: this.listenerRows(), stats: this.counters() };
  }

  // ---------------------------------------------------------------- the sample tick

  private tick(now: number): void {
    if (!this.active) return;
    this.host.timers.arm(this.timer, now + this.sampleMs);
    this.stateLeft = BUDGET_STATE;
    this.cookieLeft = BUDGET_COOKIE;
    this.retransLeft = BUDGET_RETRANS;
    this.reasmLeft = BUDGET_REASM;
    this.cwndLeft = BUDGET_CWND;
    for (const s of this.subs) s.segLeft = BUDGET_SEG;
    const anyGeneral = this.subs.some((s) => s.general);
    if (anyGeneral) {
      const stats = this.counters();
      this.broadcastGeneral({ type: 'counters', t: now, stats });
      const drops = this.host.stats.drops;
      let deltas: Record<string, number> | null = null;
      for (const k of Object.keys(drops) as DropReason[]) {
        const d = drops[k]! - (this.prevDrops[k] ?? 0);
        if (d > 0) (deltas ??= {})[k] = d;
      }
      if (deltas !== null) {
        this.prevDrops = { ...drops };
        this.broadcastGeneral({ type: 'drops', t: now, deltas });
      }
      for (const l of this.listenerRows()) this.broadcastGeneral({ type: 'listener', t: now, ...l });
    }
    this.sampleConnections(now, anyGeneral);
    if (this.suppressed !== null) {
      const counts = this.suppressed;
      this.suppressed = null;
      this.broadcastGeneral({ type: 'suppressed', t: now, counts });
    }
  }

  private sampleConnections(now: number, anyGeneral: boolean): void {
    const followed = new Set<number>();
    const ports = new Set<number>();
    for (const s of this.subs) {
      if (s.conn !== null) followed.add(s.conn);
      if (s.port !== null) ports.add(s.port);
    }
    const picked: ProbedConnection[] = [];
    const busy: { c: ProbedConnection; a: number }[] = [];
    for (const c of this.host.tcp.connections()) {
      const id = this.idOf(c);
      const total = c.bytesAcked + c.bytesReceived;
      const activity = total - (this.lastBytes.get(c) ?? 0);
      this.lastBytes.set(c, total);
      if (followed.has(id) || ports.has(c.localPort) || ports.has(c.remotePort)) picked.push(c);
      else if (anyGeneral) busy.push({ c, a: c.state === TcpState.TIME_WAIT ? -1 : activity });
    }
    if (busy.length > SAMPLED_CONNS) busy.sort((x, y) => y.a - x.a);
    for (let i = 0; i < busy.length && i < SAMPLED_CONNS; i++) picked.push(busy[i]!.c);
    for (const c of picked) {
      const row = this.connRow(c);
      this.broadcastConn({ type: 'sample', t: now, ...row }, row.id, c.localPort, c.remotePort);
    }
  }

  // ---------------------------------------------------------------- emission points (called only when active)

  /** A connection changed state (from Tcb.setState). */
  stateChange(c: ProbedConnection, from: number, to: number): void {
    if (this.stateLeft <= 0) {
      this.suppress('state');
      return;
    }
    this.stateLeft--;
    const id = this.idOf(c);
    this.broadcastConn(
      {
        type: 'state',
        t: this.host.clock.now(),
        conn: id,
        local: this.endpoint(c.localAddr, c.localPort),
        peer: this.endpoint(c.remoteAddr, c.remotePort),
        from: STATE_NAMES[from] ?? String(from),
        to: STATE_NAMES[to] ?? String(to),
      },
      id,
      c.localPort,
      c.remotePort,
    );
  }

  /** A connection retransmitted a segment (from countRetrans in tcp/output.ts: called on retransmissions only). */
  /** A connection's cwnd or ssthresh changed, with the cause (from tcp/cwnd-events.ts). Bytes; ssthresh −1: "infinite". */
  cwndChange(c: ProbedConnection, cause: CwndCause, prevCwnd: number, prevSsthresh: number): void {
    if (this.cwndLeft <= 0) {
      this.suppress('cwnd');
      return;
    }
    this.cwndLeft--;
    const id = this.idOf(c);
    const i = c.info();
    const inf = (v: number): number => (v >= 0x7fffffff ? -1 : v);
    this.broadcastConn(
      { type: 'cwnd', t: this.host.clock.now(), conn: id, cause, cwnd: i.cwnd, ssthresh: inf(i.ssthresh), prevCwnd, prevSsthresh: inf(prevSsthresh), mss: i.mss },
      id,
      c.localPort,
      c.remotePort,
    );
  }

  retransmitted(c: ProbedConnection): void {
    if (this.retransLeft <= 0) {
      this.suppress('retrans');
      return;
    }
    this.retransLeft--;
    const id = this.idOf(c);
    this.broadcastConn({ type: 'retrans', t: this.host.clock.now(), conn: id, sndUna: c.sndUna, total: c.retransTotal }, id, c.localPort, c.remotePort);
  }

  /** A segment of a connection leaves (from TcpLayer.emit, while someone follows segments; `ack` is 0 without ACK). */
  tcpOut(c: ProbedConnection, seq: number, ack: number, flags: number, win: number, len: number): void {
    // Data, SYN or FIN below the highest sequence this connection has sent (as the feed saw it, like tcptrace):
    // a retransmission. (SND.MAX itself may already be past a burst that leaves as one TSO super-segment.)
    let rtx = false;
    const span = len + (flags & 0x03 ? 1 : 0);
    if (span > 0) {
      if (c !== this.hiConn) {
        if (this.hiConn !== null) this.hiSent.set(this.hiConn, this.hiSeq);
        this.hiConn = c;
        const h = this.hiSent.get(c);
        this.hiSeq = h === undefined ? seq : h;
      }
      rtx = ((seq - this.hiSeq) | 0) < 0;
      const end = (seq + span) >>> 0;
      if (((end - this.hiSeq) | 0) > 0) this.hiSeq = end;
    }
    this.segment(c, true, c.localAddr, c.localPort, c.remoteAddr, c.remotePort, seq, ack, flags, len, win, rtx);
  }

  /** A segment that belongs to no connection object leaves (SYN-ACKs of the SYN queue, cookies, RSTs). */
  tcpOutRaw(la: number, lp: number, ra: number, rp: number, seq: number, ack: number, flags: number, win: number): void {
    this.segment(null, true, la, lp, ra, rp, seq, ack, flags, 0, win, false);
  }

  /** A valid segment arrived (from TcpLayer.input), for a connection or not. */
  tcpIn(c: ProbedConnection | undefined, h: TcpHeader, src: number, dst: number, len: number): void {
    let note: string | undefined;
    if ((h.flags & 0x12) === 0x02) {
      this.synData.synIn(src, h.srcPort, h.seq, len);
      note = fastOpenNote(h, len, true, null).note ?? undefined;
    }
    this.segment(c ?? null, false, dst, h.dstPort, src, h.srcPort, h.seq, h.flags & 0x10 ? h.ack : 0, h.flags, len, h.window, false, note);
  }

  private segment(c: ProbedConnection | null, out: boolean, la: number, lp: number, ra: number, rp: number, seq: number, ack: number, flags: number, len: number, win: number, rtx: boolean, note?: string): void {
    if (out && (flags & 0x12) === 0x12) note = this.synData.synAckOut(ra, rp, ack) ?? undefined;
    const subs = this.subs;
    let id = -1;
    let ev: ObsEvent | null = null;
    for (let i = subs.length - 1; i >= 0; i--) {
      const s = subs[i];
      if (s === undefined || s.general) continue;
      if (s.port !== null) {
        if (s.port !== lp && s.port !== rp) continue;
      } else {
        if (c === null) continue;
        if (id < 0) id = this.idOf(c);
        if (s.conn !== id) continue;
      }
      if (s.segLeft <= 0) {
        this.suppress('seg');
        continue;
      }
      s.segLeft--;
      if (ev === null) {
        if (id < 0) id = c === null ? 0 : this.idOf(c);
        ev = { type: 'seg', t: this.host.clock.now(), conn: id, out, la, lp, ra, rp, seq, ack, flags, len, win, rtx, ...(note !== undefined ? { note } : {}) };
      }
      this.push(s, ev);
    }
  }

  /** `a.b.c.d:port` or `[v6]:port`. */
  private endpoint(a: number, port: number): string {
    const v6 = isV6(a);
    const text = this.host.tcp.formatAddress(a, v6);
    return v6 ? `[${text}]:${port}` : `${text}:${port}`;
  }

  /** SYN cookies (from the listener). */
  cookie(what: 'sent' | 'ok' | 'failed', la: number, lp: number, ra: number, rp: number): void {
    if (this.cookieLeft <= 0) {
      this.suppress('cookie');
      return;
    }
    this.cookieLeft--;
    this.broadcastGeneral({ type: 'cookie', t: this.host.clock.now(), what, local: this.endpoint(la, lp), peer: this.endpoint(ra, rp) });
  }

  /** IP reassembly outcome (from the Reassembler). */
  reasm(what: 'ok' | 'fail' | 'timeout', src: number, dst: number, id: number, protocol: number, bytes: number): void {
    if (this.reasmLeft <= 0) {
      this.suppress('reasm');
      return;
    }
    this.reasmLeft--;
    this.broadcastGeneral({ type: 'reasm', t: this.host.clock.now(), what, src: ipToString(src), dst: ipToString(dst), id, protocol, bytes });
  }
}
