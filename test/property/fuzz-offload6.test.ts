/**
 * Fuzzing the IPv6 offload path: virtio-net headers of any content in front of mutated TCP/IPv6 packets
 * (vnetMeta), what the stack does with a packet and the meta word it got (the receive path: nothing escapes,
 * everything sent is well formed), and software GSO over IPv6 on any super-segment vnetMeta accepts (every
 * piece within gso_size, the payload rebuilt exactly).
 *
 * Seeded and bounded: see test/adversarial/fuzz-kit.ts (FUZZ_SEED, FUZZ_RUNS, FUZZ_REPORT).
 */
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { META_GSO_MASK, META_CSUM_PARTIAL, vnetMeta } from '../../src/wire/offload.js';
import { gsoSegment6 } from '../../src/wire/offload6.js';
import { IPV6_HEADER, Ipv6Header, NextHeader, decodeIpv6, emitIpv6 } from '../../src/wire/ipv6.js';
import { TCP_ACK, TCP_PSH, emitTcp6 } from '../../src/wire/tcp.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { PEER6, STACK6 } from '../helpers/frag6.js';
import { bytes, fuzz, mutate, mutation, reportExecutions } from '../adversarial/fuzz-kit.js';

afterAll(() => reportExecutions('offload6'));

const LONG_TIMEOUT = 600_000;
const mutations = fc.array(mutation, { minLength: 0, maxLength: 4 });

/** A TCP/IPv6 segment to the stack's port 80 with a partial checksum and `n` payload bytes. */
function segment(n: number, seq: number): Uint8Array {
  const p = new Uint8Array(IPV6_HEADER + 20 + n);
  for (let i = 0; i < n; i++) p[IPV6_HEADER + 20 + i] = (i * 7) & 0xff;
  emitTcp6(p, IPV6_HEADER, { srcPort: 40000, dstPort: 80, seq, ack: 1, flags: TCP_ACK | TCP_PSH, window: 500, urgent: 0, options: undefined, rawOptions: undefined }, n, PEER6, STACK6, true);
  emitIpv6(p, { payloadLength: 20 + n, nextHeader: NextHeader.Tcp, hopLimit: 64, src: PEER6, dst: STACK6 });
  return p;
}

/** A virtio header, mostly plausible for IPv6 TCP (NEEDS_CSUM at 40/16, GSO TCPV6), sometimes anything. */
const vnetHeader = fc.oneof(
  fc.tuple(fc.constantFrom(0, 1, 2, 3), fc.constantFrom(0, 1, 3, 4, 4 | 0x80, 5), fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 3000 }), fc.constantFrom(0, 20, 40, 60), fc.constantFrom(0, 6, 16, 18)).map(([f, t, hl, g, cs, co]) => {
    const h = new Uint8Array(10);
    h[0] = f;
    h[1] = t;
    h[2] = hl & 0xff;
    h[4] = g & 0xff;
    h[5] = g >> 8;
    h[6] = cs;
    h[8] = co;
    return h;
  }),
  bytes(10, 10),
);

const packet = fc.tuple(fc.integer({ min: 0, max: 6000 }), fc.integer({ min: 0, max: 0xffffffff }), mutations).map(([n, seq, ms]) => mutate(segment(n, seq), ms));

describe('fuzz: IPv6 offloads', () => {
  it('vnetMeta takes or refuses any header in front of any packet, and the stack takes the result without escaping', () => {
    const clock = new VirtualClock(0);
    const stack = new Stack({ clock });
    const link = new CaptureLink(1500, 'tun0');
    const iface = stack.addInterface(link, '10.77.0.2/24', { defaultRoute: true });
    stack.addAddress6(iface, 'fd77::2/64', { defaultRoute: true });
    stack.tcp.createServer(() => {}).listen(80);
    const meta = new Uint32Array(1);
    const h = new Ipv6Header();
    fuzz(
      'offload6.receive',
      fc.tuple(vnetHeader, packet),
      ([hdr, p]) => {
        const m = vnetMeta(hdr, 0, p);
        if (typeof m === 'string') {
          expect(m.startsWith('vnet-')).toBe(true);
          return;
        }
        meta[0] = m;
        stack.receiveBatch(iface, [p], 1, meta);
        for (const out of link.take()) {
          if (out[0]! >> 4 !== 6) continue;
          expect(decodeIpv6(out, h)).toBeUndefined();
          expect(out.length).toBeLessThanOrEqual(1500);
        }
      },
      3000,
    );
    stack.close();
  }, LONG_TIMEOUT);

  it('software GSO over IPv6 cuts any accepted super-segment into pieces of at most gso_size that rebuild its payload', () => {
    const h = new Ipv6Header();
    fuzz(
      'offload6.gso',
      fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 20, max: 30000 }), fc.integer({ min: 200, max: 3000 })).map(([seq, n, gso]) => ({ p: segment(n, seq), gso })),
      ({ p, gso }) => {
        const hdr = new Uint8Array(10);
        hdr[0] = 1;
        hdr[1] = 4;
        hdr[2] = 60;
        hdr[4] = gso & 0xff;
        hdr[5] = gso >> 8;
        hdr[6] = 40;
        hdr[8] = 16;
        const m = vnetMeta(hdr, 0, p);
        expect(typeof m).toBe('number');
        expect((m as number) & META_GSO_MASK).toBe(gso);
        expect((m as number) & META_CSUM_PARTIAL).toBe(META_CSUM_PARTIAL);
        const payload: number[] = [];
        gsoSegment6(p.slice(), gso, true, (k) => new Uint8Array(k), (piece) => {
          expect(decodeIpv6(piece, h)).toBeUndefined();
          const plen = piece.length - IPV6_HEADER - 20;
          expect(plen).toBeLessThanOrEqual(gso);
          for (let i = IPV6_HEADER + 20; i < piece.length; i++) payload.push(piece[i]!);
        });
        expect(Buffer.from(payload).equals(Buffer.from(p.subarray(IPV6_HEADER + 20)))).toBe(true);
      },
      200,
    );
  }, LONG_TIMEOUT);
});
