/** Builders for IPv6 tests: packets from the peer, echo requests, fragments cut at chosen offsets. */
import { IPV6_HEADER, NextHeader, emitIpv6, parseIpv6, type Ipv6Words } from '../../src/wire/ipv6.js';
import { Icmp6Type, finishIcmp6 } from '../../src/wire/icmp6.js';

export const words = (t: string): Ipv6Words => {
  const w = parseIpv6(t);
  if (w instanceof Error) throw w;
  return w;
};
export const STACK6 = words('fd77::2');
export const PEER6 = words('fd77::1');

/** An IPv6 packet whose payload (extension headers included) follows the fixed header. */
export function packet6(o: { nextHeader: number; payload: Uint8Array; dst?: Ipv6Words; src?: Ipv6Words; hopLimit?: number }): Uint8Array {
  const b = new Uint8Array(IPV6_HEADER + o.payload.length);
  emitIpv6(b, { payloadLength: o.payload.length, nextHeader: o.nextHeader, hopLimit: o.hopLimit ?? 64, src: o.src ?? PEER6, dst: o.dst ?? STACK6 });
  b.set(o.payload, IPV6_HEADER);
  return b;
}

/** An ICMPv6 echo request with `data`. */
export function echo6(id: number, seq: number, data: Uint8Array, src: Ipv6Words = PEER6, dst: Ipv6Words = STACK6): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m[4] = id >> 8;
  m[5] = id & 0xff;
  m[6] = seq >> 8;
  m[7] = seq & 0xff;
  m.set(data, 8);
  finishIcmp6(m, 0, m.length, Icmp6Type.EchoRequest, 0, src, dst);
  return packet6({ nextHeader: NextHeader.Icmp6, payload: m, src, dst });
}

/**
 * Fragments of `packet` (fixed header + payload, no extension headers): each piece [offset, length, more]
 * is a slice of the payload behind a Fragment header with identification `id`.
 */
export function cut6(packet: Uint8Array, pieces: readonly (readonly [number, number, boolean])[], id = 0x1234): Uint8Array[] {
  const nh = packet[6]!;
  return pieces.map(([off, len, more]) => {
    const f = new Uint8Array(IPV6_HEADER + 8 + len);
    f.set(packet.subarray(0, IPV6_HEADER), 0);
    f[4] = (8 + len) >> 8;
    f[5] = (8 + len) & 0xff;
    f[6] = NextHeader.Fragment;
    f[IPV6_HEADER] = nh;
    const w = off | (more ? 1 : 0);
    f[IPV6_HEADER + 2] = w >> 8;
    f[IPV6_HEADER + 3] = w & 0xff;
    f[IPV6_HEADER + 4] = id >>> 24;
    f[IPV6_HEADER + 5] = (id >>> 16) & 0xff;
    f[IPV6_HEADER + 6] = (id >>> 8) & 0xff;
    f[IPV6_HEADER + 7] = id & 0xff;
    f.set(packet.subarray(IPV6_HEADER + off, IPV6_HEADER + off + len), IPV6_HEADER + 8);
    return f;
  });
}

/** Pieces of `size` bytes (a multiple of 8) covering `total` payload bytes. */
export function evenPieces6(total: number, size: number): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  for (let off = 0; off < total; off += size) out.push([off, Math.min(size, total - off), off + size < total]);
  return out;
}

/** Puts the fragments of `pieces` back together (the test's own reassembly, to check what the stack sent). */
export function join6(pieces: readonly Uint8Array[]): Uint8Array {
  const parts = pieces.map((p) => ({ off: ((p[IPV6_HEADER + 2]! << 8) | p[IPV6_HEADER + 3]!) & 0xfff8, data: p.subarray(IPV6_HEADER + 8), nh: p[IPV6_HEADER]! }));
  const total = Math.max(...parts.map((x) => x.off + x.data.length));
  const out = new Uint8Array(IPV6_HEADER + total);
  out.set(pieces[0]!.subarray(0, IPV6_HEADER), 0);
  out[4] = total >> 8;
  out[5] = total & 0xff;
  out[6] = parts[0]!.nh;
  for (const x of parts) out.set(x.data, IPV6_HEADER + x.off);
  return out;
}
