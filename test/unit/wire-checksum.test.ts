import { describe, it, expect } from 'vitest';
import {
  checksumOk,
  checksumUpdate16,
  checksumUpdate32,
  foldSum,
  internetChecksum,
  pseudoHeaderSum,
  sumWords,
} from '../../src/wire/checksum.js';

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reference: byte-wise one's complement sum with end-around carry at every step. */
function refChecksum(bytes: number[]): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) {
    s += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return ~s & 0xffff;
}

describe('RFC 1071 checksum', () => {
  it('matches the RFC 1071 §3 numerical example', () => {
    // Bytes 00 01 f2 03 f4 f5 f6 f7: sum 2ddf0, folded ddf2, checksum 220d.
    const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(sumWords(b, 0, 8)).toBe(0x2ddf0);
    expect(foldSum(0x2ddf0)).toBe(0xddf2);
    expect(internetChecksum(b, 0, 8)).toBe(0x220d);
  });

  it('verifies a well-known IPv4 header (checksum 0xb861)', () => {
    const h = Uint8Array.from([
      0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ]);
    expect(checksumOk(h, 0, 20)).toBe(true);
    const z = h.slice();
    z[10] = 0;
    z[11] = 0;
    expect(internetChecksum(z, 0, 20)).toBe(0xb861);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(sumWords(Uint8Array.from([0xab]), 0, 1)).toBe(0xab00);
    expect(internetChecksum(Uint8Array.from([0x12, 0x34, 0x56]), 0, 3)).toBe(~(0x1234 + 0x5600) & 0xffff);
    // Odd start offset and odd length inside a larger buffer.
    const b = Uint8Array.from([0xff, 0x01, 0x02, 0x03, 0xff]);
    expect(internetChecksum(b, 1, 3)).toBe(refChecksum([0x01, 0x02, 0x03]));
  });

  it('agrees with a reference implementation on random data of every length', () => {
    const r = rng(1071);
    for (let len = 0; len < 300; len++) {
      const bytes = Array.from({ length: len }, () => Math.floor(r() * 256));
      expect(internetChecksum(Uint8Array.from(bytes), 0, len)).toBe(refChecksum(bytes));
    }
  });

  it('a buffer with its checksum inserted verifies (odd and even lengths)', () => {
    const r = rng(7);
    for (let len = 2; len < 100; len++) {
      const b = Uint8Array.from({ length: len + 2 }, () => Math.floor(r() * 256));
      b[0] = 0;
      b[1] = 0;
      const c = internetChecksum(b, 0, b.length);
      b[0] = c >> 8;
      b[1] = c & 0xff;
      expect(checksumOk(b, 0, b.length)).toBe(true);
    }
  });

  it('folds large sums exactly', () => {
    expect(foldSum(0xffff * 100_000)).toBe(0xffff);
    expect(foldSum(0x1_0000)).toBe(1);
    expect(foldSum(0)).toBe(0);
  });
});

describe('pseudo-header', () => {
  it('equals the sum of an explicit 12-byte pseudo-header', () => {
    const r = rng(768);
    for (let k = 0; k < 200; k++) {
      const src = Math.floor(r() * 2 ** 32) >>> 0;
      const dst = Math.floor(r() * 2 ** 32) >>> 0;
      const proto = k % 2 ? 6 : 17;
      const len = Math.floor(r() * 65536);
      const ph = new Uint8Array(12);
      const v = new DataView(ph.buffer);
      v.setUint32(0, src);
      v.setUint32(4, dst);
      ph[9] = proto;
      v.setUint16(10, len);
      expect(foldSum(pseudoHeaderSum(src, dst, proto, len))).toBe(foldSum(sumWords(ph, 0, 12)));
    }
  });

  it('checksums a UDP datagram like the reference over pseudo-header + datagram', () => {
    const src = 0x0a4d0001;
    const dst = 0x0a4d0002;
    const d = Uint8Array.from([0x30, 0x39, 0x00, 0x35, 0x00, 0x0b, 0x00, 0x00, 0x61, 0x62, 0x63]);
    const c = internetChecksum(d, 0, d.length, pseudoHeaderSum(src, dst, 17, d.length));
    const ref = refChecksum([0x0a, 0x4d, 0x00, 0x01, 0x0a, 0x4d, 0x00, 0x02, 0, 17, 0, 11, ...d, 0]);
    expect(c).toBe(ref);
  });
});

describe('RFC 1624 incremental update', () => {
  it('equals a full recompute for random 16-bit changes', () => {
    const r = rng(1624);
    for (let k = 0; k < 2000; k++) {
      const words = 2 + Math.floor(r() * 30);
      const b = Uint8Array.from({ length: words * 2 }, () => Math.floor(r() * 256));
      // Word 0 is never zero: an all-zero buffer is the one case where the
      // incremental form yields 0x0000 and the full form 0xffff (RFC 1624 §5: both mean -0/+0).
      b[0] = 0x45;
      const c0 = internetChecksum(b, 0, b.length);
      const i = 2 * (1 + Math.floor(r() * (words - 1)));
      const oldW = (b[i]! << 8) | b[i + 1]!;
      const newW = k % 10 === 0 ? 0 : Math.floor(r() * 65536);
      b[i] = newW >> 8;
      b[i + 1] = newW & 0xff;
      expect(checksumUpdate16(c0, oldW, newW)).toBe(internetChecksum(b, 0, b.length));
    }
  });

  it('equals a full recompute for random 32-bit (address) changes', () => {
    const r = rng(32);
    for (let k = 0; k < 1000; k++) {
      const b = Uint8Array.from({ length: 20 }, () => Math.floor(r() * 256));
      b[0] = 0x45;
      const c0 = internetChecksum(b, 0, 20);
      const v = new DataView(b.buffer);
      const oldA = v.getUint32(12);
      const newA = Math.floor(r() * 2 ** 32) >>> 0;
      v.setUint32(12, newA);
      expect(checksumUpdate32(c0, oldA, newA)).toBe(internetChecksum(b, 0, 20));
    }
  });

  it('decrementing TTL keeps the header valid', () => {
    const h = Uint8Array.from([
      0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ]);
    const oldW = (h[8]! << 8) | h[9]!;
    h[8] = h[8]! - 1;
    const newW = (h[8]! << 8) | h[9]!;
    const c = checksumUpdate16((h[10]! << 8) | h[11]!, oldW, newW);
    h[10] = c >> 8;
    h[11] = c & 0xff;
    expect(checksumOk(h, 0, 20)).toBe(true);
  });
});
