/**
 * IPv6 router mode (RFC 8200 §3 hop limit, RFC 4443 errors, in the order Linux's ip6_forward meets them):
 * a packet not addressed to us is looked up in the route table (none → Destination Unreachable code 0),
 * its hop limit checked (≤ 1 → Time Exceeded code 0: what `traceroute -6` reads), its size checked against
 * the next link's MTU (an IPv6 router never fragments: Packet Too Big with that MTU, RFC 8201 §4), then
 * copied with the hop limit decremented (no header checksum in IPv6) and sent on.
 */
import { META_GSO_MASK } from '../wire/offload.js';
import { Ipv6Header, isUnspecified6 } from '../wire/ipv6.js';
import { Icmp6Type, Unreach6Code } from '../wire/icmp6.js';
import type { Stats } from '../stats.js';
import type { NetInterface } from './interface.js';
import type { Ipv6Layer } from './ipv6.js';

/** RFC 4443 §3.3 code 0: hop limit exceeded in transit. */
const HOP_LIMIT_EXCEEDED = 0;

export class Forwarder6 {
  constructor(
    private readonly ip6: Ipv6Layer,
    private readonly stats: Stats,
  ) {}

  enable(): void {
    this.ip6.forwardSink = this.forward;
  }

  disable(): void {
    if (this.ip6.forwardSink === this.forward) this.ip6.forwardSink = null;
  }

  get enabled(): boolean {
    return this.ip6.forwardSink === this.forward;
  }

  /** A unicast packet addressed elsewhere (`packet` valid only during the call, cut to its payload length). */
  readonly forward = (packet: Uint8Array, h: Ipv6Header, from: NetInterface, now: number, meta = 0): void => {
    const s = this.stats.Ip6;
    // An unspecified source cannot be answered nor forwarded (RFC 4291 §2.5.2).
    if (isUnspecified6(h.src)) {
      s.InAddrErrors++;
      this.stats.drop('ip6.forward-unspecified-source');
      return;
    }
    const route = this.ip6.route(h.dst);
    if (route === null) {
      s.InNoRoutes++;
      this.stats.drop('ip6.forward-no-route');
      this.ip6.sendError(Icmp6Type.DestUnreachable, Unreach6Code.NoRoute, 0, packet, from, now);
      return;
    }
    if (h.hopLimit <= 1) {
      // Linux counts this in InHdrErrors (ip6_forward: hop limit exceeded).
      s.InHdrErrors++;
      this.stats.drop('ip6.forward-hop-limit-exceeded');
      this.ip6.sendError(Icmp6Type.TimeExceeded, HOP_LIMIT_EXCEEDED, 0, packet, from, now);
      return;
    }
    const out = route.iface;
    // A TCP super-segment from the kernel (meta's GSO size) goes out in wire segments that fit: not too big.
    if (packet.length > out.mtu && (meta & META_GSO_MASK) === 0) {
      s.InTooBigErrors++;
      s.FragFails++;
      this.stats.drop('ip6.forward-too-big');
      this.ip6.sendError(Icmp6Type.PacketTooBig, 0, out.mtu, packet, from, now);
      return;
    }
    // A route back out of the interface it came in on is still forwarded (Linux would add a redirect on a
    // link with neighbours; a point-to-point TUN has none).
    const copy = packet.slice();
    copy[7] = h.hopLimit - 1;
    s.OutForwDatagrams++;
    this.ip6.enqueueForwarded(copy, out, meta);
  };
}
