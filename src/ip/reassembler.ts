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
import { Timer, type TimerQueue } from '../clock.js';
import { Ipv4Header, IPV4_MIN_HEADER, decodeIpv4 } from '../wire/ipv4.js';
import { internetChecksum } from '../wire/checksum.js';
import { write16 } from '../wire/bytes.js';
import { IcmpType, TimeExceededCode } from '../wire/icmp.js';
import type { Stats } from '../stats.js';
import type { NetInterface } from './interface.js';
import type { DropReason } from '../drop-reasons.js';

export interface ReassemblyOptions {
  /** Time a datagram may wait for its missing fragments, ms (Linux ipfrag_time = 30 s). */
  timeoutMs: number;
  /** Accounted bytes (payload plus per-fragment overhead) allowed for one datagram. */
  maxDatagramBytes: number;
  /** Datagrams being reassembled at once. */
  maxDatagrams: number;
  /** Accounted bytes over all datagrams (Linux ipfrag_high_thresh = 4 MiB). */
  maxTotalBytes: number;
}

export const defaultReassemblyOptions: ReassemblyOptions = {
  timeoutMs: 30_000,
  maxDatagramBytes: 256 * 1024,
  maxDatagrams: 1024,
  maxTotalBytes: 4 * 1024 * 1024,
};

/** Bookkeeping cost charged per fragment and per datagram (like an skb's truesize beyond its data). */
export const FRAGMENT_OVERHEAD = 64;
export const DATAGRAM_OVERHEAD = 256;
/** Largest IPv4 datagram (header included). */
const MAX_DATAGRAM = 65535;

/** What the reassembler needs from the stack around it. */
/** Who hears how datagrams end (the stack's event feed). */
export interface ReassemblyObserver {
  readonly active: boolean;
  reasm(what: 'ok' | 'fail' | 'timeout', src: number, dst: number, id: number, protocol: number, bytes: number): void;
}

export interface ReassemblyHost {
  /** Hands a reassembled datagram to the protocols (Ipv4Layer.deliver). */
  deliver(packet: Uint8Array, h: Ipv4Header, iface: NetInterface, now: number): void;
  /** Sends an ICMP error quoting `offending` (IcmpLayer.sendError). */
  sendError(type: number, code: number, rest: number, offending: Uint8Array, h: Ipv4Header, now: number): boolean;
}

/** One datagram being put together. Fragments are kept sorted by offset, never overlapping. */
class Pending {
  src = 0;
  dst = 0;
  id = 0;
  protocol = 0;
  /** Next entry with the same hash key. */
  chain: Pending | null = null;
  /** Age list (oldest first). */
  older: Pending | null = null;
  newer: Pending | null = null;
  /** Fragment payloads (copies), their offsets; sorted by offset. */
  readonly data: Uint8Array[] = [];
  readonly offsets: number[] = [];
  count = 0;
  /** Payload bytes received so far (no overlaps, so a sum). */
  received = 0;
  /** Payload length once the last fragment (MF clear) arrived, else -1. */
  end = -1;
  /** Largest end seen among the fragments. */
  maxEnd = 0;
  /** Copy of the first fragment's header (with options) + up to 8 payload bytes, once offset 0 arrived. */
  first: Uint8Array | null = null;
  firstHeaderLength = 0;
  /** Accounted bytes. */
  bytes = 0;
  iface: NetInterface | null = null;
  readonly timer: Timer;
  constructor(fire: (now: number) => void) {
    this.timer = new Timer(fire);
  }
}

function hashKey(src: number, dst: number, id: number, protocol: number): number {
  // 24 bits of (id, protocol) and 28 bits mixed from the addresses: < 2^52, exact in a double.
  const mix = (Math.imul(src ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(dst, 0xc2b2ae35)) >>> 4;
  return (id | (protocol << 16)) * 0x10000000 + mix;
}

export class Reassembler {
  readonly options: ReassemblyOptions;
  private readonly table = new Map<number, Pending>();
  private oldest: Pending | null = null;
  private newest: Pending | null = null;
  private inFlight = 0;
  private totalBytes = 0;
  private readonly pool: Pending[] = [];
  private readonly outHeader = new Ipv4Header();
  /** The observatory (src/observe/feed.ts); told about outcomes only while it has subscribers. */
  feed: ReassemblyObserver | null = null;

  constructor(
    private readonly host: ReassemblyHost,
    private readonly timers: TimerQueue,
    private readonly stats: Stats,
    options: Partial<ReassemblyOptions> = {},
  ) {
    this.options = { ...defaultReassemblyOptions, ...options };
  }

  /** Datagrams currently waiting for fragments. */
  get pendingCount(): number {
    return this.inFlight;
  }

  /** Accounted bytes currently held. */
  get memory(): number {
    return this.totalBytes;
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
    else if (p !== null) {
      if (last) {
        if (fragEnd < p.maxEnd || (p.end >= 0 && fragEnd !== p.end)) fatal = 'ip.frag-bad-end';
      } else if (p.end >= 0 && fragEnd > p.end) fatal = 'ip.frag-beyond-end';
    }
    if (fatal !== null) {
      this.stats.drop(fatal);
      if (p !== null) this.fail(p);
      else ip.ReasmFails++;
      return;
    }

    if (p === null) {
      if (this.inFlight >= this.options.maxDatagrams) this.evictOldest('ip.frag-evicted-count');
      p = this.create(h.src, h.dst, h.id, h.protocol, now);
    }

    // Where does [off, fragEnd) go? Find the first fragment ending after `off`.
    const offsets = p.offsets;
    const data = p.data;
    let i = p.count;
    while (i > 0 && offsets[i - 1]! + data[i - 1]!.length > off) i--;
    if (i < p.count && offsets[i]! < fragEnd) {
      // Overlaps fragment i. Tolerated only when it is an exact duplicate.
      if (offsets[i] === off && data[i]!.length === len && sameBytes(data[i]!, packet, hl)) {
        if (last && p.end < 0) p.end = fragEnd; // a duplicate that tells us the end (cannot conflict: checked above)
        this.stats.drop('ip.frag-duplicate');
        return;
      }
      ip.ReasmOverlaps++;
      this.stats.drop('ip.frag-overlap');
      this.fail(p);
      return;
    }

    const cost = len + FRAGMENT_OVERHEAD;
    if (p.bytes + cost > this.options.maxDatagramBytes) {
      this.stats.drop('ip.frag-datagram-limit');
      this.fail(p);
      return;
    }
    // Make room under the total limit, oldest first (never evicting the datagram this fragment belongs to).
    while (this.totalBytes + cost > this.options.maxTotalBytes && this.oldest !== null && this.oldest !== p) {
      this.evictOldest('ip.frag-evicted-memory');
    }
    if (this.totalBytes + cost > this.options.maxTotalBytes) {
      this.stats.drop('ip.frag-memory-limit');
      this.fail(p);
      return;
    }

    const copy = packet.slice(hl, hl + len);
    offsets.splice(i, 0, off);
    data.splice(i, 0, copy);
    p.count++;
    p.received += len;
    p.bytes += cost;
    this.totalBytes += cost;
    if (fragEnd > p.maxEnd) p.maxEnd = fragEnd;
    if (last) p.end = fragEnd;
    p.iface = iface;
    if (off === 0) {
      const keep = Math.min(packet.length, hl + 8);
      p.first = packet.slice(0, keep);
      p.firstHeaderLength = hl;
    }
    if (p.end >= 0 && p.first !== null && p.received === p.end) this.complete(p, now);
  }

  /** Drops everything (stack close): timers disarmed, memory released; not counted as failures. */
  clear(): void {
    while (this.oldest !== null) this.release(this.oldest);
  }

  private find(src: number, dst: number, id: number, protocol: number): Pending | null {
    let p = this.table.get(hashKey(src, dst, id, protocol)) ?? null;
    while (p !== null && !(p.src === src && p.dst === dst && p.id === id && p.protocol === protocol)) p = p.chain;
    return p;
  }

  private create(src: number, dst: number, id: number, protocol: number, now: number): Pending {
    const p = this.pool.pop() ?? this.newPending();
    p.src = src;
    p.dst = dst;
    p.id = id;
    p.protocol = protocol;
    p.count = 0;
    p.received = 0;
    p.end = -1;
    p.maxEnd = 0;
    p.first = null;
    p.firstHeaderLength = 0;
    p.bytes = DATAGRAM_OVERHEAD;
    this.totalBytes += DATAGRAM_OVERHEAD;
    const key = hashKey(src, dst, id, protocol);
    p.chain = this.table.get(key) ?? null;
    this.table.set(key, p);
    // Append to the age list.
    p.older = this.newest;
    p.newer = null;
    if (this.newest) this.newest.newer = p;
    else this.oldest = p;
    this.newest = p;
    this.inFlight++;
    this.timers.arm(p.timer, now + this.options.timeoutMs);
    return p;
  }

  private newPending(): Pending {
    const p: Pending = new Pending((now) => this.expire(p, now));
    return p;
  }

  /** Unlinks a datagram from the table, the age list and the timer queue; releases its memory. */
  private release(p: Pending): void {
    const key = hashKey(p.src, p.dst, p.id, p.protocol);
    const head = this.table.get(key);
    if (head === p) {
      if (p.chain) this.table.set(key, p.chain);
      else this.table.delete(key);
    } else {
      let q = head ?? null;
      while (q !== null && q.chain !== p) q = q.chain;
      if (q !== null) q.chain = p.chain;
    }
    p.chain = null;
    if (p.older) p.older.newer = p.newer;
    else this.oldest = p.newer;
    if (p.newer) p.newer.older = p.older;
    else this.newest = p.older;
    p.older = p.newer = null;
    this.timers.disarm(p.timer);
    this.totalBytes -= p.bytes;
    this.inFlight--;
    p.data.length = 0;
    p.offsets.length = 0;
    p.count = 0;
    p.first = null;
    p.iface = null;
    p.bytes = 0;
    if (this.pool.length < 64) this.pool.push(p);
  }

  private fail(p: Pending): void {
    this.stats.Ip.ReasmFails++;
    if (this.feed !== null && this.feed.active) this.feed.reasm('fail', p.src, p.dst, p.id, p.protocol, p.received);
    this.release(p);
  }

  private evictOldest(reason: DropReason): void {
    const p = this.oldest;
    if (p === null) return;
    this.stats.drop(reason);
    this.fail(p);
  }

  private expire(p: Pending, now: number): void {
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
    for (let k = 0; k < p.count; k++) out.set(p.data[k]!, hl + p.offsets[k]!);
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

function sameBytes(a: Uint8Array, packet: Uint8Array, start: number): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== packet[start + k]) return false;
  return true;
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
