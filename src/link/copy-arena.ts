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

  copy(p: Uint8Array): Uint8Array {
    const n = p.length;
    if (this.used + n > this.area.length) {
      this.area = new Uint8Array(Math.max(this.minBytes, this.doubling ? this.area.length * 2 : this.area.length, n));
      this.used = 0;
    }
    const v = this.area.subarray(this.used, this.used + n);
    v.set(p);
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
