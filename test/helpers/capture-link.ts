/** A link for unit tests: records what the stack sends, injects what a test builds. */
import type { Link, LinkReceiver } from '../../src/link/link.js';

export class CaptureLink implements Link {
  readonly sent: Uint8Array[] = [];
  private receiver: LinkReceiver | null = null;
  closed = false;
  constructor(
    readonly mtu = 1500,
    readonly name = 'cap0',
  ) {}
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  send(packets: readonly Uint8Array[], count: number): void {
    for (let i = 0; i < count; i++) this.sent.push(packets[i]!);
  }
  close(): void {
    this.closed = true;
  }
  inject(...packets: Uint8Array[]): void {
    this.receiver?.(packets, packets.length);
  }
  /** Packets that have arrived but not been read yet (a TUN's queue): delivered by the next pollReceive. */
  readonly waiting: Uint8Array[] = [];
  arrive(...packets: Uint8Array[]): void {
    this.waiting.push(...packets);
  }
  pollReceive(): number {
    const batch = this.waiting.splice(0, this.waiting.length);
    if (batch.length > 0) this.receiver?.(batch, batch.length);
    return batch.length;
  }
  take(): Uint8Array[] {
    return this.sent.splice(0, this.sent.length);
  }
}
