/**
 * Two TUN links joined back to back inside the process: what one writes, the other reads, through the same
 * TunLink code a kernel TUN with offloads goes through (virtio-net header on every packet, super-segments and
 * partial checksums both ways), but with no device, no kernel and no packet leaving the process.
 *
 * It exists for the JIT warm-up (src/warmup.ts): V8 optimizes a function for the object shapes and value
 * types it has seen, so the warm-up has to run the very code path live traffic takes — TunLink.send and its
 * batch receive, vnetMeta on each header, the stack on the real clock — or the first real transfer pays for
 * the compilation and the deoptimizations instead.
 *
 * Like the shim, a write copies each packet at once (the sender may reuse its buffers on return; the copies go
 * to an area reused once all were read, so the warm-up's bulk transfers make no garbage per packet), and the
 * reader gets them in batches of at most `batchSize`, from a macrotask (the shim calls back from libuv's poll
 * phase), as views into one receive area with the lengths and the raw virtio headers beside it.
 */
import { TunLink, type TunDevice, type TunError } from './tun.js';
import { writeVnetHeader } from '../wire/offload.js';
import { FifoCopyArena } from './copy-arena.js';

/** Bytes per packet in the receive area (the shim's SLOT_SIZE: the largest IPv4 datagram fits). */
const SLOT_SIZE = 65536;
/** Bytes per packet in the virtio header area (the shim's VNET_SLOT). */
const VNET_SLOT = 12;
/** TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6: what the kernel accepts from `tunstack up`. */
const OFFLOAD_FLAGS = 0x01 | 0x02 | 0x04;

class LoopbackDevice implements TunDevice {
  readonly fd = -1;
  readonly slotSize = SLOT_SIZE;
  readonly rxBuffer: ArrayBuffer;
  readonly rxLengths: Uint32Array;
  readonly rxVnet: Uint8Array;
  readonly vnetHdr = true;
  readonly offloadFlags = OFFLOAD_FLAGS;
  peer: LoopbackDevice | null = null;
  /** Fraction of the packets written that are lost on the way (a fixed pseudo-random sequence). */
  loss = 0;
  private seed = 0x9e3779b9;
  onReceive: ((count: number, error?: TunError) => void) | null = null;
  private readonly rx: Uint8Array;
  /** Packets written by the peer, not read yet: copies in `arena`, with their meta words. */
  private readonly queue: Uint8Array[] = [];
  /** Where written packets are copied (areas reused once read: no garbage per packet, none per area). */
  private readonly arena = new FifoCopyArena(1 << 20);
  private readonly queueMeta: number[] = [];
  private head = 0;
  private scheduled = false;
  private delivering = false;
  private closed = false;

  constructor(
    readonly name: string,
    readonly batchSize: number,
  ) {
    this.rxBuffer = new ArrayBuffer(batchSize * SLOT_SIZE);
    this.rx = new Uint8Array(this.rxBuffer);
    this.rxLengths = new Uint32Array(batchSize);
    this.rxVnet = new Uint8Array(batchSize * VNET_SLOT);
  }

  write(packets: readonly Uint8Array[], start: number, count: number, meta?: Uint32Array, tails?: readonly Uint8Array[]): number {
    const peer = this.peer;
    if (this.closed || peer === null || peer.closed) return count; // the kernel takes it and drops it
    for (let i = start; i < start + count; i++) {
      if (this.loss > 0 && this.random() < this.loss) continue;
      peer.queue.push(peer.arena.copy(packets[i]!, tails?.[i]));
      peer.queueMeta.push(meta !== undefined ? meta[i]! : 0);
    }
    peer.schedule();
    return count;
  }

  /** xorshift32 in [0, 1). */
  private random(): number {
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed / 0x1_0000_0000;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queueMeta.length = 0;
    this.head = 0;
    this.arena.release();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.readBatch);
  }

  /** What the shim's readPending does: what is waiting, read and delivered now (never from inside onReceive). */
  readPending(): number {
    if (this.closed || this.delivering || this.head === this.queue.length) return 0;
    return this.deliverBatch();
  }

  /** One wake-up of the reader. */
  private readonly readBatch = (): void => {
    this.scheduled = false;
    if (this.closed) return;
    this.deliverBatch();
  };

  /** Up to batchSize packets into the receive area, one callback; returns how many. */
  private deliverBatch(): number {
    const n = Math.min(this.batchSize, this.queue.length - this.head);
    for (let k = 0; k < n; k++) {
      const p = this.queue[this.head + k]!;
      this.rx.set(p, k * SLOT_SIZE);
      this.rxLengths[k] = p.length;
      writeVnetHeader(this.rxVnet, k * VNET_SLOT, p, this.queueMeta[this.head + k]!);
      this.arena.consumed(p);
    }
    this.head += n;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.queueMeta.length = 0;
      this.head = 0;
    } else {
      if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
        // A queue that never drains: drop the read entries, so the array does not grow with the transfer.
        this.queue.splice(0, this.head);
        this.queueMeta.splice(0, this.head);
        this.head = 0;
      }
      this.schedule();
    }
    if (n > 0) {
      this.delivering = true;
      try {
        this.onReceive?.(n);
      } finally {
        this.delivering = false;
      }
    }
    return n;
  }
}

/** Two TunLinks with offloads whose devices are wired to each other in process. */
export class TunLoopback {
  readonly a: TunLink;
  readonly b: TunLink;
  private readonly devs: [LoopbackDevice, LoopbackDevice];

  constructor(opts: { mtu?: number; batchSize?: number; names?: [string, string] } = {}) {
    const mtu = opts.mtu ?? 1500;
    const batch = opts.batchSize ?? 64;
    const [n0, n1] = opts.names ?? ['loop0', 'loop1'];
    const da = new LoopbackDevice(n0, batch);
    const db = new LoopbackDevice(n1, batch);
    da.peer = db;
    db.peer = da;
    this.devs = [da, db];
    this.a = TunLink.attach(da, mtu, VNET_SLOT, (cb) => (da.onReceive = cb));
    this.b = TunLink.attach(db, mtu, VNET_SLOT, (cb) => (db.onReceive = cb));
  }

  /** Fraction of the packets lost in each direction (0 by default). */
  set loss(rate: number) {
    this.devs[0].loss = rate;
    this.devs[1].loss = rate;
  }
}
