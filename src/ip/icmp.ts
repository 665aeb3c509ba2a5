/**
 * ICMP (RFC 792, RFC 1122 §3.2.2): echo replies, errors we send (with the
 * RFC 1122 rules on when never to send one, and a token-bucket rate limit
 * like Linux's icmp_msgs_per_sec/icmp_ratelimit), and errors we receive,
 * handed to the transport whose datagram they quote.
 */
import { IcmpHeader, IcmpType, ICMP_HEADER, decodeIcmp, echoRest, emitIcmp, isIcmpError } from '../wire/icmp.js';
import { Ipv4Header, IPPROTO_ICMP, IPV4_MIN_HEADER, decodeIpv4, isLimitedBroadcast, isMulticast } from '../wire/ipv4.js';
import type { Stats } from '../stats.js';
import type { Ipv4Layer, IpProtocolHandler } from './ipv4.js';
import { TokenBucket } from './token-bucket.js';
import type { DropReason } from '../drop-reasons.js';

export interface IcmpOptions {
  /** Global limit on ICMP errors per second (Linux net.ipv4.icmp_msgs_per_sec = 1000). */
  msgsPerSec: number;
  /** Global burst (Linux net.ipv4.icmp_msgs_burst = 50). */
  msgsBurst: number;
  /** Minimum interval per destination in ms (Linux net.ipv4.icmp_ratelimit = 1000), with a burst of 6 like Linux's XRLIM_BURST_FACTOR; 0 disables. */
  perDestIntervalMs: number;
  /** Whether to answer echo requests (Linux icmp_echo_ignore_all = 0). */
  answerEcho: boolean;
}

export const defaultIcmpOptions: IcmpOptions = { msgsPerSec: 1000, msgsBurst: 50, perDestIntervalMs: 1000, answerEcho: true };

/** Bytes of the offending datagram an error quotes beyond its IP header (RFC 792: 64 bits). */
const QUOTED_DATA = 8;
/** Bound on the per-destination rate-limit table. */
const MAX_DEST_BUCKETS = 4096;

export class IcmpLayer implements IpProtocolHandler {
  private readonly h = new IcmpHeader();
  private readonly quotedIp = new Ipv4Header();
  private readonly global: TokenBucket;
  private readonly perDest = new Map<number, TokenBucket>();

  constructor(
    private readonly ip: Ipv4Layer,
    private readonly stats: Stats,
    readonly options: IcmpOptions = defaultIcmpOptions,
  ) {
    this.global = new TokenBucket(options.msgsPerSec / 1000, options.msgsBurst);
    ip.register(IPPROTO_ICMP, this);
  }

  input(packet: Uint8Array, ip: Ipv4Header, off: number, len: number, now: number): void {
    const s = this.stats.Icmp;
    s.InMsgs++;
    const h = this.h;
    const err = decodeIcmp(packet, off, len, h);
    if (err !== undefined) {
      s.InErrors++;
      if (err === 'bad-checksum') s.InCsumErrors++;
      this.stats.drop(`icmp.${err}`);
      return;
    }
    switch (h.type) {
      case IcmpType.Echo:
        s.InEchos++;
        this.answerEcho(packet, ip, off, len);
        return;
      case IcmpType.EchoReply:
        s.InEchoReps++;
        this.stats.drop('icmp.echo-reply-unclaimed');
        return;
      case IcmpType.DestUnreachable:
        s.InDestUnreachs++;
        this.deliverError(packet, off, len, now);
        return;
      case IcmpType.TimeExceeded:
        s.InTimeExcds++;
        this.deliverError(packet, off, len, now);
        return;
      default:
        if (isIcmpError(h.type)) this.deliverError(packet, off, len, now);
        else this.stats.drop('icmp.unhandled-type');
    }
  }

  private answerEcho(packet: Uint8Array, ip: Ipv4Header, off: number, len: number): void {
    if (!this.options.answerEcho) {
      this.stats.drop('icmp.echo-ignored');
      return;
    }
    // RFC 1122 §3.2.2.6: the reply carries the request's data unchanged; we answer from the address it was sent to.
    const buf = this.ip.allocate(len);
    buf.set(packet.subarray(off, off + len), IPV4_MIN_HEADER);
    emitIcmp(buf, IPV4_MIN_HEADER, len, IcmpType.EchoReply, 0, echoRest(this.h.id, this.h.sequence));
    if (this.ip.output(buf, len, ip.dst, ip.src, IPPROTO_ICMP) === undefined) {
      this.stats.Icmp.OutMsgs++;
      this.stats.Icmp.OutEchoReps++;
    } else {
      this.stats.Icmp.OutErrors++;
    }
  }

  /** Hands an ICMP error to the transport of the datagram it quotes. */
  private deliverError(packet: Uint8Array, off: number, len: number, now: number): void {
    const qOff = off + ICMP_HEADER;
    const qLen = len - ICMP_HEADER;
    const q = this.quotedIp;
    // The quote is at least an IP header + 8 bytes; its checksum is not re-verified (routers may have altered it).
    if (qLen < IPV4_MIN_HEADER + QUOTED_DATA || decodeIpv4(packet.subarray(qOff, off + len), q, false) === 'bad-version') {
      this.stats.Icmp.InErrors++;
      this.stats.drop('icmp.bad-quote');
      return;
    }
    if ((packet[qOff]! & 0x0f) * 4 + QUOTED_DATA > qLen) {
      this.stats.Icmp.InErrors++;
      this.stats.drop('icmp.bad-quote');
      return;
    }
    const handler = this.ip.handler(packet[qOff + 9]!);
    if (!handler?.icmpError) {
      this.stats.drop('icmp.error-unclaimed');
      return;
    }
    handler.icmpError(this.h.type, this.h.code, this.h.rest, packet, qOff, qLen, now);
  }

  /**
   * Sends an ICMP error about `offending` (a datagram that reached us), unless
   * RFC 1122 §3.2.2 forbids it: never about an ICMP error, a non-first
   * fragment, or a datagram whose source or destination is broadcast or
   * multicast. Rate-limited. Returns true when sent.
   */
  sendError(type: number, code: number, rest: number, offending: Uint8Array, ip: Ipv4Header, now: number): boolean {
    if (ip.fragmentOffset !== 0) return this.suppressed('icmp.no-error-non-first-fragment');
    if (isLimitedBroadcast(ip.dst) || isMulticast(ip.dst) || isLimitedBroadcast(ip.src) || isMulticast(ip.src) || ip.src === 0) {
      return this.suppressed('icmp.no-error-broadcast');
    }
    if (ip.protocol === IPPROTO_ICMP) {
      const t = offending[ip.headerLength];
      // An error about an ICMP error (or one too short to tell) is never sent; errors about queries are fine.
      if (t === undefined || isIcmpError(t) || ip.totalLength - ip.headerLength < ICMP_HEADER) return this.suppressed('icmp.no-error-about-error');
    }
    if (!this.allow(ip.src, now)) {
      this.stats.Icmp.OutRateLimited++;
      this.stats.drop('icmp.rate-limited');
      return false;
    }
    const quoteLen = Math.min(offending.length, ip.headerLength + QUOTED_DATA);
    const len = ICMP_HEADER + quoteLen;
    const buf = this.ip.allocate(len);
    buf.set(offending.subarray(0, quoteLen), IPV4_MIN_HEADER + ICMP_HEADER);
    emitIcmp(buf, IPV4_MIN_HEADER, len, type, code, rest);
    // Source: the address the offending datagram was sent to when it is ours, else the outgoing interface's.
    const src = this.ip.isLocal(ip.dst) ? ip.dst : 0;
    if (this.ip.output(buf, len, src, ip.src, IPPROTO_ICMP) !== undefined) {
      this.stats.Icmp.OutErrors++;
      return false;
    }
    const s = this.stats.Icmp;
    s.OutMsgs++;
    if (type === IcmpType.DestUnreachable) s.OutDestUnreachs++;
    else if (type === IcmpType.TimeExceeded) s.OutTimeExcds++;
    return true;
  }

  private suppressed(reason: DropReason): false {
    this.stats.drop(reason);
    return false;
  }

  private allow(dst: number, now: number): boolean {
    const o = this.options;
    if (o.perDestIntervalMs > 0) {
      let b = this.perDest.get(dst);
      if (!b) {
        if (this.perDest.size >= MAX_DEST_BUCKETS) this.perDest.delete(this.perDest.keys().next().value!);
        b = new TokenBucket(1 / o.perDestIntervalMs, 6);
        this.perDest.set(dst, b);
      }
      if (!b.peek(now)) return false;
      if (!this.global.take(now)) return false;
      b.take(now);
      return true;
    }
    return this.global.take(now);
  }
}
