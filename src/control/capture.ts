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
import { PcapFileSink, PcapWriter, type CaptureFileWriter, type PcapSink } from '../wire/pcap.js';
import { PcapngWriter } from '../wire/pcapng.js';
import { TUNSTACK_VERSION } from '../version.js';
import { compileFilter, type PacketPredicate } from '../wire/packet-filter.js';
import { RotatingFileSink } from './rotating-sink.js';

/** What a capture keeps, as tcpdump's `-s SNAPLEN` and filter expression. */
export interface CaptureSettings {
  /** Bytes kept of each packet (the record keeps the original length); default 65535. */
  snaplen?: number;
  /** A filter expression (src/wire/packet-filter.ts): only matching packets are recorded. */
  filter?: string;
  /** Rotation (tcpdump -C): a new file once one holds this many bytes (src/control/rotating-sink.ts). */
  rotateBytes?: number;
  /** With rotateBytes (tcpdump -W): keep this many files, overwriting the oldest. */
  rotateCount?: number;
  /** File format: classic pcap or pcapng; default by the file name (`.pcapng` → pcapng), else pcap. */
  format?: CaptureFormat;
  /** pcapng timestamp resolution (tcpdump --time-stamp-precision): micro (default) or nano. */
  precision?: 'micro' | 'nano';
}

export type CaptureFormat = 'pcap' | 'pcapng';

/** The format a capture into `file` is written in: the one asked for, else pcapng for a `.pcapng` name. */
export function captureFormatFor(file: string, asked: CaptureFormat | undefined): CaptureFormat {
  return asked ?? (/\.pcapng$/i.test(file) ? 'pcapng' : 'pcap');
}

/** The largest snap length accepted (tcpdump's MAXIMUM_SNAPLEN). */
export const MAX_SNAPLEN = 262144;

/** The settings carried by a request (which has other fields beside them). */
export function captureSettingsOf(req: {
  snaplen?: number | undefined;
  filter?: string | undefined;
  rotateBytes?: number | undefined;
  rotateCount?: number | undefined;
  format?: CaptureFormat | undefined;
  precision?: 'micro' | 'nano' | undefined;
}): CaptureSettings {
  return {
    ...(req.format !== undefined ? { format: req.format } : {}),
    ...(req.precision !== undefined ? { precision: req.precision } : {}),
    ...(req.snaplen !== undefined ? { snaplen: req.snaplen } : {}),
    ...(req.filter !== undefined ? { filter: req.filter } : {}),
    ...(req.rotateBytes !== undefined ? { rotateBytes: req.rotateBytes } : {}),
    ...(req.rotateCount !== undefined ? { rotateCount: req.rotateCount } : {}),
  };
}

/** Checks the settings (for a capture into `file`, when known) before anything is opened; throws one line naming the problem. */
export function checkCaptureSettings(s: CaptureSettings, file?: string): PacketPredicate | null {
  if (s.snaplen !== undefined && !(Number.isInteger(s.snaplen) && s.snaplen >= 1 && s.snaplen <= MAX_SNAPLEN)) {
    throw new Error(`snaplen must be an integer from 1 to ${MAX_SNAPLEN} bytes (got ${String(s.snaplen)})`);
  }
  if (s.rotateBytes !== undefined && !(Number.isInteger(s.rotateBytes) && s.rotateBytes >= 1)) {
    throw new Error(`the rotation size must be a positive number of bytes (got ${String(s.rotateBytes)})`);
  }
  if (s.rotateCount !== undefined) {
    if (!(Number.isInteger(s.rotateCount) && s.rotateCount >= 1)) throw new Error(`the rotation count must be a positive integer (got ${String(s.rotateCount)})`);
    if (s.rotateBytes === undefined) throw new Error('a rotation count (-W) needs a rotation size (-C MB)');
  }
  if (s.format !== undefined && s.format !== 'pcap' && s.format !== 'pcapng') throw new Error(`the capture format is pcap or pcapng (got ${String(s.format)})`);
  if (s.precision !== undefined && s.precision !== 'micro' && s.precision !== 'nano') throw new Error(`the time stamp precision is micro or nano (got ${String(s.precision)})`);
  if (s.precision === 'nano' && (file !== undefined ? captureFormatFor(file, s.format) : s.format) === 'pcap') throw new Error('nanosecond time stamps need --format pcapng (this classic pcap writer keeps microseconds)');
  return s.filter !== undefined ? compileFilter(s.filter) : null;
}

/** The pcapng section comment: who wrote the file and what it keeps (tcpdump's expression, snap length). */
export function captureComment(s: CaptureSettings, snaplen: number): string {
  return `tunstack ${TUNSTACK_VERSION} capture; filter: ${s.filter !== undefined ? s.filter : '(none: every packet)'}; snaplen: ${snaplen} bytes`;
}

/** Records the packets that pass the filter (all when there is none; `keeps`), each cut to the snap length, in either format. */
class CaptureWriter implements CaptureFileWriter {
  packets = 0;
  constructor(
    private readonly inner: CaptureFileWriter,
    private readonly keep: PacketPredicate | null,
  ) {}
  get snaplen(): number {
    return this.inner.snaplen;
  }
  /** The tap asks this first (PcapTap.record): a packet the filter leaves out is never copied. */
  keeps(data: Uint8Array): boolean {
    return this.keep === null || this.keep(data);
  }
  writePacket(data: Uint8Array, timestampMs: number, direction?: 1 | 2): void {
    this.packets++;
    this.inner.writePacket(data, timestampMs, direction);
  }
  flush(): void {
    this.inner.flush();
  }
  close(): void {
    this.inner.close();
  }
}

class CountingSink implements PcapSink {
  bytes = 0;
  constructor(private readonly inner: PcapFileSink | RotatingFileSink) {}
  /** The file being written now (rotation moves on to others). */
  get file(): string {
    return this.inner instanceof RotatingFileSink ? this.inner.currentFile : this.inner.path;
  }
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
  /** Bytes kept per packet; null when no capture is on. */
  snaplen: number | null;
  /** The filter expression; null when none (or no capture). */
  filter: string | null;
  /** The file written now: `file`, or with rotation the latest of its numbered successors. */
  currentFile: string | null;
  /** pcap or pcapng; null when no capture is on. */
  format: CaptureFormat | null;
}

export class CaptureController {
  private writer: CaptureWriter | null = null;
  private filter: string | null = null;
  private format: CaptureFormat | null = null;
  private sink: CountingSink | null = null;
  private file: string | null = null;
  private startedAt: Date | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly tap: PcapTap,
    private readonly logger: Logger,
    readonly flushIntervalMs = 200,
  ) {}

  /**
   * Starts a capture into `file` (truncated), keeping what `settings` ask for. Throws with a clear
   * message when one is on, the settings are not valid or the file cannot be opened.
   */
  start(file: string, settings: CaptureSettings = {}): CaptureStatus {
    if (this.writer) throw new Error(`a capture is already running (into ${this.file}): stop it first with \`tunstack capture --stop\``);
    const path = resolve(file);
    const keep = checkCaptureSettings(settings, path);
    let fileSink: PcapFileSink | RotatingFileSink;
    try {
      fileSink = settings.rotateBytes !== undefined ? new RotatingFileSink(path, settings.rotateBytes, settings.rotateCount ?? null) : new PcapFileSink(path);
    } catch (e) {
      throw new Error(`cannot open capture file ${path}: ${(e as Error).message}`);
    }
    const sink = new CountingSink(fileSink);
    const format = captureFormatFor(path, settings.format);
    const snaplen = settings.snaplen ?? 65535;
    const inner: CaptureFileWriter =
      format === 'pcapng'
        ? new PcapngWriter(sink, { snaplen, tsresol: settings.precision === 'nano' ? 'ns' : 'us', ifName: this.tap.name, userAppl: `tunstack ${TUNSTACK_VERSION}`, comment: captureComment(settings, snaplen) })
        : new PcapWriter(sink, { snaplen });
    const writer = new CaptureWriter(inner, keep);
    this.tap.start(writer);
    this.writer = writer;
    this.filter = settings.filter ?? null;
    this.sink = sink;
    this.file = path;
    this.startedAt = new Date();
    this.timer = setInterval(() => this.tap.flush(), this.flushIntervalMs);
    this.timer.unref();
    this.format = format;
    this.logger.info({ pcap: path, format, snaplen: writer.snaplen, filter: this.filter }, 'capture started');
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
    this.filter = null;
    this.format = null;
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
      snaplen: this.writer?.snaplen ?? null,
      filter: this.filter,
      currentFile: this.sink?.file ?? null,
      format: this.format,
    };
  }
}
