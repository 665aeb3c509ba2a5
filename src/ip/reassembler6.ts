/**
 * IPv6 reassembly (RFC 8200 §4.5) with the hardening Linux's net/ipv6/reassembly.c applies, bounded the way
 * IPv4's reassembler (./reassembler.ts) is — the same limits (`ReassemblyOptions`), the same accounting
 * (`FRAGMENT_OVERHEAD`, `DATAGRAM_OVERHEAD`), oldest-first eviction:
 *
 * - datagrams keyed by (source, destination, identification) (§4.5: not by next header);
 * - fragments in any order; an exact duplicate is dropped and the datagram kept; any other overlap discards
 *   the whole datagram (RFC 5722 §4), and so do a zero-length fragment, a fragment past a known end and a
 *   second, different last fragment (Linux ip6_frag_queue: discard_fq);
 * - the checks that answer with Parameter Problem (§4.5): a non-last fragment whose length is not a multiple
 *   of 8 (code 0, pointing at Payload Length), a fragment ending past 65,535 bytes (code 0, pointing at the
 *   Fragment Offset field);
 * - a timeout (Linux ip6frag_time, 60 s), then Time Exceeded code 1 — only when the first fragment arrived.
 *
 * The first fragment's header chain is checked by the caller (Ipv6Layer, RFC 8200 §4.5 / RFC 7112) before a
 * fragment gets here. Counters like Linux's Ip6 line: ReasmReqds per fragment, ReasmOKs per datagram
 * rebuilt, ReasmFails per datagram given up, ReasmTimeout per expiry; every discarded fragment also has a
 * drop reason (`ip6.frag-*`).
 */
import { Timer, type TimerQueue } from '../clock.js';
import { read16, read32, write16 } from '../wire/bytes.js';
import { IPV6_HEADER } from '../wire/ipv6.js';
import type { Stats } from '../stats.js';
import type { DropReason } from '../drop-reasons.js';
import type { NetInterface } from './interface.js';
import { DATAGRAM_OVERHEAD, FRAGMENT_OVERHEAD, defaultReassemblyOptions, type ReassemblyOptions } from './reassembler.js';

/** Linux net.ipv6.ip6frag_time: 60 s (IPv4's is 30 s). */
export const IPV6_REASSEMBLY_TIMEOUT_MS = 60_000;
/** The fragment header (RFC 8200 §4.5): next header, reserved, offset/flags, identification. */
export const FRAGMENT_HEADER = 8;
/** Largest payload (RFC 8200 §3: the Payload Length field is 16 bits). */
const MAX_PAYLOAD = 65535;

export const defaultReassembly6Options: ReassemblyOptions = { ...defaultReassemblyOptions, timeoutMs: IPV6_REASSEMBLY_TIMEOUT_MS };

/** What the reassembler needs from the IPv6 layer. */
export interface Reassembly6Host {
  /**
   * A rebuilt datagram: the first fragment's unfragmentable part (its Next Header byte at `nhField` already
   * set to the fragmented header's type) followed by the fragmentable part from `unfragLength` on.
   */
  deliver(packet: Uint8Array, unfragLength: number, nextHeader: number, nhField: number, iface: NetInterface, now: number): void;
  /** Sends an ICMPv6 error (type, code, 32-bit parameter) quoting `offending`. */
  sendError(type: number, code: number, param: number, offending: Uint8Array, iface: NetInterface, now: number): void;
}

/** ICMPv6 values used here (RFC 4443), kept local so this module needs no ICMPv6 import. */
const PARAM_PROBLEM = 4;
const TIME_EXCEEDED = 3;
const TIME_EXCEEDED_REASSEMBLY = 1;

class Pending6 {
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  id = 0;
  chain: Pending6 | null = null;
  older: Pending6 | null = null;
  newer: Pending6 | null = null;
  readonly data: Uint8Array[] = [];
  readonly offsets: number[] = [];
  count = 0;
  received = 0;
  end = -1;
  maxEnd = 0;
  /** The first fragment up to and including its fragment header, once offset 0 arrived. */
  first: Uint8Array | null = null;
  /** Offset of the fragment header in `first` (= the unfragmentable part's length) and of its Next Header byte's pointer. */
  unfragLength = 0;
  nhField = 0;
  nextHeader = 0;
  bytes = 0;
  iface: NetInterface | null = null;
  readonly timer: Timer;
  constructor(fire: (now: number) => void) {
    this.timer = new Timer(fire);
  }
}

function hashKey(p: Uint8Array, id: number): number {
  // The 32-bit identification and 20 bits mixed from both addresses: < 2^52, exact in a double.
  let m = 0x9e3779b9;
  for (let o = 8; o < 40; o += 4) m = Math.imul(m ^ read32(p, o), 0x85ebca6b) ^ (m >>> 15);
  return id * 0x100000 + (m >>> 12);
}

export class Reassembler6 {
  readonly options: ReassemblyOptions;
  private readonly table = new Map<number, Pending6>();
  private oldest: Pending6 | null = null;
  private newest: Pending6 | null = null;
  private inFlight = 0;
  private totalBytes = 0;
  private readonly pool: Pending6[] = [];

  constructor(
    private readonly host: Reassembly6Host,
    private readonly timers: TimerQueue,
    private readonly stats: Stats,
    options: Partial<ReassemblyOptions> = {},
  ) {
    this.options = { ...defaultReassembly6Options, ...options };
  }

  get pendingCount(): number {
    return this.inFlight;
  }

  get memory(): number {
    return this.totalBytes;
  }

  /**
   * One fragment addressed to us: `p` is the whole packet (valid only during the call), its fragment header at
   * `fragOff` (so the unfragmentable part is p[0, fragOff)), the Next Header byte that named it at `nhField`,
   * and `end` the end of the IPv6 payload. The fragment is not atomic (offset or M set): the caller handles those.
   */
  input(p: Uint8Array, fragOff: number, nhField: number, end: number, iface: NetInterface, now: number): void {
    const s = this.stats.Ip6;
    s.ReasmReqds++;
    const word = read16(p, fragOff + 2);
    const off = word & 0xfff8;
    const more = (word & 1) !== 0;
    const id = read32(p, fragOff + 4);
    const dataStart = fragOff + FRAGMENT_HEADER;
    const len = end - dataStart;
    const fragEnd = off + len;
    // RFC 8200 §4.5: a fragment that would end past 65,535 → Parameter Problem at the Fragment Offset field.
    if (fragEnd > MAX_PAYLOAD) {
      s.InHdrErrors++;
      s.ReasmFails++;
      this.stats.drop('ip6.frag-too-big');
      this.host.sendError(PARAM_PROBLEM, 0, fragOff + 2, p.subarray(0, end), iface, now);
      return;
    }
    // §4.5: a fragment that is not the last must carry a multiple of 8 bytes → Parameter Problem at Payload Length.
    if (more && (len & 7) !== 0) {
      s.InHdrErrors++;
      s.ReasmFails++;
      this.stats.drop('ip6.frag-unaligned');
      this.host.sendError(PARAM_PROBLEM, 0, 4, p.subarray(0, end), iface, now);
      return;
    }
    let q = this.find(p, id);
    let fatal: DropReason | null = null;
    if (len === 0) fatal = 'ip6.frag-empty';
    else if (q !== null) {
      if (!more) {
        if (fragEnd < q.maxEnd || (q.end >= 0 && fragEnd !== q.end)) fatal = 'ip6.frag-bad-end';
      } else if (q.end >= 0 && fragEnd > q.end) fatal = 'ip6.frag-beyond-end';
    }
    if (fatal !== null) {
      this.stats.drop(fatal);
      if (q !== null) this.fail(q);
      else s.ReasmFails++;
      return;
    }
    if (q === null) {
      if (this.inFlight >= this.options.maxDatagrams) this.evictOldest('ip6.frag-evicted-count');
      q = this.create(p, id, now);
    }
    const offsets = q.offsets;
    const data = q.data;
    let i = q.count;
    while (i > 0 && offsets[i - 1]! + data[i - 1]!.length > off) i--;
    if (i < q.count && offsets[i]! < fragEnd) {
      if (offsets[i] === off && data[i]!.length === len && sameBytes(data[i]!, p, dataStart)) {
        if (!more && q.end < 0) q.end = fragEnd;
        this.stats.drop('ip6.frag-duplicate');
        return;
      }
      // RFC 5722 §4: overlapping fragments → the whole datagram is discarded, silently.
      this.stats.drop('ip6.frag-overlap');
      this.fail(q);
      return;
    }
    let cost = len + FRAGMENT_OVERHEAD;
    if (off === 0) cost += dataStart;
    if (q.bytes + cost > this.options.maxDatagramBytes) {
      this.stats.drop('ip6.frag-datagram-limit');
      this.fail(q);
      return;
    }
    while (this.totalBytes + cost > this.options.maxTotalBytes && this.oldest !== null && this.oldest !== q) {
      this.evictOldest('ip6.frag-evicted-memory');
    }
    if (this.totalBytes + cost > this.options.maxTotalBytes) {
      this.stats.drop('ip6.frag-memory-limit');
      this.fail(q);
      return;
    }
    offsets.splice(i, 0, off);
    data.splice(i, 0, p.slice(dataStart, end));
    q.count++;
    q.received += len;
    q.bytes += cost;
    this.totalBytes += cost;
    if (fragEnd > q.maxEnd) q.maxEnd = fragEnd;
    if (!more) q.end = fragEnd;
    q.iface = iface;
    if (off === 0) {
      q.first = p.slice(0, dataStart);
      q.unfragLength = fragOff;
      q.nhField = nhField;
      q.nextHeader = p[fragOff]!;
    }
    if (q.end >= 0 && q.first !== null && q.received === q.end) this.complete(q, now);
  }

  /** Drops everything (stack close), uncounted. */
  clear(): void {
    while (this.oldest !== null) this.release(this.oldest);
  }

  private find(p: Uint8Array, id: number): Pending6 | null {
    let q = this.table.get(hashKey(p, id)) ?? null;
    while (q !== null && !(q.id === id && sameAddresses(q, p))) q = q.chain;
    return q;
  }

  private create(p: Uint8Array, id: number, now: number): Pending6 {
    const q = this.pool.pop() ?? this.newPending();
    for (let k = 0; k < 4; k++) {
      q.src[k] = read32(p, 8 + 4 * k);
      q.dst[k] = read32(p, 24 + 4 * k);
    }
    q.id = id;
    q.count = 0;
    q.received = 0;
    q.end = -1;
    q.maxEnd = 0;
    q.first = null;
    q.bytes = DATAGRAM_OVERHEAD;
    this.totalBytes += DATAGRAM_OVERHEAD;
    const key = hashKey(p, id);
    q.chain = this.table.get(key) ?? null;
    this.table.set(key, q);
    q.older = this.newest;
    q.newer = null;
    if (this.newest) this.newest.newer = q;
    else this.oldest = q;
    this.newest = q;
    this.inFlight++;
    this.timers.arm(q.timer, now + this.options.timeoutMs);
    return q;
  }

  private newPending(): Pending6 {
    const q: Pending6 = new Pending6((now) => this.expire(q, now));
    return q;
  }

  private keyOf(q: Pending6): number {
    const tmp = this.keyScratch;
    for (let k = 0; k < 4; k++) {
      tmp[8 + 4 * k] = q.src[k]! >>> 24;
      tmp[9 + 4 * k] = (q.src[k]! >>> 16) & 0xff;
      tmp[10 + 4 * k] = (q.src[k]! >>> 8) & 0xff;
      tmp[11 + 4 * k] = q.src[k]! & 0xff;
      tmp[24 + 4 * k] = q.dst[k]! >>> 24;
      tmp[25 + 4 * k] = (q.dst[k]! >>> 16) & 0xff;
      tmp[26 + 4 * k] = (q.dst[k]! >>> 8) & 0xff;
      tmp[27 + 4 * k] = q.dst[k]! & 0xff;
    }
    return hashKey(tmp, q.id);
  }
  private readonly keyScratch = new Uint8Array(IPV6_HEADER);

  private release(q: Pending6): void {
    const key = this.keyOf(q);
    const head = this.table.get(key);
    if (head === q) {
      if (q.chain) this.table.set(key, q.chain);
      else this.table.delete(key);
    } else {
      let r = head ?? null;
      while (r !== null && r.chain !== q) r = r.chain;
      if (r !== null) r.chain = q.chain;
    }
    q.chain = null;
    if (q.older) q.older.newer = q.newer;
    else this.oldest = q.newer;
    if (q.newer) q.newer.older = q.older;
    else this.newest = q.older;
    q.older = q.newer = null;
    this.timers.disarm(q.timer);
    this.totalBytes -= q.bytes;
    this.inFlight--;
    q.data.length = 0;
    q.offsets.length = 0;
    q.count = 0;
    q.first = null;
    q.iface = null;
    q.bytes = 0;
    if (this.pool.length < 64) this.pool.push(q);
  }

  private fail(q: Pending6): void {
    this.stats.Ip6.ReasmFails++;
    this.release(q);
  }

  private evictOldest(reason: DropReason): void {
    const q = this.oldest;
    if (q === null) return;
    this.stats.drop(reason);
    this.fail(q);
  }

  private expire(q: Pending6, now: number): void {
    this.stats.Ip6.ReasmTimeout++;
    this.stats.Ip6.ReasmFails++;
    this.stats.drop('ip6.frag-timeout');
    const first = q.first;
    const iface = q.iface;
    // The quote: the first fragment's headers and as much of its data as was kept.
    const quote = first !== null && q.count > 0 && q.offsets[0] === 0 ? concat(first, q.data[0]!) : null;
    this.release(q);
    // RFC 8200 §4.5: Time Exceeded code 1, only if the first fragment has been received.
    if (quote !== null && iface !== null) this.host.sendError(TIME_EXCEEDED, TIME_EXCEEDED_REASSEMBLY, 0, quote, iface, now);
  }

  private complete(q: Pending6, now: number): void {
    const first = q.first!;
    const unfrag = q.unfragLength;
    // Linux ip6_frag_reasm: the rebuilt payload (unfragmentable headers included) must fit the 16-bit field.
    if (unfrag - IPV6_HEADER + q.end > MAX_PAYLOAD) {
      this.stats.drop('ip6.frag-oversize');
      this.fail(q);
      return;
    }
    const out = new Uint8Array(unfrag + q.end);
    out.set(first.subarray(0, unfrag), 0);
    for (let k = 0; k < q.count; k++) out.set(q.data[k]!, unfrag + q.offsets[k]!);
    write16(out, 4, out.length - IPV6_HEADER);
    out[q.nhField] = q.nextHeader;
    const iface = q.iface!;
    const nextHeader = q.nextHeader;
    const nhField = q.nhField;
    this.stats.Ip6.ReasmOKs++;
    this.release(q);
    this.host.deliver(out, unfrag, nextHeader, nhField, iface, now);
  }
}

function sameBytes(a: Uint8Array, p: Uint8Array, start: number): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== p[start + k]) return false;
  return true;
}

function sameAddresses(q: Pending6, p: Uint8Array): boolean {
  for (let k = 0; k < 4; k++) {
    if (q.src[k] !== read32(p, 8 + 4 * k) || q.dst[k] !== read32(p, 24 + 4 * k)) return false;
  }
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
