/**
 * Regression tests for what the adversarial suite found: each one failed
 * before its fix. Inputs found by the fuzzers are also kept as hex in
 * corpus/*.hex and replayed by corpus.test.ts.
 */
import { describe, it, expect } from 'vitest';
import { InputTarget, PEER, STACK } from './input-target.js';

describe('martian sources are dropped, never answered (found by fuzz: RST sent to 0.0.0.0)', () => {
  // Linux drops these in ip_route_input_slow / fib_validate_source ("martian source"), RFC 1122 §3.2.1.3.
  const cases: [string, number][] = [
    ['0.0.0.0', 0],
    ['0.1.2.3 (0/8)', 0x00010203],
    ['127.0.0.1 (loopback)', 0x7f000001],
    ['10.77.0.2 (LAND: our own address)', STACK],
  ];
  for (const [name, src] of cases) {
    it(`source ${name}: TCP SYN to a closed port, UDP to echo and to a closed port, ICMP echo — nothing sent, each counted`, async () => {
      const t = new InputTarget();
      try {
        await t.apply({ k: 'tcp', sport: 40000, dport: 1, flags: 0x02, rel: false, dseq: 1, dack: 0, window: 1000, raw: null, tsval: 0, payload: new Uint8Array(0), src, ms: [] });
        await t.apply({ k: 'tcp', sport: 7, dport: 7, flags: 0x02, rel: false, dseq: 1, dack: 0, window: 1000, raw: null, tsval: 0, payload: new Uint8Array(0), src, ms: [] });
        await t.apply({ k: 'udp', sport: 4000, dport: 7, payload: new Uint8Array([1, 2, 3]), src, dst: STACK, ms: [], badSum: false });
        await t.apply({ k: 'udp', sport: 4000, dport: 4444, payload: new Uint8Array([1]), src, dst: STACK, ms: [], badSum: false });
        await t.apply({ k: 'ip', proto: 1, payload: new Uint8Array([8, 0, 0xf7, 0xff, 0, 0, 0, 0]), src, dst: STACK, ms: [], fix: false, ttl: 64, opts: new Uint8Array(0) });
        expect(t.sentTotal).toBe(0);
        expect(t.stack.stats.Ip.InAddrErrors).toBe(5);
        expect(t.stack.stats.Ip.InDelivers).toBe(0);
        expect(t.stack.tcp.connectionCount).toBe(0);
        t.check();
        // The peer's own packets are still answered.
        await t.apply({ k: 'tcp', sport: 40000, dport: 1, flags: 0x02, rel: false, dseq: 1, dack: 0, window: 1000, raw: null, tsval: 0, payload: new Uint8Array(0), src: PEER, ms: [] });
        expect(t.sentTotal).toBe(1);
      } finally {
        t.close();
      }
    });
  }
});

describe('--impair spec round trip (found by fuzz: "seed=100" formatted as "none", losing the seed)', () => {
  it('a spec that only sets the seed formats and re-parses to itself; an empty one is still "none"', async () => {
    const { parseImpairSpec, formatImpairSpec } = await import('../../src/link/impair-spec.js');
    const s = parseImpairSpec('seed=100');
    if ('error' in s) throw new Error(s.error);
    expect(formatImpairSpec(s)).toBe('seed=100');
    expect(parseImpairSpec(formatImpairSpec(s))).toEqual(s);
    const none = parseImpairSpec('');
    if ('error' in none) throw new Error(none.error);
    expect(formatImpairSpec(none)).toBe('none');
  });
});
