/**
 * A Link that records every packet passing through another Link into a pcap
 * capture (`--pcap FILE`): inbound packets before the receiver sees them,
 * outbound packets before the inner link takes them.
 *
 * The writer may be null (no capture) and be swapped on a running link with
 * `start()`/`stop()` — `tunstack capture --start FILE | --stop`.
 *
 * Timestamps come from the stack's clock mapped to wall time
 * (`Date.now()` at construction + (clock.now() - clock.now() at construction)),
 * so tshark shows real times and a virtual clock still gives an ordered capture.
 */
import type { Clock } from '../clock.js';
import type { PcapWriter } from '../wire/pcap.js';
import type { Link, LinkReceiver } from './link.js';

export class PcapTap implements Link {
  private readonly wall0: number;
  private readonly now0: number;
  private closed = false;

  constructor(
    private readonly inner: Link,
    private writer: PcapWriter | null,
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
  start(writer: PcapWriter): void {
    if (this.closed) throw new Error('the link is closed');
    if (this.writer) throw new Error('a capture is already running');
    this.writer = writer;
  }

  /** Stops recording: flushes and closes the writer (and its sink). Returns it, or null when none was on. */
  stop(): PcapWriter | null {
    const w = this.writer;
    this.writer = null;
    w?.close();
    return w;
  }

  private timestamp(): number {
    return this.wall0 + (this.clock.now() - this.now0);
  }

  setReceiver(receiver: LinkReceiver): void {
    this.inner.setReceiver((packets, count) => {
      const w = this.writer;
      if (w !== null && !this.closed) {
        const ts = this.timestamp();
        for (let i = 0; i < count; i++) w.writePacket(packets[i]!, ts);
      }
      receiver(packets, count);
    });
  }

  send(packets: readonly Uint8Array[], count: number): void {
    const w = this.writer;
    if (w !== null && !this.closed) {
      const ts = this.timestamp();
      for (let i = 0; i < count; i++) w.writePacket(packets[i]!, ts);
    }
    this.inner.send(packets, count);
  }

  /** Hands buffered records to the writer's sink. */
  flush(): void {
    this.writer?.flush();
  }

  /** Closes the inner link, then flushes the writer and closes its sink. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
    this.stop();
  }
}
