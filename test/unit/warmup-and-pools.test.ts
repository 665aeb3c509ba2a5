/** The JIT warm-up, the memory link's offload mode, and the ring pool behind the send/receive buffers. */
import { describe, it, expect } from 'vitest';
import { warmUp } from '../../src/warmup.js';
import { MemoryLink } from '../../src/link/memory.js';
import { TunLoopback } from '../../src/link/tun-loopback.js';
import { RingPool } from '../../src/tcp/ring-pool.js';
import { FifoCopyArena } from '../../src/link/copy-arena.js';
import { SendBuffer } from '../../src/tcp/send-buffer.js';
import { META_CSUM_PARTIAL, META_CSUM_TRUSTED } from '../../src/wire/offload.js';

describe('warm-up', () => {
  it('serves keep-alive requests, new connections, downloads (one read slowly, one lossy, two to a Linux-sized window, two plain, the last eight times as long) and uploads between two in-process stacks', async () => {
    const bytes = 4 * 1024 * 1024;
    const r = await warmUp({ bytes, requests: 50, connections: 8, budgetMs: 30_000 });
    expect(r.requests).toBe(50);
    expect(r.connections).toBe(8);
    // a quarter with 1% loss each way, then two full uploads
    expect(r.uploaded).toBe(2 * bytes + bytes / 4);
    // a quarter read slowly, a quarter with loss, then twice a quarter to a Linux-sized window and a full one
    // (the second eight times as long): the bodies plus six response heads
    expect(r.downloaded).toBeGreaterThan(10 * bytes);
    expect(r.downloaded).toBeLessThan(10 * bytes + 6 * 1024);
  });
});

describe('TUN loopback pair', () => {
  it('carries a super-segment with a partial checksum through the virtio header, as a TUN with offloads', async () => {
    const { a, b } = new TunLoopback();
    expect(a.vnetHdr).toBe(true);
    expect(a.offloads).toEqual({ txChecksum: true, tso4: true, tso6: true });
    const got: { len: number; meta: number; first: number }[] = [];
    b.setReceiver((pkts, n, meta) => {
      for (let i = 0; i < n; i++) got.push({ len: pkts[i]!.length, meta: meta ? meta[i]! : -1, first: pkts[i]![40]! });
    });
    // IPv4 + TCP (20 + 20 bytes), 3000 bytes of payload cut in 1448-byte segments, checksum left partial
    const p = new Uint8Array(3040);
    p[0] = 0x45;
    p[2] = 0;
    p[3] = 0; // a super-segment's IPv4 total length may be anything: the kernel rewrites it per segment
    p[9] = 6;
    p[32] = 0x50;
    p[40] = 0xab;
    const sent = Uint8Array.from(p);
    a.send([p], 1, Uint32Array.of(1448 | META_CSUM_PARTIAL));
    p[40] = 0; // the write copied it
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([{ len: 3040, meta: 1448 | META_CSUM_PARTIAL | META_CSUM_TRUSTED, first: sent[40] }]);
    expect(b.rxGsoPackets).toBe(1);
    expect(a.txGsoPackets).toBe(1);
    a.close();
    b.close();
  });

  it('loses the given fraction of packets', async () => {
    const loop = new TunLoopback();
    let got = 0;
    loop.b.setReceiver((_p, n) => (got += n));
    loop.loss = 0.1;
    const p = new Uint8Array(60);
    p[0] = 0x45;
    for (let i = 0; i < 2000; i++) loop.a.send([p], 1);
    for (let i = 0; i < 40; i++) await new Promise((r) => setImmediate(r));
    expect(got).toBeGreaterThan(1700);
    expect(got).toBeLessThan(1900);
    loop.a.close();
    loop.b.close();
  });
});

describe('MemoryLink offloads', () => {
  it('passes super-segments with their meta word, a partial checksum arriving trusted', () => {
    const [a, b] = MemoryLink.pair({ mtu: 1500, offloads: true });
    const got: { len: number; meta: number }[] = [];
    b.setReceiver((pkts, n, meta) => {
      for (let i = 0; i < n; i++) got.push({ len: pkts[i]!.length, meta: meta ? meta[i]! : -1 });
    });
    expect(a.offloads).toEqual({ txChecksum: true, tso4: true, tso6: true });
    a.send([new Uint8Array(30000), new Uint8Array(30000), new Uint8Array(100)], 3, Uint32Array.of(1448 | META_CSUM_PARTIAL, 0, 0));
    b.deliver();
    // the second is too big without a GSO size: dropped as on a real link
    expect(got).toEqual([
      { len: 30000, meta: 1448 | META_CSUM_PARTIAL | META_CSUM_TRUSTED },
      { len: 100, meta: 0 },
    ]);
    expect(a.stats.mtuDrops).toBe(1);
  });

  it('with copyOnSend, the sender may reuse its buffer at once', () => {
    const [a, b] = MemoryLink.pair({ copyOnSend: true });
    expect(a.sendsSynchronously).toBe(true);
    const seen: number[] = [];
    b.setReceiver((pkts, n) => {
      for (let i = 0; i < n; i++) seen.push(pkts[i]![0]!);
    });
    const buf = new Uint8Array(64);
    for (let k = 1; k <= 3; k++) {
      buf[0] = k;
      a.send([buf], 1);
    }
    b.deliver();
    expect(seen).toEqual([1, 2, 3]);
  });
});

describe('RingPool', () => {
  it('hands rings round by size and keeps at most maxBytes', () => {
    const pool = new RingPool(48 * 1024);
    const r1 = pool.take(16384);
    const r2 = pool.take(32768);
    pool.give(r1);
    pool.give(r2);
    pool.give(new Uint8Array(16384)); // over the cap: left to the collector
    expect(pool.pooledBytes).toBe(48 * 1024);
    pool.settle();
    expect(pool.take(16384)).toBe(r1);
    expect(pool.take(32768)).toBe(r2);
    expect(pool.take(16384)).not.toBe(r1);
    pool.give(new Uint8Array(3000)); // not a power of two: never pooled
    expect(pool.pooledBytes).toBe(0);
  });

  it('hands a ring given back out again only after settle(): a queued packet may still point into it', () => {
    const pool = new RingPool(1 << 20);
    const r1 = pool.take(16384);
    pool.give(r1);
    const r2 = pool.take(16384);
    expect(r2).not.toBe(r1);
    pool.settle();
    expect(pool.take(16384)).toBe(r1);
  });

  it('a send buffer gives its ring back when released and takes it again on the next write', () => {
    const pool = new RingPool(1 << 20);
    const sb = new SendBuffer(1 << 20, 16384, pool);
    sb.write(new Uint8Array(100).fill(7), 0, 100);
    expect(sb.allocated).toBe(16384);
    sb.release(); // still holds bytes: kept
    expect(sb.allocated).toBe(16384);
    sb.consume(100);
    sb.release();
    expect(sb.allocated).toBe(0);
    expect(pool.pooledBytes).toBe(16384);
    pool.settle(); // the layer's next egress pass
    sb.write(Uint8Array.of(1, 2, 3), 0, 3);
    expect(pool.pooledBytes).toBe(0);
    const out = new Uint8Array(3);
    sb.copyOut(0, 3, out, 0);
    expect([...out]).toEqual([1, 2, 3]);
  });
});

describe('FifoCopyArena', () => {
  it('reuses areas whose copies were all read, so a queue that never drains makes no garbage', () => {
    const arena = new FifoCopyArena(4096, 1);
    const packet = (b: number): Uint8Array => new Uint8Array(1000).fill(b);
    // A queue that always holds a few packets: written ahead, read behind, never empty.
    const queue: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for (let i = 0; i < 3; i++) queue.push(arena.copy(packet(i)));
    for (let i = 3; i < 400; i++) {
      const v = arena.copy(packet(i & 0xff));
      buffers.add(v.buffer);
      queue.push(v);
      const oldest = queue.shift()!;
      expect(oldest[0]).toBe((i - 3) & 0xff); // not overwritten while queued
      expect(oldest[999]).toBe((i - 3) & 0xff);
      arena.consumed(oldest);
    }
    // Four 1,000-byte copies fit an area: two areas and the free one take turns.
    expect(buffers.size).toBeLessThanOrEqual(3);
  });

  it('a packet larger than an area gets an area of its own, and copies stay 8-byte aligned', () => {
    const arena = new FifoCopyArena(1024);
    const a = arena.copy(new Uint8Array(13).fill(1));
    const b = arena.copy(new Uint8Array(5000).fill(2));
    const c = arena.copy(new Uint8Array(10).fill(3));
    expect(b.length).toBe(5000);
    expect([a[12], b[4999], c[9]]).toEqual([1, 2, 3]);
    expect(c.byteOffset % 8).toBe(0);
    arena.consumed(a);
    arena.consumed(b);
    arena.consumed(c);
    arena.consumed(c); // twice: ignored
    const d = arena.copy(new Uint8Array(8).fill(4));
    expect(d[7]).toBe(4);
  });
});
