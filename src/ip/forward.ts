/**
 * Router mode (RFC 1812 §5.2–5.3, in the order Linux's ip_forward checks):
 * a datagram not addressed to us is looked up in the route table (none →
 * ICMP Destination Unreachable, net), its TTL checked (≤ 1 → ICMP Time
 * Exceeded code 0), then it is copied with TTL - 1 and the header checksum
 * updated incrementally (RFC 1624), and sent on; if it does not fit the next
 * link's MTU it is fragmented, or with DF set answered with Destination
 * Unreachable code 4 carrying the next-hop MTU (RFC 1191 §4).
 */
import { META_GSO_MASK } from '../wire/offload.js';
import { Ipv4Header } from '../wire/ipv4.js';
import { IcmpType, TimeExceededCode, UnreachCode } from '../wire/icmp.js';
import { checksumUpdate16 } from '../wire/checksum.js';
import { read16, write16 } from '../wire/bytes.js';
import type { Stats } from '../stats.js';
import type { NetInterface } from './interface.js';
import type { Ipv4Layer } from './ipv4.js';
import type { IcmpLayer } from './icmp.js';

export class Forwarder {
  constructor(
    private readonly ip: Ipv4Layer,
    private readonly icmp: IcmpLayer,
    private readonly stats: Stats,
  ) {}

  /** Installs this forwarder on the IP layer (router mode on). */
  enable(): void {
    this.ip.forwardSink = this.forward;
  }

  disable(): void {
    if (this.ip.forwardSink === this.forward) this.ip.forwardSink = null;
  }

  get enabled(): boolean {
    return this.ip.forwardSink === this.forward;
  }

  /** A datagram that reached us but is addressed elsewhere (`packet` valid only during the call). */
  readonly forward = (packet: Uint8Array, h: Ipv4Header, _in: NetInterface, now: number, meta = 0): void => {
    const s = this.stats.Ip;
    // 0.0.0.0/8 and loopback destinations are never forwarded (RFC 1812 §5.3.7).
    const top = h.dst >>> 24;
    if (top === 0 || top === 127) {
      s.InAddrErrors++;
      this.stats.drop('ip.forward-martian');
      return;
    }
    const route = this.ip.routes.lookup(h.dst);
    if (!route) {
      s.InNoRoutes++;
      this.stats.drop('ip.forward-no-route');
      this.icmp.sendError(IcmpType.DestUnreachable, UnreachCode.Net, 0, packet, h, now);
      return;
    }
    if (h.ttl <= 1) {
      // Linux counts this in InHdrErrors (ip_forward: too_many_hops).
      s.InHdrErrors++;
      this.stats.drop('ip.forward-ttl-exceeded');
      this.icmp.sendError(IcmpType.TimeExceeded, TimeExceededCode.Ttl, 0, packet, h, now);
      return;
    }
    const out = route.iface;
    // A super-segment from the kernel (GSO) leaves as wire-sized segments: it does not need fragmenting.
    if (packet.length > out.mtu && h.dontFragment && (meta & META_GSO_MASK) === 0) {
      s.FragFails++;
      this.stats.drop('ip.forward-frag-needed');
      this.icmp.sendError(IcmpType.DestUnreachable, UnreachCode.FragNeeded, out.mtu & 0xffff, packet, h, now);
      return;
    }
    // The receive view is only valid now: forward a copy, TTL - 1, checksum patched (RFC 1624).
    const copy = packet.slice();
    const oldWord = read16(copy, 8);
    copy[8] = h.ttl - 1;
    write16(copy, 10, checksumUpdate16(read16(copy, 10), oldWord, read16(copy, 8)));
    s.ForwDatagrams++;
    // The offload word travels with it: a partial checksum is completed (and a super-segment cut) for a link that cannot.
    if (this.ip.transmit(copy, out, h.dontFragment, meta) !== undefined) s.OutDiscards++;
  };
}
