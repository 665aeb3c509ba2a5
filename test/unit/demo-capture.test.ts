/**
 * The demo's capture check: a D-SACK from the peer (a loss probe the peer did not
 * need, as Linux sends on a stalled machine) is shown, not failed; a bad checksum
 * or any other warning still fails it.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyExpertLine, tsharkVerdict, verdictDetail } from '../../src/demo-capture.js';
import { emitIpv4, IPPROTO_TCP } from '../../src/wire/ipv4.js';
import { PcapFileSink, PcapWriter } from '../../src/wire/pcap.js';
import { emitTcp, TCP_ACK, TCP_SYN, tcpHeaderLength, type TcpEmit } from '../../src/wire/tcp.js';

const KERNEL = 0x0a4d0001;
const STACK = 0x0a4d0002;

function segment(fields: TcpEmit, src: number, dst: number): Uint8Array {
  const b = new Uint8Array(20 + tcpHeaderLength(fields));
  emitTcp(b, 20, fields, 0, src, dst);
  emitIpv4(b, 0, { totalLength: b.length, id: 1, dontFragment: true, ttl: 64, protocol: IPPROTO_TCP, src, dst });
  return b;
}

const syn = (): Uint8Array =>
  segment({ srcPort: 52360, dstPort: 80, seq: 1000, ack: 0, flags: TCP_SYN, window: 64240, options: { mss: 1460, sackPermitted: true, wscale: 7 } }, KERNEL, STACK);
/** The kernel's ACK for a segment it already had: the SACK block lies below the cumulative ACK (RFC 2883). */
const dsackAck = (): Uint8Array =>
  segment({ srcPort: 52360, dstPort: 80, seq: 1001, ack: 341729, flags: TCP_ACK, window: 1024, options: { sack: [340281, 341729] } }, KERNEL, STACK);

describe('classifyExpertLine', () => {
  it('a frame whose only warning is a D-SACK is a D-SACK; any other warning beside it makes it a warning', () => {
    expect(classifyExpertLine('4551\t6291456\tD-SACK Sequence').kind).toBe('dsack');
    expect(classifyExpertLine('7\t6291456|6291456\tD-SACK Sequence|Bad checksum [should be 0x1234]')).toEqual({ kind: 'warning', example: '7: Bad checksum [should be 0x1234]' });
    expect(classifyExpertLine('9\t8388608\tMalformed Packet').kind).toBe('warning');
  });
  it('notes and chats below warning count for nothing', () => {
    expect(classifyExpertLine('3\t4194304|2097152\tThis frame is a (suspected) retransmission|Connection establish request').kind).toBe('clean');
  });
  it('the report line names the D-SACKs and the first warnings', () => {
    expect(verdictDetail({ packets: 10, warnings: 0, dsacks: 1, examples: [] })).toBe('10 packets, 0 warnings; 1 D-SACK from the peer (a probe it did not need)');
    expect(verdictDetail({ packets: 10, warnings: 1, dsacks: 0, examples: ['4: Bad checksum'] })).toBe('10 packets, 1 warnings (4: Bad checksum)');
  });
});

let tshark: string | undefined;
try {
  tshark = execFileSync('which', ['tshark'], { encoding: 'utf8' }).trim() || undefined;
} catch {
  tshark = undefined;
}
if (!tshark) console.warn('SKIP (loud): tshark is not installed — the demo capture check against tshark did not run');

describe.skipIf(!tshark)('tsharkVerdict on real captures', () => {
  function verdictOf(packets: Uint8Array[]) {
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-democap-'));
    try {
      const path = join(dir, 'c.pcap');
      const w = new PcapWriter(new PcapFileSink(path));
      packets.forEach((p, i) => w.writePacket(p, 1_700_000_000_000 + i));
      w.close();
      const prev = process.env['HOME'];
      process.env['HOME'] = dir; // no user tshark profile
      try {
        return tsharkVerdict(path, tshark);
      } finally {
        if (prev === undefined) delete process.env['HOME'];
        else process.env['HOME'] = prev;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('one capture: a clean SYN and a D-SACK from the peer pass (the D-SACK counted); a broken TCP checksum fails', () => {
    const bad = syn();
    bad[20 + 16] = bad[20 + 16]! ^ 0xff;
    const v = verdictOf([syn(), dsackAck(), bad]);
    expect(v).toEqual({ packets: 3, warnings: 1, dsacks: 1, examples: [expect.stringMatching(/^3: .*checksum/i)] });
  });

  it('a file tshark cannot read is an error, not a pass', () => {
    expect(tsharkVerdict('/nonexistent/c.pcap', tshark)).toBeInstanceOf(Error);
  });
});
