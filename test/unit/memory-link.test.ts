import { describe, it, expect } from 'vitest';
import { MemoryLink, pumpAll } from '../../src/link/memory.js';

function pkt(id: number, len = 20): Uint8Array {
  const b = new Uint8Array(len);
  b[0] = id & 0xff;
  b[1] = (id >>> 8) & 0xff;
  return b;
}
const idOf = (b: Uint8Array): number => b[0]! | (b[1]! << 8);

/** Records every batch a link delivers (ids and batch sizes). */
function recorder(link: MemoryLink): { ids: number[]; batches: number[] } {
  const rec = { ids: [] as number[], batches: [] as number[] };
  link.setReceiver((packets, count) => {
    rec.batches.push(count);
    for (let i = 0; i < count; i++) rec.ids.push(idOf(packets[i]!));
  });
  return rec;
}

describe('MemoryLink', () => {
  it('pairs two sides with names and mtu', () => {
    const [a, b] = MemoryLink.pair({ mtu: 1280, names: ['left', 'right'] });
    expect(a.name).toBe('left');
    expect(b.name).toBe('right');
    expect(a.mtu).toBe(1280);
    expect(b.mtu).toBe(1280);
    const [c, d] = MemoryLink.pair();
    expect([c.name, d.name, c.mtu]).toEqual(['mem0', 'mem1', 1500]);
  });

  it('never delivers synchronously inside send', () => {
    const [a, b] = MemoryLink.pair();
    const rec = recorder(b);
    a.send([pkt(1), pkt(2)], 2);
    expect(rec.ids).toEqual([]);
    expect(b.pending).toBe(2);
    expect(a.pending).toBe(0);
    expect(b.deliver()).toBe(2);
    expect(rec.ids).toEqual([1, 2]);
    expect(b.pending).toBe(0);
  });

  it('keeps order across sends and hands the same buffers (no copy)', () => {
    const [a, b] = MemoryLink.pair();
    const sent: Uint8Array[] = [];
    const got: Uint8Array[] = [];
    b.setReceiver((p, n) => {
      for (let i = 0; i < n; i++) got.push(p[i]!);
    });
    for (let i = 0; i < 10; i++) {
      const batch = [pkt(3 * i), pkt(3 * i + 1), pkt(3 * i + 2)];
      sent.push(...batch);
      a.send(batch, i % 3 === 0 ? 2 : 3); // count smaller than the array: only the first `count` go
      if (i % 3 === 0) sent.pop();
    }
    b.pump();
    expect(got.map(idOf)).toEqual(sent.map(idOf));
    for (let i = 0; i < sent.length; i++) expect(got[i]).toBe(sent[i]);
    expect(a.stats.sent).toBe(sent.length);
    expect(b.stats.delivered).toBe(sent.length);
  });

  it('delivers in batches of at most batchLimit, one receiver call per batch', () => {
    const [a, b] = MemoryLink.pair({ batchLimit: 64 });
    const rec = recorder(b);
    const many = Array.from({ length: 150 }, (_, i) => pkt(i));
    a.send(many, many.length);
    expect(b.deliver()).toBe(150);
    expect(rec.batches).toEqual([64, 64, 22]);
    expect(rec.ids).toEqual(many.map((_, i) => i));

    const [c, d] = MemoryLink.pair({ batchLimit: 4 });
    const rec2 = recorder(d);
    c.send(many.slice(0, 10), 10);
    expect(d.deliver(2)).toBe(8); // bounded number of receiver calls
    expect(d.pending).toBe(2);
    d.deliver();
    expect(rec2.batches).toEqual([4, 4, 2]);
  });

  it('drops and counts packets larger than the mtu', () => {
    const [a, b] = MemoryLink.pair({ mtu: 100 });
    const rec = recorder(b);
    a.send([pkt(1, 100), pkt(2, 101), pkt(3, 50)], 3);
    b.deliver();
    expect(rec.ids).toEqual([1, 3]);
    expect(a.drops).toBe(1);
    expect(a.stats.mtuDrops).toBe(1);
    expect(b.drops).toBe(0);
  });

  it('answers sent from a receiver wait for the next pump (no recursion)', () => {
    const [a, b] = MemoryLink.pair();
    let depth = 0;
    let maxDepth = 0;
    let bounces = 0;
    const echo = (self: MemoryLink) => (p: readonly Uint8Array[], n: number) => {
      depth++;
      maxDepth = Math.max(maxDepth, depth);
      for (let i = 0; i < n; i++) {
        const id = idOf(p[i]!);
        bounces++;
        if (id < 20) self.send([pkt(id + 1)], 1);
      }
      depth--;
    };
    a.setReceiver(echo(a));
    b.setReceiver(echo(b));
    a.send([pkt(0)], 1);
    expect(pumpAll([a, b])).toBe(21); // ids 0..20
    expect(bounces).toBe(21);
    expect(maxDepth).toBe(1);
    expect(a.pending + b.pending).toBe(0);
  });

  it('a re-entrant deliver on the same side does nothing', () => {
    const [a, b] = MemoryLink.pair();
    let inner = -1;
    b.setReceiver(() => {
      inner = b.deliver();
    });
    a.send([pkt(1)], 1);
    b.deliver();
    expect(inner).toBe(0);
  });

  it('pumpAll stops after maxRounds on endless ping-pong', () => {
    const [a, b] = MemoryLink.pair();
    a.setReceiver((p, n) => a.send([pkt(idOf(p[n - 1]!))], 1));
    b.setReceiver((p, n) => b.send([pkt(idOf(p[n - 1]!))], 1));
    a.send([pkt(7)], 1);
    // Round 1: b delivers 7 (a had nothing); then each round both sides deliver one.
    expect(pumpAll([a, b], 5)).toBe(1 + 2 * 4);
    expect(a.pending + b.pending).toBe(1);
    expect(pumpAll([])).toBe(0);
  });

  it('close drops further sends both ways, clears the inbox and the receiver', () => {
    const [a, b] = MemoryLink.pair();
    const recA = recorder(a);
    const recB = recorder(b);
    a.send([pkt(1)], 1);
    b.send([pkt(2)], 1);
    b.close();
    expect(b.isClosed).toBe(true);
    expect(b.pending).toBe(0);
    expect(b.deliver()).toBe(0);
    a.send([pkt(3)], 1); // to a closed side
    b.send([pkt(4)], 1); // from a closed side
    expect(a.stats.closedDrops).toBe(1);
    expect(b.stats.closedDrops).toBe(2); // the queued packet 1 and the send of 4
    pumpAll([a, b]);
    expect(recB.ids).toEqual([]);
    expect(recA.ids).toEqual([2]); // sent before the close
    b.setReceiver(() => {
      throw new Error('closed link must not deliver');
    });
    b.close(); // idempotent
    pumpAll([a, b]);
  });

  it('counts packets that arrive with no receiver installed', () => {
    const [a, b] = MemoryLink.pair();
    a.send([pkt(1), pkt(2)], 2);
    expect(b.deliver()).toBe(2);
    expect(b.stats.noReceiverDrops).toBe(2);
    expect(b.drops).toBe(2);
  });

  it('autoDeliver delivers on a microtask, batched', async () => {
    const [a, b] = MemoryLink.pair({ autoDeliver: true });
    const rec = recorder(b);
    a.send([pkt(1)], 1);
    a.send([pkt(2), pkt(3)], 2);
    expect(rec.ids).toEqual([]);
    await Promise.resolve();
    expect(rec.ids).toEqual([1, 2, 3]);
    expect(rec.batches).toEqual([3]);
  });

  it('rejects bad options', () => {
    expect(() => MemoryLink.pair({ mtu: 0 })).toThrow(RangeError);
    expect(() => MemoryLink.pair({ batchLimit: 0 })).toThrow(RangeError);
  });
});
