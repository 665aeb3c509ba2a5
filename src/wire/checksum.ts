/**
 * The Internet checksum (RFC 1071): one's complement of the one's complement
 * sum of 16-bit words. Sums are kept unfolded in a JS number (exact up to
 * 2^53, far beyond any packet) and folded once at the end.
 */

/** Unfolded 16-bit big-endian word sum of bytes[start, start+len). An odd trailing byte is padded with zero. */
export function sumWords(bytes: Uint8Array, start: number, len: number, initial = 0): number {
  let sum = initial;
  const end = start + len;
  let i = start;
  const evenEnd = end - ((end - start) & 1);
  for (; i < evenEnd; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  return sum;
}

/** Folds a sum to 16 bits (end-around carry). */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum field value for bytes[start, start+len) plus an initial (pseudo-header) sum. */
export function internetChecksum(bytes: Uint8Array, start: number, len: number, initial = 0): number {
  return ~foldSum(sumWords(bytes, start, len, initial)) & 0xffff;
}

/** True when the range, checksum field included, sums to 0xffff (i.e. verifies). */
export function checksumOk(bytes: Uint8Array, start: number, len: number, initial = 0): boolean {
  return foldSum(sumWords(bytes, start, len, initial)) === 0xffff;
}

/** Unfolded sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1): src, dst, zero, protocol, length. */
export function pseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
}

/**
 * Incremental update (RFC 1624 eqn. 3): HC' = ~(~HC + ~m + m') for a 16-bit
 * field changing from `oldWord` to `newWord`.
 */
export function checksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/** Incremental update for a 32-bit field (e.g. an address), as two 16-bit words. */
export function checksumUpdate32(checksum: number, oldValue: number, newValue: number): number {
  const c = checksumUpdate16(checksum, oldValue >>> 16, newValue >>> 16);
  return checksumUpdate16(c, oldValue & 0xffff, newValue & 0xffff);
}
