/**
 * The transmit slab: packets are cut from 1 MiB slabs; after a flush in which every link was done with its
 * buffers, the slabs that batch filled are used again instead of being allocated (zeroed) anew — a bulk
 * sender fills several per batch. After a flush in which a link kept its buffers, they are left to the GC.
 */
import { describe, it, expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { TX_SLAB_BYTES, TX_SPARE_SLABS } from '../../src/ip/ipv4.js';

const PACKET = 60_000;
/** Packets of PACKET bytes (plus the IP header) that fill about three slabs. */
const BATCH = Math.ceil((3 * TX_SLAB_BYTES) / PACKET);

function fill(stack: Stack, n: number): Set<ArrayBufferLike> {
  const buffers = new Set<ArrayBufferLike>();
  for (let i = 0; i < n; i++) {
    const b = stack.ip.allocateUnzeroed(PACKET);
    b.fill(0xab);
    buffers.add(b.buffer);
  }
  return buffers;
}

describe('transmit slab', () => {
  it('reuses the slabs a batch filled once a synchronous flush has sent them', () => {
    const stack = new Stack();
    const first = fill(stack, BATCH);
    expect(first.size).toBeGreaterThanOrEqual(3);
    stack.ip.recycleTx();
    const second = fill(stack, BATCH);
    for (const b of second) expect(first.has(b)).toBe(true);
    stack.close();
  });

  it('keeps at most TX_SPARE_SLABS whole slabs besides the current one', () => {
    const stack = new Stack();
    const many = fill(stack, Math.ceil(((TX_SPARE_SLABS + 4) * TX_SLAB_BYTES) / PACKET));
    stack.ip.recycleTx();
    const again = fill(stack, Math.ceil(((TX_SPARE_SLABS + 4) * TX_SLAB_BYTES) / PACKET));
    const reused = [...again].filter((b) => many.has(b)).length;
    expect(reused).toBeGreaterThan(0);
    expect(reused).toBeLessThanOrEqual(TX_SPARE_SLABS + 1);
    stack.close();
  });

  it('a zeroed buffer from a reused slab is zeroed', () => {
    const stack = new Stack();
    fill(stack, BATCH);
    stack.ip.recycleTx();
    fill(stack, 17); // into a reused slab
    const z = stack.ip.allocate(PACKET);
    expect(z.every((v) => v === 0)).toBe(true);
    stack.close();
  });

  it('after a flush whose link kept its buffers, the slabs filled so far are never handed out again', () => {
    const stack = new Stack();
    const first = fill(stack, BATCH);
    stack.ip.forgetFilledTx(); // a delay queue or a memory link still holds those packets
    const second = fill(stack, BATCH);
    stack.ip.recycleTx();
    const third = fill(stack, BATCH);
    for (const b of third) expect(first.has(b)).toBe(false);
    expect([...third].some((b) => second.has(b))).toBe(true);
    stack.close();
  });
});
