/**
 * A stack under fuzz: 10.77.0.2 on a CaptureLink with a virtual clock,
 * every built-in service up (UDP echo/discard, DNS, TCP echo/discard/chargen),
 * a server whose application never reads (port 81), and helpers that turn
 * fuzz commands into packets — random bytes, mutated valid datagrams,
 * segments aimed at live connections (relative sequence numbers), ICMP
 * errors quoting real or forged connections, fragments of colliding
 * datagrams, and the passage of time.
 *
 * `check()` asserts the invariants of the input path: no exception escaped
 * (the caller's job), every IPv4 datagram accounted for exactly once,
 * every delivered datagram accounted for by its transport, reassembly and
 * timers within their caps, and every packet the stack sent well formed and
 * never to a broadcast/multicast address nor an ICMP error about an ICMP
 * error.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { TimerQueue, VirtualClock } from '../../src/clock.js';
import { decodeIpv4, emitIpv4, Ipv4Header, isLimitedBroadcast, isMulticast } from '../../src/wire/ipv4.js';
import { decodeTcp, emitTcp, tcpHeaderLength, TcpHeader, type TcpEmit } from '../../src/wire/tcp.js';
import { decodeUdp, emitUdp, UdpHeader } from '../../src/wire/udp.js';
import { decodeIcmp, emitIcmp, IcmpHeader, echoRest, isIcmpError } from '../../src/wire/icmp.js';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';
import { startUdpEcho, startUdpDiscard } from '../../src/services/udp-echo.js';
import { startDns } from '../../src/services/dns.js';
import { startTcpEcho, startTcpDiscard, startTcpChargen } from '../../src/services/tcp-services.js';
import type { ReassemblyOptions } from '../../src/ip/reassembler.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { bytes, count, fixChecksums, mutate, mutation, type Mutation } from './fuzz-kit.js';
import type { DropReason } from '../../src/drop-reasons.js';

export const STACK = 0x0a4d0002; // 10.77.0.2
export const PEER = 0x0a4d0001; // 10.77.0.1
const NET_BCAST = 0x0a4d00ff;
const OTHER = 0x0a4d0009;
/** Source addresses a packet may claim: the peer (most), others on the link, LAND (the stack itself), broadcast, multicast, zero, class E, loopback. */
const SOURCES = [PEER, PEER, PEER, PEER, OTHER, STACK, NET_BCAST, 0xffffffff, 0xe0000001, 0, 0xf0000001, 0x7f000001];
const DESTS = [STACK, STACK, STACK, STACK, NET_BCAST, 0xffffffff, 0xe0000001, OTHER, 0];
const TCP_PORTS = [7, 9, 19, 81, 80, 1];
const UDP_PORTS = [7, 9, 53, 1, 4000];
const PEER_PORTS = [40000, 40001, 40002, 40003, 7, 19, 53];

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export type Cmd =
  | { k: 'raw'; b: Uint8Array }
  | { k: 'ip'; proto: number; payload: Uint8Array; src: number; dst: number; ms: Mutation[]; fix: boolean; ttl: number; opts: Uint8Array }
  | { k: 'udp'; sport: number; dport: number; payload: Uint8Array; src: number; dst: number; ms: Mutation[]; badSum: boolean }
  | { k: 'tcp'; sport: number; dport: number; flags: number; rel: boolean; dseq: number; dack: number; window: number; raw: Uint8Array | null; tsval: number; payload: Uint8Array; src: number; ms: Mutation[] }
  | { k: 'icmp'; type: number; code: number; rest: number; quote: 'tcp' | 'udp' | 'icmp' | 'junk'; sport: number; dport: number; dseq: number; exact: boolean; qlen: number; junk: Uint8Array }
  | { k: 'echo'; id: number; seq: number; data: Uint8Array; dst: number }
  | { k: 'frag'; id: number; proto: number; off: number; len: number; mf: boolean; fill: number; src: number }
  | { k: 'time'; ms: number }
  | { k: 'app'; what: 'end-all' | 'destroy-all' | 'connect' | 'resume' };

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const pick = <T>(xs: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);
const muts = fc.array(mutation, { maxLength: 3 });
/** Sequence deltas around a live connection's RCV.NXT / SND.UNA: in window, at the edges, out of window, far away. */
const delta = fc.oneof(fc.constantFrom(0, 0, 0, 1, -1, 1000, 65535, 65536, -65536, 0x7fffffff, -0x80000000), fc.integer({ min: -100_000, max: 2_000_000 }));
const hostileOpts = fc
  .array(
    fc.oneof(
      fc.constantFrom([1], [0], [2, 0], [2, 1], [2, 4, 0, 0], [2, 4, 0xff, 0xff], [3, 3, 255], [3, 3, 14], [3, 1], [4, 2], [8, 10, 0, 0, 0, 1, 0, 0, 0, 0], [8, 1], [5, 10, 0, 0, 0, 0, 0, 0, 0, 1], [5, 2], [5, 0], [2, 60], [30, 2]),
      fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 60 }), bytes(8)).map(([k, l, d]) => [k, l, ...d]),
    ),
    { maxLength: 8 },
  )
  .map((parts) => {
    const flat = parts.flat().slice(0, 40);
    while (flat.length % 4) flat.push(1);
    return Uint8Array.from(flat);
  });

export const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ k: fc.constant('raw' as const), b: fc.oneof(bytes(80), fc.tuple(fc.integer({ min: 0x40, max: 0x4f }), bytes(80)).map(([f, r]) => Uint8Array.from([f, ...r]))) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('ip' as const),
      proto: fc.oneof(pick([1, 6, 17]), fc.integer({ min: 0, max: 255 })),
      payload: bytes(60),
      src: pick(SOURCES),
      dst: pick(DESTS),
      ms: muts,
      fix: fc.boolean(),
      ttl: fc.constantFrom(0, 1, 64, 255),
      opts: fc.oneof(fc.constant(new Uint8Array(0)), bytes(40).map((b) => b.subarray(0, b.length & ~3))),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('udp' as const), sport: fc.oneof(pick(PEER_PORTS), u16), dport: fc.oneof(pick(UDP_PORTS), u16), payload: bytes(120), src: pick(SOURCES), dst: pick(DESTS), ms: muts, badSum: fc.boolean() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant('tcp' as const),
      sport: pick(PEER_PORTS),
      dport: pick(TCP_PORTS),
      flags: fc.oneof(pick([0x02, 0x10, 0x18, 0x11, 0x04, 0x14, 0x12, 0x01, 0x19, 0x03, 0x06, 0x00, 0x3f]), fc.integer({ min: 0, max: 0x1ff })),
      rel: fc.boolean(),
      dseq: delta,
      dack: delta,
      window: fc.oneof(fc.constantFrom(0, 1, 65535), u16),
      raw: fc.option(hostileOpts, { nil: null }),
      tsval: u32,
      payload: fc.oneof(fc.constant(new Uint8Array(0)), bytes(200)),
      src: fc.oneof({ weight: 8, arbitrary: fc.constant(PEER) }, { weight: 1, arbitrary: pick(SOURCES) }),
      ms: fc.oneof({ weight: 4, arbitrary: fc.constant([] as Mutation[]) }, { weight: 1, arbitrary: muts }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('icmp' as const),
      type: fc.oneof(pick([3, 11, 12, 4, 5, 0, 8]), fc.integer({ min: 0, max: 255 })),
      code: fc.oneof(pick([0, 1, 2, 3, 4]), fc.integer({ min: 0, max: 255 })),
      rest: fc.oneof(fc.constantFrom(0, 68, 576, 1280, 67, 0xffff), u32),
      quote: pick(['tcp', 'udp', 'icmp', 'junk'] as const),
      sport: pick(PEER_PORTS),
      dport: pick(TCP_PORTS),
      dseq: delta,
      exact: fc.boolean(),
      qlen: fc.integer({ min: 0, max: 40 }),
      junk: bytes(40),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('echo' as const), id: u16, seq: u16, data: bytes(100), dst: pick(DESTS) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('frag' as const),
      id: fc.integer({ min: 1, max: 4 }),
      proto: pick([1, 17, 6, 99]),
      off: fc.oneof(fc.integer({ min: 0, max: 8 }).map((x) => x * 8), fc.integer({ min: 0, max: 8191 }).map((x) => x * 8)),
      len: fc.oneof(fc.constantFrom(0, 1, 7, 8, 16, 24, 1480), fc.integer({ min: 0, max: 600 })),
      mf: fc.boolean(),
      fill: fc.integer({ min: 0, max: 255 }),
      src: fc.oneof({ weight: 6, arbitrary: fc.constant(PEER) }, { weight: 1, arbitrary: pick(SOURCES) }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('time' as const), ms: fc.oneof(fc.constantFrom(0, 1, 40, 200, 1000, 30_000, 61_000, 130_000), fc.integer({ min: 0, max: 5000 })) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('app' as const), what: pick(['end-all', 'destroy-all', 'connect', 'resume'] as const) }) },
);

export interface TargetOptions {
  reassembly?: Partial<ReassemblyOptions>;
  tcp?: Partial<TcpConfig>;
}

/** Timers a stack may hold: a handful per connection and listener, one per datagram being reassembled, a few global. */
const TIMERS_PER_CONN = 8;

export class InputTarget {
  readonly clock = new VirtualClock(1_000_000);
  readonly link = new CaptureLink();
  readonly stack: Stack;
  private readonly stops: (() => void)[] = [];
  private readonly appSockets = new Set<import('../../src/tcp/socket.js').TcpSocket>();
  sentTotal = 0;
  /** Datagrams created by the fuzz commands that carried a SYN (bound on connection count). */
  synsInjected = 0;
  private readonly ih = new Ipv4Header();
  private readonly th = new TcpHeader();
  private readonly uh = new UdpHeader();
  private readonly ch = new IcmpHeader();
  private readonly qh = new Ipv4Header();

  constructor(o: TargetOptions = {}) {
    this.stack = new Stack({
      clock: this.clock,
      timers: new TimerQueue(),
      tcp: { seed: 9, ...o.tcp },
      ...(o.reassembly ? { reassembly: o.reassembly } : {}),
      icmp: { perDestIntervalMs: 0, msgsPerSec: 1e6, msgsBurst: 1e6 },
    });
    this.stack.addInterface(this.link, '10.77.0.2/24', { defaultRoute: true });
    const s = this.stack;
    this.stops.push(startUdpEcho(s, 7), startUdpDiscard(s, 9), startDns(s, [], 53), startTcpEcho(s, 7), startTcpDiscard(s, 9), startTcpChargen(s, 19));
    // An application that accepts and never reads.
    const lazy = s.tcp.createServer({ pauseOnConnect: true }, (sock) => {
      sock.on('error', () => {});
      this.appSockets.add(sock);
      sock.on('close', () => this.appSockets.delete(sock));
    });
    lazy.listen({ port: 81, backlog: 4 });
    this.stops.push(() => lazy.close());
  }

  /** Live connection on this 4-tuple (peer side port `sport`, our port `dport`), if any. */
  private conn(sport: number, dport: number) {
    return this.stack.tcp.lookup(PEER, sport, STACK, dport);
  }

  private ipOut(payload: Uint8Array, proto: number, src: number, dst: number, f: { id?: number; mf?: boolean; off?: number; ttl?: number; opts?: Uint8Array } = {}): Uint8Array {
    const opts = f.opts ?? new Uint8Array(0);
    const hl = 20 + opts.length;
    const b = new Uint8Array(hl + payload.length);
    b.set(payload, hl);
    emitIpv4(b, 0, {
      totalLength: b.length,
      id: f.id ?? 0x1234,
      dontFragment: false,
      moreFragments: f.mf ?? false,
      fragmentOffset: f.off ?? 0,
      ttl: f.ttl ?? 64,
      protocol: proto,
      src,
      dst,
      ...(opts.length ? { options: opts } : {}),
    });
    return b;
  }

  private tcpSeg(src: number, dst: number, e: TcpEmit, payload: Uint8Array): Uint8Array {
    const hl = tcpHeaderLength(e);
    const seg = new Uint8Array(hl + payload.length);
    seg.set(payload, hl);
    emitTcp(seg, 0, e, payload.length, src, dst);
    return seg;
  }

  /** Turns one command into zero or more packets and injects them as one batch; runs timers and app callbacks. */
  async apply(c: Cmd): Promise<void> {
    count(`input.${c.k}`);
    const pkts: Uint8Array[] = [];
    switch (c.k) {
      case 'raw':
        pkts.push(c.b);
        break;
      case 'ip': {
        const p = mutate(this.ipOut(c.payload, c.proto, c.src, c.dst, { ttl: c.ttl, opts: c.opts }), c.ms);
        pkts.push(c.fix ? fixChecksums(p) : p);
        break;
      }
      case 'udp': {
        const u = new Uint8Array(8 + c.payload.length);
        u.set(c.payload, 8);
        emitUdp(u, 0, c.sport, c.dport, u.length, c.src, c.dst);
        if (c.badSum) u[6] ^= 0x55;
        const p = this.ipOut(u, 17, c.src, c.dst);
        pkts.push(c.ms.length ? fixChecksums(mutate(p, c.ms)) : p);
        break;
      }
      case 'tcp': {
        const live = this.conn(c.sport, c.dport);
        const info = live?.info();
        const seq = c.rel && info ? (info.rcvNxt + c.dseq) >>> 0 : (c.dseq >>> 0);
        const ack = c.rel && info ? (info.sndUna + c.dack) >>> 0 : (c.dack >>> 0);
        const e: TcpEmit = { srcPort: c.sport, dstPort: c.dport, seq, ack, flags: c.flags, window: c.window, urgent: 0, options: c.raw ? undefined : { mss: 1460, sackPermitted: true, wscale: 7, ts: { val: c.tsval, ecr: 0 } }, rawOptions: c.raw ?? undefined };
        if (!(c.flags & 0x02)) e.options = c.raw ? undefined : { ts: { val: c.tsval, ecr: 0 } };
        if (c.flags & 0x02) this.synsInjected++;
        const p = this.ipOut(this.tcpSeg(c.src, STACK, e, c.payload), 6, c.src, STACK);
        pkts.push(c.ms.length ? fixChecksums(mutate(p, c.ms)) : p);
        break;
      }
      case 'icmp': {
        const live = this.conn(c.sport, c.dport);
        const info = live?.info();
        let quoted: Uint8Array;
        if (c.quote === 'tcp') {
          const seq = info ? (c.exact ? info.sndUna : (info.sndUna + c.dseq) >>> 0) : c.dseq >>> 0;
          const t = this.tcpSeg(STACK, PEER, { srcPort: c.dport, dstPort: c.sport, seq, ack: 0, flags: 0x10, window: 1000 }, new Uint8Array(0));
          quoted = this.ipOut(t, 6, STACK, PEER);
        } else if (c.quote === 'udp') {
          const u = new Uint8Array(8);
          emitUdp(u, 0, c.dport, c.sport, 8, STACK, PEER);
          quoted = this.ipOut(u, 17, STACK, PEER);
        } else if (c.quote === 'icmp') {
          const m = new Uint8Array(8);
          emitIcmp(m, 0, 8, 3, 3, 0);
          quoted = this.ipOut(m, 1, STACK, PEER);
        } else {
          quoted = c.junk;
        }
        if (c.qlen < quoted.length && c.qlen > 0) quoted = quoted.subarray(0, c.qlen);
        const m = new Uint8Array(8 + quoted.length);
        m.set(quoted, 8);
        emitIcmp(m, 0, m.length, c.type, c.code, c.rest);
        pkts.push(this.ipOut(m, 1, PEER, STACK));
        break;
      }
      case 'echo': {
        const m = new Uint8Array(8 + c.data.length);
        m.set(c.data, 8);
        emitIcmp(m, 0, m.length, 8, 0, echoRest(c.id, c.seq));
        pkts.push(this.ipOut(m, 1, PEER, c.dst));
        break;
      }
      case 'frag': {
        const data = new Uint8Array(c.len).fill(c.fill);
        pkts.push(this.ipOut(data, c.proto, c.src, STACK, { id: c.id, mf: c.mf, off: c.off > 65528 ? 65528 : c.off }));
        break;
      }
      case 'time': {
        const end = this.clock.now() + c.ms;
        for (let i = 0; i < 10_000; i++) {
          const next = this.stack.timers.nextDeadline();
          if (next > end) break;
          if (next > this.clock.now()) this.clock.set(next);
          this.stack.runTimers();
          await tick();
        }
        this.clock.set(end);
        this.stack.runTimers();
        break;
      }
      case 'app': {
        if (c.what === 'connect') {
          const s = this.stack.tcp.connect({ host: '10.77.0.1', port: 5555 });
          s.on('error', () => {});
          this.appSockets.add(s);
          s.on('close', () => this.appSockets.delete(s));
        } else {
          for (const s of this.appSockets) {
            if (c.what === 'end-all') s.end();
            else if (c.what === 'destroy-all') s.destroy();
            else s.resume();
          }
        }
        break;
      }
    }
    if (pkts.length > 0) this.link.inject(...pkts);
    await tick();
    this.stack.runTimers();
    await tick();
    this.checkSent();
  }

  /** Every packet the stack sent: a valid IPv4 datagram from us, to a unicast address, with a valid transport checksum. */
  private checkSent(): void {
    const out = this.link.take();
    this.sentTotal += out.length;
    const h = this.ih;
    for (const p of out) {
      expect(decodeIpv4(p, h), 'stack sent a malformed IPv4 header').toBeUndefined();
      expect(h.src, 'stack sent from an address not its own').toBe(STACK);
      expect(isLimitedBroadcast(h.dst) || isMulticast(h.dst) || h.dst === NET_BCAST || h.dst === 0, `stack sent to ${h.dst.toString(16)}`).toBe(false);
      expect(p.length).toBeLessThanOrEqual(1500);
      if (h.isFragment) continue;
      const off = h.headerLength;
      const len = h.totalLength - off;
      if (h.protocol === 6) {
        expect(decodeTcp(p, off, len, this.th, pseudoHeaderSum(h.src, h.dst, 6, len)), 'stack sent a bad TCP segment').toBeUndefined();
      } else if (h.protocol === 17) {
        expect(decodeUdp(p, off, len, this.uh, pseudoHeaderSum(h.src, h.dst, 17, len)), 'stack sent a bad UDP datagram').toBeUndefined();
      } else if (h.protocol === 1) {
        expect(decodeIcmp(p, off, len, this.ch), 'stack sent a bad ICMP message').toBeUndefined();
        if (isIcmpError(this.ch.type)) {
          // RFC 1122 §3.2.2: never an error about an ICMP error; the quote is the offending header + 8 bytes.
          const q = p.subarray(off + 8);
          if (decodeIpv4(q, this.qh, false) === undefined || q.length >= 20) {
            const qhl = (q[0]! & 0xf) * 4;
            if (q[9] === 1 && q.length > qhl) expect(isIcmpError(q[qhl]!), 'ICMP error about an ICMP error').toBe(false);
            expect(q.length).toBeLessThanOrEqual(qhl + 8);
          }
        }
      } else {
        throw new Error(`stack sent protocol ${h.protocol}`);
      }
    }
  }

  /** The invariants that hold after any sequence of inputs. */
  check(): void {
    const st = this.stack.stats;
    const ip = st.Ip;
    // Every IPv4 datagram exactly once: header/address rejects, fragments, or delivered/unknown-protocol (reassembled ones re-enter here).
    expect(ip.InReceives, `IP accounting ${JSON.stringify(ip)}`).toBe(ip.InHdrErrors + ip.InAddrErrors + ip.ReasmReqds + ip.InDelivers + ip.InUnknownProtos - ip.ReasmOKs);
    const d = st.drops;
    const sum = (prefixes: DropReason[]) => prefixes.reduce((a, k) => a + (d[k] ?? 0), 0);
    expect(sum(['ip.truncated', 'ip.bad-version', 'ip.bad-ihl', 'ip.bad-total-length', 'ip.bad-checksum', 'ip.bad-options'])).toBe(ip.InHdrErrors);
    expect(sum(['ip.bad-source', 'ip.land', 'ip.broadcast-ignored', 'ip.not-for-us'])).toBe(ip.InAddrErrors);
    expect(d['ip.unknown-protocol'] ?? 0).toBe(ip.InUnknownProtos);
    // Every delivered datagram accounted for by its transport.
    const udpIn = st.Udp.InDatagrams + st.Udp.NoPorts + st.Udp.InErrors;
    expect(ip.InDelivers, 'IP InDelivers = ICMP InMsgs + UDP in + TCP InSegs').toBe(st.Icmp.InMsgs + udpIn + st.Tcp.InSegs);
    expect(sum(['udp.truncated', 'udp.bad-length', 'udp.bad-checksum', 'udp.rcvbuf-full'])).toBe(st.Udp.InErrors);
    expect(d['udp.no-port'] ?? 0).toBe(st.Udp.NoPorts);
    expect(sum(['tcp.truncated', 'tcp.bad-data-offset', 'tcp.bad-checksum', 'tcp.bad-options'])).toBe(st.Tcp.InErrs);
    // Memory and timers within their caps.
    const r = this.stack.reassembler;
    expect(r.memory).toBeLessThanOrEqual(r.options.maxTotalBytes);
    expect(r.pendingCount).toBeLessThanOrEqual(r.options.maxDatagrams);
    const conns = this.stack.tcp.connectionCount;
    expect(conns).toBeLessThanOrEqual(this.synsInjected + this.appSockets.size + 1);
    expect(this.stack.timers.size).toBeLessThanOrEqual(TIMERS_PER_CONN * (conns + 8) + r.pendingCount + 16);
    for (const v of Object.values(st.toJSON()).flatMap((g) => Object.values(g as Record<string, number>))) expect(Number.isFinite(v) && v >= 0).toBe(true);
  }

  close(): void {
    for (const s of this.stops) s();
    this.stack.close();
  }
}
