/** The runner's side of the wire: records what the stack sends (with the virtual time) and injects packets. */
import type { Link, LinkReceiver } from '../link/link.js';
import type { Clock } from '../clock.js';
import type { OutPacket } from './packets.js';

export class ScriptLink implements Link {
  readonly name = 'pkt0';
  /** Everything the stack sent, oldest first, not yet consumed by the matcher. */
  readonly queue: OutPacket[] = [];
  private receiver: LinkReceiver | null = null;
  private count = 0;
  closed = false;

  constructor(
    readonly mtu: number,
    private readonly clock: Clock,
  ) {}

  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }

  send(packets: readonly Uint8Array[], count: number): void {
    const now = this.clock.now();
    for (let i = 0; i < count; i++) this.queue.push({ bytes: packets[i]!, time: now, index: this.count++ });
  }

  close(): void {
    this.closed = true;
  }

  inject(packet: Uint8Array): void {
    this.receiver?.([packet], 1);
  }
}
