import { describe, it, expect } from 'vitest';
import { internetChecksum } from '../../src/wire/checksum.js';
import {
  copiedOptions,
  decodeIpv4,
  emitIpv4,
  emitIpv4Simple,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  Ipv4Header,
  isLimitedBroadcast,
  isMulticast,
  parseIpv4,
} from '../../src/wire/ipv4.js';

const SRC = 0x0a4d0001; // 10.77.0.1
const DST = 0x0a4d0002; // 10.77.0.2

function packet(totalLength = 28, options?: Uint8Array): Uint8Array {
  const b = new Uint8Array(totalLength);
  emitIpv4(b, 0, { totalLength, id: 0x1234, ttl: 64, protocol: IPPROTO_UDP, src: SRC, dst: DST, options });
  return b;
}

/** Rewrites the header checksum after a test has edited header bytes. */
function fixChecksum(b: Uint8Array): void {
  const hlen = (b[0]! & 0xf) * 4;
  b[10] = 0;
  b[11] = 0;
  const c = internetChecksum(b, 0, Math.min(hlen, b.length));
  b[10] = c >> 8;
  b[11] = c & 0xff;
}

describe('IPv4 emit → parse', () => {
  it('round-trips every field', () => {
    const b = new Uint8Array(1500);
    const hlen = emitIpv4(b, 0, {
      tos: 0xb8,
      totalLength: 1500,
      id: 0xbeef,
      dontFragment: false,
      moreFragments: true,
      fragmentOffset: 1480 * 3,
      ttl: 3,
      protocol: IPPROTO_TCP,
      src: 0xc0a80001,
      dst: 0xffffffff,
    });
    expect(hlen).toBe(20);
    const h = parseIpv4(b);
    expect(h).toBeInstanceOf(Ipv4Header);
    if (typeof h === 'string') return;
    expect(h).toMatchObject({
      ihl: 5,
      headerLength: 20,
      tos: 0xb8,
      totalLength: 1500,
      id: 0xbeef,
      dontFragment: false,
      moreFragments: true,
      fragmentOffset: 4440,
      ttl: 3,
      protocol: IPPROTO_TCP,
      src: 0xc0a80001,
      dst: 0xffffffff,
    });
    expect(h.isFragment).toBe(true);
    expect(h.hasOptions).toBe(false);
  });

  it('round-trips DF, the maximum fragment offset and addresses with the top bit set', () => {
    const b = new Uint8Array(40);
    emitIpv4(b, 0, { totalLength: 40, id: 1, dontFragment: true, fragmentOffset: 0x1fff * 8, ttl: 255, protocol: 200, src: 0xfffffffe, dst: 0x80000000 });
    const h = parseIpv4(b) as Ipv4Header;
    expect(h.dontFragment).toBe(true);
    expect(h.moreFragments).toBe(false);
    expect(h.fragmentOffset).toBe(0x1fff * 8);
    expect(h.src).toBe(0xfffffffe);
    expect(h.dst).toBe(0x80000000);
    expect(h.ttl).toBe(255);
  });

  it('round-trips a header with options and writes at an offset', () => {
    // Record Route (7, copied=0) with room for one address, then NOP, then EOL padding.
    const opts = Uint8Array.from([7, 7, 4, 0, 0, 0, 0, 1, 0x94, 4, 0, 0]);
    const buf = new Uint8Array(100);
    const hlen = emitIpv4(buf, 10, { totalLength: 60, id: 9, ttl: 64, protocol: IPPROTO_ICMP, src: SRC, dst: DST, options: opts });
    expect(hlen).toBe(32);
    const pkt = buf.subarray(10, 70);
    const h = parseIpv4(pkt) as Ipv4Header;
    expect(h.ihl).toBe(8);
    expect(h.headerLength).toBe(32);
    expect(h.hasOptions).toBe(true);
    expect([...pkt.subarray(20, 32)]).toEqual([...opts]);
    // Router Alert (0x94) has the copied flag; Record Route does not.
    expect([...copiedOptions(pkt, 32)]).toEqual([0x94, 4, 0, 0]);
  });

  it('emitIpv4Simple matches emitIpv4', () => {
    const a = new Uint8Array(20);
    const b = new Uint8Array(20);
    emitIpv4Simple(a, 576, 77, true, 64, IPPROTO_TCP, SRC, DST);
    emitIpv4(b, 0, { totalLength: 576, id: 77, dontFragment: true, ttl: 64, protocol: IPPROTO_TCP, src: SRC, dst: DST });
    expect([...a]).toEqual([...b]);
  });

  it('decodes into a reused header', () => {
    const h = new Ipv4Header();
    expect(decodeIpv4(packet(28), h)).toBeUndefined();
    expect(h.totalLength).toBe(28);
    expect(decodeIpv4(packet(40), h)).toBeUndefined();
    expect(h.totalLength).toBe(40);
  });

  it('accepts trailing bytes beyond the total length (link padding)', () => {
    const b = new Uint8Array(60);
    emitIpv4(b, 0, { totalLength: 28, id: 1, ttl: 64, protocol: IPPROTO_UDP, src: SRC, dst: DST });
    const h = parseIpv4(b) as Ipv4Header;
    expect(h.totalLength).toBe(28);
  });
});

describe('IPv4 errors', () => {
  it('truncated: fewer than 20 bytes', () => {
    for (let n = 0; n < 20; n++) expect(parseIpv4(packet(28).subarray(0, n))).toBe('truncated');
  });

  it('bad-version: not 4', () => {
    for (const v of [0, 5, 6, 15]) {
      const b = packet();
      b[0] = (v << 4) | 5;
      fixChecksum(b);
      expect(parseIpv4(b)).toBe('bad-version');
    }
  });

  it('bad-ihl: below 5 or beyond the bytes', () => {
    for (const ihl of [0, 1, 4]) {
      const b = packet();
      b[0] = 0x40 | ihl;
      expect(parseIpv4(b)).toBe('bad-ihl');
    }
    const b = packet(24);
    b[0] = 0x47; // 28-byte header in 24 bytes
    expect(parseIpv4(b)).toBe('bad-ihl');
  });

  it('bad-total-length: larger than the bytes, or smaller than the header', () => {
    const big = packet(28);
    big[2] = 0;
    big[3] = 29;
    fixChecksum(big);
    expect(parseIpv4(big)).toBe('bad-total-length');
    const small = packet(28);
    small[2] = 0;
    small[3] = 19;
    fixChecksum(small);
    expect(parseIpv4(small)).toBe('bad-total-length');
    const opt = packet(32, Uint8Array.from([1, 1, 1, 0]));
    opt[3] = 22; // below the 24-byte header
    fixChecksum(opt);
    expect(parseIpv4(opt)).toBe('bad-total-length');
  });

  it('bad-checksum, unless verification is off', () => {
    const b = packet();
    b[8] = 63; // TTL changed without fixing the checksum
    expect(parseIpv4(b)).toBe('bad-checksum');
    expect(parseIpv4(b, false)).toBeInstanceOf(Ipv4Header);
    const c = packet();
    c[10] = c[10]! ^ 0xff;
    expect(parseIpv4(c)).toBe('bad-checksum');
  });

  it('bad-options: length < 2, running past the header, type without a length byte', () => {
    const cases = [
      [0x83, 1, 0, 0], // length 1
      [0x83, 0, 0, 0], // length 0
      [1, 0x83, 6, 0], // runs past the 4-byte option area
      [1, 1, 1, 0x83], // type in the last byte, no length
    ];
    for (const o of cases) {
      const b = packet(32, Uint8Array.from(o));
      expect(parseIpv4(b), JSON.stringify(o)).toBe('bad-options');
    }
    // EOL ends the walk: garbage after it is not examined.
    expect(parseIpv4(packet(32, Uint8Array.from([0, 0x83, 1, 0])))).toBeInstanceOf(Ipv4Header);
  });

  it('copiedOptions stops at malformed options without reading outside the header', () => {
    const b = packet(24, Uint8Array.from([1, 1, 1, 0x83]));
    b[b.length - 1] = 0; // a payload-less packet: nothing after the header
    expect([...copiedOptions(b.subarray(0, 24), 24)]).toEqual([]);
    const c = Uint8Array.from([...packet(24, Uint8Array.from([0x83, 1, 0, 0]))]);
    expect([...copiedOptions(c, 24)]).toEqual([]);
  });
});

describe('address classes', () => {
  it('multicast and broadcast', () => {
    expect(isMulticast(0xe0000001)).toBe(true);
    expect(isMulticast(0xefffffff)).toBe(true);
    expect(isMulticast(0xf0000000)).toBe(false);
    expect(isMulticast(0x0a000001)).toBe(false);
    expect(isLimitedBroadcast(0xffffffff)).toBe(true);
    expect(isLimitedBroadcast(0xfffffffe)).toBe(false);
  });
});
