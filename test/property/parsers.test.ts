import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';
import { decodeIcmp, emitIcmp, IcmpHeader, parseIcmp } from '../../src/wire/icmp.js';
import { copiedOptions, decodeIpv4, emitIpv4, Ipv4Header, parseIpv4 } from '../../src/wire/ipv4.js';
import { ipPacketOf, PcapWriter, readPcap, type PcapSink } from '../../src/wire/pcap.js';
import {
  decodeTcp,
  emitTcp,
  formatTcp,
  formatTcpOptionBytes,
  parseTcp,
  TcpHeader,
  tcpHeaderLength,
  tcpOptionsLength,
  type TcpEmit,
  type TcpOptions,
} from '../../src/wire/tcp.js';
import { decodeUdp, emitUdp, parseUdp, UdpHeader } from '../../src/wire/udp.js';

const RUNS = { numRuns: 400 };

const bytes = fc.uint8Array({ minLength: 0, maxLength: 120 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
/** Offsets and lengths including nonsense ones (negative, beyond the buffer). */
/** A buffer with an offset and a length that are sometimes sensible and sometimes not (negative, past the end). */
function window(buf: fc.Arbitrary<Uint8Array>): fc.Arbitrary<[Uint8Array, number, number]> {
  return buf.chain((b) =>
    fc.tuple(fc.constant(b), fc.integer({ min: -4, max: b.length + 4 }), fc.integer({ min: -4, max: b.length + 4 })),
  );
}

/** Bytes that look like a header of the given kind more often than pure noise would. */
function headerish(first: fc.Arbitrary<number>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(first, bytes).map(([f, rest]) => Uint8Array.from([f, ...rest]));
}

describe('decoders never throw on random input', () => {
  it('ipv4', () => {
    const h = new Ipv4Header();
    fc.assert(
      fc.property(headerish(fc.integer({ min: 0x40, max: 0x4f })), fc.boolean(), (b, verify) => {
        const err = decodeIpv4(b, h, verify);
        expect(err === undefined || typeof err === 'string').toBe(true);
        parseIpv4(b, verify);
        copiedOptions(b, Math.min(60, b.length));
      }),
      RUNS,
    );
    fc.assert(fc.property(bytes, (b) => void parseIpv4(b)), RUNS);
  });

  it('icmp', () => {
    const h = new IcmpHeader();
    fc.assert(
      fc.property(window(bytes), fc.boolean(), ([b, o, len], verify) => {
        if (decodeIcmp(b, o, len, h, verify) === undefined) {
          // Success means an in-bounds message: every field is a real number.
          expect(o >= 0 && len >= 8 && o + len <= b.length).toBe(true);
          expect([h.type, h.code, h.checksum, h.rest].every(Number.isInteger)).toBe(true);
        }
        parseIcmp(b, verify);
      }),
      RUNS,
    );
  });

  it('udp', () => {
    const h = new UdpHeader();
    fc.assert(
      fc.property(window(bytes), fc.option(u32), ([b, o, len], ps) => {
        if (decodeUdp(b, o, len, h, ps ?? undefined) === undefined) {
          expect(o >= 0 && h.length >= 8 && o + h.length <= b.length).toBe(true);
          expect([h.srcPort, h.dstPort, h.length, h.checksum].every(Number.isInteger)).toBe(true);
        }
        parseUdp(b, 1, 2);
        parseUdp(b);
      }),
      RUNS,
    );
  });

  it('tcp (and formatting whatever decodes)', () => {
    const h = new TcpHeader();
    // Byte 12 with a plausible data offset so the option walker gets exercised.
    const seg = fc
      .tuple(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.integer({ min: 5, max: 15 }), fc.uint8Array({ minLength: 0, maxLength: 80 }))
      .map(([a, off, rest]) => Uint8Array.from([...a, off << 4, ...rest]));
    fc.assert(
      fc.property(window(fc.oneof(seg, bytes)), fc.option(u32), ([b, o, len], ps) => {
        if (decodeTcp(b, o, len, h, ps ?? undefined) === undefined) {
          expect(o >= 0 && h.headerLength >= 20 && h.headerLength + h.payloadLength === len && o + len <= b.length).toBe(true);
          expect([h.seq, h.ack, h.flags, h.window, h.mss, h.wscale, h.tsVal, h.tsEcr, h.sackCount].every(Number.isInteger)).toBe(true);
        }
        const p = parseTcp(b);
        if (typeof p !== 'string') {
          expect(typeof formatTcp(p, { segment: b, ports: true })).toBe('string');
          expect(typeof formatTcp(p)).toBe('string');
        }
        parseTcp(b, 1, 2);
        formatTcpOptionBytes(b, 0, b.length);
        formatTcpOptionBytes(b, 20, b.length + 5);
      }),
      RUNS,
    );
  });

  it('pcap reader, including mangled real files', () => {
    const sink: PcapSink & { out: number[] } = { out: [], write: (c) => void sink.out.push(...c) };
    const w = new PcapWriter(sink);
    w.writePacket(Uint8Array.from([0x45, 0, 0, 20]), 1);
    w.writePacket(new Uint8Array(30), 2);
    w.flush();
    const good = Uint8Array.from(sink.out);
    const mangled = fc
      .tuple(fc.integer({ min: 0, max: good.length }), fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }))
      .map(([cut, edits]) => {
        const b = good.slice(0, cut);
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(bytes, mangled), (b) => {
        const f = readPcap(b);
        if (typeof f !== 'string') for (const p of f.packets) expect(p.data.length).toBeLessThanOrEqual(b.length);
      }),
      RUNS,
    );
  });

  it('ipPacketOf', () => {
    const linktype = fc.oneof(fc.constantFrom(0, 1, 101, 113, 228, 276), u32);
    fc.assert(
      fc.property(linktype, bytes, (lt, b) => {
        const ip = ipPacketOf(lt, b);
        if (ip) expect(ip[0]! >> 4).toBe(4);
      }),
      RUNS,
    );
  });
});

describe('valid headers round-trip', () => {
  it('ipv4', () => {
    const opts = fc.integer({ min: 0, max: 10 }).map((n) => new Uint8Array(n * 4).fill(1)); // NOP options
    fc.assert(
      fc.property(
        fc.record({
          tos: fc.integer({ min: 0, max: 255 }),
          id: u16,
          dontFragment: fc.boolean(),
          moreFragments: fc.boolean(),
          fragmentOffset: fc.integer({ min: 0, max: 0x1fff }).map((x) => x * 8),
          ttl: fc.integer({ min: 0, max: 255 }),
          protocol: fc.integer({ min: 0, max: 255 }),
          src: u32,
          dst: u32,
          payload: fc.integer({ min: 0, max: 64 }),
        }),
        opts,
        (r, options) => {
          const hlen = 20 + options.length;
          const b = new Uint8Array(hlen + r.payload);
          emitIpv4(b, 0, { ...r, totalLength: b.length, options });
          const h = parseIpv4(b);
          if (typeof h === 'string') throw new Error(h);
          expect(h).toMatchObject({
            tos: r.tos,
            id: r.id,
            dontFragment: r.dontFragment,
            moreFragments: r.moreFragments,
            fragmentOffset: r.fragmentOffset,
            ttl: r.ttl,
            protocol: r.protocol,
            src: r.src,
            dst: r.dst,
            headerLength: hlen,
            totalLength: b.length,
          });
        },
      ),
      RUNS,
    );
  });

  it('icmp', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), u32, bytes, (type, code, rest, payload) => {
        const b = new Uint8Array(8 + payload.length);
        b.set(payload, 8);
        emitIcmp(b, 0, b.length, type, code, rest);
        const h = parseIcmp(b);
        if (typeof h === 'string') throw new Error(h);
        expect([h.type, h.code, h.rest]).toEqual([type, code, rest]);
      }),
      RUNS,
    );
  });

  it('udp', () => {
    fc.assert(
      fc.property(u16, u16, u32, u32, bytes, fc.integer({ min: 0, max: 8 }), (sp, dp, src, dst, payload, trailer) => {
        const len = 8 + payload.length;
        const b = new Uint8Array(len + trailer);
        b.set(payload, 8);
        emitUdp(b, 0, sp, dp, len, src, dst);
        const h = new UdpHeader();
        expect(decodeUdp(b, 0, b.length, h, pseudoHeaderSum(src, dst, 17, b.length))).toBeUndefined();
        expect([h.srcPort, h.dstPort, h.length, h.payloadLength]).toEqual([sp, dp, len, payload.length]);
      }),
      RUNS,
    );
  });

  it('tcp with any combination of options', () => {
    const options: fc.Arbitrary<TcpOptions> = fc.record(
      {
        mss: u16,
        wscale: fc.integer({ min: 0, max: 14 }),
        sackPermitted: fc.boolean(),
        ts: fc.record({ val: u32, ecr: u32 }),
        sack: fc.array(u32, { minLength: 2, maxLength: 8 }).map((a) => (a.length % 2 ? a.slice(1) : a)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.record({ srcPort: u16, dstPort: u16, seq: u32, ack: u32, flags: fc.integer({ min: 0, max: 0x1ff }), window: u16, urgent: u16 }),
        options,
        u32,
        u32,
        fc.uint8Array({ maxLength: 40 }),
        (f, opts, src, dst, payload) => {
          const fields: TcpEmit = { ...f, options: opts };
          const hlen = tcpHeaderLength(fields);
          expect(hlen % 4).toBe(0);
          expect(hlen).toBeLessThanOrEqual(60);
          expect(hlen).toBe(20 + tcpOptionsLength(opts));
          const b = new Uint8Array(hlen + payload.length);
          b.set(payload, hlen);
          expect(emitTcp(b, 0, fields, payload.length, src, dst)).toBe(hlen);
          const h = parseTcp(b, src, dst);
          if (typeof h === 'string') throw new Error(h);
          expect(h).toMatchObject({ ...f, headerLength: hlen, payloadLength: payload.length });
          expect(h.mss).toBe(opts.mss ?? 0);
          expect(h.wscale).toBe(opts.wscale ?? -1);
          expect(h.sackPermitted).toBe(opts.sackPermitted ?? false);
          expect(h.tsPresent).toBe(opts.ts !== undefined);
          if (opts.ts) expect([h.tsVal, h.tsEcr]).toEqual([opts.ts.val, opts.ts.ecr]);
          const pairs = opts.sack ? opts.sack.length / 2 : 0;
          expect(h.sackCount).toBeLessThanOrEqual(pairs);
          if (pairs > 0) expect(h.sackCount).toBeGreaterThan(0);
          expect([...h.sackBlocks.subarray(0, 2 * h.sackCount)]).toEqual(opts.sack ? Array.from(opts.sack).slice(0, 2 * h.sackCount) : []);
        },
      ),
      RUNS,
    );
  });

  it('pcap', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(bytes, fc.integer({ min: 0, max: 4_000_000_000_000 })), { maxLength: 20 }), (pkts) => {
        const chunks: Uint8Array[] = [];
        const w = new PcapWriter({ write: (c) => void chunks.push(c) });
        for (const [d, t] of pkts) w.writePacket(d, t);
        w.flush();
        const all = Uint8Array.from(chunks.flatMap((c) => [...c]));
        const f = readPcap(all);
        if (typeof f === 'string') throw new Error(f);
        expect(f.truncated).toBe(false);
        expect(f.packets.length).toBe(pkts.length);
        f.packets.forEach((p, i) => {
          expect([...p.data]).toEqual([...pkts[i]![0]]);
          expect(p.timestampMs).toBe(pkts[i]![1]);
        });
      }),
      { numRuns: 100 },
    );
  });
});
