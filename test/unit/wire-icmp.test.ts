import { describe, it, expect } from 'vitest';
import { checksumOk } from '../../src/wire/checksum.js';
import {
  decodeIcmp,
  echoRest,
  emitIcmp,
  IcmpHeader,
  IcmpType,
  isIcmpError,
  parseIcmp,
  TimeExceededCode,
  UnreachCode,
} from '../../src/wire/icmp.js';

function echo(payloadLen: number, id = 0x1234, seq = 7): Uint8Array {
  const b = new Uint8Array(8 + payloadLen);
  for (let i = 0; i < payloadLen; i++) b[8 + i] = (i * 7 + 3) & 0xff;
  emitIcmp(b, 0, b.length, IcmpType.Echo, 0, echoRest(id, seq));
  return b;
}

describe('ICMP emit → parse', () => {
  it('round-trips an echo request with odd and even payloads', () => {
    for (const n of [0, 1, 7, 56, 1472]) {
      const b = echo(n, 0xfedc, 0xba98);
      expect(checksumOk(b, 0, b.length)).toBe(true);
      const h = parseIcmp(b);
      expect(h).toBeInstanceOf(IcmpHeader);
      if (typeof h === 'string') return;
      expect(h.type).toBe(IcmpType.Echo);
      expect(h.code).toBe(0);
      expect(h.id).toBe(0xfedc);
      expect(h.sequence).toBe(0xba98);
      expect(h.isError).toBe(false);
    }
  });

  it('round-trips a fragmentation-needed error with its next-hop MTU', () => {
    const b = new Uint8Array(8 + 28);
    emitIcmp(b, 0, b.length, IcmpType.DestUnreachable, UnreachCode.FragNeeded, 1400);
    const h = parseIcmp(b) as IcmpHeader;
    expect(h.type).toBe(3);
    expect(h.code).toBe(4);
    expect(h.nextHopMtu).toBe(1400);
    expect(h.isError).toBe(true);
  });

  it('decodes at an offset into a reused header', () => {
    const buf = new Uint8Array(64);
    emitIcmp(buf, 20, 16, IcmpType.TimeExceeded, TimeExceededCode.Reassembly, 0);
    const h = new IcmpHeader();
    expect(decodeIcmp(buf, 20, 16, h)).toBeUndefined();
    expect(h.type).toBe(11);
    expect(h.code).toBe(1);
    emitIcmp(buf, 0, 8, IcmpType.EchoReply, 0, echoRest(1, 2));
    expect(decodeIcmp(buf, 0, 8, h)).toBeUndefined();
    expect(h.type).toBe(0);
    expect(h.rest).toBe(0x00010002);
  });

  it('echoRest masks to 16 bits', () => {
    expect(echoRest(0x1ffff, 0x10001)).toBe(0xffff0001);
  });

  it('classifies error types', () => {
    for (const t of [3, 4, 5, 11, 12]) expect(isIcmpError(t)).toBe(true);
    for (const t of [0, 8, 13, 14, 42]) expect(isIcmpError(t)).toBe(false);
  });
});

describe('ICMP errors', () => {
  it('truncated: shorter than 8 bytes or beyond the buffer', () => {
    const b = echo(0);
    for (let n = 0; n < 8; n++) expect(parseIcmp(b.subarray(0, n))).toBe('truncated');
    expect(decodeIcmp(b, 4, 8, new IcmpHeader())).toBe('truncated');
    expect(decodeIcmp(echo(8), -2, 8, new IcmpHeader(), false)).toBe('truncated');
  });

  it('bad-checksum, unless verification is off', () => {
    const b = echo(10);
    b[12] = b[12]! ^ 1;
    expect(parseIcmp(b)).toBe('bad-checksum');
    expect(parseIcmp(b, false)).toBeInstanceOf(IcmpHeader);
  });
});
