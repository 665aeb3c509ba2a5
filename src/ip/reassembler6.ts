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
import type { TimerQueue } from '../clock.js';
import { read16, read32, write16 } from '../wire/bytes.js';
import { IPV6_HEADER } from '../wire/ipv6.js';
import type { Stats } from '../stats.js';
import type { DropReason } from '../drop-reasons.js';
import type { NetInterface } from './interface.js';
import { FRAGMENT_OVERHEAD, FragmentDatagram, FragmentQueue, defaultReassemblyOptions, type ReassemblyOptions } from './fragment-queue.js';

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

/** One IPv6 datagram being put together, keyed by (source, destination, identification). */
class Pending6 extends FragmentDatagram {
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  id = 0;
  /** The first fragment up to and including its fragment header, once offset 0 arrived. */
  first: Uint8Array | null = null;
  /** Offset of the fragment header in `first` (= the unfragmentable part's length) and of its Next Header byte's pointer. */
  unfragLength = 0;
  nhField = 0;
  nextHeader = 0;
}

function hashKey(p: Uint8Array, id: number): number {
  // The 32-bit identification and 20 bits mixed from both addresses: < 2^52, exact in a double.
  let m = 0x9e3779b9;
  for (let o = 8; o < 40; o += 4) m = Math.imul(m ^ read32(p, o), 0x85ebca6b) ^ (m >>> 15);
  return id * 0x100000 + (m >>> 12);
}

export class Reassembler6 extends FragmentQueue<Pending6> {
  constructor(
    private readonly host: Reassembly6Host,
    timers: TimerQueue,
    stats: Stats,
    options: Partial<ReassemblyOptions> = {},
  ) {
    super(
      timers,
      stats,
      {
        duplicate: 'ip6.frag-duplicate',
        overlap: 'ip6.frag-overlap',
        badEnd: 'ip6.frag-bad-end',
        beyondEnd: 'ip6.frag-beyond-end',
        datagramLimit: 'ip6.frag-datagram-limit',
        memoryLimit: 'ip6.frag-memory-limit',
        evictedMemory: 'ip6.frag-evicted-memory',
        evictedCount: 'ip6.frag-evicted-count',
      },
      { ...defaultReassembly6Options, ...options },
    );
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
    else if (q !== null) fatal = this.endConflict(q, fragEnd, !more);
    if (fatal !== null) {
      this.stats.drop(fatal);
      if (q !== null) this.fail(q);
      else s.ReasmFails++;
      return;
    }
    if (q === null) {
      q = this.create(hashKey(p, id), now);
      for (let k = 0; k < 4; k++) {
        q.src[k] = read32(p, 8 + 4 * k);
        q.dst[k] = read32(p, 24 + 4 * k);
      }
      q.id = id;
    }
    // The first fragment's headers are kept with it, and accounted.
    const cost = len + FRAGMENT_OVERHEAD + (off === 0 ? dataStart : 0);
    // RFC 5722 §4: overlapping fragments → the whole datagram is discarded, silently (in store()).
    if (!this.store(q, off, len, !more, p, dataStart, cost, iface)) return;
    if (off === 0) {
      q.first = p.slice(0, dataStart);
      q.unfragLength = fragOff;
      q.nhField = nhField;
      q.nextHeader = p[fragOff]!;
    }
    if (q.whole && q.first !== null) this.complete(q, now);
  }

  private find(p: Uint8Array, id: number): Pending6 | null {
    let q = this.lookup(hashKey(p, id));
    while (q !== null && !(q.id === id && sameAddresses(q, p))) q = q.chain;
    return q;
  }

  protected newDatagram(fire: (now: number) => void): Pending6 {
    return new Pending6(fire);
  }

  protected released(q: Pending6): void {
    q.first = null;
  }

  protected countFailure(): void {
    this.stats.Ip6.ReasmFails++;
  }

  protected expire(q: Pending6, now: number): void {
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
    q.copyInto(out, unfrag);
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
