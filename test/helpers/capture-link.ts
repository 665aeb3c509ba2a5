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
  take(): Uint8Array[] {
    return this.sent.splice(0, this.sent.length);
  }
}
