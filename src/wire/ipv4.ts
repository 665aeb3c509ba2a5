/**
 * IPv4 header (RFC 791 §3.1): parse into a caller-owned `Ipv4Header` (no
 * allocation on the packet path), emit into a caller's buffer.
 */
import { checksumOk, internetChecksum } from './checksum.js';
import { read16, read32, write16, write32 } from './bytes.js';

import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from './ip-protocols.js';

export { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP };
export const IPV4_MIN_HEADER = 20;

export const IP_FLAG_DF = 0x4000;
export const IP_FLAG_MF = 0x2000;
const IP_OFFSET_MASK = 0x1fff;

export type Ipv4ParseError =
  | 'truncated'
  | 'bad-version'
  | 'bad-ihl'
  | 'bad-total-length'
  | 'bad-checksum'
  | 'bad-options';

/** Meaning of an IPv4 header; a plain mutable object so one instance can be reused per packet. */
export class Ipv4Header {
  ihl = 5;
  /** Header length in bytes (ihl * 4). */
  headerLength = 20;
  tos = 0;
  totalLength = 0;
  id = 0;
  dontFragment = false;
  moreFragments = false;
  /** Fragment offset in bytes (the field times 8). */
  fragmentOffset = 0;
  ttl = 64;
  protocol = 0;
  checksum = 0;
  src = 0;
  dst = 0;
  /**
   * Not a header field: set by the IP layer from the link's offload metadata when the link vouches for the
   * transport checksum (it came from the local kernel, src/wire/offload.ts CSUM_TRUSTED). Decoding leaves it alone.
   */
  checksumTrusted = false;
  /** Does the header carry options (IHL > 5)? */
  get hasOptions(): boolean {
    return this.ihl > 5;
  }
  get isFragment(): boolean {
    return this.moreFragments || this.fragmentOffset !== 0;
  }
}

/**
 * Parses and validates the header at bytes[0..]. `verifyChecksum` can be
 * turned off for captures. Options are walked for well-formedness only
 * (RFC 791: option-type, option-length; NOP and EOL are single bytes).
 */
export function decodeIpv4(bytes: Uint8Array, into: Ipv4Header, verifyChecksum = true): Ipv4ParseError | undefined {
  const n = bytes.length;
  if (n < IPV4_MIN_HEADER) return 'truncated';
  const vihl = bytes[0]!;
  if (vihl >> 4 !== 4) return 'bad-version';
  const ihl = vihl & 0x0f;
  if (ihl < 5) return 'bad-ihl';
  const hlen = ihl * 4;
  if (hlen > n) return 'bad-ihl';
  const total = read16(bytes, 2);
  // RFC 1122 §3.2.1.1: a total length smaller than the header, or larger than what arrived, is invalid.
  if (total < hlen || total > n) return 'bad-total-length';
  if (verifyChecksum && !checksumOk(bytes, 0, hlen)) return 'bad-checksum';
  if (ihl > 5 && !optionsWellFormed(bytes, IPV4_MIN_HEADER, hlen)) return 'bad-options';
  const frag = read16(bytes, 6);
  into.ihl = ihl;
  into.headerLength = hlen;
  into.tos = bytes[1]!;
  into.totalLength = total;
  into.id = read16(bytes, 4);
  into.dontFragment = (frag & IP_FLAG_DF) !== 0;
  into.moreFragments = (frag & IP_FLAG_MF) !== 0;
  into.fragmentOffset = (frag & IP_OFFSET_MASK) * 8;
  into.ttl = bytes[8]!;
  into.protocol = bytes[9]!;
  into.checksum = read16(bytes, 10);
  into.src = read32(bytes, 12);
  into.dst = read32(bytes, 16);
  return undefined;
}

/** Convenience form for tools and tests: a new header or an error. */
export function parseIpv4(bytes: Uint8Array, verifyChecksum = true): Ipv4Header | Ipv4ParseError {
  const h = new Ipv4Header();
  const err = decodeIpv4(bytes, h, verifyChecksum);
  return err ?? h;
}

function optionsWellFormed(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const type = b[i]!;
    if (type === 0) return true; // End of Option List
    if (type === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) return false;
    i += len;
  }
  return true;
}

/**
 * Option bytes of the header that must be copied into every fragment
 * (RFC 791: the "copied" flag, bit 0x80 of the option type). Returns them
 * padded with EOL to a multiple of 4, or an empty array.
 */
export function copiedOptions(b: Uint8Array, headerLength: number): Uint8Array {
  const out: number[] = [];
  let i = IPV4_MIN_HEADER;
  while (i < headerLength) {
    const type = b[i]!;
    if (type === 0) break;
    if (type === 1) {
      i++;
      continue;
    }
    const len = b[i + 1]!;
    if (len < 2 || i + len > headerLength) break;
    if (type & 0x80) for (let k = 0; k < len; k++) out.push(b[i + k]!);
    i += len;
  }
  while (out.length % 4 !== 0) out.push(0);
  return Uint8Array.from(out);
}

export interface Ipv4Emit {
  tos?: number;
  totalLength: number;
  id: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  fragmentOffset?: number;
  ttl: number;
  protocol: number;
  src: number;
  dst: number;
  /** Option bytes (length a multiple of 4), if any. */
  options?: Uint8Array;
}

/** Writes a header at b[o..] and its checksum; returns the header length. */
export function emitIpv4(b: Uint8Array, o: number, h: Ipv4Emit): number {
  const optLen = h.options ? h.options.length : 0;
  const hlen = IPV4_MIN_HEADER + optLen;
  b[o] = 0x40 | (hlen >> 2);
  b[o + 1] = h.tos ?? 0;
  write16(b, o + 2, h.totalLength);
  write16(b, o + 4, h.id);
  let frag = ((h.fragmentOffset ?? 0) >> 3) & IP_OFFSET_MASK;
  if (h.dontFragment) frag |= IP_FLAG_DF;
  if (h.moreFragments) frag |= IP_FLAG_MF;
  write16(b, o + 6, frag);
  b[o + 8] = h.ttl;
  b[o + 9] = h.protocol;
  b[o + 10] = 0;
  b[o + 11] = 0;
  write32(b, o + 12, h.src);
  write32(b, o + 16, h.dst);
  if (h.options) b.set(h.options, o + IPV4_MIN_HEADER);
  write16(b, o + 10, internetChecksum(b, o, hlen));
  return hlen;
}

/** Fast path for a header with no options at b[0..20): used by the stack's output. */
export function emitIpv4Simple(
  b: Uint8Array,
  totalLength: number,
  id: number,
  dontFragment: boolean,
  ttl: number,
  protocol: number,
  src: number,
  dst: number,
  tos = 0,
): void {
  b[0] = 0x45;
  b[1] = tos;
  write16(b, 2, totalLength);
  write16(b, 4, id);
  b[6] = dontFragment ? 0x40 : 0;
  b[7] = 0;
  b[8] = ttl;
  b[9] = protocol;
  b[10] = 0;
  b[11] = 0;
  write32(b, 12, src);
  write32(b, 16, dst);
  write16(b, 10, internetChecksum(b, 0, IPV4_MIN_HEADER));
}

/** Is the address a limited/directed broadcast-like, multicast (224/4), reserved (240/4) or zero source? */
export function isMulticast(a: number): boolean {
  return a >>> 28 === 0xe;
}
export function isLimitedBroadcast(a: number): boolean {
  return a === 0xffffffff;
}
