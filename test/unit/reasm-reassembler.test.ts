import { describe, it, expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { parseIcmp, IcmpType } from '../../src/wire/icmp.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { echoRequest, ipPacket } from '../helpers/packets.js';
import { cut, evenPieces, header } from '../helpers/frag.js';
import type { ReassemblyOptions } from '../../src/ip/reassembler.js';

function setup(reassembly: Partial<ReassemblyOptions> = {}) {
  const clock = new VirtualClock(1000);
  // Per-destination ICMP rate limit off: these tests count every error.
  const stack = new Stack({ clock, autoFlush: false, reassembly, icmp: { perDestIntervalMs: 0 } });
  const link = new CaptureLink(65535);
  stack.addInterface(link, '10.77.0.2/24', { defaultRoute: true });
  const advance = (ms: number) => {
    clock.advance(ms);
    stack.runTimers();
  };
  return { clock, stack, link, advance };
}

/** The echo request the reference capture uses: 192 data bytes → a 200-byte ICMP message. */
function refEcho(id: number, seq: number): Uint8Array {
  const data = new Uint8Array(192).map((_, i) => i % 48);
  return echoRequest(0x4242, seq, data, { id });
}

function replies(link: CaptureLink) {
  return link.take().map((p) => {
    const icmp = parseIcmp(p.subarray(20));
    if (typeof icmp === 'string') throw new Error(icmp);
    return { p, icmp };
  });
}

describe('reassembly', () => {
  it('reproduces the Linux reference capture and its nstat counters (ip-fragments-ooo-overlap)', () => {
    const { stack, link, advance } = setup({ timeoutMs: 3000 });
    // case 1: three fragments last-first → reassembled, answered
    link.inject(...cut(refEcho(0x1001, 1), [[0, 64, true], [64, 64, true], [128, 72, false]]).reverse());
    let r = replies(link);
    expect(r).toHaveLength(1);
    expect(r[0]!.icmp.type).toBe(IcmpType.EchoReply);
    expect(r[0]!.p.length).toBe(20 + 200);
    // case 2: overlap (bytes 48..63 twice) → whole datagram dropped
    link.inject(...cut(refEcho(0x1002, 2), [[0, 64, true], [48, 80, true], [128, 72, false]]));
    expect(replies(link)).toHaveLength(0);
    // case 3: exact duplicate of the first fragment → tolerated
    link.inject(...cut(refEcho(0x1003, 3), [[0, 64, true], [0, 64, true], [64, 64, true], [128, 72, false]]));
    r = replies(link);
    expect(r).toHaveLength(1);
    expect(r[0]!.icmp.sequence).toBe(3);
    // case 4: only the first fragment → time exceeded code 1 after the timeout
    const first = cut(refEcho(0x1004, 4), [[0, 64, true]]);
    link.inject(...first);
    expect(replies(link)).toHaveLength(0);
    advance(2999);
    expect(replies(link)).toHaveLength(0);
    advance(1);
    r = replies(link);
    expect(r).toHaveLength(1);
    expect([r[0]!.icmp.type, r[0]!.icmp.code]).toEqual([IcmpType.TimeExceeded, 1]);
    // quotes the first fragment's header (id 0x1004, MF set) and its first 8 bytes
    expect([...r[0]!.p.subarray(28, 28 + 28)]).toEqual([...first[0]!.subarray(0, 28)]);
    // nstat.txt of the reference: ReasmReqds 11, ReasmOKs 2, ReasmFails 3, ReasmTimeout 2
    const ip = stack.stats.Ip;
    expect([ip.ReasmReqds, ip.ReasmOKs, ip.ReasmFails, ip.ReasmTimeout]).toEqual([11, 2, 3, 2]);
    expect(ip.ReasmOverlaps).toBe(1);
    expect(stack.stats.drops['ip.frag-overlap']).toBe(1);
    expect(stack.stats.drops['ip.frag-duplicate']).toBe(1);
    expect(stack.stats.Icmp.OutTimeExcds).toBe(1);
    expect(stack.reassembler.pendingCount).toBe(0);
    expect(stack.reassembler.memory).toBe(0);
  });

  it('reassembles a 4008-byte echo split like Linux (1480, 1480, 1048) in any order', () => {
    const whole = echoRequest(7, 1, new Uint8Array(4000).map((_, i) => (i * 7) & 0xff), { id: 0x4a41 });
    const frags = cut(whole, evenPieces(4008, 1480));
    expect(frags.map((f) => f.length)).toEqual([1500, 1500, 1068]);
    for (const order of [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1]]) {
      const { link } = setup();
      link.inject(...order.map((i) => frags[i]!));
      const r = replies(link);
      expect(r).toHaveLength(1);
      expect([...r[0]!.p.subarray(28)]).toEqual([...whole.subarray(28)]);
    }
  });

  it('keeps datagrams apart by (src, dst, id, protocol)', () => {
    const { stack, link } = setup();
    const a = cut(echoRequest(1, 1, new Uint8Array(40).fill(1), { id: 5 }), [[0, 24, true], [24, 24, false]]);
    const b = cut(echoRequest(1, 2, new Uint8Array(40).fill(2), { id: 5, src: '10.77.0.3' }), [[0, 24, true], [24, 24, false]]);
    // same src/dst/id but another protocol: a second datagram, never mixed with the first
    const c = cut(ipPacket(new Uint8Array(48).fill(3), { id: 5, protocol: 99 }), [[0, 24, true], [24, 24, false]]);
    link.inject(a[0]!, b[0]!, c[0]!, b[1]!, a[1]!, c[1]!);
    const out = link.take();
    expect(out).toHaveLength(3); // two echo replies and a protocol unreachable
    expect(stack.stats.Ip.ReasmOKs).toBe(3);
    expect(stack.stats.Ip.InUnknownProtos).toBe(1);
  });

  it('keeps the first fragment header with its options, and clears MF/offset in the rebuilt datagram', () => {
    const { stack, link } = setup();
    const delivered: Uint8Array[] = [];
    stack.ip.register(200, { input: (p) => delivered.push(p.slice()) });
    const payload = new Uint8Array(64).map((_, i) => i);
    const opts = Uint8Array.from([0x94, 4, 0, 0]); // router alert (copied)
    const f1 = ipPacket(payload.subarray(0, 32), { protocol: 200, id: 9, mf: true, options: opts });
    const f2 = ipPacket(payload.subarray(32), { protocol: 200, id: 9, offset: 32 });
    link.inject(f2, f1);
    expect(delivered).toHaveLength(1);
    const h = header(delivered[0]!);
    expect(h.headerLength).toBe(24);
    expect(h.totalLength).toBe(24 + 64);
    expect(h.moreFragments).toBe(false);
    expect(h.fragmentOffset).toBe(0);
    expect([...delivered[0]!.subarray(20, 24)]).toEqual([...opts]);
    expect([...delivered[0]!.subarray(24)]).toEqual([...payload]);
  });

  describe('bad input: a counted drop, bounded memory, and the stack keeps answering', () => {
    const keepsAnswering = (link: CaptureLink) => {
      link.take();
      link.inject(echoRequest(9, 9, new Uint8Array(8)));
      expect(link.take()).toHaveLength(1);
    };

    it('teardrop: a fragment overlapping into the previous one drops the datagram', () => {
      const { stack, link } = setup();
      const whole = ipPacket(new Uint8Array(64), { protocol: 17, id: 0x77 });
      // teardrop: the second fragment starts inside the first and ends before the first's end
      link.inject(...cut(whole, [[0, 48, true], [8, 16, true]]));
      expect(link.take()).toHaveLength(0);
      expect(stack.stats.Ip.ReasmFails).toBe(1);
      expect(stack.stats.drops['ip.frag-overlap']).toBe(1);
      // the original teardrop's second piece was a last fragment: an end before data already held
      link.inject(...cut(whole, [[0, 48, true], [8, 16, false]]));
      expect(stack.stats.Ip.ReasmFails).toBe(2);
      expect(stack.stats.drops['ip.frag-bad-end']).toBe(1);
      expect(stack.reassembler.pendingCount).toBe(0);
      keepsAnswering(link);
    });

    it('same offset and length but different bytes is an overlap, not a duplicate', () => {
      const { stack, link } = setup();
      const a = cut(ipPacket(new Uint8Array(32).fill(1), { protocol: 17, id: 3 }), [[0, 16, true]]);
      const b = cut(ipPacket(new Uint8Array(32).fill(2), { protocol: 17, id: 3 }), [[0, 16, true]]);
      link.inject(a[0]!, b[0]!);
      expect(stack.stats.drops['ip.frag-overlap']).toBe(1);
      expect(stack.reassembler.pendingCount).toBe(0);
    });

    it('tiny first fragments (8 bytes, not even a transport header) are reassembled correctly', () => {
      const { stack, link } = setup();
      const whole = echoRequest(1, 1, new Uint8Array(40).fill(5), { id: 0x55 });
      link.inject(...cut(whole, evenPieces(48, 8)));
      expect(replies(link)).toHaveLength(1);
      expect(stack.stats.Ip.ReasmReqds).toBe(6);
    });

    it('a last fragment without the first times out silently (no ICMP without fragment zero)', () => {
      const { stack, link, advance } = setup();
      link.inject(...cut(echoRequest(1, 1, new Uint8Array(40)), [[24, 24, false]]));
      advance(30_000);
      expect(link.take()).toHaveLength(0);
      expect(stack.stats.Ip.ReasmTimeout).toBe(1);
      expect(stack.stats.Icmp.OutTimeExcds).toBe(0);
      keepsAnswering(link);
    });

    it('a zero-length fragment discards the datagram', () => {
      const { stack, link } = setup();
      const whole = echoRequest(1, 1, new Uint8Array(40));
      link.inject(cut(whole, [[0, 24, true]])[0]!, cut(whole, [[24, 0, true]])[0]!);
      expect(stack.stats.drops['ip.frag-empty']).toBe(1);
      expect(stack.stats.Ip.ReasmFails).toBe(1);
      expect(stack.reassembler.pendingCount).toBe(0);
      keepsAnswering(link);
    });

    it('ping of death: offset + length beyond 65,535 is dropped', () => {
      const { stack, link } = setup();
      // offset 65528 (the largest), 16 bytes: ends at 65544 + 20 header
      link.inject(ipPacket(new Uint8Array(16), { protocol: 1, id: 0xdead, offset: 65528 }));
      expect(stack.stats.drops['ip.frag-too-big']).toBe(1);
      expect(stack.stats.Ip.ReasmFails).toBe(1);
      expect(stack.reassembler.pendingCount).toBe(0);
      // the same after earlier good fragments: the whole datagram goes
      const whole = echoRequest(1, 1, new Uint8Array(40), { id: 0xbeef });
      link.inject(cut(whole, [[0, 24, true]])[0]!, ipPacket(new Uint8Array(16), { protocol: 1, id: 0xbeef, offset: 65528 }));
      expect(stack.stats.drops['ip.frag-too-big']).toBe(2);
      expect(stack.reassembler.pendingCount).toBe(0);
      keepsAnswering(link);
    });

    it('exactly 65,535 bytes reassembles', () => {
      const { stack, link } = setup();
      const delivered: number[] = [];
      stack.ip.register(200, { input: (p) => delivered.push(p.length) });
      const payload = new Uint8Array(65515);
      const pieces = evenPieces(65515, 8000);
      link.inject(...cut(ipPacket(payload, { protocol: 200, id: 1 }).subarray(0, 20 + 65515), pieces));
      expect(delivered).toEqual([65535]);
    });

    it('inconsistent ends: two different last fragments, or data past the known end, drop the datagram', () => {
      const { stack, link } = setup();
      const whole = ipPacket(new Uint8Array(64), { protocol: 17, id: 0x10 });
      link.inject(...cut(whole, [[48, 16, false], [32, 8, false]]));
      expect(stack.stats.drops['ip.frag-bad-end']).toBe(1);
      const w2 = ipPacket(new Uint8Array(96), { protocol: 17, id: 0x12 });
      link.inject(...cut(w2, [[40, 16, false]]), ...cut(w2, [[64, 16, true]]));
      expect(stack.stats.drops['ip.frag-beyond-end']).toBe(1);
      expect(stack.reassembler.pendingCount).toBe(0);
    });

    it('a non-last fragment whose length is not a multiple of 8 is refused', () => {
      const { stack, link } = setup();
      link.inject(...cut(ipPacket(new Uint8Array(64), { protocol: 17, id: 0x20 }), [[0, 20, true]]));
      expect(stack.stats.drops['ip.frag-unaligned']).toBe(1);
      expect(stack.reassembler.pendingCount).toBe(0);
    });

    it('a flood of distinct ids stays under the memory limit, evicting oldest first; legitimate reassembly still works', () => {
      const limit = 256 * 1024;
      const { stack, link } = setup({ maxTotalBytes: limit, maxDatagrams: 100_000 });
      let peak = 0;
      for (let id = 0; id < 5000; id++) {
        link.inject(ipPacket(new Uint8Array(512), { protocol: 17, id, mf: true, src: '10.77.0.1' }));
        peak = Math.max(peak, stack.reassembler.memory);
      }
      expect(peak).toBeLessThanOrEqual(limit);
      expect(stack.stats.drops['ip.frag-evicted-memory']).toBeGreaterThan(4000);
      // The newest survive; the oldest went.
      expect(stack.reassembler.pendingCount).toBeLessThan(400);
      const whole = echoRequest(1, 1, new Uint8Array(3000).fill(9), { id: 60000 });
      link.inject(...cut(whole, evenPieces(3008, 1480)));
      const r = replies(link);
      expect(r).toHaveLength(1);
      expect(r[0]!.p.length).toBe(3028);
    });

    it('caps datagrams in flight, evicting the oldest', () => {
      const { stack, link } = setup({ maxDatagrams: 10 });
      for (let id = 0; id < 50; id++) link.inject(ipPacket(new Uint8Array(8), { protocol: 17, id, mf: true }));
      expect(stack.reassembler.pendingCount).toBe(10);
      expect(stack.stats.drops['ip.frag-evicted-count']).toBe(40);
      expect(stack.stats.Ip.ReasmFails).toBe(40);
    });

    it('caps one datagram\'s bytes', () => {
      const { stack, link } = setup({ maxDatagramBytes: 4096 });
      const whole = ipPacket(new Uint8Array(8000), { protocol: 17, id: 1 });
      link.inject(...cut(whole, evenPieces(8000, 1000)));
      // the datagram is dropped at its 4th fragment; the rest start a new one that fails the same way
      expect(stack.stats.drops['ip.frag-datagram-limit']).toBeGreaterThanOrEqual(1);
      expect(stack.reassembler.memory).toBeLessThanOrEqual(4096);
      expect(stack.stats.Ip.ReasmOKs).toBe(0);
      expect(stack.reassembler.pendingCount).toBeLessThanOrEqual(1);
    });
  });

  it('times out with the configured timeout, and re-arms nothing after completion', () => {
    const { stack, link, advance } = setup({ timeoutMs: 2000 });
    const whole = echoRequest(1, 1, new Uint8Array(40));
    link.inject(cut(whole, [[0, 24, true]])[0]!);
    expect(stack.timers.size).toBe(1);
    link.inject(cut(whole, [[24, 24, false]])[0]!);
    expect(stack.timers.size).toBe(0);
    expect(replies(link)).toHaveLength(1);
    advance(5000);
    expect(stack.stats.Ip.ReasmTimeout).toBe(0);
  });

  it('close() releases pending datagrams and their timers', () => {
    const { stack, link } = setup();
    for (let id = 0; id < 10; id++) link.inject(ipPacket(new Uint8Array(8), { protocol: 17, id, mf: true }));
    expect(stack.timers.size).toBe(10);
    stack.close();
    expect(stack.timers.size).toBe(0);
    expect(stack.reassembler.memory).toBe(0);
  });
});
