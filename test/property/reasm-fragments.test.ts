import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { Stats } from '../../src/stats.js';
import { fragmentDatagram } from '../../src/ip/fragmenter.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { ipPacket } from '../helpers/packets.js';
import { cut, type Piece } from '../helpers/frag.js';

const PROTO = 200;

function receiver() {
  const stack = new Stack({ clock: new VirtualClock(0), autoFlush: false });
  const link = new CaptureLink(65535);
  stack.addInterface(link, '10.77.0.2/24', { defaultRoute: true });
  const got: Uint8Array[] = [];
  stack.ip.register(PROTO, { input: (p, _h, off, len) => got.push(p.slice(off, off + len)) });
  return { stack, link, got };
}

/** Random payload length and a random cut of it into 8-byte-aligned pieces. */
const datagram = fc
  .record({
    units: fc.integer({ min: 2, max: 400 }), // payload length in 8-byte units (plus a tail)
    tail: fc.integer({ min: 0, max: 7 }),
    cuts: fc.array(fc.integer({ min: 1, max: 399 }), { minLength: 1, maxLength: 12 }),
    seed: fc.integer(),
  })
  .map(({ units, tail, cuts, seed }) => {
    const len = units * 8 + tail;
    const bounds = [...new Set(cuts.filter((c) => c < units).map((c) => c * 8))].sort((a, b) => a - b);
    if (bounds.length === 0) bounds.push(8); // always at least two fragments
    const edges = [0, ...bounds, len];
    const pieces: Piece[] = [];
    for (let i = 0; i + 1 < edges.length; i++) pieces.push([edges[i]!, edges[i + 1]! - edges[i]!, i + 2 < edges.length]);
    const payload = new Uint8Array(len);
    let s = seed >>> 0;
    for (let i = 0; i < len; i++) payload[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    return { payload, pieces };
  });

describe('reassembly properties', () => {
  it('any permutation with duplicates of a datagram\'s fragments reassembles to the original bytes, once', () => {
    fc.assert(
      fc.property(
        datagram,
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        ({ payload, pieces }, order, dups) => {
          const { stack, link, got } = receiver();
          const frags = cut(ipPacket(payload, { protocol: PROTO, id: 77 }), pieces);
          // sequence: each fragment once, plus duplicates, in an order driven by `order`
          const seq = [...frags.keys(), ...dups.map((d) => d % frags.length)];
          for (let i = seq.length - 1; i > 0; i--) {
            const j = (order[i % Math.max(order.length, 1)] ?? 0) % (i + 1);
            [seq[i], seq[j]] = [seq[j]!, seq[i]!];
          }
          // Inject until every distinct fragment has been seen: copies arriving after completion would be a new datagram.
          const seen = new Set<number>();
          for (const i of seq) {
            link.inject(frags[i]!);
            seen.add(i);
            if (seen.size === frags.length) break;
          }
          expect(got).toHaveLength(1);
          expect(Buffer.compare(Buffer.from(got[0]!), Buffer.from(payload))).toBe(0);
          expect(stack.reassembler.pendingCount).toBe(0);
          expect(stack.reassembler.memory).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('any partial overlap condemns the whole datagram: nothing delivered, every fragment released', () => {
    fc.assert(
      fc.property(
        datagram,
        fc.nat(),
        fc.integer({ min: -2, max: 2 }),
        fc.integer({ min: -1, max: 2 }),
        ({ payload, pieces }, pick, shift, grow) => {
          const n = pieces.length;
          if (n < 2) return;
          const len = payload.length;
          const j = pick % n; // the piece the extra fragment overlaps (present when the extra arrives)
          const m = (j + 1) % n; // a piece held back, so the datagram cannot complete before the overlap
          const [pjOff, pjLen] = pieces[j]!;
          const start = Math.max(0, pjOff + shift * 8);
          const end = Math.min(len, pjOff + pjLen + grow * 8);
          if (end <= start || end <= pjOff || start >= pjOff + pjLen) return; // must intersect piece j
          if (start === pjOff && end === pjOff + pjLen) return; // an exact duplicate is not an overlap
          if (start === 0 && end === len) return; // not a fragment at all
          if (end !== len && (end - start) % 8 !== 0) return; // a malformed middle fragment (a different drop reason)
          const { stack, link, got } = receiver();
          const frags = cut(ipPacket(payload, { protocol: PROTO, id: 77 }), pieces);
          const extra = cut(ipPacket(payload.map((b) => b ^ 0xff), { protocol: PROTO, id: 77 }), [[start, end - start, end !== len]]);
          link.inject(...frags.filter((_, i) => i !== m));
          link.inject(extra[0]!);
          expect(stack.stats.Ip.ReasmOverlaps + (stack.stats.drops['ip.frag-bad-end'] ?? 0)).toBe(1);
          expect(stack.stats.Ip.ReasmFails).toBe(1);
          expect(stack.reassembler.pendingCount).toBe(0);
          expect(stack.reassembler.memory).toBe(0);
          link.inject(frags[m]!);
          expect(got).toHaveLength(0);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('fragmenter output reassembles to the input, for any MTU and options', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 68, max: 9000 }),
        fc.boolean(),
        (len, mtu, withOptions) => {
          const payload = new Uint8Array(len).map((_, i) => (i * 13) & 0xff);
          const options = withOptions ? Uint8Array.from([0x94, 4, 0, 0, 0x07, 7, 4, 0, 0, 0, 0, 0]) : undefined;
          const whole = ipPacket(payload, { protocol: PROTO, id: 5, ...(options ? { options } : {}) });
          const pieces: Uint8Array[] = [];
          fragmentDatagram(whole, mtu, new Stats(), (p) => pieces.push(p));
          expect(pieces.every((p) => p.length <= mtu)).toBe(true);
          const { got } = (() => {
            const r = receiver();
            // reversed order for good measure
            r.link.inject(...pieces.reverse());
            return r;
          })();
          expect(got).toHaveLength(1);
          expect(Buffer.compare(Buffer.from(got[0]!), Buffer.from(payload))).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
