/** The observatory's event feed on two stacks in virtual time: inert without subscribers, bounded with them. */
import { describe, it, expect } from 'vitest';
import { Vnet, A_ADDR, B_ADDR } from '../helpers/vnet.js';
import type { ObsEvent } from '../../src/observe/events.js';
import type { SubscriberSink } from '../../src/observe/feed.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

class Collector implements SubscriberSink {
  readonly events: ObsEvent[] = [];
  closedWith: string | null = null;
  /** false: behave like a transport that is full and never drains. */
  accepting = true;
  deliver(events: ObsEvent[]): boolean {
    this.events.push(...events);
    return this.accepting;
  }
  closed(reason: string): void {
    this.closedWith = reason;
  }
  of<T extends ObsEvent['type']>(type: T): Extract<ObsEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<ObsEvent, { type: T }> => e.type === type);
  }
}

/** B serves `size` bytes on port 80 to A, which reads everything. */
function download(net: Vnet, size: number, keepOpen = false): { client: TcpSocket; got: () => number; served: () => TcpSocket | null } {
  let served: TcpSocket | null = null;
  const server = net.b.tcp.createServer((s) => {
    served = s;
    if (keepOpen) s.write(Buffer.alloc(size, 0x61));
    else s.end(Buffer.alloc(size, 0x61));
  });
  server.listen({ port: 80 });
  let got = 0;
  const client = net.a.tcp.connect({ host: B_ADDR, port: 80 });
  client.on('data', (d: Buffer) => (got += d.length));
  return { client, got: () => got, served: () => served };
}

describe('observe: event feed', () => {
  it('is inert without a subscriber: no hook is called, no timer armed', async () => {
    const net = new Vnet();
    const feed = net.b.feed;
    let calls = 0;
    const count = () => {
      calls++;
    };
    feed.tcpOut = count;
    feed.tcpIn = count;
    feed.tcpOutRaw = count;
    feed.stateChange = count;
    feed.retransmitted = count;
    const { got } = download(net, 200_000);
    await net.until(() => got() === 200_000, 60_000, 'download');
    expect(feed.active).toBe(false);
    expect(feed.segActive).toBe(false);
    expect(calls).toBe(0);
    net.close();
  });

  it('a general subscriber sees hello, state transitions, counters, listener gauges and samples at the sample rate', async () => {
    const net = new Vnet();
    const feed = net.b.feed;
    feed.sampleMs = 50;
    const col = new Collector();
    const sub = feed.subscribe(col);
    expect(sub).not.toBeInstanceOf(Error);
    // The connection stays open across several sample ticks, then closes (a finished connection is no longer
    // sampled: its TIME-WAIT is a small record, not a connection).
    const { got, served } = download(net, 2_000_000, true);
    await net.until(() => got() === 2_000_000, 60_000, 'download');
    await net.run(500);
    served()!.end();
    await net.run(100);
    const hello = col.of('hello');
    expect(hello).toHaveLength(1);
    expect(hello[0]!.sampleMs).toBe(50);
    const states = col.of('state').map((e) => `${e.from}>${e.to}`);
    expect(states).toContain('CLOSED>SYN-RECV');
    expect(states).toContain('SYN-RECV>ESTAB');
    expect(states).toContain('ESTAB>FIN-WAIT-1');
    const counters = col.of('counters');
    // ~50 ms apart in virtual time
    expect(counters.length).toBeGreaterThan(5);
    const dt = counters[2]!.t - counters[1]!.t;
    expect(dt).toBeCloseTo(50, 5);
    const tcp = counters.at(-1)!.stats['Tcp'] as Record<string, number>;
    expect(tcp['OutSegs']).toBeGreaterThan(1000);
    const listeners = col.of('listener');
    expect(listeners.length).toBeGreaterThan(0);
    expect(listeners[0]!.port).toBe(80);
    expect(listeners[0]!.backlog).toBeGreaterThan(0);
    const samples = col.of('sample');
    expect(samples.length).toBeGreaterThan(0);
    expect(samples.some((s) => s.cwnd > 0 && s.srtt >= 0 && s.bytesAcked > 0)).toBe(true);
    // Samples come from the timer only: at most one per connection per tick.
    const ticks = new Set(samples.map((s) => s.t));
    expect(samples.length).toBeLessThanOrEqual(ticks.size * 2);
    net.close();
    expect(col.closedWith).toBe('the stack is closing');
    expect(col.events.at(-1)!.type).toBe('bye');
  });

  it('a subscriber following one connection gets its segments both ways, retransmissions marked', async () => {
    // Drop B's 30th packet once: a data segment of the download is retransmitted.
    const net = new Vnet({ dropB: (_p, n) => n === 30 });
    const feed = net.b.feed;
    // The server answers only when asked, so the subscription starts before the data flows.
    const server = net.b.tcp.createServer((s) => s.once('data', () => s.end(Buffer.alloc(400_000, 0x61))));
    server.listen({ port: 80 });
    let got = 0;
    const client = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    client.on('data', (d: Buffer) => (got += d.length));
    await net.until(() => net.b.tcp.connections().length > 0, 10_000, 'connection');
    const conn = net.b.tcp.connections()[0]!;
    const id = feed.idOf(conn);
    const col = new Collector();
    const sub = feed.subscribe(col, { conn: id });
    expect(sub).not.toBeInstanceOf(Error);
    client.write('go');
    await net.until(() => got === 400_000, 60_000, 'download');
    await net.run(200);
    const segs = col.of('seg');
    expect(segs.some((s) => s.out && s.len > 0)).toBe(true);
    expect(segs.some((s) => !s.out && (s.flags & 0x10) !== 0)).toBe(true);
    expect(segs.every((s) => s.conn === id)).toBe(true);
    const rtx = segs.filter((s) => s.rtx);
    expect(rtx.length).toBeGreaterThan(0);
    expect(col.of('retrans').length).toBeGreaterThan(0);
    // Only this connection: no counters or listener gauges.
    expect(col.of('counters')).toHaveLength(0);
    expect(col.of('sample').every((s) => s.id === id)).toBe(true);
    net.close();
  });

  it('unknown connection ids and bad ports are refused with a clear error', () => {
    const net = new Vnet();
    const r = net.b.feed.subscribe(new Collector(), { conn: 4242 });
    expect(r).toBeInstanceOf(Error);
    expect((r as Error).message).toMatch(/unknown connection id 4242/);
    const p = net.b.feed.subscribe(new Collector(), { port: 70000 });
    expect(p).toBeInstanceOf(Error);
    expect(net.b.feed.active).toBe(false);
    net.close();
  });

  it('a subscriber that never reads is disconnected when its bounded buffer fills; the transfer is unaffected', async () => {
    const net = new Vnet({ impairA: 'delay=5ms', impairB: 'delay=5ms' });
    const feed = net.b.feed;
    feed.sampleMs = 10;
    const slow = new Collector();
    slow.accepting = false;
    const ok = new Collector();
    const s1 = feed.subscribe(slow, { capacity: 64 });
    feed.subscribe(ok);
    expect(s1).not.toBeInstanceOf(Error);
    const { got } = download(net, 3_000_000);
    await net.until(() => got() === 3_000_000, 120_000, 'download');
    await net.run(100);
    expect(slow.closedWith).toMatch(/too slow/);
    expect(feed.dropped.slow).toBe(1);
    expect(feed.subscriberCount).toBe(1);
    expect(ok.closedWith).toBeNull();
    expect(ok.of('counters').length).toBeGreaterThan(10);
    net.close();
  });

  it('at the subscriber cap the slowest is dropped to admit a new one', async () => {
    const net = new Vnet();
    const feed = net.b.feed;
    feed.maxSubscribers = 2;
    const a = new Collector();
    const b = new Collector();
    b.accepting = false;
    feed.subscribe(a);
    feed.subscribe(b);
    download(net, 100_000);
    await net.run(1000);
    const c = new Collector();
    expect(feed.subscribe(c)).not.toBeInstanceOf(Error);
    expect(b.closedWith).toMatch(/replaced/);
    expect(a.closedWith).toBeNull();
    expect(feed.subscriberCount).toBe(2);
    net.close();
  });

  it('SYN cookies and reassembly outcomes are events; a flood of them is budgeted and reported as suppressed', async () => {
    const net = new Vnet({ tcpB: { syncookies: 2 }, mtu: 576 });
    const feed = net.b.feed;
    const col = new Collector();
    feed.subscribe(col);
    const server = net.b.tcp.createServer(() => undefined);
    server.listen({ port: 7000 });
    const socks: TcpSocket[] = [];
    for (let i = 0; i < 10; i++) socks.push(net.a.tcp.connect({ host: B_ADDR, port: 7000 }));
    // A UDP datagram over the MTU: fragmented by A, reassembled by B.
    const rx = net.b.udp.createSocket();
    rx.bind(9999);
    const tx = net.a.udp.createSocket();
    tx.send(Buffer.alloc(3000, 1), 9999, B_ADDR);
    await net.run(1000);
    const cookies = col.of('cookie');
    expect(cookies.filter((e) => e.what === 'sent')).toHaveLength(10);
    expect(cookies.filter((e) => e.what === 'ok')).toHaveLength(10);
    expect(col.of('suppressed')).toHaveLength(0);
    // A flood within one tick: at most the budget, the rest counted.
    for (let i = 0; i < 300; i++) socks.push(net.a.tcp.connect({ host: B_ADDR, port: 7000 }));
    await net.run(1000);
    expect(col.of('cookie').length).toBeLessThan(20 + 300 * 2);
    const sup = col.of('suppressed');
    expect(sup.some((s) => (s.counts['cookie'] ?? 0) > 0)).toBe(true);
    const reasm = col.of('reasm');
    expect(reasm.some((r) => r.what === 'ok' && r.src === A_ADDR && r.bytes === 3008)).toBe(true);
    net.close();
  });
});
