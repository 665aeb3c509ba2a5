/**
 * IPv6 input for a host (RFC 8200) and the ICMPv6 it answers (RFC 4443). What this layer does today:
 * validates the fixed header, walks hop-by-hop, destination-options and routing headers by RFC 8200 §4's
 * rules, answers echo requests (to its own address or a multicast group), and drops — counted under a named
 * reason — everything it does not take: Neighbor Discovery and MLD (a layer-3 TUN has no link layer to
 * resolve: RFC 4861 has nothing to do there, and answering would be wrong), fragments (no IPv6 reassembly
 * yet), and upper layers it does not speak over IPv6 yet (TCP and UDP are IPv4-only), which get the
 * Parameter Problem "unrecognized Next Header" a host owes them (RFC 8200 §4).
 */
import type { Stats } from '../stats.js';
import type { NetInterface } from './interface.js';
import { TokenBucket } from './token-bucket.js';
import {
  IPV6_HEADER,
  IPV6_MIN_MTU,
  Ipv6Header,
  NextHeader,
  decodeIpv6,
  emitIpv6,
  isMulticast6,
  isUnspecified6,
  parseIpv6Cidr,
  wordsEqual,
  type Ipv6Words,
} from '../wire/ipv6.js';
import { Icmp6Type, ParamProblemCode, finishIcmp6, icmp6ChecksumOk, isIcmp6Error, isLinkLayerIcmp6 } from '../wire/icmp6.js';
import type { DropReason } from '../drop-reasons.js';

/** Hop limit of the packets the stack originates (Linux net.ipv6.conf.all.hop_limit = 64). */
const HOP_LIMIT = 64;

interface Address6 {
  iface: NetInterface;
  address: Ipv6Words;
  prefixLength: number;
}

export class Ipv6Layer {
  private readonly h = new Ipv6Header();
  private readonly addresses: Address6[] = [];
  /** ICMPv6 errors, stack-wide (Linux net.ipv6.icmp.ratelimit with icmp_msgs_per_sec/burst). */
  private readonly errorBucket = new TokenBucket(1, 50);
  /** Called after a packet was queued on an interface (the stack schedules a flush). */
  onOutput: () => void = () => {};

  constructor(private readonly stats: Stats) {}

  /** Puts `cidr` (e.g. `fd77::2/64`) on `iface`. */
  addAddress(iface: NetInterface, cidr: string): Error | undefined {
    const c = parseIpv6Cidr(cidr, 128);
    if (c instanceof Error) return c;
    const { address, prefixLength } = c;
    if (isMulticast6(address) || isUnspecified6(address)) return new Error(`'${cidr}' cannot be an interface address`);
    this.addresses.push({ iface, address, prefixLength });
    return undefined;
  }

  /** The stack's IPv6 addresses, with their interfaces. */
  get addressList(): readonly Readonly<Address6>[] {
    return this.addresses;
  }

  private ownAddress(iface: NetInterface, dst: readonly number[]): Address6 | null {
    for (const a of this.addresses) if (a.iface === iface && wordsEqual(a.address, dst)) return a;
    return null;
  }

  private firstAddress(iface: NetInterface): Address6 | null {
    for (const a of this.addresses) if (a.iface === iface) return a;
    return null;
  }

  /** One received IPv6 packet (the version nibble said 6). Never throws; every discard is counted. */
  input(packet: Uint8Array, iface: NetInterface, now: number): void {
    const s = this.stats.Ip6;
    s.InReceives++;
    const h = this.h;
    const e = decodeIpv6(packet, h);
    if (e !== undefined) {
      if (e === 'bad-version') s.InHdrErrors++;
      else s.InTruncatedPkts++;
      this.stats.drop(`ip6.${e}`);
      return;
    }
    const end = IPV6_HEADER + h.payloadLength;
    const p = end < packet.length ? packet.subarray(0, end) : packet;
    // RFC 4291 §2.7: a multicast address is never a source.
    if (isMulticast6(h.src)) {
      s.InAddrErrors++;
      this.stats.drop('ip6.multicast-source');
      return;
    }
    const multicast = isMulticast6(h.dst);
    const local = multicast ? this.firstAddress(iface) : this.ownAddress(iface, h.dst);
    if (local === null) {
      // A host does not forward (RFC 8200 §1: only routers do).
      s.InAddrErrors++;
      this.stats.drop(multicast ? 'ip6.no-address' : 'ip6.not-for-us');
      return;
    }
    if (multicast) s.InMcastPkts++;
    let nh = h.nextHeader;
    let off = IPV6_HEADER;
    let nhField = 6;
    for (;;) {
      if (nh === NextHeader.HopByHop || nh === NextHeader.DestOptions) {
        // RFC 8200 §4.1: hop-by-hop only right after the fixed header.
        if (nh === NextHeader.HopByHop && off !== IPV6_HEADER) {
          this.headerDiscard(p, iface, local, multicast, ParamProblemCode.NextHeader, nhField, 'ip6.hop-by-hop-not-first', now);
          return;
        }
        if (off + 2 > end || off + (p[off + 1]! + 1) * 8 > end) {
          s.InTruncatedPkts++;
          this.stats.drop('ip6.truncated-extension');
          return;
        }
        const len = (p[off + 1]! + 1) * 8;
        if (!this.optionsAcceptable(p, off + 2, off + len, iface, local, multicast, now)) return;
        nhField = off;
        nh = p[off]!;
        off += len;
        continue;
      }
      if (nh === NextHeader.Routing) {
        if (off + 8 > end || off + (p[off + 1]! + 1) * 8 > end) {
          s.InTruncatedPkts++;
          this.stats.drop('ip6.truncated-extension');
          return;
        }
        // RFC 8200 §4.4: with segments left, a host that is not the last hop cannot go on: Parameter Problem
        // pointing at the routing type (RFC 5095: type 0 is refused outright, and so it is here).
        if (p[off + 3] !== 0) {
          this.headerDiscard(p, iface, local, multicast, ParamProblemCode.Header, off + 2, p[off + 2] === 0 ? 'ip6.routing-type0' : 'ip6.routing-segments-left', now);
          return;
        }
        nhField = off;
        nh = p[off]!;
        off += (p[off + 1]! + 1) * 8;
        continue;
      }
      break;
    }
    if (nh === NextHeader.Icmp6) {
      s.InDelivers++;
      this.icmp6Input(p, off, end - off, iface, local);
      return;
    }
    if (nh === NextHeader.Fragment) {
      s.ReasmReqds++;
      s.ReasmFails++;
      this.stats.drop('ip6.fragment-not-reassembled');
      return;
    }
    if (nh === NextHeader.NoNext) {
      this.stats.drop('ip6.no-next-header');
      return;
    }
    s.InUnknownProtos++;
    this.headerDiscard(p, iface, local, multicast, ParamProblemCode.NextHeader, nhField, 'ip6.unknown-next-header', now, false);
  }

  /**
   * RFC 8200 §4.2: options in hop-by-hop and destination-options headers. Pad1/PadN and Router Alert pass;
   * an unknown option acts by its two high bits: 00 skip, 01 discard, 10 discard and Parameter Problem
   * code 2, 11 the same unless the destination was multicast. False when the packet was discarded.
   */
  private optionsAcceptable(p: Uint8Array, start: number, stop: number, iface: NetInterface, local: Address6, multicast: boolean, now: number): boolean {
    let i = start;
    while (i < stop) {
      const t = p[i]!;
      if (t === 0) {
        i++;
        continue;
      }
      if (i + 2 > stop || i + 2 + p[i + 1]! > stop) {
        this.headerDiscard(p, iface, local, multicast, ParamProblemCode.Header, i, 'ip6.bad-option-length', now);
        return false;
      }
      const next = i + 2 + p[i + 1]!;
      if (t === 1 || t === 5) {
        i = next;
        continue;
      }
      const action = t >> 6;
      if (action === 0) {
        i = next;
        continue;
      }
      if (action === 1) {
        this.stats.Ip6.InHdrErrors++;
        this.stats.drop('ip6.unknown-option');
        return false;
      }
      this.stats.Ip6.InHdrErrors++;
      this.stats.drop('ip6.unknown-option');
      if (action === 2 || !multicast) this.sendParamProblem(p, iface, local, ParamProblemCode.Option, i, now, true);
      return false;
    }
    return true;
  }

  /** A header problem: counted under `reason`, and a Parameter Problem pointing at `pointer` where RFC 4443 §2.4 allows one. */
  private headerDiscard(p: Uint8Array, iface: NetInterface, local: Address6, multicast: boolean, code: number, pointer: number, reason: DropReason, now: number, countHdr = true): void {
    if (countHdr) this.stats.Ip6.InHdrErrors++;
    this.stats.drop(reason);
    if (!multicast) this.sendParamProblem(p, iface, local, code, pointer, now, false);
  }

  private icmp6Input(p: Uint8Array, off: number, len: number, iface: NetInterface, local: Address6): void {
    const c = this.stats.Icmp6;
    const h = this.h;
    c.InMsgs++;
    if (len < 4 || !icmp6ChecksumOk(p, off, len, h.src, h.dst)) {
      c.InErrors++;
      c.InCsumErrors++;
      this.stats.drop(len < 4 ? 'icmp6.truncated' : 'icmp6.bad-checksum');
      return;
    }
    const type = p[off]!;
    if (type === Icmp6Type.EchoRequest) {
      c.InEchos++;
      if (len < 8) {
        c.InErrors++;
        this.stats.drop('icmp6.truncated');
        return;
      }
      this.sendEchoReply(p, off, len, iface, local);
      return;
    }
    if (isLinkLayerIcmp6(type)) {
      if (type === Icmp6Type.RouterSolicit) c.InRouterSolicits++;
      else if (type === Icmp6Type.RouterAdvert) c.InRouterAdvertisements++;
      else if (type === Icmp6Type.NeighborSolicit) c.InNeighborSolicits++;
      else if (type === Icmp6Type.NeighborAdvert) c.InNeighborAdvertisements++;
      else if (type === Icmp6Type.Mldv2Report) c.InMLDv2Reports++;
      this.stats.drop('icmp6.link-layer-on-l3-tun');
      return;
    }
    if (type === Icmp6Type.EchoReply) c.InEchoReplies++;
    else if (type === Icmp6Type.DestUnreachable) c.InDestUnreachs++;
    else if (type === Icmp6Type.PacketTooBig) c.InPktTooBigs++;
    else if (type === Icmp6Type.TimeExceeded) c.InTimeExcds++;
    else if (type === Icmp6Type.ParameterProblem) c.InParmProblems++;
    // Nothing above IPv6 listens yet: errors and replies end here, counted.
    this.stats.drop(isIcmp6Error(type) ? 'icmp6.error-no-socket' : 'icmp6.unhandled-type');
  }

  /** RFC 4443 §4.2: the reply carries the request's identifier, sequence and data, from the address it was sent to. */
  private sendEchoReply(p: Uint8Array, off: number, len: number, iface: NetInterface, local: Address6): void {
    const out = new Uint8Array(IPV6_HEADER + len);
    out.set(p.subarray(off, off + len), IPV6_HEADER);
    const src = local.address;
    const dst = this.h.src;
    emitIpv6(out, { payloadLength: len, nextHeader: NextHeader.Icmp6, hopLimit: HOP_LIMIT, src, dst });
    finishIcmp6(out, IPV6_HEADER, len, Icmp6Type.EchoReply, 0, src, dst);
    this.stats.Icmp6.OutMsgs++;
    this.stats.Icmp6.OutEchoReplies++;
    this.output(out, iface);
  }

  /**
   * RFC 4443 §3.4 Parameter Problem quoting as much of the packet as fits in the minimum MTU, never about an
   * ICMPv6 error, never to an unspecified or multicast source (§2.4 e), within the rate limit (§2.4 f).
   */
  private sendParamProblem(p: Uint8Array, iface: NetInterface, local: Address6, code: number, pointer: number, now: number, toMulticastOk: boolean): void {
    const h = this.h;
    const c = this.stats.Icmp6;
    if (isUnspecified6(h.src) || isMulticast6(h.src)) return;
    if (isMulticast6(h.dst) && !toMulticastOk) return;
    if (h.nextHeader === NextHeader.Icmp6 && p.length > IPV6_HEADER && isIcmp6Error(p[IPV6_HEADER]!)) return;
    if (!this.errorBucket.take(now)) {
      c.OutRateLimited++;
      return;
    }
    const quoted = Math.min(p.length, IPV6_MIN_MTU - IPV6_HEADER - 8);
    const len = 8 + quoted;
    const out = new Uint8Array(IPV6_HEADER + len);
    out[IPV6_HEADER + 4] = (pointer >>> 24) & 0xff;
    out[IPV6_HEADER + 5] = (pointer >>> 16) & 0xff;
    out[IPV6_HEADER + 6] = (pointer >>> 8) & 0xff;
    out[IPV6_HEADER + 7] = pointer & 0xff;
    out.set(p.subarray(0, quoted), IPV6_HEADER + 8);
    const src = local.address;
    const dst = h.src;
    emitIpv6(out, { payloadLength: len, nextHeader: NextHeader.Icmp6, hopLimit: HOP_LIMIT, src, dst });
    finishIcmp6(out, IPV6_HEADER, len, Icmp6Type.ParameterProblem, code, src, dst);
    c.OutMsgs++;
    c.OutParmProblems++;
    this.output(out, iface);
  }

  private output(packet: Uint8Array, iface: NetInterface): void {
    this.stats.Ip6.OutRequests++;
    if (packet.length > iface.mtu) {
      this.stats.Ip6.OutDiscards++;
      this.stats.drop('ip6.too-big-out');
      return;
    }
    iface.enqueue(packet);
    this.onOutput();
  }
}
