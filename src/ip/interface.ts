/**
 * One network interface of a stack: a link, the stack's address on it, and
 * the queue of packets waiting for the next flush (one batch per flush).
 */
import type { Link, LinkOffloads } from '../link/link.js';

export class NetInterface {
  /** Packets queued for the next flush. */
  readonly txQueue: Uint8Array[] = [];
  txCount = 0;
  /** Offload words of the queued packets (src/wire/offload.ts), same index; sent along only when one is non-zero. */
  private txMeta = new Uint32Array(64);
  private txMetaUsed = false;
  /** The rest of each queued packet still in a TCP send buffer (same index; empty when none): Link `tails`. */
  private readonly txTails: Uint8Array[] = [];
  private txTailsUsed = false;

  constructor(
    readonly name: string,
    readonly link: Link,
    /** The stack's own address on this interface. */
    readonly address: number,
    readonly prefixLength: number,
    readonly mask: number,
  ) {}

  get mtu(): number {
    return this.link.mtu;
  }

  get network(): number {
    return (this.address & this.mask) >>> 0;
  }

  /** Directed broadcast address of the subnet (all host bits set). */
  get broadcast(): number {
    return (this.network | (~this.mask >>> 0)) >>> 0;
  }

  /** What the link finishes for us (TSO, checksums); none when it does not say. */
  get offloads(): LinkOffloads {
    return this.link.offloads ?? NO_OFFLOADS;
  }

  /** True when the link takes packets in two pieces (headers, then a view of the payload): see Link `takesTails`. */
  get takesTails(): boolean {
    return this.link.takesTails === true && this.link.sendsSynchronously === true;
  }

  /**
   * Queues a packet; `meta` is its offload word (0 = a complete wire packet); `tail`, only when `takesTails`,
   * the rest of the packet (a view the link reads during the flush).
   */
  enqueue(packet: Uint8Array, meta = 0, tail: Uint8Array = EMPTY): void {
    const i = this.txCount;
    if (i < this.txQueue.length) this.txQueue[i] = packet;
    else this.txQueue.push(packet);
    if (i < this.txTails.length) this.txTails[i] = tail;
    else this.txTails.push(tail);
    if (tail.length !== 0) this.txTailsUsed = true;
    if (i >= this.txMeta.length) {
      const m = new Uint32Array(this.txMeta.length * 2);
      m.set(this.txMeta);
      this.txMeta = m;
    }
    this.txMeta[i] = meta;
    if (meta !== 0) this.txMetaUsed = true;
    this.txCount = i + 1;
  }

  flush(): void {
    const n = this.txCount;
    if (n === 0) return;
    this.txCount = 0;
    if (this.txTailsUsed) {
      this.txTailsUsed = false;
      this.txMetaUsed = false;
      this.link.send(this.txQueue, n, this.txMeta, this.txTails);
    } else if (this.txMetaUsed) {
      this.txMetaUsed = false;
      this.link.send(this.txQueue, n, this.txMeta);
    } else {
      this.link.send(this.txQueue, n);
    }
    // Drop references so sent buffers can be collected (the link owns them now; the send buffers' views are done).
    const q = this.txQueue;
    const t = this.txTails;
    for (let i = 0; i < n; i++) {
      q[i] = EMPTY;
      t[i] = EMPTY;
    }
  }
}

const EMPTY = new Uint8Array(0);
const NO_OFFLOADS: LinkOffloads = { txChecksum: false, tso4: false, tso6: false };
