/**
 * Captures on a running stack: `--pcap FILE` at start and
 * `tunstack capture --start FILE | --stop` later, through one PcapTap that
 * stays in the link chain (recording nothing while no capture is on).
 *
 * Crash safety: records are only ever handed to the file whole (the writer
 * never splits a record across chunks, and the file sink writes each chunk
 * with one synchronous loop), and a short timer flushes the pending chunk,
 * so a SIGKILL loses at most the last `flushIntervalMs` of packets and the
 * file stays readable up to its last whole packet.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { PcapTap } from '../link/pcap-tap.js';
import { PcapFileSink, PcapWriter, type PcapSink } from '../wire/pcap.js';

class CountingWriter extends PcapWriter {
  packets = 0;
  override writePacket(data: Uint8Array, timestampMs: number): void {
    this.packets++;
    super.writePacket(data, timestampMs);
  }
}

class CountingSink implements PcapSink {
  bytes = 0;
  constructor(private readonly inner: PcapFileSink) {}
  write(chunk: Uint8Array): void {
    this.inner.write(chunk);
    this.bytes += chunk.length;
  }
  close(): void {
    this.inner.close();
  }
}

export interface CaptureStatus {
  capturing: boolean;
  file: string | null;
  /** Packets recorded so far (in and out). */
  packets: number;
  /** Bytes in the file so far (flushed). */
  bytes: number;
  startedAt: string | null;
}

export class CaptureController {
  private writer: CountingWriter | null = null;
  private sink: CountingSink | null = null;
  private file: string | null = null;
  private startedAt: Date | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly tap: PcapTap,
    private readonly logger: Logger,
    readonly flushIntervalMs = 200,
  ) {}

  /** Starts a capture into `file` (truncated). Throws with a clear message when one is on or the file cannot be opened. */
  start(file: string): CaptureStatus {
    if (this.writer) throw new Error(`a capture is already running (into ${this.file}): stop it first with \`tunstack capture --stop\``);
    const path = resolve(file);
    let fileSink: PcapFileSink;
    try {
      fileSink = new PcapFileSink(path);
    } catch (e) {
      throw new Error(`cannot open capture file ${path}: ${(e as Error).message}`);
    }
    const sink = new CountingSink(fileSink);
    const writer = new CountingWriter(sink);
    this.tap.start(writer);
    this.writer = writer;
    this.sink = sink;
    this.file = path;
    this.startedAt = new Date();
    this.timer = setInterval(() => this.tap.flush(), this.flushIntervalMs);
    this.timer.unref();
    this.logger.info({ pcap: path }, 'capture started');
    return this.status();
  }

  /** Stops the capture (flushing and closing the file); returns its final status, or null when none was on. */
  stop(): CaptureStatus | null {
    if (!this.writer) return null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.tap.stop();
    const st = this.status();
    st.capturing = false;
    this.logger.info({ pcap: this.file, packets: st.packets, bytes: st.bytes }, 'capture stopped');
    this.writer = null;
    this.sink = null;
    this.file = null;
    this.startedAt = null;
    return st;
  }

  status(): CaptureStatus {
    return {
      capturing: this.writer !== null,
      file: this.file,
      packets: this.writer?.packets ?? 0,
      bytes: this.sink?.bytes ?? 0,
      startedAt: this.startedAt?.toISOString() ?? null,
    };
  }
}
