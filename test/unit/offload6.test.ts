/**
 * Offloads over IPv6: the virtio-net header for TCPV6 super-segments and partial checksums after a bare IPv6
 * header (what the kernel hands over, what the shim writes), software GSO over IPv6 (Linux tcp_gso_segment for
 * SKB_GSO_TCPV6), and TCP over IPv6 sending super-segments — cut by a TSO link or in software, the same wire
 * segments as without TSO — and taking a partial checksum the link vouches for.
 */
import { describe, it, expect } from 'vitest';
import { META_CSUM_PARTIAL, META_CSUM_TRUSTED, VNET_F_NEEDS_CSUM, gsoSegmentCount, vnetMeta, wireCopies, writeVnetHeader } from '../../src/wire/offload.js';
import { VNET_GSO_TCPV6, gsoSegment6, partialChecksum6, completeL4Checksum6 } from '../../src/wire/offload6.js';
import { checksumOk } from '../../src/wire/checksum.js';
import { IPV6_HEADER, Ipv6Header, NextHeader, decodeIpv6, emitIpv6, parseIpv6, pseudoHeaderSum6, type Ipv6Words } from '../../src/wire/ipv6.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TcpHeader, decodeTcp, emitTcp6 } from '../../src/wire/tcp.js';
import { Vnet } from '../helpers/vnet.js';
import { joinTail, type Link, type LinkOffloads, type LinkReceiver } from '../../src/link/link.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import type { TcpConfig } from '../../src/tcp/config.js';

const SRC = parseIpv6('fd77::1') as Ipv6Words;
const DST = parseIpv6('fd77::2') as Ipv6Words;

function bytes(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return b;
}

/** A TCP/IPv6 packet (timestamps option: a 32-byte header) whose checksum is partial, or full when `full`. */
function tcp6(payload: Uint8Array, flags = TCP_ACK | TCP_PSH | TCP_FIN, full = false): Uint8Array {
  const opts = { ts: { val: 1, ecr: 2 } };
  const p = new Uint8Array(IPV6_HEADER + 32 + payload.length);
  p.set(payload, IPV6_HEADER + 32);
  const hl = emitTcp6(p, IPV6_HEADER, { srcPort: 5000, dstPort: 80, seq: 1000, ack: 77, flags, window: 500, urgent: 0, options: opts, rawOptions: undefined }, payload.length, SRC, DST, !full);
  emitIpv6(p, { payloadLength: hl + payload.length, nextHeader: NextHeader.Tcp, hopLimit: 64, src: SRC, dst: DST, trafficClass: 0 });
  return p;
}

function vnet(flags: number, gsoType: number, hdrLen: number, gsoSize: number, csumStart: number, csumOffset: number): Uint8Array {
  const h = new Uint8Array(10);
  h[0] = flags;
  h[1] = gsoType;
  h[2] = hdrLen & 0xff;
  h[3] = hdrLen >> 8;
  h[4] = gsoSize & 0xff;
  h[5] = gsoSize >> 8;
  h[6] = csumStart & 0xff;
  h[7] = csumStart >> 8;
  h[8] = csumOffset & 0xff;
  h[9] = csumOffset >> 8;
  return h;
}

function decode6(p: Uint8Array): { h: Ipv6Header; t: TcpHeader; payload: Uint8Array } {
  const h = new Ipv6Header();
  expect(decodeIpv6(p, h)).toBeUndefined();
  expect(p.length).toBe(IPV6_HEADER + h.payloadLength);
  const t = new TcpHeader();
  expect(decodeTcp(p, IPV6_HEADER, h.payloadLength, t, pseudoHeaderSum6(h.src, h.dst, 6, h.payloadLength))).toBeUndefined();
  return { h, t, payload: p.subarray(IPV6_HEADER + t.headerLength) };
}

describe('virtio-net header over IPv6', () => {
  const p = tcp6(bytes(5000));
  const hl = IPV6_HEADER + 32;

  it('takes a TCPV6 super-segment with a partial checksum at byte 40: gso_size, partial and trusted', () => {
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6, hl, 1428, 40, 16), 0, p)).toBe(1428 | META_CSUM_PARTIAL | META_CSUM_TRUSTED);
    // With the ECN bit of gso_type.
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6 | 0x80, hl, 1428, 40, 16), 0, p)).toBe(1428 | META_CSUM_PARTIAL | META_CSUM_TRUSTED);
    // A single partial segment (no GSO).
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, 0, 0, 0, 40, 16), 0, tcp6(bytes(100)))).toBe(META_CSUM_PARTIAL | META_CSUM_TRUSTED);
  });

  it('drops TCPV6 headers that lie', () => {
    // TCPV4 on an IPv6 packet, TCPV6 on UDP, a payload length that is not the packet's, a checksum elsewhere.
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, 1, hl, 1428, 40, 16), 0, p)).toBe('vnet-gso-not-tcp4');
    const udp = p.slice();
    udp[6] = 17;
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6, hl, 1428, 40, 6), 0, udp)).toBe('vnet-gso-not-tcp6');
    const short = p.slice(0, p.length - 1);
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6, hl, 1428, 40, 16), 0, short)).toBe('vnet-gso-not-tcp6');
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6, hl, 1428, 20, 16), 0, p)).toBe('vnet-bad-csum-range');
    expect(vnetMeta(vnet(0, VNET_GSO_TCPV6, hl, 1428, 0, 0), 0, p)).toBe('vnet-bad-csum-range');
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6, hl, 0, 40, 16), 0, p)).toBe('vnet-bad-gso-size');
  });

  it('writeVnetHeader gives back what vnetMeta reads, and no GSO when one segment holds the payload', () => {
    const h = new Uint8Array(10);
    writeVnetHeader(h, 0, p, 1428 | META_CSUM_PARTIAL);
    expect(Array.from(h)).toEqual(Array.from(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV6, hl, 1428, 40, 16)));
    expect(vnetMeta(h, 0, p)).toBe(1428 | META_CSUM_PARTIAL | META_CSUM_TRUSTED);
    writeVnetHeader(h, 0, p, 6000 | META_CSUM_PARTIAL);
    expect(h[1]).toBe(0);
    expect(h[0]).toBe(VNET_F_NEEDS_CSUM);
  });

  it('the partial checksum is the folded pseudo-header sum, and completing it gives the full checksum', () => {
    const full = tcp6(bytes(777), TCP_ACK, true);
    const part = tcp6(bytes(777), TCP_ACK);
    expect((part[IPV6_HEADER + 16]! << 8) | part[IPV6_HEADER + 17]!).toBe(partialChecksum6(part, 6, part.length - IPV6_HEADER));
    completeL4Checksum6(part);
    expect(Buffer.from(part).equals(Buffer.from(full))).toBe(true);
  });
});

describe('software GSO over IPv6 (the kernel TSO cut)', () => {
  it('cuts a super-segment into MSS segments: headers copied, payload length and SEQ rewritten, FIN/PSH on the last, valid checksums', () => {
    const data = bytes(5000);
    const p = tcp6(data);
    expect(gsoSegmentCount(p, 1428 | META_CSUM_PARTIAL)).toBe(4);
    const pieces: Uint8Array[] = [];
    expect(gsoSegment6(p, 1428, true, (k) => new Uint8Array(k), (x) => pieces.push(x))).toBe(4);
    const got: number[] = [];
    pieces.forEach((x, k) => {
      const c = decode6(x);
      expect(c.t.seq).toBe(1000 + 1428 * k);
      expect(c.payload.length).toBe(k < 3 ? 1428 : 5000 - 3 * 1428);
      expect(c.t.flags).toBe(k < 3 ? TCP_ACK : TCP_ACK | TCP_PSH | TCP_FIN);
      expect(c.t.tsVal).toBe(1);
      expect(c.h.hopLimit).toBe(64);
      got.push(...c.payload);
    });
    expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
  });

  it('wireCopies cuts an IPv6 super-segment on copies, leaving the original untouched', () => {
    const p = tcp6(bytes(3000));
    const before = p.slice();
    const out: Uint8Array[] = [];
    wireCopies(p, 1428 | META_CSUM_PARTIAL, (x) => out.push(x));
    expect(out).toHaveLength(3);
    for (const x of out) decode6(x);
    expect(Buffer.from(p).equals(Buffer.from(before))).toBe(true);
  });
});

/** A link with TSO (IPv4 and IPv6) and checksum offload: it records what the stack hands it, then does the kernel's cut. */
class Tso6Link implements Link {
  readonly offloads: LinkOffloads = { txChecksum: true, tso4: true, tso6: true };
  superSegments = 0;
  largest = 0;
  constructor(private readonly inner: Link) {}
  get mtu(): number {
    return this.inner.mtu;
  }
  get name(): string {
    return this.inner.name;
  }
  setReceiver(r: LinkReceiver): void {
    this.inner.setReceiver(r);
  }
  send(packets: readonly Uint8Array[], count: number, meta?: Uint32Array): void {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const m = meta?.[i] ?? 0;
      if ((m & 0xffff) !== 0 && packets[i]!.length > this.mtu) this.superSegments++;
      this.largest = Math.max(this.largest, packets[i]!.length);
      wireCopies(packets[i]!, m, (x) => out.push(x));
    }
    this.inner.send(out, out.length);
  }
  close(): void {
    this.inner.close();
  }
}

/** A TSO6 link that also takes packets in two pieces (headers, then a view of the send buffer), as the TUN link does. */
class TailTso6Link extends Tso6Link {
  readonly takesTails = true;
  readonly sendsSynchronously = true;
  tails = 0;
  override send(packets: readonly Uint8Array[], count: number, meta?: Uint32Array, tails?: readonly Uint8Array[]): void {
    const whole = packets.slice(0, count).map((p, i) => {
      const t = tails?.[i];
      if (t === undefined || t.length === 0) return p;
      this.tails++;
      return joinTail(p, t);
    });
    super.send(whole, count, meta);
  }
}

async function bulk6(tcpA: Partial<TcpConfig>, tso: boolean | 'tails', n = 400_000): Promise<{ wire: Uint8Array[]; got: Buffer; link: Tso6Link | null; fallback: number }> {
  const wire: Uint8Array[] = [];
  const net = new Vnet({ tcpA: { seed: 5, ...tcpA }, tcpB: { seed: 6 }, dropA: (p) => (wire.push(p.slice()), false) });
  net.a.addAddress6(net.a.interfaces[0]!, 'fd00::1/64');
  net.b.addAddress6(net.b.interfaces[0]!, 'fd00::2/64');
  let link: Tso6Link | null = null;
  if (tso !== false) {
    const iface = net.a.interfaces[0]!;
    link = tso === 'tails' ? new TailTso6Link(iface.link) : new Tso6Link(iface.link);
    (iface as unknown as { link: Link }).link = link;
  }
  const chunks: Buffer[] = [];
  net.b.tcp.createServer((s: TcpSocket) => s.on('data', (d: Buffer) => chunks.push(d))).listen(9);
  const c = net.a.tcp.connect({ host: 'fd00::2', port: 9 });
  c.end(Buffer.from(bytes(n, 3)));
  await net.until(() => chunks.reduce((a, b) => a + b.length, 0) >= n, 120_000, 'transfer');
  await net.run(1000);
  const fallback = net.a.ip6.gsoFallbackPackets;
  net.close();
  return { wire, got: Buffer.concat(chunks), link, fallback };
}

describe('TSO over IPv6 in the TCP output path', () => {
  it('cuts super-segments in software for a link without TSO: the same wire segments as without TSO, all within the MTU', async () => {
    const off = await bulk6({ tso: false }, false);
    const on = await bulk6({ tso: true }, false);
    expect(on.got.equals(Buffer.from(bytes(400_000, 3)))).toBe(true);
    expect(on.fallback).toBeGreaterThan(3);
    expect(off.fallback).toBe(0);
    expect(on.wire.length).toBe(off.wire.length);
    for (let i = 0; i < on.wire.length; i++) expect(Buffer.from(on.wire[i]!).equals(Buffer.from(off.wire[i]!))).toBe(true);
    expect(Math.max(...on.wire.map((p) => p.length))).toBeLessThanOrEqual(1500);
    // Every segment carries a full, valid checksum over the IPv6 pseudo-header.
    for (const p of on.wire) if (p[0]! >> 4 === 6 && p[6] === 6) decode6(p);
  });

  it('hands a link with TSO6 super-segments (partial checksum, gso_size = MSS) and the far side gets every byte', async () => {
    const r = await bulk6({}, true);
    expect(r.got.equals(Buffer.from(bytes(400_000, 3)))).toBe(true);
    expect(r.link!.superSegments).toBeGreaterThan(3);
    expect(r.link!.largest).toBeGreaterThan(30_000);
    expect(r.link!.largest).toBeLessThanOrEqual(65_535);
    expect(r.fallback).toBe(0);
    const off = await bulk6({ tso: false }, false);
    expect(r.wire.length).toBe(off.wire.length);
    for (let i = 0; i < r.wire.length; i++) expect(Buffer.from(r.wire[i]!).equals(Buffer.from(off.wire[i]!))).toBe(true);
  });

  it('hands a link that takes tails each large segment as headers plus a view of the send buffer: the same wire, byte for byte', async () => {
    const r = await bulk6({}, 'tails');
    expect(r.got.equals(Buffer.from(bytes(400_000, 3)))).toBe(true);
    expect((r.link as TailTso6Link).tails).toBeGreaterThan(3);
    const copied = await bulk6({}, true);
    expect(r.wire.length).toBe(copied.wire.length);
    for (let i = 0; i < r.wire.length; i++) expect(Buffer.from(r.wire[i]!).equals(Buffer.from(copied.wire[i]!))).toBe(true);
  });
});

describe('IPv6 receive path with offload words', () => {
  it('takes a segment whose checksum is partial when the link vouches for it, and drops it otherwise', async () => {
    const net = new Vnet();
    try {
      net.b.addAddress6(net.b.interfaces[0]!, 'fd77::2/64');
      const iface = net.b.interfaces[0]!;
      // A SYN to a closed port, checksum partial: trusted, it is a valid segment (answered by a RST)...
      const syn = tcp6(new Uint8Array(0), 0x02);
      const before = net.b.stats.Tcp.OutRsts;
      net.b.receiveBatch(iface, [syn.slice()], 1, new Uint32Array([META_CSUM_PARTIAL | META_CSUM_TRUSTED]));
      expect(net.b.stats.Tcp.OutRsts).toBe(before + 1);
      expect(net.b.stats.Tcp.InCsumErrors).toBe(0);
      // ...untrusted, the same bytes fail the checksum.
      net.b.receiveBatch(iface, [syn.slice()], 1, new Uint32Array([0]));
      expect(net.b.stats.Tcp.InCsumErrors).toBe(1);
      expect(checksumOk(syn, IPV6_HEADER, syn.length - IPV6_HEADER, pseudoHeaderSum6(SRC, DST, 6, syn.length - IPV6_HEADER))).toBe(false);
    } finally {
      net.close();
    }
  });
});
