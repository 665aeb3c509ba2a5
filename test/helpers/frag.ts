/** Helpers for fragment tests: cut an IP datagram into hand-made pieces, like the scapy scripts of the reference captures. */
import { parseIpv4, type Ipv4Header } from '../../src/wire/ipv4.js';
import { ipPacket, type IpFields } from './packets.js';

/** A piece of a datagram's payload: byte offset, length, MF flag. */
export type Piece = [offset: number, length: number, mf: boolean];

/**
 * Builds IP fragments of `whole` (a complete datagram with a 20-byte header)
 * carrying the payload ranges given by `pieces`.
 */
export function cut(whole: Uint8Array, pieces: readonly Piece[], f: IpFields = {}): Uint8Array[] {
  const h = header(whole);
  const l4 = whole.subarray(h.headerLength);
  return pieces.map(([off, len, mf]) =>
    ipPacket(l4.slice(off, off + len), {
      id: h.id,
      protocol: h.protocol,
      ttl: h.ttl,
      src: dotted(h.src),
      dst: dotted(h.dst),
      mf,
      offset: off,
      ...f,
    }),
  );
}

/** Regular fragmentation of `whole` into pieces of `size` payload bytes (a multiple of 8). */
export function evenPieces(payloadLength: number, size: number): Piece[] {
  const out: Piece[] = [];
  for (let off = 0; off < payloadLength; off += size) out.push([off, Math.min(size, payloadLength - off), off + size < payloadLength]);
  return out;
}

export function header(p: Uint8Array): Ipv4Header {
  const h = parseIpv4(p);
  if (typeof h === 'string') throw new Error(`bad IPv4 in test: ${h}`);
  return h;
}

export function dotted(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}
