/**
 * Copies of packets in one reusable area: a link that must take a packet at once (the sender reuses its buffer
 * on return) copies it here, and once every copy has been read the area is used again from its start — no
 * garbage per packet. A full area is replaced, never overwritten: views into the old one stay valid.
 */
const EMPTY = new Uint8Array(0);

export class CopyArena {
  private area = EMPTY;
  private used = 0;

  /**
   * @param minBytes size of a new area (at least the packet)
   * @param doubling a new area is twice the last one (for a backlog that keeps growing), else the same size
   */
  constructor(
    private readonly minBytes: number,
    private readonly doubling: boolean,
  ) {}

  /** A copy of `p` followed by `tail` (the rest of a packet in two pieces: src/link/link.ts `tails`). */
  copy(p: Uint8Array, tail: Uint8Array = EMPTY): Uint8Array {
    const n = p.length + tail.length;
    if (this.used + n > this.area.length) {
      this.area = new Uint8Array(Math.max(this.minBytes, this.doubling ? this.area.length * 2 : this.area.length, n));
      this.used = 0;
    }
    const v = this.area.subarray(this.used, this.used + n);
    v.set(p);
    if (tail.length > 0) v.set(tail, p.length);
    this.used = (this.used + n + 7) & ~7; // 8-byte aligned copies (IP/TCP headers stay word-aligned)
    return v;
  }

  /** Every copy has been read: the area is used again from its start. */
  reset(): void {
    this.used = 0;
  }

  /** Lets go of the area (the link is closed). */
  release(): void {
    this.area = EMPTY;
    this.used = 0;
  }
}

interface Area {
  readonly bytes: Uint8Array;
  used: number;
  /** Copies in this area not consumed yet. */
  live: number;
}

/**
 * Copies of packets read back in the order they were written (a device queue): an area whose copies have all
 * been consumed is used again — the current one from its start, a filled one from a small free list — so a
 * queue that never drains (a transfer both ways) reuses a few areas instead of leaving one behind per area's
 * worth of packets for the garbage collector. Memory stays at the largest backlog, plus `keepFree` areas.
 */
export class FifoCopyArena {
  private current: Area | null = null;
  private readonly free: Area[] = [];
  private readonly areas = new Map<ArrayBufferLike, Area>();

  constructor(
    private readonly areaBytes: number,
    private readonly keepFree = 2,
  ) {}

  /** A copy of `p` followed by `tail` (the rest of a packet in two pieces: src/link/link.ts `tails`). */
  copy(p: Uint8Array, tail: Uint8Array = EMPTY): Uint8Array {
    const n = p.length + tail.length;
    let a = this.current;
    if (a === null || a.used + n > a.bytes.length) {
      if (a !== null && a.live === 0 && n <= a.bytes.length) a.used = 0;
      else {
        a = this.take(n);
        this.current = a;
      }
    }
    const v = a.bytes.subarray(a.used, a.used + n);
    v.set(p);
    if (tail.length > 0) v.set(tail, p.length);
    a.used = (a.used + n + 7) & ~7; // 8-byte aligned copies (IP/TCP headers stay word-aligned)
    a.live++;
    return v;
  }

  /** The copy `v` (from copy()) has been read and is referenced no more. */
  consumed(v: Uint8Array): void {
    const a = this.areas.get(v.buffer);
    if (a === undefined || a.live === 0) return;
    if (--a.live > 0) return;
    a.used = 0;
    if (a === this.current) return;
    if (this.free.length < this.keepFree) this.free.push(a);
    else this.areas.delete(a.bytes.buffer);
  }

  /** Lets go of every area (the device is closed). */
  release(): void {
    this.current = null;
    this.free.length = 0;
    this.areas.clear();
  }

  private take(n: number): Area {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const a = this.free[i]!;
      if (a.bytes.length >= n) {
        this.free.splice(i, 1);
        return a;
      }
    }
    const a: Area = { bytes: new Uint8Array(Math.max(this.areaBytes, n)), used: 0, live: 0 };
    this.areas.set(a.bytes.buffer, a);
    return a;
  }
}
