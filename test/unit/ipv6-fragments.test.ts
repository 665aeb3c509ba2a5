/**
 * IPv6 fragments (RFC 8200 §4.5): reassembly with RFC 5722's overlap rule and RFC 7112's first-fragment
 * chain check, the Parameter Problems and the Time Exceeded it owes, bounded memory; fragmentation of what
 * the stack sends beyond the path MTU; Packet Too Big (RFC 8201).
 */
import { describe, it, expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { IPV6_HEADER, Ipv6Header, NextHeader, decodeIpv6 } from '../../src/wire/ipv6.js';
import { Icmp6Type, finishIcmp6, icmp6ChecksumOk } from '../../src/wire/icmp6.js';
import type { ReassemblyOptions } from '../../src/ip/reassembler.js';
import { PEER6, STACK6, cut6, echo6, evenPieces6, join6, packet6 } from '../helpers/frag6.js';

function setup(reassembly: Partial<ReassemblyOptions> = {}, mtu = 1500) {
  const clock = new VirtualClock(1000);
  const stack = new Stack({ clock, autoFlush: false, reassembly, icmp: { perDestIntervalMs: 0 } });
  const link = new CaptureLink(mtu);
  const iface = stack.addInterface(link, '10.77.0.2/24', { defaultRoute: true });
  stack.addAddress6(iface, 'fd77::2/64');
  const advance = (ms: number) => {
    clock.advance(ms);
    stack.runTimers();
  };
  return { clock, stack, link, advance };
}

function icmp(p: Uint8Array): { type: number; code: number; param: number; body: Uint8Array } {
  const h = new Ipv6Header();
  expect(decodeIpv6(p, h)).toBeUndefined();
  expect(h.nextHeader).toBe(NextHeader.Icmp6);
  expect(icmp6ChecksumOk(p, IPV6_HEADER, p.length - IPV6_HEADER, h.src, h.dst)).toBe(true);
  const o = IPV6_HEADER;
  return { type: p[o]!, code: p[o + 1]!, param: ((p[o + 4]! << 24) | (p[o + 5]! << 16) | (p[o + 6]! << 8) | p[o + 7]!) >>> 0, body: p.subarray(o + 8) };
}

const data = (n: number) => new Uint8Array(n).map((_, i) => (i * 7) & 0xff);

describe('IPv6 reassembly (RFC 8200 §4.5)', () => {
  it('rebuilds a 4000-byte echo from fragments in any order and answers it in fragments of the link MTU', () => {
    const { stack, link } = setup();
    const req = echo6(0x42, 1, data(4000));
    const frags = cut6(req, evenPieces6(4008, 1448));
    link.inject(frags[2]!, frags[0]!, frags[1]!);
    const out = link.take();
    expect(out.length).toBe(3);
    for (const p of out) {
      expect(p.length).toBeLessThanOrEqual(1500);
      expect(p[6]).toBe(NextHeader.Fragment);
    }
    const ids = new Set(out.map((p) => p.subarray(IPV6_HEADER + 4, IPV6_HEADER + 8).join(',')));
    expect(ids.size).toBe(1);
    const reply = join6(out);
    const r = icmp(reply);
    expect(r.type).toBe(Icmp6Type.EchoReply);
    expect([...r.body.subarray(0)]).toEqual([...data(4000)]);
    expect(stack.stats.Ip6.ReasmReqds).toBe(3);
    expect(stack.stats.Ip6.ReasmOKs).toBe(1);
    expect(stack.stats.Ip6.FragOKs).toBe(1);
    expect(stack.stats.Ip6.FragCreates).toBe(3);
    expect(stack.ip6.reassembler.pendingCount).toBe(0);
    expect(stack.ip6.reassembler.memory).toBe(0);
  });

  it('an overlap discards the whole datagram (RFC 5722 §4); an exact duplicate is tolerated', () => {
    const { stack, link } = setup();
    const req = echo6(1, 2, data(200));
    link.inject(...cut6(req, [[0, 64, true], [48, 80, true], [128, 80, false]], 7));
    expect(link.take()).toHaveLength(0);
    expect(stack.stats.drops['ip6.frag-overlap']).toBe(1);
    expect(stack.stats.Ip6.ReasmFails).toBe(1);
    // the rest of the overlapping datagram starts a new one, which never completes
    expect(stack.ip6.reassembler.pendingCount).toBe(1);
    link.inject(...cut6(req, [[0, 64, true], [0, 64, true], [64, 64, true], [128, 80, false]], 8));
    expect(icmp(link.take()[0]!).type).toBe(Icmp6Type.EchoReply);
    expect(stack.stats.drops['ip6.frag-duplicate']).toBe(1);
  });

  it('a first fragment without the whole header chain: Parameter Problem code 3, pointer 0 (RFC 7112)', () => {
    const { stack, link } = setup();
    // Destination options of 16 bytes then ICMPv6; the first fragment carries only 8 bytes of the options.
    const echo = echo6(3, 3, data(64)).subarray(IPV6_HEADER);
    const payload = new Uint8Array(16 + echo.length);
    payload[0] = NextHeader.Icmp6;
    payload[1] = 1; // (1 + 1) * 8 = 16
    payload[2] = 1; // PadN
    payload[3] = 12;
    payload.set(echo, 16);
    const p = packet6({ nextHeader: NextHeader.DestOptions, payload });
    const [first, rest] = cut6(p, [[0, 8, true], [8, payload.length - 8, false]]);
    link.inject(first!);
    const r = icmp(link.take()[0]!);
    expect([r.type, r.code, r.param]).toEqual([Icmp6Type.ParameterProblem, 3, 0]);
    expect(stack.stats.drops['ip6.frag-incomplete-chain']).toBe(1);
    link.inject(rest!);
    expect(link.take()).toHaveLength(0);
    // a tiny first fragment that splits the ICMPv6 header (4 of its 8 bytes) is refused the same way
    const tiny = cut6(echo6(4, 4, data(8)), [[0, 8, true]])[0]!;
    tiny[5] = 12; // payload length 12: 4 bytes after the fragment header
    link.inject(tiny.subarray(0, IPV6_HEADER + 12));
    expect(stack.stats.drops['ip6.frag-incomplete-chain']).toBe(2);
  });

  it('Parameter Problem code 0 for a non-last fragment not a multiple of 8 (at Payload Length) and for one past 65,535 (at Fragment Offset)', () => {
    const { stack, link } = setup();
    const req = echo6(5, 5, data(100));
    link.inject(cut6(req, [[0, 20, true]])[0]!);
    let r = icmp(link.take()[0]!);
    expect([r.type, r.code, r.param]).toEqual([Icmp6Type.ParameterProblem, 0, 4]);
    const far = cut6(echo6(6, 6, data(100)), [[65528, 16, false]])[0]!;
    link.inject(far);
    r = icmp(link.take()[0]!);
    expect([r.type, r.code, r.param]).toEqual([Icmp6Type.ParameterProblem, 0, IPV6_HEADER + 2]);
    expect(stack.stats.drops['ip6.frag-unaligned']).toBe(1);
    expect(stack.stats.drops['ip6.frag-too-big']).toBe(1);
  });

  it('times out after 60 s with Time Exceeded code 1 quoting the first fragment — only when it had arrived', () => {
    const { stack, link, advance } = setup();
    const req = echo6(7, 7, data(200));
    link.inject(cut6(req, [[0, 64, true]], 1)[0]!);
    link.inject(cut6(req, [[64, 64, true]], 2)[0]!);
    advance(59_999);
    expect(link.take()).toHaveLength(0);
    advance(1);
    const out = link.take();
    expect(out).toHaveLength(1);
    const r = icmp(out[0]!);
    expect([r.type, r.code]).toEqual([Icmp6Type.TimeExceeded, 1]);
    expect(r.body[IPV6_HEADER + 4 + 3]).toBe(1); // the quoted Fragment header's identification
    expect(stack.stats.Ip6.ReasmTimeout).toBe(2);
    expect(stack.stats.Icmp6.OutTimeExcds).toBe(1);
    expect(stack.ip6.reassembler.memory).toBe(0);
  });

  it('an atomic fragment (offset 0, M clear) is processed as a whole packet (RFC 6946), counted as Linux does', () => {
    const { stack, link } = setup();
    const req = echo6(8, 8, data(32));
    link.inject(cut6(req, [[0, req.length - IPV6_HEADER, false]])[0]!);
    expect(icmp(link.take()[0]!).type).toBe(Icmp6Type.EchoReply);
    expect([stack.stats.Ip6.ReasmReqds, stack.stats.Ip6.ReasmOKs]).toEqual([1, 1]);
    expect(stack.ip6.reassembler.pendingCount).toBe(0);
  });

  it('10,000 unmatched fragments keep memory and datagrams under their bounds, oldest evicted first', () => {
    const { stack, link } = setup({ maxDatagrams: 1024, maxTotalBytes: 1024 * 1024 });
    const req = echo6(9, 9, data(1000));
    for (let i = 0; i < 10_000; i++) link.inject(cut6(req, [[64, 512, true]], i)[0]!);
    expect(link.take()).toHaveLength(0);
    const r = stack.ip6.reassembler;
    expect(r.pendingCount).toBeLessThanOrEqual(1024);
    expect(r.memory).toBeLessThanOrEqual(1024 * 1024);
    expect(stack.stats.Ip6.ReasmReqds).toBe(10_000);
    const evicted = (stack.stats.drops['ip6.frag-evicted-count'] ?? 0) + (stack.stats.drops['ip6.frag-evicted-memory'] ?? 0);
    expect(evicted).toBe(10_000 - r.pendingCount);
    // a complete datagram still gets through
    link.inject(...cut6(req, evenPieces6(1008, 512), 0xabcdef));
    expect(icmp(link.take()[0]!).type).toBe(Icmp6Type.EchoReply);
  });
});

describe('Packet Too Big (RFC 8201)', () => {
  function ptb(mtu: number, quoted: Uint8Array): Uint8Array {
    const m = new Uint8Array(8 + Math.min(quoted.length, 1232));
    m[4] = mtu >>> 24;
    m[5] = (mtu >>> 16) & 0xff;
    m[6] = (mtu >>> 8) & 0xff;
    m[7] = mtu & 0xff;
    m.set(quoted.subarray(0, m.length - 8), 8);
    finishIcmp6(m, 0, m.length, Icmp6Type.PacketTooBig, 0, PEER6, STACK6);
    return packet6({ nextHeader: NextHeader.Icmp6, payload: m });
  }

  it('an MTU of 1280 or more is learnt for the destination: later replies leave in fragments that fit it', () => {
    const { stack, link } = setup();
    link.inject(echo6(1, 1, data(1400)));
    const [reply] = link.take();
    expect(reply!.length).toBe(IPV6_HEADER + 1408);
    link.inject(ptb(1280, reply!));
    expect(stack.stats.Icmp6.InPktTooBigs).toBe(1);
    link.inject(echo6(1, 2, data(1400)));
    const out = link.take();
    expect(out.length).toBe(2);
    for (const p of out) expect(p.length).toBeLessThanOrEqual(1280);
    expect(icmp(join6(out)).type).toBe(Icmp6Type.EchoReply);
  });

  it('an MTU below 1280 is counted and ignored (RFC 8201 §4); a PTB quoting a packet not ours is dropped', () => {
    const { stack, link } = setup();
    link.inject(echo6(1, 1, data(1400)));
    const [reply] = link.take();
    link.inject(ptb(1000, reply!));
    expect(stack.stats.drops['icmp6.ptb-below-minimum']).toBe(1);
    link.inject(echo6(1, 2, data(1400)));
    expect(link.take()).toHaveLength(1);
    const forged = reply!.slice();
    forged[23] = 0x99; // the quoted source is not our address
    link.inject(ptb(1280, forged));
    expect(stack.stats.drops['icmp6.quote-not-ours']).toBe(1);
    link.inject(echo6(1, 3, data(1400)));
    expect(link.take()).toHaveLength(1);
  });
});
