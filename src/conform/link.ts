/**
 * The runner's side of the wire: records what the stack sends (with the virtual time) and injects packets —
 * over IPv6 through an Ipv6Translation (--ip_version=ipv6): the runner still builds and matches IPv4.
 */
import type { Link, LinkReceiver } from '../link/link.js';
import type { Clock } from '../clock.js';
import type { OutPacket } from './packets.js';
import { Unsupported } from './config.js';
import type { Ipv6Translation } from './ip-translate.js';

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
    private readonly translation: Ipv6Translation | null = null,
  ) {}

  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }

  send(packets: readonly Uint8Array[], count: number): void {
    const now = this.clock.now();
    const t = this.translation;
    for (let i = 0; i < count; i++) {
      const p = packets[i]!;
      this.queue.push({ bytes: (t === null ? null : t.outbound(p)) ?? p, time: now, index: this.count++ });
    }
  }

  close(): void {
    this.closed = true;
  }

  inject(packet: Uint8Array): void {
    if (this.translation === null) {
      this.receiver?.([packet], 1);
      return;
    }
    const p = this.translation.inbound(packet);
    if (typeof p === 'string') throw new Unsupported(p);
    this.receiver?.([p], 1);
  }
}
