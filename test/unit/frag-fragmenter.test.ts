import { describe, it, expect } from 'vitest';
import { fragmentDatagram } from '../../src/ip/fragmenter.js';
import { Stats } from '../../src/stats.js';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { checksumOk } from '../../src/wire/checksum.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { echoRequest, ipPacket } from '../helpers/packets.js';
import { header } from '../helpers/frag.js';

function split(p: Uint8Array, mtu: number) {
  const stats = new Stats();
  const out: Uint8Array[] = [];
  const n = fragmentDatagram(p, mtu, stats, (f) => out.push(f));
  return { stats, out, n };
}

describe('fragmenter', () => {
  it('splits a 4028-byte datagram at a 1500 MTU like Linux: 1480 + 1480 + 1048, same id, MF on all but the last', () => {
    const p = echoRequest(1, 1, new Uint8Array(4000).map((_, i) => i & 0xff), { id: 0xf222 });
    const { out, stats } = split(p, 1500);
    expect(out.map((f) => f.length)).toEqual([1500, 1500, 1068]);
    const hs = out.map(header);
    expect(hs.map((h) => h.fragmentOffset)).toEqual([0, 1480, 2960]);
    expect(hs.map((h) => h.moreFragments)).toEqual([true, true, false]);
    expect(hs.every((h) => h.id === 0xf222 && h.ttl === 64 && h.protocol === 1)).toBe(true);
    expect(out.every((f) => checksumOk(f, 0, 20))).toBe(true);
    expect([stats.Ip.FragOKs, stats.Ip.FragCreates]).toEqual([1, 3]);
    // the payload pieces concatenate to the original
    const joined = new Uint8Array(4008);
    for (let i = 0; i < out.length; i++) joined.set(out[i]!.subarray(20), hs[i]!.fragmentOffset);
    expect([...joined]).toEqual([...p.subarray(20)]);
  });

  it('cuts at 8-byte boundaries for an odd MTU', () => {
    const p = ipPacket(new Uint8Array(1000), { protocol: 17 });
    const { out } = split(p, 577);
    const hs = out.map(header);
    for (const h of hs.slice(0, -1)) expect((h.totalLength - h.headerLength) % 8).toBe(0);
    expect(out.every((f) => f.length <= 577)).toBe(true);
    expect(hs.map((h) => h.totalLength - 20).reduce((a, b) => a + b, 0)).toBe(1000);
  });

  it('copies only the options with the copied flag into later fragments', () => {
    // router alert (0x94, copied) then record route (0x07, not copied): 4 + 8 = 12 option bytes
    const opts = Uint8Array.from([0x94, 4, 0, 0, 0x07, 7, 4, 0, 0, 0, 0, 0]);
    const p = ipPacket(new Uint8Array(200), { protocol: 17, options: opts });
    const { out } = split(p, 100);
    const hs = out.map(header);
    expect(hs[0]!.headerLength).toBe(32);
    expect([...out[0]!.subarray(20, 32)]).toEqual([...opts]);
    for (let i = 1; i < out.length; i++) {
      expect(hs[i]!.headerLength).toBe(24);
      expect([...out[i]!.subarray(20, 24)]).toEqual([0x94, 4, 0, 0]);
    }
    let total = 0;
    for (const h of hs) total += h.totalLength - h.headerLength;
    expect(total).toBe(200);
  });

  it('refragments a fragment: offsets add up, the original MF stays on the last piece', () => {
    const p = ipPacket(new Uint8Array(1480), { protocol: 17, offset: 1480, mf: true, id: 9 });
    const { out } = split(p, 1000);
    const hs = out.map(header);
    expect(hs.map((h) => h.fragmentOffset)).toEqual([1480, 1480 + 976]);
    expect(hs.map((h) => h.moreFragments)).toEqual([true, true]);
  });

  it('an MTU without room for 8 data bytes fails, counted', () => {
    const p = ipPacket(new Uint8Array(100), { protocol: 17 });
    const { out, stats, n } = split(p, 27);
    expect(n).toBe(0);
    expect(out).toHaveLength(0);
    expect(stats.Ip.FragFails).toBe(1);
  });

  it('the stack fragments output larger than the MTU, and refuses with DF (EMSGSIZE)', () => {
    const stack = new Stack({ clock: new VirtualClock(0), autoFlush: false });
    const link = new CaptureLink(1500);
    stack.addInterface(link, '10.77.0.2/24', { defaultRoute: true });
    link.inject(echoRequest(1, 1, new Uint8Array(4000)));
    // the request (4028 bytes) arrives whole on this test link; the reply leaves in three fragments
    expect(link.take().map((f) => f.length)).toEqual([1500, 1500, 1068]);
    expect(stack.stats.Ip.FragCreates).toBe(3);
    const buf = stack.ip.allocate(3000);
    expect(stack.ip.output(buf, 3000, 0, 0x0a4d0001, 17, true)).toBe('EMSGSIZE');
    expect(stack.stats.Ip.FragFails).toBe(1);
  });
});
