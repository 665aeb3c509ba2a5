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
import { META_CSUM_PARTIAL, META_CSUM_TRUSTED, META_GSO_MASK, completeL4Checksum, gsoSegment, gsoSegmentCount } from '../wire/offload.js';
import { joinTail } from '../link/link.js';
import type { DropReason } from '../drop-reasons.js';

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

const IP_INPUT_ERRORS: Record<Ipv4ParseError, DropReason> = {
  truncated: 'ip.truncated',
  'bad-version': 'ip.bad-version',
  'bad-ihl': 'ip.bad-ihl',
  'bad-total-length': 'ip.bad-total-length',
  'bad-checksum': 'ip.bad-checksum',
  'bad-options': 'ip.bad-options',
};

/** Transmit slab size and the largest packet cut from it (larger ones get their own buffer). */
export const TX_SLAB_BYTES = 1024 * 1024;
export const TX_SLAB_MAX_PACKET = 65536;
/** Whole transmit slabs kept for reuse after a synchronous flush (a bulk sender fills several per batch). */
export const TX_SPARE_SLABS = 4;

export interface Ipv4Options {
  /** TTL for datagrams we originate (Linux ip_default_ttl = 64). */
  defaultTtl: number;
}

/** Hands a complete datagram to the protocol layer; the reassembler plugs in here. */
/** `meta`: the link's offload word for the packet (partial checksum, GSO size), 0 when none. */
export type DatagramSink = (packet: Uint8Array, ip: Ipv4Header, iface: NetInterface, now: number, meta?: number) => void;

/** No tail: the whole packet is in the buffer handed to `output`. */
const NO_TAIL = new Uint8Array(0);
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

  /**
   * Entry point for one received packet. Never throws. `meta` is the link's offload word for it
   * (src/wire/offload.ts): CSUM_TRUSTED spares the transport its checksum check.
   */
  input(bytes: Uint8Array, iface: NetInterface, now: number, meta = 0): void {
    const s = this.stats.Ip;
    // (IPv6 never comes here: the stack hands packets whose version nibble is 6 to its Ipv6Layer.)
    s.InReceives++;
    const h = this.header;
    const err = decodeIpv4(bytes, h);
    h.checksumTrusted = (meta & META_CSUM_TRUSTED) !== 0;
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
        this.forwardSink(packet, h, iface, now, meta);
        return;
      }
      s.InAddrErrors++;
      this.stats.drop('ip.not-for-us');
      return;
    }
    // RFC 1122 §3.2.1.7: a host does not drop a datagram addressed to it because of a low TTL.
    if (h.isFragment) {
      h.checksumTrusted = false; // a reassembled datagram is checked whole
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

  /**
   * A zeroed buffer with room for an option-less IP header before `payloadLength` bytes of payload (at offset 20).
   * Small packets are cut from a transmit slab (a bump allocator over one ArrayBuffer, 8-byte aligned; reused
   * after a flush whose links were done with their buffers, else freed by the GC when its last packet is gone), which spares an ArrayBuffer allocation and
   * its zero-fill per packet and keeps the IP/TCP headers 4-byte aligned for the checksum's word loop.
   */
  allocate(payloadLength: number): Uint8Array {
    const b = this.allocateUnzeroed(payloadLength);
    if (this.slabRecycled && b.buffer === this.slab.buffer) b.fill(0);
    return b;
  }

  /** As `allocate`, but the bytes may hold an earlier packet's: for a caller that writes every byte (TCP). */
  allocateUnzeroed(payloadLength: number): Uint8Array {
    const n = IPV4_MIN_HEADER + payloadLength;
    if (n > TX_SLAB_MAX_PACKET) return new Uint8Array(n);
    let off = this.slabUsed;
    if (off + n > this.slab.length) {
      if (this.slab.length > 0 && !this.slabHeld && this.filledSlabs.length < TX_SPARE_SLABS) this.filledSlabs.push(this.slab);
      this.slabHeld = false;
      const spare = this.spareSlabs.pop();
      // A fresh slab is zeroed by the allocation (and faulted in page by page): ~20 ms per 2 GB sent when a
      // bulk sender's batches outgrew one slab, which is why full ones are reused after a synchronous flush.
      this.slab = spare ?? new Uint8Array(TX_SLAB_BYTES);
      this.slabRecycled = spare !== undefined;
      off = 0;
    }
    this.slabUsed = (off + n + 7) & ~7;
    return this.slab.subarray(off, off + n);
  }

  /**
   * Called by the stack after a flush in which every link was done with its buffers on return
   * (`Link.sendsSynchronously`): nothing references the current transmit slab any more, so it is
   * used again from the start instead of growing garbage (no GC pressure per packet or per slab).
   */
  recycleTx(): void {
    const filled = this.filledSlabs;
    for (let i = 0; i < filled.length && this.spareSlabs.length < TX_SPARE_SLABS; i++) this.spareSlabs.push(filled[i]!);
    filled.length = 0;
    if (this.slabHeld) {
      // Packets of an earlier flush may still sit in a link: the slab is left to them and the GC.
      this.slab = new Uint8Array(0);
      this.slabUsed = 0;
      this.slabHeld = false;
      return;
    }
    if (this.slabUsed === 0) return;
    this.slabUsed = 0;
    this.slabRecycled = true;
  }

  /**
   * Called by the stack after a flush in which some link kept its buffers (a delay queue, a memory link): the
   * slabs filled so far may still be referenced, so they are left to the GC rather than reused.
   */
  forgetFilledTx(): void {
    this.filledSlabs.length = 0;
    if (this.slabUsed > 0) this.slabHeld = true;
  }
  private slab = new Uint8Array(0);
  /** Slabs filled since the last flush (reusable once a synchronous flush has sent their packets). */
  private readonly filledSlabs: Uint8Array<ArrayBuffer>[] = [];
  /** The current slab holds packets a link may still have (a flush that was not synchronous): never reset. */
  private slabHeld = false;
  /** Whole slabs free for reuse. */
  private readonly spareSlabs: Uint8Array<ArrayBuffer>[] = [];
  private slabUsed = 0;
  private slabRecycled = false;

  /** The source address we use towards `dst` (the outgoing interface's address), or 0 with no route. */
  sourceFor(dst: number): number {
    const r = this.routes.lookup(dst);
    return r ? r.iface.address : 0;
  }

  /**
   * Sends a datagram we originate: `buf` holds the payload at [20, 20+payloadLength);
   * the header is written into buf[0..20). The buffer's ownership passes to
   * the link. `tos` is the TOS byte (its low two bits the ECN field, RFC 3168 §5). `tail`, when not empty, is
   * the end of the payload kept where it is (a view of a TCP send buffer): `buf` then holds the first
   * `payloadLength - tail.length` payload bytes. Returns an error code instead of throwing.
   */
  output(buf: Uint8Array, payloadLength: number, src: number, dst: number, protocol: number, dontFragment = false, ttl = this.options.defaultTtl, meta = 0, tos = 0, tail: Uint8Array = NO_TAIL): IpOutputError | undefined {
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
    emitIpv4Simple(buf, total, id, dontFragment, ttl, protocol, src === 0 ? iface.address : src, dst, tos);
    const head = total - tail.length;
    const packet = buf.length === head ? buf : buf.subarray(0, head);
    // A super-segment takes one IP ID per wire segment (the segments count up from `id`, as Linux's GSO does).
    this.nextId = (id + ((meta & META_GSO_MASK) === 0 ? 1 : gsoSegmentCount(packet, meta, total))) & 0xffff;
    if (tail.length === 0) return this.transmit(packet, iface, dontFragment, meta);
    // Headers and payload go to the link as two pieces (one writev, no copy) when it takes them and has
    // nothing to do to the bytes — no segmenting, checksumming or fragmenting here; else they are joined.
    const off = iface.offloads;
    const gso = meta & META_GSO_MASK;
    if (iface.takesTails && off.txChecksum && (gso !== 0 ? off.tso4 : total <= iface.mtu)) {
      iface.enqueue(packet, meta, tail);
      this.onOutput();
      return undefined;
    }
    return this.transmit(joinTail(packet, tail, this.allocateUnzeroed(total - IPV4_MIN_HEADER)), iface, dontFragment, meta);
  }

  /**
   * Queues a finished datagram on an interface, fragmenting when it exceeds the MTU. `meta` is its offload
   * word (src/wire/offload.ts): what the interface's link cannot do is done here — a super-segment is cut
   * into wire segments (software GSO), a partial checksum is completed.
   */
  transmit(packet: Uint8Array, iface: NetInterface, dontFragment: boolean, meta = 0): IpOutputError | undefined {
    if (meta !== 0) {
      const off = iface.offloads;
      const gso = meta & META_GSO_MASK;
      const partial = (meta & META_CSUM_PARTIAL) !== 0;
      if (gso !== 0) {
        if (!(off.tso4 && off.txChecksum)) {
          this.gsoFallbackPackets++;
          this.gsoIface = iface;
          gsoSegment(packet, gso, partial, this.allocRaw, this.enqueueGsoPiece);
          this.gsoIface = null;
          this.onOutput();
          return undefined;
        }
        iface.enqueue(packet, meta);
        this.onOutput();
        return undefined;
      }
      if (partial && !off.txChecksum) {
        completeL4Checksum(packet);
        meta = 0;
      }
    }
    if (packet.length > iface.mtu) {
      if (meta & META_CSUM_PARTIAL) {
        completeL4Checksum(packet); // fragments carry a finished checksum
        meta = 0;
      }
      if (dontFragment || !this.fragmenter) {
        this.stats.Ip.FragFails++;
        this.stats.drop('ip.out-too-big');
        return 'EMSGSIZE';
      }
      this.fragmenter(packet, iface);
      this.onOutput();
      return undefined;
    }
    iface.enqueue(packet, meta);
    this.onOutput();
    return undefined;
  }

  /** Super-segments cut in software because the link has no TSO. */
  gsoFallbackPackets = 0;
  private gsoIface: NetInterface | null = null;
  private readonly enqueueGsoPiece = (piece: Uint8Array): void => this.gsoIface!.enqueue(piece);

  /** A buffer of `n` bytes for a whole packet (software GSO pieces), from the transmit slab. */
  private readonly allocRaw = (n: number): Uint8Array => this.allocate(n - IPV4_MIN_HEADER);

  /** Splits a datagram to an interface's MTU and enqueues the fragments; installed by the fragmenter module. */
  fragmenter: ((packet: Uint8Array, iface: NetInterface) => void) | null = null;
}
