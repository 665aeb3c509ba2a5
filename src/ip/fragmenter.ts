/**
 * Outbound fragmentation (RFC 791 §3.2, "An Example Fragmentation
 * Procedure"): a datagram larger than the MTU is cut into pieces whose data
 * lengths are multiples of 8 (except the last); the first piece keeps every
 * option, the others only the options whose "copied" flag is set; every piece
 * keeps the id, TOS, TTL, protocol and addresses. A datagram that is itself a
 * fragment (when forwarding) is split again: offsets are added to its own and
 * its MF flag is kept on the last piece.
 *
 * Counters like Linux: FragOKs per datagram split, FragCreates per piece,
 * FragFails when it cannot be done (an MTU too small for 8 data bytes).
 */
import { IPV4_MIN_HEADER, IP_FLAG_MF, copiedOptions } from '../wire/ipv4.js';
import { internetChecksum } from '../wire/checksum.js';
import { read16, write16 } from '../wire/bytes.js';
import type { Stats } from '../stats.js';

/**
 * Splits `packet` (a complete, valid IPv4 datagram with DF clear) so that no
 * piece exceeds `mtu`, handing each new piece to `emit` in offset order.
 * Returns the number of pieces, or 0 (counted as FragFails) when the MTU
 * leaves no room for 8 bytes of data after the header.
 */
export function fragmentDatagram(packet: Uint8Array, mtu: number, stats: Stats, emit: (piece: Uint8Array) => void): number {
  const hl = (packet[0]! & 0x0f) * 4;
  const total = read16(packet, 2);
  const payload = total - hl;
  const flags = read16(packet, 6);
  const baseOffset = (flags & 0x1fff) * 8;
  const origMf = (flags & IP_FLAG_MF) !== 0;
  const dfBit = flags & 0x4000;
  const opts = hl > IPV4_MIN_HEADER ? copiedOptions(packet, hl) : EMPTY;
  const laterHl = IPV4_MIN_HEADER + opts.length;
  const firstRoom = ((mtu - hl) & ~7);
  const laterRoom = ((mtu - laterHl) & ~7);
  if (firstRoom < 8 || laterRoom < 8) {
    stats.Ip.FragFails++;
    stats.drop('ip.frag-mtu-too-small');
    return 0;
  }
  let off = 0;
  let pieces = 0;
  while (off < payload) {
    const isFirst = off === 0;
    const h = isFirst ? hl : laterHl;
    const room = isFirst ? firstRoom : laterRoom;
    const n = Math.min(room, payload - off);
    const lastPiece = off + n >= payload;
    const piece = new Uint8Array(h + n);
    // Header: the original's first 20 bytes, then all options (first piece) or the copied ones.
    piece.set(packet.subarray(0, IPV4_MIN_HEADER), 0);
    if (isFirst) piece.set(packet.subarray(IPV4_MIN_HEADER, hl), IPV4_MIN_HEADER);
    else piece.set(opts, IPV4_MIN_HEADER);
    piece[0] = 0x40 | (h >> 2);
    write16(piece, 2, h + n);
    const mf = !lastPiece || origMf;
    write16(piece, 6, dfBit | (mf ? IP_FLAG_MF : 0) | (((baseOffset + off) >> 3) & 0x1fff));
    piece[10] = 0;
    piece[11] = 0;
    write16(piece, 10, internetChecksum(piece, 0, h));
    piece.set(packet.subarray(hl + off, hl + off + n), h);
    emit(piece);
    pieces++;
    off += n;
  }
  stats.Ip.FragOKs++;
  stats.Ip.FragCreates += pieces;
  return pieces;
}

const EMPTY = new Uint8Array(0);
