/**
 * UDP (RFC 768) for the stack: input validation (length, checksum — zero
 * means none on IPv4), demultiplexing through the port table, ICMP port
 * unreachable for datagrams nobody listens for (RFC 1122 §4.1.3.1), output
 * with the pseudo-header checksum (large datagrams leave fragmented), and
 * ICMP errors handed to the socket whose datagram they quote.
 *
 * Counters like Linux's Udp line: InDatagrams (queued to a socket), NoPorts,
 * InErrors (bad length/checksum, full queue), InCsumErrors, RcvbufErrors,
 * OutDatagrams.
 */
import { Ipv4Header, IPPROTO_UDP, IPV4_MIN_HEADER } from '../wire/ipv4.js';
import { UDP_HEADER, UdpHeader, decodeUdp, emitUdp } from '../wire/udp.js';
import { pseudoHeaderSum } from '../wire/checksum.js';
import { IcmpType, UnreachCode } from '../wire/icmp.js';
import { ipToString, read16, read32 } from '../wire/bytes.js';
import type { Stats } from '../stats.js';
import type { Ipv4Layer, IpProtocolHandler } from '../ip/ipv4.js';
import type { IcmpLayer } from '../ip/icmp.js';
import { icmpErrno } from '../ip/icmp-errno.js';
import { UdpPortTable, EPHEMERAL_HIGH, EPHEMERAL_LOW } from './ports.js';
import { UdpSocket, type RemoteInfo, type UdpSocketHost, type UdpSocketOptions } from './socket.js';
import { systemError, type UdpErrorCode } from './errors.js';
import { UDP4 } from './family.js';

export interface UdpOptions {
  /** Default receive queue per socket, accounted bytes (Linux rmem_default = 212992). */
  recvBufferSize: number;
  /** Ephemeral port range (Linux ip_local_port_range = 32768 60999). */
  ephemeralLow: number;
  ephemeralHigh: number;
  /** Source of randomness for ephemeral ports (tests pass a seeded one). */
  random: () => number;
}

export const defaultUdpOptions: UdpOptions = {
  recvBufferSize: 212992,
  ephemeralLow: EPHEMERAL_LOW,
  ephemeralHigh: EPHEMERAL_HIGH,
  random: Math.random,
};

/** One row of the UDP socket table (like `ss -uan`). */
export interface UdpSocketRow {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  recvQueue: number;
  drops: number;
}

export class UdpLayer implements IpProtocolHandler, UdpSocketHost {
  readonly options: UdpOptions;
  readonly family = UDP4;
  private readonly table = new UdpPortTable<UdpSocket>(UDP4);
  private readonly h = new UdpHeader();

  constructor(
    private readonly ip: Ipv4Layer,
    private readonly icmp: IcmpLayer,
    private readonly allStats: Stats,
    options: Partial<UdpOptions> = {},
  ) {
    this.options = { ...defaultUdpOptions, ...options };
    ip.register(IPPROTO_UDP, this);
  }

  get stats(): Stats['Udp'] {
    return this.allStats.Udp;
  }

  get defaultRecvBufferSize(): number {
    return this.options.recvBufferSize;
  }

  /** A new socket, like `dgram.createSocket('udp4')`; an optional 'message' listener. */
  createSocket(opts: UdpSocketOptions | 'udp4' = {}, onMessage?: (msg: Buffer, rinfo: RemoteInfo) => void): UdpSocket {
    const o = typeof opts === 'string' ? {} : opts;
    const s = new UdpSocket(this, o);
    if (onMessage) s.on('message', onMessage);
    return s;
  }

  /** The socket table. */
  sockets(): UdpSocketRow[] {
    return this.table.list().map((s) => ({
      localAddress: ipToString(s.boundAddress),
      localPort: s.boundPort,
      remoteAddress: s.peerPort === 0 ? '0.0.0.0' : ipToString(s.peerAddress),
      remotePort: s.peerPort,
      recvQueue: s.recvQueueBytes,
      drops: s.drops,
    }));
  }

  /** Closes every socket (stack shutdown). */
  closeAll(): void {
    for (const s of this.table.list()) if (!s.isClosed) s.close();
  }

  isLocalAddress(a: number): boolean {
    return this.ip.isLocal(a);
  }

  // ---- packet path -------------------------------------------------------

  input(packet: Uint8Array, ip: Ipv4Header, off: number, len: number, now: number): void {
    const s = this.allStats.Udp;
    const h = this.h;
    const err = decodeUdp(packet, off, len, h, ip.checksumTrusted ? undefined : pseudoHeaderSum(ip.src, ip.dst, IPPROTO_UDP, len));
    if (err !== undefined) {
      s.InErrors++;
      if (err === 'bad-checksum') s.InCsumErrors++;
      this.allStats.drop(`udp.${err}`);
      return;
    }
    const sock = this.table.lookup(ip.dst, h.dstPort, ip.src, h.srcPort);
    if (!sock) {
      s.NoPorts++;
      this.allStats.drop('udp.no-port');
      this.icmp.sendError(IcmpType.DestUnreachable, UnreachCode.Port, 0, packet, ip, now);
      return;
    }
    const start = off + UDP_HEADER;
    if (sock.enqueue(packet.subarray(start, start + h.payloadLength), ip.src, h.srcPort)) {
      s.InDatagrams++;
    } else {
      s.RcvbufErrors++;
      s.InErrors++;
      this.allStats.drop('udp.rcvbuf-full');
    }
  }

  /** An ICMP error quoting a datagram we sent: find the socket by the quoted ports and addresses. */
  icmpError(type: number, code: number, _info: number, quoted: Uint8Array, qOff: number, qLen: number, _now: number): void {
    const hl = (quoted[qOff]! & 0x0f) * 4;
    if (qLen < hl + 4) {
      this.allStats.drop('udp.icmp-short-quote');
      return;
    }
    const src = read32(quoted, qOff + 12);
    const dst = read32(quoted, qOff + 16);
    const sport = read16(quoted, qOff + hl);
    const dport = read16(quoted, qOff + hl + 2);
    const sock = this.table.lookup(src, sport, dst, dport);
    if (!sock) {
      this.allStats.drop('udp.icmp-no-socket');
      return;
    }
    const [errno, fatal] = icmpErrno(type, code);
    const errCode: UdpErrorCode = errno === 'EPROTO' ? 'EINVAL' : errno; // Node's UDP errors have no EPROTO
    const error = systemError(errCode, 'recvmsg', ipToString(dst), dport);
    sock.icmpError({ type, code, from: ipToString(this.icmpSource(quoted, qOff)), address: ipToString(dst), port: dport, error, fatal });
  }

  /** The source of the ICMP message whose quote starts at qOff: the outer IP header is at 0, the ICMP header right after it. */
  private icmpSource(packet: Uint8Array, qOff: number): number {
    return (packet[0]! & 0x0f) * 4 + 8 === qOff ? read32(packet, 12) : 0;
  }

  // ---- socket host -------------------------------------------------------

  bindSocket(s: UdpSocket, address: number, port: number): UdpErrorCode | undefined {
    if (address !== 0 && !this.ip.isLocal(address)) return 'EADDRNOTAVAIL';
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

  unbindSocket(s: UdpSocket): void {
    this.table.remove(s);
  }

  connectSocket(s: UdpSocket, address: number, port: number): UdpErrorCode | undefined {
    if (s.boundAddress === 0) {
      const src = this.ip.sourceFor(address);
      if (src === 0) return 'ENETUNREACH';
      // Linux fixes the local address at connect time (the table entry moves with it; same port).
      this.table.remove(s);
      s.boundAddress = src;
      s.addressFromConnect = true;
      this.table.add(s);
    }
    s.peerAddress = address;
    s.peerPort = port;
    return undefined;
  }

  disconnectSocket(s: UdpSocket): void {
    s.peerAddress = 0;
    s.peerPort = 0;
    if (s.addressFromConnect) {
      // Back to the wildcard it was bound to (Linux: unless the address was bound explicitly).
      this.table.remove(s);
      s.boundAddress = 0;
      s.addressFromConnect = false;
      this.table.add(s);
    }
  }

  sendFrom(s: UdpSocket, payload: Uint8Array, dst: number, dport: number): UdpErrorCode | undefined {
    const src = s.boundAddress !== 0 ? s.boundAddress : this.ip.sourceFor(dst);
    if (src === 0) {
      this.allStats.drop('udp.out-no-route');
      return 'ENETUNREACH';
    }
    const ulen = UDP_HEADER + payload.length;
    const buf = this.ip.allocate(ulen);
    buf.set(payload, IPV4_MIN_HEADER + UDP_HEADER);
    emitUdp(buf, IPV4_MIN_HEADER, s.boundPort, dport, ulen, src, dst);
    const err = this.ip.output(buf, ulen, src, dst, IPPROTO_UDP);
    if (err !== undefined) return err;
    this.allStats.Udp.OutDatagrams++;
    return undefined;
  }
}
