import { describe, it, expect } from 'vitest';
import { checksumOk, foldSum, internetChecksum, sumWords } from '../../src/wire/checksum.js';

function refSum(b: Uint8Array, start: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) {
    s += (b[start + i]! << 8) | (i + 1 < len ? b[start + i + 1]! : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}

describe('checksum fast path (32-bit words over aligned ranges)', () => {
  it('agrees with the byte-pair reference for every alignment and length, views included', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    const ab = new ArrayBuffer(70_000);
    const all = new Uint8Array(ab);
    for (let i = 0; i < all.length; i++) all[i] = rnd() & 0xff;
    for (let k = 0; k < 600; k++) {
      const viewOff = rnd() % 16;
      const view = new Uint8Array(ab, viewOff, all.length - viewOff);
      const len = k < 300 ? rnd() % 200 : rnd() % 66_000;
      const start = rnd() % (view.length - len);
      const initial = rnd() % 0x40000;
      const got = foldSum(sumWords(view, start, len, initial));
      const want = foldSum(refSum(view, start, len) + initial);
      expect(got).toBe(want);
    }
  });

  it('keeps the all-ones / zero distinction of one\u2019s complement sums', () => {
    const z = new Uint8Array(64);
    expect(foldSum(sumWords(z, 0, 64))).toBe(0);
    const f = new Uint8Array(64).fill(0xff);
    expect(foldSum(sumWords(f, 0, 64))).toBe(0xffff);
    // A buffer that carries its own checksum verifies on the fast path.
    const b = new Uint8Array(1500);
    for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 0xff;
    b[16] = 0;
    b[17] = 0;
    const c = internetChecksum(b, 0, b.length, 0x1234);
    b[16] = c >> 8;
    b[17] = c & 0xff;
    expect(checksumOk(b, 0, b.length, 0x1234)).toBe(true);
    b[1000] ^= 1;
    expect(checksumOk(b, 0, b.length, 0x1234)).toBe(false);
  });
});
