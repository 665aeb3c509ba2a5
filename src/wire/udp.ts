/**
 * UDP header (RFC 768): parse into a caller-owned `UdpHeader` (no allocation
 * on the packet path), emit into a caller's buffer.
 */
import { checksumOk, internetChecksum, pseudoHeaderSum } from './checksum.js';
import { read16, write16 } from './bytes.js';
import { IPPROTO_UDP } from './ipv4.js';
import { pseudoHeaderSum6 } from './ipv6.js';

export const UDP_HEADER = 8;

export type UdpParseError = 'truncated' | 'bad-length' | 'bad-checksum';

/** Meaning of a UDP header; a plain mutable object so one instance can be reused per datagram. */
export class UdpHeader {
  srcPort = 0;
  dstPort = 0;
  /** The UDP length field: header plus payload, in bytes. Bytes beyond it are not part of the datagram. */
  length = 0;
  /** The checksum field as received (0 = none was computed by the sender). */
  checksum = 0;
  /** Payload bytes: `length - 8`. The payload starts 8 bytes into the datagram. */
  get payloadLength(): number {
    return this.length - UDP_HEADER;
  }
}

/**
 * Parses the UDP datagram in b[o, o+len) — `len` being what the IP layer
 * delivered (its payload length). The UDP length field decides the datagram's
 * extent: it must be at least 8 and at most `len`; trailing bytes beyond it
 * are ignored (RFC 768, as Linux does).
 *
 * `pseudoSum`, when given, is `pseudoHeaderSum(src, dst, IPPROTO_UDP, len)`
 * for the same `len` passed here; if the UDP length field is shorter than
 * `len`, the length term is corrected to the UDP length. A zero checksum
 * field means "no checksum" on IPv4 and is accepted. Without `pseudoSum` the
 * checksum is not verified.
 */
export function decodeUdp(b: Uint8Array, o: number, len: number, into: UdpHeader, pseudoSum?: number): UdpParseError | undefined {
  if (!(o >= 0) || !(len >= UDP_HEADER) || o + len > b.length) return 'truncated';
  const length = read16(b, o + 4);
  if (length < UDP_HEADER || length > len) return 'bad-length';
  const checksum = read16(b, o + 6);
  if (pseudoSum !== undefined && checksum !== 0 && !checksumOk(b, o, length, pseudoSum - len + length)) return 'bad-checksum';
  into.srcPort = read16(b, o);
  into.dstPort = read16(b, o + 2);
  into.length = length;
  into.checksum = checksum;
  return undefined;
}

/**
 * Convenience form for tools and tests: a new header or an error. The
 * checksum is verified only when `src` and `dst` are both given.
 */
export function parseUdp(b: Uint8Array, src?: number, dst?: number): UdpHeader | UdpParseError {
  const h = new UdpHeader();
  const ps = src !== undefined && dst !== undefined ? pseudoHeaderSum(src, dst, IPPROTO_UDP, b.length) : undefined;
  return decodeUdp(b, 0, b.length, h, ps) ?? h;
}

/**
 * Writes a UDP header at b[o..o+8) and the checksum over the header and the
 * payload already in place at b[o+8, o+length), with the IPv4 pseudo-header
 * of `src` → `dst`. A computed checksum of 0 is sent as 0xffff (RFC 768).
 */
export function emitUdp(b: Uint8Array, o: number, srcPort: number, dstPort: number, length: number, src: number, dst: number): void {
  write16(b, o, srcPort);
  write16(b, o + 2, dstPort);
  write16(b, o + 4, length);
  b[o + 6] = 0;
  b[o + 7] = 0;
  const c = internetChecksum(b, o, length, pseudoHeaderSum(src, dst, IPPROTO_UDP, length));
  write16(b, o + 6, c === 0 ? 0xffff : c);
}

/**
 * The IPv6 form of `emitUdp`: the checksum covers the IPv6 pseudo-header (RFC 8200 §8.1) and is never sent
 * as zero (a zero checksum is invalid over IPv6: 0 is sent as 0xffff).
 */
export function emitUdp6(b: Uint8Array, o: number, srcPort: number, dstPort: number, length: number, src: readonly number[], dst: readonly number[]): void {
  write16(b, o, srcPort);
  write16(b, o + 2, dstPort);
  write16(b, o + 4, length);
  b[o + 6] = 0;
  b[o + 7] = 0;
  const c = internetChecksum(b, o, length, pseudoHeaderSum6(src, dst, IPPROTO_UDP, length));
  write16(b, o + 6, c === 0 ? 0xffff : c);
}
