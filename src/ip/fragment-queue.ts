/**
 * What IPv4 and IPv6 reassembly share (Linux keeps it in net/ipv4/inet_fragment.c and its callers'
 * ip_frag_queue / ip6_frag_queue): datagrams waiting for fragments in a hash table and an age list, each with
 * a timer; fragments kept sorted by offset and never overlapping; an exact duplicate dropped, any other overlap
 * condemning the whole datagram (RFC 5722 §4, applied to IPv4 too as Linux does); a bound on the bytes of one
 * datagram, on the datagrams in flight and on the memory of all of them, the oldest evicted first.
 *
 * The family's reassembler (./reassembler.ts, ./reassembler6.ts) parses its header, checks its own rules,
 * keys and names its datagrams, counts its MIB and rebuilds the packet; the steps here are the same for both.
 */
import { Timer, type TimerQueue } from '../clock.js';
import type { Stats } from '../stats.js';
import type { DropReason } from '../drop-reasons.js';
import type { NetInterface } from './interface.js';

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

/** The drop reasons of one family, for the steps taken here. */
export interface FragmentDropReasons {
  duplicate: DropReason;
  overlap: DropReason;
  badEnd: DropReason;
  beyondEnd: DropReason;
  datagramLimit: DropReason;
  memoryLimit: DropReason;
  evictedMemory: DropReason;
  evictedCount: DropReason;
}

/** One datagram being put together; the family's subclass adds its identity and first-fragment copy. */
export class FragmentDatagram {
  /** Its hash key, and the next datagram with the same key. */
  key = 0;
  chain: this | null = null;
  /** Age list (oldest first). */
  older: this | null = null;
  newer: this | null = null;
  /** Fragment payloads (copies) and their offsets, sorted by offset, never overlapping. */
  readonly data: Uint8Array[] = [];
  readonly offsets: number[] = [];
  count = 0;
  /** Payload bytes received so far (no overlaps, so a sum). */
  received = 0;
  /** Payload length once the last fragment arrived, else -1. */
  end = -1;
  /** Largest end seen among the fragments. */
  maxEnd = 0;
  /** Accounted bytes. */
  bytes = 0;
  iface: NetInterface | null = null;
  readonly timer: Timer;
  constructor(fire: (now: number) => void) {
    this.timer = new Timer(fire);
  }

  /** Every byte from 0 to the end is here. */
  get whole(): boolean {
    return this.end >= 0 && this.received === this.end;
  }

  /** Copies the fragments into `out` from `base` on (the payload's place in the rebuilt packet). */
  copyInto(out: Uint8Array, base: number): void {
    for (let k = 0; k < this.count; k++) out.set(this.data[k]!, base + this.offsets[k]!);
  }
}

export abstract class FragmentQueue<D extends FragmentDatagram> {
  readonly options: ReassemblyOptions;
  private readonly table = new Map<number, D>();
  private oldest: D | null = null;
  private newest: D | null = null;
  private inFlight = 0;
  private totalBytes = 0;
  private readonly pool: D[] = [];

  constructor(
    protected readonly timers: TimerQueue,
    protected readonly stats: Stats,
    private readonly reasons: FragmentDropReasons,
    options: ReassemblyOptions,
  ) {
    this.options = options;
  }

  /** A datagram object of the family's class, its timer firing `fire`. */
  protected abstract newDatagram(fire: (now: number) => void): D;
  /** The datagram's reassembly timed out (it is still held: the family counts, quotes, then releases). */
  protected abstract expire(d: D, now: number): void;
  /** The datagram is given up (overlap, limit, eviction, bad shape): the family counts ReasmFails. */
  protected abstract countFailure(d: D): void;
  /** An overlap was seen (IPv4 counts ReasmOverlaps). */
  protected countOverlap(): void {}

  /** Datagrams currently waiting for fragments. */
  get pendingCount(): number {
    return this.inFlight;
  }

  /** Accounted bytes currently held. */
  get memory(): number {
    return this.totalBytes;
  }

  /** Drops everything (stack close): timers disarmed, memory released; not counted as failures. */
  clear(): void {
    while (this.oldest !== null) this.release(this.oldest);
  }

  /** The first datagram under `key`; the family walks `chain` for its own identity. */
  protected lookup(key: number): D | null {
    return this.table.get(key) ?? null;
  }

  /**
   * Linux ip_frag_queue's checks of a fragment's end against what the datagram already knows: a last fragment
   * that ends before data already received or elsewhere than the known end, or a fragment past the known end.
   */
  protected endConflict(d: D, fragEnd: number, last: boolean): DropReason | null {
    if (last) return fragEnd < d.maxEnd || (d.end >= 0 && fragEnd !== d.end) ? this.reasons.badEnd : null;
    return d.end >= 0 && fragEnd > d.end ? this.reasons.beyondEnd : null;
  }

  /** A new datagram under `key`, after evicting the oldest if too many are in flight; its timer armed. */
  protected create(key: number, now: number): D {
    if (this.inFlight >= this.options.maxDatagrams) this.evictOldest(this.reasons.evictedCount);
    const d = this.pool.pop() ?? this.pooled();
    d.key = key;
    d.count = 0;
    d.received = 0;
    d.end = -1;
    d.maxEnd = 0;
    d.bytes = DATAGRAM_OVERHEAD;
    this.totalBytes += DATAGRAM_OVERHEAD;
    d.chain = this.table.get(key) ?? null;
    this.table.set(key, d);
    d.older = this.newest;
    d.newer = null;
    if (this.newest) this.newest.newer = d;
    else this.oldest = d;
    this.newest = d;
    this.inFlight++;
    this.timers.arm(d.timer, now + this.options.timeoutMs);
    return d;
  }

  private pooled(): D {
    const d: D = this.newDatagram((now) => this.expire(d, now));
    return d;
  }

  /**
   * Stores the fragment [off, off + len) whose bytes are `packet[start, start + len)` and which costs `cost`
   * accounted bytes. Returns false when it was not stored: an exact duplicate (dropped, the datagram kept), an
   * overlap or a limit (the datagram given up).
   */
  protected store(d: D, off: number, len: number, last: boolean, packet: Uint8Array, start: number, cost: number, iface: NetInterface): boolean {
    const fragEnd = off + len;
    // Where does [off, fragEnd) go? Find the first fragment ending after `off`.
    const offsets = d.offsets;
    const data = d.data;
    let i = d.count;
    while (i > 0 && offsets[i - 1]! + data[i - 1]!.length > off) i--;
    if (i < d.count && offsets[i]! < fragEnd) {
      // Overlaps fragment i. Tolerated only when it is an exact duplicate.
      if (offsets[i] === off && data[i]!.length === len && sameBytes(data[i]!, packet, start)) {
        if (last && d.end < 0) d.end = fragEnd; // a duplicate that tells the end (cannot conflict: checked before)
        this.stats.drop(this.reasons.duplicate);
        return false;
      }
      this.countOverlap();
      this.stats.drop(this.reasons.overlap);
      this.fail(d);
      return false;
    }
    if (d.bytes + cost > this.options.maxDatagramBytes) {
      this.stats.drop(this.reasons.datagramLimit);
      this.fail(d);
      return false;
    }
    // Make room under the total limit, oldest first (never evicting the datagram this fragment belongs to).
    while (this.totalBytes + cost > this.options.maxTotalBytes && this.oldest !== null && this.oldest !== d) {
      this.evictOldest(this.reasons.evictedMemory);
    }
    if (this.totalBytes + cost > this.options.maxTotalBytes) {
      this.stats.drop(this.reasons.memoryLimit);
      this.fail(d);
      return false;
    }
    offsets.splice(i, 0, off);
    data.splice(i, 0, packet.slice(start, start + len));
    d.count++;
    d.received += len;
    d.bytes += cost;
    this.totalBytes += cost;
    if (fragEnd > d.maxEnd) d.maxEnd = fragEnd;
    if (last) d.end = fragEnd;
    d.iface = iface;
    return true;
  }

  /** Gives the datagram up: counted by the family, then released. */
  protected fail(d: D): void {
    this.countFailure(d);
    this.release(d);
  }

  private evictOldest(reason: DropReason): void {
    const d = this.oldest;
    if (d === null) return;
    this.stats.drop(reason);
    this.fail(d);
  }

  /** Unlinks a datagram from the table, the age list and the timer queue; releases its memory. */
  protected release(d: D): void {
    const head = this.table.get(d.key);
    if (head === d) {
      if (d.chain) this.table.set(d.key, d.chain);
      else this.table.delete(d.key);
    } else {
      let q = head ?? null;
      while (q !== null && q.chain !== d) q = q.chain;
      if (q !== null) q.chain = d.chain;
    }
    d.chain = null;
    if (d.older) d.older.newer = d.newer;
    else this.oldest = d.newer;
    if (d.newer) d.newer.older = d.older;
    else this.newest = d.older;
    d.older = d.newer = null;
    this.timers.disarm(d.timer);
    this.totalBytes -= d.bytes;
    this.inFlight--;
    d.data.length = 0;
    d.offsets.length = 0;
    d.count = 0;
    d.iface = null;
    d.bytes = 0;
    this.released(d);
    if (this.pool.length < 64) this.pool.push(d);
  }

  /** The family clears what it added to the datagram (its first-fragment copy). */
  protected abstract released(d: D): void;
}

function sameBytes(a: Uint8Array, packet: Uint8Array, start: number): boolean {
  for (let k = 0; k < a.length; k++) if (a[k] !== packet[start + k]) return false;
  return true;
}
