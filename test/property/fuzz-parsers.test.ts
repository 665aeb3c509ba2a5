/**
 * Fuzzing every parser (issue 9, item 1): random bytes and mutated valid
 * inputs into IPv4, ICMP, UDP, TCP (+ options), DNS, the pcap reader, the
 * packetdrill-dialect script parser, the --impair spec parser and the
 * control-channel request parser. Nothing may throw (the script parser may
 * only throw its own ScriptSyntaxError), and what a parser accepts must be
 * self-consistent (in bounds, round-trips where an emitter exists).
 *
 * Seeded and bounded: see test/adversarial/fuzz-kit.ts (FUZZ_SEED, FUZZ_RUNS,
 * FUZZ_REPORT).
 */
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeIpv4, emitIpv4, Ipv4Header, copiedOptions } from '../../src/wire/ipv4.js';
import { decodeIcmp, emitIcmp, IcmpHeader, echoRest } from '../../src/wire/icmp.js';
import { decodeUdp, emitUdp, UdpHeader } from '../../src/wire/udp.js';
import { decodeTcp, emitTcp, formatTcp, formatTcpOptionBytes, TcpHeader, tcpHeaderLength, type TcpEmit } from '../../src/wire/tcp.js';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';
import { readPcap, ipPacketOf, PcapWriter, type PcapSink } from '../../src/wire/pcap.js';
import { DnsResponder, encodeName, reverseName, type DnsZone } from '../../src/services/dns.js';
import { parseScript } from '../../src/conform/parse.js';
import { ScriptSyntaxError } from '../../src/conform/ast.js';
import { parseImpairSpec, formatImpairSpec } from '../../src/link/impair-spec.js';
import { parseRequest } from '../../src/control/protocol.js';
import { bytes, fixChecksums, fuzz, mutate, mutation, reportExecutions } from '../adversarial/fuzz-kit.js';

afterAll(() => reportExecutions('parsers'));

const SRC = 0x0a4d0001;
const DST = 0x0a4d0002;
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const mutations = fc.array(mutation, { minLength: 1, maxLength: 6 });

// ---------------------------------------------------------------- valid seeds

/** Raw IPv4 options that are well formed (NOP, EOL, and TLVs with honest lengths), padded to 4. */
const ipOptions = fc
  .array(fc.oneof(fc.constant([1]), fc.constant([0]), bytes(6).map((d) => [7, d.length + 2, ...d])), { maxLength: 6 })
  .map((parts) => {
    const flat = parts.flat().slice(0, 40);
    while (flat.length % 4 !== 0) flat.push(0);
    return Uint8Array.from(flat);
  });

function ipv4(payload: Uint8Array, protocol: number, options: Uint8Array, frag: { mf: boolean; off: number } = { mf: false, off: 0 }): Uint8Array {
  const hl = 20 + options.length;
  const b = new Uint8Array(hl + payload.length);
  b.set(payload, hl);
  emitIpv4(b, 0, { totalLength: b.length, id: 7, dontFragment: false, moreFragments: frag.mf, fragmentOffset: frag.off, ttl: 64, protocol, src: SRC, dst: DST, ...(options.length ? { options } : {}) });
  return b;
}

const validIpv4 = fc.tuple(bytes(64), fc.integer({ min: 0, max: 255 }), ipOptions).map(([p, proto, o]) => ipv4(p, proto, o));

const tcpEmit: fc.Arbitrary<TcpEmit> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0x1ff }),
  window: u16,
  urgent: u16,
  options: fc.option(
    fc.record({
      mss: fc.option(u16, { nil: undefined }),
      wscale: fc.option(fc.integer({ min: 0, max: 14 }), { nil: undefined }),
      sackPermitted: fc.boolean(),
      ts: fc.option(fc.record({ val: u32, ecr: u32 }), { nil: undefined }),
      sack: fc.option(fc.array(u32, { maxLength: 8 }).map((a) => (a.length % 2 ? a.slice(1) : a)), { nil: undefined }),
    }),
    { nil: undefined },
  ),
  rawOptions: fc.constant(undefined),
});

function tcpSegment(f: TcpEmit, payload: Uint8Array): Uint8Array {
  const hl = tcpHeaderLength(f);
  const seg = new Uint8Array(hl + payload.length);
  seg.set(payload, hl);
  emitTcp(seg, 0, f, payload.length, SRC, DST);
  return seg;
}

/** Option bytes with every malformation: length 0/1, beyond the header, repeated kinds, unknown kinds, wrong lengths. */
const hostileOptions = fc
  .array(
    fc.oneof(
      fc.constantFrom([0], [1], [2, 0], [2, 1], [3, 1], [8, 0], [5, 1], [2, 4, 5, 180], [3, 3, 255], [4, 2], [4, 3, 0], [8, 10, 1, 2, 3, 4, 5, 6, 7, 8], [5, 255], [2, 40]),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), bytes(10)).map(([k, l, d]) => [k, l, ...d]),
    ),
    { maxLength: 10 },
  )
  .map((parts) => {
    const flat = parts.flat().slice(0, 40);
    while (flat.length % 4 !== 0) flat.push(1);
    return Uint8Array.from(flat);
  });

// ---------------------------------------------------------------- IPv4

describe('fuzz: IPv4 header parser', () => {
  const h = new Ipv4Header();
  const check = (b: Uint8Array, verify: boolean): void => {
    const err = decodeIpv4(b, h, verify);
    if (err === undefined) {
      expect(h.headerLength).toBeGreaterThanOrEqual(20);
      expect(h.headerLength).toBeLessThanOrEqual(h.totalLength);
      expect(h.totalLength).toBeLessThanOrEqual(b.length);
      expect(h.fragmentOffset % 8).toBe(0);
      copiedOptions(b, h.headerLength);
    } else expect(typeof err).toBe('string');
  };
  it('random bytes (version nibble biased to 4)', () => {
    const arb = fc.tuple(fc.integer({ min: 0x40, max: 0x4f }), bytes(120), fc.boolean()).map(([f, r, v]) => [Uint8Array.from([f, ...r]), v] as const);
    fuzz('ipv4.random', arb, ([b, v]) => check(b, v), 3000);
  });
  it('mutated valid headers (checksum repaired half of the time)', () => {
    fuzz(
      'ipv4.mutated',
      fc.tuple(validIpv4, mutations, fc.boolean()),
      ([p, ms, fix]) => {
        const b = mutate(p, ms);
        check(fix ? fixChecksums(b) : b, true);
      },
      3000,
    );
  });
});

// ---------------------------------------------------------------- ICMP

describe('fuzz: ICMP parser', () => {
  const h = new IcmpHeader();
  it('random windows and mutated messages', () => {
    const msg = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), u32, bytes(64)).map(([t, c, rest, data]) => {
      const b = new Uint8Array(8 + data.length);
      b.set(data, 8);
      emitIcmp(b, 0, b.length, t, c, rest);
      return b;
    });
    fuzz(
      'icmp',
      fc.tuple(fc.oneof(bytes(100), msg.chain((m) => mutations.map((ms) => mutate(m, ms))), msg), fc.integer({ min: -4, max: 120 }), fc.integer({ min: -4, max: 120 }), fc.boolean()),
      ([b, o, len, verify]) => {
        if (decodeIcmp(b, o, len, h, verify) === undefined) {
          expect(o >= 0 && len >= 8 && o + len <= b.length).toBe(true);
        }
        decodeIcmp(b, 0, b.length, h, true);
      },
      3000,
    );
  });
  it('a valid echo request parses with its id and sequence', () => {
    fuzz('icmp.echo', fc.tuple(u16, u16, bytes(64)), ([id, seq, data]) => {
      const b = new Uint8Array(8 + data.length);
      b.set(data, 8);
      emitIcmp(b, 0, b.length, 8, 0, echoRest(id, seq));
      expect(decodeIcmp(b, 0, b.length, h)).toBeUndefined();
      expect([h.type, h.id, h.sequence]).toEqual([8, id, seq]);
    }, 500);
  });
});

// ---------------------------------------------------------------- UDP

describe('fuzz: UDP parser', () => {
  const h = new UdpHeader();
  it('random and mutated datagrams, with and without checksum verification', () => {
    const dgram = fc.tuple(u16, u16, bytes(64)).map(([sp, dp, data]) => {
      const b = new Uint8Array(8 + data.length);
      b.set(data, 8);
      emitUdp(b, 0, sp, dp, b.length, SRC, DST);
      return b;
    });
    fuzz(
      'udp',
      fc.tuple(fc.oneof(bytes(80), dgram.chain((d) => mutations.map((ms) => mutate(d, ms))), dgram), fc.boolean()),
      ([b, verify]) => {
        const err = decodeUdp(b, 0, b.length, h, verify ? pseudoHeaderSum(SRC, DST, 17, b.length) : undefined);
        if (err === undefined) {
          expect(h.length).toBeGreaterThanOrEqual(8);
          expect(h.length).toBeLessThanOrEqual(b.length);
          expect(h.payloadLength).toBe(h.length - 8);
        }
      },
      3000,
    );
  });
});

// ---------------------------------------------------------------- TCP + options

describe('fuzz: TCP header and option parser', () => {
  const h = new TcpHeader();
  const check = (seg: Uint8Array, verify: boolean): void => {
    const err = decodeTcp(seg, 0, seg.length, h, verify ? pseudoHeaderSum(SRC, DST, 6, seg.length) : undefined);
    if (err === undefined) {
      expect(h.headerLength).toBeGreaterThanOrEqual(20);
      expect(h.headerLength).toBeLessThanOrEqual(seg.length);
      expect(h.payloadLength).toBe(seg.length - h.headerLength);
      expect(h.sackCount).toBeGreaterThanOrEqual(0);
      expect(h.sackCount).toBeLessThanOrEqual(4);
      expect(h.wscale).toBeGreaterThanOrEqual(-1);
      expect(h.wscale).toBeLessThanOrEqual(255);
      expect(h.mss).toBeLessThanOrEqual(0xffff);
      formatTcp(h);
    }
    formatTcpOptionBytes(seg, 20, Math.min(seg.length, 60));
    formatTcpOptionBytes(seg, 0, seg.length + 8);
  };
  it('random headers with hostile option bytes (length 0/1, past the header, repeated, unknown)', () => {
    const arb = fc.tuple(tcpEmit, hostileOptions, bytes(32), fc.boolean()).map(([f, raw, p, v]) => [tcpSegment({ ...f, options: undefined, rawOptions: raw }, p), v] as const);
    fuzz('tcp.hostile-options', arb, ([seg, v]) => check(v ? seg : seg, v), 4000);
  });
  it('mutated valid segments', () => {
    fuzz('tcp.mutated', fc.tuple(tcpEmit, bytes(32), mutations), ([f, p, ms]) => check(mutate(tcpSegment(f, p), ms), false), 4000);
  });
  it('pure noise', () => {
    fuzz('tcp.random', bytes(80), (b) => check(b, false), 2000);
  });
  it('valid segments round-trip through emit and decode', () => {
    fuzz(
      'tcp.roundtrip',
      fc.tuple(tcpEmit, bytes(32)),
      ([f, p]) => {
        const seg = tcpSegment(f, p);
        expect(decodeTcp(seg, 0, seg.length, h, pseudoHeaderSum(SRC, DST, 6, seg.length))).toBeUndefined();
        expect([h.srcPort, h.dstPort, h.seq, h.ack, h.flags, h.window]).toEqual([f.srcPort, f.dstPort, f.seq >>> 0, f.flags & 0x10 ? f.ack >>> 0 : h.ack, f.flags, f.window]);
        if (f.options?.mss !== undefined) expect(h.mss).toBe(f.options.mss);
        if (f.options?.ts) expect([h.tsPresent, h.tsVal, h.tsEcr]).toEqual([true, f.options.ts.val >>> 0, f.options.ts.ecr >>> 0]);
        expect(h.payloadLength).toBe(p.length);
      },
      1000,
    );
  });
});

// ---------------------------------------------------------------- DNS

describe('fuzz: DNS responder (query parser)', () => {
  const name = encodeName('tunstack.test') as Uint8Array;
  const zone: DnsZone = { names: [name], reverse: [reverseName(DST)], addressFor: () => DST };
  const r = new DnsResponder(zone);
  const query = fc
    .tuple(u16, fc.constantFrom('tunstack.test', 'TunStack.Test', 'x.test', '2.0.77.10.in-addr.arpa', 'a'.repeat(63) + '.b'), fc.constantFrom(1, 12, 255, 28, 0), fc.boolean(), fc.integer({ min: 0, max: 3 }))
    .map(([id, n, type, edns, ver]) => {
      const qn = encodeName(n) as Uint8Array;
      const q = new Uint8Array(12 + qn.length + 4 + (edns ? 11 : 0));
      q[0] = id >> 8;
      q[1] = id & 0xff;
      q[2] = 1;
      q[5] = 1;
      q[11] = edns ? 1 : 0;
      q.set(qn, 12);
      let o = 12 + qn.length;
      q[o + 1] = type;
      q[o + 3] = 1;
      o += 4;
      if (edns) q.set([0, 0, 41, 0x10, 0, 0, ver, 0, 0, 0, 0], o);
      return q;
    });
  /** Compression pointers aimed everywhere, including at themselves and forwards. */
  const pointerSoup = fc.tuple(query, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0x3fff })), { minLength: 1, maxLength: 4 })).map(([q, ps]) => {
    const b = q.slice();
    for (const [at, target] of ps) {
      const i = 12 + (at % Math.max(1, b.length - 13));
      b[i] = 0xc0 | (target >> 8);
      b[i + 1] = target & 0xff;
    }
    return b;
  });
  it('random, mutated and pointer-laden queries: an answer in bounds or a drop reason, never an exception', () => {
    fuzz(
      'dns',
      fc.oneof(bytes(300), query.chain((q) => mutations.map((ms) => mutate(q, ms))), pointerSoup, query),
      (q) => {
        const t0 = performance.now();
        const out = r.respond(q, SRC);
        expect(performance.now() - t0).toBeLessThan(1000);
        if (typeof out === 'string') {
          expect(['dns.short', 'dns.response']).toContain(out);
          return;
        }
        expect(out.length).toBeGreaterThanOrEqual(12);
        expect(out.length).toBeLessThanOrEqual(4096);
        expect([out[0], out[1]]).toEqual([q[0], q[1]]);
        expect(out[2]! & 0x80).toBe(0x80); // a response
      },
      4000,
    );
  });
});

// ---------------------------------------------------------------- pcap

describe('fuzz: pcap reader and frame decapsulation', () => {
  const file = fc.tuple(fc.array(bytes(80), { maxLength: 6 }), fc.constantFrom(1, 101, 113, 228, 276, 0)).map(([pkts, lt]) => {
    const parts: Uint8Array[] = [];
    const sink: PcapSink = { write: (c) => void parts.push(c.slice()) };
    const w = new PcapWriter(sink, { linktype: lt });
    pkts.forEach((p, i) => w.writePacket(p, 1_700_000_000_000 + i));
    w.close();
    return Uint8Array.from(Buffer.concat(parts));
  });
  it('random, mutated and valid files: never throws, every record inside the input', () => {
    fuzz(
      'pcap',
      fc.oneof(bytes(200), file.chain((f) => mutations.map((ms) => mutate(f, ms))), file),
      (b) => {
        const r = readPcap(b);
        if (typeof r === 'string') return;
        for (const p of r.packets) {
          expect(p.data.byteOffset - b.byteOffset + p.data.length).toBeLessThanOrEqual(b.length);
          for (const lt of [r.linktype, 1, 101, 113, 228, 276]) {
            const ipb = ipPacketOf(lt, p.data);
            if (ipb !== undefined) expect(ipb.length).toBeLessThanOrEqual(p.data.length);
          }
        }
      },
      3000,
    );
  });
});

// ---------------------------------------------------------------- conformance scripts

function pktFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...pktFiles(p));
    else if (e.endsWith('.pkt')) out.push(p);
  }
  return out;
}

describe('fuzz: packetdrill-dialect script parser', () => {
  const root = fileURLToPath(new URL('../conformance', import.meta.url));
  const scripts = pktFiles(root).map((f) => readFileSync(f, 'utf8'));
  const fallback = '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n+0 < S 0:0(0) win 1000 <mss 1000,sackOK,nop,nop,TS val 1 ecr 0,nop,wscale 7>\n+0 > S. 0:0(0) ack 1 <...>\n';
  const corpus = scripts.length > 0 ? scripts : [fallback];
  const tokens = ['0', '+0', '+0.1', '-', '~', '<', '>', 'S', 'S.', 'F.', 'R', '.', 'P.', '1:1(0)', 'ack', 'win', '<mss', '1460>', 'sackOK', 'TS', 'val', 'ecr', 'nop', 'wscale', ',', '(', ')', '[', ']', '{', '}', '%{', '}%', '`', '"', '/*', '*/', '//', '\n', ' ', 'socket(', '...', '=', '-1', 'EAGAIN', 'icmp', 'unreachable', 'port', '--tolerance_usecs=', 'sysctl', '\\', '\t', '0x', '99999999999999999999', '1e309', 'NaN'];
  const textArb = fc.oneof(
    fc.array(fc.constantFrom(...tokens), { maxLength: 40 }).map((t) => t.join('')),
    fc.tuple(fc.constantFrom(...corpus), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...tokens)), { minLength: 1, maxLength: 5 })).map(([s, edits]) => {
      let t = s;
      for (const [at, del, ins] of edits) {
        const i = at % (t.length + 1);
        t = t.slice(0, i) + ins + t.slice(i + (del % 6));
      }
      return t;
    }),
    fc.string({ maxLength: 200 }),
  );
  it('random and mutated scripts: a Script or a ScriptSyntaxError, nothing else', () => {
    fuzz(
      'conform.parseScript',
      textArb,
      (text) => {
        const t0 = performance.now();
        try {
          const s = parseScript(text);
          expect(s).toBeTypeOf('object');
        } catch (e) {
          if (!(e instanceof ScriptSyntaxError)) throw new Error(`parseScript threw ${(e as Error)?.name}: ${(e as Error)?.message} for ${JSON.stringify(text)}`);
        }
        expect(performance.now() - t0).toBeLessThan(1000);
      },
      3000,
    );
  });
});

// ---------------------------------------------------------------- impair spec, control requests

describe('fuzz: --impair spec and control-request parsers', () => {
  const words = ['loss', 'delay', 'jitter', 'reorder', 'duplicate', 'corrupt', 'rate', 'limit', 'seed', 'in:', 'out:', '=', ',', '%', 'ms', 's', 'us', 'mbit', 'kbit', 'bit', 'gbit', '1', '0', '100', '1e400', '-5', '0.5', 'NaN', '', ' '];
  it('impair specs: parsed or {error}; what parses formats and re-parses to the same spec', () => {
    fuzz(
      'impair-spec',
      fc.oneof(fc.array(fc.constantFrom(...words), { maxLength: 24 }).map((w) => w.join('')), fc.string({ maxLength: 60 })),
      (text) => {
        const s = parseImpairSpec(text);
        if ('error' in s) {
          expect(typeof s.error).toBe('string');
          return;
        }
        const again = parseImpairSpec(formatImpairSpec(s));
        expect(again).toEqual(s);
      },
      3000,
    );
  });
  it('control requests: a request or an Error', () => {
    const json = fc.oneof(
      fc.json(),
      fc.record({ cmd: fc.constantFrom('info', 'stats', 'sockets', 'capture', 'x', ''), action: fc.oneof(fc.constantFrom('start', 'stop', 'status'), fc.string()), file: fc.oneof(fc.string(), fc.integer()) }).map((o) => JSON.stringify(o)),
      fc.string({ maxLength: 80 }),
    );
    fuzz('control.parseRequest', json, (line) => {
      const r = parseRequest(line);
      expect(r instanceof Error || typeof (r as { cmd: string }).cmd === 'string').toBe(true);
    }, 3000);
  });
});
