/**
 * An in-process pair of links: what one side sends, the other receives.
 *
 * Delivery is never synchronous inside `send()` (a stack answering from its
 * receiver would otherwise recurse into the other stack): sent packets wait in
 * the peer's inbox until the peer's `deliver()` (alias `pump()`) runs, or, with
 * `autoDeliver`, until a microtask does it. Test harnesses on a virtual clock
 * call `pumpAll(links)` after each step.
 *
 * Ownership follows `Link`: sent packets are queued as they are (no copy), and
 * handed to the receiver as views valid only during the call.
 */
import type { Link, LinkOffloads, LinkReceiver } from './link.js';
import { META_CSUM_PARTIAL, META_CSUM_TRUSTED, META_GSO_MASK } from '../wire/offload.js';
import { CopyArena } from './copy-arena.js';

export interface MemoryLinkOptions {
  /** Largest packet either side carries (default 1500). Larger packets are dropped on send. */
  mtu?: number;
  /** Names of the two sides (default `mem0`, `mem1`). */
  names?: [string, string];
  /** Deliver on a microtask after each send, for in-process use in real time (default false). */
  autoDeliver?: boolean;
  /** Most packets handed to the receiver in one call (default 64). */
  batchLimit?: number;
  /**
   * Take what a TUN with offloads takes: TCP super-segments (up to 64 KiB) and partial checksums, handed to the
   * peer as the kernel hands them to a TUN reader (meta: GSO size, partial checksum, trusted). Default false.
   */
  offloads?: boolean;
  /**
   * Copy each sent packet into the peer's reusable inbox area, so the sender may reuse its buffers at once
   * (`sendsSynchronously`, as a TUN write): no transmit slab becomes garbage; packets in two pieces (`takesTails`)
   * are copied whole. Default false (queued as they are).
   */
  copyOnSend?: boolean;
}

export interface MemoryLinkStats {
  /** Packets accepted by `send` and queued for the peer. */
  sent: number;
  /** Packets handed to this side's receiver. */
  delivered: number;
  /** Sent packets larger than the mtu. */
  mtuDrops: number;
  /** Packets sent by or to a closed side. */
  closedDrops: number;
  /** Packets that reached this side's inbox while no receiver was installed. */
  noReceiverDrops: number;
}

export class MemoryLink implements Link {
  readonly mtu: number;
  readonly name: string;
  readonly stats: MemoryLinkStats = { sent: 0, delivered: 0, mtuDrops: 0, closedDrops: 0, noReceiverDrops: 0 };

  private peer: MemoryLink | null = null;
  private receiver: LinkReceiver | null = null;
  private closed = false;
  /** Packets waiting for this side's receiver: `inbox[head..]`. */
  private inbox: Uint8Array[] = [];
  private head = 0;
  private readonly batch: Uint8Array[] = [];
  /** Offload word of each inbox packet (only with offloads). */
  private inboxMeta: number[] = [];
  private readonly batchMeta: Uint32Array | null;
  readonly offloads: LinkOffloads | undefined;
  readonly sendsSynchronously: boolean;
  /** With copyOnSend: a packet may come in two pieces (headers, payload still in a send buffer), copied whole. */
  readonly takesTails: boolean;
  /** Packets that came in two pieces. */
  tailsTaken = 0;
  /** With copyOnSend: the area the inbox packets are copied into, reused once the inbox is empty. */
  private readonly arena = new CopyArena(1 << 20, true);
  private arenaReset = false;
  private delivering = false;
  private microtaskQueued = false;
  private readonly autoDeliver: boolean;
  private readonly batchLimit: number;

  private constructor(name: string, mtu: number, autoDeliver: boolean, batchLimit: number, offloads: boolean, copyOnSend: boolean) {
    this.sendsSynchronously = copyOnSend;
    this.takesTails = copyOnSend;
    this.name = name;
    this.mtu = mtu;
    this.autoDeliver = autoDeliver;
    this.batchLimit = batchLimit;
    this.offloads = offloads ? { txChecksum: true, tso4: true, tso6: true } : undefined;
    this.batchMeta = offloads ? new Uint32Array(batchLimit) : null;
  }

  static pair(opts: MemoryLinkOptions = {}): [MemoryLink, MemoryLink] {
    const mtu = opts.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 1) throw new RangeError(`MemoryLink: bad mtu ${mtu}`);
    const batchLimit = opts.batchLimit ?? 64;
    if (!Number.isInteger(batchLimit) || batchLimit < 1) throw new RangeError(`MemoryLink: bad batchLimit ${batchLimit}`);
    const [n0, n1] = opts.names ?? ['mem0', 'mem1'];
    const auto = opts.autoDeliver ?? false;
    const a = new MemoryLink(n0, mtu, auto, batchLimit, opts.offloads ?? false, opts.copyOnSend ?? false);
    const b = new MemoryLink(n1, mtu, auto, batchLimit, opts.offloads ?? false, opts.copyOnSend ?? false);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  /** Total packets dropped on this side (send too big, closed, no receiver). */
  get drops(): number {
    const s = this.stats;
    return s.mtuDrops + s.closedDrops + s.noReceiverDrops;
  }

  /** Packets waiting in this side's inbox for its receiver. */
  get pending(): number {
    return this.inbox.length - this.head;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  setReceiver(receiver: LinkReceiver): void {
    if (this.closed) return;
    this.receiver = receiver;
  }

  send(packets: readonly Uint8Array[], count: number, meta?: Uint32Array, tails?: readonly Uint8Array[]): void {
    const peer = this.peer;
    if (this.closed || peer === null || peer.closed) {
      this.stats.closedDrops += count;
      return;
    }
    const mtu = this.mtu;
    let queued = 0;
    for (let i = 0; i < count; i++) {
      const p = packets[i]!;
      const tail = tails === undefined || !this.takesTails ? EMPTY : tails[i]!;
      const m = this.offloads !== undefined && meta !== undefined ? meta[i]! : 0;
      if (p.length + tail.length > mtu && (m & META_GSO_MASK) === 0) {
        this.stats.mtuDrops++;
        continue;
      }
      if (tail.length > 0) this.tailsTaken++;
      peer.inbox.push(this.sendsSynchronously ? peer.arena.copy(p, tail) : p);
      // As the kernel hands them to a TUN reader: a partial checksum arrives partial and trusted.
      if (this.offloads !== undefined) peer.inboxMeta.push(m & META_CSUM_PARTIAL ? m | META_CSUM_TRUSTED : m);
      queued++;
    }
    this.stats.sent += queued;
    if (queued > 0 && peer.autoDeliver && !peer.microtaskQueued) {
      peer.microtaskQueued = true;
      queueMicrotask(peer.onMicrotask);
    }
  }

  private readonly onMicrotask = (): void => {
    this.microtaskQueued = false;
    this.deliver();
  };

  /**
   * Hands the packets waiting in the inbox to the receiver, in order, in
   * batches of at most `batchLimit`. Packets that arrive while delivering
   * (the receiver's answers bouncing back) are delivered too, up to
   * `maxBatches` receiver calls. Returns how many packets were delivered (or
   * dropped for want of a receiver). Re-entrant calls return 0.
   */
  deliver(maxBatches = 1024): number {
    if (this.delivering || this.closed) return 0;
    this.delivering = true;
    let total = 0;
    try {
      const batch = this.batch;
      for (let round = 0; round < maxBatches && this.head < this.inbox.length; round++) {
        const inbox = this.inbox;
        const n = Math.min(this.batchLimit, inbox.length - this.head);
        const bm = this.batchMeta;
        for (let i = 0; i < n; i++) {
          batch[i] = inbox[this.head + i]!;
          inbox[this.head + i] = EMPTY;
          if (bm !== null) bm[i] = this.inboxMeta[this.head + i]!;
        }
        this.head += n;
        if (this.head === inbox.length) {
          inbox.length = 0;
          this.inboxMeta.length = 0;
          this.head = 0;
          this.arenaReset = true;
        } else if (this.head >= 1024 && this.head * 2 >= inbox.length) {
          inbox.splice(0, this.head);
          if (bm !== null) this.inboxMeta.splice(0, this.head);
          this.head = 0;
        }
        total += n;
        const r = this.receiver;
        if (r === null) {
          this.stats.noReceiverDrops += n;
        } else {
          this.stats.delivered += n;
          if (bm !== null) r(batch, n, bm);
          else r(batch, n);
        }
        for (let i = 0; i < n; i++) batch[i] = EMPTY;
        // Delivered, and nothing queued since: the copies are no longer referenced.
        if (this.arenaReset && this.head === this.inbox.length) this.arena.reset();
        this.arenaReset = false;
        if (this.closed) break;
      }
    } finally {
      this.delivering = false;
    }
    return total;
  }

  /** Alias of `deliver()`. */
  pump(maxBatches?: number): number {
    return this.deliver(maxBatches);
  }

  /** Stops this side: its inbox is discarded, its receiver cleared, and sends from or to it are dropped. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = null;
    this.stats.closedDrops += this.inbox.length - this.head;
    this.inbox = [];
    this.head = 0;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Pumps every link until none has anything waiting (or `maxRounds` rounds
 * went by, for ping-pong that never settles). Returns the packets delivered.
 */
export function pumpAll(links: readonly MemoryLink[], maxRounds = 10000): number {
  let total = 0;
  for (let round = 0; round < maxRounds; round++) {
    let moved = 0;
    for (const l of links) moved += l.deliver();
    if (moved === 0) break;
    total += moved;
  }
  return total;
}
