import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, LINKTYPE_ETHERNET, LINKTYPE_RAW, type PcapSink } from '../../src/wire/pcap.js';
import { replayBytes, replayCapture, formatReplay } from '../../src/conform/replay.js';
import { lintCapture, lintProblemsAtLeast } from '../../src/conform/lint.js';
import { echoRequest, ipPacket } from '../helpers/packets.js';
import { emitIcmp, echoRest } from '../../src/wire/icmp.js';
import { spawnSync } from 'node:child_process';

function pcap(linktype: number, frames: Uint8Array[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const sink: PcapSink = { write: (c) => chunks.push(c.slice()) };
  const w = new PcapWriter(sink, { linktype });
  frames.forEach((f, i) => w.writePacket(f, 1_700_000_000_000 + i * 200));
  w.close();
  return Buffer.concat(chunks);
}

function ether(ip: Uint8Array, type = 0x0800): Uint8Array {
  const f = new Uint8Array(14 + ip.length);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(ip, 14);
  return f;
}

function echoReply(id: number, seq: number, data: Uint8Array): Uint8Array {
  const icmp = new Uint8Array(8 + data.length);
  icmp.set(data, 8);
  emitIcmp(icmp, 0, icmp.length, 0, 0, echoRest(id, seq));
  return ipPacket(icmp, { src: '10.77.0.2', dst: '10.77.0.1', protocol: 1 });
}

const req = echoRequest(7, 1, new Uint8Array(56).fill(0x61));
const rep = echoReply(7, 1, new Uint8Array(56).fill(0x61));

describe('capture replay', () => {
  it('replays an Ethernet capture (ARP and IPv6 frames skipped and counted) with no divergence', async () => {
    const arp = new Uint8Array(42);
    arp[12] = 0x08;
    arp[13] = 0x06;
    const v6 = ether(new Uint8Array(40).fill(0x60), 0x86dd);
    const r = await replayBytes(pcap(LINKTYPE_ETHERNET, [arp, ether(req), v6, ether(rep)]), {});
    expect(r.fatal).toBeUndefined();
    expect(r.ipv6Skipped).toBe(1);
    expect(r.nonIpSkipped).toBe(1);
    expect(r.ok).toBe(true);
    expect(r.server).toBe('10.77.0.2');
    expect(formatReplay(r).join('\n')).toContain('replay: no divergence (1 reference packets)');
  });

  it('reads Linux cooked (SLL) captures', async () => {
    const sll = (ip: Uint8Array): Uint8Array => {
      const f = new Uint8Array(16 + ip.length);
      f[14] = 0x08;
      f[15] = 0x00;
      f.set(ip, 16);
      return f;
    };
    const r = await replayBytes(pcap(113, [sll(req), sll(rep)]), {});
    expect(r.ok).toBe(true);
    expect(r.referencePackets).toBe(1);
  });

  it('reports a divergence with the reference frame number', async () => {
    // The reference answered with a different sequence number than the request carried.
    const r = await replayBytes(pcap(LINKTYPE_RAW, [req, echoReply(7, 2, new Uint8Array(56).fill(0x61))]), {});
    expect(r.ok).toBe(false);
    expect(r.divergences).toHaveLength(1);
    expect(r.divergences[0]).toMatchObject({ kind: 'mismatch', frame: 2, stackIndex: 0 });
    expect(r.divergences[0]!.message).toMatch(/reference icmp echo_reply id 7 seq 2 \(56\), stack icmp echo_reply id 7 seq 1 \(56\)/);
  });

  it('rejects other link types, non-pcap files and missing files clearly', async () => {
    const other = pcap(105, [req]);
    expect((await replayBytes(other, {})).fatal).toMatch(/link type 105 is not supported/);
    expect((await replayBytes(new Uint8Array([1, 2, 3, 4, 5]), {})).fatal).toMatch(/not a pcap file/);
    const missing = await replayCapture('/nonexistent/x.pcap');
    expect(missing.usage).toBe(true);
    expect(missing.ok).toBe(false);
  });

  it('reports a truncated capture and still replays what is complete', async () => {
    const whole = pcap(LINKTYPE_RAW, [req, rep]);
    const r = await replayBytes(whole.subarray(0, whole.length - 10), {});
    expect(r.truncated).toBe(true);
    expect(r.notes.join('\n')).toMatch(/truncated/);
    expect(r.replayed).toBe(1);
    // The reference's reply was cut off: the stack's reply is extra.
    expect(r.divergences[0]?.kind).toBe('extra');
  });

  it('never crashes on garbage records', async () => {
    const junk = pcap(LINKTYPE_RAW, [new Uint8Array([0x45, 0, 0, 99, 1, 2]), new Uint8Array(20).fill(0x45), req]);
    const r = await replayBytes(junk, {});
    expect(r.fatal === undefined || typeof r.fatal === 'string').toBe(true);
  });
});

const haveTshark = spawnSync('tshark', ['--version']).status === 0;

describe.skipIf(!haveTshark)('capture lint (tshark expert info)', () => {
  it('finds a bad checksum and calls a clean capture clean', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conform-lint-'));
    const good = join(dir, 'good.pcap');
    writeFileSync(good, pcap(LINKTYPE_RAW, [req, rep]));
    const g = lintCapture(good);
    expect(g.error).toBeUndefined();
    expect(g.packets).toBe(2);
    expect(lintProblemsAtLeast(g)).toEqual([]);
    const bad = rep.slice();
    bad[10] ^= 0xff; // IP header checksum
    const badFile = join(dir, 'bad.pcap');
    writeFileSync(badFile, pcap(LINKTYPE_RAW, [req, bad]));
    const b = lintCapture(badFile);
    const serious = lintProblemsAtLeast(b);
    expect(serious.length).toBeGreaterThan(0);
    expect(serious[0]).toMatchObject({ frame: 2, group: 'checksum' });
  });

  it('reports a missing file as an error, not a crash', () => {
    expect(lintCapture('/nonexistent.pcap').error).toMatch(/no such file/);
  });
});
