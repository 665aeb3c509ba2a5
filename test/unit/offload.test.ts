/**
 * Offloads: the virtio-net header (validation of what the kernel hands over,
 * lies dropped), software GSO (the cut a kernel's TSO makes), TSO in the TCP
 * output path (super-segments, identical wire segments with and without it),
 * and super-segments with partial checksums on the receive path.
 */
import { describe, it, expect } from 'vitest';
import {
  META_CSUM_PARTIAL,
  META_CSUM_TRUSTED,
  VNET_F_DATA_VALID,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_TCPV4,
  gsoSegment,
  partialChecksum,
  vnetMeta,
  wireCopies,
  writeVnetHeader,
} from '../../src/wire/offload.js';
import { checksumOk, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import { RawHarness, Vnet, parseSent, tcpPacket, type RawSeg } from '../helpers/vnet.js';
import { ip } from '../helpers/packets.js';
import { joinTail, type Link, type LinkOffloads, type LinkReceiver } from '../../src/link/link.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import type { TcpConfig } from '../../src/tcp/config.js';

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

/** A TCP/IPv4 packet whose checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL). */
function partialTcp(s: RawSeg): Uint8Array {
  const p = tcpPacket(s);
  const tl = p.length - 20;
  const c = partialChecksum(ip(s.src ?? '10.77.0.1'), ip(s.dst ?? '10.77.0.2'), 6, tl);
  p[36] = c >> 8;
  p[37] = c & 0xff;
  return p;
}

function bytes(n: number, seed = 7): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return b;
}

const SEG: RawSeg = { srcPort: 5000, dstPort: 80, seq: 1000, ack: 77, flags: TCP_ACK | TCP_PSH | TCP_FIN, window: 500, payload: bytes(5000), options: { ts: { val: 1, ecr: 2 } } };

describe('virtio-net header from the kernel', () => {
  const p = partialTcp(SEG);
  const hl = 20 + 32;

  it('takes a TCPV4 super-segment with a partial checksum: gso_size, partial and trusted', () => {
    const m = vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, hl, 1448, 20, 16), 0, p);
    expect(m).toBe(1448 | META_CSUM_PARTIAL | META_CSUM_TRUSTED);
    // The ECN bit of gso_type is accepted.
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4 | 0x80, hl, 1448, 20, 16), 0, p)).toBe(1448 | META_CSUM_PARTIAL | META_CSUM_TRUSTED);
    // DATA_VALID: verified by the kernel.
    expect(vnetMeta(vnet(VNET_F_DATA_VALID, 0, 0, 0, 0, 0), 0, tcpPacket(SEG))).toBe(META_CSUM_TRUSTED);
    expect(vnetMeta(new Uint8Array(10), 0, tcpPacket(SEG))).toBe(0);
  });

  it('drops headers that lie', () => {
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, hl, 0, 20, 16), 0, p)).toBe('vnet-bad-gso-size');
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, 3, hl, 1448, 20, 16), 0, p)).toBe('vnet-bad-gso-type'); // UDP (UFO)
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, 4, hl, 1448, 20, 16), 0, p)).toBe('vnet-gso-not-tcp6'); // TCPV6 on an IPv4 packet
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, 9, hl, 1448, 20, 16), 0, p)).toBe('vnet-bad-gso-type');
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, p.length + 1, 1448, 20, 16), 0, p)).toBe('vnet-bad-hdr-len');
    expect(vnetMeta(vnet(0, 0, p.length + 1, 0, 0, 0), 0, p)).toBe('vnet-bad-hdr-len');
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, 0, 0, 0, p.length - 1, 0), 0, p)).toBe('vnet-bad-csum-range');
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, 0, 0, 0, 20, 0xffff), 0, p)).toBe('vnet-bad-csum-range');
    // A super-segment whose checksum is said to be elsewhere than TCP keeps it, or is not partial at all.
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, hl, 1448, 20, 6), 0, p)).toBe('vnet-bad-csum-range');
    expect(vnetMeta(vnet(0, VNET_GSO_TCPV4, hl, 1448, 0, 0), 0, p)).toBe('vnet-bad-csum-range');
    // GSO on something that is not TCP/IPv4.
    const udp = p.slice();
    udp[9] = 17;
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 28, 1448, 20, 6), 0, udp)).toBe('vnet-gso-not-tcp4');
  });

  it('completes a partial checksum at an unusual place in range, and leaves it to be verified', () => {
    // ICMP echo (type 8) with its checksum field holding 0: a NEEDS_CSUM at csum_start 20, offset 2.
    const icmp = new Uint8Array(20 + 16);
    icmp[0] = 0x45;
    icmp[9] = 1;
    icmp[20] = 8;
    for (let i = 28; i < icmp.length; i++) icmp[i] = i;
    expect(vnetMeta(vnet(VNET_F_NEEDS_CSUM, 0, 0, 0, 20, 2), 0, icmp)).toBe(0);
    expect(checksumOk(icmp, 20, 16)).toBe(true);
  });

  it('writeVnetHeader gives back what vnetMeta reads', () => {
    const h = new Uint8Array(10);
    writeVnetHeader(h, 0, p, 1448 | META_CSUM_PARTIAL);
    expect(Array.from(h)).toEqual(Array.from(vnet(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, hl, 1448, 20, 16)));
    expect(vnetMeta(h, 0, p)).toBe(1448 | META_CSUM_PARTIAL | META_CSUM_TRUSTED);
    // No GSO when the payload fits one segment.
    writeVnetHeader(h, 0, p, 6000 | META_CSUM_PARTIAL);
    expect(h[1]).toBe(0);
  });
});

describe('software GSO (the kernel TSO cut)', () => {
  it('cuts a super-segment into MSS segments: headers copied, SEQ advanced, FIN/PSH on the last, IDs counting up, valid checksums', () => {
    const p = partialTcp(SEG);
    p[4] = 0x12;
    p[5] = 0x34;
    const pieces: Uint8Array[] = [];
    const n = gsoSegment(p, 1448, true, (k) => new Uint8Array(k), (x) => pieces.push(x));
    expect(n).toBe(4);
    const payload: number[] = [];
    pieces.forEach((x, k) => {
      const c = parseSent(x); // verifies the IP and TCP checksums
      expect(c.tcp.seq).toBe(1000 + 1448 * k);
      expect(c.ip.id).toBe(0x1234 + k);
      expect(c.payload.length).toBe(k < 3 ? 1448 : 5000 - 3 * 1448);
      expect(c.tcp.flags).toBe(k < 3 ? TCP_ACK : TCP_ACK | TCP_PSH | TCP_FIN);
      expect(c.tcp.tsVal).toBe(1);
      expect(c.tcp.window).toBe(500);
      payload.push(...c.payload);
    });
    expect(Buffer.from(payload).equals(Buffer.from(SEG.payload!))).toBe(true);
  });

  it('wireCopies leaves the original untouched (a capture of a partial packet)', () => {
    const p = partialTcp({ ...SEG, payload: bytes(1000) });
    const before = p.slice();
    const out: Uint8Array[] = [];
    wireCopies(p, 1448 | META_CSUM_PARTIAL, (x) => out.push(x));
    expect(out).toHaveLength(1);
    expect(Buffer.from(p).equals(Buffer.from(before))).toBe(true);
    expect(checksumOk(out[0]!, 20, out[0]!.length - 20, pseudoHeaderSum(ip('10.77.0.1'), ip('10.77.0.2'), 6, out[0]!.length - 20))).toBe(true);
  });
});

/** A link with TSO and checksum offload in front of a memory link: it records what the stack hands it, then does the kernel's cut. */
class TsoLink implements Link {
  readonly offloads: LinkOffloads = { txChecksum: true, tso4: true };
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

/**
 * A TSO link that also takes packets in two pieces, as the TUN link does: the headers, then a view of the TCP
 * send buffer (`tails`), read before `send` returns. It joins them and cuts as TsoLink does.
 */
class TailTsoLink extends TsoLink {
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

async function bulk(tcpA: Partial<TcpConfig>, tso: boolean | 'tails', n = 400_000, lose = 0): Promise<{ wire: Uint8Array[]; got: Buffer; link: TsoLink | null }> {
  const wire: Uint8Array[] = [];
  let k = 0;
  // `lose`: every lose-th data segment from A is dropped on the wire (retransmissions come from the send buffer again).
  const dropA = (p: Uint8Array): boolean => (wire.push(p.slice()), lose > 0 && p.length > 1000 && ++k % lose === 0);
  const net = new Vnet({ tcpA: { seed: 5, ...tcpA }, tcpB: { seed: 6 }, dropA });
  let link: TsoLink | null = null;
  if (tso !== false) {
    // Put a TSO link between A's stack and its wire (A's interface link is replaced before any traffic).
    const iface = net.a.interfaces[0]!;
    link = tso === 'tails' ? new TailTsoLink(iface.link) : new TsoLink(iface.link);
    (iface as unknown as { link: Link }).link = link;
  }
  const chunks: Buffer[] = [];
  net.b.tcp.createServer((s: TcpSocket) => s.on('data', (d: Buffer) => chunks.push(d))).listen(9);
  const data = Buffer.from(bytes(n, 3));
  const c = net.a.tcp.connect({ host: '10.0.0.2', port: 9 });
  c.end(data);
  await net.until(() => chunks.reduce((a, b) => a + b.length, 0) >= n, 120_000, 'transfer');
  await net.run(1000);
  net.close();
  return { wire, got: Buffer.concat(chunks), link };
}

describe('TSO in the TCP output path', () => {
  it('sends the same wire segments with super-segments cut in software as without TSO', async () => {
    const off = await bulk({ tso: false }, false);
    const on = await bulk({ tso: true }, false);
    expect(on.got.equals(Buffer.from(bytes(400_000, 3)))).toBe(true);
    expect(on.wire.length).toBe(off.wire.length);
    for (let i = 0; i < on.wire.length; i++) expect(Buffer.from(on.wire[i]!).equals(Buffer.from(off.wire[i]!))).toBe(true);
    expect(Math.max(...on.wire.map((p) => p.length))).toBeLessThanOrEqual(1500);
  });

  it('hands a TSO link super-segments (partial checksum, gso_size = MSS) and the far side gets every byte', async () => {
    const r = await bulk({}, true);
    expect(r.got.equals(Buffer.from(bytes(400_000, 3)))).toBe(true);
    expect(r.link!.superSegments).toBeGreaterThan(3);
    expect(r.link!.largest).toBeGreaterThan(30_000);
    expect(r.link!.largest).toBeLessThanOrEqual(65_535);
    // The wire after the link's cut is what a non-TSO stack sends, segment for segment.
    const off = await bulk({ tso: false }, false);
    expect(r.wire.length).toBe(off.wire.length);
    for (let i = 0; i < r.wire.length; i++) expect(Buffer.from(r.wire[i]!).equals(Buffer.from(off.wire[i]!))).toBe(true);
  });

  it('hands a link that takes tails each large segment as headers plus a view of the send buffer: the same wire, byte for byte', async () => {
    const r = await bulk({}, 'tails');
    expect(r.got.equals(Buffer.from(bytes(400_000, 3)))).toBe(true);
    expect((r.link as TailTsoLink).tails).toBeGreaterThan(3);
    const copied = await bulk({}, true);
    expect(r.wire.length).toBe(copied.wire.length);
    for (let i = 0; i < r.wire.length; i++) expect(Buffer.from(r.wire[i]!).equals(Buffer.from(copied.wire[i]!))).toBe(true);
  });

  it('with 1 data segment in 40 lost, recovery over a link that takes tails still delivers every byte exactly', async () => {
    const r = await bulk({ sack: true }, 'tails', 1_000_000, 40);
    expect(r.got.length).toBe(1_000_000);
    expect(r.got.equals(Buffer.from(bytes(1_000_000, 3)))).toBe(true);
    expect((r.link as TailTsoLink).tails).toBeGreaterThan(3);
  });
});

describe('super-segments from the kernel on the receive path', () => {
  const PEER = 40000;
  const PORT = 8080;
  const ISN = 1000;

  async function established(tcp: Partial<TcpConfig> = {}) {
    const h = new RawHarness(tcp);
    const accepted: TcpSocket[] = [];
    h.stack.tcp.createServer((s) => accepted.push(s)).listen(PORT);
    await h.settle();
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: 60000, options: { mss: 1460, wscale: 7 } });
    const [synAck] = h.take();
    const iss = synAck!.tcp.seq;
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 60000 });
    const sock = accepted[0]!;
    const got: Buffer[] = [];
    sock.on('data', (d: Buffer) => got.push(d));
    return { h, iss, sock, got };
  }

  function deliver(h: RawHarness, p: Uint8Array, meta: number): void {
    h.stack.receiveBatch(h.stack.interfaces[0]!, [p], 1, Uint32Array.of(meta));
  }

  it('takes a 20-segment super-segment with a trusted partial checksum whole, and ACKs all of it', async () => {
    const { h, iss, got } = await established();
    const data = bytes(20 * 1448);
    deliver(h, partialTcp({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_PSH, window: 60000, payload: data }), 1448 | META_CSUM_PARTIAL | META_CSUM_TRUSTED);
    await h.settle();
    expect(Buffer.concat(got).equals(Buffer.from(data))).toBe(true);
    const acks = h.take();
    expect(acks.at(-1)!.tcp.ack).toBe(ISN + 1 + data.length);
  });

  it('verifies a partial checksum the link does not vouch for (and drops it)', async () => {
    const { h, iss, got } = await established();
    deliver(h, partialTcp({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 60000, payload: bytes(3000) }), 1448 | META_CSUM_PARTIAL);
    await h.settle();
    expect(got).toHaveLength(0);
    expect(h.stack.stats.Tcp.InCsumErrors).toBe(1);
  });

  it('a super-segment larger than the window: the part inside is taken, the rest trimmed (RFC 9293 §3.10.7.4), the ACK says where', async () => {
    const { h, iss, got, sock } = await established({ rmem: 8192 });
    sock.pause(); // the application does not read: the window stays what it was
    const rcvWnd = sock.tcpInfo()!.rcvWnd;
    expect(rcvWnd).toBeGreaterThan(0);
    expect(rcvWnd).toBeLessThan(20_000);
    const data = bytes(20_000);
    deliver(h, partialTcp({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 60000, payload: data }), 1448 | META_CSUM_PARTIAL | META_CSUM_TRUSTED);
    await h.settle();
    const info = sock.tcpInfo()!;
    expect(info.rcvNxt).toBe(ISN + 1 + rcvWnd);
    await h.advance(250); // the ACK may wait for the delayed-ACK timer (the window would shrink to nothing)
    const acks = h.take();
    expect(acks.at(-1)!.tcp.ack).toBe(ISN + 1 + rcvWnd);
    sock.resume();
    await h.settle();
    expect(Buffer.concat(got).equals(Buffer.from(data.subarray(0, rcvWnd)))).toBe(true);
  });
});
