/**
 * One network interface of a stack: a link, the stack's address on it, and
 * the queue of packets waiting for the next flush (one batch per flush).
 */
import type { Link } from '../link/link.js';

export class NetInterface {
  /** Packets queued for the next flush. */
  readonly txQueue: Uint8Array[] = [];
  txCount = 0;

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

  enqueue(packet: Uint8Array): void {
    if (this.txCount < this.txQueue.length) this.txQueue[this.txCount] = packet;
    else this.txQueue.push(packet);
    this.txCount++;
  }

  flush(): void {
    const n = this.txCount;
    if (n === 0) return;
    this.txCount = 0;
    this.link.send(this.txQueue, n);
    // Drop references so sent buffers can be collected (the link owns them now).
    for (let i = 0; i < n; i++) this.txQueue[i] = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);
