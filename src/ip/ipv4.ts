/**
 * IPv4 for a host (and, when enabled, a router): input validation and
 * dispatch by protocol, output with header construction and a route lookup.
 * RFC 791, RFC 1122 §3.2.1. Nothing here throws on a packet: every discard
 * is counted in `stats` with a reason.
 */
import { Ipv4Header, IPV4_MIN_HEADER, decodeIpv4, emitIpv4Simple, isMulticast, isLimitedBroadcast, type Ipv4ParseError } from '../wire/ipv4.js';
import type { Stats } from '../stats.js';
import type { NetInterface } from './interface.js';
import { RouteTable } from './routes.js';

/** A transport (ICMP, UDP, TCP) registered for an IP protocol number. */
export interface IpProtocolHandler {
  /**
   * A datagram for us. `packet` is the whole IP datagram (reassembled if it
   * was fragmented); the transport payload is packet[payloadOffset, payloadOffset+payloadLength).
   * `ip` is reused for the next packet: copy what you keep.
   */
  input(packet: Uint8Array, ip: Ipv4Header, payloadOffset: number, payloadLength: number, now: number): void;
  /**
   * An ICMP error about a datagram this protocol sent: `quoted` holds the
   * offending IP header + at least 8 bytes, starting at quotedOffset.
   */
  icmpError?(type: number, code: number, info: number, quoted: Uint8Array, quotedOffset: number, quotedLength: number, now: number): void;
}

export type IpOutputError = 'EHOSTUNREACH' | 'EMSGSIZE';

const IP_INPUT_ERRORS: Record<Ipv4ParseError, string> = {
  truncated: 'ip.truncated',
  'bad-version': 'ip.bad-version',
  'bad-ihl': 'ip.bad-ihl',
  'bad-total-length': 'ip.bad-total-length',
  'bad-checksum': 'ip.bad-checksum',
  'bad-options': 'ip.bad-options',
};

export interface Ipv4Options {
  /** TTL for datagrams we originate (Linux ip_default_ttl = 64). */
  defaultTtl: number;
}

/** Hands a complete datagram to the protocol layer; the reassembler plugs in here. */
export type DatagramSink = (packet: Uint8Array, ip: Ipv4Header, iface: NetInterface, now: number) => void;

export class Ipv4Layer {
  readonly routes = new RouteTable();
  readonly interfaces: NetInterface[] = [];
  private readonly handlers: (IpProtocolHandler | undefined)[] = new Array(256).fill(undefined);
  private readonly header = new Ipv4Header();
  private nextId = 1;
  /** Called for a non-first/last fragment (or any fragment); set by the reassembler. Without one, fragments are dropped. */
  fragmentSink: DatagramSink | null = null;
  /** Called for a datagram not addressed to us; set when forwarding is on. Without one, such datagrams are dropped. */
  forwardSink: DatagramSink | null = null;
  /** Sink for protocol-unreachable and other errors about our input; set by the ICMP layer. */
  onUnknownProtocol: DatagramSink | null = null;
  /** Called after a packet is queued for output so the stack can schedule a flush. */
  onOutput: () => void = () => {};

  constructor(
    private readonly stats: Stats,
    readonly options: Ipv4Options = { defaultTtl: 64 },
  ) {}

  register(protocol: number, handler: IpProtocolHandler): void {
    this.handlers[protocol] = handler;
  }

  handler(protocol: number): IpProtocolHandler | undefined {
    return this.handlers[protocol];
  }

  /** Is `addr` one of ours (an interface address, or a broadcast we accept)? */
  isLocal(addr: number): boolean {
    const ifs = this.interfaces;
    for (let i = 0; i < ifs.length; i++) if (ifs[i]!.address === addr) return true;
    return false;
  }

  private isBroadcastFor(addr: number): boolean {
    if (isLimitedBroadcast(addr)) return true;
    const ifs = this.interfaces;
    for (let i = 0; i < ifs.length; i++) {
      const f = ifs[i]!;
      if (f.prefixLength < 31 && f.broadcast === addr) return true;
    }
    return false;
  }

  /** Entry point for one received packet. Never throws. */
  input(bytes: Uint8Array, iface: NetInterface, now: number): void {
    const s = this.stats.Ip;
    // IPv6 shares the TUN (IFF_NO_PI): not ours to count as an IPv4 header error, like Linux's separate Ip6 MIB.
    if (bytes.length > 0 && bytes[0]! >> 4 === 6) {
      this.stats.drop('link.ipv6-not-supported');
      return;
    }
    s.InReceives++;
    const h = this.header;
    const err = decodeIpv4(bytes, h);
    if (err !== undefined) {
      s.InHdrErrors++;
      this.stats.drop(IP_INPUT_ERRORS[err]);
      return;
    }
    // RFC 1122 §3.2.1.3: a source that is broadcast or multicast (or class E) is discarded.
    // Linux also drops "martian" sources: 0.0.0.0/8 (this network) and 127.0.0.0/8 (loopback) arriving on a
    // link, which nothing may be sent back to (an RST or echo reply to 0.0.0.0 was the result before).
    const top = h.src >>> 24;
    if (isLimitedBroadcast(h.src) || isMulticast(h.src) || h.src >>> 28 === 0xf || top === 0 || top === 127 || this.isBroadcastFor(h.src)) {
      s.InAddrErrors++;
      this.stats.drop('ip.bad-source');
      return;
    }
    // LAND (source = one of our own addresses, from the link): Linux drops it as martian (accept_local = 0);
    // answering would send us our own SYN-ACKs and RSTs back through the kernel.
    if (this.isLocal(h.src)) {
      s.InAddrErrors++;
      this.stats.drop('ip.land');
      return;
    }
    // Bytes past the IP total length are link padding: cut them off (a view, no copy).
    const packet = h.totalLength === bytes.length ? bytes : bytes.subarray(0, h.totalLength);
    if (!this.isLocal(h.dst)) {
      if (this.isBroadcastFor(h.dst) || isMulticast(h.dst)) {
        // We join no multicast group; broadcasts are only interesting to UDP, which later issues may take.
        s.InAddrErrors++;
        this.stats.drop('ip.broadcast-ignored');
        return;
      }
      if (this.forwardSink) {
        this.forwardSink(packet, h, iface, now);
        return;
      }
      s.InAddrErrors++;
      this.stats.drop('ip.not-for-us');
      return;
    }
    // RFC 1122 §3.2.1.7: a host does not drop a datagram addressed to it because of a low TTL.
    if (h.isFragment) {
      if (this.fragmentSink) {
        this.fragmentSink(packet, h, iface, now);
      } else {
        s.ReasmFails++;
        this.stats.drop('ip.fragment-unsupported');
      }
      return;
    }
    this.deliver(packet, h, iface, now);
  }

  /** Hands a complete datagram (not a fragment) addressed to us to its protocol. */
  deliver(packet: Uint8Array, h: Ipv4Header, iface: NetInterface, now: number): void {
    const handler = this.handlers[h.protocol];
    if (!handler) {
      this.stats.Ip.InUnknownProtos++;
      this.stats.drop('ip.unknown-protocol');
      this.onUnknownProtocol?.(packet, h, iface, now);
      return;
    }
    this.stats.Ip.InDelivers++;
    handler.input(packet, h, h.headerLength, h.totalLength - h.headerLength, now);
  }

  /** A buffer with room for an option-less IP header before `payloadLength` bytes of payload (at offset 20). */
  allocate(payloadLength: number): Uint8Array {
    return new Uint8Array(IPV4_MIN_HEADER + payloadLength);
  }

  /** The source address we use towards `dst` (the outgoing interface's address), or 0 with no route. */
  sourceFor(dst: number): number {
    const r = this.routes.lookup(dst);
    return r ? r.iface.address : 0;
  }

  /**
   * Sends a datagram we originate: `buf` holds the payload at [20, 20+payloadLength);
   * the header is written into buf[0..20). The buffer's ownership passes to
   * the link. Returns an error code instead of throwing.
   */
  output(buf: Uint8Array, payloadLength: number, src: number, dst: number, protocol: number, dontFragment = false, ttl = this.options.defaultTtl): IpOutputError | undefined {
    const route = this.routes.lookup(dst);
    if (!route) {
      this.stats.Ip.OutNoRoutes++;
      this.stats.drop('ip.out-no-route');
      return 'EHOSTUNREACH';
    }
    const iface = route.iface;
    const total = IPV4_MIN_HEADER + payloadLength;
    this.stats.Ip.OutRequests++;
    const id = this.nextId;
    this.nextId = (this.nextId + 1) & 0xffff;
    emitIpv4Simple(buf, total, id, dontFragment, ttl, protocol, src === 0 ? iface.address : src, dst);
    const packet = buf.length === total ? buf : buf.subarray(0, total);
    return this.transmit(packet, iface, dontFragment);
  }

  /** Queues a finished datagram on an interface, fragmenting when it exceeds the MTU. */
  transmit(packet: Uint8Array, iface: NetInterface, dontFragment: boolean): IpOutputError | undefined {
    if (packet.length > iface.mtu) {
      if (dontFragment || !this.fragmenter) {
        this.stats.Ip.FragFails++;
        this.stats.drop('ip.out-too-big');
        return 'EMSGSIZE';
      }
      this.fragmenter(packet, iface);
      this.onOutput();
      return undefined;
    }
    iface.enqueue(packet);
    this.onOutput();
    return undefined;
  }

  /** Splits a datagram to an interface's MTU and enqueues the fragments; installed by the fragmenter module. */
  fragmenter: ((packet: Uint8Array, iface: NetInterface) => void) | null = null;
}
