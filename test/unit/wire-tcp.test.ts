import { describe, it, expect } from 'vitest';
import { internetChecksum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import {
  decodeTcp,
  emitTcp,
  formatTcp,
  formatTcpFlags,
  parseTcp,
  TCP_ACK,
  TCP_AE,
  TCP_CWR,
  TCP_ECE,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
  TCP_URG,
  tcpHeaderLength,
  TcpHeader,
  tcpOptionsLength,
  type TcpEmit,
  type TcpOptions,
} from '../../src/wire/tcp.js';

const SRC = 0x0a4d0001;
const DST = 0x0a4d0002;

/** Builds a segment: payload first (at the header length the options imply), then the header. */
function segment(fields: TcpEmit, payload: number[] = []): Uint8Array {
  const hlen = tcpHeaderLength(fields);
  const b = new Uint8Array(hlen + payload.length);
  b.set(payload, hlen);
  expect(emitTcp(b, 0, fields, payload.length, SRC, DST)).toBe(hlen);
  return b;
}

function base(over: Partial<TcpEmit> = {}): TcpEmit {
  return { srcPort: 40588, dstPort: 8080, seq: 1000, ack: 0, flags: TCP_SYN, window: 65535, ...over };
}

function parsed(b: Uint8Array): TcpHeader {
  const h = parseTcp(b, SRC, DST);
  if (typeof h === 'string') throw new Error(`parse failed: ${h}`);
  return h;
}

/** Option bytes of a segment (after the fixed 20 bytes). */
function optionBytes(b: Uint8Array): number[] {
  return [...b.subarray(20, (b[12]! >> 4) * 4)];
}

const MSS = [2, 4, 0x05, 0xb4]; // mss 1460
const NOP = 1;
const SACKOK = [4, 2];
const WS7 = [NOP, 3, 3, 7];
function ts(val: number, ecr: number): number[] {
  return [8, 10, val >>> 24, (val >>> 16) & 0xff, (val >>> 8) & 0xff, val & 0xff, ecr >>> 24, (ecr >>> 16) & 0xff, (ecr >>> 8) & 0xff, ecr & 0xff];
}
function be32(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

describe('TCP header emit → parse', () => {
  it('round-trips every fixed field, with u32 numbers above 2^31', () => {
    const b = segment(
      base({ srcPort: 1, dstPort: 65535, seq: 0xfffffff0, ack: 0x80000001, flags: TCP_ACK | TCP_PSH | TCP_URG, window: 1234, urgent: 3 }),
      [1, 2, 3, 4, 5],
    );
    const h = parsed(b);
    expect(h).toMatchObject({
      srcPort: 1,
      dstPort: 65535,
      seq: 0xfffffff0,
      ack: 0x80000001,
      dataOffset: 5,
      headerLength: 20,
      flags: TCP_ACK | TCP_PSH | TCP_URG,
      window: 1234,
      urgent: 3,
      payloadOffset: 20,
      payloadLength: 5,
      mss: 0,
      wscale: -1,
      sackPermitted: false,
      tsPresent: false,
      sackCount: 0,
    });
    expect(h.hasAck && h.psh && h.urg).toBe(true);
    expect(h.syn || h.fin || h.rst).toBe(false);
    expect(h.seqLength).toBe(5);
  });

  it('round-trips every flag bit, AE included', () => {
    for (const f of [TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG, TCP_ECE, TCP_CWR, TCP_AE, 0x1ff, 0]) {
      const h = parsed(segment(base({ flags: f })));
      expect(h.flags).toBe(f);
    }
  });

  it('negative and oversized numbers are written as u32', () => {
    const h = parsed(segment(base({ seq: -1, ack: 2 ** 32 + 5, flags: TCP_ACK })));
    expect(h.seq).toBe(0xffffffff);
    expect(h.ack).toBe(5);
  });

  it('SYN and FIN count in the sequence space', () => {
    expect(parsed(segment(base({ flags: TCP_SYN }))).seqLength).toBe(1);
    expect(parsed(segment(base({ flags: TCP_FIN | TCP_ACK }), [1, 2])).seqLength).toBe(3);
  });

  it('writes at an offset and checksums the payload in place', () => {
    const fields = base({ flags: TCP_ACK | TCP_PSH, options: { ts: { val: 5, ecr: 6 } } });
    const hlen = tcpHeaderLength(fields);
    const buf = new Uint8Array(200);
    buf.set([0xde, 0xad, 0xbe], 40 + hlen);
    emitTcp(buf, 40, fields, 3, SRC, DST);
    const h = new TcpHeader();
    const len = hlen + 3;
    expect(decodeTcp(buf, 40, len, h, pseudoHeaderSum(SRC, DST, 6, len))).toBeUndefined();
    expect(h.payloadOffset).toBe(32);
    expect(h.payloadLength).toBe(3);
    expect(h.tsVal).toBe(5);
    expect(internetChecksum(buf, 40, len, pseudoHeaderSum(SRC, DST, 6, len))).toBe(0);
  });
});

describe('TCP options: Linux layouts byte for byte', () => {
  it('SYN without timestamps: <mss,nop,nop,sackOK,nop,wscale>', () => {
    const b = segment(base({ options: { mss: 1460, sackPermitted: true, wscale: 7 } }));
    expect(optionBytes(b)).toEqual([...MSS, NOP, NOP, ...SACKOK, ...WS7]);
    const h = parsed(b);
    expect([h.mss, h.sackPermitted, h.wscale, h.tsPresent]).toEqual([1460, true, 7, false]);
    expect(formatTcp(h, { segment: b })).toBe('S 1000:1000(0) win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 7>');
  });

  it('SYN-ACK with timestamps: <mss,sackOK,TS,nop,wscale>', () => {
    const opts: TcpOptions = { mss: 1460, sackPermitted: true, ts: { val: 1528537852, ecr: 3423336486 }, wscale: 10 };
    const b = segment(base({ flags: TCP_SYN | TCP_ACK, seq: 0, ack: 1, window: 65160, options: opts }));
    expect(optionBytes(b)).toEqual([...MSS, ...SACKOK, ...ts(1528537852, 3423336486), NOP, 3, 3, 10]);
    expect(tcpOptionsLength(opts)).toBe(20);
    const h = parsed(b);
    expect([h.mss, h.sackPermitted, h.tsPresent, h.tsVal, h.tsEcr, h.wscale]).toEqual([1460, true, true, 1528537852, 3423336486, 10]);
    expect(formatTcp(h, { segment: b })).toBe('S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 1528537852 ecr 3423336486,nop,wscale 10>');
    // Without the bytes the decoded options are listed (no padding).
    expect(formatTcp(h)).toBe('S. 0:0(0) ack 1 win 65160 <mss 1460,sackOK,TS val 1528537852 ecr 3423336486,wscale 10>');
  });

  it('SYN with timestamps but no sackOK: <mss,nop,nop,TS,nop,wscale>', () => {
    const b = segment(base({ options: { mss: 1460, ts: { val: 1, ecr: 0 }, wscale: 7 } }));
    expect(optionBytes(b)).toEqual([...MSS, NOP, NOP, ...ts(1, 0), ...WS7]);
  });

  it('SYN with mss only, and mss + wscale', () => {
    expect(optionBytes(segment(base({ options: { mss: 536 } })))).toEqual([2, 4, 2, 0x18]);
    expect(optionBytes(segment(base({ options: { mss: 1460, wscale: 0 } })))).toEqual([...MSS, NOP, 3, 3, 0]);
  });

  it('data/ACK with timestamps: <nop,nop,TS>', () => {
    const b = segment(base({ flags: TCP_ACK, options: { ts: { val: 0xffffffff, ecr: 0x80000000 } } }), [7]);
    expect(optionBytes(b)).toEqual([NOP, NOP, ...ts(0xffffffff, 0x80000000)]);
    const h = parsed(b);
    expect([h.tsVal, h.tsEcr]).toEqual([0xffffffff, 0x80000000]);
  });

  it('timestamps plus SACK blocks: <nop,nop,TS,nop,nop,sack A:B C:D>', () => {
    const sack = Uint32Array.from([5000, 6000, 7000, 0xfffffff0]);
    const b = segment(base({ flags: TCP_ACK, options: { ts: { val: 9, ecr: 8 }, sack } }));
    expect(optionBytes(b)).toEqual([NOP, NOP, ...ts(9, 8), NOP, NOP, 5, 18, ...be32(5000), ...be32(6000), ...be32(7000), ...be32(0xfffffff0)]);
    const h = parsed(b);
    expect(h.sackCount).toBe(2);
    expect([...h.sackBlocks.subarray(0, 4)]).toEqual([5000, 6000, 7000, 0xfffffff0]);
    expect(formatTcp(h, { segment: b })).toBe('. 1000:1000(0) ack 0 win 65535 <nop,nop,TS val 9 ecr 8,nop,nop,sack 5000:6000 7000:4294967280>');
  });

  it('SACK without timestamps: <nop,nop,sack A:B>, 1 to 4 blocks', () => {
    for (let n = 1; n <= 4; n++) {
      const sack = Array.from({ length: 2 * n }, (_, i) => 100 * (i + 1));
      const b = segment(base({ flags: TCP_ACK, options: { sack } }));
      const expected = [NOP, NOP, 5, 2 + 8 * n];
      for (const v of sack) expected.push(...be32(v));
      expect(optionBytes(b)).toEqual(expected);
      const h = parsed(b);
      expect(h.sackCount).toBe(n);
      expect([...h.sackBlocks.subarray(0, 2 * n)]).toEqual(sack);
    }
  });

  it('caps SACK blocks to the space left (3 with timestamps, 4 without) and honours sackCount', () => {
    const sack = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(tcpOptionsLength({ sack })).toBe(4 + 32);
    expect(tcpOptionsLength({ sack, ts: { val: 0, ecr: 0 } })).toBe(12 + 4 + 24);
    expect(parsed(segment(base({ flags: TCP_ACK, options: { sack, ts: { val: 0, ecr: 0 } } }))).sackCount).toBe(3);
    expect(parsed(segment(base({ flags: TCP_ACK, options: { sack, sackCount: 1 } }))).sackCount).toBe(1);
    expect(tcpOptionsLength({ sack, sackCount: 0 })).toBe(0);
  });

  it('a connection can reuse one options object for every segment', () => {
    const tsv = { val: 0, ecr: 0 };
    const sack = new Uint32Array(8);
    const opts: TcpOptions = { ts: tsv, sack, sackCount: 0 };
    tsv.val = 100;
    expect(parsed(segment(base({ flags: TCP_ACK, options: opts }))).tsVal).toBe(100);
    tsv.val = 101;
    sack[0] = 10;
    sack[1] = 20;
    opts.sackCount = 1;
    const h = parsed(segment(base({ flags: TCP_ACK, options: opts })));
    expect([h.tsVal, h.sackCount, h.sackBlocks[0], h.sackBlocks[1]]).toEqual([101, 1, 10, 20]);
    opts.ts = undefined;
    opts.sackCount = 0;
    expect(tcpOptionsLength(opts)).toBe(0);
  });

  it('raw option bytes are written verbatim', () => {
    const raw = Uint8Array.from([NOP, ...MSS, NOP, NOP, 0]);
    const b = segment(base({ rawOptions: raw, options: { mss: 9 } }));
    expect(optionBytes(b)).toEqual([...raw]);
    const h = parsed(b);
    expect(h.mss).toBe(1460);
    expect(formatTcp(h, { segment: b })).toBe('S 1000:1000(0) win 65535 <nop,mss 1460,nop,nop,eol>');
  });
});

describe('TCP option parsing', () => {
  function withOptions(opts: number[], payload: number[] = []): Uint8Array {
    return segment(base({ flags: TCP_ACK, rawOptions: Uint8Array.from(opts) }), payload);
  }

  it('EOL stops the walk (garbage after it is ignored)', () => {
    const h = parsed(withOptions([0, 2, 0, 0, 0xff, 0xff, 0xff, 0xff]));
    expect(h.mss).toBe(0);
    expect(h.headerLength).toBe(28);
  });

  it('unknown kinds are skipped by their length', () => {
    const h = parsed(withOptions([30, 6, 1, 2, 3, 4, ...MSS, 99, 2, NOP, NOP]));
    expect(h.mss).toBe(1460);
  });

  it('a known option with the wrong length is skipped, and parsing goes on', () => {
    const h = parsed(
      withOptions([
        2, 5, 1, 2, 3, // mss with length 5
        3, 4, 9, 9, // wscale with length 4
        4, 3, 0, // sackOK with length 3
        8, 6, 1, 2, 3, 4, // TS with length 6
        5, 6, 1, 2, 3, 4, // SACK with a partial block
        3, 3, 5, // a valid wscale after all that
        NOP, NOP, NOP,
      ]),
    );
    expect([h.mss, h.sackPermitted, h.tsPresent, h.sackCount, h.wscale]).toEqual([0, false, false, 0, 5]);
  });

  it('wscale is reported as received (above 14 too)', () => {
    expect(parsed(withOptions([NOP, 3, 3, 15])).wscale).toBe(15);
  });

  it('resets option fields between decodes into the same header', () => {
    const h = new TcpHeader();
    const a = segment(base({ options: { mss: 1460, sackPermitted: true, wscale: 7, ts: { val: 1, ecr: 2 }, sack: [1, 2] } }));
    expect(decodeTcp(a, 0, a.length, h)).toBeUndefined();
    expect(h.sackCount).toBe(1);
    const b = segment(base({ flags: TCP_ACK }));
    expect(decodeTcp(b, 0, b.length, h)).toBeUndefined();
    expect([h.mss, h.wscale, h.sackPermitted, h.tsPresent, h.sackCount]).toEqual([0, -1, false, false, 0]);
    const c = withOptions([NOP, NOP, NOP, NOP]);
    expect(decodeTcp(a, 0, a.length, h)).toBeUndefined();
    expect(decodeTcp(c, 0, c.length, h)).toBeUndefined();
    expect([h.mss, h.wscale, h.sackPermitted, h.tsPresent, h.sackCount]).toEqual([0, -1, false, false, 0]);
  });

  it('bad-options: length < 2, running past the header, kind without a length byte', () => {
    for (const o of [
      [2, 1, 0, 0],
      [2, 0, 0, 0],
      [NOP, 2, 4, 5],
      [NOP, NOP, NOP, 2],
      [8, 10, 0, 0, 0, 0, 0, 0],
    ]) {
      expect(parseTcp(withOptions(o, [1, 2, 3, 4, 5, 6, 7, 8]), SRC, DST), JSON.stringify(o)).toBe('bad-options');
    }
  });
});

describe('TCP errors', () => {
  it('truncated: fewer than 20 bytes or beyond the buffer', () => {
    const b = segment(base());
    for (let n = 0; n < 20; n++) expect(parseTcp(b.subarray(0, n))).toBe('truncated');
    expect(decodeTcp(b, 1, 20, new TcpHeader())).toBe('truncated');
    expect(decodeTcp(b, -1, 20, new TcpHeader())).toBe('truncated');
  });

  it('bad-data-offset: below 5 or beyond the segment', () => {
    for (const off of [0, 1, 4]) {
      const b = segment(base(), [1, 2, 3, 4]);
      b[12] = off << 4;
      expect(parseTcp(b)).toBe('bad-data-offset');
    }
    const b = segment(base(), [1, 2, 3]);
    b[12] = 6 << 4; // 24-byte header in a 23-byte segment
    expect(parseTcp(b)).toBe('bad-data-offset');
    b[12] = 15 << 4;
    expect(parseTcp(b)).toBe('bad-data-offset');
  });

  it('bad-checksum: payload, header or pseudo-header changed', () => {
    const b = segment(base({ flags: TCP_ACK, options: { ts: { val: 1, ecr: 2 } } }), [1, 2, 3]);
    expect(parseTcp(b, SRC, DST)).toBeInstanceOf(TcpHeader);
    const p = b.slice();
    p[p.length - 1] = p[p.length - 1]! ^ 4;
    expect(parseTcp(p, SRC, DST)).toBe('bad-checksum');
    const q = b.slice();
    q[25] = q[25]! ^ 1;
    expect(parseTcp(q, SRC, DST)).toBe('bad-checksum');
    expect(parseTcp(b, SRC + 1, DST)).toBe('bad-checksum');
    // Not verified without addresses.
    expect(parseTcp(p)).toBeInstanceOf(TcpHeader);
  });
});

describe('formatTcp', () => {
  it('flags in packetdrill notation', () => {
    expect(formatTcpFlags(TCP_SYN | TCP_ACK)).toBe('S.');
    expect(formatTcpFlags(TCP_FIN | TCP_PSH | TCP_ACK)).toBe('FP.');
    expect(formatTcpFlags(TCP_RST)).toBe('R');
    expect(formatTcpFlags(TCP_SYN | TCP_ECE | TCP_CWR)).toBe('SEW');
    expect(formatTcpFlags(0)).toBe('-');
  });

  it('payload, relative numbers, ports, urgent', () => {
    const b = segment(base({ seq: 1001, ack: 5001, flags: TCP_ACK | TCP_PSH | TCP_URG, window: 257, urgent: 2 }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const h = parsed(b);
    expect(formatTcp(h)).toBe('P.U 1001:1011(10) ack 5001 win 257 urg 2');
    expect(formatTcp(h, { ports: true, seqBase: 1000, ackBase: 5000 })).toBe('40588>8080 P.U 1:11(10) ack 1 win 257 urg 2');
    expect(formatTcp(parsed(segment(base({ seq: 5, flags: TCP_ACK })) ), { seqBase: 10 })).toBe('. 4294967291:4294967291(0) ack 0 win 65535');
  });
});
