/**
 * Hostile IPv6 input, each attack on its own: extension-header chains that never end (thousands of empty
 * destination-options headers, a chain running off the packet), routing type 0 (RFC 5095), hop-by-hop
 * deep in the chain, overlapping fragments (RFC 5722), the header chain split into the second fragment
 * (RFC 7112), tiny first fragments, Packet Too Big below 1280 (RFC 8201 §4), 10,000 unmatched fragments from
 * 10,000 sources, ICMPv6 errors quoting forged datagrams (RFC 5927). The stack answers as Linux does or
 * drops, counts under a named reason, and its memory stays bounded.
 */
import { describe, it, expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { IPV6_HEADER, NextHeader } from '../../src/wire/ipv6.js';
import { Icmp6Type, finishIcmp6 } from '../../src/wire/icmp6.js';
import { emitUdp6 } from '../../src/wire/udp.js';
import { PEER6, STACK6, cut6, echo6, packet6 } from '../helpers/frag6.js';

function setup() {
  const clock = new VirtualClock(1000);
  const stack = new Stack({ clock, autoFlush: false, icmp: { perDestIntervalMs: 0 } });
  const link = new CaptureLink(1500);
  const iface = stack.addInterface(link, '10.77.0.2/24', { defaultRoute: true });
  stack.addAddress6(iface, 'fd77::2/64', { defaultRoute: true });
  const advance = (ms: number) => {
    clock.advance(ms);
    stack.runTimers();
  };
  return { stack, link, advance };
}

const typeOf = (p: Uint8Array) => [p[IPV6_HEADER]!, p[IPV6_HEADER + 1]!];

/** `n` empty destination-options headers (8 bytes each: next header, length 0, PadN of 4), then `last`. */
function optionChain(n: number, last: number, tail: Uint8Array): Uint8Array {
  const payload = new Uint8Array(n * 8 + tail.length);
  for (let i = 0; i < n; i++) {
    payload[i * 8] = i === n - 1 ? last : NextHeader.DestOptions;
    payload[i * 8 + 2] = 1; // PadN
    payload[i * 8 + 3] = 4;
  }
  payload.set(tail, n * 8);
  return packet6({ nextHeader: NextHeader.DestOptions, payload });
}

describe('hostile IPv6 input', () => {
  it('a chain of 8,000 destination-options headers ends (walked in bounds, the echo behind it answered); one running off the packet is counted', () => {
    const { stack, link } = setup();
    const echo = echo6(1, 1, new Uint8Array(8)).subarray(IPV6_HEADER);
    link.inject(optionChain(8000, NextHeader.Icmp6, echo));
    expect(typeOf(link.take()[0]!)).toEqual([Icmp6Type.EchoReply, 0]);
    const cut = optionChain(3, NextHeader.DestOptions, new Uint8Array(4)); // the last header names one more, 4 bytes long
    link.inject(cut);
    expect(link.take()).toHaveLength(0);
    expect(stack.stats.drops['ip6.truncated-extension']).toBe(1);
  });

  it('routing type 0 with segments left: Parameter Problem at the type (RFC 5095); hop-by-hop after another header: code 1', () => {
    const { stack, link } = setup();
    const rh = new Uint8Array(24);
    rh[0] = NextHeader.NoNext;
    rh[1] = 2;
    rh[3] = 1;
    link.inject(packet6({ nextHeader: NextHeader.Routing, payload: rh }));
    const [pp] = link.take();
    expect(typeOf(pp!)).toEqual([Icmp6Type.ParameterProblem, 0]);
    link.inject(optionChain(2, NextHeader.HopByHop, new Uint8Array(8)));
    const [pp2] = link.take();
    expect(typeOf(pp2!)).toEqual([Icmp6Type.ParameterProblem, 1]);
    expect(stack.stats.drops['ip6.routing-type0']).toBe(1);
    expect(stack.stats.drops['ip6.hop-by-hop-not-first']).toBe(1);
  });

  it('overlapping fragments drop the whole datagram, whatever the order (RFC 5722)', () => {
    const { stack, link } = setup();
    const req = echo6(2, 2, new Uint8Array(300));
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 0, 2]]) {
      const f = cut6(req, [[0, 160, true], [152, 80, true], [232, 76, false]], 100 + order[0]!);
      link.inject(...order.map((i) => f[i]!));
    }
    expect(link.take()).toHaveLength(0);
    expect(stack.stats.drops['ip6.frag-overlap']).toBe(3);
  });

  it('the header chain split into the second fragment, and a tiny first fragment, get Parameter Problem code 3 (RFC 7112)', () => {
    const { stack, link } = setup();
    // the UDP header lies in the second fragment: the first holds only a destination-options header
    const u = new Uint8Array(8 + 32);
    emitUdp6(u, 0, 1000, 7, u.length, PEER6, STACK6);
    const payload = new Uint8Array(8 + u.length);
    payload[0] = NextHeader.Udp;
    payload.set(u, 8);
    const p = packet6({ nextHeader: NextHeader.DestOptions, payload });
    const [first, second] = cut6(p, [[0, 8, true], [8, payload.length - 8, false]]);
    link.inject(first!, second!);
    const out = link.take();
    expect(out).toHaveLength(1);
    expect(typeOf(out[0]!)).toEqual([Icmp6Type.ParameterProblem, 3]);
    // tiny: a first fragment of 8 bytes holding half of a 16-byte destination-options header (UDP behind it)
    const big = new Uint8Array(16 + 8);
    big[0] = NextHeader.Udp;
    big[1] = 1;
    const q = packet6({ nextHeader: NextHeader.DestOptions, payload: big });
    link.inject(cut6(q, [[0, 8, true]], 77)[0]!);
    expect(typeOf(link.take()[0]!)).toEqual([Icmp6Type.ParameterProblem, 3]);
    expect(stack.stats.drops['ip6.frag-incomplete-chain']).toBe(2);
    expect(stack.ip6.reassembler.pendingCount).toBe(1); // the second fragment alone, waiting to time out silently
  });

  it('10,000 unmatched fragments from 10,000 sources: memory under 4 MiB and 1,024 datagrams, all drained by the timeout', () => {
    const { stack, link, advance } = setup();
    const r = stack.ip6.reassembler;
    const template = cut6(echo6(1, 1, new Uint8Array(1400)), [[512, 896, true]], 0)[0]!;
    let maxMemory = 0;
    let maxPending = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = template.slice();
      f[22] = (i >> 8) | 0x80; // the source fd77::XXXX (an 8000..a70f suffix: one per fragment)
      f[23] = i & 0xff;
      link.inject(f);
      maxMemory = Math.max(maxMemory, r.memory);
      maxPending = Math.max(maxPending, r.pendingCount);
    }
    expect(maxMemory).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(maxPending).toBe(1024);
    expect(stack.stats.drops['ip6.frag-evicted-count']).toBe(10_000 - 1024);
    expect(link.take()).toHaveLength(0);
    advance(60_000);
    expect(r.pendingCount).toBe(0);
    expect(r.memory).toBe(0);
    expect(link.take()).toHaveLength(0); // no first fragment: no Time Exceeded
  });

  it('Packet Too Big below 1280 is counted and ignored; errors quoting forged datagrams reach no socket', () => {
    const { stack, link } = setup();
    const sock = stack.udp6.createSocket();
    sock.bind(5555);
    const forged = new Uint8Array(IPV6_HEADER + 8);
    const u = new Uint8Array(8);
    emitUdp6(u, 0, 5555, 53, 8, STACK6, PEER6);
    forged.set(packet6({ nextHeader: NextHeader.Udp, payload: u, src: STACK6, dst: PEER6 }));
    const err = (type: number, param: number, quote: Uint8Array, src = PEER6) => {
      const m = new Uint8Array(8 + quote.length);
      m[4] = param >>> 24;
      m[5] = (param >>> 16) & 0xff;
      m[6] = (param >>> 8) & 0xff;
      m[7] = param & 0xff;
      m.set(quote, 8);
      finishIcmp6(m, 0, m.length, type, 0, src, STACK6);
      return packet6({ nextHeader: NextHeader.Icmp6, payload: m, src });
    };
    link.inject(err(Icmp6Type.PacketTooBig, 68, forged));
    expect(stack.stats.drops['icmp6.ptb-below-minimum']).toBe(1);
    expect(stack.ip6.pmtu.size).toBe(0);
    // a quote whose source is not ours, and one that is too short to hold the ports
    const notOurs = forged.slice();
    notOurs[23] = 0x42;
    link.inject(err(Icmp6Type.DestUnreachable, 0, notOurs));
    link.inject(err(Icmp6Type.DestUnreachable, 0, forged.subarray(0, IPV6_HEADER + 2)));
    expect(stack.stats.drops['icmp6.quote-not-ours']).toBe(1);
    expect(stack.stats.drops['udp6.icmp-short-quote']).toBe(1);
    expect(link.take()).toHaveLength(0);
  });
});
