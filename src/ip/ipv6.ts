/**
 * IPv6 for a host (RFC 8200) and the ICMPv6 it speaks (RFC 4443). This layer validates the fixed header,
 * walks hop-by-hop, destination-options and routing headers by RFC 8200 §4's rules, reassembles fragments
 * (./reassembler6.ts) after checking the first one holds the whole header chain (§4.5, RFC 7112), answers
 * echo requests, hands upper layers (UDP) their datagrams and the ICMPv6 errors quoting what they sent,
 * learns path MTUs from Packet Too Big (RFC 8201), fragments what it originates beyond the path MTU
 * (./fragmenter6.ts), and hands datagrams for others to the forwarder in router mode (./forward6.ts).
 *
 * It drops — counted under a named reason — everything it does not take: Neighbor Discovery and MLD (a
 * layer-3 TUN has no link layer to resolve: RFC 4861 has nothing to do there), and upper layers it does not
 * speak over IPv6 (TCP for now), which get the Parameter Problem "unrecognized Next Header" (§4).
 */
import type { Stats } from '../stats.js';
import type { TimerQueue } from '../clock.js';
import type { NetInterface } from './interface.js';
import { defaultIcmpOptions, type IcmpOptions } from './icmp.js';
import { Icmp6ErrorSender, HOP_LIMIT6 } from './icmp6-errors.js';
import { Reassembler6, FRAGMENT_HEADER } from './reassembler6.js';
import { fragmentDatagram6 } from './fragmenter6.js';
import { PathMtuCache6 } from './pmtu6.js';
import type { ReassemblyOptions } from './reassembler.js';
import { read16, read32 } from '../wire/bytes.js';
import {
  ChainEnd,
  IPV6_HEADER,
  IPV6_MIN_MTU,
  Ipv6Header,
  NextHeader,
  decodeIpv6,
  emitIpv6,
  writeIpv6Header,
  isMulticast6,
  isUnspecified6,
  parseIpv6Cidr,
  skipExtensionHeaders,
  wordsEqual,
  type Ipv6Words,
} from '../wire/ipv6.js';
import { Icmp6Type, ParamProblemCode, finishIcmp6, icmp6ChecksumOk, isIcmp6Error, isLinkLayerIcmp6 } from '../wire/icmp6.js';
import type { DropReason } from '../drop-reasons.js';
import { META_CSUM_PARTIAL, META_CSUM_TRUSTED, META_GSO_MASK } from '../wire/offload.js';
import { joinTail } from '../link/link.js';
import { completeL4Checksum6, gsoSegment6 } from '../wire/offload6.js';

/** RFC 4443 §3.4 code 3 (RFC 7112): the first fragment does not hold the whole header chain. */
const PARAM_PROBLEM_INCOMPLETE_CHAIN = 3;

interface Address6 {
  iface: NetInterface;
  address: Ipv6Words;
  prefixLength: number;
}

/** A route: destinations under `prefix/prefixLength` leave through `iface`. */
export interface Route6 {
  prefix: Ipv6Words;
  prefixLength: number;
  iface: NetInterface;
}

/** An upper-layer protocol over IPv6 (UDP, TCP). */
export interface Ip6ProtocolHandler {
  /** A datagram for us: the upper-layer header at packet[off], `len` bytes to the payload's end. `h` is reused: copy what you keep. */
  input(packet: Uint8Array, h: Ipv6Header, off: number, len: number, iface: NetInterface, now: number): void;
  /**
   * An ICMPv6 error quoting a packet this protocol sent: the quoted IPv6 header at quoted[qOff], its upper-layer
   * header at quoted[l4Off], the quote ending at qEnd; `from` the error's sender. The quote's source was
   * checked to be ours.
   */
  icmpError?(type: number, code: number, info: number, quoted: Uint8Array, qOff: number, l4Off: number, qEnd: number, from: Ipv6Words, now: number): void;
}

/** Hands a datagram not addressed to us to the forwarder (router mode); `meta` is the link's offload word for it. */
export type Forward6Sink = (packet: Uint8Array, h: Ipv6Header, iface: NetInterface, now: number, meta: number) => void;


/** No tail: the whole packet is in the buffer handed to `output`. */
const NO_TAIL = new Uint8Array(0);
export class Ipv6Layer {
  private readonly h = new Ipv6Header();
  private readonly addresses: Address6[] = [];
  private readonly routes: Route6[] = [];
  private readonly handlers: (Ip6ProtocolHandler | undefined)[] = new Array<Ip6ProtocolHandler | undefined>(256).fill(undefined);
  readonly errors: Icmp6ErrorSender;
  readonly reassembler: Reassembler6;
  readonly pmtu = new PathMtuCache6();
  private readonly chain = new ChainEnd();
  private readonly quotedSrc: Ipv6Words = [0, 0, 0, 0];
  private readonly quotedDst: Ipv6Words = [0, 0, 0, 0];
  private readonly from: Ipv6Words = [0, 0, 0, 0];
  private readonly outDst: Ipv6Words = [0, 0, 0, 0];
  /** Identification of the next fragmented datagram (RFC 7739: not predictable from outside; a random start). */
  private nextFragmentId = (Math.random() * 0x100000000) >>> 0;
  /** Called after a packet was queued on an interface (the stack schedules a flush). */
  onOutput: () => void = () => {};
  /** Router mode: datagrams for others go here; without one they are dropped (a host does not forward). */
  forwardSink: Forward6Sink | null = null;
  /** A buffer for a whole packet (software GSO pieces); the stack hands in its transmit slab. */
  allocatePacket: (n: number) => Uint8Array = (n) => new Uint8Array(n);
  /** Super-segments cut in software because the link has no TSO for IPv6. */
  gsoFallbackPackets = 0;

  constructor(
    private readonly stats: Stats,
    timers: TimerQueue,
    icmp: Partial<IcmpOptions> = {},
    reassembly: Partial<ReassemblyOptions> = {},
  ) {
    this.errors = new Icmp6ErrorSender(stats, { ...defaultIcmpOptions, ...icmp });
    this.reassembler = new Reassembler6(
      {
        deliver: (p, unfrag, nh, nhField, iface, now) => this.deliverReassembled(p, unfrag, nh, nhField, iface, now),
        sendError: (type, code, param, offending, iface, now) => this.sendError(type, code, param, offending, iface, now),
      },
      timers,
      stats,
      reassembly,
    );
  }

  /** Puts `cidr` (e.g. `fd77::2/64`) on `iface`, with the on-link route of its prefix. */
  addAddress(iface: NetInterface, cidr: string): Error | undefined {
    const c = parseIpv6Cidr(cidr, 128);
    if (c instanceof Error) return c;
    const { address, prefixLength } = c;
    if (isMulticast6(address) || isUnspecified6(address)) return new Error(`'${cidr}' cannot be an interface address`);
    this.addresses.push({ iface, address, prefixLength });
    this.routes.push({ prefix: maskWords(address, prefixLength), prefixLength, iface });
    this.lastRoute = null;
    return undefined;
  }

  /** Adds a route (`::/0` for a default route: parseIpv6Cidr takes prefixes of 1..128, so /0 is read here). */
  addRoute(cidr: string, iface: NetInterface): Error | undefined {
    const c = parseIpv6Cidr(cidr.endsWith('/0') ? `${cidr.slice(0, -2)}/128` : cidr, 128);
    if (c instanceof Error) return c;
    const prefixLength = cidr.endsWith('/0') ? 0 : c.prefixLength;
    this.routes.push({ prefix: maskWords(c.address, prefixLength), prefixLength, iface });
    this.lastRoute = null;
    return undefined;
  }

  register(nextHeader: number, handler: Ip6ProtocolHandler): void {
    this.handlers[nextHeader] = handler;
  }

  /** The stack's IPv6 addresses, with their interfaces. */
  get addressList(): readonly Readonly<Address6>[] {
    return this.addresses;
  }

  /** Is `a` one of our addresses (on any interface: the weak host model, as Linux)? */
  isLocal(a: readonly number[]): boolean {
    for (const x of this.addresses) if (wordsEqual(x.address, a)) return true;
    return false;
  }

  /**
   * The longest-prefix route towards `dst`, or null. The last answer is kept with its destination: a
   * connection's segments ask for the same one again and again (routes are only ever added, which clears it).
   */
  route(dst: readonly number[]): Route6 | null {
    const last = this.lastRouteDst;
    if (this.lastRoute !== null && last[0] === dst[0] && last[1] === dst[1] && last[2] === dst[2] && last[3] === dst[3]) return this.lastRoute;
    let best: Route6 | null = null;
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if ((best === null || r.prefixLength > best.prefixLength) && prefixMatches(dst, r.prefix, r.prefixLength)) best = r;
    }
    if (best !== null) {
      for (let k = 0; k < 4; k++) last[k] = dst[k]! >>> 0;
      this.lastRoute = best;
    }
    return best;
  }
  private lastRoute: Route6 | null = null;
  private readonly lastRouteDst: Ipv6Words = [0, 0, 0, 0];

  /** The source address towards `dst`: an address on the outgoing interface (RFC 6724, simplified: the first), or null without a route. */
  sourceFor(dst: readonly number[]): Ipv6Words | null {
    const r = this.route(dst);
    if (r === null) return null;
    const a = this.firstAddress(r.iface);
    return a === null ? null : a.address;
  }

  private ownAddress(dst: readonly number[]): Address6 | null {
    for (const a of this.addresses) if (wordsEqual(a.address, dst)) return a;
    return null;
  }

  private firstAddress(iface: NetInterface): Address6 | null {
    for (const a of this.addresses) if (a.iface === iface) return a;
    return null;
  }

  /**
   * One received IPv6 packet (the version nibble said 6). Never throws; every discard is counted. `meta` is
   * the link's offload word (src/wire/offload.ts): CSUM_TRUSTED spares the transport its checksum check, a
   * GSO size says the kernel handed over a TCP super-segment (taken whole, as Linux's GRO'd skb).
   */
  input(packet: Uint8Array, iface: NetInterface, now: number, meta = 0): void {
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
    h.checksumTrusted = (meta & META_CSUM_TRUSTED) !== 0;
    const end = IPV6_HEADER + h.payloadLength;
    const p = end < packet.length ? packet.subarray(0, end) : packet;
    // RFC 4291 §2.7: a multicast address is never a source.
    if (isMulticast6(h.src)) {
      s.InAddrErrors++;
      this.stats.drop('ip6.multicast-source');
      return;
    }
    const multicast = isMulticast6(h.dst);
    const local = multicast ? this.firstAddress(iface) : this.ownAddress(h.dst);
    if (local === null) {
      if (!multicast && this.forwardSink !== null) {
        this.forwardSink(p, h, iface, now, meta);
        return;
      }
      // A host does not forward (RFC 8200 §1: only routers do).
      s.InAddrErrors++;
      this.stats.drop(multicast ? 'ip6.no-address' : 'ip6.not-for-us');
      return;
    }
    if (multicast) s.InMcastPkts++;
    this.walk(p, end, IPV6_HEADER, h.nextHeader, 6, iface, local, multicast, now);
  }

  /**
   * Walks the header chain from `off` (the header of type `nh`, named by the byte at `nhField`) and hands the
   * packet to what ends it: ICMPv6, an upper layer, the reassembler.
   */
  private walk(p: Uint8Array, end: number, off: number, nh: number, nhField: number, iface: NetInterface, local: Address6, multicast: boolean, now: number): void {
    const s = this.stats.Ip6;
    for (;;) {
      if (nh === NextHeader.HopByHop || nh === NextHeader.DestOptions) {
        // RFC 8200 §4.1: hop-by-hop only right after the fixed header.
        if (nh === NextHeader.HopByHop && off !== IPV6_HEADER) {
          this.headerDiscard(p, iface, ParamProblemCode.NextHeader, nhField, 'ip6.hop-by-hop-not-first', now);
          return;
        }
        if (off + 2 > end || off + (p[off + 1]! + 1) * 8 > end) {
          s.InTruncatedPkts++;
          this.stats.drop('ip6.truncated-extension');
          return;
        }
        const len = (p[off + 1]! + 1) * 8;
        if (!this.optionsAcceptable(p, off + 2, off + len, iface, multicast, now)) return;
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
          this.headerDiscard(p, iface, ParamProblemCode.Header, off + 2, p[off + 2] === 0 ? 'ip6.routing-type0' : 'ip6.routing-segments-left', now);
          return;
        }
        nhField = off;
        nh = p[off]!;
        off += (p[off + 1]! + 1) * 8;
        continue;
      }
      if (nh === NextHeader.Fragment) {
        if (off + FRAGMENT_HEADER > end) {
          s.InTruncatedPkts++;
          this.stats.drop('ip6.truncated-extension');
          return;
        }
        const word = read16(p, off + 2);
        // RFC 6946 / RFC 8200 §4.5: an atomic fragment (offset 0, M clear) is processed as a whole packet.
        if ((word & 0xfff9) === 0) {
          // Linux ipv6_frag_rcv counts it as a request and a success.
          s.ReasmReqds++;
          s.ReasmOKs++;
          nhField = off;
          nh = p[off]!;
          off += FRAGMENT_HEADER;
          continue;
        }
        // RFC 8200 §4.5 (RFC 7112): the first fragment must hold the whole header chain, upper-layer header
        // included (Linux ipv6_frag_thdr_truncated) — else Parameter Problem code 3, pointer 0.
        if ((word & 0xfff8) === 0 && !this.firstFragmentHoldsChain(p, off, end)) {
          s.InHdrErrors++;
          this.stats.drop('ip6.frag-incomplete-chain');
          this.sendError(Icmp6Type.ParameterProblem, PARAM_PROBLEM_INCOMPLETE_CHAIN, 0, p, iface, now);
          return;
        }
        this.reassembler.input(p, off, nhField, end, iface, now);
        return;
      }
      break;
    }
    if (nh === NextHeader.Icmp6) {
      s.InDelivers++;
      this.icmp6Input(p, off, end - off, iface, local, now);
      return;
    }
    if (nh === NextHeader.NoNext) {
      this.stats.drop('ip6.no-next-header');
      return;
    }
    const handler = this.handlers[nh];
    if (handler !== undefined) {
      s.InDelivers++;
      handler.input(p, this.h, off, end - off, iface, now);
      return;
    }
    s.InUnknownProtos++;
    if (!multicast) this.sendError(Icmp6Type.ParameterProblem, ParamProblemCode.NextHeader, nhField, p, iface, now);
    this.stats.drop('ip6.unknown-next-header');
  }

  /**
   * Does the first fragment (its Fragment header at `fragOff`) hold the rest of the header chain and the
   * upper-layer header? As Linux's ipv6_frag_thdr_truncated: the chain is skipped as ipv6_skip_exthdr does
   * (a header whose first two bytes are missing, or No Next Header, ends the walk undecided: not refused),
   * then TCP needs its 20 bytes, UDP its 8, ICMPv6 its 8 (the header with its first word), anything else 1.
   */
  private firstFragmentHoldsChain(p: Uint8Array, fragOff: number, end: number): boolean {
    let nh = p[fragOff]!;
    let off = fragOff + FRAGMENT_HEADER;
    while (nh === NextHeader.HopByHop || nh === NextHeader.Routing || nh === NextHeader.DestOptions) {
      if (off + 2 > end) return true;
      const len = (p[off + 1]! + 1) * 8;
      nh = p[off]!;
      off += len;
    }
    if (nh === NextHeader.NoNext || nh === NextHeader.Fragment) return true;
    const need = nh === NextHeader.Tcp ? 20 : nh === NextHeader.Udp || nh === NextHeader.Icmp6 ? 8 : 1;
    return off + need <= end;
  }

  /** A reassembled datagram: the walk resumes after the unfragmentable part, where the fragment header was. */
  private deliverReassembled(p: Uint8Array, unfrag: number, nextHeader: number, nhField: number, iface: NetInterface, now: number): void {
    const h = this.h;
    if (decodeIpv6(p, h) !== undefined) {
      this.stats.drop('ip6.frag-rebuild-failed');
      return;
    }
    h.checksumTrusted = false; // a reassembled datagram is checked whole
    const multicast = isMulticast6(h.dst);
    const local = multicast ? this.firstAddress(iface) : this.ownAddress(h.dst);
    if (local === null) {
      this.stats.drop('ip6.not-for-us');
      return;
    }
    this.walk(p, p.length, unfrag, nextHeader, nhField, iface, local, multicast, now);
  }

  /**
   * RFC 8200 §4.2: options in hop-by-hop and destination-options headers. Pad1/PadN and Router Alert pass;
   * an unknown option acts by its two high bits: 00 skip, 01 discard, 10 discard and Parameter Problem
   * code 2, 11 the same unless the destination was multicast. False when the packet was discarded.
   */
  private optionsAcceptable(p: Uint8Array, start: number, stop: number, iface: NetInterface, multicast: boolean, now: number): boolean {
    let i = start;
    while (i < stop) {
      const t = p[i]!;
      if (t === 0) {
        i++;
        continue;
      }
      if (i + 2 > stop || i + 2 + p[i + 1]! > stop) {
        this.headerDiscard(p, iface, ParamProblemCode.Header, i, 'ip6.bad-option-length', now, multicast);
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
      this.stats.Ip6.InHdrErrors++;
      this.stats.drop('ip6.unknown-option');
      if (action === 1) return false;
      // Code 2 may answer a multicast destination (RFC 4443 §2.4 e.3) when the action is 10.
      if (action === 2 || !multicast) this.sendError(Icmp6Type.ParameterProblem, ParamProblemCode.Option, i, p, iface, now);
      return false;
    }
    return true;
  }

  /** A header problem: counted under `reason`, and a Parameter Problem pointing at `pointer` where RFC 4443 §2.4 allows one. */
  private headerDiscard(p: Uint8Array, iface: NetInterface, code: number, pointer: number, reason: DropReason, now: number, multicast = isMulticast6(this.h.dst)): void {
    this.stats.Ip6.InHdrErrors++;
    this.stats.drop(reason);
    if (!multicast) this.sendError(Icmp6Type.ParameterProblem, code, pointer, p, iface, now);
  }

  private icmp6Input(p: Uint8Array, off: number, len: number, iface: NetInterface, local: Address6, now: number): void {
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
      this.sendEchoReply(p, off, len, iface, local, now);
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
    if (type === Icmp6Type.EchoReply) {
      c.InEchoReplies++;
      this.stats.drop('icmp6.unhandled-type');
      return;
    }
    if (type === Icmp6Type.DestUnreachable) c.InDestUnreachs++;
    else if (type === Icmp6Type.PacketTooBig) c.InPktTooBigs++;
    else if (type === Icmp6Type.TimeExceeded) c.InTimeExcds++;
    else if (type === Icmp6Type.ParameterProblem) c.InParmProblems++;
    if (!isIcmp6Error(type)) {
      this.stats.drop('icmp6.unhandled-type');
      return;
    }
    this.errorInput(p, off, len, type, now);
  }

  /**
   * An ICMPv6 error: its quote must be a packet we sent (RFC 5927 §4: its source one of our addresses, the
   * error addressed to that source) with a readable header chain; a Packet Too Big under 1280 is ignored
   * (RFC 8201 §4); otherwise the path MTU is learnt and the upper layer told.
   */
  private errorInput(p: Uint8Array, off: number, len: number, type: number, now: number): void {
    const c = this.stats.Icmp6;
    const qOff = off + 8;
    const qEnd = off + len;
    if (len < 8 + IPV6_HEADER || p[qOff]! >> 4 !== 6) {
      c.InErrors++;
      this.stats.drop('icmp6.bad-quote');
      return;
    }
    const qs = this.quotedSrc;
    const qd = this.quotedDst;
    for (let k = 0; k < 4; k++) {
      qs[k] = read32(p, qOff + 8 + 4 * k);
      qd[k] = read32(p, qOff + 24 + 4 * k);
    }
    if (!wordsEqual(qs, this.h.dst) || !this.isLocal(qs)) {
      c.InErrors++;
      this.stats.drop('icmp6.quote-not-ours');
      return;
    }
    const info = read32(p, off + 4);
    if (type === Icmp6Type.PacketTooBig) {
      if (info < IPV6_MIN_MTU) {
        this.stats.drop('icmp6.ptb-below-minimum');
        return;
      }
      this.pmtu.learn(qd, info, now);
    }
    const ch = this.chain;
    if (!skipExtensionHeaders(p, qOff, qEnd, ch)) {
      this.stats.drop('icmp6.bad-quote');
      return;
    }
    const handler = this.handlers[ch.nextHeader];
    if (handler?.icmpError === undefined) {
      this.stats.drop(type === Icmp6Type.PacketTooBig ? 'icmp6.ptb-learnt' : 'icmp6.error-no-socket');
      return;
    }
    const from = this.from;
    for (let k = 0; k < 4; k++) from[k] = this.h.src[k]!;
    handler.icmpError(type, p[off + 1]!, info, p, qOff, ch.offset, qEnd, from, now);
  }

  /** RFC 4443 §4.2: the reply carries the request's identifier, sequence and data, from the address it was sent to. */
  private sendEchoReply(p: Uint8Array, off: number, len: number, iface: NetInterface, local: Address6, now: number): void {
    const out = new Uint8Array(IPV6_HEADER + len);
    out.set(p.subarray(off, off + len), IPV6_HEADER);
    // To a multicast group the reply comes from a unicast address of ours (RFC 4443 §4.2).
    const src = local.address;
    const dst = this.h.src;
    emitIpv6(out, { payloadLength: len, nextHeader: NextHeader.Icmp6, hopLimit: HOP_LIMIT6, src, dst });
    finishIcmp6(out, IPV6_HEADER, len, Icmp6Type.EchoReply, 0, src, dst);
    this.stats.Icmp6.OutMsgs++;
    this.stats.Icmp6.OutEchoReplies++;
    this.transmit(out, this.route(dst)?.iface ?? iface, now);
  }

  /**
   * Sends an ICMPv6 error about `offending` (a packet that reached us on `iface`), when RFC 4443 §2.4 and the
   * rate limit allow. Its source: the offending packet's destination when that is ours, else an address of
   * `iface` (RFC 4443 §2.2).
   */
  sendError(type: number, code: number, param: number, offending: Uint8Array, iface: NetInterface, now: number): void {
    if (offending.length < IPV6_HEADER) return;
    const dst = this.quotedDst;
    for (let k = 0; k < 4; k++) dst[k] = read32(offending, 24 + 4 * k);
    const src = this.ownAddress(dst)?.address ?? this.firstAddress(iface)?.address;
    if (src === undefined) return;
    const out = this.errors.build(type, code, param, offending, src, now);
    if (out === null) return;
    this.transmit(out, this.route(readWords(out, 24))?.iface ?? iface, now);
  }

  /**
   * Sends a packet an upper layer built: `buf` holds `payloadLength` bytes at offset 40; the fixed header is
   * written here. Fragmented beyond the path MTU. `meta` is its offload word (src/wire/offload.ts: a partial
   * checksum, a TCP super-segment's gso_size). `tail`, when not empty, is the end of the payload kept where it
   * is (a view of a TCP send buffer; `buf` then holds the rest), as in ipv4.ts `output`. Returns an errno name
   * instead of throwing.
   */
  output(buf: Uint8Array, payloadLength: number, src: readonly number[], dst: readonly number[], nextHeader: number, now: number, hopLimit = HOP_LIMIT6, trafficClass = 0, meta = 0, tail: Uint8Array = NO_TAIL): 'ENETUNREACH' | undefined {
    const r = this.route(dst);
    if (r === null) {
      this.stats.Ip6.OutNoRoutes++;
      this.stats.drop('ip6.out-no-route');
      return 'ENETUNREACH';
    }
    writeIpv6Header(buf, trafficClass, 0, payloadLength, nextHeader, hopLimit, src, dst);
    const total = IPV6_HEADER + payloadLength;
    const head = total - tail.length;
    const packet = buf.length === head ? buf : buf.subarray(0, head);
    if (tail.length === 0) {
      this.transmit(packet, r.iface, now, meta);
      return undefined;
    }
    // Headers and payload go to the link as two pieces (one writev, no copy) when it takes them and nothing is
    // to be done to the bytes here — a super-segment it cuts itself, or a packet within the link MTU on a path
    // with no smaller one learned; else they are joined.
    const iface = r.iface;
    const off = iface.offloads;
    const gso = meta & META_GSO_MASK;
    if (iface.takesTails && off.txChecksum && (gso !== 0 ? off.tso6 === true : total <= iface.mtu && this.pmtu.size === 0)) {
      this.stats.Ip6.OutRequests++;
      iface.enqueue(packet, meta, tail);
      this.onOutput();
      return undefined;
    }
    this.transmit(joinTail(packet, tail, this.allocatePacket(total)), iface, now, meta);
    return undefined;
  }

  /**
   * Queues a finished packet we originate on `iface`, in fragments when it exceeds the path MTU (RFC 8200
   * §4.5, §5). `meta`: its offload word; what the link cannot do is done here (as ipv4.ts transmit does) — a
   * super-segment cut in software (Linux's GSO fallback), a partial checksum completed.
   */
  transmit(packet: Uint8Array, iface: NetInterface, now: number, meta = 0): void {
    this.stats.Ip6.OutRequests++;
    if (meta !== 0) {
      meta = this.offloadOrFinish(packet, iface, meta);
      if (meta < 0) return;
    }
    let mtu = iface.mtu;
    if (this.pmtu.size > 0) {
      // Only a path that sent Packet Too Big has an entry: without any, the link MTU (no address to read).
      const dst = this.outDst;
      for (let k = 0; k < 4; k++) dst[k] = read32(packet, 24 + 4 * k);
      mtu = this.pmtu.mtuFor(dst, iface.mtu, now);
    }
    if (packet.length <= mtu) {
      iface.enqueue(packet, meta);
      this.onOutput();
      return;
    }
    if (meta & META_CSUM_PARTIAL) completeL4Checksum6(packet); // fragments carry a finished checksum
    const id = this.nextFragmentId;
    this.nextFragmentId = (id + 1) >>> 0;
    if (fragmentDatagram6(packet, mtu, id, this.stats, (piece) => iface.enqueue(piece)) === 0) {
      this.stats.Ip6.OutDiscards++;
      return;
    }
    this.onOutput();
  }

  /** Queues a packet we forward (already checked against the outgoing MTU); `meta` its offload word from the link it came in on. */
  enqueueForwarded(packet: Uint8Array, iface: NetInterface, meta = 0): void {
    if (meta !== 0) {
      meta = this.offloadOrFinish(packet, iface, meta & ~META_CSUM_TRUSTED);
      if (meta < 0) return;
    }
    iface.enqueue(packet, meta);
    this.onOutput();
  }

  /**
   * The offload work of a packet leaving on `iface`: a super-segment goes down whole to a link with TSO for
   * IPv6, else is cut here and its pieces queued (then -1: nothing left to send); a partial checksum stays
   * partial for a link that completes it, else is completed. Returns the meta word to send the packet with.
   */
  private offloadOrFinish(packet: Uint8Array, iface: NetInterface, meta: number): number {
    const off = iface.offloads;
    const partial = (meta & META_CSUM_PARTIAL) !== 0;
    const gso = meta & META_GSO_MASK;
    if (gso !== 0) {
      if (off.tso6 === true && off.txChecksum) {
        iface.enqueue(packet, meta);
        this.onOutput();
        return -1;
      }
      this.gsoFallbackPackets++;
      this.gsoIface = iface;
      gsoSegment6(packet, gso, partial, this.allocatePacket, this.enqueueGsoPiece);
      this.gsoIface = null;
      this.onOutput();
      return -1;
    }
    if (partial && !off.txChecksum) {
      completeL4Checksum6(packet);
      return 0;
    }
    return meta & META_CSUM_PARTIAL;
  }
  private gsoIface: NetInterface | null = null;
  private readonly enqueueGsoPiece = (piece: Uint8Array): void => this.gsoIface!.enqueue(piece);
}

function readWords(b: Uint8Array, o: number): Ipv6Words {
  return [read32(b, o), read32(b, o + 4), read32(b, o + 8), read32(b, o + 12)];
}

/** `a` with the bits past `len` cleared. */
export function maskWords(a: readonly number[], len: number): Ipv6Words {
  const out: Ipv6Words = [0, 0, 0, 0];
  for (let k = 0; k < 4; k++) {
    const bits = Math.max(0, Math.min(32, len - 32 * k));
    out[k] = bits === 0 ? 0 : bits === 32 ? a[k]! >>> 0 : (a[k]! & (0xffffffff << (32 - bits))) >>> 0;
  }
  return out;
}

function prefixMatches(a: readonly number[], prefix: readonly number[], len: number): boolean {
  for (let k = 0; k < 4; k++) {
    const bits = Math.max(0, Math.min(32, len - 32 * k));
    if (bits === 0) return true;
    const m = bits === 32 ? 0xffffffff : 0xffffffff << (32 - bits);
    if (((a[k]! & m) >>> 0) !== prefix[k]) return false;
  }
  return true;
}
