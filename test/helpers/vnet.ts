/**
 * A virtual network for TCP tests: two stacks (10.0.0.1 and 10.0.0.2) joined
 * by a MemoryLink pair, one VirtualClock, one TimerQueue per stack, an
 * optional ImpairedLink on either side. `run(ms)` moves virtual time forward
 * event by event: it pumps the links, fires due timers, flushes, and yields
 * to the event loop so stream callbacks run, until nothing is left to do at
 * the current instant, then jumps to the next deadline.
 *
 * Also a raw harness (`rawStack`) with a CaptureLink to inject hand-built
 * segments into one stack and read what it sends.
 */
import { Stack, type StackOptions } from '../../src/stack.js';
import { TimerQueue, VirtualClock } from '../../src/clock.js';
import { MemoryLink } from '../../src/link/memory.js';
import { ImpairedLink } from '../../src/link/impair.js';
import { parseImpairSpec } from '../../src/link/impair-spec.js';
import type { Link } from '../../src/link/link.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import { TcpHeader, decodeTcp, emitTcp, tcpHeaderLength, type TcpEmit } from '../../src/wire/tcp.js';
import { decodeIpv4, Ipv4Header } from '../../src/wire/ipv4.js';
import { CaptureLink } from './capture-link.js';
import { ip, ipPacket } from './packets.js';

export interface VnetOptions {
  tcpA?: Partial<TcpConfig>;
  tcpB?: Partial<TcpConfig>;
  /** netem-style spec for A's outgoing side (e.g. 'loss=5%,seed=3'). */
  impairA?: string;
  impairB?: string;
  mtu?: number;
  start?: number;
  /** Return true to drop a packet A sends (before its impairment stage); `n` counts A's packets from 0. */
  dropA?: (packet: Uint8Array, n: number) => boolean;
  dropB?: (packet: Uint8Array, n: number) => boolean;
}

/** A link stage that drops the packets a predicate picks (deterministic loss for tests). */
export class FilterLink implements Link {
  private n = 0;
  dropped = 0;
  constructor(
    private readonly inner: Link,
    private readonly drop: (packet: Uint8Array, n: number) => boolean,
  ) {}
  get mtu(): number {
    return this.inner.mtu;
  }
  get name(): string {
    return this.inner.name;
  }
  setReceiver(r: Parameters<Link['setReceiver']>[0]): void {
    this.inner.setReceiver(r);
  }
  send(packets: readonly Uint8Array[], count: number): void {
    const keep: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      if (this.drop(packets[i]!, this.n++)) this.dropped++;
      else keep.push(packets[i]!);
    }
    if (keep.length) this.inner.send(keep, keep.length);
  }
  close(): void {
    this.inner.close();
  }
}

export const A_ADDR = '10.0.0.1';
export const B_ADDR = '10.0.0.2';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

export class Vnet {
  readonly clock: VirtualClock;
  readonly a: Stack;
  readonly b: Stack;
  readonly linkA: MemoryLink;
  readonly linkB: MemoryLink;
  /** Packets that crossed the wire (after impairment), each direction. */
  sentByA = 0;
  sentByB = 0;

  constructor(o: VnetOptions = {}) {
    this.clock = new VirtualClock(o.start ?? 1_000_000);
    const [la, lb] = MemoryLink.pair({ mtu: o.mtu ?? 1500, names: ['vA', 'vB'] });
    this.linkA = la;
    this.linkB = lb;
    const mk = (tcp: Partial<TcpConfig> | undefined): StackOptions => ({ clock: this.clock, timers: new TimerQueue(), ...(tcp ? { tcp } : {}) });
    this.a = new Stack(mk(o.tcpA));
    this.b = new Stack(mk(o.tcpB));
    const wrap = (l: Link, spec: string | undefined, s: Stack): Link => {
      if (!spec) return l;
      const p = parseImpairSpec(spec);
      if ('error' in p) throw new Error(p.error);
      return new ImpairedLink(l, p, this.clock, s.timers);
    };
    const filt = (l: Link, f: VnetOptions['dropA']): Link => (f ? new FilterLink(l, f) : l);
    this.a.addInterface(filt(wrap(la, o.impairA, this.a), o.dropA), `${A_ADDR}/24`, { defaultRoute: true });
    this.b.addInterface(filt(wrap(lb, o.impairB, this.b), o.dropB), `${B_ADDR}/24`, { defaultRoute: true });
  }

  private pending(): boolean {
    const now = this.clock.now();
    return this.linkA.pending > 0 || this.linkB.pending > 0 || this.a.timers.nextDeadline() <= now || this.b.timers.nextDeadline() <= now;
  }

  /** Settles everything due at the current instant. */
  async settle(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      this.linkA.deliver();
      this.linkB.deliver();
      this.a.runTimers();
      this.b.runTimers();
      await tick();
      if (!this.pending()) {
        await tick();
        if (!this.pending()) return;
      }
    }
    throw new Error('vnet: no quiescence at one instant after 10000 rounds');
  }

  /** Advances virtual time by `ms`, processing every event on the way. */
  async run(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    await this.settle();
    for (;;) {
      const next = Math.min(this.a.timers.nextDeadline(), this.b.timers.nextDeadline());
      if (next > end) {
        this.clock.set(end);
        await this.settle();
        return;
      }
      if (next > this.clock.now()) this.clock.set(next);
      await this.settle();
    }
  }

  /** Runs until `pred()` holds (checked after each event), or throws after `maxMs` of virtual time. */
  async until(pred: () => boolean, maxMs = 600_000, what = 'condition'): Promise<void> {
    const end = this.clock.now() + maxMs;
    await this.settle();
    while (!pred()) {
      const next = Math.min(this.a.timers.nextDeadline(), this.b.timers.nextDeadline());
      if (next > end || next === Infinity) {
        if (next === Infinity && this.clock.now() < end) {
          await this.settle();
          if (pred()) return;
        }
        throw new Error(`vnet: ${what} not reached within ${maxMs} ms (virtual)`);
      }
      if (next > this.clock.now()) this.clock.set(next);
      await this.settle();
    }
  }

  close(): void {
    this.a.close();
    this.b.close();
  }
}

// ------------------------------------------------------------------ raw segments

export interface RawSeg {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  payload?: Uint8Array;
  options?: TcpEmit['options'];
  rawOptions?: Uint8Array;
  src?: string;
  dst?: string;
  /** Corrupt the checksum. */
  badChecksum?: boolean;
}

/** Builds an IPv4 packet carrying a TCP segment. */
export function tcpPacket(s: RawSeg): Uint8Array {
  const fields: TcpEmit = {
    srcPort: s.srcPort,
    dstPort: s.dstPort,
    seq: s.seq >>> 0,
    ack: (s.ack ?? 0) >>> 0,
    flags: s.flags,
    window: s.window ?? 65535,
    options: s.options,
    rawOptions: s.rawOptions,
  };
  const hl = tcpHeaderLength(fields);
  const payload = s.payload ?? new Uint8Array(0);
  const seg = new Uint8Array(hl + payload.length);
  seg.set(payload, hl);
  const src = s.src ?? '10.77.0.1';
  const dst = s.dst ?? '10.77.0.2';
  emitTcp(seg, 0, fields, payload.length, ip(src), ip(dst));
  if (s.badChecksum) seg[16] ^= 0xff;
  return ipPacket(seg, { src, dst, protocol: 6 });
}

export interface Captured {
  ip: Ipv4Header;
  tcp: TcpHeader;
  payload: Uint8Array;
  bytes: Uint8Array;
}

/** Decodes a packet the stack sent (throws when it is not TCP). */
export function parseSent(p: Uint8Array): Captured {
  const h = new Ipv4Header();
  const e = decodeIpv4(p, h);
  if (e !== undefined) throw new Error(`bad IP from stack: ${e}`);
  if (h.protocol !== 6) throw new Error(`not TCP: protocol ${h.protocol}`);
  const t = new TcpHeader();
  const te = decodeTcp(p, h.headerLength, h.totalLength - h.headerLength, t);
  if (te !== undefined) throw new Error(`bad TCP from stack: ${te}`);
  return { ip: h, tcp: t, payload: p.subarray(h.headerLength + t.headerLength, h.totalLength), bytes: p.subarray(h.headerLength, h.totalLength) };
}

/** One stack on a CaptureLink (10.77.0.2, peer 10.77.0.1) with a virtual clock, for packet dialogues. */
export class RawHarness {
  readonly clock = new VirtualClock(1_000_000);
  readonly link = new CaptureLink();
  readonly stack: Stack;

  constructor(tcp?: Partial<TcpConfig>) {
    this.stack = new Stack({ clock: this.clock, timers: new TimerQueue(), tcp: { seed: 42, ...tcp } });
    this.stack.addInterface(this.link, '10.77.0.2/24', { defaultRoute: true });
  }

  /** Injects segments (one batch) and lets callbacks/microtasks run. */
  async inject(...segs: RawSeg[]): Promise<void> {
    this.link.inject(...segs.map(tcpPacket));
    await this.settle();
  }

  /** Segments that reach the link's queue without being read: the stack sees them at its next poll of the link. */
  arrive(...segs: RawSeg[]): void {
    this.link.arrive(...segs.map(tcpPacket));
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      this.stack.runTimers();
      await tick();
    }
  }

  /** Advances virtual time, firing timers on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.clock.now() + ms;
    for (;;) {
      const next = this.stack.timers.nextDeadline();
      if (next > end) break;
      if (next > this.clock.now()) this.clock.set(next);
      await this.settle();
    }
    this.clock.set(end);
    await this.settle();
  }

  /** Everything sent since the last call, decoded. */
  take(): Captured[] {
    return this.link.take().map(parseSent);
  }
}
