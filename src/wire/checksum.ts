/**
 * The Internet checksum (RFC 1071): one's complement of the one's complement
 * sum of 16-bit words. Sums are kept unfolded in a JS number (exact up to
 * 2^53, far beyond any packet) and folded once at the end.
 *
 * The hot loop (ranges of 32 bytes or more that start 4-byte aligned in
 * their ArrayBuffer, which every packet buffer of the stack does at the IP,
 * TCP and payload offsets) reads 32-bit little-endian words through a
 * Uint32Array over the whole buffer, four words per step into two
 * accumulators, and byte-swaps the folded result: RFC 1071 §2(B), the sum is
 * independent of byte order. About 4x the byte-pair loop in V8.
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A Uint32Array over the last ArrayBuffer seen (receive slabs and transmit slabs repeat). */
let wordsBuffer: ArrayBufferLike | null = null;
let words: Uint32Array = new Uint32Array(0);

function wordsOf(ab: ArrayBufferLike): Uint32Array {
  if (ab !== wordsBuffer) {
    words = new Uint32Array(ab, 0, ab.byteLength >>> 2);
    wordsBuffer = ab;
  }
  return words;
}

/**
 * 16-bit big-endian word sum of bytes[start, start+len) plus `initial`; an
 * odd trailing byte is padded with zero. The value is a one's complement sum
 * (fold it with `foldSum`): for short or unaligned ranges it is the plain
 * unfolded sum, for long aligned ranges a partly folded one — the same
 * after folding.
 */
export function sumWords(bytes: Uint8Array, start: number, len: number, initial = 0): number {
  let sum = initial;
  const end = start + len;
  let i = start;
  const abs = bytes.byteOffset + start;
  if (len >= 32 && (abs & 3) === 0 && LITTLE_ENDIAN) {
    const u = wordsOf(bytes.buffer);
    let w = abs >>> 2;
    const n = len >>> 2;
    const we = w + n;
    const we4 = w + (n & ~3);
    let a = 0;
    let c = 0;
    for (; w < we4; w += 4) {
      const v0 = u[w]!;
      const v1 = u[w + 1]!;
      const v2 = u[w + 2]!;
      const v3 = u[w + 3]!;
      a += (v0 & 0xffff) + (v1 & 0xffff) + (v2 & 0xffff) + (v3 & 0xffff);
      c += (v0 >>> 16) + (v1 >>> 16) + (v2 >>> 16) + (v3 >>> 16);
    }
    for (; w < we; w++) {
      const v = u[w]!;
      a += v & 0xffff;
      c += v >>> 16;
    }
    let s = a + c;
    while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
    sum += ((s & 0xff) << 8) | (s >>> 8);
    i = start + (n << 2);
  }
  const evenEnd = end - ((end - i) & 1);
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
