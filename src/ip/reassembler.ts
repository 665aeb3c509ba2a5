/**
 * IPv4 reassembly (RFC 791 §3.2, RFC 815), with the hardening Linux applies:
 *
 * - datagrams keyed by (src, dst, id, protocol);
 * - fragments in any order; an exact duplicate (same offset, length and
 *   bytes) is dropped and the datagram kept;
 * - any other overlap discards the whole datagram (RFC 5722's rule applied to
 *   IPv4, as Linux does), and so do a zero-length fragment, a fragment past an
 *   already known end, a second different "last" fragment, and an end beyond
 *   65,535 bytes (ping of death);
 * - limits on bytes per datagram, datagrams in flight and total memory (Linux
 *   ipfrag_high_thresh, 4 MiB); over a limit the oldest datagrams are evicted
 *   first;
 * - a timeout (Linux ipfrag_time, 30 s) after which ICMP Time Exceeded code 1
 *   goes back when the first fragment had arrived.
 *
 * Counters follow Linux: ReasmReqds per fragment received, ReasmOKs per
 * datagram rebuilt, ReasmFails per datagram given up (overlap, timeout,
 * eviction, bad shape), ReasmTimeout per expiry; every discarded fragment also
 * gets a drop reason. Fragment bytes are copied (receive views are only valid
 * during the call) and accounted, so memory stays under `maxTotalBytes`.
 */
import type { TimerQueue } from '../clock.js';
import { Ipv4Header, IPV4_MIN_HEADER, decodeIpv4 } from '../wire/ipv4.js';
import { internetChecksum } from '../wire/checksum.js';
import { write16 } from '../wire/bytes.js';
import { IcmpType, TimeExceededCode } from '../wire/icmp.js';
import type { Stats } from '../stats.js';
import type { NetInterface } from './interface.js';
import type { DropReason } from '../drop-reasons.js';
import { FRAGMENT_OVERHEAD, FragmentDatagram, FragmentQueue, defaultReassemblyOptions, type ReassemblyOptions } from './fragment-queue.js';

export { DATAGRAM_OVERHEAD, FRAGMENT_OVERHEAD, defaultReassemblyOptions, type ReassemblyOptions } from './fragment-queue.js';

/** Largest IPv4 datagram (header included). */
const MAX_DATAGRAM = 65535;

/** Who hears how datagrams end (the stack's event feed). */
export interface ReassemblyObserver {
  readonly active: boolean;
  reasm(what: 'ok' | 'fail' | 'timeout', src: number, dst: number, id: number, protocol: number, bytes: number): void;
}

/** What the reassembler needs from the stack around it. */
export interface ReassemblyHost {
  /** Hands a reassembled datagram to the protocols (Ipv4Layer.deliver). */
  deliver(packet: Uint8Array, h: Ipv4Header, iface: NetInterface, now: number): void;
  /** Sends an ICMP error quoting `offending` (IcmpLayer.sendError). */
  sendError(type: number, code: number, rest: number, offending: Uint8Array, h: Ipv4Header, now: number): boolean;
}

/** One IPv4 datagram being put together, keyed by (src, dst, id, protocol). */
class Pending extends FragmentDatagram {
  src = 0;
  dst = 0;
  id = 0;
  protocol = 0;
  /** Copy of the first fragment's header (with options) + up to 8 payload bytes, once offset 0 arrived. */
  first: Uint8Array | null = null;
  firstHeaderLength = 0;
}

function hashKey(src: number, dst: number, id: number, protocol: number): number {
  // 24 bits of (id, protocol) and 28 bits mixed from the addresses: < 2^52, exact in a double.
  const mix = (Math.imul(src ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(dst, 0xc2b2ae35)) >>> 4;
  return (id | (protocol << 16)) * 0x10000000 + mix;
}

export class Reassembler extends FragmentQueue<Pending> {
  private readonly outHeader = new Ipv4Header();
  /** The observatory (src/observe/feed.ts); told about outcomes only while it has subscribers. */
  feed: ReassemblyObserver | null = null;

  constructor(
    private readonly host: ReassemblyHost,
    timers: TimerQueue,
    stats: Stats,
    options: Partial<ReassemblyOptions> = {},
  ) {
    super(
      timers,
      stats,
      {
        duplicate: 'ip.frag-duplicate',
        overlap: 'ip.frag-overlap',
        badEnd: 'ip.frag-bad-end',
        beyondEnd: 'ip.frag-beyond-end',
        datagramLimit: 'ip.frag-datagram-limit',
        memoryLimit: 'ip.frag-memory-limit',
        evictedMemory: 'ip.frag-evicted-memory',
        evictedCount: 'ip.frag-evicted-count',
      },
      { ...defaultReassemblyOptions, ...options },
    );
  }

  /**
   * One fragment addressed to us (`packet` is the whole IP datagram, `h` its
   * parsed header; both valid only during the call).
   */
  input(packet: Uint8Array, h: Ipv4Header, iface: NetInterface, now: number): void {
    const ip = this.stats.Ip;
    ip.ReasmReqds++;
    const hl = h.headerLength;
    const len = h.totalLength - hl;
    const off = h.fragmentOffset;
    const fragEnd = off + len;
    const last = !h.moreFragments;

    let p = this.find(h.src, h.dst, h.id, h.protocol);
    // Shape checks that condemn the whole datagram (as Linux's ip_frag_queue does).
    let fatal: DropReason | null = null;
    if (hl + fragEnd > MAX_DATAGRAM) fatal = 'ip.frag-too-big';
    else if (len === 0) fatal = 'ip.frag-empty';
    else if (!last && (len & 7) !== 0) fatal = 'ip.frag-unaligned';
    else if (p !== null) fatal = this.endConflict(p, fragEnd, last);
    if (fatal !== null) {
      this.stats.drop(fatal);
      if (p !== null) this.fail(p);
      else ip.ReasmFails++;
      return;
    }

    if (p === null) {
      p = this.create(hashKey(h.src, h.dst, h.id, h.protocol), now);
      p.src = h.src;
      p.dst = h.dst;
      p.id = h.id;
      p.protocol = h.protocol;
    }
    if (!this.store(p, off, len, last, packet, hl, len + FRAGMENT_OVERHEAD, iface)) return;
    if (off === 0) {
      const keep = Math.min(packet.length, hl + 8);
      p.first = packet.slice(0, keep);
      p.firstHeaderLength = hl;
    }
    if (p.whole && p.first !== null) this.complete(p, now);
  }

  private find(src: number, dst: number, id: number, protocol: number): Pending | null {
    let p = this.lookup(hashKey(src, dst, id, protocol));
    while (p !== null && !(p.src === src && p.dst === dst && p.id === id && p.protocol === protocol)) p = p.chain;
    return p;
  }

  protected newDatagram(fire: (now: number) => void): Pending {
    return new Pending(fire);
  }

  protected released(p: Pending): void {
    p.first = null;
    p.firstHeaderLength = 0;
  }

  protected override countOverlap(): void {
    this.stats.Ip.ReasmOverlaps++;
  }

  protected countFailure(p: Pending): void {
    this.stats.Ip.ReasmFails++;
    if (this.feed !== null && this.feed.active) this.feed.reasm('fail', p.src, p.dst, p.id, p.protocol, p.received);
  }

  protected expire(p: Pending, now: number): void {
    this.stats.Ip.ReasmTimeout++;
    this.stats.Ip.ReasmFails++;
    this.stats.drop('ip.frag-timeout');
    if (this.feed !== null && this.feed.active) this.feed.reasm('timeout', p.src, p.dst, p.id, p.protocol, p.received);
    const first = p.first;
    const hl = p.firstHeaderLength;
    this.release(p);
    // RFC 792 / RFC 1122 §3.2.1.4: Time Exceeded code 1, only when fragment zero is available to quote.
    if (first !== null) {
      const h = this.outHeader;
      if (decodeIpv4WithLength(first, hl, h)) this.host.sendError(IcmpType.TimeExceeded, TimeExceededCode.Reassembly, 0, first, h, now);
    }
  }

  private complete(p: Pending, now: number): void {
    const hl = p.firstHeaderLength;
    const total = hl + p.end;
    if (total > MAX_DATAGRAM) {
      this.stats.drop('ip.frag-too-big');
      this.fail(p);
      return;
    }
    const out = new Uint8Array(total);
    out.set(p.first!.subarray(0, hl), 0);
    p.copyInto(out, hl);
    // The rebuilt header: full length, no MF, offset 0 (DF kept), fresh checksum.
    write16(out, 2, total);
    out[6] = out[6]! & 0x40;
    out[7] = 0;
    out[10] = 0;
    out[11] = 0;
    write16(out, 10, internetChecksum(out, 0, hl));
    const iface = p.iface!;
    this.stats.Ip.ReasmOKs++;
    if (this.feed !== null && this.feed.active) this.feed.reasm('ok', p.src, p.dst, p.id, p.protocol, p.end);
    this.release(p);
    const h = this.outHeader;
    if (decodeIpv4(out, h, false) !== undefined) {
      // Cannot happen for a header that parsed before; counted rather than thrown.
      this.stats.drop('ip.frag-rebuild-failed');
      return;
    }
    this.host.deliver(out, h, iface, now);
  }
}

/**
 * Parses the kept copy of a first fragment (header + a few payload bytes). Its
 * total-length field names the whole fragment, longer than the copy, so the
 * header is read from a buffer whose length field is patched to the copy.
 */
function decodeIpv4WithLength(first: Uint8Array, hl: number, into: Ipv4Header): boolean {
  if (first.length < hl || hl < IPV4_MIN_HEADER) return false;
  const tmp = first.slice();
  write16(tmp, 2, first.length);
  if (decodeIpv4(tmp, into, false) !== undefined) return false;
  return true;
}
