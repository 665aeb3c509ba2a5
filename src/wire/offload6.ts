/**
 * The IPv6 side of the offload work (src/wire/offload.ts describes the meta word) — pure functions, no I/O.
 *
 * What the stack offloads over IPv6 is what Linux's TCP sends over it: a fixed 40-byte header followed
 * directly by TCP or UDP (no extension headers), so the transport header always starts at byte 40. A
 * super-segment is cut as Linux's tcp_gso_segment cuts an SKB_GSO_TCPV6 one: the same headers on every
 * piece, the payload length and the sequence number rewritten, FIN/PSH on the last piece only, CWR on the
 * first only, and a full checksum over the IPv6 pseudo-header (RFC 8200 §8.1). IPv6 has no header checksum
 * and no identification field to advance.
 */
import { foldSum, sumWords } from './checksum.js';
import { read16, read32, write16 } from './bytes.js';
import { IPV6_HEADER } from './ipv6.js';
import { finishTcpPiece } from './gso-piece.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './ip-protocols.js';

/** virtio_net_hdr gso_type for TCP over IPv6 (VIRTIO_NET_HDR_GSO_TCPV6). */
export const VNET_GSO_TCPV6 = 4;

/** Where TCP/UDP keep their checksum from the start of their header after a bare IPv6 header; 0 otherwise. */
export function l4ChecksumOffset6(packet: Uint8Array): number {
  if (packet.length < IPV6_HEADER + 8) return 0;
  const nh = packet[6]!;
  return nh === IPPROTO_TCP ? (packet.length >= IPV6_HEADER + 20 ? 16 : 0) : nh === IPPROTO_UDP ? 6 : 0;
}

/** Unfolded sum of the pseudo-header of the transport segment in `packet` (its addresses read in place, no copy). */
function pseudoSum6(packet: Uint8Array, nextHeader: number, l4Length: number): number {
  return sumWords(packet, 8, 32) + (l4Length >>> 16) + (l4Length & 0xffff) + nextHeader;
}

/** The value a CSUM_PARTIAL TCP/UDP checksum field holds over IPv6: the folded pseudo-header sum (Linux ~tcp_v6_check(len, s, d, 0)). */
export function partialChecksum6(packet: Uint8Array, nextHeader: number, l4Length: number): number {
  return foldSum(pseudoSum6(packet, nextHeader, l4Length));
}

/** Completes the TCP/UDP checksum of an IPv6 packet that carries CSUM_PARTIAL (a UDP result of 0 is sent as 0xffff, RFC 8200 §8.1). */
export function completeL4Checksum6(packet: Uint8Array): void {
  const at = l4ChecksumOffset6(packet);
  if (at === 0) return;
  const s = foldSum(sumWords(packet, IPV6_HEADER, packet.length - IPV6_HEADER));
  let c = ~s & 0xffff;
  if (c === 0 && packet[6] === IPPROTO_UDP) c = 0xffff;
  write16(packet, IPV6_HEADER + at, c);
}

/** Wire segments of a TCP/IPv6 super-segment with this gso_size (1 when it needs no cutting). */
export function gsoSegmentCount6(packet: Uint8Array, gsoSize: number): number {
  if (gsoSize === 0 || packet.length < IPV6_HEADER + 20 || packet[6] !== IPPROTO_TCP) return 1;
  const thl = (packet[IPV6_HEADER + 12]! >> 4) * 4;
  const payload = packet.length - IPV6_HEADER - thl;
  return payload > gsoSize ? Math.ceil(payload / gsoSize) : 1;
}

/**
 * Software GSO over IPv6 (Linux tcp_gso_segment for SKB_GSO_TCPV6): cuts a TCP/IPv6 super-segment into
 * pieces of `gsoSize` payload bytes, each a buffer from `alloc` handed to `emit` in order; returns their
 * number. A packet that needs no cutting goes to `emit` as it is (its checksum completed when `partial`).
 */
export function gsoSegment6(packet: Uint8Array, gsoSize: number, partial: boolean, alloc: (n: number) => Uint8Array, emit: (piece: Uint8Array) => void): number {
  const n = gsoSegmentCount6(packet, gsoSize);
  if (n === 1) {
    if (partial) completeL4Checksum6(packet);
    emit(packet);
    return 1;
  }
  const thl = (packet[IPV6_HEADER + 12]! >> 4) * 4;
  const hl = IPV6_HEADER + thl;
  const payload = packet.length - hl;
  const seq0 = read32(packet, IPV6_HEADER + 4);
  const flags0 = packet[IPV6_HEADER + 13]!;
  // The addresses are the same on every piece: their sum once.
  const addrSum = sumWords(packet, 8, 32) + IPPROTO_TCP;
  for (let k = 0; k < n; k++) {
    const off = k * gsoSize;
    const plen = k === n - 1 ? payload - off : gsoSize;
    const l4 = thl + plen;
    const p = alloc(hl + plen);
    p.set(packet.subarray(0, hl), 0);
    p.set(packet.subarray(hl + off, hl + off + plen), hl);
    write16(p, 4, l4);
    finishTcpPiece(p, IPV6_HEADER, l4, addrSum + l4, seq0 + off, flags0, k, n);
    emit(p);
  }
  return n;
}

/**
 * The virtio_net_hdr fields of an outgoing IPv6 packet from its meta word, written at out[o, o+10) (already
 * zeroed): NEEDS_CSUM with csum_start 40, GSO TCPV6 with hdr_len 40 + the TCP header. Mirrors
 * native-shims/tun.c build_vnet_hdr, for tests and tools.
 */
export function writeVnetHeader6(out: Uint8Array, o: number, packet: Uint8Array, partialCsum: boolean, gso: number): void {
  const at = l4ChecksumOffset6(packet);
  if (at === 0) return;
  if (partialCsum) {
    out[o] = 1; // VIRTIO_NET_HDR_F_NEEDS_CSUM
    out[o + 6] = IPV6_HEADER;
    out[o + 7] = 0;
    out[o + 8] = at;
  }
  if (gso !== 0 && gsoSegmentCount6(packet, gso) > 1) {
    const hl = IPV6_HEADER + (packet[IPV6_HEADER + 12]! >> 4) * 4;
    out[o + 1] = VNET_GSO_TCPV6;
    out[o + 2] = hl & 0xff;
    out[o + 3] = hl >> 8;
    out[o + 4] = gso & 0xff;
    out[o + 5] = gso >> 8;
  }
}

/**
 * Is `packet` a TCP/IPv6 super-segment the kernel may hand over (GSO TCPV6): a bare IPv6 header, TCP right
 * after it with a sane header length, and a payload length that matches the bytes read?
 */
export function isGsoTcp6(packet: Uint8Array): boolean {
  const len = packet.length;
  if (len < IPV6_HEADER + 20 || packet[0]! >> 4 !== 6 || packet[6] !== IPPROTO_TCP) return false;
  if (IPV6_HEADER + read16(packet, 4) !== len) return false;
  const thl = (packet[IPV6_HEADER + 12]! >> 4) * 4;
  return thl >= 20 && IPV6_HEADER + thl <= len;
}
