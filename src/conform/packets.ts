/**
 * Building inbound packets from script lines (IPv4 + TCP/UDP/ICMP with
 * checksums and zero payloads) and decoding outbound ones for the matcher.
 */
import { emitIpv4, decodeIpv4, Ipv4Header, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4.js';
import { emitTcp, decodeTcp, TcpHeader, TcpOptionKind, TCP_MIN_HEADER, FASTOPEN_EXP_MAGIC } from '../wire/tcp.js';
import { emitUdp } from '../wire/udp.js';
import { emitIcmp, echoRest, decodeIcmp, IcmpHeader } from '../wire/icmp.js';
import { pseudoHeaderSum } from '../wire/checksum.js';
import { read16, read32, write32 } from '../wire/bytes.js';
import type { TcpOptionSpec } from './ast.js';

export function parseIp(a: string): number {
  return a.split('.').reduce((v, o) => v * 256 + Number(o), 0) >>> 0;
}

export interface IpFields {
  src: number;
  dst: number;
  protocol: number;
  id: number;
  ttl: number;
  tos: number;
  df: boolean;
}

/** Wraps a transport payload into an IPv4 header (no options). */
export function wrapIp(payload: Uint8Array, f: IpFields): Uint8Array {
  const b = new Uint8Array(20 + payload.length);
  b.set(payload, 20);
  emitIpv4(b, 0, { totalLength: b.length, id: f.id & 0xffff, dontFragment: f.df, ttl: f.ttl, protocol: f.protocol, src: f.src, dst: f.dst, tos: f.tos });
  return b;
}

/** Encodes an option list byte for byte (already mapped numbers). */
export function encodeOptions(opts: readonly TcpOptionSpec[]): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number): void => {
    out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  };
  for (const o of opts) {
    switch (o.kind) {
      case 'nop':
        out.push(TcpOptionKind.Nop);
        break;
      case 'eol':
        out.push(TcpOptionKind.Eol);
        break;
      case 'mss':
        out.push(TcpOptionKind.Mss, 4, (o.value >> 8) & 0xff, o.value & 0xff);
        break;
      case 'wscale':
        out.push(TcpOptionKind.WindowScale, 3, o.value & 0xff);
        break;
      case 'sackOK':
        out.push(TcpOptionKind.SackPermitted, 2);
        break;
      case 'sack':
        out.push(TcpOptionKind.Sack, 2 + 8 * o.blocks.length);
        for (const [a, b] of o.blocks) {
          u32(a);
          u32(b);
        }
        break;
      case 'ts':
        out.push(TcpOptionKind.Timestamps, 10);
        u32(o.val);
        u32(o.ecr);
        break;
      case 'fastopen':
        if (o.exp) out.push(TcpOptionKind.Experimental, 4 + o.cookie.length, FASTOPEN_EXP_MAGIC >> 8, FASTOPEN_EXP_MAGIC & 0xff);
        else out.push(TcpOptionKind.FastOpen, 2 + o.cookie.length);
        for (const b of o.cookie) out.push(b);
        break;
      case 'md5':
        out.push(TcpOptionKind.Md5Sig, 2 + o.digest.length);
        for (const b of o.digest) out.push(b);
        break;
      case 'accecn':
        out.push(o.order === 1 ? TcpOptionKind.AccEcn1 : TcpOptionKind.AccEcn0, 2 + 3 * o.fields.length);
        for (const v of o.fields) out.push((v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
        break;
      case 'unsupported':
        break;
    }
  }
  return Uint8Array.from(out);
}

export interface TcpBuild {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent: number;
  options: Uint8Array;
  payloadLength: number;
}

export function buildTcp(t: TcpBuild, ip: IpFields): Uint8Array {
  const hl = TCP_MIN_HEADER + t.options.length;
  const seg = new Uint8Array(hl + t.payloadLength);
  emitTcp(
    seg,
    0,
    { srcPort: t.srcPort, dstPort: t.dstPort, seq: t.seq >>> 0, ack: t.ack >>> 0, flags: t.flags, window: t.window, urgent: t.urgent, rawOptions: t.options },
    t.payloadLength,
    ip.src,
    ip.dst,
  );
  return wrapIp(seg, { ...ip, protocol: IPPROTO_TCP });
}

export function buildUdp(srcPort: number, dstPort: number, len: number, ip: IpFields): Uint8Array {
  const d = new Uint8Array(8 + len);
  emitUdp(d, 0, srcPort, dstPort, d.length, ip.src, ip.dst);
  return wrapIp(d, { ...ip, protocol: IPPROTO_UDP });
}

export function buildIcmp(type: number, code: number, rest: number, body: Uint8Array, ip: IpFields): Uint8Array {
  const m = new Uint8Array(8 + body.length);
  m.set(body, 8);
  emitIcmp(m, 0, m.length, type, code, rest);
  return wrapIp(m, { ...ip, protocol: IPPROTO_ICMP });
}

export function echoRestOf(id: number, seq: number): number {
  return echoRest(id, seq);
}

/** The quoted part of an ICMP error: what the stack sent, IP header + transport header. */
export function quotedTcp(src: number, dst: number, srcPort: number, dstPort: number, seq: number, ack: number, flags: number, len: number): Uint8Array {
  // Linux quotes up to 576 bytes; the runner quotes the header and up to 8 payload bytes.
  const payload = Math.min(len, 8);
  const seg = new Uint8Array(20 + payload);
  emitTcp(seg, 0, { srcPort, dstPort, seq, ack, flags, window: 0 }, payload, src, dst);
  const total = 20 + 20 + len;
  const ip = new Uint8Array(20 + seg.length);
  ip.set(seg, 20);
  emitIpv4(ip, 0, { totalLength: total, id: 0, dontFragment: true, ttl: 64, protocol: IPPROTO_TCP, src, dst });
  return ip;
}

export function quotedUdp(src: number, dst: number, srcPort: number, dstPort: number, len: number): Uint8Array {
  const quoted = Math.min(len, 576 - 20 - 8 - 28);
  const d = new Uint8Array(8 + quoted);
  d[0] = srcPort >> 8;
  d[1] = srcPort & 0xff;
  d[2] = dstPort >> 8;
  d[3] = dstPort & 0xff;
  d[4] = ((8 + len) >> 8) & 0xff;
  d[5] = (8 + len) & 0xff;
  const ip = new Uint8Array(20 + d.length);
  ip.set(d, 20);
  emitIpv4(ip, 0, { totalLength: 20 + 8 + len, id: 0, dontFragment: false, ttl: 64, protocol: IPPROTO_UDP, src, dst });
  return ip;
}

// ------------------------------------------------------------ outbound

export interface ActualOption {
  kind: number;
  /** Bytes of the whole option (kind, length, data). */
  bytes: Uint8Array;
}

/** Walks option bytes into a list (EOL ends the walk but is listed). */
export function splitOptions(b: Uint8Array, start: number, end: number): ActualOption[] | string {
  const out: ActualOption[] = [];
  let i = start;
  while (i < end) {
    const kind = b[i]!;
    if (kind === TcpOptionKind.Eol) {
      out.push({ kind, bytes: b.subarray(i, i + 1) });
      i++;
      // Padding after EOL: listed as further EOLs only if they are zero bytes.
      continue;
    }
    if (kind === TcpOptionKind.Nop) {
      out.push({ kind, bytes: b.subarray(i, i + 1) });
      i++;
      continue;
    }
    if (i + 1 >= end) return `option kind ${kind} truncated`;
    const len = b[i + 1]!;
    if (len < 2 || i + len > end) return `option kind ${kind} has a bad length ${len}`;
    out.push({ kind, bytes: b.subarray(i, i + len) });
    i += len;
  }
  return out;
}

export interface OutPacket {
  bytes: Uint8Array;
  /** Virtual time of emission, ms. */
  time: number;
  /** Index in emission order. */
  index: number;
}

export interface DecodedOut {
  ip: Ipv4Header;
  /** Offset and length of the transport part. */
  off: number;
  len: number;
  tcp?: TcpHeader;
  tcpError?: string;
  icmp?: IcmpHeader;
  udp?: { srcPort: number; dstPort: number; length: number; checksumOk: boolean };
  ipError?: string;
}

export function decodeOut(bytes: Uint8Array): DecodedOut {
  const ip = new Ipv4Header();
  const e = decodeIpv4(bytes, ip, true);
  if (e !== undefined) return { ip, off: 0, len: 0, ipError: e };
  const off = ip.headerLength;
  const len = ip.totalLength - off;
  const d: DecodedOut = { ip, off, len };
  if (ip.isFragment) return d;
  if (ip.protocol === IPPROTO_TCP) {
    const h = new TcpHeader();
    const te = decodeTcp(bytes, off, len, h, pseudoHeaderSum(ip.src, ip.dst, IPPROTO_TCP, len));
    if (te !== undefined) d.tcpError = te;
    else d.tcp = h;
  } else if (ip.protocol === IPPROTO_UDP && len >= 8) {
    const ulen = read16(bytes, off + 4);
    let ok = true;
    if (read16(bytes, off + 6) !== 0) {
      // Verify the checksum over the UDP length.
      let sum = pseudoHeaderSum(ip.src, ip.dst, IPPROTO_UDP, ulen);
      for (let i = 0; i + 1 < ulen; i += 2) sum += read16(bytes, off + i);
      if (ulen & 1) sum += bytes[off + ulen - 1]! << 8;
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      ok = sum === 0xffff;
    }
    d.udp = { srcPort: read16(bytes, off), dstPort: read16(bytes, off + 2), length: ulen, checksumOk: ok };
  } else if (ip.protocol === IPPROTO_ICMP) {
    const h = new IcmpHeader();
    if (decodeIcmp(bytes, off, len, h, true) === undefined) d.icmp = h;
  }
  return d;
}

export { read32, write32 };
