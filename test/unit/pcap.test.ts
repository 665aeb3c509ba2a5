import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitIcmp, echoRest, IcmpType } from '../../src/wire/icmp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_TCP } from '../../src/wire/ipv4.js';
import {
  ipPacketOf,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_RAW,
  PcapFileSink,
  PcapWriter,
  readPcap,
  type PcapFile,
  type PcapSink,
} from '../../src/wire/pcap.js';
import { emitTcp, TCP_SYN, tcpHeaderLength, type TcpEmit } from '../../src/wire/tcp.js';

const SRC = 0x0a4d0001;
const DST = 0x0a4d0002;

class MemorySink implements PcapSink {
  chunks: Uint8Array[] = [];
  closed = false;
  write(chunk: Uint8Array): void {
    this.chunks.push(chunk);
  }
  close(): void {
    this.closed = true;
  }
  bytes(): Uint8Array {
    const n = this.chunks.reduce((a, c) => a + c.length, 0);
    const out = new Uint8Array(n);
    let p = 0;
    for (const c of this.chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }
}

function read(bytes: Uint8Array): PcapFile {
  const f = readPcap(bytes);
  if (typeof f === 'string') throw new Error(`readPcap: ${f}`);
  return f;
}

function icmpEcho(payloadLen = 56): Uint8Array {
  const total = 20 + 8 + payloadLen;
  const b = new Uint8Array(total);
  for (let i = 0; i < payloadLen; i++) b[28 + i] = i & 0xff;
  emitIpv4(b, 0, { totalLength: total, id: 0x4242, dontFragment: true, ttl: 64, protocol: IPPROTO_ICMP, src: SRC, dst: DST });
  emitIcmp(b, 20, total - 20, IcmpType.Echo, 0, echoRest(0x77, 1));
  return b;
}

function tcpSyn(): Uint8Array {
  const fields: TcpEmit = {
    srcPort: 40588,
    dstPort: 80,
    seq: 0x12345678,
    ack: 0,
    flags: TCP_SYN,
    window: 64240,
    options: { mss: 1460, sackPermitted: true, ts: { val: 100, ecr: 0 }, wscale: 7 },
  };
  const hlen = tcpHeaderLength(fields);
  const b = new Uint8Array(20 + hlen);
  emitTcp(b, 20, fields, 0, SRC, DST);
  emitIpv4(b, 0, { totalLength: b.length, id: 1, dontFragment: true, ttl: 64, protocol: IPPROTO_TCP, src: SRC, dst: DST });
  return b;
}

/** Builds a pcap file by hand in any byte order / resolution. */
function handmade(opts: { little: boolean; nano: boolean; linktype: number; records: { sec: number; frac: number; data: number[]; orig?: number }[] }): Uint8Array {
  const size = 24 + opts.records.reduce((a, r) => a + 16 + r.data.length, 0);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  const le = opts.little;
  v.setUint32(0, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, le);
  v.setUint16(4, 2, le);
  v.setUint16(6, 4, le);
  v.setUint32(16, 262144, le);
  v.setUint32(20, opts.linktype, le);
  let p = 24;
  for (const r of opts.records) {
    v.setUint32(p, r.sec, le);
    v.setUint32(p + 4, r.frac, le);
    v.setUint32(p + 8, r.data.length, le);
    v.setUint32(p + 12, r.orig ?? r.data.length, le);
    b.set(r.data, p + 16);
    p += 16 + r.data.length;
  }
  return b;
}

describe('PcapWriter → readPcap', () => {
  it('writes the global header at construction', () => {
    const sink = new MemorySink();
    new PcapWriter(sink);
    expect(sink.chunks.length).toBe(1);
    expect([...sink.chunks[0]!]).toEqual([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0]);
    const f = read(sink.bytes());
    expect(f).toMatchObject({ linktype: LINKTYPE_RAW, snaplen: 65535, nanosecond: false, bigEndian: false, packets: [], truncated: false });
  });

  it('round-trips packets and microsecond timestamps', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linktype: LINKTYPE_IPV4 });
    const pkts = [icmpEcho(0), icmpEcho(100), tcpSyn()];
    const times = [1_700_000_000_123.456, 1_700_000_000_124, 1_700_000_001_999.9996];
    pkts.forEach((p, i) => w.writePacket(p, times[i]!));
    w.flush();
    const f = read(sink.bytes());
    expect(f.linktype).toBe(LINKTYPE_IPV4);
    expect(f.packets.length).toBe(3);
    f.packets.forEach((p, i) => {
      expect([...p.data]).toEqual([...pkts[i]!]);
      expect(p.originalLength).toBe(pkts[i]!.length);
      expect(Math.abs(p.timestampMs - times[i]!)).toBeLessThanOrEqual(0.0005 + 1e-6);
    });
    // Rounding up to a whole second carries into the seconds field.
    expect(f.packets[2]!.timestampMs).toBe(1_700_000_002_000);
  });

  it('truncates to snaplen and keeps the original length', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { snaplen: 40 });
    w.writePacket(icmpEcho(100), 1000);
    w.close();
    const f = read(sink.bytes());
    expect(f.snaplen).toBe(40);
    expect(f.packets[0]!.data.length).toBe(40);
    expect(f.packets[0]!.originalLength).toBe(128);
  });

  it('hands chunks of about 64 KiB, never reuses them, and flush/close hand over the rest', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink);
    const pkt = icmpEcho(1000);
    for (let i = 0; i < 200; i++) {
      pkt[28] = i;
      w.writePacket(pkt, i);
    }
    expect(sink.chunks.length).toBeGreaterThan(2);
    for (const c of sink.chunks.slice(1)) expect(c.length).toBeLessThanOrEqual(64 * 1024);
    const before = sink.chunks.length;
    w.close();
    expect(sink.chunks.length).toBe(before + 1);
    expect(sink.closed).toBe(true);
    w.writePacket(pkt, 0); // ignored after close
    w.flush();
    const f = read(sink.bytes());
    expect(f.packets.length).toBe(200);
    f.packets.forEach((p, i) => {
      expect(p.data[28]).toBe(i);
      expect(p.timestampMs).toBe(i);
    });
  });

  it('handles packets larger than a chunk', () => {
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { snaplen: 200_000 });
    const big = new Uint8Array(100_000).fill(7);
    w.writePacket(icmpEcho(), 1);
    w.writePacket(big, 2);
    w.writePacket(icmpEcho(), 3);
    w.flush();
    const f = read(sink.bytes());
    expect(f.packets.map((p) => p.data.length)).toEqual([84, 100_000, 84]);
  });

  it('PcapFileSink writes synchronously and close() leaves a complete file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-pcap-'));
    try {
      const path = join(dir, 'a.pcap');
      const w = new PcapWriter(new PcapFileSink(path));
      w.writePacket(icmpEcho(), 1000);
      w.writePacket(tcpSyn(), 2000);
      w.close();
      w.close();
      const f = read(new Uint8Array(readFileSync(path)));
      expect(f.packets.length).toBe(2);
      expect([...f.packets[1]!.data]).toEqual([...tcpSyn()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('readPcap', () => {
  it('reads nanosecond files in both byte orders', () => {
    for (const little of [true, false]) {
      const f = read(handmade({ little, nano: true, linktype: 101, records: [{ sec: 10, frac: 123_456_789, data: [0x45, 1, 2] }] }));
      expect(f.nanosecond).toBe(true);
      expect(f.bigEndian).toBe(!little);
      expect(f.linktype).toBe(101);
      expect(f.packets[0]!.timestampMs).toBeCloseTo(10_123.456789, 6);
      expect([...f.packets[0]!.data]).toEqual([0x45, 1, 2]);
    }
  });

  it('reads big-endian microsecond files', () => {
    const f = read(handmade({ little: false, nano: false, linktype: 1, records: [{ sec: 1, frac: 500_000, data: [1], orig: 60 }, { sec: 2, frac: 0, data: [] }] }));
    expect(f.linktype).toBe(1);
    expect(f.packets.map((p) => p.timestampMs)).toEqual([1500, 2000]);
    expect(f.packets[0]!.originalLength).toBe(60);
  });

  it('masks the FCS bits above the link type', () => {
    expect(read(handmade({ little: true, nano: false, linktype: 0x10000001, records: [] })).linktype).toBe(1);
  });

  it('reports a truncated final record instead of failing', () => {
    const full = handmade({ little: true, nano: false, linktype: 101, records: [{ sec: 1, frac: 0, data: [1, 2, 3, 4] }, { sec: 2, frac: 0, data: [5, 6, 7, 8] }] });
    for (const cut of [1, 4, 10, 19]) {
      const f = read(full.subarray(0, full.length - cut));
      expect(f.truncated, String(cut)).toBe(true);
      expect(f.packets.length).toBe(1);
    }
    expect(read(full).truncated).toBe(false);
  });

  it('typed errors for a bad magic, a truncated header and a bad version', () => {
    expect(readPcap(new Uint8Array(0))).toBe('truncated-header');
    expect(readPcap(Uint8Array.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0]))).toBe('truncated-header');
    expect(readPcap(new Uint8Array(24))).toBe('bad-magic');
    // pcapng section header block
    expect(readPcap(Uint8Array.from([0x0a, 0x0d, 0x0d, 0x0a, ...new Uint8Array(28)]))).toBe('bad-magic');
    const v = handmade({ little: true, nano: false, linktype: 101, records: [] });
    v[4] = 3;
    expect(readPcap(v)).toBe('bad-version');
  });

  it('reads a reference Linux capture', () => {
    const bytes = new Uint8Array(readFileSync(new URL('../fixtures/captures/icmp-echo/icmp-echo.pcap', import.meta.url)));
    const f = read(bytes);
    expect(f.truncated).toBe(false);
    expect(f.packets.length).toBeGreaterThan(0);
    for (const p of f.packets) {
      const ip = ipPacketOf(f.linktype, p.data);
      if (ip) expect(ip[0]! >> 4).toBe(4);
    }
  });
});

describe('ipPacketOf', () => {
  const ip = icmpEcho(4); // 32 bytes

  it('raw and IPv4 link types pass IPv4 through, nothing else', () => {
    expect(ipPacketOf(LINKTYPE_RAW, ip)).toBe(ip);
    expect(ipPacketOf(LINKTYPE_IPV4, ip)).toBe(ip);
    expect(ipPacketOf(LINKTYPE_RAW, Uint8Array.from([0x60, 0, 0, 0]))).toBeUndefined();
    expect(ipPacketOf(LINKTYPE_RAW, new Uint8Array(0))).toBeUndefined();
    expect(ipPacketOf(0, ip)).toBeUndefined();
    expect(ipPacketOf(105, ip)).toBeUndefined();
  });

  it('strips Ethernet (and one VLAN tag), cutting the minimum-frame padding', () => {
    const mac = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const eth = Uint8Array.from([...mac, 0x08, 0x00, ...ip, ...new Uint8Array(14)]); // padded to 60
    expect([...ipPacketOf(LINKTYPE_ETHERNET, eth)!]).toEqual([...ip]);
    const vlan = Uint8Array.from([...mac, 0x81, 0x00, 0x00, 0x64, 0x08, 0x00, ...ip]);
    expect([...ipPacketOf(LINKTYPE_ETHERNET, vlan)!]).toEqual([...ip]);
    expect(ipPacketOf(LINKTYPE_ETHERNET, Uint8Array.from([...mac, 0x86, 0xdd, ...ip]))).toBeUndefined(); // IPv6 ethertype
    expect(ipPacketOf(LINKTYPE_ETHERNET, Uint8Array.from([...mac, 0x08, 0x06, ...ip]))).toBeUndefined(); // ARP
    expect(ipPacketOf(LINKTYPE_ETHERNET, Uint8Array.from([...mac, 0x81, 0x00, 0, 1, 0x81, 0x00, ...ip]))).toBeUndefined(); // QinQ
    expect(ipPacketOf(LINKTYPE_ETHERNET, Uint8Array.from(mac))).toBeUndefined();
    expect(ipPacketOf(LINKTYPE_ETHERNET, Uint8Array.from([...mac, 0x08, 0x00]))).toBeUndefined();
  });

  it('strips Linux cooked headers (SLL and SLL2)', () => {
    const sll = Uint8Array.from([0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00, ...ip]);
    expect([...ipPacketOf(LINKTYPE_LINUX_SLL, sll)!]).toEqual([...ip]);
    sll[15] = 0x06;
    expect(ipPacketOf(LINKTYPE_LINUX_SLL, sll)).toBeUndefined();
    const sll2 = Uint8Array.from([0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 1, 2, 3, 4, 5, 6, 0, 0, ...ip]);
    expect([...ipPacketOf(LINKTYPE_LINUX_SLL2, sll2)!]).toEqual([...ip]);
  });
});

describe('tshark reads our captures as valid', () => {
  let tshark: string | undefined;
  try {
    tshark = execFileSync('which', ['tshark'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    tshark = undefined;
  }
  const run = tshark ? it : it.skip;
  if (!tshark) console.warn('SKIP (loud): tshark is not installed — the pcap/tshark validity check did not run');

  run('an ICMP echo and a TCP SYN carry no expert warnings (checksums checked)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-tshark-'));
    try {
      const path = join(dir, 'ok.pcap');
      const w = new PcapWriter(new PcapFileSink(path));
      w.writePacket(icmpEcho(), Date.now());
      w.writePacket(tcpSyn(), Date.now() + 1);
      w.close();
      const args = ['-r', path, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE'];
      const env = { ...process.env, HOME: dir };
      const all = execFileSync(tshark!, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
      expect(all.trim().split('\n').length, all).toBe(2);
      expect(all).toMatch(/ICMP/);
      expect(all).toMatch(/SYN/);
      const warnings = execFileSync(tshark!, [...args, '-Y', '_ws.expert.severity >= warning'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
      expect(warnings).toBe('');
      // The check does catch a broken checksum.
      const bad = join(dir, 'bad.pcap');
      const w2 = new PcapWriter(new PcapFileSink(bad));
      const syn = tcpSyn();
      syn[20 + 16] = syn[20 + 16]! ^ 0xff;
      w2.writePacket(syn, Date.now());
      w2.close();
      const badOut = execFileSync(tshark!, ['-r', bad, ...args.slice(2), '-Y', '_ws.expert.severity >= warning'], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
      expect(badOut).not.toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
