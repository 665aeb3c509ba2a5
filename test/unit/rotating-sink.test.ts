import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter, readPcap } from '../../src/wire/pcap.js';
import { RotatingFileSink, rotatedName } from '../../src/control/rotating-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'tunstack-rotate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The packets of a capture file, by their first byte. */
function firstBytes(file: string): number[] {
  const r = readPcap(readFileSync(file));
  if (typeof r === 'string') throw new Error(r);
  expect(r.truncated).toBe(false);
  return r.packets.map((p) => p.data[0]!);
}

/** Writes n 100-byte packets (first byte = index), flushing after each so each is its own chunk. */
function writePackets(w: PcapWriter, n: number): void {
  for (let i = 0; i < n; i++) {
    w.writePacket(new Uint8Array(100).fill(i), 1000 + i);
    w.flush();
  }
}

describe('capture rotation (tcpdump -C/-W)', () => {
  it('numbers the files before the extension', () => {
    expect(rotatedName('/tmp/x.pcap', 0)).toBe('/tmp/x.pcap');
    expect(rotatedName('/tmp/x.pcap', 2)).toBe('/tmp/x.2.pcap');
    expect(rotatedName('/tmp/dir.d/cap', 1)).toBe('/tmp/dir.d/cap.1');
  });

  it('goes on in a new file, each a whole capture, once one holds the size', () => {
    const path = join(dir, 'a.pcap');
    const sink = new RotatingFileSink(path, 24 + 2 * 116, null); // the header and two 116-byte records per file
    const w = new PcapWriter(sink);
    writePackets(w, 5);
    w.close();
    expect(firstBytes(path)).toEqual([0, 1]);
    expect(firstBytes(join(dir, 'a.1.pcap'))).toEqual([2, 3]);
    expect(firstBytes(join(dir, 'a.2.pcap'))).toEqual([4]);
    expect(existsSync(join(dir, 'a.3.pcap'))).toBe(false);
  });

  it('with a count, cycles through that many files, overwriting the oldest', () => {
    const path = join(dir, 'b.pcap');
    const sink = new RotatingFileSink(path, 24 + 116, 2); // one record per file, two files
    const w = new PcapWriter(sink);
    writePackets(w, 5);
    expect(sink.currentFile).toBe(path);
    w.close();
    expect(firstBytes(path)).toEqual([4]);
    expect(firstBytes(join(dir, 'b.1.pcap'))).toEqual([3]);
    expect(existsSync(join(dir, 'b.2.pcap'))).toBe(false);
  });
});
