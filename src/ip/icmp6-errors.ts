/**
 * The ICMPv6 errors a node sends (RFC 4443 §2.4): never about an ICMPv6 error, never to an unspecified or
 * multicast source, about a packet sent to a multicast address only for Packet Too Big and Parameter
 * Problem code 2 (§2.4 e), and rate-limited (§2.4 f) the way IPv4's are here (src/ip/icmp.ts): one global
 * token bucket (Linux net.ipv6.icmp.ratelimit works with icmp_msgs_per_sec/burst too) and one per
 * destination (an interval with a burst of 6, Linux's XRLIM_BURST_FACTOR), the table bounded.
 * The message quotes as much of the offending packet as fits in the minimum MTU (§2.4 c).
 */
import { TokenBucket } from './token-bucket.js';
import { read32, write32 } from '../wire/bytes.js';
import { IPV6_HEADER, IPV6_MIN_MTU, NextHeader, ChainEnd, emitIpv6, isMulticast6, isUnspecified6, skipExtensionHeaders } from '../wire/ipv6.js';
import { Icmp6Type, ParamProblemCode, finishIcmp6, isIcmp6Error } from '../wire/icmp6.js';
import type { Stats } from '../stats.js';
import type { IcmpOptions } from './icmp.js';

/** Hop limit of the messages the stack originates (Linux net.ipv6.conf.all.hop_limit = 64). */
export const HOP_LIMIT6 = 64;
/** Bound on the per-destination rate-limit table (as IPv4's). */
const MAX_DEST_BUCKETS = 4096;

export class Icmp6ErrorSender {
  private readonly global: TokenBucket;
  private readonly perDest = new Map<string, TokenBucket>();
  private readonly chain = new ChainEnd();
  private readonly dst: number[] = [0, 0, 0, 0];

  constructor(
    private readonly stats: Stats,
    private readonly options: Pick<IcmpOptions, 'msgsPerSec' | 'msgsBurst' | 'perDestIntervalMs'>,
  ) {
    this.global = new TokenBucket(options.msgsPerSec / 1000, options.msgsBurst);
  }

  /**
   * The error `type`/`code` with the 32-bit `param` (pointer, MTU or 0) about `offending` (a whole IPv6
   * packet, at least its fixed header), from `src`; null when a rule or the rate limit says none is sent
   * (the rate limit counted in OutRateLimited).
   */
  build(type: number, code: number, param: number, offending: Uint8Array, src: readonly number[], now: number): Uint8Array | null {
    if (offending.length < IPV6_HEADER) return null;
    const dst = this.dst;
    for (let k = 0; k < 4; k++) dst[k] = read32(offending, 8 + 4 * k);
    if (isUnspecified6(dst) || isMulticast6(dst)) return null;
    // §2.4 e.3: a packet to a multicast address gets only Packet Too Big or Parameter Problem code 2.
    if (offending[24] === 0xff && !(type === Icmp6Type.PacketTooBig || (type === Icmp6Type.ParameterProblem && code === ParamProblemCode.Option))) return null;
    // §2.4 e.1: never about an ICMPv6 error message (nor an unreadable chain that may hide one).
    const c = this.chain;
    if (skipExtensionHeaders(offending, 0, offending.length, c)) {
      if (c.nextHeader === NextHeader.Icmp6 && (c.offset >= offending.length || isIcmp6Error(offending[c.offset]!))) return null;
    }
    if (!this.allowed(dst, now)) {
      this.stats.Icmp6.OutRateLimited++;
      this.stats.drop('icmp6.rate-limited');
      return null;
    }
    const quoted = Math.min(offending.length, IPV6_MIN_MTU - IPV6_HEADER - 8);
    const len = 8 + quoted;
    const out = new Uint8Array(IPV6_HEADER + len);
    write32(out, IPV6_HEADER + 4, param >>> 0);
    out.set(offending.subarray(0, quoted), IPV6_HEADER + 8);
    emitIpv6(out, { payloadLength: len, nextHeader: NextHeader.Icmp6, hopLimit: HOP_LIMIT6, src, dst });
    finishIcmp6(out, IPV6_HEADER, len, type, code, src, dst);
    const s = this.stats.Icmp6;
    s.OutMsgs++;
    if (type === Icmp6Type.DestUnreachable) s.OutDestUnreachs++;
    else if (type === Icmp6Type.PacketTooBig) s.OutPktTooBigs++;
    else if (type === Icmp6Type.TimeExceeded) s.OutTimeExcds++;
    else if (type === Icmp6Type.ParameterProblem) s.OutParmProblems++;
    return out;
  }

  private allowed(dst: readonly number[], now: number): boolean {
    if (!this.global.peek(now)) return false;
    const interval = this.options.perDestIntervalMs;
    if (interval > 0) {
      const key = `${dst[0]}:${dst[1]}:${dst[2]}:${dst[3]}`;
      let b = this.perDest.get(key);
      if (b === undefined) {
        if (this.perDest.size >= MAX_DEST_BUCKETS) this.perDest.delete(this.perDest.keys().next().value!);
        b = new TokenBucket(1 / interval, 6);
        this.perDest.set(key, b);
      }
      if (!b.peek(now) || !this.global.take(now)) return false;
      b.take(now);
      return true;
    }
    return this.global.take(now);
  }
}
