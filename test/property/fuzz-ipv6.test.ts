/**
 * Fuzzing the IPv6 parsers and input path at the depth of IPv4's (fuzz-parsers, fuzz-input-path,
 * reasm-fragments): the fixed header, the extension-header walk (chains that never end, lengths past the
 * packet, routing type 0, options of every kind), ICMPv6 (errors quoting anything, Packet Too Big of any
 * MTU), UDP over IPv6, and fragments (overlapping, duplicated, split header chains, tiny, past 65,535).
 * After every packet: nothing escaped, the packet was accounted for (a drop reason, a delivery or a queued
 * fragment), reassembly memory under its caps, everything sent well formed and within the link MTU.
 * Properties: any permutation of a datagram's fragments (with duplicates) rebuilds it once; the fragmenter's
 * output rebuilds its input for any MTU.
 *
 * Seeded and bounded: see test/adversarial/fuzz-kit.ts (FUZZ_SEED, FUZZ_RUNS, FUZZ_REPORT).
 */
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { startUdpEcho } from '../../src/services/udp-echo.js';
import { startDns } from '../../src/services/dns.js';
import { fragmentDatagram6 } from '../../src/ip/fragmenter6.js';
import { ChainEnd, IPV6_HEADER, Ipv6Header, NextHeader, decodeIpv6, emitIpv6, skipExtensionHeaders } from '../../src/wire/ipv6.js';
import { Icmp6Type, finishIcmp6, icmp6ChecksumOk } from '../../src/wire/icmp6.js';
import { emitUdp6 } from '../../src/wire/udp.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { PEER6, STACK6, cut6, echo6, join6, packet6 } from '../helpers/frag6.js';
import { bytes, fuzz, mutate, mutation, reportExecutions } from '../adversarial/fuzz-kit.js';

afterAll(() => reportExecutions('ipv6'));

/** Room for long runs (FUZZ_RUNS=100000); the default sizes take seconds. */
const LONG_TIMEOUT = 600_000;

const mutations = fc.array(mutation, { minLength: 1, maxLength: 6 });
const NH = fc.constantFrom(0, 6, 17, 43, 44, 58, 59, 60, 132, 255);

/** An extension header of type-agnostic shape: next header, length in 8-byte units, body (options, routing fields). */
const extHeader = fc.tuple(NH, fc.integer({ min: 0, max: 3 }), bytes(30)).map(([nh, len, body]) => {
  const h = new Uint8Array((len + 1) * 8);
  h[0] = nh;
  h[1] = len;
  h.set(body.subarray(0, h.length - 2), 2);
  return h;
});

/** A chain: its first type, then headers; the last names an upper layer (or not, as the fuzz decides). */
const chain = fc.tuple(fc.constantFrom(0, 43, 60, 44), fc.array(extHeader, { maxLength: 6 }), fc.oneof(bytes(64), fc.constant(new Uint8Array(0))));

function chainPacket([first, headers, tail]: [number, Uint8Array[], Uint8Array]): Uint8Array {
  const total = headers.reduce((n, h) => n + h.length, 0) + tail.length;
  const payload = new Uint8Array(total);
  let o = 0;
  for (const h of headers) {
    payload.set(h, o);
    o += h.length;
  }
  payload.set(tail, o);
  return packet6({ nextHeader: first, payload });
}

function udpPacket(sport: number, dport: number, data: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  u.set(data, 8);
  emitUdp6(u, 0, sport, dport, u.length, PEER6, STACK6);
  return packet6({ nextHeader: NextHeader.Udp, payload: u });
}

function icmpError(type: number, code: number, param: number, quote: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + quote.length);
  m[4] = param >>> 24;
  m[5] = (param >>> 16) & 0xff;
  m[6] = (param >>> 8) & 0xff;
  m[7] = param & 0xff;
  m.set(quote, 8);
  finishIcmp6(m, 0, m.length, type, code, PEER6, STACK6);
  return packet6({ nextHeader: NextHeader.Icmp6, payload: m });
}

/** Valid packets of every kind the stack handles, to mutate. */
const validPacket: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), bytes(200)).map(([id, d]) => echo6(id, 1, d)),
  fc.tuple(fc.constantFrom(7, 53, 9, 33434), bytes(80)).map(([p, d]) => udpPacket(40000, p, d)),
  fc.tuple(fc.constantFrom(1, 2, 3, 4), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 70000 }), bytes(80)).map(([t, c, param, d]) => icmpError(t, c, param, udpPacket(7, 40000, d))),
  chain.map(chainPacket),
);

/** Fragments of valid packets: cut anywhere (aligned or not), some overlapping, with chosen identifications. */
const fragments: fc.Arbitrary<Uint8Array[]> = fc
  .tuple(validPacket, fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), fc.boolean()), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 3 }))
  .map(([p, cuts, id]) => {
    const len = p.length - IPV6_HEADER;
    const pieces = cuts.map(([off, n, more]) => {
      const o = Math.min(off, len) & ~(off % 3 === 0 ? 0 : 7);
      return [o, Math.min(n, len - o), more] as const;
    });
    return cut6(p, pieces, id);
  });

const input: fc.Arbitrary<Uint8Array[]> = fc.oneof(
  fc.tuple(validPacket, mutations).map(([p, ms]) => [mutate(p, ms)]),
  validPacket.map((p) => [p]),
  fragments,
  fc.tuple(fragments, mutations).map(([fs, ms]) => fs.map((f, i) => (i === 0 ? mutate(f, ms) : f))),
  bytes(120).map((b) => [Uint8Array.from([0x60, ...b])]),
);

class Target6 {
  readonly clock = new VirtualClock(1000);
  readonly stack: Stack;
  readonly link = new CaptureLink(1500);
  private readonly stops: (() => void)[] = [];
  constructor(reassembly: { maxTotalBytes: number; maxDatagrams: number } = { maxTotalBytes: 64 * 1024, maxDatagrams: 16 }) {
    this.stack = new Stack({ clock: this.clock, autoFlush: false, reassembly: { ...reassembly, timeoutMs: 5000 } });
    const iface = this.stack.addInterface(this.link, '10.77.0.2/24', { defaultRoute: true });
    this.stack.addAddress6(iface, 'fd77::2/64', { defaultRoute: true });
    this.stops.push(startUdpEcho(this.stack), startDns(this.stack));
    this.caps = reassembly;
  }
  private readonly caps: { maxTotalBytes: number; maxDatagrams: number };
  private readonly h = new Ipv6Header();
  /** What the stack sent since the last `take()` (checked as it leaves). */
  private sent: Uint8Array[] = [];

  take(): Uint8Array[] {
    const out = this.sent;
    this.sent = [];
    return out;
  }

  private accounted(): number {
    const s = this.stack.stats;
    let drops = 0;
    for (const v of Object.values(s.drops)) drops += v;
    return drops + s.Ip6.InDelivers + s.Ip6.ReasmReqds;
  }

  inject(p: Uint8Array): void {
    const before = this.accounted();
    this.stack.receiveBatch(this.stack.interfaces[0]!, [p], 1);
    expect(this.accounted()).toBeGreaterThan(before);
    this.checkCaps();
  }

  advance(ms: number): void {
    this.clock.advance(ms);
    this.stack.runTimers();
    this.checkCaps();
  }

  private checkCaps(): void {
    const r = this.stack.ip6.reassembler;
    expect(r.memory).toBeLessThanOrEqual(this.caps.maxTotalBytes);
    expect(r.pendingCount).toBeLessThanOrEqual(this.caps.maxDatagrams);
    for (const out of this.link.take()) {
      this.sent.push(out);
      expect(out.length).toBeLessThanOrEqual(1500);
      if (out[0]! >> 4 !== 6) continue;
      expect(decodeIpv6(out, this.h)).toBeUndefined();
      if (this.h.nextHeader === NextHeader.Icmp6) {
        expect(icmp6ChecksumOk(out, IPV6_HEADER, out.length - IPV6_HEADER, this.h.src, this.h.dst)).toBe(true);
        // never an error about an error: what it quotes is not an ICMPv6 error message
        if (out[IPV6_HEADER]! < 128 && out.length >= IPV6_HEADER + 8 + IPV6_HEADER + 1 && out[IPV6_HEADER + 8 + 6] === NextHeader.Icmp6) {
          expect(out[IPV6_HEADER + 8 + IPV6_HEADER]! >= 128).toBe(true);
        }
      }
    }
  }

  close(): void {
    for (const s of this.stops) s();
    this.stack.close();
  }
}

describe('fuzz: IPv6 fixed header and extension-header walk', () => {
  const h = new Ipv6Header();
  const c = new ChainEnd();
  it('random and mutated headers: a header in bounds or an error string', () => {
    fuzz(
      'ipv6.header',
      fc.oneof(bytes(120).map((b) => Uint8Array.from([0x60 | (b[0] ?? 0 & 0x0f), ...b])), fc.tuple(validPacket, mutations).map(([p, ms]) => mutate(p, ms))),
      (b) => {
        const e = decodeIpv6(b, h);
        if (e === undefined) expect(IPV6_HEADER + h.payloadLength).toBeLessThanOrEqual(b.length);
        else expect(typeof e).toBe('string');
      },
      3000,
    );
  }, LONG_TIMEOUT);
  it('chains that never end, lengths past the packet: the walk ends in bounds or says no', () => {
    fuzz(
      'ipv6.chain',
      fc.tuple(chain, mutations, fc.boolean()).map(([ch, ms, m]) => (m ? mutate(chainPacket(ch), ms) : chainPacket(ch))),
      (b) => {
        if (b.length < IPV6_HEADER) return;
        if (skipExtensionHeaders(b, 0, b.length, c)) {
          expect(c.offset).toBeLessThanOrEqual(b.length);
          expect(c.offset).toBeGreaterThanOrEqual(IPV6_HEADER);
        }
      },
      3000,
    );
  }, LONG_TIMEOUT);
});

describe('fuzz: the IPv6 input path (ICMPv6, UDP, fragments, extension headers)', () => {
  it('fresh stack per sequence, time passing between packets: every packet accounted for, caps hold, output well formed', () => {
    fuzz(
      'ipv6.input',
      fc.array(fc.tuple(input, fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 20 }),
      (steps) => {
        const t = new Target6();
        try {
          for (const [packets, ms] of steps) {
            for (const p of packets) t.inject(p);
            t.advance(ms);
          }
          t.advance(10_000);
          expect(t.stack.ip6.reassembler.pendingCount).toBe(0);
          expect(t.stack.ip6.reassembler.memory).toBe(0);
        } finally {
          t.close();
        }
      },
      300,
    );
  }, LONG_TIMEOUT);
});

describe('IPv6 fragment properties', () => {
  it("any permutation with duplicates of a datagram's fragments rebuilds it (once per complete set)", () => {
    fuzz(
      'ipv6.reasm-permutation',
      fc
        .tuple(bytes(1500, 168), fc.integer({ min: 1, max: 20 }), fc.array(fc.nat(), { maxLength: 4 }))
        .chain(([data, size8, dups]) => {
          const p = echo6(1, 1, data); // at least 176 bytes of payload: two pieces or more, never an atomic fragment
          const len = p.length - IPV6_HEADER;
          const size = size8 * 8;
          const pieces: [number, number, boolean][] = [];
          for (let off = 0; off < len; off += size) pieces.push([off, Math.min(size, len - off), off + size < len]);
          const frags = cut6(p, pieces, 9);
          const all = [...frags, ...dups.map((d) => frags[d % frags.length]!)];
          return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }).map((order) => ({ p, order }));
        }),
      ({ p, order }) => {
        const t = new Target6({ maxTotalBytes: 1 << 20, maxDatagrams: 64 });
        try {
          for (const f of order) t.stack.receiveBatch(t.stack.interfaces[0]!, [f], 1);
          // Once — unless the duplicates that arrive after completion make up a whole datagram again (a new
          // queue: Linux rebuilds that one too).
          const oks = t.stack.stats.Ip6.ReasmOKs;
          expect(oks).toBeGreaterThanOrEqual(1);
          expect(t.stack.stats.Icmp6.InEchos).toBe(oks);
          const out = t.link.take();
          const idOf = (x: Uint8Array) => x.subarray(IPV6_HEADER + 4, IPV6_HEADER + 8).join();
          const reply = out[0]![6] !== NextHeader.Fragment ? out[0]! : join6(out.filter((x) => x[6] === NextHeader.Fragment && idOf(x) === idOf(out[0]!)));
          expect([...reply.subarray(IPV6_HEADER + 4)]).toEqual([...p.subarray(IPV6_HEADER + 4)]);
          // a duplicate arriving after completion starts a datagram of its own, which times out
          t.advance(6000);
          expect(t.stack.ip6.reassembler.memory).toBe(0);
        } finally {
          t.close();
        }
      },
      300,
    );
  }, LONG_TIMEOUT);

  it('the fragmenter: pieces within the MTU, multiples of 8 but the last, rebuilding the input', () => {
    fuzz(
      'ipv6.fragmenter',
      fc.tuple(bytes(9000, 1), fc.integer({ min: 1280, max: 9000 }), fc.integer({ min: 0, max: 0xffffffff })),
      ([data, mtu, id]) => {
        const p = new Uint8Array(IPV6_HEADER + data.length);
        emitIpv6(p, { payloadLength: data.length, nextHeader: NextHeader.Udp, hopLimit: 64, src: STACK6, dst: PEER6 });
        p.set(data, IPV6_HEADER);
        const t = new Target6();
        const pieces: Uint8Array[] = [];
        try {
          const n = fragmentDatagram6(p, mtu, id, t.stack.stats, (x) => pieces.push(x));
          expect(n).toBe(pieces.length);
          pieces.forEach((x, i) => {
            expect(x.length).toBeLessThanOrEqual(mtu);
            if (i < pieces.length - 1) expect((x.length - IPV6_HEADER - 8) % 8).toBe(0);
          });
          expect([...join6(pieces)]).toEqual([...p]);
        } finally {
          t.close();
        }
      },
      300,
    );
  }, LONG_TIMEOUT);

  it('ICMPv6 Packet Too Big of any MTU: below 1280 ignored, never a reply larger than what was learnt', () => {
    fuzz(
      'ipv6.ptb',
      fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), bytes(1400, 1300)),
      ([mtu, data]) => {
        const t = new Target6();
        try {
          t.inject(echo6(1, 1, data));
          const [reply] = t.take();
          t.inject(icmpError(Icmp6Type.PacketTooBig, 0, mtu, reply!.subarray(0, 1232)));
          t.inject(echo6(1, 2, data));
          const limit = mtu < 1280 ? 1500 : Math.min(1500, mtu);
          const out = t.take();
          expect(out.length).toBeGreaterThan(0);
          for (const p of out) expect(p.length).toBeLessThanOrEqual(limit);
        } finally {
          t.close();
        }
      },
      300,
    );
  }, LONG_TIMEOUT);
});
