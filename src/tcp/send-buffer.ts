/**
 * The send buffer (SO_SNDBUF): bytes from SND.UNA on — sent-but-unacked,
 * then not yet sent — in a ring that grows (powers of two) up to its
 * capacity. Application bytes are copied in once; a small segment copies its
 * payload out next to its headers, a large one is written to the link from the
 * ring itself (`view`: no second copy); an ACK just moves the head.
 *
 * The ring is allocated on the first write (`initial` bytes or more) and
 * given back by `release()` once empty (a connection in TIME-WAIT, or closed,
 * keeps no buffer: thousands of them cost no memory).
 */
import { NO_RING_POOL, type RingPool } from './ring-pool.js';

const EMPTY = new Uint8Array(0);

export class SendBuffer {
  private buf: Uint8Array = EMPTY;
  private mask = 0;
  private head = 0;
  /** Bytes held (from SND.UNA). */
  length = 0;

  /** Most bytes held (grows with autotuning: `growCapacity`). */
  private cap: number;

  constructor(
    capacity: number,
    private readonly initial = 16 * 1024,
    private readonly pool: RingPool = NO_RING_POOL,
  ) {
    this.cap = capacity;
  }

  get capacity(): number {
    return this.cap;
  }

  /** Raises the capacity to `bytes` (never lowers it); the ring follows when writes need it. */
  growCapacity(bytes: number): void {
    if (bytes > this.cap) this.cap = bytes;
  }

  /** Sets the capacity to `bytes` (SO_SNDBUF), lower or higher; held bytes above it stay until acknowledged. */
  setCapacity(bytes: number): void {
    this.cap = bytes;
  }

  /** Bytes of ring allocated now (0 before the first write and after `release`). */
  get allocated(): number {
    return this.buf.length;
  }

  /** Gives the ring back when nothing is held; the next write allocates again. */
  release(): void {
    if (this.length !== 0) return;
    this.pool.give(this.buf);
    this.buf = EMPTY;
    this.mask = 0;
    this.head = 0;
  }

  get free(): number {
    return Math.max(0, this.capacity - this.length);
  }

  private grow(need: number): void {
    let n = this.buf.length;
    if (n === 0) {
      n = 1024;
      while (n < Math.min(this.initial, this.capacity)) n *= 2;
    }
    while (n < need) n *= 2;
    const nb = this.pool.take(n);
    this.copyOut(0, this.length, nb, 0);
    this.pool.give(this.buf);
    this.buf = nb;
    this.mask = n - 1;
    this.head = 0;
  }

  /** Appends up to `free` bytes of src[off, off+len); returns how many were taken. */
  write(src: Uint8Array, off: number, len: number): number {
    const n = Math.min(len, this.capacity - this.length);
    if (n <= 0) return 0;
    if (this.length + n > this.buf.length) this.grow(this.length + n);
    const size = this.buf.length;
    const tail = (this.head + this.length) & this.mask;
    const first = Math.min(n, size - tail);
    this.buf.set(first === len && off === 0 && src.length === len ? src : src.subarray(off, off + first), tail);
    if (first < n) this.buf.set(src.subarray(off + first, off + n), 0);
    this.length += n;
    return n;
  }

  /** Copies `len` bytes starting `offset` bytes after SND.UNA into dst[dstOff..]. */
  copyOut(offset: number, len: number, dst: Uint8Array, dstOff: number): void {
    if (len <= 0) return;
    const size = this.buf.length;
    const start = (this.head + offset) & this.mask;
    const first = Math.min(len, size - start);
    dst.set(this.buf.subarray(start, start + first), dstOff);
    if (first < len) dst.set(this.buf.subarray(0, len - first), dstOff + first);
  }

  /**
   * The `len` bytes starting `offset` bytes after SND.UNA as a view of the ring, or null when they wrap round
   * its end. The view is valid until the bytes are acknowledged or the ring is given back (`grow`, `release`):
   * the link reads it in the same flush (src/link/link.ts `tails`), and the layer's ring pool keeps a ring
   * given back out of use until the next egress pass (src/tcp/ring-pool.ts).
   */
  view(offset: number, len: number): Uint8Array | null {
    const start = (this.head + offset) & this.mask;
    return start + len <= this.buf.length ? this.buf.subarray(start, start + len) : null;
  }

  /** Drops `n` acknowledged bytes from the front. */
  consume(n: number): void {
    if (n >= this.length) {
      this.head = 0;
      this.length = 0;
      return;
    }
    this.head = (this.head + n) & this.mask;
    this.length -= n;
  }
}
