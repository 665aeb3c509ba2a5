/**
 * Resource limits (issue 9, item 5) at their caps, in virtual time: each cap
 * holds under a flood, is counted when hit, and the stack recovers when the
 * load stops. The `Gauges` group of the counters (timers, reassembly bytes
 * and datagrams, connections, UDP sockets) is what soak runs watch.
 */
import { describe, it, expect } from 'vitest';
import { InputTarget, PEER, STACK } from './input-target.js';

const S = 0x02;

describe('caps hold, are counted, and recover', () => {
  it('Gauges report the live levels (timers, reassembly, connections, UDP sockets)', async () => {
    const t = new InputTarget();
    try {
      const g0 = t.stack.stats.toJSON()['Gauges'] as Record<string, number>;
      expect(g0).toMatchObject({ ReasmDatagrams: 0, ReasmBytes: 0, TcpConnections: 0 });
      expect(g0['UdpSockets']).toBeGreaterThanOrEqual(3); // echo, discard, dns
      await t.apply({ k: 'frag', id: 1, proto: 17, off: 0, len: 800, mf: true, fill: 1, src: PEER });
      await t.apply({ k: 'tcp', sport: 40000, dport: 7, flags: S, rel: false, dseq: 100, dack: 0, window: 65535, raw: null, tsval: 1, payload: new Uint8Array(0), src: PEER, ms: [] });
      const g1 = t.stack.stats.toJSON()['Gauges'] as Record<string, number>;
      expect(g1['ReasmDatagrams']).toBe(1);
      expect(g1['ReasmBytes']).toBeGreaterThan(800);
      expect(g1['Timers']).toBeGreaterThan(g0['Timers']!);
      await t.apply({ k: 'time', ms: 200_000 });
      const g2 = t.stack.stats.toJSON()['Gauges'] as Record<string, number>;
      expect(g2).toMatchObject({ ReasmDatagrams: 0, ReasmBytes: 0 });
      expect(g2['Timers']).toBe(g0['Timers']);
    } finally {
      t.close();
    }
  });

  it('reassembly: a flood of first fragments stays under the memory cap (oldest evicted, counted), drains after the timeout', async () => {
    const t = new InputTarget({ reassembly: { maxTotalBytes: 256 * 1024, timeoutMs: 30_000 } });
    try {
      const r = t.stack.reassembler;
      for (let i = 0; i < 600; i++) {
        await t.apply({ k: 'frag', id: 1, proto: 17, off: 0, len: 1480, mf: true, fill: i & 0xff, src: (PEER & 0xffffff00) | (1 + (i % 200)) });
        // Distinct keys: the id varies through the source address and the loop index.
        expect(r.memory).toBeLessThanOrEqual(256 * 1024);
      }
      expect(t.stack.stats.drops['ip.frag-evicted-memory'] ?? 0).toBeGreaterThan(0);
      t.check();
      await t.apply({ k: 'time', ms: 31_000 });
      expect(r.memory).toBe(0);
      expect(r.pendingCount).toBe(0);
    } finally {
      t.close();
    }
  });

  it('SYN flood: the SYN queue stays at the backlog, cookies take over, and the queue empties after the SYN-ACK retries when the flood stops', async () => {
    const t = new InputTarget();
    try {
      for (let i = 0; i < 3000; i++) {
        await t.apply({ k: 'tcp', sport: 1024 + i, dport: 81, flags: S, rel: false, dseq: i * 7919, dack: 0, window: 65535, raw: null, tsval: i, payload: new Uint8Array(0), src: PEER, ms: [] });
      }
      const x = t.stack.stats.TcpExt;
      expect(x.SyncookiesSent).toBeGreaterThan(0);
      const l = t.stack.tcp.findListener(STACK, 81)!;
      expect(l.synQueueLength).toBeLessThanOrEqual(l.backlog);
      // Connections are only in the SYN queue (no socket per SYN), timers bounded by the queue.
      expect(t.stack.timers.size).toBeLessThanOrEqual(l.backlog + 64);
      await t.apply({ k: 'time', ms: 200_000 });
      expect(l.synQueueLength).toBe(0);
      t.check();
    } finally {
      t.close();
    }
  });

  it('UDP port-unreachable flood: ICMP errors rate-limited (counted), UDP socket queues bounded', async () => {
    const t = new InputTarget();
    // InputTarget disables the ICMP rate limit for fuzzing; use the defaults here.
    t.stack.icmp.options.perDestIntervalMs = 1000;
    try {
      for (let i = 0; i < 500; i++) await t.apply({ k: 'udp', sport: 5000, dport: 4444, payload: new Uint8Array(10), src: PEER, dst: STACK, ms: [], badSum: false });
      expect(t.stack.stats.Udp.NoPorts).toBe(500);
      expect(t.stack.stats.Icmp.OutDestUnreachs).toBeLessThanOrEqual(7);
      expect(t.stack.stats.Icmp.OutRateLimited).toBeGreaterThanOrEqual(493);
      t.check();
    } finally {
      t.close();
    }
  });
});

describe('TIME-WAIT is capped by maxTimeWait (tcp_max_tw_buckets)', () => {
  it('beyond the cap, closing connections skip TIME-WAIT (found by review: the count was never kept, the cap never applied)', async () => {
    const { Vnet, B_ADDR } = await import('../helpers/vnet.js');
    const net = new Vnet({ tcpA: { maxTimeWait: 2 } });
    try {
      net.b.tcp.createServer((s) => {
        s.on('error', () => {});
        s.resume();
        s.on('end', () => s.end());
      }).listen(9);
      for (let i = 0; i < 6; i++) {
        const c = net.a.tcp.connect({ host: B_ADDR, port: 9 });
        c.on('error', () => {});
        c.resume();
        c.on('connect', () => c.end('bye'));
      }
      await net.run(2000);
      const tw = net.a.tcp.socketTable().filter((r) => r.state === 'TIME-WAIT').length;
      expect(net.a.stats.TcpExt.TW).toBe(6);
      expect(tw).toBe(2);
      expect(net.a.stats.TcpExt.TCPTimeWaitOverflow).toBe(4);
      // The pairs that found the table full still ACKed the peer's FIN first (found under a Connection: close
      // load: they were dropped before the egress pass, so each peer retransmitted its FIN and met an RST).
      expect(net.a.stats.Tcp.OutRsts).toBe(0);
      expect(net.b.stats.Tcp.RetransSegs).toBe(0);
      expect(net.a.tcp.connectionCount).toBe(2);
      await net.run(61_000);
      expect(net.a.tcp.connectionCount).toBe(0);
      expect(net.a.tcp.timeWaitCount).toBe(0);
    } finally {
      net.close();
    }
  });
});

describe('connections are capped by maxConnections (not counting TIME-WAIT)', () => {
  it('at the cap new SYNs are dropped and counted; the peers retry and get in when connections close', async () => {
    const { Vnet, B_ADDR } = await import('../helpers/vnet.js');
    const net = new Vnet({ tcpB: { maxConnections: 3 } });
    try {
      net.b.tcp.createServer((s) => {
        s.on('error', () => {});
        s.pipe(s);
      }).listen(7);
      const clients = [];
      for (let i = 0; i < 5; i++) {
        const c = net.a.tcp.connect({ host: B_ADDR, port: 7 });
        c.on('error', () => {});
        clients.push(c);
      }
      await net.run(500);
      expect(net.b.tcp.connectionCount).toBe(3);
      expect(net.b.stats.drops['tcp.max-connections'] ?? 0).toBeGreaterThanOrEqual(2);
      expect(net.b.stats.TcpExt.ListenDrops).toBeGreaterThanOrEqual(2);
      const served = () => net.b.tcp.socketTable().filter((r) => r.state === 'ESTAB').map((r) => r.peer);
      const first = served();
      expect(first).toHaveLength(3);
      // Two of the served clients go away (RST: no TIME-WAIT anywhere); the two waiting ones get in on the retries.
      for (const c of clients.filter((x) => first.some((p) => p.endsWith(`:${x.localPort}`))).slice(0, 2)) c.resetAndDestroy();
      await net.run(10_000);
      const later = served();
      expect(later).toHaveLength(3);
      expect(later.filter((p) => !first.includes(p))).toHaveLength(2);
    } finally {
      net.close();
    }
  });
});
