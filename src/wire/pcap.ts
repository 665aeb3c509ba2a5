/**
 * Classic libpcap capture files: a 24-byte global header, then per packet a
 * 16-byte record header (seconds, micro- or nanoseconds, captured length,
 * original length) and the captured bytes. We write microsecond files in
 * little-endian order; we read both resolutions in both byte orders.
 *
 * The writer does no I/O itself: it hands chunks to a sink. `PcapFileSink`
 * is a synchronous file sink (so a capture can be flushed from a SIGTERM
 * handler).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { RecordBuffer } from './record-buffer.js';

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_GLOBAL_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_LINUX_SLL2 = 276;


/**
 * What a capture tap writes to: PcapWriter (classic pcap) or PcapngWriter (src/wire/pcapng.ts). `direction`
 * (1 inbound, 2 outbound: pcapng's epb_flags) is recorded where the format has room for it.
 */
export interface CaptureFileWriter {
  readonly snaplen: number;
  /**
   * Whether a packet is recorded at all (a capture filter). Asked once per packet as the stack handed it
   * over, before a super-segment is cut into its wire segments, so a packet left out costs no copy.
   */
  keeps?(packet: Uint8Array): boolean;
  /** Copies what it keeps of `data` before returning (the caller may reuse the buffer). */
  writePacket(data: Uint8Array, timestampMs: number, direction?: 1 | 2): void;
  flush(): void;
  close(): void;
}

/** Where a writer's bytes go. `close()`, if present, is called by `PcapWriter.close()`. */
export interface PcapSink {
  write(chunk: Uint8Array): void;
  close?(): void;
}

export interface PcapWriterOptions {
  /** Link type of every record; default LINKTYPE_RAW (101): bare IP packets. */
  linktype?: number;
  /** Longest packet prefix recorded; default 65535. */
  snaplen?: number;
}

/**
 * Writes a capture to a sink. The global header goes to the sink at once;
 * records are copied into a ~64 KiB chunk handed over when full or on
 * `flush()`. A chunk handed to the sink is never reused by the writer.
 */
export class PcapWriter implements CaptureFileWriter {
  readonly linktype: number;
  readonly snaplen: number;
  private readonly out: RecordBuffer;

  constructor(
    sink: PcapSink,
    opts: PcapWriterOptions = {},
  ) {
    this.out = new RecordBuffer(sink);
    this.linktype = opts.linktype ?? LINKTYPE_RAW;
    this.snaplen = opts.snaplen ?? 65535;
    const h = new Uint8Array(PCAP_GLOBAL_HEADER);
    const v = new DataView(h.buffer);
    v.setUint32(0, PCAP_MAGIC_US, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, this.linktype, true);
    sink.write(h);
  }

  /** Records `data` (truncated to snaplen) with a wall-clock timestamp in milliseconds since the epoch. */
  writePacket(data: Uint8Array, timestampMs: number): void {
    if (this.out.closed) return;
    const caplen = Math.min(data.length, this.snaplen);
    const need = PCAP_RECORD_HEADER + caplen;
    const ms = Number.isFinite(timestampMs) && timestampMs > 0 ? timestampMs : 0;
    let sec = Math.floor(ms / 1000);
    let usec = Math.round((ms - sec * 1000) * 1000);
    if (usec >= 1_000_000) {
      sec++;
      usec -= 1_000_000;
    }
    const p = this.out.reserve(need);
    const v = this.out.view;
    v.setUint32(p, sec >>> 0, true);
    v.setUint32(p + 4, usec, true);
    v.setUint32(p + 8, caplen, true);
    v.setUint32(p + 12, data.length, true);
    this.out.chunk.set(caplen === data.length ? data : data.subarray(0, caplen), p + PCAP_RECORD_HEADER);
    this.out.commit(p, need);
  }

  /** Hands whatever is pending to the sink. */
  flush(): void {
    this.out.flush();
  }

  /** Flushes and closes the sink (if it has `close`); later packets are ignored. Idempotent. */
  close(): void {
    this.out.close();
  }
}

/** A synchronous file sink: every chunk is written with `writeSync` before `write` returns. */
export class PcapFileSink implements PcapSink {
  private fd: number | null;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
  }

  write(chunk: Uint8Array): void {
    if (this.fd === null) return;
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}

export type PcapError = 'bad-magic' | 'truncated-header' | 'bad-version';

export interface PcapPacket {
  /** Milliseconds since the epoch (fractional). */
  timestampMs: number;
  /** Captured bytes: a view into the input, not a copy. */
  data: Uint8Array;
  /** Length of the packet on the wire (>= data.length when the snaplen cut it). */
  originalLength: number;
}

export interface PcapFile {
  linktype: number;
  snaplen: number;
  nanosecond: boolean;
  /** True when the file's multi-byte fields are big-endian. */
  bigEndian: boolean;
  packets: PcapPacket[];
  /** True when the file ends inside a record (the partial record is left out). */
  truncated: boolean;
}

/** Reads a whole classic pcap file held in memory. Never throws. */
export function readPcap(bytes: Uint8Array): PcapFile | PcapError {
  if (bytes.length < 4) return 'truncated-header';
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let little: boolean;
  let nanosecond: boolean;
  const le = v.getUint32(0, true);
  const be = v.getUint32(0, false);
  if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) {
    little = true;
    nanosecond = le === PCAP_MAGIC_NS;
  } else if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) {
    little = false;
    nanosecond = be === PCAP_MAGIC_NS;
  } else return 'bad-magic';
  if (bytes.length < PCAP_GLOBAL_HEADER) return 'truncated-header';
  if (v.getUint16(4, little) !== 2) return 'bad-version';
  const snaplen = v.getUint32(16, little);
  // The low 16 bits are the link type; upper bits carry FCS information.
  const linktype = v.getUint32(20, little) & 0xffff;
  const packets: PcapPacket[] = [];
  const div = nanosecond ? 1e6 : 1e3;
  let p = PCAP_GLOBAL_HEADER;
  let truncated = false;
  while (p < bytes.length) {
    if (p + PCAP_RECORD_HEADER > bytes.length) {
      truncated = true;
      break;
    }
    const sec = v.getUint32(p, little);
    const frac = v.getUint32(p + 4, little);
    const caplen = v.getUint32(p + 8, little);
    const origlen = v.getUint32(p + 12, little);
    const start = p + PCAP_RECORD_HEADER;
    if (caplen > bytes.length - start) {
      truncated = true;
      break;
    }
    packets.push({ timestampMs: sec * 1000 + frac / div, data: bytes.subarray(start, start + caplen), originalLength: origlen });
    p = start + caplen;
  }
  return { linktype, snaplen, nanosecond, bigEndian: !little, packets, truncated };
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;

/**
 * The IPv4 packet inside a captured frame, as a view: LINKTYPE_RAW (101,
 * IPv4 only) and LINKTYPE_IPV4 (228) as they are; Ethernet (1) without its
 * 14-byte header (ethertype 0x0800, one 802.1Q tag skipped); Linux cooked
 * SLL (113, 16 bytes) and SLL2 (276, 20 bytes) with protocol 0x0800. For the
 * framed types, padding after the IP total length is cut off. Undefined for
 * other link types and non-IPv4 frames. Never throws.
 */
export function ipPacketOf(linktype: number, data: Uint8Array): Uint8Array | undefined {
  let off: number;
  switch (linktype) {
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
      return data.length > 0 && data[0]! >> 4 === 4 ? data : undefined;
    case LINKTYPE_ETHERNET: {
      if (data.length < 14) return undefined;
      let type = (data[12]! << 8) | data[13]!;
      off = 14;
      if (type === ETHERTYPE_VLAN) {
        if (data.length < 18) return undefined;
        type = (data[16]! << 8) | data[17]!;
        off = 18;
      }
      if (type !== ETHERTYPE_IPV4) return undefined;
      break;
    }
    case LINKTYPE_LINUX_SLL:
      if (data.length < 16 || ((data[14]! << 8) | data[15]!) !== ETHERTYPE_IPV4) return undefined;
      off = 16;
      break;
    case LINKTYPE_LINUX_SLL2:
      if (data.length < 20 || ((data[0]! << 8) | data[1]!) !== ETHERTYPE_IPV4) return undefined;
      off = 20;
      break;
    default:
      return undefined;
  }
  const ip = data.subarray(off);
  if (ip.length === 0 || ip[0]! >> 4 !== 4) return undefined;
  if (ip.length >= 4) {
    const total = (ip[2]! << 8) | ip[3]!;
    if (total >= 20 && total < ip.length) return ip.subarray(0, total);
  }
  return ip;
}
