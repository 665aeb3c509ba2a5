/**
 * HalfSipHash-2-4 (the 32-bit SipHash variant Linux calls hsiphash): a keyed
 * hash of up to four 32-bit words with a 64-bit key, for ISNs (RFC 6528),
 * SYN cookies (RFC 4987) and timestamp offsets. Pure integer arithmetic, no
 * allocation; the key comes from crypto.randomBytes (or a test seed).
 */
import { randomBytes } from 'node:crypto';

export class HashKey {
  constructor(
    readonly k0: number,
    readonly k1: number,
  ) {}

  static random(): HashKey {
    const b = randomBytes(8);
    return new HashKey(b.readUInt32LE(0), b.readUInt32LE(4));
  }

  /** A deterministic key for tests: `stream` separates keys derived from one seed. */
  static fromSeed(seed: number, stream: number): HashKey {
    return new HashKey(mix32(seed ^ Math.imul(stream + 1, 0x9e3779b9)), mix32(seed + Math.imul(stream + 7, 0x85ebca6b)));
  }
}

function mix32(x: number): number {
  let z = x | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** HalfSipHash-2-4 of four 32-bit words (16 bytes) under `key`; a u32. */
export function hsiphash4(key: HashKey, a: number, b: number, c: number, d: number): number {
  let v0 = key.k0 | 0;
  let v1 = key.k1 | 0;
  let v2 = (0x6c796765 ^ key.k0) | 0;
  let v3 = (0x74656462 ^ key.k1) | 0;
  for (let i = 0; i < 5; i++) {
    const m = i === 0 ? a : i === 1 ? b : i === 2 ? c : i === 3 ? d : (16 << 24) | 0;
    v3 ^= m;
    for (let r = 0; r < 2; r++) {
      v0 = (v0 + v1) | 0;
      v1 = (v1 << 5) | (v1 >>> 27);
      v1 ^= v0;
      v0 = (v0 << 16) | (v0 >>> 16);
      v2 = (v2 + v3) | 0;
      v3 = (v3 << 8) | (v3 >>> 24);
      v3 ^= v2;
      v0 = (v0 + v3) | 0;
      v3 = (v3 << 7) | (v3 >>> 25);
      v3 ^= v0;
      v2 = (v2 + v1) | 0;
      v1 = (v1 << 13) | (v1 >>> 19);
      v1 ^= v2;
      v2 = (v2 << 16) | (v2 >>> 16);
    }
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (let r = 0; r < 4; r++) {
    v0 = (v0 + v1) | 0;
    v1 = (v1 << 5) | (v1 >>> 27);
    v1 ^= v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = (v3 << 8) | (v3 >>> 24);
    v3 ^= v2;
    v0 = (v0 + v3) | 0;
    v3 = (v3 << 7) | (v3 >>> 25);
    v3 ^= v0;
    v2 = (v2 + v1) | 0;
    v1 = (v1 << 13) | (v1 >>> 19);
    v1 ^= v2;
    v2 = (v2 << 16) | (v2 >>> 16);
  }
  return (v1 ^ v3) >>> 0;
}

/** The two ports of a 4-tuple as one word. */
export function portsWord(localPort: number, remotePort: number): number {
  return ((localPort << 16) | remotePort) | 0;
}
