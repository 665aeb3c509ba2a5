import { describe, it, expect } from 'vitest';
import { internetChecksum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { decodeUdp, emitUdp, parseUdp, UDP_HEADER, UdpHeader } from '../../src/wire/udp.js';

const SRC = 0x0a4d0001;
const DST = 0x0a4d0002;

function datagram(payload: number[], srcPort = 40000, dstPort = 53): Uint8Array {
  const b = new Uint8Array(UDP_HEADER + payload.length);
  b.set(payload, UDP_HEADER);
  emitUdp(b, 0, srcPort, dstPort, b.length, SRC, DST);
  return b;
}

describe('UDP emit → parse', () => {
  it('round-trips ports, length and a verified checksum', () => {
    for (const n of [0, 1, 2, 3, 100, 1472]) {
      const payload = Array.from({ length: n }, (_, i) => (i * 13) & 0xff);
      const b = datagram(payload, 0xffff, 1);
      const h = parseUdp(b, SRC, DST);
      expect(h).toBeInstanceOf(UdpHeader);
      if (typeof h === 'string') return;
      expect(h.srcPort).toBe(0xffff);
      expect(h.dstPort).toBe(1);
      expect(h.length).toBe(8 + n);
      expect(h.payloadLength).toBe(n);
      expect(h.checksum).not.toBe(0);
    }
  });

  it('matches a hand-computed checksum', () => {
    const b = datagram([0x61, 0x62, 0x63], 12345, 53);
    expect([...b.subarray(0, 6)]).toEqual([0x30, 0x39, 0x00, 0x35, 0x00, 0x0b]);
    const z = b.slice();
    z[6] = 0;
    z[7] = 0;
    expect((b[6]! << 8) | b[7]!).toBe(internetChecksum(z, 0, 11, pseudoHeaderSum(SRC, DST, 17, 11)));
  });

  it('sends a computed checksum of 0 as 0xffff, and it verifies', () => {
    // Choose the payload word so that the checksum comes out as 0.
    const b = new Uint8Array(10);
    emitUdp(b, 0, 1000, 2000, 10, SRC, DST);
    // Checksum c with payload 0000: adding c to the payload word makes the sum 0xffff, the checksum 0.
    const c = (b[6]! << 8) | b[7]!;
    b[8] = c >> 8;
    b[9] = c & 0xff;
    emitUdp(b, 0, 1000, 2000, 10, SRC, DST);
    expect((b[6]! << 8) | b[7]!).toBe(0xffff);
    expect(parseUdp(b, SRC, DST)).toBeInstanceOf(UdpHeader);
  });

  it('accepts a zero checksum as "none" (IPv4)', () => {
    const b = datagram([1, 2, 3]);
    b[6] = 0;
    b[7] = 0;
    const h = parseUdp(b, SRC, DST) as UdpHeader;
    expect(h.checksum).toBe(0);
  });

  it('writes and decodes at an offset with trailing bytes ignored', () => {
    const buf = new Uint8Array(64).fill(0xee);
    buf.set([9, 9, 9, 9], 28);
    emitUdp(buf, 20, 5353, 5353, 12, SRC, DST);
    const h = new UdpHeader();
    // The IP layer delivered 30 bytes; the UDP length says 12: the rest is ignored, checksum still verifies.
    expect(decodeUdp(buf, 20, 30, h, pseudoHeaderSum(SRC, DST, 17, 30))).toBeUndefined();
    expect(h.length).toBe(12);
    expect(h.payloadLength).toBe(4);
  });

  it('does not verify the checksum without a pseudo-header sum', () => {
    const b = datagram([1, 2, 3]);
    b[9] = b[9]! ^ 0xff;
    expect(parseUdp(b)).toBeInstanceOf(UdpHeader);
  });
});

describe('UDP errors', () => {
  it('truncated', () => {
    const b = datagram([]);
    for (let n = 0; n < 8; n++) expect(parseUdp(b.subarray(0, n))).toBe('truncated');
    expect(decodeUdp(b, 2, 8, new UdpHeader())).toBe('truncated');
  });

  it('bad-length: below 8 or beyond the bytes', () => {
    for (const len of [0, 7, 12]) {
      const b = datagram([1, 2, 3]);
      b[4] = len >> 8;
      b[5] = len & 0xff;
      expect(parseUdp(b), String(len)).toBe('bad-length');
    }
  });

  it('bad-checksum: payload, header or pseudo-header changed', () => {
    const b = datagram([1, 2, 3, 4]);
    const p = b.slice();
    p[10] = p[10]! ^ 0x10;
    expect(parseUdp(p, SRC, DST)).toBe('bad-checksum');
    const q = b.slice();
    q[1] = q[1]! ^ 1;
    expect(parseUdp(q, SRC, DST)).toBe('bad-checksum');
    expect(parseUdp(b, SRC, DST + 1)).toBe('bad-checksum');
  });
});
