/**
 * pcapng capture files (draft-ietf-opsawg-pcapng, "PCAP Now Generic"), written little-endian:
 *
 *   Section Header Block   (§4.1)  byte-order magic, version 1.0, section length -1 (unknown);
 *                                  shb_userappl "tunstack VERSION", opt_comment (what was kept and why)
 *   Interface Description  (§4.2)  LINKTYPE_RAW (101: bare IPv4/IPv6), snaplen, if_name, if_tsresol
 *                                  (6: microseconds, 9: nanoseconds)
 *   Enhanced Packet Block  (§4.3)  per packet: interface 0, a 64-bit timestamp in if_tsresol units,
 *                                  captured and original length, the bytes padded to 32 bits,
 *                                  epb_flags with the direction (inbound / outbound)
 *
 * Like PcapWriter it does no I/O: the SHB and IDB go to the sink as one first chunk (so a rotating sink
 * starts every file with them), records are batched into ~64 KiB chunks, never split across two.
 */
import type { PcapSink } from './pcap.js';
import { RecordBuffer } from './record-buffer.js';

export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;

/** epb_flags bits 0-1 (§4.3.1): the packet's direction. */
export const DIRECTION_INBOUND = 1;
export const DIRECTION_OUTBOUND = 2;
export type PacketDirection = typeof DIRECTION_INBOUND | typeof DIRECTION_OUTBOUND;

/** EPB: 28 bytes of header, the data padded, the epb_flags option (12 with its end marker), 4 of trailer. */
const EPB_FIXED = 28;
const EPB_FLAGS_OPTION = 12;

export interface PcapngWriterOptions {
  /** Link type; default LINKTYPE_RAW (101). */
  linktype?: number;
  /** Longest packet prefix recorded; default 65535 (also the IDB's SnapLen). */
  snaplen?: number;
  /** Timestamp resolution: 'us' (if_tsresol 6, default) or 'ns' (9). */
  tsresol?: 'us' | 'ns';
  /** if_name of the one interface (e.g. the TUN device). */
  ifName?: string;
  /** shb_userappl: the application that wrote the file. */
  userAppl?: string;
  /** opt_comment on the section header. */
  comment?: string;
}

const pad4 = (n: number): number => (n + 3) & ~3;
const utf8 = new TextEncoder();

/** Options (code, bytes) as the pcapng option list: each padded to 32 bits, then opt_endofopt. */
function optionsBytes(opts: [number, Uint8Array][]): Uint8Array {
  if (opts.length === 0) return new Uint8Array(0);
  const len = opts.reduce((a, [, v]) => a + 4 + pad4(v.length), 4);
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const [code, v] of opts) {
    dv.setUint16(p, code, true);
    dv.setUint16(p + 2, v.length, true);
    out.set(v, p + 4);
    p += 4 + pad4(v.length);
  }
  dv.setUint16(p, OPT_ENDOFOPT, true);
  dv.setUint16(p + 2, 0, true);
  return out;
}

/** A block: type, total length, body, total length again. */
function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + body.length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, type, true);
  dv.setUint32(4, total, true);
  out.set(body, 8);
  dv.setUint32(total - 4, total, true);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/** The section header and interface description: the first bytes of every file. */
export function pcapngHeader(o: Required<Pick<PcapngWriterOptions, 'linktype' | 'snaplen' | 'tsresol'>> & PcapngWriterOptions): Uint8Array {
  const shbOpts: [number, Uint8Array][] = [];
  if (o.comment) shbOpts.push([OPT_COMMENT, utf8.encode(o.comment)]);
  if (o.userAppl) shbOpts.push([SHB_USERAPPL, utf8.encode(o.userAppl)]);
  const shbOptBytes = optionsBytes(shbOpts);
  const shb = new Uint8Array(16 + shbOptBytes.length);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, PCAPNG_BYTE_ORDER_MAGIC, true);
  sv.setUint16(4, 1, true); // major
  sv.setUint16(6, 0, true); // minor
  sv.setInt32(8, -1, true); // section length: -1 (not given), as a 64-bit value
  sv.setInt32(12, -1, true);
  shb.set(shbOptBytes, 16);
  const idbOpts: [number, Uint8Array][] = [];
  if (o.ifName) idbOpts.push([IF_NAME, utf8.encode(o.ifName)]);
  idbOpts.push([IF_TSRESOL, Uint8Array.of(o.tsresol === 'ns' ? 9 : 6)]);
  const idbOptBytes = optionsBytes(idbOpts);
  const idb = new Uint8Array(8 + idbOptBytes.length);
  const iv = new DataView(idb.buffer);
  iv.setUint16(0, o.linktype, true);
  iv.setUint16(2, 0, true);
  iv.setUint32(4, o.snaplen, true);
  idb.set(idbOptBytes, 8);
  return concat([block(PCAPNG_SHB, shb), block(PCAPNG_IDB, idb)]);
}

/**
 * A wall-clock time in ms as a 64-bit count of 1/`perSecond` units, in two 32-bit halves. Seconds and the
 * fraction are counted apart and multiplied in 16-bit pieces, so every step stays an exact integer in a
 * double (nanoseconds since the epoch pass 2^53 after 104 days).
 */
export function timestampHalves(ms: number, perSecond: number): [number, number] {
  const sec = Math.floor(ms / 1000);
  let frac = Math.round((ms - sec * 1000) * (perSecond / 1000));
  let s = sec;
  if (frac >= perSecond) {
    s++;
    frac -= perSecond;
  }
  // s·perSecond + frac = (sh·2^16 + sl)·perSecond + frac, with sh·perSecond = xh·2^16 + xl.
  const sh = Math.floor(s / 0x10000);
  const sl = s - sh * 0x10000;
  const x = sh * perSecond;
  const xh = Math.floor(x / 0x10000);
  const xl = x - xh * 0x10000;
  const low = xl * 0x10000 + sl * perSecond + frac;
  const carry = Math.floor(low / 0x100000000);
  return [xh + carry, low - carry * 0x100000000];
}

/** Writes one pcapng section with one interface to a sink; the same surface as PcapWriter. */
export class PcapngWriter {
  readonly linktype: number;
  readonly snaplen: number;
  readonly tsresol: 'us' | 'ns';
  private readonly out: RecordBuffer;

  constructor(
    sink: PcapSink,
    opts: PcapngWriterOptions = {},
  ) {
    this.out = new RecordBuffer(sink);
    this.linktype = opts.linktype ?? 101;
    this.snaplen = opts.snaplen ?? 65535;
    this.tsresol = opts.tsresol ?? 'us';
    sink.write(pcapngHeader({ ...opts, linktype: this.linktype, snaplen: this.snaplen, tsresol: this.tsresol }));
  }

  /** Records `data` (cut to snaplen) at a wall-clock time in ms since the epoch; `direction` sets epb_flags. */
  writePacket(data: Uint8Array, timestampMs: number, direction?: PacketDirection): void {
    if (this.out.closed) return;
    const caplen = Math.min(data.length, this.snaplen);
    const flags = direction !== undefined ? EPB_FLAGS_OPTION : 0;
    const total = EPB_FIXED + pad4(caplen) + flags + 4;
    const ms = Number.isFinite(timestampMs) && timestampMs > 0 ? timestampMs : 0;
    const [hi, lo] = timestampHalves(ms, this.tsresol === 'ns' ? 1e9 : 1e6);
    const p = this.out.reserve(total);
    const v = this.out.view;
    v.setUint32(p, PCAPNG_EPB, true);
    v.setUint32(p + 4, total, true);
    v.setUint32(p + 8, 0, true); // interface 0
    v.setUint32(p + 12, hi, true);
    v.setUint32(p + 16, lo, true);
    v.setUint32(p + 20, caplen, true);
    v.setUint32(p + 24, data.length, true);
    this.out.chunk.set(caplen === data.length ? data : data.subarray(0, caplen), p + EPB_FIXED);
    // Zero the padding (the chunk may be reused memory from a larger record).
    for (let i = p + EPB_FIXED + caplen; i < p + EPB_FIXED + pad4(caplen); i++) this.out.chunk[i] = 0;
    let q = p + EPB_FIXED + pad4(caplen);
    if (direction !== undefined) {
      v.setUint16(q, EPB_FLAGS, true);
      v.setUint16(q + 2, 4, true);
      v.setUint32(q + 4, direction, true);
      v.setUint32(q + 8, 0, true); // opt_endofopt
      q += EPB_FLAGS_OPTION;
    }
    v.setUint32(q, total, true);
    this.out.commit(p, total);
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
