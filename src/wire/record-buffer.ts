/**
 * The buffering both capture writers share (pcap.ts, pcapng.ts): records are written into one 64 KiB chunk
 * and handed to the sink a chunk at a time — one write per chunk, not per packet; a record larger than a
 * chunk gets a chunk of its own.
 */

const CHUNK = 64 * 1024;

/** Where the bytes go (pcap.ts's PcapSink has this shape). */
export interface ChunkSink {
  write(chunk: Uint8Array): void;
  close?(): void;
}

export class RecordBuffer {
  chunk: Uint8Array = new Uint8Array(CHUNK);
  view: DataView = new DataView(this.chunk.buffer);
  private used = 0;
  closed = false;

  constructor(private readonly sink: ChunkSink) {}

  /** Room for a record of `size` bytes: its offset in `chunk` (flushed or grown first when needed). */
  reserve(size: number): number {
    if (this.used + size > this.chunk.length) {
      this.flush();
      if (size > this.chunk.length) {
        this.chunk = new Uint8Array(size);
        this.view = new DataView(this.chunk.buffer);
      }
    }
    return this.used;
  }

  /** The record reserved at `at` is written and `size` bytes long. */
  commit(at: number, size: number): void {
    this.used = at + size;
  }

  /** Hands whatever is pending to the sink. */
  flush(): void {
    if (this.used === 0) return;
    const out = this.chunk.subarray(0, this.used);
    this.chunk = new Uint8Array(CHUNK);
    this.view = new DataView(this.chunk.buffer);
    this.used = 0;
    this.sink.write(out);
  }

  /** Flushes and closes the sink (if it has `close`); later records are ignored. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.sink.close?.();
  }
}
