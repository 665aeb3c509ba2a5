/**
 * TCP header and options (RFC 9293 §3.1–3.2, RFC 7323 window scale and
 * timestamps, RFC 2018 SACK): parse into a caller-owned `TcpHeader` (no
 * allocation on the packet path, options included), emit into a caller's
 * buffer with exactly Linux's option layouts.
 */
import { checksumOk, foldSum, internetChecksum, pseudoHeaderSum } from './checksum.js';
import { read16, read32, write16, write32 } from './bytes.js';
import { IPPROTO_TCP } from './ipv4.js';
import { pseudoHeaderSum6 } from './ipv6.js';

export const TCP_MIN_HEADER = 20;
/** Largest header: data offset 15 words. */
export const TCP_MAX_HEADER = 60;
/** Room for options: 40 bytes. */
export const TCP_MAX_OPTIONS = TCP_MAX_HEADER - TCP_MIN_HEADER;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;
/** AccECN's AE bit (RFC 9768), the low bit of byte 12; carried in `flags` as bit 8. */
export const TCP_AE = 0x100;

export const TcpOptionKind = {
  Eol: 0,
  Nop: 1,
  Mss: 2,
  WindowScale: 3,
  SackPermitted: 4,
  Sack: 5,
  Timestamps: 8,
  /** TCP MD5 signature (RFC 2385 §3.0): kind 19, length 18, a 16-byte digest. */
  Md5Sig: 19,
  /** TCP Fast Open cookie (RFC 7413 §4.1.1). */
  FastOpen: 34,
  /** Accurate ECN option, order 0: EE0B, ECEB, EE1B byte counters (RFC 9768 §3.2.3; Linux TCPOPT_ACCECN0). */
  AccEcn0: 172,
  /** Accurate ECN option, order 1: EE1B, ECEB, EE0B (RFC 9768 §3.2.3; Linux TCPOPT_ACCECN1, the order Linux sends). */
  AccEcn1: 174,
  /** Experimental option (RFC 6994); with magic 0xF989 the pre-RFC Fast Open cookie Linux still speaks. */
  Experimental: 254,
} as const;

/** RFC 6994 ExID of the experimental Fast Open option (Linux TCPOPT_FASTOPEN_MAGIC). */
export const FASTOPEN_EXP_MAGIC = 0xf989;
/** RFC 2385 §3.0: the MD5 signature option is 18 bytes (Linux TCPOLEN_MD5SIG). */
export const TCPOLEN_MD5SIG = 18;
/** RFC 7413 §4.1.1: a cookie is 4 to 16 bytes (Linux TCP_FASTOPEN_COOKIE_MIN/MAX). */
export const FASTOPEN_COOKIE_MIN = 4;
export const FASTOPEN_COOKIE_MAX = 16;

export type TcpParseError = 'truncated' | 'bad-data-offset' | 'bad-checksum' | 'bad-options';

/** Meaning of a TCP header and its options; a plain mutable object so one instance can be reused per segment. */
export class TcpHeader {
  srcPort = 0;
  dstPort = 0;
  /** Sequence number, u32. */
  seq = 0;
  /** Acknowledgement number, u32 (meaningful when ACK is set). */
  ack = 0;
  /** Data offset in 32-bit words (5..15). */
  dataOffset = 5;
  /** Header length in bytes, options included (dataOffset * 4); also the payload's offset in the segment. */
  headerLength = 20;
  /** TCP_FIN | TCP_SYN | ... (TCP_AE as bit 8). */
  flags = 0;
  /** Raw 16-bit window field (not scaled). */
  window = 0;
  checksum = 0;
  urgent = 0;
  /** Offset of the payload from the start of the segment (= headerLength). */
  payloadOffset = 20;
  /** Payload bytes in the segment. */
  payloadLength = 0;

  // Options (reset on every decode).
  /** MSS option value; 0 = absent. */
  mss = 0;
  /** Window scale shift count as received (not clamped to 14); -1 = absent. */
  wscale = -1;
  sackPermitted = false;
  tsPresent = false;
  tsVal = 0;
  tsEcr = 0;
  /** Number of SACK blocks (0..4) in `sackBlocks`. */
  sackCount = 0;
  /** SACK blocks as (left, right) pairs: [l0, r0, l1, r1, ...]; `sackCount` pairs are valid. */
  readonly sackBlocks = new Uint32Array(8);
  /**
   * Fast Open option (RFC 7413, Linux tcp_parse_fastopen_option): -1 = absent or invalid, 0 = a cookie request,
   * 4..16 = a cookie of that many bytes in `foCookie`. Parsed only on SYN segments, as Linux does.
   */
  foLen = -1;
  /** The cookie came in the experimental option (254, magic 0xF989). */
  foExp = false;
  /** An MD5 signature option (RFC 2385) of the right length is present (Linux tcp_parse_md5sig_option). */
  md5Present = false;
  readonly foCookie = new Uint8Array(FASTOPEN_COOKIE_MAX);
  /** AccECN option (RFC 9768 §3.2.3): -1 absent, 0 order 0 (kind 172), 1 order 1 (kind 174); the last one wins, as Linux's rx_opt.accecn. */
  accecnOrder = -1;
  /** Whole 24-bit fields the AccECN option carries (0..3; Linux reads floor((len − 2) / 3), at most 3). */
  accecnFields = 0;
  /** The option's 24-bit fields in wire order (order 0: EE0B, ECEB, EE1B; order 1: EE1B, ECEB, EE0B). */
  readonly accecnField = new Uint32Array(3);

  get fin(): boolean {
    return (this.flags & TCP_FIN) !== 0;
  }
  get syn(): boolean {
    return (this.flags & TCP_SYN) !== 0;
  }
  get rst(): boolean {
    return (this.flags & TCP_RST) !== 0;
  }
  get psh(): boolean {
    return (this.flags & TCP_PSH) !== 0;
  }
  /** The ACK flag (the number is `ack`). */
  get hasAck(): boolean {
    return (this.flags & TCP_ACK) !== 0;
  }
  get urg(): boolean {
    return (this.flags & TCP_URG) !== 0;
  }
  /** Sequence space the segment occupies: payload plus one for SYN and one for FIN (RFC 9293 SEG.LEN). */
  get seqLength(): number {
    return this.payloadLength + (this.flags & TCP_SYN ? 1 : 0) + (this.flags & TCP_FIN ? 1 : 0);
  }
}

/**
 * Parses the TCP segment in b[o, o+len). `pseudoSum`, when given, is
 * `pseudoHeaderSum(src, dst, IPPROTO_TCP, len)` and the checksum is verified
 * over the whole segment; without it the checksum is not checked.
 *
 * Options: EOL stops the walk, NOP is one byte, every other kind has a length
 * byte; a length < 2 or running past the header is 'bad-options'. A known
 * option with the wrong length for its kind is skipped (as Linux does), as
 * are unknown kinds.
 */
export function decodeTcp(b: Uint8Array, o: number, len: number, into: TcpHeader, pseudoSum?: number): TcpParseError | undefined {
  if (!(o >= 0) || !(len >= TCP_MIN_HEADER) || o + len > b.length) return 'truncated';
  const dataOffset = b[o + 12]! >> 4;
  const hlen = dataOffset * 4;
  if (dataOffset < 5 || hlen > len) return 'bad-data-offset';
  if (pseudoSum !== undefined && !checksumOk(b, o, len, pseudoSum)) return 'bad-checksum';
  if (hlen > TCP_MIN_HEADER && decodeTcpOptions(b, o + TCP_MIN_HEADER, o + hlen, into, (b[o + 13]! & TCP_SYN) !== 0) !== undefined) return 'bad-options';
  if (hlen === TCP_MIN_HEADER) resetOptions(into);
  into.srcPort = read16(b, o);
  into.dstPort = read16(b, o + 2);
  into.seq = read32(b, o + 4);
  into.ack = read32(b, o + 8);
  into.dataOffset = dataOffset;
  into.headerLength = hlen;
  into.flags = ((b[o + 12]! & 1) << 8) | b[o + 13]!;
  into.window = read16(b, o + 14);
  into.checksum = read16(b, o + 16);
  into.urgent = read16(b, o + 18);
  into.payloadOffset = hlen;
  into.payloadLength = len - hlen;
  return undefined;
}

/** Convenience form for tools and tests: a new header or an error. The checksum is verified only when `src` and `dst` are given. */
export function parseTcp(b: Uint8Array, src?: number, dst?: number): TcpHeader | TcpParseError {
  const h = new TcpHeader();
  const ps = src !== undefined && dst !== undefined ? pseudoHeaderSum(src, dst, IPPROTO_TCP, b.length) : undefined;
  return decodeTcp(b, 0, b.length, h, ps) ?? h;
}

function resetOptions(h: TcpHeader): void {
  h.mss = 0;
  h.wscale = -1;
  h.sackPermitted = false;
  h.tsPresent = false;
  h.tsVal = 0;
  h.tsEcr = 0;
  h.sackCount = 0;
  h.foLen = -1;
  h.foExp = false;
  h.md5Present = false;
  h.accecnOrder = -1;
  h.accecnFields = 0;
}

/** Walks options in b[start, end) into `into`'s option fields. */
function decodeTcpOptions(b: Uint8Array, start: number, end: number, into: TcpHeader, syn: boolean): 'bad-options' | undefined {
  resetOptions(into);
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TcpOptionKind.Eol) break;
    if (kind === TcpOptionKind.Nop) {
      i++;
      continue;
    }
    if (i + 1 >= end) return 'bad-options';
    const olen = b[i + 1]!;
    if (olen < 2 || i + olen > end) return 'bad-options';
    switch (kind) {
      case TcpOptionKind.Mss:
        if (olen === 4) into.mss = read16(b, i + 2);
        break;
      case TcpOptionKind.WindowScale:
        if (olen === 3) into.wscale = b[i + 2]!;
        break;
      case TcpOptionKind.SackPermitted:
        if (olen === 2) into.sackPermitted = true;
        break;
      case TcpOptionKind.Sack:
        if (olen >= 10 && (olen - 2) % 8 === 0) {
          const n = Math.min((olen - 2) >> 3, 4);
          for (let k = 0; k < n; k++) {
            into.sackBlocks[2 * k] = read32(b, i + 2 + 8 * k);
            into.sackBlocks[2 * k + 1] = read32(b, i + 6 + 8 * k);
          }
          into.sackCount = n;
        }
        break;
      case TcpOptionKind.Timestamps:
        if (olen === 10) {
          into.tsPresent = true;
          into.tsVal = read32(b, i + 2);
          into.tsEcr = read32(b, i + 6);
        }
        break;
      case TcpOptionKind.Md5Sig:
        // Linux tcp_parse_md5sig_option: only an 18-byte option counts.
        if (olen === TCPOLEN_MD5SIG) into.md5Present = true;
        break;
      case TcpOptionKind.FastOpen:
        if (syn) parseFastOpenCookie(b, i + 2, olen - 2, false, into);
        break;
      case TcpOptionKind.AccEcn0:
      case TcpOptionKind.AccEcn1: {
        // Linux tcp_parse_options keeps any length; tcp_accecn_process_option reads the whole fields present.
        const n = Math.min(3, Math.floor((olen - 2) / 3));
        into.accecnOrder = kind === TcpOptionKind.AccEcn1 ? 1 : 0;
        into.accecnFields = n;
        for (let k = 0; k < n; k++) into.accecnField[k] = (b[i + 2 + 3 * k]! << 16) | (b[i + 3 + 3 * k]! << 8) | b[i + 4 + 3 * k]!;
        break;
      }
      case TcpOptionKind.Experimental:
        if (syn && olen >= 4 && read16(b, i + 2) === FASTOPEN_EXP_MAGIC) parseFastOpenCookie(b, i + 4, olen - 4, true, into);
        break;
      default:
        break;
    }
    i += olen;
  }
  return undefined;
}

/** Linux tcp_parse_fastopen_option: an even length; 0 is a request, 4..16 a cookie, anything else invalid (-1). */
function parseFastOpenCookie(b: Uint8Array, at: number, len: number, exp: boolean, into: TcpHeader): void {
  if (len & 1) return;
  if (len >= FASTOPEN_COOKIE_MIN && len <= FASTOPEN_COOKIE_MAX) {
    for (let k = 0; k < len; k++) into.foCookie[k] = b[at + k]!;
  } else if (len !== 0) len = -1;
  into.foLen = len;
  into.foExp = exp;
}

/** A Fast Open option to send: `len` 0 asks for a cookie, 4..16 carries `cookie[0, len)`. */
export interface TcpFastOpenOption {
  cookie: Uint8Array;
  len: number;
  /** The experimental form (kind 254, magic 0xF989) instead of kind 34. */
  exp: boolean;
}

/** Timestamps to send (RFC 7323 §3): TSval and TSecr. */
export interface TcpTimestamps {
  val: number;
  ecr: number;
}

/**
 * Options to emit. Meant to be owned by a connection and mutated in place
 * (no per-segment allocation): clear a field (undefined / false / count 0)
 * to leave the option out.
 */
export interface TcpOptions {
  /** MSS to announce (SYN segments only, by convention); undefined = absent. */
  mss?: number | undefined;
  /** Window scale shift count; undefined or negative = absent. */
  wscale?: number | undefined;
  sackPermitted?: boolean | undefined;
  ts?: TcpTimestamps | undefined;
  /** SACK blocks as (left, right) pairs. */
  sack?: ArrayLike<number> | undefined;
  /** How many pairs of `sack` to send; default `sack.length / 2`. Capped to what fits (4, or 3 with timestamps). */
  sackCount?: number | undefined;
  /** Fast Open cookie or request (SYN and SYN-ACK only), written last and NOP-padded as Linux tcp_options_write does. */
  fastOpen?: TcpFastOpenOption | undefined;
  /** An AccECN option (kind 174, order 1) after the timestamps, as Linux tcp_options_write; undefined = absent. */
  accecn?: AccEcnOption | undefined;
}

/**
 * The AccECN option to send (RFC 9768 §3.2.3) in Linux's order 1: EE1B, ECEB, EE0B, `fields` of them (0..3),
 * each a 24-bit byte counter already carrying its initial offset. A 1-field option leaves one byte and a
 * 0-field option two bytes that Linux folds into the NOPs of a following option (tcp_options_write's leftover bytes).
 */
export interface AccEcnOption {
  fields: number;
  e1b: number;
  ceb: number;
  e0b: number;
}

/** Can the leftover bytes of a short AccECN option fill the NOP pair of a following option (Linux tcp_options_write)? */
function accecnLeftoverFolds(opts: TcpOptions, leftover: number, sackBlocks: number): boolean {
  if (opts.sackPermitted && !opts.ts) return true; // NOP,NOP,sackOK
  if (leftover === 1 && opts.wscale !== undefined && opts.wscale >= 0) return true; // NOP,wscale: one byte only
  return sackBlocks > 0; // NOP,NOP,SACK
}

/** Bytes the AccECN option adds to the options (Linux tcp_options_fit_accecn's size): 12, 8, or 4/0 when short ones fold. */
export function accecnOptionBytes(opts: TcpOptions, sackBlocks: number): number {
  const a = opts.accecn;
  if (!a) return 0;
  if (a.fields >= 3) return 12;
  if (a.fields === 2) return 8;
  const leftover = a.fields === 1 ? 1 : 2;
  return (a.fields === 1 ? 4 : 0) + (accecnLeftoverFolds(opts, leftover, sackBlocks) ? 0 : 4);
}

/** Bytes a Fast Open option takes, padded to 32 bits (Linux tcp_syn_options' `need`). */
export function fastOpenOptionLength(fo: TcpFastOpenOption): number {
  return (fo.len + (fo.exp ? 4 : 2) + 3) & ~3;
}

/** Fields of a segment to emit. */
export interface TcpEmit {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TCP_FIN | TCP_SYN | ... */
  flags: number;
  window: number;
  urgent?: number | undefined;
  /** Structured options, laid out as Linux does. */
  options?: TcpOptions | undefined;
  /** Raw option bytes written verbatim instead of `options` (length a multiple of 4, at most 40). */
  rawOptions?: Uint8Array | undefined;
}

function sackPairs(opts: TcpOptions): number {
  const s = opts.sack;
  if (!s) return 0;
  const n = opts.sackCount ?? s.length >> 1;
  return Math.max(0, Math.min(n, s.length >> 1, 4));
}

/** Bytes of option space before SACK blocks, Linux layout. */
function baseOptionsLength(opts: TcpOptions): number {
  let n = 0;
  if (opts.mss !== undefined) n += 4; // mss
  if (opts.ts) n += 12; // sackOK,TS  or  nop,nop,TS
  else if (opts.sackPermitted) n += 4; // nop,nop,sackOK
  if (opts.wscale !== undefined && opts.wscale >= 0) n += 4; // nop,wscale
  return n;
}

/** SACK blocks that fit after the other options (Linux trims the block count to the space left). */
function sackBlocksToSend(opts: TcpOptions, base: number): number {
  const want = sackPairs(opts);
  if (want === 0) return 0;
  const room = (TCP_MAX_OPTIONS - base - 4) >> 3;
  return Math.max(0, Math.min(want, room));
}

/** Length in bytes of the options `emitTcp` will write for `opts` (a multiple of 4). */
export function tcpOptionsLength(opts: TcpOptions | undefined): number {
  if (!opts) return 0;
  const base = baseOptionsLength(opts);
  const n = sackBlocksToSend(opts, base + accecnOptionBytes(opts, sackPairs(opts)));
  return base + accecnOptionBytes(opts, n) + (n > 0 ? 4 + 8 * n : 0) + (opts.fastOpen ? fastOpenOptionLength(opts.fastOpen) : 0);
}

/** Header length `emitTcp` will write for `fields` (20 + options): the payload goes at b[o + this]. */
export function tcpHeaderLength(fields: TcpEmit): number {
  return TCP_MIN_HEADER + (fields.rawOptions ? fields.rawOptions.length : tcpOptionsLength(fields.options));
}

/** Writes options at b[p..] in Linux's layout (tcp_options_write); returns the bytes written. */
function writeOptions(b: Uint8Array, p: number, opts: TcpOptions): number {
  const start = p;
  if (opts.mss !== undefined) {
    b[p] = TcpOptionKind.Mss;
    b[p + 1] = 4;
    write16(b, p + 2, opts.mss);
    p += 4;
  }
  let sackPermDone = false;
  if (opts.ts) {
    if (opts.sackPermitted) {
      b[p] = TcpOptionKind.SackPermitted;
      b[p + 1] = 2;
      sackPermDone = true;
    } else {
      b[p] = TcpOptionKind.Nop;
      b[p + 1] = TcpOptionKind.Nop;
    }
    b[p + 2] = TcpOptionKind.Timestamps;
    b[p + 3] = 10;
    write32(b, p + 4, opts.ts.val >>> 0);
    write32(b, p + 8, opts.ts.ecr >>> 0);
    p += 12;
  }
  // AccECN after the timestamps; a short one leaves bytes for the NOPs of what follows (Linux's leftover bytes).
  let leftHigh: number = TcpOptionKind.Nop;
  let leftLow: number = TcpOptionKind.Nop;
  const a = opts.accecn;
  if (a) {
    const len = 2 + 3 * Math.min(a.fields, 3);
    const e1b = a.e1b & 0xffffff;
    if (a.fields === 0) {
      leftHigh = TcpOptionKind.AccEcn1;
      leftLow = len;
    } else {
      b[p] = TcpOptionKind.AccEcn1;
      b[p + 1] = len;
      b[p + 2] = e1b >>> 16;
      b[p + 3] = (e1b >>> 8) & 0xff;
      p += 4;
      if (a.fields === 1) leftHigh = e1b & 0xff;
      else {
        b[p] = e1b & 0xff;
        write24(b, p + 1, a.ceb);
        p += 4;
        if (a.fields >= 3) {
          write24(b, p, a.e0b);
          b[p + 3] = TcpOptionKind.Nop;
          p += 4;
        }
      }
    }
  }
  if (opts.sackPermitted && !sackPermDone) {
    b[p] = leftHigh;
    b[p + 1] = leftLow;
    b[p + 2] = TcpOptionKind.SackPermitted;
    b[p + 3] = 2;
    p += 4;
    leftHigh = leftLow = TcpOptionKind.Nop;
  }
  if (opts.wscale !== undefined && opts.wscale >= 0) {
    let high: number = TcpOptionKind.Nop;
    if (leftHigh !== TcpOptionKind.Nop && leftLow === TcpOptionKind.Nop) {
      high = leftHigh; // one leftover byte fits the NOP before wscale; two never split
      leftHigh = TcpOptionKind.Nop;
    }
    b[p] = high;
    b[p + 1] = TcpOptionKind.WindowScale;
    b[p + 2] = 3;
    b[p + 3] = opts.wscale;
    p += 4;
  }
  const n = sackBlocksToSend(opts, p - start);
  if (n > 0) {
    const s = opts.sack!;
    b[p] = leftHigh;
    b[p + 1] = leftLow;
    b[p + 2] = TcpOptionKind.Sack;
    b[p + 3] = 2 + 8 * n;
    p += 4;
    for (let k = 0; k < n; k++) {
      write32(b, p, s[2 * k]! >>> 0);
      write32(b, p + 4, s[2 * k + 1]! >>> 0);
      p += 8;
    }
  } else if (leftHigh !== TcpOptionKind.Nop || leftLow !== TcpOptionKind.Nop) {
    b[p] = leftHigh;
    b[p + 1] = leftLow;
    b[p + 2] = TcpOptionKind.Nop;
    b[p + 3] = TcpOptionKind.Nop;
    p += 4;
  }
  if (opts.fastOpen) p += writeFastOpen(b, p, opts.fastOpen);
  return p - start;
}

function write24(b: Uint8Array, p: number, v: number): void {
  b[p] = (v >>> 16) & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = v & 0xff;
}

/** Linux tcp_options_write: kind 34 (or 254 + magic), the cookie, two NOPs when the length is 2 mod 4. */
function writeFastOpen(b: Uint8Array, p: number, fo: TcpFastOpenOption): number {
  const len = fo.len + (fo.exp ? 4 : 2);
  let q = p;
  if (fo.exp) {
    b[q] = TcpOptionKind.Experimental;
    b[q + 1] = len;
    write16(b, q + 2, FASTOPEN_EXP_MAGIC);
    q += 4;
  } else {
    b[q] = TcpOptionKind.FastOpen;
    b[q + 1] = len;
    q += 2;
  }
  for (let k = 0; k < fo.len; k++) b[q + k] = fo.cookie[k]!;
  q += fo.len;
  if ((len & 3) === 2) {
    b[q] = TcpOptionKind.Nop;
    b[q + 1] = TcpOptionKind.Nop;
    q += 2;
  }
  return q - p;
}

/**
 * Writes the header (and options) at b[o..o+headerLength) and the checksum
 * over the header and the `payloadLength` payload bytes already in place at
 * b[o+headerLength..], with the IPv4 pseudo-header of `src` → `dst`. Use
 * `tcpHeaderLength(fields)` to know where to put the payload. Returns the
 * header length. With `partialChecksum` the field gets only the folded
 * pseudo-header sum (Linux CHECKSUM_PARTIAL): whoever puts the segment on a
 * wire completes it (src/wire/offload.ts).
 */
export function emitTcp(b: Uint8Array, o: number, fields: TcpEmit, payloadLength: number, src: number, dst: number, partialChecksum = false): number {
  const hlen = writeTcpHeader(b, o, fields);
  const total = hlen + payloadLength;
  if (partialChecksum) write16(b, o + 16, foldSum(pseudoHeaderSum(src, dst, IPPROTO_TCP, total)));
  else write16(b, o + 16, internetChecksum(b, o, total, pseudoHeaderSum(src, dst, IPPROTO_TCP, total)));
  return hlen;
}

/**
 * emitTcp over IPv6: the checksum over the IPv6 pseudo-header (RFC 8200 §8.1) — with `partialChecksum`, only
 * the folded pseudo-header sum, for the link or the IP output path to complete (CHECKSUM_PARTIAL).
 */
export function emitTcp6(b: Uint8Array, o: number, fields: TcpEmit, payloadLength: number, src: readonly number[], dst: readonly number[], partialChecksum = false): number {
  const hlen = writeTcpHeader(b, o, fields);
  const total = hlen + payloadLength;
  if (partialChecksum) write16(b, o + 16, foldSum(pseudoHeaderSum6(src, dst, IPPROTO_TCP, total)));
  else write16(b, o + 16, internetChecksum(b, o, total, pseudoHeaderSum6(src, dst, IPPROTO_TCP, total)));
  return hlen;
}

/** Writes the header and options at b[o..] with a zero checksum field; returns the header length. */
function writeTcpHeader(b: Uint8Array, o: number, fields: TcpEmit): number {
  let optLen: number;
  if (fields.rawOptions) {
    optLen = fields.rawOptions.length;
    b.set(fields.rawOptions, o + TCP_MIN_HEADER);
  } else {
    optLen = fields.options ? writeOptions(b, o + TCP_MIN_HEADER, fields.options) : 0;
  }
  const hlen = TCP_MIN_HEADER + optLen;
  write16(b, o, fields.srcPort);
  write16(b, o + 2, fields.dstPort);
  write32(b, o + 4, fields.seq >>> 0);
  write32(b, o + 8, fields.ack >>> 0);
  b[o + 12] = ((hlen >> 2) << 4) | ((fields.flags >> 8) & 1);
  b[o + 13] = fields.flags & 0xff;
  write16(b, o + 14, fields.window);
  b[o + 16] = 0;
  b[o + 17] = 0;
  write16(b, o + 18, fields.urgent ?? 0);
  return hlen;
}

/** Flags in packetdrill notation: F S R P . U E W A, or `-` for none. */
export function formatTcpFlags(flags: number): string {
  let s = '';
  if (flags & TCP_FIN) s += 'F';
  if (flags & TCP_SYN) s += 'S';
  if (flags & TCP_RST) s += 'R';
  if (flags & TCP_PSH) s += 'P';
  if (flags & TCP_ACK) s += '.';
  if (flags & TCP_URG) s += 'U';
  if (flags & TCP_ECE) s += 'E';
  if (flags & TCP_CWR) s += 'W';
  if (flags & TCP_AE) s += 'A';
  return s === '' ? '-' : s;
}

/** Options of b[start, end) in packetdrill notation, in wire order (`nop`, `mss 1460`, `TS val 1 ecr 0`, ...). */
export function formatTcpOptionBytes(b: Uint8Array, start: number, end: number): string {
  const parts: string[] = [];
  if (end > b.length) end = b.length;
  let i = start > 0 ? start : 0;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TcpOptionKind.Eol) {
      parts.push('eol');
      i++;
      continue;
    }
    if (kind === TcpOptionKind.Nop) {
      parts.push('nop');
      i++;
      continue;
    }
    if (i + 1 >= end) {
      parts.push(`<kind ${kind} truncated>`);
      break;
    }
    const olen = b[i + 1]!;
    if (olen < 2 || i + olen > end) {
      parts.push(`<kind ${kind} bad length ${olen}>`);
      break;
    }
    if (kind === TcpOptionKind.Mss && olen === 4) parts.push(`mss ${read16(b, i + 2)}`);
    else if (kind === TcpOptionKind.WindowScale && olen === 3) parts.push(`wscale ${b[i + 2]!}`);
    else if (kind === TcpOptionKind.SackPermitted && olen === 2) parts.push('sackOK');
    else if (kind === TcpOptionKind.Timestamps && olen === 10) parts.push(`TS val ${read32(b, i + 2)} ecr ${read32(b, i + 6)}`);
    else if (kind === TcpOptionKind.Sack && olen >= 10 && (olen - 2) % 8 === 0) {
      let s = 'sack';
      for (let k = i + 2; k + 8 <= i + olen; k += 8) s += ` ${read32(b, k)}:${read32(b, k + 4)}`;
      parts.push(s);
    } else if (kind === TcpOptionKind.AccEcn0 || kind === TcpOptionKind.AccEcn1) {
      // packetdrill's notation: ECN and the whole 24-bit fields present, labelled by the option's order.
      const labels = kind === TcpOptionKind.AccEcn1 ? ACCECN1_LABELS : ACCECN0_LABELS;
      let t = 'ECN';
      for (let k = 0; k < 3 && 2 + 3 * (k + 1) <= olen; k++) t += ` ${labels[k]!} ${(b[i + 2 + 3 * k]! << 16) | (b[i + 3 + 3 * k]! << 8) | b[i + 4 + 3 * k]!}`;
      parts.push(t);
    } else if (kind === TcpOptionKind.FastOpen || (kind === TcpOptionKind.Experimental && olen >= 4 && read16(b, i + 2) === FASTOPEN_EXP_MAGIC)) {
      const exp = kind === TcpOptionKind.Experimental;
      let hex = '';
      for (let k = i + (exp ? 4 : 2); k < i + olen; k++) hex += b[k]!.toString(16).padStart(2, '0');
      parts.push(`${exp ? 'FOEXP' : 'FO'}${hex ? ' ' + hex : ''}`);
    } else {
      let hex = '';
      for (let k = i + 2; k < i + olen; k++) hex += b[k]!.toString(16).padStart(2, '0');
      parts.push(`kind ${kind} len ${olen}${hex ? ' 0x' + hex : ''}`);
    }
    i += olen;
  }
  return parts.join(',');
}

const ACCECN0_LABELS = ['e0b', 'ceb', 'e1b'] as const;
const ACCECN1_LABELS = ['e1b', 'ceb', 'e0b'] as const;

/** Options of a decoded header in packetdrill notation, in Linux's layout order (used when no bytes are at hand). */
function formatDecodedOptions(h: TcpHeader): string {
  const parts: string[] = [];
  if (h.mss !== 0) parts.push(`mss ${h.mss}`);
  if (h.sackPermitted) parts.push('sackOK');
  if (h.tsPresent) parts.push(`TS val ${h.tsVal} ecr ${h.tsEcr}`);
  if (h.wscale >= 0) parts.push(`wscale ${h.wscale}`);
  if (h.accecnOrder >= 0) {
    const labels = h.accecnOrder === 1 ? ACCECN1_LABELS : ACCECN0_LABELS;
    let t = 'ECN';
    for (let k = 0; k < h.accecnFields; k++) t += ` ${labels[k]!} ${h.accecnField[k]!}`;
    parts.push(t);
  }
  if (h.sackCount > 0) {
    let s = 'sack';
    for (let k = 0; k < h.sackCount; k++) s += ` ${h.sackBlocks[2 * k]!}:${h.sackBlocks[2 * k + 1]!}`;
    parts.push(s);
  }
  return parts.join(',');
}

export interface FormatTcpOptions {
  /** The segment's bytes starting at its TCP header: options are then listed in wire order, NOPs included. */
  segment?: Uint8Array;
  /** Prefix `sport>dport`. */
  ports?: boolean;
  /** Subtracted (mod 2^32) from seq, e.g. the peer's ISN, to print relative numbers. */
  seqBase?: number;
  /** Subtracted (mod 2^32) from ack. */
  ackBase?: number;
}

/**
 * A segment in tcpdump/packetdrill notation for diagnostics:
 * `S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>`.
 */
export function formatTcp(h: TcpHeader, fmt: FormatTcpOptions = {}): string {
  const seq = (h.seq - (fmt.seqBase ?? 0)) >>> 0;
  const end = (seq + h.payloadLength) >>> 0;
  let s = fmt.ports ? `${h.srcPort}>${h.dstPort} ` : '';
  s += `${formatTcpFlags(h.flags)} ${seq}:${end}(${h.payloadLength})`;
  if (h.flags & TCP_ACK) s += ` ack ${(h.ack - (fmt.ackBase ?? 0)) >>> 0}`;
  s += ` win ${h.window}`;
  if (h.flags & TCP_URG || h.urgent !== 0) s += ` urg ${h.urgent}`;
  let opts: string;
  if (fmt.segment && fmt.segment.length >= h.headerLength) opts = formatTcpOptionBytes(fmt.segment, TCP_MIN_HEADER, h.headerLength);
  else opts = formatDecodedOptions(h);
  if (opts !== '') s += ` <${opts}>`;
  return s;
}
