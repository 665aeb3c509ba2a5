/**
 * Capture rotation like tcpdump's `-C SIZE -W COUNT`: once a file holds
 * `maxBytes`, the capture goes on in the next one, each starting with the
 * same global header. Files are `x.pcap`, `x.1.pcap`, `x.2.pcap`, …; with a
 * count, the numbers cycle and the oldest file is overwritten, so the
 * capture never takes more than about COUNT × SIZE of disk.
 *
 * The writer hands over whole records in chunks of up to 64 KiB (never a
 * record split across chunks), so every file holds whole packets; a file is
 * closed before a chunk would take it past `maxBytes` (only a file whose
 * first chunk is larger than that passes it).
 */
import { PcapFileSink, type PcapSink } from '../wire/pcap.js';

/** `x.pcap` → `x.N.pcap` (without an extension, `x.N`); file 0 is the name itself. */
export function rotatedName(path: string, index: number): string {
  if (index === 0) return path;
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}.${index}${path.slice(dot)}` : `${path}.${index}`;
}

export class RotatingFileSink implements PcapSink {
  private header: Uint8Array | null = null;
  private file: PcapFileSink;
  private index = 0;
  private written = 0;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    /** Files kept (cycled); null: a new file every time, none overwritten. */
    private readonly count: number | null,
  ) {
    this.file = new PcapFileSink(path);
  }

  /** The file being written now. */
  get currentFile(): string {
    return rotatedName(this.path, this.index);
  }

  write(chunk: Uint8Array): void {
    if (this.header === null) {
      // The first chunk is the writer's global header: every file starts with it.
      this.header = chunk.slice();
    } else if (this.written + chunk.length > this.maxBytes && this.written > this.header.length) {
      this.rotate();
    }
    this.file.write(chunk);
    this.written += chunk.length;
  }

  private rotate(): void {
    this.file.close();
    this.index++;
    if (this.count !== null && this.index >= this.count) this.index = 0;
    this.file = new PcapFileSink(this.currentFile);
    this.file.write(this.header!);
    this.written = this.header!.length;
  }

  close(): void {
    this.file.close();
  }
}
