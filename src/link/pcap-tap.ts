/**
 * A Link that records every packet passing through another Link into a pcap
 * capture (`--pcap FILE`): inbound packets before the receiver sees them,
 * outbound packets before the inner link takes them.
 *
 * The writer may be null (no capture) and be swapped on a running link with
 * `start()`/`stop()` — `tunstack capture --start FILE | --stop`.
 *
 * Offloads: a capture shows the wire. A TCP super-segment (TSO out, or one
 * the kernel handed over unsegmented) is written as the MSS-sized segments it
 * is cut into, with completed checksums — exactly what the kernel's GSO (or
 * the stack's software GSO) puts on the wire — so tshark sees ordinary
 * segments with valid checksums.
 *
 * Timestamps come from the stack's clock mapped to wall time
 * (`Date.now()` at construction + (clock.now() - clock.now() at construction)),
 * so tshark shows real times and a virtual clock still gives an ordered capture.
 */
import type { Clock } from '../clock.js';
import type { CaptureFileWriter } from '../wire/pcap.js';
import { joinTail, type Link, type LinkOffloads, type LinkReceiver } from './link.js';
import { META_CSUM_TRUSTED, WireScratch, wireViews } from '../wire/offload.js';

/** The packet's direction as pcapng's epb_flags say it (a classic pcap file has no room for it). */
const INBOUND = 1;
const OUTBOUND = 2;

export class PcapTap implements Link {
  private readonly wall0: number;
  private readonly now0: number;
  private closed = false;
  /** Where super-segments are cut for the writer (made on the first one). */
  private scratch: WireScratch | null = null;

  constructor(
    private readonly inner: Link,
    private writer: CaptureFileWriter | null,
    private readonly clock: Clock,
  ) {
    this.wall0 = Date.now();
    this.now0 = clock.now();
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  get name(): string {
    return this.inner.name;
  }

  /** Whether packets are being recorded now. */
  get capturing(): boolean {
    return this.writer !== null && !this.closed;
  }

  /**
   * Starts recording into `writer` on a running link (`tunstack capture --start`).
   * Throws when a capture is already on or the tap is closed.
   */
  start(writer: CaptureFileWriter): void {
    if (this.closed) throw new Error('the link is closed');
    if (this.writer) throw new Error('a capture is already running');
    this.writer = writer;
  }

  /** Stops recording: flushes and closes the writer (and its sink). Returns it, or null when none was on. */
  stop(): CaptureFileWriter | null {
    const w = this.writer;
    this.writer = null;
    w?.close();
    return w;
  }

  private timestamp(): number {
    return this.wall0 + (this.clock.now() - this.now0);
  }

  /** The writer copies what it records: the tap keeps nothing beyond what the inner link keeps. */
  get sendsSynchronously(): boolean | undefined {
    return this.inner.sendsSynchronously;
  }

  /** Packets in two pieces pass through while nothing is recorded (a capture wants them whole: the stack joins them). */
  get takesTails(): boolean {
    return this.writer === null && this.inner.takesTails === true;
  }

  /** The inner link's offloads: the tap passes offload metadata through untouched. */
  get offloads(): LinkOffloads | undefined {
    return this.inner.offloads;
  }

  /**
   * Records a batch. Packets with offload work (src/wire/offload.ts) are recorded in their wire form:
   * a super-segment as the segments it is cut into (by the kernel or in software — the same segments),
   * a partial checksum completed; the packets themselves are not touched.
   */
  private record(w: CaptureFileWriter, packets: readonly Uint8Array[], count: number, meta: Uint32Array | undefined, dir: 1 | 2, tails?: readonly Uint8Array[]): void {
    const ts = this.timestamp();
    for (let i = 0; i < count; i++) {
      // A packet in two pieces (a capture started between its queueing and the flush) is recorded whole.
      const tail = tails === undefined ? EMPTY : tails[i]!;
      const packet = tail.length === 0 ? packets[i]! : joinTail(packets[i]!, tail);
      // The filter sees the packet before it is cut: every wire segment of it has the same addresses and ports.
      if (w.keeps !== undefined && !w.keeps(packet)) continue;
      const m = meta === undefined ? 0 : meta[i]! & ~META_CSUM_TRUSTED;
      if (m === 0) w.writePacket(packet, ts, dir);
      // The writer copies what it records before returning: the pieces can live in one reused buffer.
      else wireViews(packet, m, (this.scratch ??= new WireScratch()), (p) => w.writePacket(p, ts, dir));
    }
  }

  setReceiver(receiver: LinkReceiver): void {
    this.inner.setReceiver((packets, count, meta) => {
      const w = this.writer;
      if (w !== null && !this.closed) this.record(w, packets, count, meta, INBOUND);
      if (meta === undefined) receiver(packets, count);
      else receiver(packets, count, meta);
    });
  }

  send(packets: readonly Uint8Array[], count: number, meta?: Uint32Array, tails?: readonly Uint8Array[]): void {
    const w = this.writer;
    if (w !== null && !this.closed) this.record(w, packets, count, meta, OUTBOUND, tails);
    if (tails !== undefined) this.inner.send(packets, count, meta, tails);
    else if (meta === undefined) this.inner.send(packets, count);
    else this.inner.send(packets, count, meta);
  }

  /** Hands buffered records to the writer's sink. */
  flush(): void {
    this.writer?.flush();
  }

  /** The inner link's waiting packets, recorded on their way through like any batch. */
  pollReceive(): number {
    return this.closed ? 0 : (this.inner.pollReceive?.() ?? 0);
  }

  /** Closes the inner link, then flushes the writer and closes its sink. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
    this.stop();
  }
}

const EMPTY = new Uint8Array(0);
