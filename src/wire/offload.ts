/**
 * Offload metadata and the software side of it — pure functions, no I/O.
 *
 * A link may carry one 32-bit *meta word* per packet next to the packet
 * bytes (`Link.send(packets, count, meta)`, `LinkReceiver(packets, count,
 * meta)`):
 *
 *   bits 0–15  gso_size: the packet is a TCP super-segment (IPv4, or IPv6 —
 *              ./offload6.ts) whose payload
 *              is cut into gso_size-byte segments on the wire (all but the
 *              last exactly gso_size), each with the same headers, the
 *              sequence number advanced, FIN/PSH on the last only, CWR on the
 *              first only, the IP ID incremented — Linux's tcp_gso_segment.
 *   bit 16     CSUM_PARTIAL: the TCP/UDP checksum field holds only the folded
 *              pseudo-header sum (Linux CHECKSUM_PARTIAL, virtio NEEDS_CSUM);
 *              whoever puts the packet on a wire completes it.
 *   bit 17     CSUM_TRUSTED (receive only): the link vouches for the L4
 *              checksum — it came from the local kernel (partial, or verified
 *              by it) — so the stack does not verify it.
 *
 * The virtio-net header (struct virtio_net_hdr, 10 bytes, little-endian on
 * the hosts we run on) is what a TUN opened with IFF_VNET_HDR puts in front of
 * every packet; `vnetMeta` turns one the kernel wrote into a meta word, or an
 * error when it lies (never trusted: dropped and counted by the caller).
 */
import { foldSum, sumWords, pseudoHeaderSum } from './checksum.js';
import { read16, read32, write16 } from './bytes.js';
import { finishTcpPiece } from './gso-piece.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './ipv4.js';
import { VNET_GSO_TCPV6, completeL4Checksum6, gsoSegment6, gsoSegmentCount6, isGsoTcp6, l4ChecksumOffset6, writeVnetHeader6 } from './offload6.js';

export const META_GSO_MASK = 0xffff;
export const META_CSUM_PARTIAL = 0x10000;
export const META_CSUM_TRUSTED = 0x20000;

export const VNET_HDR_LEN = 10;
export const VNET_F_NEEDS_CSUM = 1;
export const VNET_F_DATA_VALID = 2;
export const VNET_GSO_NONE = 0;
export const VNET_GSO_TCPV4 = 1;
export const VNET_GSO_ECN = 0x80;

/** Largest IPv4 datagram: a super-segment never exceeds it. */
export const MAX_IPV4_PACKET = 65535;

export type VnetError = 'vnet-truncated' | 'vnet-bad-gso-type' | 'vnet-bad-gso-size' | 'vnet-bad-hdr-len' | 'vnet-bad-csum-range' | 'vnet-gso-not-tcp4' | 'vnet-gso-not-tcp6';

/** Where a protocol keeps its checksum, from the start of its header (0: not a protocol we offload). */
function l4ChecksumOffset(protocol: number): number {
  return protocol === IPPROTO_TCP ? 16 : protocol === IPPROTO_UDP ? 6 : 0;
}

/**
 * Validates the virtio_net_hdr at hdr[o, o+10) the kernel wrote in front of
 * `packet` and returns the packet's meta word, or a VnetError when the header
 * lies: an unknown gso_type, gso_size 0, hdr_len beyond the packet, a
 * checksum start/offset outside the packet, GSO TCPV4 on something not
 * TCP/IPv4, GSO TCPV6 on something not TCP right after a bare IPv6 header.
 *
 * A NEEDS_CSUM packet whose checksum sits where TCP/UDP keep it gets
 * CSUM_PARTIAL | CSUM_TRUSTED; one anywhere else (in range) is completed here
 * in place and left for the stack to verify. DATA_VALID gives CSUM_TRUSTED.
 */
export function vnetMeta(hdr: Uint8Array, o: number, packet: Uint8Array): number | VnetError {
  const len = packet.length;
  const flags = hdr[o]!;
  const gsoType = hdr[o + 1]! & ~VNET_GSO_ECN;
  const hdrLen = hdr[o + 2]! | (hdr[o + 3]! << 8);
  const gsoSize = hdr[o + 4]! | (hdr[o + 5]! << 8);
  const csumStart = hdr[o + 6]! | (hdr[o + 7]! << 8);
  const csumOffset = hdr[o + 8]! | (hdr[o + 9]! << 8);
  let meta = 0;
  const v6 = len > 0 && packet[0]! >> 4 === 6;
  if (gsoType !== VNET_GSO_NONE) {
    if (gsoType !== VNET_GSO_TCPV4 && gsoType !== VNET_GSO_TCPV6) return 'vnet-bad-gso-type';
    if (gsoSize === 0) return 'vnet-bad-gso-size';
    if (hdrLen > len) return 'vnet-bad-hdr-len';
    if (gsoType === VNET_GSO_TCPV6) {
      if (!isGsoTcp6(packet)) return 'vnet-gso-not-tcp6';
      meta = gsoSize;
      return partialOrLie(flags, packet, csumStart, csumOffset, meta, true);
    }
    if (len < 40 || packet[0]! >> 4 !== 4 || packet[9] !== IPPROTO_TCP) return 'vnet-gso-not-tcp4';
    const ihl = (packet[0]! & 0x0f) * 4;
    if (ihl < 20 || ihl + 20 > len) return 'vnet-gso-not-tcp4';
    const thl = (packet[ihl + 12]! >> 4) * 4;
    if (thl < 20 || ihl + thl > len) return 'vnet-gso-not-tcp4';
    meta = gsoSize;
  } else if (hdrLen > len) {
    return 'vnet-bad-hdr-len';
  }
  return partialOrLie(flags, packet, csumStart, csumOffset, meta, v6);
}

/** vnetMeta's checksum half: what NEEDS_CSUM / DATA_VALID add to `meta` (the GSO size, if any), or the lie. */
function partialOrLie(flags: number, packet: Uint8Array, csumStart: number, csumOffset: number, meta: number, v6: boolean): number | VnetError {
  const len = packet.length;
  if (flags & VNET_F_NEEDS_CSUM) {
    if (csumStart + csumOffset + 2 > len) return 'vnet-bad-csum-range';
    const ihl = v6 ? 40 : len >= 20 && packet[0]! >> 4 === 4 ? (packet[0]! & 0x0f) * 4 : -1;
    const at = v6 ? l4ChecksumOffset6(packet) : ihl > 0 ? l4ChecksumOffset(packet[9]!) : 0;
    if (ihl >= 20 && at !== 0 && csumStart === ihl && csumOffset === at && ihl + at + 2 <= len) {
      meta |= META_CSUM_PARTIAL | META_CSUM_TRUSTED;
    } else {
      if (meta !== 0) return 'vnet-bad-csum-range'; // a super-segment's checksum is where TCP keeps it, or it lies
      completeChecksumAt(packet, csumStart, csumOffset);
    }
  } else if (flags & VNET_F_DATA_VALID) {
    meta |= META_CSUM_TRUSTED;
  } else if (meta !== 0) {
    // Linux always hands a super-segment over as CHECKSUM_PARTIAL; without it the checksums cannot be right.
    return 'vnet-bad-csum-range';
  }
  return meta;
}

/** Writes a virtio_net_hdr for an outgoing packet from its meta word (what the native shim does, for tests and tools). */
export function writeVnetHeader(out: Uint8Array, o: number, packet: Uint8Array, meta: number): void {
  out.fill(0, o, o + VNET_HDR_LEN);
  if (meta !== 0 && packet.length > 0 && packet[0]! >> 4 === 6) {
    writeVnetHeader6(out, o, packet, (meta & META_CSUM_PARTIAL) !== 0, meta & META_GSO_MASK);
    return;
  }
  if (meta === 0 || packet.length < 20 || packet[0]! >> 4 !== 4) return;
  const ihl = (packet[0]! & 0x0f) * 4;
  if (meta & META_CSUM_PARTIAL) {
    const at = l4ChecksumOffset(packet[9]!);
    if (at === 0 || ihl + at + 2 > packet.length) return;
    out[o] = VNET_F_NEEDS_CSUM;
    out[o + 6] = ihl & 0xff;
    out[o + 7] = ihl >> 8;
    out[o + 8] = at;
  }
  const gso = meta & META_GSO_MASK;
  if (gso !== 0 && packet[9] === IPPROTO_TCP) {
    const thl = (packet[ihl + 12]! >> 4) * 4;
    if (packet.length - ihl - thl > gso) {
      out[o + 1] = VNET_GSO_TCPV4;
      out[o + 2] = (ihl + thl) & 0xff;
      out[o + 3] = (ihl + thl) >> 8;
      out[o + 4] = gso & 0xff;
      out[o + 5] = gso >> 8;
    }
  }
}

/**
 * Completes a partial checksum: the 16-bit field at start+offset holds a
 * partial sum (the pseudo-header's); the checksum over packet[start, end) —
 * that field included — replaces it.
 */
export function completeChecksumAt(packet: Uint8Array, start: number, offset: number): void {
  const s = foldSum(sumWords(packet, start, packet.length - start));
  const c = ~s & 0xffff;
  const at = start + offset;
  packet[at] = c >> 8;
  packet[at + 1] = c & 0xff;
}

/** Completes the TCP/UDP checksum of an IPv4 or IPv6 packet that carries CSUM_PARTIAL (a UDP result of 0 is sent as 0xffff). */
export function completeL4Checksum(packet: Uint8Array): void {
  if (packet.length > 0 && packet[0]! >> 4 === 6) {
    completeL4Checksum6(packet);
    return;
  }
  const ihl = (packet[0]! & 0x0f) * 4;
  const protocol = packet[9]!;
  const at = l4ChecksumOffset(protocol);
  if (at === 0 || ihl + at + 2 > packet.length) return;
  completeChecksumAt(packet, ihl, at);
  if (protocol === IPPROTO_UDP && packet[ihl + 6] === 0 && packet[ihl + 7] === 0) {
    packet[ihl + 6] = 0xff;
    packet[ihl + 7] = 0xff;
  }
}

/** The value a CSUM_PARTIAL TCP/UDP checksum field holds: the folded pseudo-header sum (Linux ~tcp_v4_check(len, s, d, 0)). */
export function partialChecksum(src: number, dst: number, protocol: number, l4Length: number): number {
  return foldSum(pseudoHeaderSum(src, dst, protocol, l4Length));
}

/** Number of wire segments a packet with this meta word becomes (1 unless it is a super-segment); `length`, its whole length when `packet` holds only its first bytes. */
export function gsoSegmentCount(packet: Uint8Array, meta: number, length = packet.length): number {
  const gso = meta & META_GSO_MASK;
  if (gso !== 0 && packet.length > 0 && packet[0]! >> 4 === 6) return gsoSegmentCount6(packet, gso);
  if (gso === 0 || packet.length < 40) return 1;
  const ihl = (packet[0]! & 0x0f) * 4;
  const thl = (packet[ihl + 12]! >> 4) * 4;
  const payload = length - ihl - thl;
  return payload > gso ? Math.ceil(payload / gso) : 1;
}

/**
 * Software GSO (Linux tcp_gso_segment, in JS): cuts a TCP/IPv4 super-segment
 * into wire segments of `gsoSize` payload bytes. Every piece is a fresh
 * buffer from `alloc` with the IP header (total length, ID = first ID + k,
 * checksum) and the TCP header (sequence number, FIN/PSH only on the last,
 * CWR only on the first) rewritten and a full TCP checksum; `emit` gets them
 * in order. Returns the number of pieces. A packet that needs no cutting is
 * handed to `emit` as it is (its checksum completed when `partial`). An IPv6
 * packet is cut by gsoSegment6 (./offload6.ts).
 */
export function gsoSegment(packet: Uint8Array, gsoSize: number, partial: boolean, alloc: (n: number) => Uint8Array, emit: (piece: Uint8Array) => void): number {
  if (packet.length > 0 && packet[0]! >> 4 === 6) return gsoSegment6(packet, gsoSize, partial, alloc, emit);
  const ihl = (packet[0]! & 0x0f) * 4;
  const thl = (packet[ihl + 12]! >> 4) * 4;
  const hl = ihl + thl;
  const payload = packet.length - hl;
  if (gsoSize <= 0 || payload <= gsoSize || packet[9] !== IPPROTO_TCP) {
    if (partial) completeL4Checksum(packet);
    emit(packet);
    return 1;
  }
  const src = read32(packet, 12);
  const dst = read32(packet, 16);
  const id0 = read16(packet, 4);
  const seq0 = read32(packet, ihl + 4);
  const flags0 = packet[ihl + 13]!;
  const n = Math.ceil(payload / gsoSize);
  for (let k = 0; k < n; k++) {
    const off = k * gsoSize;
    const plen = k === n - 1 ? payload - off : gsoSize;
    const total = hl + plen;
    const p = alloc(total);
    p.set(packet.subarray(0, hl), 0);
    p.set(packet.subarray(hl + off, hl + off + plen), hl);
    // IP: length, ID, header checksum.
    write16(p, 2, total);
    write16(p, 4, (id0 + k) & 0xffff);
    p[10] = 0;
    p[11] = 0;
    const ipc = ~foldSum(sumWords(p, 0, ihl)) & 0xffff;
    write16(p, 10, ipc);
    // TCP: sequence number, flags, checksum.
    finishTcpPiece(p, ihl, thl + plen, pseudoHeaderSum(src, dst, IPPROTO_TCP, thl + plen), seq0 + off, flags0, k, n);
    emit(p);
  }
  return n;
}

/**
 * The wire form of a packet that carries offload work (for captures and
 * other observers that must not touch the original): a super-segment is cut
 * into its wire segments, a partial checksum is completed — on copies.
 * Without work to do (`meta` 0, or only CSUM_TRUSTED) the packet itself goes
 * to `emit`.
 */
export function wireCopies(packet: Uint8Array, meta: number, emit: (p: Uint8Array) => void): void {
  const gso = meta & META_GSO_MASK;
  const partial = (meta & META_CSUM_PARTIAL) !== 0;
  if (gso === 0 && !partial) {
    emit(packet);
    return;
  }
  if (gso !== 0 && isTcp(packet)) {
    gsoSegment(packet.slice(), gso, partial, allocPlain, emit);
    return;
  }
  const copy = packet.slice();
  if (partial) completeL4Checksum(copy);
  emit(copy);
}

/** Does the packet hold a TCP segment long enough to cut (IPv4, or TCP right after a bare IPv6 header)? */
function isTcp(packet: Uint8Array): boolean {
  if (packet.length < 40) return false;
  return packet[0]! >> 4 === 6 ? packet[6] === IPPROTO_TCP && packet.length >= 60 : packet[9] === IPPROTO_TCP;
}

function allocPlain(n: number): Uint8Array {
  return new Uint8Array(n);
}

/** Two reusable buffers for `wireViews`: the packet's copy and the piece being built. */
export class WireScratch {
  readonly copy: Uint8Array;
  readonly piece: Uint8Array;
  constructor(readonly size = 65536 + 256) {
    this.copy = new Uint8Array(size);
    this.piece = new Uint8Array(size);
  }
}

/**
 * `wireCopies` without an allocation per piece, for an observer that copies what it keeps at once (a capture
 * writer): every piece handed to `emit` is a view of `scratch`, valid only until `emit` returns. Each piece
 * is built at offset 0 of one buffer, so the checksum loop keeps its cached word view (checksum.ts) and no
 * short-lived ArrayBuffer is made per segment. A packet larger than the scratch goes through `wireCopies`.
 */
export function wireViews(packet: Uint8Array, meta: number, scratch: WireScratch, emit: (p: Uint8Array) => void): void {
  const gso = meta & META_GSO_MASK;
  const partial = (meta & META_CSUM_PARTIAL) !== 0;
  if (gso === 0 && !partial) {
    emit(packet);
    return;
  }
  if (packet.length > scratch.size) {
    wireCopies(packet, meta, emit);
    return;
  }
  const copy = scratch.copy.subarray(0, packet.length);
  copy.set(packet);
  if (gso !== 0 && isTcp(copy)) {
    gsoSegment(copy, gso, partial, (n) => scratch.piece.subarray(0, n), emit);
    return;
  }
  if (partial) completeL4Checksum(copy);
  emit(copy);
}
