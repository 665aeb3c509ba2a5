/**
 * IPv6 header (RFC 8200 §3) and the extension headers a host walks (§4): parse into a caller-owned
 * `Ipv6Header` (no allocation on the packet path), emit into a caller's buffer. Addresses are four 32-bit
 * words (`a0..a3` big-endian), compared and copied without objects.
 */
import { read16, read32, write16, write32 } from './bytes.js';
import { IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './ip-protocols.js';

export const IPV6_HEADER = 40;
/** RFC 8200 §5: every IPv6 link carries 1280-byte packets. */
export const IPV6_MIN_MTU = 1280;

/** Next Header values (IANA "Assigned Internet Protocol Numbers"). */
export const NextHeader = {
  HopByHop: 0,
  Tcp: IPPROTO_TCP,
  Udp: IPPROTO_UDP,
  Routing: 43,
  Fragment: 44,
  Icmp6: IPPROTO_ICMPV6,
  NoNext: 59,
  DestOptions: 60,
} as const;

export type Ipv6ParseError = 'truncated' | 'bad-version' | 'bad-payload-length';

/** An IPv6 address as four big-endian 32-bit words. */
export type Ipv6Words = [number, number, number, number];

export class Ipv6Header {
  trafficClass = 0;
  flowLabel = 0;
  /** Payload length: everything after the fixed 40 bytes (extension headers included). */
  payloadLength = 0;
  nextHeader = 0;
  hopLimit = 0;
  src: Ipv6Words = [0, 0, 0, 0];
  dst: Ipv6Words = [0, 0, 0, 0];
  /** The link vouched for the transport checksum (src/wire/offload.ts CSUM_TRUSTED); set by the IP layer, not decoded. */
  checksumTrusted = false;
}

/** Parses and validates the fixed header at bytes[0..] (§3); the extension headers are walked by the IP layer. */
export function decodeIpv6(bytes: Uint8Array, into: Ipv6Header): Ipv6ParseError | undefined {
  if (bytes.length < IPV6_HEADER) return 'truncated';
  const w0 = read32(bytes, 0);
  if (w0 >>> 28 !== 6) return 'bad-version';
  const plen = read16(bytes, 4);
  // A payload length of 0 means a jumbogram (RFC 2675), which needs a link MTU over 65,575: not on a TUN.
  if (plen === 0 && bytes.length > IPV6_HEADER) return 'bad-payload-length';
  if (IPV6_HEADER + plen > bytes.length) return 'bad-payload-length';
  into.trafficClass = (w0 >>> 20) & 0xff;
  into.flowLabel = w0 & 0xfffff;
  into.payloadLength = plen;
  into.nextHeader = bytes[6]!;
  into.hopLimit = bytes[7]!;
  const s = into.src;
  const d = into.dst;
  for (let i = 0; i < 4; i++) {
    s[i] = read32(bytes, 8 + 4 * i);
    d[i] = read32(bytes, 24 + 4 * i);
  }
  return undefined;
}

/** Writes a fixed header at bytes[0..40). */
export function emitIpv6(bytes: Uint8Array, h: { trafficClass?: number; flowLabel?: number; payloadLength: number; nextHeader: number; hopLimit: number; src: readonly number[]; dst: readonly number[] }): void {
  writeIpv6Header(bytes, h.trafficClass ?? 0, h.flowLabel ?? 0, h.payloadLength, h.nextHeader, h.hopLimit, h.src, h.dst);
}

/** emitIpv6 with the fields as arguments: what the output path calls per packet (no header object to build). */
export function writeIpv6Header(bytes: Uint8Array, trafficClass: number, flowLabel: number, payloadLength: number, nextHeader: number, hopLimit: number, src: readonly number[], dst: readonly number[]): void {
  write32(bytes, 0, ((6 << 28) | ((trafficClass & 0xff) << 20) | (flowLabel & 0xfffff)) >>> 0);
  write16(bytes, 4, payloadLength);
  bytes[6] = nextHeader;
  bytes[7] = hopLimit;
  for (let i = 0; i < 4; i++) {
    write32(bytes, 8 + 4 * i, src[i]! >>> 0);
    write32(bytes, 24 + 4 * i, dst[i]! >>> 0);
  }
}

/** Unfolded sum of the IPv6 pseudo-header (RFC 8200 §8.1): src, dst, upper-layer length, next header. */
export function pseudoHeaderSum6(src: readonly number[], dst: readonly number[], nextHeader: number, length: number): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    const a = src[i]!;
    const b = dst[i]!;
    s += (a >>> 16) + (a & 0xffff) + (b >>> 16) + (b & 0xffff);
  }
  return s + (length >>> 16) + (length & 0xffff) + nextHeader;
}

export function wordsEqual(a: readonly number[], b: readonly number[]): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** ff00::/8 (RFC 4291 §2.7). */
export function isMulticast6(a: readonly number[]): boolean {
  return a[0]! >>> 24 === 0xff;
}

/** ::, the unspecified address. */
export function isUnspecified6(a: readonly number[]): boolean {
  return a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0;
}

/** Parses RFC 4291 §2.2 text (`fd77::2`, `::1`, `::ffff:10.0.0.1`) into words; an Error when malformed. */
export function parseIpv6(text: string): Ipv6Words | Error {
  const bad = (): Error => new Error(`'${text}' is not an IPv6 address`);
  let t = text.trim();
  if (t.length === 0 || t.length > 45) return bad();
  let tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4) {
    const o = v4[2]!.split('.').map(Number);
    if (o.some((x) => !(x >= 0 && x <= 255))) return bad();
    tail = [(o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!];
    t = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = t.split('::');
  if (halves.length > 2) return bad();
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || rest === null) return bad();
  const known = head.length + rest.length + tail.length;
  let all: number[];
  if (halves.length === 2) {
    if (known > 7) return bad();
    all = [...head, ...new Array<number>(8 - known).fill(0), ...rest, ...tail];
  } else {
    if (known !== 8) return bad();
    all = [...head, ...tail];
  }
  return [((all[0]! << 16) | all[1]!) >>> 0, ((all[2]! << 16) | all[3]!) >>> 0, ((all[4]! << 16) | all[5]!) >>> 0, ((all[6]! << 16) | all[7]!) >>> 0];
}

/** `ADDRESS/PREFIX` (or a bare address, taking `defaultPrefix`) with a prefix length of 1..128; an Error when malformed. */
export function parseIpv6Cidr(text: string, defaultPrefix: number): { address: Ipv6Words; prefixLength: number } | Error {
  const [a, p] = text.split('/');
  const address = parseIpv6(a ?? '');
  if (address instanceof Error) return address;
  const prefixLength = p === undefined ? defaultPrefix : Number(p);
  if (!Number.isInteger(prefixLength) || prefixLength < 1 || prefixLength > 128) return new Error(`'${text}': prefix length must be 1..128`);
  return { address, prefixLength };
}

/** RFC 5952 text: lower case, the longest run of two or more zero groups as `::`. */
export function formatIpv6(a: readonly number[]): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push(a[i]! >>> 16, a[i]! & 0xffff);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** Where an extension-header walk ended: the upper-layer (or unknown) header's type and offset. */
export class ChainEnd {
  nextHeader = 0;
  offset = 0;
}

/**
 * Skips the extension headers of the IPv6 packet at b[start..] (its fixed header first) up to `end`, like
 * Linux's ipv6_skip_exthdr: hop-by-hop, routing, destination options (length in 8-byte units), and a
 * Fragment header (8 bytes; a non-first fragment ends the walk, its payload is not a header). False when a
 * header runs past `end`. Every step advances at least 8 bytes, so the walk ends.
 */
export function skipExtensionHeaders(b: Uint8Array, start: number, end: number, into: ChainEnd): boolean {
  let nh = b[start + 6]!;
  let off = start + IPV6_HEADER;
  for (;;) {
    if (nh === NextHeader.HopByHop || nh === NextHeader.Routing || nh === NextHeader.DestOptions) {
      if (off + 8 > end) return false;
      const len = (b[off + 1]! + 1) * 8;
      if (off + len > end) return false;
      nh = b[off]!;
      off += len;
      continue;
    }
    if (nh === NextHeader.Fragment) {
      if (off + 8 > end) return false;
      const fragOffset = read16(b, off + 2) & 0xfff8;
      const inner = b[off]!;
      off += 8;
      if (fragOffset !== 0) {
        into.nextHeader = NextHeader.Fragment;
        into.offset = off;
        return true;
      }
      nh = inner;
      continue;
    }
    into.nextHeader = nh;
    into.offset = off;
    return true;
  }
}
