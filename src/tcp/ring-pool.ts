/**
 * Free ring buffers for the send and receive buffers of every connection of a layer, by size (powers of two).
 *
 * A connection allocates its rings on its first byte and gives them back when it closes. Without a pool, a
 * Connection: close load allocated two fresh 16 KiB rings per connection — hundreds of MB/s of zero-filled
 * memory outside V8's heap, freed only when a collection found the dead wrappers, so RSS climbed with the
 * request rate. The pool hands the same rings round; what it keeps is capped (`maxBytes`), the rest is left
 * to the collector. A ring taken from the pool still holds an old connection's bytes: the buffers only ever
 * read back what they wrote themselves.
 *
 * A ring given back is not handed out again until `settle()`, which the layer calls at the start of each egress
 * pass: a segment queued in the pass may still point into a send ring that was given back later in the same
 * pass (a grow, an abort) — its payload is read by the link at the flush that ends the pass (`tails`).
 */
export class RingPool {
  /** Free rings by log2(size). */
  private readonly free: Uint8Array[][] = [];
  /** Given back since the last `settle()`. */
  private readonly resting: Uint8Array[] = [];
  private held = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held in the pool now. */
  get pooledBytes(): number {
    return this.held;
  }

  /** A ring of `size` bytes (a power of two). */
  take(size: number): Uint8Array {
    const list = this.free[31 - Math.clz32(size)];
    if (list !== undefined && list.length > 0) {
      this.held -= size;
      return list.pop()!;
    }
    return new Uint8Array(size);
  }

  /** Gives back a ring nothing refers to any more. */
  give(ring: Uint8Array): void {
    const size = ring.length;
    if (size === 0 || (size & (size - 1)) !== 0 || this.held + size > this.maxBytes) return;
    this.resting.push(ring);
    this.held += size;
  }

  /** Rings given back since the last call may be handed out again (nothing queued for the links points into them). */
  settle(): void {
    const r = this.resting;
    for (let i = 0; i < r.length; i++) {
      const ring = r[i]!;
      (this.free[31 - Math.clz32(ring.length)] ??= []).push(ring);
    }
    r.length = 0;
  }

  /** Lets go of every free ring (a closed layer keeps no memory for connections it will not have). */
  clear(): void {
    this.free.length = 0;
    this.resting.length = 0;
    this.held = 0;
  }
}

/** A pool that keeps nothing (buffers made outside a layer). */
export const NO_RING_POOL = new RingPool(0);
