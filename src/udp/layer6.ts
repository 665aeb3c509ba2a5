/**
 * UDP over IPv6 (RFC 768 with RFC 8200 §8.1): the checksum covers the IPv6 pseudo-header and is mandatory —
 * a zero checksum is invalid and the datagram dropped (§8.1; Linux udp6_csum_init, counted as a checksum
 * error); demultiplexing through a port table of its own; Destination Unreachable, port unreachable, for a
 * datagram nobody listens for (RFC 4443 §3.1, rate-limited with the other ICMPv6 errors); ICMPv6 errors
 * handed to the socket whose datagram they quote (its source checked to be ours by the IPv6 layer, its
 * addresses and ports matched here — RFC 5927 §4's checks for UDP).
 *
 * Sockets are Node's `udp6` type (./socket.ts over ./family.ts's UDP6); they take IPv6 only (IPV6_V6ONLY).
 * Counters in the Udp6 group, named like Linux's /proc/net/snmp6.
 */
import { UDP_HEADER, UdpHeader, decodeUdp, emitUdp6 } from '../wire/udp.js';
import { read16, read32 } from '../wire/bytes.js';
import { IPV6_HEADER, NextHeader, formatIpv6, pseudoHeaderSum6, type Ipv6Header, type Ipv6Words } from '../wire/ipv6.js';
import { Icmp6Type, Unreach6Code } from '../wire/icmp6.js';
import type { Stats } from '../stats.js';
import type { NetInterface } from '../ip/interface.js';
import type { Ip6ProtocolHandler, Ipv6Layer } from '../ip/ipv6.js';
import { UdpPortTable } from './ports.js';
import { UdpSocket, type RemoteInfo, type UdpSocketHost, type UdpSocketOptions } from './socket.js';
import { systemError, type UdpErrorCode } from './errors.js';
import { UDP6 } from './family.js';
import type { UdpOptions, UdpSocketRow } from './layer.js';

/** Linux icmpv6_err_convert's table for Destination Unreachable codes: errno and whether it is a hard error. */
const UNREACH6: readonly (readonly [UdpErrorCode, boolean])[] = [
  ['ENETUNREACH', false], // 0 no route
  ['EACCES', true], // 1 administratively prohibited
  ['EHOSTUNREACH', false], // 2 beyond scope
  ['EHOSTUNREACH', false], // 3 address unreachable
  ['ECONNREFUSED', true], // 4 port unreachable
  ['EACCES', true], // 5 source address failed policy
  ['EACCES', true], // 6 reject route
];

export class Udp6Layer implements Ip6ProtocolHandler, UdpSocketHost<Ipv6Words> {
  readonly family = UDP6;
  private readonly table = new UdpPortTable<UdpSocket<Ipv6Words>, Ipv6Words>(UDP6);
  private readonly h = new UdpHeader();
  private readonly quotedSrc: Ipv6Words = [0, 0, 0, 0];
  private readonly quotedDst: Ipv6Words = [0, 0, 0, 0];

  constructor(
    private readonly ip6: Ipv6Layer,
    private readonly allStats: Stats,
    private readonly options: Pick<UdpOptions, 'recvBufferSize' | 'ephemeralLow' | 'ephemeralHigh' | 'random'>,
    private readonly now: () => number,
  ) {
    ip6.register(NextHeader.Udp, this);
  }

  get stats(): Stats['Udp6'] {
    return this.allStats.Udp6;
  }

  get defaultRecvBufferSize(): number {
    return this.options.recvBufferSize;
  }

  /** A new socket, like `dgram.createSocket('udp6')`; an optional 'message' listener. */
  createSocket(opts: UdpSocketOptions = {}, onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void): UdpSocket<Ipv6Words> {
    const s = new UdpSocket<Ipv6Words>(this, opts);
    if (onMessage) s.on('message', onMessage);
    return s;
  }

  sockets(): UdpSocketRow[] {
    return this.table.list().map((s) => ({
      localAddress: formatIpv6(s.boundAddress),
      localPort: s.boundPort,
      remoteAddress: formatIpv6(s.peerAddress),
      remotePort: s.peerPort,
      recvQueue: s.recvQueueBytes,
      drops: s.drops,
    }));
  }

  closeAll(): void {
    for (const s of this.table.list()) if (!s.isClosed) s.close();
  }

  isLocalAddress(a: Ipv6Words): boolean {
    return this.ip6.isLocal(a);
  }

  // ---- packet path -------------------------------------------------------

  input(packet: Uint8Array, ip: Ipv6Header, off: number, len: number, iface: NetInterface, now: number): void {
    const s = this.allStats.Udp6;
    // RFC 8200 §8.1: UDP over IPv6 must carry a checksum; zero is invalid.
    if (len >= UDP_HEADER && read16(packet, off + 6) === 0) {
      s.InErrors++;
      s.InCsumErrors++;
      this.allStats.drop('udp6.zero-checksum');
      return;
    }
    const h = this.h;
    // A datagram the link vouches for (a partial checksum from the local kernel) is not verified.
    const err = decodeUdp(packet, off, len, h, ip.checksumTrusted ? undefined : pseudoHeaderSum6(ip.src, ip.dst, NextHeader.Udp, len));
    if (err !== undefined) {
      s.InErrors++;
      if (err === 'bad-checksum') s.InCsumErrors++;
      this.allStats.drop(`udp6.${err}`);
      return;
    }
    const sock = this.table.lookup(ip.dst, h.dstPort, ip.src, h.srcPort);
    if (!sock) {
      s.NoPorts++;
      this.allStats.drop('udp6.no-port');
      this.ip6.sendError(Icmp6Type.DestUnreachable, Unreach6Code.Port, 0, packet, iface, now);
      return;
    }
    const start = off + UDP_HEADER;
    // The header object is reused for the next packet: the socket keeps a copy of the source.
    if (sock.enqueue(packet.subarray(start, start + h.payloadLength), [ip.src[0], ip.src[1], ip.src[2], ip.src[3]], h.srcPort)) {
      s.InDatagrams++;
    } else {
      s.RcvbufErrors++;
      s.InErrors++;
      this.allStats.drop('udp6.rcvbuf-full');
    }
  }

  /** An ICMPv6 error quoting a datagram we sent: the socket is found by the quoted addresses and ports. */
  icmpError(type: number, code: number, _info: number, quoted: Uint8Array, qOff: number, l4Off: number, qEnd: number, from: Ipv6Words, _now: number): void {
    if (l4Off + 4 > qEnd) {
      this.allStats.drop('udp6.icmp-short-quote');
      return;
    }
    const src = this.quotedSrc;
    const dst = this.quotedDst;
    for (let k = 0; k < 4; k++) {
      src[k] = read32(quoted, qOff + 8 + 4 * k);
      dst[k] = read32(quoted, qOff + 24 + 4 * k);
    }
    const sport = read16(quoted, l4Off);
    const dport = read16(quoted, l4Off + 2);
    const sock = this.table.lookup(src, sport, dst, dport);
    if (!sock) {
      this.allStats.drop('udp6.icmp-no-socket');
      return;
    }
    let errCode: UdpErrorCode = 'EHOSTUNREACH';
    let fatal = false;
    if (type === Icmp6Type.DestUnreachable) [errCode, fatal] = UNREACH6[code] ?? ['EHOSTUNREACH', false];
    else if (type === Icmp6Type.PacketTooBig) errCode = 'EMSGSIZE';
    else if (type === Icmp6Type.ParameterProblem) {
      errCode = 'EINVAL'; // Linux: EPROTO, hard
      fatal = true;
    }
    const address = formatIpv6(dst);
    const error = systemError(errCode, 'recvmsg', address, dport);
    sock.icmpError({ type, code, from: formatIpv6(from), address, port: dport, error, fatal });
  }

  // ---- socket host -------------------------------------------------------

  bindSocket(s: UdpSocket<Ipv6Words>, address: Ipv6Words, port: number): UdpErrorCode | undefined {
    if (!UDP6.isAny(address) && !this.ip6.isLocal(address)) return 'EADDRNOTAVAIL';
    let p = port;
    if (p === 0) {
      p = this.table.ephemeral(address, this.options.random, this.options.ephemeralLow, this.options.ephemeralHigh);
      if (p === 0) return 'EADDRINUSE';
    } else if (!this.table.isFree(address, p)) return 'EADDRINUSE';
    s.boundAddress = address;
    s.boundPort = p;
    this.table.add(s);
    return undefined;
  }

  unbindSocket(s: UdpSocket<Ipv6Words>): void {
    this.table.remove(s);
  }

  connectSocket(s: UdpSocket<Ipv6Words>, address: Ipv6Words, port: number): UdpErrorCode | undefined {
    if (UDP6.isAny(s.boundAddress)) {
      const src = this.ip6.sourceFor(address);
      if (src === null) return 'ENETUNREACH';
      // Linux ip6_datagram_connect fixes the local address (the table entry moves with it; same port).
      this.table.remove(s);
      s.boundAddress = src;
      s.addressFromConnect = true;
      this.table.add(s);
    }
    s.peerAddress = address;
    s.peerPort = port;
    return undefined;
  }

  disconnectSocket(s: UdpSocket<Ipv6Words>): void {
    s.peerAddress = UDP6.any;
    s.peerPort = 0;
    if (s.addressFromConnect) {
      this.table.remove(s);
      s.boundAddress = UDP6.any;
      s.addressFromConnect = false;
      this.table.add(s);
    }
  }

  sendFrom(s: UdpSocket<Ipv6Words>, payload: Uint8Array, dst: Ipv6Words, dport: number): UdpErrorCode | undefined {
    const src = !UDP6.isAny(s.boundAddress) ? s.boundAddress : this.ip6.sourceFor(dst);
    if (src === null) {
      this.allStats.drop('udp6.out-no-route');
      return 'ENETUNREACH';
    }
    const ulen = UDP_HEADER + payload.length;
    const buf = new Uint8Array(IPV6_HEADER + ulen);
    buf.set(payload, IPV6_HEADER + UDP_HEADER);
    emitUdp6(buf, IPV6_HEADER, s.boundPort, dport, ulen, src, dst);
    const err = this.ip6.output(buf, ulen, src, dst, NextHeader.Udp, this.now());
    if (err !== undefined) return err;
    this.allStats.Udp6.OutDatagrams++;
    return undefined;
  }
}
