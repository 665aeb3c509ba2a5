/**
 * IPv6 fragmentation of the datagrams this stack originates (RFC 8200 §4.5): only the source fragments in
 * IPv6, never a router. The stack originates no extension headers, so the unfragmentable part is the fixed
 * header: every piece is that header (payload length patched, Next Header = 44), a Fragment header (the
 * original Next Header, the offset in 8-byte units, M on all but the last, one identification for all), and
 * a slice of the original payload whose length is a multiple of 8 except in the last piece.
 *
 * Counters like Linux's Ip6 line: FragOKs per datagram split, FragCreates per piece, FragFails when the MTU
 * leaves no room (never below 1280, which always has room).
 */
import { write16, write32 } from '../wire/bytes.js';
import { IPV6_HEADER, NextHeader } from '../wire/ipv6.js';
import type { Stats } from '../stats.js';
import { FRAGMENT_HEADER } from './reassembler6.js';

/**
 * Splits `packet` (fixed header + upper-layer payload, no extension headers) so that no piece exceeds `mtu`,
 * handing each to `emit` in offset order; `id` is the Fragment header's identification. Returns the number of
 * pieces, 0 (counted) when the MTU leaves no room for 8 bytes of data.
 */
export function fragmentDatagram6(packet: Uint8Array, mtu: number, id: number, stats: Stats, emit: (piece: Uint8Array) => void): number {
  const payload = packet.length - IPV6_HEADER;
  const room = (mtu - IPV6_HEADER - FRAGMENT_HEADER) & ~7;
  if (room < 8 || payload <= 0) {
    stats.Ip6.FragFails++;
    stats.drop('ip6.frag-mtu-too-small');
    return 0;
  }
  const nextHeader = packet[6]!;
  let off = 0;
  let pieces = 0;
  while (off < payload) {
    const n = Math.min(room, payload - off);
    const last = off + n >= payload;
    const piece = new Uint8Array(IPV6_HEADER + FRAGMENT_HEADER + n);
    piece.set(packet.subarray(0, IPV6_HEADER), 0);
    write16(piece, 4, FRAGMENT_HEADER + n);
    piece[6] = NextHeader.Fragment;
    piece[IPV6_HEADER] = nextHeader;
    piece[IPV6_HEADER + 1] = 0;
    write16(piece, IPV6_HEADER + 2, off | (last ? 0 : 1));
    write32(piece, IPV6_HEADER + 4, id >>> 0);
    piece.set(packet.subarray(IPV6_HEADER + off, IPV6_HEADER + off + n), IPV6_HEADER + FRAGMENT_HEADER);
    emit(piece);
    pieces++;
    off += n;
  }
  stats.Ip6.FragOKs++;
  stats.Ip6.FragCreates += pieces;
  return pieces;
}
