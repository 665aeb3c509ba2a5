/**
 * A Link that records every packet passing through another Link into a pcap
 * capture (`--pcap FILE`): inbound packets before the receiver sees them,
 * outbound packets before the inner link takes them.
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
    private readonly writer: PcapWriter,
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

  private timestamp(): number {
    return this.wall0 + (this.clock.now() - this.now0);
  }

  setReceiver(receiver: LinkReceiver): void {
    this.inner.setReceiver((packets, count) => {
      if (!this.closed) {
        const ts = this.timestamp();
        for (let i = 0; i < count; i++) this.writer.writePacket(packets[i]!, ts);
      }
      receiver(packets, count);
    });
  }

  send(packets: readonly Uint8Array[], count: number): void {
    if (!this.closed) {
      const ts = this.timestamp();
      for (let i = 0; i < count; i++) this.writer.writePacket(packets[i]!, ts);
    }
    this.inner.send(packets, count);
  }

  /** Hands buffered records to the writer's sink. */
  flush(): void {
    this.writer.flush();
  }

  /** Closes the inner link, then flushes the writer and closes its sink. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inner.close();
    this.writer.close();
  }
}
