import { describe, it, expect } from 'vitest';
import { SendBuffer } from '../../src/tcp/send-buffer.js';
import { ReceiveBuffer } from '../../src/tcp/receive-buffer.js';
import { SackScoreboard } from '../../src/tcp/sack-scoreboard.js';

const bytes = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

describe('send buffer', () => {
  it('takes at most its capacity, copies out at offsets, consumes across the ring edge', () => {
    const sb = new SendBuffer(3000, 1024);
    expect(sb.write(bytes(2000), 0, 2000)).toBe(2000);
    expect(sb.write(bytes(2000, 2000), 0, 2000)).toBe(1000);
    expect(sb.free).toBe(0);
    const out = new Uint8Array(10);
    sb.copyOut(1995, 10, out, 0);
    expect([...out]).toEqual([...bytes(10, 1995)]);
    sb.consume(2500);
    expect(sb.length).toBe(500);
    expect(sb.write(bytes(2500, 3000), 0, 2500)).toBe(2500);
    const all = new Uint8Array(3000);
    sb.copyOut(0, 3000, all, 0);
    expect([...all]).toEqual([...bytes(3000, 2500)]);
  });

  it('gives a view of held bytes in place, or null where they wrap round the ring end', () => {
    const sb = new SendBuffer(4096, 4096);
    sb.write(bytes(3000), 0, 3000);
    const v = sb.view(100, 2000)!;
    expect([...v]).toEqual([...bytes(2000, 100)]);
    sb.consume(2500); // head at 2500 of a 4096-byte ring
    sb.write(bytes(3000, 3000), 0, 3000); // 500 held + 3000: runs over the end
    expect(sb.view(0, 1500)).not.toBeNull();
    expect([...sb.view(0, 1500)!]).toEqual([...bytes(1500, 2500)]);
    expect(sb.view(1000, 1000)).toBeNull(); // bytes 3500..4500 of the stream: 3500..4096 and 0..404 of the ring
    expect([...sb.view(2000, 1000)!]).toEqual([...bytes(1000, 4500)]);
  });
});

describe('receive buffer and out-of-order assembler', () => {
  it('assembles out-of-order segments once the gap fills', () => {
    const rb = new ReceiveBuffer(1 << 16, 8, 1024);
    rb.nxt = 1000;
    const data = bytes(3000);
    expect(rb.insert(2000, data, 1000, 1000)).toBe('out-of-order');
    expect(rb.insert(3000, data, 2000, 1000)).toBe('out-of-order');
    expect(rb.ranges).toEqual([2000, 4000]);
    expect(rb.insert(1000, data, 0, 1000)).toBe('in-order');
    expect(rb.nxt).toBe(4000);
    expect(rb.length).toBe(3000);
    expect([...rb.read(5000)!]).toEqual([...data]);
  });
  it('handles duplicates, overlaps and the wrap', () => {
    const rb = new ReceiveBuffer(1 << 16, 8);
    rb.nxt = 0xffffff00;
    const data = bytes(1024);
    expect(rb.insert(0xffffff80, data, 0x80, 0x100)).toBe('out-of-order'); // spans the wrap
    expect(rb.insert(0xffffff90, data, 0x90, 0x10)).toBe('duplicate');
    expect(rb.insert(0xffffff00, data, 0, 0x90)).toBe('in-order');
    expect(rb.nxt).toBe(0x80);
    expect(rb.insert(0xffffff00, data, 0, 0x40)).toBe('duplicate');
    expect([...rb.read(1000)!]).toEqual([...data.subarray(0, 0x180)]);
  });
  it('bounds the number of ranges and the space', () => {
    const rb = new ReceiveBuffer(4096, 2);
    rb.nxt = 0;
    const d = bytes(100);
    expect(rb.insert(200, d, 0, 10)).toBe('out-of-order');
    expect(rb.insert(400, d, 0, 10)).toBe('out-of-order');
    expect(rb.insert(600, d, 0, 10)).toBe('too-many-ranges');
    expect(rb.insert(405, d, 0, 20)).toBe('out-of-order'); // merges
    expect(rb.insert(5000, d, 0, 10)).toBe('no-room');
  });
  it('lists SACK blocks with the most recent first', () => {
    const rb = new ReceiveBuffer(1 << 16, 8);
    rb.nxt = 0;
    const d = bytes(100);
    rb.insert(100, d, 0, 10);
    rb.insert(300, d, 0, 10);
    rb.insert(200, d, 0, 10);
    const out = new Uint32Array(8);
    expect(rb.sackBlocks(out, 3)).toBe(3);
    expect([...out.subarray(0, 6)]).toEqual([200, 210, 300, 310, 100, 110]);
  });
  it('grows its ring keeping data in place', () => {
    const rb = new ReceiveBuffer(1 << 20, 8, 1024);
    rb.nxt = 0;
    const d = bytes(50_000);
    expect(rb.insert(20_000, d, 20_000, 30_000)).toBe('out-of-order');
    expect(rb.insert(0, d, 0, 20_000)).toBe('in-order');
    expect(Buffer.from(rb.read(1 << 20)!).equals(Buffer.from(d))).toBe(true);
  });
});

describe('SACK scoreboard', () => {
  it('merges blocks, ignores bogus ones, trims on cumulative ACK', () => {
    const s = new SackScoreboard();
    expect(s.add(2000, 3000, 1000, 10_000)).toBe(true);
    expect(s.add(2500, 2800, 1000, 10_000)).toBe(false);
    expect(s.add(3000, 4000, 1000, 10_000)).toBe(true);
    expect(s.add(500, 900, 1000, 10_000)).toBe(false); // below SND.UNA
    expect(s.add(9000, 11_000, 1000, 10_000)).toBe(false); // beyond SND.MAX
    expect(s.ranges).toEqual([2000, 4000]);
    expect(s.sacked).toBe(2000);
    expect(s.holeBytes(1000, 5000)).toBe(2000);
    expect(s.sackedEnd(2500)).toBe(4000);
    expect(s.nextSackedStart(1000)).toBe(2000);
    s.advance(2500);
    expect(s.ranges).toEqual([2500, 4000]);
    expect(s.sacked).toBe(1500);
    s.advance(5000);
    expect(s.empty).toBe(true);
    expect(s.sacked).toBe(0);
  });
});
