/** The pcapng writer (src/wire/pcapng.ts): block by block, through a capture, and read back by tshark and capinfos. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { PcapngWriter, PCAPNG_EPB, PCAPNG_IDB, PCAPNG_SHB, timestampHalves } from '../../src/wire/pcapng.js';
import { PcapFileSink, type PcapSink } from '../../src/wire/pcap.js';
import { emitTcp, TCP_SYN, tcpHeaderLength, type TcpEmit } from '../../src/wire/tcp.js';
import { emitIpv4, IPPROTO_TCP } from '../../src/wire/ipv4.js';
import { CaptureController, captureComment, captureFormatFor, checkCaptureSettings } from '../../src/control/capture.js';
import { PcapTap } from '../../src/link/pcap-tap.js';
import { MemoryLink } from '../../src/link/memory.js';
import { VirtualClock } from '../../src/clock.js';
import { META_CSUM_PARTIAL, WireScratch, wireCopies, wireViews } from '../../src/wire/offload.js';
import { echoRequest, ip } from '../helpers/packets.js';
import { TUNSTACK_VERSION } from '../../src/version.js';

class BytesSink implements PcapSink {
  chunks: Uint8Array[] = [];
  closed = false;
  write(c: Uint8Array): void {
    this.chunks.push(c.slice());
  }
  close(): void {
    this.closed = true;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((a, c) => a + c.length, 0));
    let p = 0;
    for (const c of this.chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  }
}

interface Block {
  type: number;
  body: Uint8Array;
}

/** Splits a file into blocks, checking each block's leading and trailing total length agree. */
function blocks(b: Uint8Array): Block[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Block[] = [];
  let p = 0;
  while (p < b.length) {
    const type = dv.getUint32(p, true);
    const len = dv.getUint32(p + 4, true);
    expect(len % 4, 'block length is a multiple of 4').toBe(0);
    expect(dv.getUint32(p + len - 4, true), 'trailing block length').toBe(len);
    out.push({ type, body: b.subarray(p + 8, p + len - 4) });
    p += len;
  }
  expect(p).toBe(b.length);
  return out;
}

/** Options from `off` in a block body: code → value bytes (each padded to 4; ends at opt_endofopt). */
function options(body: Uint8Array, off: number): Map<number, Uint8Array> {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const m = new Map<number, Uint8Array>();
  let p = off;
  for (;;) {
    const code = dv.getUint16(p, true);
    const len = dv.getUint16(p + 2, true);
    if (code === 0) {
      expect(len).toBe(0);
      expect(p + 4).toBe(body.length);
      return m;
    }
    m.set(code, body.subarray(p + 4, p + 4 + len));
    p += 4 + ((len + 3) & ~3);
  }
}

const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

function tcpSyn(): Uint8Array {
  const fields: TcpEmit = { srcPort: 40588, dstPort: 80, seq: 0x12345678, ack: 0, flags: TCP_SYN, window: 64240, options: { mss: 1460, sackPermitted: true, wscale: 7 } };
  const b = new Uint8Array(20 + tcpHeaderLength(fields));
  emitTcp(b, 20, fields, 0, ip('10.77.0.1'), ip('10.77.0.2'));
  emitIpv4(b, 0, { totalLength: b.length, id: 1, dontFragment: true, ttl: 64, protocol: IPPROTO_TCP, src: ip('10.77.0.1'), dst: ip('10.77.0.2') });
  return b;
}

describe('pcapng writer, byte by byte', () => {
  it('SHB (magic, 1.0, length -1, comment, userappl), IDB (raw IP, snaplen, if_name, if_tsresol), then EPBs', () => {
    const sink = new BytesSink();
    const w = new PcapngWriter(sink, { snaplen: 96, ifName: 'tun0', userAppl: 'tunstack 9.9', comment: 'filter: tcp port 80' });
    expect(sink.chunks).toHaveLength(1); // SHB + IDB in one first chunk: every rotated file starts with them
    const pkt = echoRequest(7, 1, new Uint8Array(5).fill(0xab));
    w.writePacket(pkt, 1_700_000_000_123.456, 2);
    w.close();
    expect(sink.closed).toBe(true);
    const bs = blocks(sink.bytes());
    expect(bs.map((b) => b.type)).toEqual([PCAPNG_SHB, PCAPNG_IDB, PCAPNG_EPB]);
    const shb = new DataView(bs[0]!.body.buffer, bs[0]!.body.byteOffset);
    expect(shb.getUint32(0, true)).toBe(0x1a2b3c4d);
    expect([shb.getUint16(4, true), shb.getUint16(6, true)]).toEqual([1, 0]);
    expect(shb.getBigInt64(8, true)).toBe(-1n);
    const so = options(bs[0]!.body, 16);
    expect(text(so.get(1))).toBe('filter: tcp port 80');
    expect(text(so.get(4))).toBe('tunstack 9.9');
    const idb = new DataView(bs[1]!.body.buffer, bs[1]!.body.byteOffset);
    expect(idb.getUint16(0, true)).toBe(101);
    expect(idb.getUint32(4, true)).toBe(96);
    const io = options(bs[1]!.body, 8);
    expect(text(io.get(2))).toBe('tun0');
    expect([...io.get(9)!]).toEqual([6]);
    const epb = new DataView(bs[2]!.body.buffer, bs[2]!.body.byteOffset);
    expect(epb.getUint32(0, true)).toBe(0); // interface 0
    const ts = epb.getUint32(4, true) * 2 ** 32 + epb.getUint32(8, true);
    expect(ts).toBe(1_700_000_000_123_456); // microseconds
    expect(epb.getUint32(12, true)).toBe(pkt.length); // captured
    expect(epb.getUint32(16, true)).toBe(pkt.length); // original
    expect([...bs[2]!.body.subarray(20, 20 + pkt.length)]).toEqual([...pkt]);
    // pkt is 20 + 8 + 5 = 33 bytes: 3 zero bytes of padding, then epb_flags = outbound.
    expect([...bs[2]!.body.subarray(20 + 33, 20 + 36)]).toEqual([0, 0, 0]);
    const eo = options(bs[2]!.body, 20 + 36);
    expect(new DataView(eo.get(2)!.buffer, eo.get(2)!.byteOffset).getUint32(0, true)).toBe(2);
  });

  it('snaplen cuts the bytes but keeps the original length; nanoseconds; no direction, no options', () => {
    const sink = new BytesSink();
    const w = new PcapngWriter(sink, { snaplen: 40, tsresol: 'ns' });
    const syn = tcpSyn();
    w.writePacket(syn, 1000.000001);
    w.close();
    const bs = blocks(sink.bytes());
    expect([...options(bs[1]!.body, 8).get(9)!]).toEqual([9]);
    expect(options(bs[1]!.body, 8).has(2)).toBe(false);
    const epb = new DataView(bs[2]!.body.buffer, bs[2]!.body.byteOffset);
    expect(epb.getUint32(4, true) * 2 ** 32 + epb.getUint32(8, true)).toBe(1_000_000_001);
    expect(epb.getUint32(12, true)).toBe(40);
    expect(epb.getUint32(16, true)).toBe(syn.length);
    expect(bs[2]!.body.length).toBe(20 + 40); // no options at all
  });

  it('64-bit timestamps are exact in both resolutions (nanoseconds since the epoch do not fit a double)', () => {
    const both = ([h, l]: [number, number]) => (BigInt(h) << 32n) + BigInt(l);
    expect(both(timestampHalves(1_700_000_000_123.456, 1e6))).toBe(1_700_000_000_123_456n);
    expect(both(timestampHalves(1_700_000_000_000.5, 1e9))).toBe(1_700_000_000_000_500_000n);
    expect(both(timestampHalves(4_102_444_800_999.75, 1e9))).toBe(4_102_444_800_999_750_000n);
    expect(both(timestampHalves(999.9999999, 1e6))).toBe(1_000_000n); // rounding carries into the seconds
    expect(timestampHalves(0, 1e9)).toEqual([0, 0]);
  });

  it('records are batched, never split: many packets flush as whole blocks', () => {
    const sink = new BytesSink();
    const w = new PcapngWriter(sink);
    const big = new Uint8Array(1500);
    for (let i = 0; i < 100; i++) w.writePacket(big, i, 1);
    w.flush();
    for (const c of sink.chunks.slice(1)) blocks(c); // every chunk is whole blocks
    expect(blocks(sink.bytes()).length).toBe(102);
  });
});

describe('captures in pcapng', () => {
  it('by the .pcapng name or --format; nano needs pcapng; the comment names the version and the filter', () => {
    expect(captureFormatFor('/tmp/x.pcapng', undefined)).toBe('pcapng');
    expect(captureFormatFor('/tmp/x.PCAPNG', undefined)).toBe('pcapng');
    expect(captureFormatFor('/tmp/x.pcap', undefined)).toBe('pcap');
    expect(captureFormatFor('/tmp/x.pcap', 'pcapng')).toBe('pcapng');
    expect(() => checkCaptureSettings({ format: 'pcap', precision: 'nano' })).toThrow(/nanosecond time stamps need --format pcapng/);
    expect(() => checkCaptureSettings({ precision: 'nano' }, '/tmp/x.pcap')).toThrow(/nanosecond time stamps need --format pcapng/);
    expect(checkCaptureSettings({ precision: 'nano' }, '/tmp/x.pcapng')).toBeNull();
    expect(() => checkCaptureSettings({ format: 'erf' as 'pcap' })).toThrow(/pcap or pcapng/);
    expect(captureComment({ filter: 'tcp port 80' }, 96)).toBe(`tunstack ${TUNSTACK_VERSION} capture; filter: tcp port 80; snaplen: 96 bytes`);
    expect(TUNSTACK_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a running capture writes the tap in pcapng: the filter applies, the direction is recorded', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-pcapng-'));
    try {
      const [a] = MemoryLink.pair({ names: ['tun9', 'peer'] });
      const tap = new PcapTap(a, null, new VirtualClock(0));
      tap.setReceiver(() => {});
      const ctl = new CaptureController(tap, pino({ level: 'silent' }));
      const file = join(dir, 'c.pcapng');
      const st = ctl.start(file, { filter: 'tcp port 80', snaplen: 64 });
      expect(st.format).toBe('pcapng');
      tap.send([tcpSyn(), echoRequest(1, 1, new Uint8Array(8))], 2);
      const end = ctl.stop();
      expect(end?.packets).toBe(1);
      const bs = blocks(new Uint8Array(readFileSync(file)));
      expect(bs.map((b) => b.type)).toEqual([PCAPNG_SHB, PCAPNG_IDB, PCAPNG_EPB]);
      expect(text(options(bs[0]!.body, 16).get(1))).toBe(`tunstack ${TUNSTACK_VERSION} capture; filter: tcp port 80; snaplen: 64 bytes`);
      expect(text(options(bs[1]!.body, 8).get(2))).toBe('tun9');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the capture filter runs before a super-segment is cut', () => {
  function superSegment(payload: number): Uint8Array {
    const fields: TcpEmit = { srcPort: 80, dstPort: 40000, seq: 1, ack: 1, flags: 0x18, window: 1000 };
    const hl = tcpHeaderLength(fields);
    const b = new Uint8Array(20 + hl + payload);
    emitTcp(b, 20, fields, payload, ip('10.77.0.2'), ip('10.77.0.1'));
    emitIpv4(b, 0, { totalLength: b.length, id: 1, dontFragment: true, ttl: 64, protocol: IPPROTO_TCP, src: ip('10.77.0.2'), dst: ip('10.77.0.1') });
    return b;
  }

  it('wireViews builds the same wire segments as wireCopies, in one reused buffer', () => {
    const seg = superSegment(5000);
    for (const meta of [1448, 1448 | META_CSUM_PARTIAL, META_CSUM_PARTIAL, 0]) {
      const copies: number[][] = [];
      wireCopies(seg, meta, (p) => copies.push([...p]));
      const views: number[][] = [];
      const buffers = new Set<ArrayBufferLike>();
      const scratch = new WireScratch();
      wireViews(seg, meta, scratch, (p) => {
        views.push([...p]);
        buffers.add(p.buffer);
      });
      expect(views, `meta ${meta}`).toEqual(copies);
      if (meta !== 0) expect(buffers.size).toBeLessThanOrEqual(2);
      // Too large for the scratch: the allocating path, same bytes.
      const small: number[][] = [];
      wireViews(seg, meta, new WireScratch(1000), (p) => small.push([...p]));
      expect(small).toEqual(copies);
    }
  });

  it('kept: recorded as its wire segments; left out: not one segment copied or written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-pcapng-gso-'));
    try {
      const [a] = MemoryLink.pair();
      const tap = new PcapTap(a, null, new VirtualClock(0));
      tap.setReceiver(() => {});
      const ctl = new CaptureController(tap, pino({ level: 'silent' }));
      ctl.start(join(dir, 'kept.pcapng'), { filter: 'tcp port 80' });
      tap.send([superSegment(3000)], 1, Uint32Array.of(1448));
      expect(ctl.stop()?.packets).toBe(3); // 1448 + 1448 + 104
      const writes: number[] = [];
      ctl.start(join(dir, 'none.pcapng'), { filter: 'udp' });
      const w = (tap as unknown as { writer: { writePacket: (d: Uint8Array) => void } }).writer;
      const orig = w.writePacket.bind(w);
      w.writePacket = (d: Uint8Array) => {
        writes.push(d.length);
        orig(d);
      };
      tap.send([superSegment(3000)], 1, Uint32Array.of(1448));
      expect(ctl.stop()?.packets).toBe(0);
      expect(writes).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pcapng with rotation (-C/-W)', () => {
  it('every file starts with the section header and interface description, and holds whole blocks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-pcapng-rot-'));
    try {
      const [a] = MemoryLink.pair();
      const tap = new PcapTap(a, null, new VirtualClock(0));
      tap.setReceiver(() => {});
      const ctl = new CaptureController(tap, pino({ level: 'silent' }));
      const file = join(dir, 'r.pcapng');
      ctl.start(file, { rotateBytes: 20_000, rotateCount: 3 });
      for (let i = 0; i < 40; i++) {
        tap.send([echoRequest(1, i, new Uint8Array(1000))], 1);
        tap.flush();
      }
      ctl.stop();
      for (const f of ['r.pcapng', 'r.1.pcapng', 'r.2.pcapng']) {
        const bs = blocks(new Uint8Array(readFileSync(join(dir, f))));
        expect(bs[0]!.type, f).toBe(PCAPNG_SHB);
        expect(bs[1]!.type, f).toBe(PCAPNG_IDB);
        expect(bs.slice(2).every((b) => b.type === PCAPNG_EPB)).toBe(true);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tshark and capinfos read our pcapng', () => {
  const which = (tool: string): string | undefined => {
    try {
      return execFileSync('which', [tool], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const tshark = which('tshark');
  const capinfos = which('capinfos');
  const run = tshark && capinfos ? it : it.skip;
  if (!tshark || !capinfos) console.warn('SKIP (loud): tshark or capinfos is not installed — the pcapng interop check did not run');

  run('packets, direction, comment, interface name, resolution and snaplen as written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-pcapng-tshark-'));
    const env = { ...process.env, HOME: dir };
    const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      for (const tsresol of ['us', 'ns'] as const) {
        const path = join(dir, `x-${tsresol}.pcapng`);
        const w = new PcapngWriter(new PcapFileSink(path), { snaplen: 262144, tsresol, ifName: 'tun0', userAppl: 'tunstack test', comment: 'filter: (none: every packet)' });
        w.writePacket(tcpSyn(), 1_700_000_000_000.5, 1);
        w.writePacket(echoRequest(7, 1, new Uint8Array(56)), 1_700_000_000_001.25, 2);
        w.close();
        const fields = sh(tshark!, ['-r', path, '-o', 'tcp.check_checksum:TRUE', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'pkt_comment', '-e', 'frame.p2p_dir', '-e', '_ws.col.Protocol', '-e', 'frame.interface_name']);
        const rows = fields.trim().split('\n').map((l) => l.split('\t'));
        expect(rows.length, fields).toBe(2);
        expect(rows[0]![0]).toMatch(tsresol === 'ns' ? /^1700000000\.000500000$/ : /^1700000000\.000500/);
        expect(rows[1]![0]).toMatch(/^1700000000\.001250/);
        expect(rows[0]![3]).toBe('TCP');
        expect(rows[1]![3]).toBe('ICMP');
        expect(rows.map((r) => r[4])).toEqual(['tun0', 'tun0']);
        expect(rows.map((r) => r[2])).toEqual(['1', '0']); // epb_flags: inbound = Received (1), outbound = Sent (0)
        const warnings = sh(tshark!, ['-r', path, '-o', 'tcp.check_checksum:TRUE', '-Y', '_ws.expert.severity >= warning']);
        expect(warnings).toBe('');
        const info = sh(capinfos!, [path]);
        expect(info).toMatch(/File type:\s+Wireshark\/\.\.\. - pcapng/);
        expect(info).toMatch(/Number of packets:\s+2/);
        expect(info).toMatch(/Capture application:\s+tunstack test/);
        expect(info).toMatch(/Capture comment:\s+filter: \(none: every packet\)/);
        expect(info).toMatch(/Encapsulation = Raw IP/);
        expect(info).toMatch(/Time precision = (microseconds|nanoseconds)/);
        expect(info).toMatch(tsresol === 'ns' ? /Time precision = nanoseconds \(9\)/ : /Time precision = microseconds \(6\)/);
        expect(info).toMatch(/Capture length = 262144/);
        expect(info).toMatch(/Name = tun0/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
