import { describe, it, expect } from 'vitest';
import { VirtualClock } from '../../src/clock.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';
import { PcapTap } from '../../src/link/pcap-tap.js';
import { PcapWriter, readPcap, type PcapSink } from '../../src/wire/pcap.js';

class FakeLink implements Link {
  readonly mtu = 1500;
  readonly name = 'fake0';
  receiver: LinkReceiver | null = null;
  sent: Uint8Array[] = [];
  closed = 0;
  setReceiver(receiver: LinkReceiver): void {
    this.receiver = receiver;
  }
  send(packets: readonly Uint8Array[], count: number): void {
    for (let i = 0; i < count; i++) this.sent.push(packets[i]!);
  }
  close(): void {
    this.closed++;
  }
  deliver(packets: Uint8Array[], count = packets.length): void {
    this.receiver?.(packets, count);
  }
}

class MemorySink implements PcapSink {
  chunks: Uint8Array[] = [];
  closed = 0;
  write(chunk: Uint8Array): void {
    this.chunks.push(chunk.slice());
  }
  close(): void {
    this.closed++;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.chunks.flatMap((c) => [...c]));
  }
}

function pkt(tag: number): Uint8Array {
  return Uint8Array.from([0x45, 0, 0, 20, tag, tag, tag]);
}

describe('PcapTap', () => {
  it('records inbound before the receiver and outbound before the inner link, with wall-clock times', () => {
    const inner = new FakeLink();
    const sink = new MemorySink();
    const clock = new VirtualClock(5000);
    const before = Date.now();
    const tap = new PcapTap(inner, new PcapWriter(sink), clock);
    const after = Date.now();
    expect(tap.mtu).toBe(1500);
    expect(tap.name).toBe('fake0');

    const got: number[] = [];
    tap.setReceiver((packets, count) => {
      for (let i = 0; i < count; i++) got.push(packets[i]![4]!);
    });
    // Only `count` packets of the batch are delivered and recorded.
    inner.deliver([pkt(1), pkt(2), pkt(99)], 2);
    clock.advance(1500);
    tap.send([pkt(3), pkt(98)], 1);
    expect(got).toEqual([1, 2]);
    expect(inner.sent.map((p) => p[4])).toEqual([3]);

    tap.close();
    tap.close();
    expect(inner.closed).toBe(1);
    expect(sink.closed).toBe(1);

    const f = readPcap(sink.bytes());
    if (typeof f === 'string') throw new Error(f);
    expect(f.packets.map((p) => p.data[4])).toEqual([1, 2, 3]);
    const t0 = f.packets[0]!.timestampMs;
    expect(t0).toBeGreaterThanOrEqual(before);
    expect(t0).toBeLessThanOrEqual(after);
    expect(f.packets[1]!.timestampMs).toBe(t0);
    expect(f.packets[2]!.timestampMs - t0).toBeCloseTo(1500, 3);
  });

  it('flush hands pending records to the sink', () => {
    const inner = new FakeLink();
    const sink = new MemorySink();
    const tap = new PcapTap(inner, new PcapWriter(sink), new VirtualClock());
    tap.send([pkt(7)], 1);
    expect(sink.chunks.length).toBe(1); // global header only
    tap.flush();
    expect(sink.chunks.length).toBe(2);
  });

  it('stops recording after close but still passes packets on', () => {
    const inner = new FakeLink();
    const sink = new MemorySink();
    const tap = new PcapTap(inner, new PcapWriter(sink), new VirtualClock());
    let n = 0;
    tap.setReceiver((_p, count) => {
      n += count;
    });
    tap.close();
    inner.deliver([pkt(1)]);
    tap.send([pkt(2)], 1);
    expect(n).toBe(1);
    expect(inner.sent.length).toBe(1);
    const f = readPcap(sink.bytes());
    if (typeof f === 'string') throw new Error(f);
    expect(f.packets.length).toBe(0);
  });
});
