/**
 * `--ip_version=ipv6` for the runner: the script's packets are built and matched as IPv4 (packets.ts,
 * runner.ts), and this view carries them over an IPv6 wire — each inbound datagram becomes the IPv6 one
 * packetdrill would send (the same transport bytes, the checksum moved from the IPv4 to the IPv6
 * pseudo-header by RFC 1624's incremental update, so a deliberately bad checksum stays bad; TOS → traffic
 * class, TTL → hop limit), and each IPv6 datagram the stack sends is seen back as IPv4 for the matcher.
 * The script's two addresses stand for packetdrill's IPv6 defaults (config.c: the local address in
 * fd3d:fa7b:d17d::/48, the remote 2001:db8::1).
 *
 * What has no one-to-one image is not translated: IPv4 fragments, IP options and ICMP injected by the
 * script end the run as `unsupported`; an IPv6 datagram from the stack that is not plain TCP or UDP between
 * the two addresses is handed to the matcher as it is (and fails to match as IPv4).
 */
import { read16, read32, write16 } from '../wire/bytes.js';
import { pseudoHeaderSum } from '../wire/checksum.js';
import { IPPROTO_TCP, IPPROTO_UDP, emitIpv4 } from '../wire/ipv4.js';
import { IPV6_HEADER, emitIpv6, pseudoHeaderSum6, type Ipv6Words } from '../wire/ipv6.js';

/** packetdrill's IPv6 defaults (its local address is random in the /48; a fixed one here: runs repeat). */
export const DEFAULT_LOCAL_IP6 = 'fd3d:fa7b:d17d::2';
export const DEFAULT_REMOTE_IP6 = '2001:db8::1';

function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** RFC 1624 eqn. 3: the checksum `c` with `oldSum` removed from what it covers and `newSum` added. */
function adjust(c: number, oldSum: number, newSum: number): number {
  return ~fold((~c & 0xffff) + (~fold(oldSum) & 0xffff) + fold(newSum)) & 0xffff;
}

/** Where the transport checksum sits, or -1 for a protocol not translated. */
function checksumAt(protocol: number): number {
  return protocol === IPPROTO_TCP ? 16 : protocol === IPPROTO_UDP ? 6 : -1;
}

export class Ipv6Translation {
  constructor(
    /** The script's IPv4 addresses … */
    private readonly local4: number,
    private readonly remote4: number,
    /** … and the IPv6 addresses they stand for. */
    readonly local6: Ipv6Words,
    readonly remote6: Ipv6Words,
  ) {}

  private to6(a: number): Ipv6Words | null {
    return a === this.local4 ? this.local6 : a === this.remote4 ? this.remote6 : null;
  }

  private to4(w: readonly number[]): number | null {
    const eq = (x: readonly number[]): boolean => x[0] === w[0] && x[1] === w[1] && x[2] === w[2] && x[3] === w[3];
    return eq(this.local6) ? this.local4 : eq(this.remote6) ? this.remote4 : null;
  }

  /** The IPv6 image of an inbound IPv4 datagram, or why it has none. */
  inbound(p: Uint8Array): Uint8Array | string {
    const ihl = (p[0]! & 0x0f) * 4;
    if (p.length < 20 || p[0]! >> 4 !== 4) return 'a non-IPv4 inbound packet with --ip_version=ipv6';
    if (ihl !== 20) return 'IPv4 options with --ip_version=ipv6';
    const flagsFrag = read16(p, 6);
    if ((flagsFrag & 0x3fff) !== 0) return 'IP fragments with --ip_version=ipv6';
    const protocol = p[9]!;
    const at = checksumAt(protocol);
    if (at < 0) return `IP protocol ${protocol} with --ip_version=ipv6 (TCP and UDP only)`;
    const src = this.to6(read32(p, 12));
    const dst = this.to6(read32(p, 16));
    if (src === null || dst === null) return 'an address other than the local and remote ones with --ip_version=ipv6';
    const total = Math.min(read16(p, 2), p.length);
    const len = total - 20;
    const out = new Uint8Array(IPV6_HEADER + len);
    out.set(p.subarray(20, total), IPV6_HEADER);
    emitIpv6(out, { trafficClass: p[1]!, payloadLength: len, nextHeader: protocol, hopLimit: p[8]!, src, dst });
    if (len >= at + 2) {
      const c = read16(out, IPV6_HEADER + at);
      // A UDP datagram without a checksum (0) must get one over IPv6 (RFC 8200 §8.1): computed whole.
      const fresh = protocol === IPPROTO_UDP && c === 0;
      const old = pseudoHeaderSum(read32(p, 12), read32(p, 16), protocol, len);
      const neu = pseudoHeaderSum6(src, dst, protocol, len);
      write16(out, IPV6_HEADER + at, fresh ? fullChecksum(out, IPV6_HEADER, len, neu) : adjust(c, old, neu));
    }
    return out;
  }

  /** The IPv4 image of an outbound IPv6 datagram, or null (the datagram is matched as it is). */
  outbound(p: Uint8Array): Uint8Array | null {
    if (p.length < IPV6_HEADER || p[0]! >> 4 !== 6) return null;
    const protocol = p[6]!;
    const at = checksumAt(protocol);
    if (at < 0) return null;
    const sw = [read32(p, 8), read32(p, 12), read32(p, 16), read32(p, 20)];
    const dw = [read32(p, 24), read32(p, 28), read32(p, 32), read32(p, 36)];
    const src = this.to4(sw);
    const dst = this.to4(dw);
    if (src === null || dst === null) return null;
    const len = Math.min(read16(p, 4), p.length - IPV6_HEADER);
    const out = new Uint8Array(20 + len);
    out.set(p.subarray(IPV6_HEADER, IPV6_HEADER + len), 20);
    const tc = ((p[0]! & 0x0f) << 4) | (p[1]! >> 4);
    // IPv6 has no DF bit and no identification: the image carries DF and id 0, as Linux's IPv4 TCP does.
    emitIpv4(out, 0, { totalLength: 20 + len, id: 0, dontFragment: true, ttl: p[7]!, protocol, src, dst, tos: tc });
    if (len >= at + 2) {
      const c = read16(out, 20 + at);
      write16(out, 20 + at, adjust(c, pseudoHeaderSum6(sw, dw, protocol, len), pseudoHeaderSum(src, dst, protocol, len)));
    }
    return out;
  }
}

function fullChecksum(b: Uint8Array, o: number, len: number, pseudo: number): number {
  let sum = pseudo;
  for (let i = 0; i + 1 < len; i += 2) sum += read16(b, o + i);
  if (len & 1) sum += b[o + len - 1]! << 8;
  const c = ~fold(sum) & 0xffff;
  return c === 0 ? 0xffff : c;
}
