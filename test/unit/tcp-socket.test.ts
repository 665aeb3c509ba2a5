import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('TCP sockets over the memory link', () => {
  it('connects, exchanges data both ways, closes in order', async () => {
    const net = new Vnet();
    const got: Buffer[] = [];
    let serverSock: TcpSocket | undefined;
    net.b.tcp.createServer((s) => {
      serverSock = s;
      s.on('data', (d: Buffer) => s.write(d));
      s.on('end', () => s.end());
    }).listen(7);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 7 });
    let connected = false;
    c.on('connect', () => (connected = true));
    c.on('data', (d: Buffer) => got.push(d));
    let closed = false;
    c.on('close', () => (closed = true));
    await net.until(() => connected, 5000, 'connect');
    expect(c.remoteAddress).toBe(B_ADDR);
    expect(c.remotePort).toBe(7);
    expect(c.localPort).toBeGreaterThanOrEqual(32768);
    c.write('hello');
    await net.until(() => Buffer.concat(got).toString() === 'hello', 5000, 'echo');
    c.end();
    await net.until(() => closed, 5000, 'close');
    expect(serverSock?.remotePort).toBe(c.localPort);
    expect(net.a.stats.Tcp.ActiveOpens).toBe(1);
    expect(net.b.stats.Tcp.PassiveOpens).toBe(1);
    expect(net.a.stats.Tcp.CurrEstab).toBe(0);
    const rows = net.a.tcp.socketTable();
    expect(rows.map((r) => r.state)).toEqual(['TIME-WAIT']);
    net.close();
  });

  it('moves 1 MiB each way exactly', async () => {
    const net = new Vnet();
    const up = pattern(1 << 20, 7);
    const down = pattern(1 << 20, 9);
    const atServer: Buffer[] = [];
    net.b.tcp.createServer((s) => {
      s.on('data', (d: Buffer) => atServer.push(d));
      s.end(down);
    }).listen(9000);
    const atClient: Buffer[] = [];
    const c = net.a.tcp.connect({ host: B_ADDR, port: 9000 });
    c.on('data', (d: Buffer) => atClient.push(d));
    c.end(up);
    let ended = false;
    c.on('end', () => (ended = true));
    await net.until(() => ended && Buffer.concat(atServer).length === up.length, 60_000, 'transfer');
    expect(createHash('sha256').update(Buffer.concat(atServer)).digest('hex')).toBe(createHash('sha256').update(up).digest('hex'));
    expect(Buffer.concat(atClient).equals(down)).toBe(true);
    expect(net.a.stats.Tcp.RetransSegs).toBe(0);
    net.close();
  });
});
