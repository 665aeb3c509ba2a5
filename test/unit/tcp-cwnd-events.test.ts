/** Why cwnd changed: each cut, restore and restart reaches the TcpProbe (the observatory's feed) with its cause. */
import { describe, it, expect } from 'vitest';
import { Vnet, B_ADDR, parseSent } from '../helpers/vnet.js';
import type { ObsEvent } from '../../src/observe/events.js';
import type { SubscriberSink } from '../../src/observe/feed.js';
import { formatCwndEvent } from '../../src/observe/cwnd-line.js';
import { ecnEnterCwr, ECN_OK } from '../../src/tcp/ecn.js';
import type { Tcb } from '../../src/tcp/tcb.js';
import { REC_NONE } from '../../src/tcp/tcb.js';

type CwndEv = Extract<ObsEvent, { type: 'cwnd' }>;

class Collector implements SubscriberSink {
  readonly events: ObsEvent[] = [];
  deliver(events: ObsEvent[]): boolean {
    this.events.push(...events);
    return true;
  }
  closed(): void {}
  get cwnd(): CwndEv[] {
    return this.events.filter((e): e is CwndEv => e.type === 'cwnd');
  }
}

/** B serves `size` bytes to A; `drop` picks B's data segments to lose (by their 1-based count) or `hold` to delay. */
async function serve(size: number, opts: { drop?: (n: number) => boolean; holdMs?: (n: number) => number; impairB?: string } = {}) {
  const net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 }, impairB: opts.impairB ?? 'delay=10ms' });
  const col = new Collector();
  net.b.feed.subscribe(col);
  let n = 0;
  const held: { p: Uint8Array; at: number }[] = [];
  const link = net.linkB as unknown as { send: (p: readonly Uint8Array[], count: number) => void };
  const send = link.send.bind(link);
  link.send = (ps, count) => {
    const keep: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const p = ps[i]!;
      if (parseSent(p).payload.length > 0) {
        n++;
        if (opts.drop?.(n)) continue;
        const h = opts.holdMs?.(n) ?? 0;
        if (h > 0) {
          held.push({ p: p.slice(), at: net.clock.now() + h });
          continue;
        }
      }
      keep.push(p);
    }
    if (keep.length) send(keep, keep.length);
  };
  const data = Buffer.alloc(size, 5);
  let conn: Tcb | null = null;
  net.b.tcp.createServer((s) => {
    conn = s.connection as unknown as Tcb;
    s.end(data);
  }).listen(80);
  let len = 0;
  const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
  c.on('data', (d: Buffer) => (len += d.length));
  await net.until(() => {
    while (held.length > 0 && net.clock.now() >= held[0]!.at) send([held.shift()!.p], 1);
    return len === size && held.length === 0;
  }, 60_000, 'download');
  await net.run(100);
  return { net, col, conn: conn! };
}

describe('cwnd events: the cause of each change', () => {
  it('a lost segment: rack (cwnd and ssthresh cut), no timeout', async () => {
    const { net, col } = await serve(300_000, { drop: (n) => n === 40 });
    const ev = col.cwnd;
    const rack = ev.find((e) => e.cause === 'rack');
    expect(rack).toBeDefined();
    expect(rack!.ssthresh).toBeGreaterThan(0);
    expect(rack!.ssthresh).toBeLessThan(rack!.prevCwnd);
    expect(rack!.prevSsthresh).toBe(-1); // still "infinite" before the first loss
    // The end of recovery sets cwnd to ssthresh; when PRR has walked it there already nothing changes and
    // nothing is reported. Either way the repair needed no timeout.
    const end = ev.findIndex((e) => e.cause === 'recovery-end');
    if (end >= 0) expect(end).toBeGreaterThan(ev.indexOf(rack!));
    expect(ev.some((e) => e.cause === 'rto')).toBe(false);
    expect(formatCwndEvent(rack!)).toMatch(/^\* #\d+ cwnd \d+ -> \d+ ssthresh inf -> \d+ \(rack: RACK deemed segments lost\)$/);
    net.close();
  });

  it('without SACK: dupack', async () => {
    const net = new Vnet({ tcpA: { seed: 1, sack: false }, tcpB: { seed: 2, sack: false }, impairB: 'delay=10ms' });
    const col = new Collector();
    net.b.feed.subscribe(col);
    let n = 0;
    const link = net.linkB as unknown as { send: (p: readonly Uint8Array[], count: number) => void };
    const send = link.send.bind(link);
    link.send = (ps, count) => {
      const keep = [...ps.slice(0, count)].filter((p) => !(parseSent(p).payload.length > 0 && ++n === 40));
      if (keep.length) send(keep, keep.length);
    };
    const data = Buffer.alloc(300_000, 1);
    net.b.tcp.createServer((s) => s.end(data)).listen(80);
    let len = 0;
    net.a.tcp.connect({ host: B_ADDR, port: 80 }).on('data', (d: Buffer) => (len += d.length));
    await net.until(() => len === data.length, 60_000, 'download');
    expect(col.cwnd.some((e) => e.cause === 'dupack')).toBe(true);
    expect(col.cwnd.some((e) => e.cause === 'rack')).toBe(false);
    net.close();
  });

  it('a silent peer: rto, cwnd to one segment', async () => {
    // Every data segment B sends for 1.5 s from its 30th on is lost: only the timeout recovers.
    const net2 = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 }, impairB: 'delay=10ms' });
    const col2 = new Collector();
    net2.b.feed.subscribe(col2);
    let n = 0;
    let start = -1;
    const link = net2.linkB as unknown as { send: (p: readonly Uint8Array[], count: number) => void };
    const send = link.send.bind(link);
    link.send = (ps, count) => {
      const keep = [...ps.slice(0, count)].filter((p) => {
        if (parseSent(p).payload.length === 0) return true;
        if (++n === 30) start = net2.clock.now();
        return !(start >= 0 && net2.clock.now() - start < 1500);
      });
      if (keep.length) send(keep, keep.length);
    };
    const data = Buffer.alloc(200_000, 1);
    net2.b.tcp.createServer((s) => s.end(data)).listen(80);
    let len = 0;
    net2.a.tcp.connect({ host: B_ADDR, port: 80 }).on('data', (d: Buffer) => (len += d.length));
    await net2.until(() => len === data.length, 60_000, 'download');
    const rto = col2.cwnd.find((e) => e.cause === 'rto');
    expect(rto).toBeDefined();
    expect(rto!.cwnd).toBe(rto!.mss);
    net2.close();
  });

  it('a segment delayed past the reordering window: rack, then undone by D-SACK or Eifel', async () => {
    const { net, col } = await serve(2_000_000, { holdMs: (n) => (n === 30 ? 40 : 0) });
    const causes = col.cwnd.map((e) => e.cause);
    expect(causes).toContain('rack');
    const undo = col.cwnd.find((e) => e.cause === 'undo-dsack' || e.cause === 'undo-eifel');
    expect(undo).toBeDefined();
    expect(undo!.cwnd).toBeGreaterThanOrEqual(undo!.prevCwnd);
    net.close();
  });

  it('ECE on an ECN connection: ece, ssthresh from the controller', async () => {
    const { net, col, conn } = await serve(50_000);
    conn.ecnFlags = ECN_OK;
    conn.recovery = REC_NONE;
    conn.cwnd = 40 * conn.smss;
    conn.sndMax = (conn.sndUna + 20 * conn.smss) >>> 0;
    ecnEnterCwr(conn, net.clock.now());
    conn.sndMax = conn.sndUna;
    await net.run(1); // the feed delivers on the next turn
    const ece = col.cwnd.find((e) => e.cause === 'ece');
    expect(ece).toBeDefined();
    // ECE cuts ssthresh at once; PRR then walks cwnd down to it over the window (Linux tcp_enter_cwr).
    expect(ece!.prevCwnd).toBe(40 * conn.smss);
    expect(ece!.ssthresh).toBeLessThan(ece!.prevCwnd);
    net.close();
  });

  it('idle longer than the RTO, then new data: idle-restart to the initial window', async () => {
    const net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 }, impairB: 'delay=10ms' });
    const col = new Collector();
    net.b.feed.subscribe(col);
    let sock: import('../../src/tcp/socket.js').TcpSocket | null = null;
    net.b.tcp.createServer((s) => {
      sock = s;
      s.write(Buffer.alloc(300_000, 2));
    }).listen(80);
    let len = 0;
    net.a.tcp.connect({ host: B_ADDR, port: 80 }).on('data', (d: Buffer) => (len += d.length));
    await net.until(() => len === 300_000, 60_000, 'first burst');
    await net.run(5_000); // idle
    sock!.write(Buffer.alloc(100_000, 3));
    await net.until(() => len === 400_000, 60_000, 'second burst');
    const idle = col.cwnd.find((e) => e.cause === 'idle-restart');
    expect(idle).toBeDefined();
    expect(idle!.cwnd).toBeLessThan(idle!.prevCwnd);
    net.close();
  });

  it('nobody listening: no call into the probe', async () => {
    const net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 } });
    expect(net.b.feed.active).toBe(false);
    net.close();
  });
});
