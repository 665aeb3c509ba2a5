/**
 * IPv6 for a host (RFC 8200) and ICMPv6 (RFC 4443): the fixed header and address text, the extension-header
 * walk, echo, the never-answer rules, and every discard counted under its reason.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { IPV6_HEADER, Ipv6Header, NextHeader, decodeIpv6, emitIpv6, formatIpv6, parseIpv6, type Ipv6Words } from '../../src/wire/ipv6.js';
import { Icmp6Type, finishIcmp6, icmp6ChecksumOk } from '../../src/wire/icmp6.js';

const words = (t: string): Ipv6Words => {
  const w = parseIpv6(t);
  if (w instanceof Error) throw w;
  return w;
};
const STACK6 = words('fd77::2');
const PEER6 = words('fd77::1');

function setup() {
  const stack = new Stack({ clock: new VirtualClock(1000), autoFlush: false });
  const link = new CaptureLink();
  const iface = stack.addInterface(link, '10.77.0.2/24', { defaultRoute: true });
  stack.addAddress6(iface, 'fd77::2/64');
  return { stack, link };
}

/** An IPv6 packet from the peer: `ext` (extension headers, already chained) then `payload` under `last`. */
function packet6(o: { nextHeader: number; payload: Uint8Array; dst?: Ipv6Words; src?: Ipv6Words; hopLimit?: number }): Uint8Array {
  const b = new Uint8Array(IPV6_HEADER + o.payload.length);
  emitIpv6(b, { payloadLength: o.payload.length, nextHeader: o.nextHeader, hopLimit: o.hopLimit ?? 64, src: o.src ?? PEER6, dst: o.dst ?? STACK6 });
  b.set(o.payload, IPV6_HEADER);
  return b;
}

function echoRequest6(id: number, seq: number, data: Uint8Array, dst: Ipv6Words = STACK6, src: Ipv6Words = PEER6): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[4] = id >> 8;
  m[5] = id & 0xff;
  m[6] = seq >> 8;
  m[7] = seq & 0xff;
  m.set(data, 8);
  finishIcmp6(m, 0, m.length, Icmp6Type.EchoRequest, 0, src, dst);
  return packet6({ nextHeader: NextHeader.Icmp6, payload: m, dst, src });
}

function parsed(p: Uint8Array): { h: Ipv6Header; type: number; code: number; body: Uint8Array } {
  const h = new Ipv6Header();
  expect(decodeIpv6(p, h)).toBeUndefined();
  expect(h.nextHeader).toBe(NextHeader.Icmp6);
  expect(icmp6ChecksumOk(p, IPV6_HEADER, p.length - IPV6_HEADER, h.src, h.dst)).toBe(true);
  return { h, type: p[IPV6_HEADER]!, code: p[IPV6_HEADER + 1]!, body: p.subarray(IPV6_HEADER + 4) };
}

describe('IPv6 addresses (RFC 4291 §2.2, RFC 5952)', () => {
  it('parses and formats the usual forms', () => {
    expect(formatIpv6(words('fd77::2'))).toBe('fd77::2');
    expect(formatIpv6(words('FD77:0:0:0:0:0:0:1'))).toBe('fd77::1');
    expect(formatIpv6(words('::'))).toBe('::');
    expect(formatIpv6(words('::1'))).toBe('::1');
    expect(formatIpv6(words('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(words('::ffff:10.77.0.2'))).toBe('::ffff:a4d:2');
    for (const bad of ['', 'fd77', '1::2::3', 'g::1', '1:2:3:4:5:6:7:8:9', '12345::1', '::ffff:300.1.1.1']) expect(parseIpv6(bad)).toBeInstanceOf(Error);
  });
  it('round-trips any address through its text', () => {
    fc.assert(
      fc.property(fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff)), (w) => {
        expect(parseIpv6(formatIpv6(w))).toEqual(w);
      }),
    );
  });
});

describe('IPv6 input and ICMPv6', () => {
  it('answers an echo request with the same identifier, sequence and data, hop limit 64', () => {
    const { stack, link } = setup();
    const data = new Uint8Array(56).map((_, i) => i);
    link.inject(echoRequest6(0x1234, 7, data));
    const [reply] = link.take();
    const r = parsed(reply!);
    expect(r.type).toBe(Icmp6Type.EchoReply);
    expect(formatIpv6(r.h.src)).toBe('fd77::2');
    expect(formatIpv6(r.h.dst)).toBe('fd77::1');
    expect(r.h.hopLimit).toBe(64);
    expect([...r.body.subarray(0, 4)]).toEqual([0x12, 0x34, 0, 7]);
    expect([...r.body.subarray(4)]).toEqual([...data]);
    expect(stack.stats.Icmp6.InEchos).toBe(1);
    expect(stack.stats.Icmp6.OutEchoReplies).toBe(1);
  });

  it('answers an echo to the all-nodes group from its own address', () => {
    const { link } = setup();
    link.inject(echoRequest6(1, 1, new Uint8Array(8), words('ff02::1')));
    expect(formatIpv6(parsed(link.take()[0]!).h.src)).toBe('fd77::2');
  });

  it('drops Neighbor Discovery and MLD (no link layer on a TUN), a bad checksum, a packet for another address, a multicast source — each counted', () => {
    const { stack, link } = setup();
    const ns = new Uint8Array(24);
    finishIcmp6(ns, 0, 24, Icmp6Type.NeighborSolicit, 0, PEER6, words('ff02::1:ff00:2'));
    link.inject(packet6({ nextHeader: NextHeader.Icmp6, payload: ns, dst: words('ff02::1:ff00:2'), hopLimit: 255 }));
    const bad = echoRequest6(1, 1, new Uint8Array(8));
    bad[bad.length - 1] ^= 0xff;
    link.inject(bad);
    link.inject(echoRequest6(1, 1, new Uint8Array(8), words('fd77::99')));
    link.inject(echoRequest6(1, 1, new Uint8Array(8), STACK6, words('ff02::5')));
    expect(link.take()).toHaveLength(0);
    expect(stack.stats.drops['icmp6.link-layer-on-l3-tun']).toBe(1);
    expect(stack.stats.Icmp6.InNeighborSolicits).toBe(1);
    expect(stack.stats.drops['icmp6.bad-checksum']).toBe(1);
    expect(stack.stats.drops['ip6.not-for-us']).toBe(1);
    expect(stack.stats.drops['ip6.multicast-source']).toBe(1);
  });

  it('a routing header type 0 with segments left gets Parameter Problem code 0 pointing at its type (RFC 5095)', () => {
    const { stack, link } = setup();
    const rh = new Uint8Array(24);
    // No Next Header after it: an ICMPv6 header too short to read its type would make the packet ineligible
    // for an error (Linux is_ineligible: it might be an error itself).
    rh[0] = NextHeader.NoNext;
    rh[1] = 2; // (2 + 1) * 8 = 24 bytes
    rh[2] = 0; // type 0
    rh[3] = 1; // segments left
    const p = packet6({ nextHeader: NextHeader.Routing, payload: rh });
    link.inject(p);
    const r = parsed(link.take()[0]!);
    expect([r.type, r.code]).toEqual([Icmp6Type.ParameterProblem, 0]);
    expect((r.body[0]! << 24) | (r.body[1]! << 16) | (r.body[2]! << 8) | r.body[3]!).toBe(IPV6_HEADER + 2);
    expect([...r.body.subarray(4, 4 + p.length)]).toEqual([...p]);
    expect(stack.stats.drops['ip6.routing-type0']).toBe(1);
    expect(stack.stats.Icmp6.OutParmProblems).toBe(1);
  });

  it('unknown options act by their two high bits (RFC 8200 §4.2); padding and a trailing echo pass', () => {
    const { stack, link } = setup();
    const opts = (type: number): Uint8Array => {
      const echo = echoRequest6(9, 9, new Uint8Array(4)).subarray(IPV6_HEADER);
      const d = new Uint8Array(8 + echo.length);
      d[0] = NextHeader.Icmp6;
      d[1] = 0;
      d[2] = type;
      d[3] = 4;
      d.set(echo, 8);
      // the ICMPv6 checksum covers the same pseudo-header: the options header does not change it
      return packet6({ nextHeader: NextHeader.DestOptions, payload: d });
    };
    link.inject(opts(0x1e)); // 00: skip → the echo is answered
    expect(parsed(link.take()[0]!).type).toBe(Icmp6Type.EchoReply);
    link.inject(opts(0x5e)); // 01: discard silently
    expect(link.take()).toHaveLength(0);
    link.inject(opts(0x9e)); // 10: discard, Parameter Problem code 2 at the option
    const r = parsed(link.take()[0]!);
    expect([r.type, r.code]).toEqual([Icmp6Type.ParameterProblem, 2]);
    expect(r.body[3]).toBe(IPV6_HEADER + 2);
    link.inject(opts(0x01)); // PadN of 4: passes
    expect(parsed(link.take()[0]!).type).toBe(Icmp6Type.EchoReply);
    expect(stack.stats.drops['ip6.unknown-option']).toBe(2);
  });

  it('an upper layer not spoken over IPv6 gets Parameter Problem code 1 at the Next Header field; never an error about an error', () => {
    const { stack, link } = setup();
    link.inject(packet6({ nextHeader: 132 /* SCTP */, payload: new Uint8Array(16) }));
    const r = parsed(link.take()[0]!);
    expect([r.type, r.code, r.body[3]]).toEqual([Icmp6Type.ParameterProblem, 1, 6]);
    expect(stack.stats.Ip6.InUnknownProtos).toBe(1);
    const err = new Uint8Array(48);
    finishIcmp6(err, 0, 48, Icmp6Type.DestUnreachable, 4, PEER6, STACK6);
    link.inject(packet6({ nextHeader: NextHeader.Icmp6, payload: err }));
    expect(link.take()).toHaveLength(0);
    expect(stack.stats.Icmp6.InDestUnreachs).toBe(1);
  });

  it('a truncated packet is counted (fragments: test/unit/ipv6-fragments.test.ts)', () => {
    const { stack, link } = setup();
    const short = echoRequest6(1, 1, new Uint8Array(8)).subarray(0, 50);
    link.inject(short);
    expect(link.take()).toHaveLength(0);
    expect(stack.stats.drops['ip6.bad-payload-length']).toBe(1);
  });

  it('random bytes with an IPv6 version nibble never throw and never crash the stack', () => {
    const { stack, link } = setup();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.constantFrom(0, 43, 44, 58, 60, 6, 17, 59), (bytes, nh) => {
        const b = new Uint8Array(Math.max(1, bytes.length));
        b.set(bytes);
        b[0] = 0x60 | (b[0]! & 0x0f);
        if (b.length > 6) b[6] = nh;
        if (b.length >= 40) {
          b.set(STACK6.flatMap((w) => [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255]), 24);
          const plen = b.length - 40;
          b[4] = plen >> 8;
          b[5] = plen & 255;
        }
        link.inject(b);
        link.take();
      }),
      { numRuns: 3000 },
    );
    expect(stack.stats.Ip6.InReceives).toBe(3000);
  });
});
