/**
 * A peer that disappears mid-transfer, in virtual time (the live suite can
 * only watch the first minutes of tcp_retries2's ~15): two stacks on a
 * memory link, the client stack silently gone (no FIN, no RST), and the
 * server's sockets must all end — by the retransmission limit when data is
 * outstanding, by keepalive when idle with keepalive on — with memory and
 * timers back to what they were before the connections, and an application
 * that keeps writing (chargen) held by its send buffer meanwhile.
 */
import { describe, it, expect } from 'vitest';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import { startTcpChargen } from '../../src/services/tcp-services.js';

describe('a peer that vanishes mid-transfer (virtual time)', () => {
  it('echo with data outstanding: retransmissions back off, then ETIMEDOUT by tcp_retries2; nothing left behind', async () => {
    const net = new Vnet({ tcpB: { retries2: 8 }, impairA: 'delay=20ms,rate=20mbit', impairB: 'delay=20ms,rate=20mbit' });
    const baseTimers = net.b.timers.size;
    const errors: string[] = [];
    let server: TcpSocket | undefined;
    net.b.tcp.createServer((s) => {
      server = s;
      s.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
      s.pipe(s);
    }).listen(7);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 7 });
    c.on('error', () => {});
    await net.until(() => server !== undefined && !c.connecting, 5000, 'connect');
    c.write(Buffer.alloc(300_000, 7));
    await net.run(60); // some of it echoed, the rest in flight
    expect(net.b.tcp.socketTable().some((r) => r.state === 'ESTAB' && r.sendQ > 0), 'echo data outstanding when the peer vanishes').toBe(true);
    const listeners = net.b.tcp.socketTable().filter((r) => r.state === 'LISTEN').length;
    // The client host vanishes: its stack is gone without a word.
    net.a.close();
    const t0 = net.clock.now();
    await net.until(() => net.b.tcp.connectionCount === 0, 3_600_000, 'the server socket to give up');
    const took = net.clock.now() - t0;
    expect(errors).toContain('ETIMEDOUT');
    expect(net.b.stats.TcpExt.TCPAbortOnTimeout).toBe(1);
    // 8 retransmissions from RTO ≥ 200 ms, doubling, capped at 120 s: between ~50 s and ~10 min.
    expect(took).toBeGreaterThan(50_000);
    expect(took).toBeLessThan(600_000);
    expect(net.b.tcp.socketTable().filter((r) => r.state !== 'LISTEN')).toHaveLength(0);
    expect(net.b.tcp.socketTable()).toHaveLength(listeners);
    expect(net.b.timers.size).toBeLessThanOrEqual(baseTimers + listeners);
    net.close();
  }, 60_000);

  it('an application that keeps writing (chargen) to a vanished peer: bounded by SO_SNDBUF, then the socket ends', async () => {
    const wmem = 64 * 1024;
    const net = new Vnet({ tcpB: { retries2: 6, wmem }, impairA: 'delay=5ms,rate=50mbit', impairB: 'delay=5ms,rate=50mbit' });
    const stop = startTcpChargen(net.b, 19);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 19 });
    c.on('error', () => {});
    let got = 0;
    c.on('data', (d: Buffer) => (got += d.length));
    await net.until(() => got > 200_000, 60_000, 'chargen flowing');
    net.a.close();
    let maxSendQ = 0;
    await net.until(
      () => {
        for (const r of net.b.tcp.socketTable()) if (r.state !== 'LISTEN') maxSendQ = Math.max(maxSendQ, r.sendQ);
        return net.b.tcp.connectionCount === 0;
      },
      3_600_000,
      'the chargen socket to give up',
    );
    expect(maxSendQ).toBeGreaterThan(0);
    expect(maxSendQ).toBeLessThanOrEqual(wmem);
    expect(net.b.stats.TcpExt.TCPAbortOnTimeout).toBe(1);
    stop();
    net.close();
  }, 60_000);

  it('idle connection with keepalive on: probes, then the socket ends; without keepalive it stays (as on Linux)', async () => {
    const net = new Vnet({ tcpB: { keepaliveTimeMs: 60_000, keepaliveIntervalMs: 10_000, keepaliveProbes: 3 } });
    const socks: TcpSocket[] = [];
    net.b.tcp.createServer((s) => {
      s.on('error', () => {});
      socks.push(s);
      if (socks.length === 1) s.setKeepAlive(true);
      s.resume();
    }).listen(9);
    for (let i = 0; i < 2; i++) {
      const c = net.a.tcp.connect({ host: B_ADDR, port: 9 });
      c.on('error', () => {});
      c.write('hello');
    }
    await net.until(() => socks.length === 2, 5000, 'two connections');
    await net.run(100);
    net.a.close();
    await net.run(60_000 + 4 * 10_000 + 1000);
    expect(net.b.stats.TcpExt.TCPKeepAlive).toBeGreaterThanOrEqual(3);
    // The keepalive one is gone; the other one waits forever for a peer that will never speak (Linux too).
    expect(net.b.tcp.connectionCount).toBe(1);
    net.close();
  }, 60_000);
});
