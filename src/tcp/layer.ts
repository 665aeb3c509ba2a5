/**
 * The TCP layer of a stack: input validation and demultiplexing (the 4-tuple table in demux.ts, TIME-WAIT
 * records, then a listener by local port), segments for no connection answered with RST the way Linux forms
 * them, segment emission, ISNs (RFC 6528), the egress pass that services dirty connections once per batch,
 * and the socket API entry points (`createServer`, `connect`, `socketTable` in socket-table.ts).
 */
import type { Stats } from '../stats.js';
import type { Clock, TimerQueue } from '../clock.js';
import type { Ipv4Layer } from '../ip/ipv4.js';
import type { Ipv6Layer } from '../ip/ipv6.js';
import { IPV6_HEADER, NextHeader, pseudoHeaderSum6, type Ipv6Header } from '../wire/ipv6.js';
import { pseudoHeaderSum } from '../wire/checksum.js';
import { TCP_ACK, TCP_RST, TCP_SYN, TcpHeader, decodeTcp, emitTcp, emitTcp6, tcpHeaderLength, type TcpEmit, type TcpOptions } from '../wire/tcp.js';
import { read16, read32 } from '../wire/bytes.js';
import { MAX_IPV4_PACKET, META_CSUM_PARTIAL } from '../wire/offload.js';
import { IPPROTO_TCP } from '../wire/ipv4.js';
import { resolveTcpConfig, type TcpConfig } from './config.js';
import { TcpConnection } from './connection.js';
import { TcpState } from './state.js';
import { seqAdd } from './seq.js';
import { HashKey, hsiphash4, portsWord } from './hash.js';
import { TcpListener } from './listener.js';
import { RingPool } from './ring-pool.js';
import { RING_POOL_BYTES, TAIL_MIN_BYTES } from './tunables.js';
import { TimeWaitEntry, TimeWaitTable, TW_ACK, TW_SYN } from './time-wait.js';
import { SynCookies } from './syn-cookies.js';
import { FastOpenContext, TFO_CLIENT_ENABLE } from './fastopen.js';
import { openActiveFastOpen } from './fastopen-active.js';
import { ConnectionTable } from './demux.js';
import { TcpServer, type ServerOptions } from './server.js';
import { socketTable, type TcpSocketRow } from './socket-table.js';
import { TcpSocket, type ConnectOptions } from './socket.js';
import { TcpError } from './errors.js';
import type { TcpProbe } from './probe.js';
import type { ServerHost } from './server.js';
import type { Tcb } from './tcb.js';
import { ANY6, TcpAddresses, ipHeaderBytes, isV6, type TcpAddr } from './addresses.js';
import { icmp6ErrorArrives } from './icmp-errors.js';

/**
 * What the TCP layer needs from its stack (src/stack.ts builds it): IP output, routes and local addresses, the
 * clock and the one timer structure, counters, the pass after each input batch, a flush of what was queued,
 * and the probe observers see TCP through.
 */
export interface TcpHost {
  readonly clock: Clock;
  readonly timers: TimerQueue;
  readonly stats: Stats;
  readonly ip: Pick<Ipv4Layer, 'register' | 'routes' | 'allocate' | 'allocateUnzeroed' | 'output' | 'isLocal' | 'sourceFor'>;
  /** IPv6 (RFC 8200): without it TCP speaks IPv4 only. */
  readonly ip6?: Pick<Ipv6Layer, 'register' | 'route' | 'output' | 'isLocal' | 'sourceFor' | 'pmtu'>;
  readonly probe: TcpProbe;
  /** Runs `hook` after each input batch and timer run, before the flush. */
  addEgressHook(hook: (now: number) => void): void;
  /** Runs `hook` when the stack closes. */
  addCloseHook(hook: () => void): void;
  /** Hands what was queued for the links to them now. */
  flush(): void;
}

export class TcpLayer implements ServerHost {
  readonly config: TcpConfig;
  readonly stats: Stats;
  readonly timers: TimerQueue;
  /** The 4-tuple demultiplexing table. */
  private readonly conns = new ConnectionTable();
  /** local port → listeners on it (a specific address first, then the wildcard). */
  private readonly listeners = new Map<number, TcpListener[]>();
  private readonly dirty: Tcb[] = [];
  private readonly dirtyListeners: TcpListener[] = [];
  /** Connections whose application wrote during the egress pass: serviced by the next kick. */
  private readonly deferred: Tcb[] = [];
  private readonly hdr = new TcpHeader();
  private readonly fields: TcpEmit = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, urgent: 0, options: undefined, rawOptions: undefined };
  private readonly rawScratch = new Uint8Array(40);
  private readonly isnKey: HashKey;
  private readonly tsKey: HashKey;
  readonly cookies: SynCookies;
  /** The numbers TCP knows IPv6 addresses by (src/tcp/addresses.ts). */
  readonly addrs: TcpAddresses;
  /** TCP Fast Open: the server key and the client's cookie cache (RFC 7413). */
  readonly fastOpen: FastOpenContext;
  /** What observers see TCP through: each hook below is one property test unless something subscribes. */
  readonly probe: TcpProbe;
  private challengeWindowStart = -Infinity;
  private challengeCount = 0;
  /** Connections in TIME-WAIT not yet retired to the TIME-WAIT table (the egress pass of the same batch does). */
  timeWaitConnections = 0;
  /** TIME-WAIT pairs, kept as small records (Linux inet_timewait_sock). */
  readonly timeWait: TimeWaitTable;
  /** Free send/receive rings, shared by this layer's connections. */
  readonly rings = new RingPool(RING_POOL_BYTES);
  private readonly twOptions: TcpOptions = { ts: { val: 0, ecr: 0 } };
  private kickScheduled = false;
  private servicing = false;
  private nextEphemeral: number;
  private closed = false;
  /** Kept so servers and sockets can be closed with the stack. */
  readonly servers = new Set<TcpServer>();

  constructor(
    private readonly host: TcpHost,
    opts?: Partial<TcpConfig>,
  ) {
    this.config = resolveTcpConfig(opts);
    this.stats = host.stats;
    this.timers = host.timers;
    this.timeWait = new TimeWaitTable(this.timers, () => this.config.timeWaitMs, this.stats);
    this.probe = host.probe;
    const seed = this.config.seed;
    this.isnKey = seed === undefined ? HashKey.random() : HashKey.fromSeed(seed, 1);
    this.tsKey = seed === undefined ? HashKey.random() : HashKey.fromSeed(seed, 2);
    this.fastOpen = new FastOpenContext(this.config);
    this.addrs = new TcpAddresses(seed === undefined ? HashKey.random() : HashKey.fromSeed(seed, 3));
    this.cookies = new SynCookies(
      (g) => (seed === undefined ? HashKey.random() : HashKey.fromSeed(seed, 100 + g)),
      this.config.cookieSecretRotationMs,
      host.clock.now(),
      (a) => this.addrs.hashWord(a),
    );
    const range = this.config.ephemeralPortHigh - this.config.ephemeralPortLow + 1;
    this.nextEphemeral = seed === undefined ? Math.floor(Math.random() * range) : seed % range;
    host.ip.register(IPPROTO_TCP, this);
    host.ip6?.register(NextHeader.Tcp, {
      input: (packet, h, off, len, _iface, now) => this.input6(packet, h, off, len, now),
      icmpError: (type, code, info, quoted, qOff, l4Off, qEnd, _from, now) => this.icmp6Error(type, code, info, quoted, qOff, l4Off, qEnd, now),
    });
    host.addEgressHook((now) => this.egress(now));
    host.addCloseHook(() => this.shutdown());
  }

  now(): number {
    return this.host.clock.now();
  }

  // ---------------------------------------------------------------- input

  /** The IP ECN field of the segment being processed (src/tcp/ecn.ts reads it). */
  rxIpEcn = 0;

  input(packet: Uint8Array, ip: { src: number; dst: number; tos?: number; checksumTrusted?: boolean }, off: number, len: number, now: number): void {
    const st = this.stats;
    this.rxIpEcn = (ip.tos ?? 0) & 3;
    st.Tcp.InSegs++;
    // A segment the link vouches for (a partial checksum from the local kernel) is not verified.
    if (!this.decoded(packet, off, len, ip.checksumTrusted === true ? undefined : pseudoHeaderSum(ip.src, ip.dst, IPPROTO_TCP, len))) return;
    this.deliver(packet, off, len, ip.src, ip.dst, now);
  }

  /**
   * A segment over IPv6: the checksum covers the IPv6 pseudo-header (RFC 8200 §8.1), the addresses get their
   * numbers, then it is demultiplexed like any other. An IPv4-mapped address on the IPv6 wire is dropped
   * (Linux tcp_v6_conn_request; RFC 4291 §2.5.5.2 keeps them off the wire).
   */
  input6(packet: Uint8Array, ip: Ipv6Header, off: number, len: number, now: number): void {
    const st = this.stats;
    this.rxIpEcn = ip.trafficClass & 3;
    st.Tcp.InSegs++;
    // A segment the link vouches for (a partial checksum from the local kernel) is not verified.
    if (!this.decoded(packet, off, len, ip.checksumTrusted ? undefined : pseudoHeaderSum6(ip.src, ip.dst, IPPROTO_TCP, len))) return;
    const src = this.addrs.intern(ip.src);
    const dst = this.addrs.intern(ip.dst);
    if (!isV6(src) || !isV6(dst) || src === ANY6) {
      st.Tcp.InErrs++;
      st.drop('tcp.v4-mapped-over-ipv6');
      return;
    }
    this.deliver(packet, off, len, src, dst, now);
  }

  /** Decodes packet[off, off + len) into this.hdr, checksum included unless `pseudo` is undefined; false (counted) when malformed. */
  private decoded(packet: Uint8Array, off: number, len: number, pseudo: number | undefined): boolean {
    const err = decodeTcp(packet, off, len, this.hdr, pseudo);
    if (err === undefined) return true;
    const st = this.stats;
    st.Tcp.InErrs++;
    if (err === 'bad-checksum') st.Tcp.InCsumErrors++;
    st.drop(`tcp.${err}`);
    return false;
  }

  /** Demultiplexing of a valid segment (in this.hdr) from `src` to `dst`: connection, TIME-WAIT, listener, or RST. */
  private deliver(packet: Uint8Array, off: number, len: number, src: TcpAddr, dst: TcpAddr, now: number): void {
    const st = this.stats;
    const h = this.hdr;
    const payloadStart = off + h.headerLength;
    const conn = this.lookup(src, h.srcPort, dst, h.dstPort);
    if (this.probe.segActive) this.probe.tcpIn(conn, h, src, dst, len - h.headerLength);
    if (conn !== undefined) {
      if (conn.state === TcpState.TIME_WAIT && (h.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN && conn.acceptsNewSyn(h)) {
        const l = this.findListener(dst, h.dstPort);
        if (l !== undefined) {
          // A new incarnation of the pair takes over the TIME-WAIT (RFC 9293 §3.6.1, RFC 6191; Linux tcp_timewait_state_process).
          const isn = conn.successorIsn;
          conn.terminate(null);
          st.TcpExt.TWRecycled++;
          l.input(h, packet, payloadStart, dst, src, now, isn);
          return;
        }
      }
      if (conn.state !== TcpState.TIME_WAIT && this.md5Unexpected(h)) return;
      conn.segmentArrives(h, packet, payloadStart, now);
      return;
    }
    const tw = this.timeWait.lookup(src, h.srcPort, dst, h.dstPort);
    if (tw !== undefined) {
      this.timeWaitArrives(tw, h, packet, payloadStart, now);
      return;
    }
    const l = this.findListener(dst, h.dstPort);
    if (l !== undefined) {
      if (this.md5Unexpected(h)) return;
      l.input(h, packet, payloadStart, dst, src, now, -1);
      return;
    }
    this.noSocketReply(h, dst, src);
  }

  /**
   * A segment signed with an MD5 option (RFC 2385) for a listener or connection: no socket here has an MD5 key
   * (TCP_MD5SIG is not modelled), so it is dropped and counted — Linux tcp_inbound_md5_hash, called from
   * tcp_v4_rcv for full and request sockets (not TIME-WAIT, not a segment for no socket).
   */
  private md5Unexpected(h: TcpHeader): boolean {
    if (!h.md5Present) return false;
    this.stats.TcpExt.TCPMD5Unexpected++;
    this.stats.drop('tcp.md5-unexpected');
    return true;
  }

  private timeWaitArrives(tw: TimeWaitEntry, h: TcpHeader, packet: Uint8Array, payloadStart: number, now: number): void {
    const st = this.stats;
    let verdict = this.timeWait.segmentArrives(tw, h, now);
    if (verdict === TW_SYN) {
      const l = this.findListener(tw.localAddr, tw.localPort);
      if (l !== undefined) {
        // A new incarnation of the pair takes over the TIME-WAIT (RFC 9293 §3.6.1, RFC 6191; Linux TCP_TW_SYN).
        this.timeWait.remove(tw);
        st.TcpExt.TWRecycled++;
        l.input(h, packet, payloadStart, tw.localAddr, tw.remoteAddr, now, tw.successorIsn);
        return;
      }
      verdict = TW_ACK; // no listener any more: the old pair answers (Linux falls through to TCP_TW_ACK)
    }
    if (verdict === TW_ACK) {
      st.drop('tcp.time-wait-ack');
      this.timeWaitAck(tw, now);
    }
  }

  /** The ACK of a TIME-WAIT pair (Linux tcp_v4_timewait_ack): SND.NXT, RCV.NXT, the last window, timestamps. */
  private timeWaitAck(tw: TimeWaitEntry, now: number): void {
    let opts: TcpOptions | undefined;
    if (tw.tsOk) {
      opts = this.twOptions;
      const ts = opts.ts!;
      ts.val = tw.tsNow(now);
      ts.ecr = tw.tsRecent;
    }
    this.emitRaw(tw.localAddr, tw.localPort, tw.remoteAddr, tw.remotePort, tw.sndNxt, tw.rcvNxt, TCP_ACK, tw.windowField, opts);
  }

  /**
   * A connection in TIME-WAIT has said its last (the egress pass sent its ACK): it leaves the table and a small
   * record takes its place for 2·MSL — unless the table is full (tcp_max_tw_buckets), when the pair is simply
   * forgotten, as Linux does ("time wait bucket table overflow").
   */
  retireToTimeWait(c: Tcb, e: TimeWaitEntry, now: number): void {
    this.unhash(c);
    if (this.timeWait.size >= this.config.maxTimeWait) {
      this.stats.TcpExt.TCPTimeWaitOverflow++;
      return;
    }
    this.timeWait.insert(e, now);
  }

  /** A segment for a connection that is gone. */
  noSocket(): void {
    this.stats.drop('tcp.no-socket');
  }

  /** RST for a segment that matches nothing (RFC 9293 §3.10.7.1), in Linux's two forms. */
  noSocketReply(h: TcpHeader, local: number, remote: number): void {
    this.stats.drop('tcp.no-socket');
    if (h.flags & TCP_RST) return;
    if (h.flags & TCP_ACK) this.sendRst(local, h.dstPort, remote, h.srcPort, h.ack, 0, false);
    else this.sendRst(local, h.dstPort, remote, h.srcPort, 0, seqAdd(h.seq, h.seqLength), true);
  }

  icmpError(type: number, code: number, info: number, quoted: Uint8Array, qOff: number, qLen: number, now: number): void {
    const ihl = (quoted[qOff]! & 0x0f) * 4;
    if (qLen < ihl + 8) return;
    const src = read32(quoted, qOff + 12);
    const dst = read32(quoted, qOff + 16);
    const t = qOff + ihl;
    const sport = read16(quoted, t);
    const dport = read16(quoted, t + 2);
    const seq = read32(quoted, t + 4);
    const conn = this.lookup(dst, dport, src, sport);
    if (conn === undefined) {
      this.stats.drop('tcp.icmp-no-socket');
      return;
    }
    conn.icmpError(type, code, info, seq, now);
  }

  /** An ICMPv6 error quoting one of our segments (the IPv6 layer checked its source is ours and learnt any PMTU). */
  private icmp6Error(type: number, code: number, info: number, quoted: Uint8Array, qOff: number, l4Off: number, qEnd: number, now: number): void {
    if (qEnd - l4Off < 8) return;
    const w = this.icmpWords;
    for (let k = 0; k < 4; k++) w[k] = read32(quoted, qOff + 8 + 4 * k);
    const src = this.addrs.find(w);
    for (let k = 0; k < 4; k++) w[k] = read32(quoted, qOff + 24 + 4 * k);
    const dst = this.addrs.find(w);
    const conn = src === undefined || dst === undefined ? undefined : this.lookup(dst, read16(quoted, l4Off + 2), src, read16(quoted, l4Off));
    if (conn === undefined) {
      this.stats.drop('tcp.icmp-no-socket');
      return;
    }
    icmp6ErrorArrives(conn, type, code, info, read32(quoted, l4Off + 4), now);
  }

  private readonly icmpWords = [0, 0, 0, 0];

  // ---------------------------------------------------------------- tables

  lookup(remoteAddr: number, remotePort: number, localAddr: number, localPort: number): TcpConnection | undefined {
    return this.conns.lookup(remoteAddr, remotePort, localAddr, localPort);
  }

  hash(c: TcpConnection): void {
    this.conns.hash(c);
  }

  unhash(c: Tcb): void {
    this.conns.unhash(c);
  }

  /** Every connection in the 4-tuple table (a snapshot: safe to close or reset while iterating). */
  connections(): TcpConnection[] {
    return this.conns.all();
  }

  /** Is the 4-tuple taken, by a connection or a TIME-WAIT pair? */
  inUse(remoteAddr: number, remotePort: number, localAddr: number, localPort: number): boolean {
    return this.lookup(remoteAddr, remotePort, localAddr, localPort) !== undefined || this.timeWait.lookup(remoteAddr, remotePort, localAddr, localPort) !== undefined;
  }

  /** Connections and TIME-WAIT pairs. */
  get connectionCount(): number {
    return this.conns.size + this.timeWait.size;
  }

  /** Pairs in TIME-WAIT (tcp_max_tw_buckets counts these). */
  get timeWaitCount(): number {
    return this.timeWaitConnections + this.timeWait.size;
  }

  /**
   * The listener for a segment to `localAddr`:`localPort`: one bound to that address, else an IPv4 wildcard
   * (for IPv4), else an IPv6 wildcard — which takes IPv4 too unless IPV6_V6ONLY (Linux inet_lhash2_lookup's
   * scores: an exact address first, an AF_INET socket before an AF_INET6 one for IPv4).
   */
  findListener(localAddr: number, localPort: number): TcpListener | undefined {
    const ls = this.listeners.get(localPort);
    if (ls === undefined) return undefined;
    let wild: TcpListener | undefined;
    let wild6: TcpListener | undefined;
    const v6 = isV6(localAddr);
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i]!;
      if (l.localAddr === localAddr) return l;
      if (l.localAddr === 0 && !v6) wild = l;
      else if (l.localAddr === ANY6 && (v6 || !l.v6only)) wild6 = l;
    }
    return wild ?? wild6;
  }

  /** Registers a listener; an Error with code EADDRINUSE when the port is taken. */
  addListener(l: TcpListener): TcpError | undefined {
    const ls = this.listeners.get(l.localPort) ?? [];
    for (const o of ls) if (listenersOverlap(o, l)) return new TcpError('EADDRINUSE', 'listen', `${this.addrs.format(l.localAddr)}:${l.localPort}`);
    ls.push(l);
    this.listeners.set(l.localPort, ls);
    return undefined;
  }

  removeListener(l: TcpListener): void {
    const ls = this.listeners.get(l.localPort);
    if (!ls) return;
    const i = ls.indexOf(l);
    if (i >= 0) ls.splice(i, 1);
    if (ls.length === 0) this.listeners.delete(l.localPort);
  }

  // ---------------------------------------------------------------- secrets

  /** RFC 6528: ISN = M + F(4-tuple, secret), M a 4 µs clock. */
  isn(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, now: number): number {
    const a = this.addrs;
    const f = hsiphash4(this.isnKey, a.hashWord(localAddr), a.hashWord(remoteAddr), portsWord(localPort, remotePort), 0);
    return seqAdd(f, Math.floor(now * 250));
  }

  /** Per-connection timestamp offset (as Linux's tsoffset): a keyed hash of the 4-tuple, so SYN cookies and connections agree. */
  tsOffset(localAddr: number, localPort: number, remoteAddr: number, remotePort: number): number {
    const a = this.addrs;
    return hsiphash4(this.tsKey, a.hashWord(localAddr), a.hashWord(remoteAddr), portsWord(localPort, remotePort), 1);
  }

  get hasIpv6(): boolean {
    return this.host.ip6 !== undefined;
  }

  parseAddress(text: string): TcpAddr | Error {
    return this.addrs.parse(text);
  }

  formatAddress(a: TcpAddr, v6Socket: boolean): string {
    return this.addrs.format(a, v6Socket);
  }

  /** Is `addr` one of the stack's own addresses? */
  isLocalAddress(addr: number): boolean {
    if (!isV6(addr)) return this.host.ip.isLocal(addr);
    const w = this.addrs.words(addr);
    return w !== null && this.host.ip6 !== undefined && this.host.ip6.isLocal(w);
  }

  /** The MTU of the outgoing interface towards `remote` (1500 without a route). */
  routeMtu(remote: number): number {
    if (!isV6(remote)) return this.host.ip.routes.lookup(remote)?.iface.mtu ?? 1500;
    const w = this.addrs.words(remote);
    return (w === null ? null : this.host.ip6?.route(w))?.iface.mtu ?? 1500;
  }

  /**
   * MSS we announce towards `remote`: the outgoing interface's MTU less the IP and TCP headers — 40 bytes
   * over IPv4, 60 over IPv6 (RFC 9293 §3.7.1, RFC 8200 §8.3; Linux tcp_mss_to_mtu) — clamped.
   */
  advertisedMss(remote: number): number {
    let mss = this.routeMtu(remote) - ipHeaderBytes(remote) - 20;
    if (this.config.mssClamp > 0 && mss > this.config.mssClamp) mss = this.config.mssClamp;
    return Math.max(mss, 88);
  }

  /**
   * A path MTU the IPv6 layer learnt from Packet Too Big (RFC 8201) bounds a new connection from its start, as
   * Linux's tcp_sync_mss takes the route's cached MTU; IPv4 keeps no such cache here (0xffff: none).
   */
  knownPathMss(remote: number): number {
    if (!isV6(remote) || this.host.ip6 === undefined) return 0xffff;
    const w = this.addrs.words(remote);
    const r = w === null ? null : this.host.ip6.route(w);
    if (w === null || r === null) return 0xffff;
    const mtu = this.host.ip6.pmtu.mtuFor(w, r.iface.mtu, this.now());
    return mtu < r.iface.mtu ? mtu - 60 : 0xffff;
  }

  /** RFC 5961 §7 / Linux tcp_challenge_ack_limit: at most N challenge ACKs per second. */
  allowChallengeAck(now: number): boolean {
    if (now - this.challengeWindowStart >= 1000) {
      this.challengeWindowStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.config.challengeAckLimit) return false;
    this.challengeCount++;
    return true;
  }

  // ---------------------------------------------------------------- output

  private optionFields(opts: TcpOptions | undefined, syn: boolean): void {
    const f = this.fields;
    f.rawOptions = undefined;
    f.options = opts;
    if (!syn || opts === undefined || this.config.linuxOptionLayout) return;
    // BSD layout for SYN options: mss, nop, wscale, sackOK, TS (or NOP padding when one is absent).
    const b = this.rawScratch;
    let p = 0;
    if (opts.mss !== undefined) {
      b[p++] = 2;
      b[p++] = 4;
      b[p++] = opts.mss >> 8;
      b[p++] = opts.mss & 0xff;
    }
    if (opts.wscale !== undefined && opts.wscale >= 0) {
      b[p++] = 1;
      b[p++] = 3;
      b[p++] = 3;
      b[p++] = opts.wscale;
    }
    if (opts.sackPermitted) {
      b[p++] = 4;
      b[p++] = 2;
      if (!opts.ts) {
        b[p++] = 1;
        b[p++] = 1;
      }
    } else if (opts.ts) {
      b[p++] = 1;
      b[p++] = 1;
    }
    if (opts.ts) {
      b[p++] = 8;
      b[p++] = 10;
      for (const v of [opts.ts.val, opts.ts.ecr]) {
        b[p++] = (v >>> 24) & 0xff;
        b[p++] = (v >>> 16) & 0xff;
        b[p++] = (v >>> 8) & 0xff;
        b[p++] = v & 0xff;
      }
    }
    f.options = undefined;
    f.rawOptions = b.subarray(0, p);
  }

  /**
   * Payload bytes per super-segment at this MSS (`smss` bytes per wire segment): 1 segment without TSO,
   * else as many as fit a 64 KiB IPv4 datagram with the largest headers — over IPv6 too (Linux's
   * gso_max_size is the same for both families; the IPv6 payload-length field bounds it a little higher).
   */
  tsoSegments(smss: number, _remote: number): number {
    if (!this.config.tso || smss <= 0) return 1;
    return Math.max(1, Math.floor((MAX_IPV4_PACKET - 20 - 60) / smss));
  }

  /**
   * Emits a segment of `conn`, with `len` payload bytes taken from its send buffer at `sbOffset`. With
   * `gsoSize` > 0 and `len` above it, the segment is a super-segment: `len / gsoSize` wire segments (rounded
   * up) that the link or the IP layer cuts (src/wire/offload.ts). The checksum is left partial: the link or
   * the IP output path completes it. `ipEcn` is the IP ECN field (RFC 3168 §5; src/tcp/ecn.ts).
   */
  emit(conn: Tcb, seq: number, ack: number, flags: number, window: number, opts: TcpOptions | undefined, sbOffset: number, len: number, gsoSize = 0, ipEcn = 0): void {
    const f = this.headerFields(conn.localPort, conn.remotePort, seq, ack, flags, window, opts);
    const hlen = tcpHeaderLength(f);
    const ip = this.host.ip;
    const gso = gsoSize > 0 && len > gsoSize ? gsoSize : 0;
    const segs = gso === 0 ? 1 : Math.ceil(len / gso);
    // A large payload stays in the send buffer: the link writes headers and payload as two pieces (no copy).
    const tail = len >= TAIL_MIN_BYTES ? conn.sb.view(sbOffset, len) : null;
    const copied = tail === null ? len : 0;
    if (isV6(conn.remoteAddr)) {
      // From the same transmit slab as IPv4 (20 bytes more of IP header); every header byte is written.
      const buf = ip.allocateUnzeroed(IPV6_HEADER - 20 + hlen + copied);
      if (copied > 0) conn.sb.copyOut(sbOffset, len, buf, IPV6_HEADER + hlen);
      conn.segsOut += segs;
      this.stats.Tcp.OutSegs += segs;
      if (flags & TCP_RST) this.stats.Tcp.OutRsts++;
      if (this.probe.segActive) this.probe.tcpOut(conn, seq, f.ack, flags, window, len);
      this.output6(buf, f, hlen, len, conn.localAddr, conn.remoteAddr, ipEcn, META_CSUM_PARTIAL | gso, tail ?? undefined);
      return;
    }
    const buf = ip.allocateUnzeroed(hlen + copied); // every header byte is written, the payload copied over
    if (copied > 0) conn.sb.copyOut(sbOffset, len, buf, 20 + hlen);
    emitTcp(buf, 20, f, len, conn.localAddr, conn.remoteAddr, true);
    conn.segsOut += segs;
    this.stats.Tcp.OutSegs += segs;
    if (flags & TCP_RST) this.stats.Tcp.OutRsts++;
    if (this.probe.segActive) this.probe.tcpOut(conn, seq, f.ack, flags, window, len);
    if (ip.output(buf, hlen + len, conn.localAddr, conn.remoteAddr, IPPROTO_TCP, true, undefined, META_CSUM_PARTIAL | gso, ipEcn, tail ?? undefined) !== undefined) this.stats.drop('tcp.out-error');
  }

  /** Fills the one reused header object for the next segment (no allocation per segment). */
  private headerFields(srcPort: number, dstPort: number, seq: number, ack: number, flags: number, window: number, opts: TcpOptions | undefined): TcpEmit {
    const f = this.fields;
    f.srcPort = srcPort;
    f.dstPort = dstPort;
    f.seq = seq;
    f.ack = flags & TCP_ACK ? ack : 0;
    f.flags = flags;
    f.window = window;
    this.optionFields(opts, (flags & TCP_SYN) !== 0);
    return f;
  }

  /** Emits a segment that belongs to no connection object (SYN-ACKs from the listener, RSTs). */
  emitRaw(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, seq: number, ack: number, flags: number, window: number, opts: TcpOptions | undefined): void {
    const f = this.headerFields(localPort, remotePort, seq, ack, flags, window, opts);
    const hlen = tcpHeaderLength(f);
    if (isV6(remoteAddr)) {
      this.stats.Tcp.OutSegs++;
      if (flags & TCP_RST) this.stats.Tcp.OutRsts++;
      if (this.probe.segActive) this.probe.tcpOutRaw(localAddr, localPort, remoteAddr, remotePort, seq, f.ack, flags, window);
      this.output6(this.host.ip.allocate(IPV6_HEADER - 20 + hlen), f, hlen, 0, localAddr, remoteAddr, 0, 0);
      return;
    }
    const ip = this.host.ip;
    const buf = ip.allocate(hlen);
    emitTcp(buf, 20, f, 0, localAddr, remoteAddr);
    this.stats.Tcp.OutSegs++;
    if (flags & TCP_RST) this.stats.Tcp.OutRsts++;
    if (this.probe.segActive) this.probe.tcpOutRaw(localAddr, localPort, remoteAddr, remotePort, seq, f.ack, flags, window);
    if (ip.output(buf, hlen, localAddr, remoteAddr, IPPROTO_TCP, true) !== undefined) this.stats.drop('tcp.out-error');
  }

  /**
   * Finishes a segment over IPv6: `buf` holds the payload at 40 + `hlen`; the TCP header with its checksum
   * (RFC 8200 §8.1 pseudo-header: only its sum when `meta` says CSUM_PARTIAL, for the link or the IP layer to
   * complete) and the IPv6 header are written, then it goes out with `meta` (a super-segment's gso_size).
   */
  private output6(buf: Uint8Array, f: TcpEmit, hlen: number, len: number, local: TcpAddr, remote: TcpAddr, ipEcn: number, meta: number, tail?: Uint8Array): void {
    const src = this.addrs.words(local);
    const dst = this.addrs.words(remote);
    const ip6 = this.host.ip6;
    if (src === null || dst === null || ip6 === undefined) {
      this.stats.drop('tcp.out-error');
      return;
    }
    emitTcp6(buf, IPV6_HEADER, f, len, src, dst, (meta & META_CSUM_PARTIAL) !== 0);
    if (ip6.output(buf, hlen + len, src, dst, NextHeader.Tcp, this.now(), undefined, ipEcn, meta, tail) !== undefined) this.stats.drop('tcp.out-error');
  }

  /** RST: `withAck` gives Linux's `R.` form (seq as given, ACK set), otherwise `R` with seq only. Window 0, no options. */
  sendRst(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, seq: number, ack: number, withAck: boolean): void {
    this.emitRaw(localAddr, localPort, remoteAddr, remotePort, seq, ack, withAck ? TCP_RST | TCP_ACK : TCP_RST, 0, undefined);
  }

  // ---------------------------------------------------------------- egress

  markDirty(c: Tcb): void {
    if (c.dirty) return;
    c.dirty = true;
    this.dirty.push(c);
  }

  markListenerDirty(l: TcpListener): void {
    if (l.dirty) return;
    l.dirty = true;
    this.dirtyListeners.push(l);
  }

  /** Services `c` from the next kick rather than in this egress pass (see Tcb.requestOutput). */
  deferToKick(c: Tcb): void {
    this.deferred.push(c);
  }

  /** An application call left work: run the egress pass on a microtask (same virtual instant). */
  kick(): void {
    if (this.kickScheduled || this.servicing || this.closed) return;
    this.kickScheduled = true;
    queueMicrotask(this.runKick);
  }

  private readonly runKick = (): void => {
    this.kickScheduled = false;
    if (this.closed) return;
    this.egress(this.now());
    this.host.flush();
  };

  /** Once per input batch / timer run: hand new connections to servers, events to sockets, then transmit. */
  egress(now: number): void {
    if (this.servicing) return;
    this.servicing = true;
    // What the last pass queued has been flushed: rings given back since are free for reuse.
    this.rings.settle();
    const held = this.deferred;
    if (held.length > 0) {
      for (let i = 0; i < held.length; i++) this.markDirty(held[i]!);
      held.length = 0;
    }
    try {
      for (let round = 0; round < 64; round++) {
        const ls = this.dirtyListeners;
        for (let i = 0; i < ls.length; i++) {
          const l = ls[i]!;
          l.dirty = false;
          l.service(now);
        }
        ls.length = 0;
        const d = this.dirty;
        for (let i = 0; i < d.length && i < 1_000_000; i++) {
          const c = d[i]!;
          c.dirty = false;
          c.service(now);
        }
        d.length = 0;
        if (this.dirtyListeners.length === 0) break;
      }
    } finally {
      this.servicing = false;
    }
    if (this.deferred.length > 0) this.kick();
    if (this.addrs.needsSweep) this.sweepAddresses();
  }

  /** Forgets the IPv6 addresses nothing holds any more (src/tcp/addresses.ts): between segments only. */
  private sweepAddresses(): void {
    this.addrs.sweep((mark) => {
      for (const c of this.connections()) {
        mark(c.localAddr);
        mark(c.remoteAddr);
      }
      for (const e of this.timeWait.entries()) {
        mark(e.localAddr);
        mark(e.remoteAddr);
      }
      for (const l of this.listenerList()) {
        mark(l.localAddr);
        for (const e of l.synQueue.values()) {
          mark(e.localAddr);
          mark(e.remoteAddr);
        }
        for (const c of l.acceptQueue) {
          mark(c.localAddr);
          mark(c.remoteAddr);
        }
      }
    });
  }

  // ---------------------------------------------------------------- API

  createServer(opts?: ServerOptions | ((s: TcpSocket) => void), onConnection?: (s: TcpSocket) => void): TcpServer {
    if (typeof opts === 'function') return new TcpServer(this, {}, opts);
    return new TcpServer(this, opts ?? {}, onConnection);
  }

  /** Active open from the stack (like net.connect). */
  connect(opts: ConnectOptions, cb?: () => void): TcpSocket {
    const sock = new TcpSocket(this, null, opts.allowHalfOpen ?? false);
    if (cb) sock.once('connect', cb);
    const fail = (e: TcpError): TcpSocket => {
      process.nextTick(() => sock.destroy(e));
      return sock;
    };
    const dst = typeof opts.host === 'number' ? opts.host : this.addrs.parse(opts.host ?? '127.0.0.1');
    if (dst instanceof Error) return fail(new TcpError('EINVAL', 'connect', dst.message));
    if (dst === ANY6 || (isV6(dst) && this.host.ip6 === undefined)) return fail(new TcpError('ENETUNREACH', 'connect', this.addrs.format(dst)));
    const port = opts.port;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return fail(new TcpError('EINVAL', 'connect', `bad port ${port}`));
    let local = 0;
    if (opts.localAddress !== undefined) {
      const a = this.addrs.parse(opts.localAddress);
      if (a instanceof Error || isV6(a) !== isV6(dst) || !this.isLocalAddress(a)) return fail(new TcpError('EADDRNOTAVAIL', 'connect', opts.localAddress));
      local = a;
    } else {
      local = this.sourceFor(dst);
      if (local === 0) return fail(new TcpError(isV6(dst) ? 'ENETUNREACH' : 'EHOSTUNREACH', 'connect', this.addrs.format(dst)));
    }
    let lport: number;
    if (opts.localPort !== undefined && opts.localPort !== 0) {
      lport = opts.localPort;
      if (this.inUse(dst, port, local, lport)) return fail(new TcpError('EADDRINUSE', 'connect', `${this.addrs.format(local)}:${lport}`));
    } else {
      lport = this.ephemeralPort(local, dst, port);
      if (lport < 0) return fail(new TcpError('EADDRNOTAVAIL', 'connect', 'no ephemeral port'));
    }
    const c = new TcpConnection(this, local, lport, dst, port, this.config);
    if (typeof opts.host === 'string' && opts.host.includes(':')) c.v6Socket = true; // an AF_INET6 socket, even to a mapped address
    sock.bindConnection(c);
    if (opts.noDelay) c.nodelay = true;
    if (opts.keepAlive) c.setKeepAlive(true, opts.keepAliveInitialDelay, this.now());
    this.hash(c);
    if (opts.fastOpen === true && this.config.fastOpen & TFO_CLIENT_ENABLE) {
      // RFC 7413 §4.1: a SYN with data (a cookie cached), a deferred SYN, or a SYN asking for a cookie.
      openActiveFastOpen(c, this.fastOpen.cache, opts.data ?? null, opts.synDataOnly !== true, this.now());
      if (c.fastOpen?.deferred === true) sock.connecting = false;
    } else {
      c.openActive(this.now());
      if (opts.data !== undefined && opts.data.length > 0) c.write(opts.data, 0, opts.data.length);
    }
    this.host.flush();
    return sock;
  }

  /** Our source address towards `dst` (0 without a route). */
  private sourceFor(dst: TcpAddr): TcpAddr {
    if (!isV6(dst)) return this.host.ip.sourceFor(dst);
    const w = this.addrs.words(dst);
    const src = w === null ? null : (this.host.ip6?.sourceFor(w) ?? null);
    return src === null ? 0 : this.addrs.intern(src);
  }

  private ephemeralPort(local: number, remote: number, remotePort: number): number {
    const lo = this.config.ephemeralPortLow;
    const range = this.config.ephemeralPortHigh - lo + 1;
    for (let i = 0; i < range; i++) {
      const port = lo + ((this.nextEphemeral + i) % range);
      if (this.inUse(remote, remotePort, local, port)) continue;
      if (this.listeners.has(port)) continue;
      this.nextEphemeral = (this.nextEphemeral + i + 1) % range;
      return port;
    }
    return -1;
  }

  /** Every connection and listener, like `ss -tani`. */
  socketTable(): TcpSocketRow[] {
    return socketTable(this.listenerList(), this.connections(), this.timeWait.entries(), this.now(), (remote) => this.routeMtu(remote), this.addrs);
  }

  /** Every listener (a snapshot), for the observatory's queue gauges. */
  listenerList(): TcpListener[] {
    const out: TcpListener[] = [];
    for (const ls of this.listeners.values()) for (const l of ls) out.push(l);
    return out;
  }

  /** Connections that still carry data or handshakes (everything but TIME-WAIT). */
  get activeConnections(): number {
    let n = 0;
    for (const c of this.connections()) if (c.state !== TcpState.TIME_WAIT) n++;
    return n;
  }

  /** Graceful shutdown, step one: servers stop listening and every connection gets a FIN after its data. */
  closeAllGracefully(): void {
    for (const s of [...this.servers]) s.close();
    const now = this.now();
    for (const c of this.connections()) if (c.state !== TcpState.TIME_WAIT) c.shutdownWrite();
    this.egress(now);
    this.host.flush();
  }

  /** Graceful shutdown, step two: whatever is still open is reset. */
  resetAll(): void {
    const now = this.now();
    for (const c of this.connections()) if (c.state !== TcpState.TIME_WAIT) c.abortWithReset(now);
    this.egress(now);
    this.host.flush();
  }

  /** Stack close: every connection and server stops (no packets). */
  private shutdown(): void {
    for (const s of [...this.servers]) s.close();
    for (const c of this.connections()) c.shutdownSilently();
    this.timeWait.clear();
    this.egress(this.now());
    this.rings.clear();
    this.closed = true;
  }
}

/**
 * Do two listeners on one port want the same segments? An address each, or a wildcard's family — an IPv6
 * wildcard without IPV6_V6ONLY covers IPv4 too (Linux inet_bind_conflict, without SO_REUSEADDR/PORT).
 */
function listenersOverlap(a: TcpListener, b: TcpListener): boolean {
  if (a.localAddr === b.localAddr) return true;
  return covers(a, b) || covers(b, a);
}

/** Does wildcard listener `w` take segments for `o`'s address (or for some of a wildcard `o`'s)? */
function covers(w: TcpListener, o: TcpListener): boolean {
  if (w.localAddr === 0) return !isV6(o.localAddr) || (o.localAddr === ANY6 && !o.v6only);
  if (w.localAddr === ANY6) return isV6(o.localAddr) || !w.v6only;
  return false;
}
