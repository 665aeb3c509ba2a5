/**
 * A young-generation collection paced by the encrypted bytes node:tls hands to tunstack sockets.
 *
 * node:tls over a stream that is not a net.Socket (our TcpSocket) goes through Node's JSStreamSocket: every batch
 * of TLS records leaves OpenSSL as fresh Buffers copied out of its output BIO (node::JSStream::DoWrite →
 * Buffer::Copy), memory outside V8's heap that is dead as soon as the socket copied it into its send buffer. V8
 * frees such a backing store only when it collects the small JS object that holds it, and counts the bytes as
 * external memory meanwhile; a 64 KiB record batch weighs ~100 bytes on the heap, so a download over TLS piles up
 * tens of MB of dead records long before the young generation fills, and V8 answers that external-memory
 * pressure (Heap::ReportExternalMemoryPressure) with incremental marking and a full mark-compact of the whole
 * heap: ~10 of them per 200 MB downloaded, ~20 ms each on the main thread plus the concurrent markers' time —
 * about 40 % of the stack process's CPU per MB. A scavenge frees the same buffers for the cost of the few young
 * objects still alive, so one is run after every YOUNG_COLLECTION_BYTES of records written (measured: 1–3
 * mark-compacts per 200 MB instead of 9–13).
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Encrypted bytes written between two young-generation collections. */
export const YOUNG_COLLECTION_BYTES = 8 * 1024 * 1024;

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let minorGc: GcFunction | null | undefined;

/** V8's gc(), reached without --expose-gc on the command line (as src/warmup.ts does); null if V8 refuses. */
function gcFunction(): GcFunction | null {
  if (minorGc !== undefined) return minorGc;
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('typeof gc === "function" ? gc : null') as GcFunction | null;
  minorGc = gc;
  return gc;
}

/** Counts written record bytes (`note`, for TcpSocket#onWriteBatch) and runs a scavenge every `every` bytes. */
export class YoungBufferCollector {
  private pending = 0;
  /** Young-generation collections run so far. */
  collections = 0;
  private readonly gc: GcFunction | null;

  constructor(private readonly every = YOUNG_COLLECTION_BYTES) {
    this.gc = gcFunction();
  }

  readonly note = (bytes: number): void => {
    this.pending += bytes;
    if (this.pending < this.every || this.gc === null) return;
    this.pending = 0;
    this.collections++;
    this.gc({ type: 'minor' });
  };
}
