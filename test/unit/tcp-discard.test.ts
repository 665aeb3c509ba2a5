import { describe, it, expect } from 'vitest';
import { Vnet } from '../helpers/vnet.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import { startTcpDiscard } from '../../src/services/tcp-services.js';

describe('TcpSocket.discard() (recv with MSG_TRUNC for a stream)', () => {
  it('counts and drops 3 MB without a data event, keeps the window open, still ends', async () => {
    const net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2, rmem: 65536 } });
    let server: TcpSocket | null = null;
    let datas = 0;
    let ended = false;
    net.b.tcp
      .createServer((s) => {
        server = s;
        s.on('data', () => datas++);
        s.on('end', () => (ended = true));
        s.discard().resume();
      })
      .listen(9);
    const c = net.a.tcp.connect({ host: '10.0.0.2', port: 9 });
    const n = 3 * 1024 * 1024;
    c.end(Buffer.alloc(n, 7));
    await net.until(() => ended, 120_000, 'end');
    expect(server!.bytesRead).toBe(n);
    expect(datas).toBe(0);
    expect(server!.tcpInfo()?.recvQ ?? 0).toBe(0);
    net.close();
  });

  it('the discard service drops what it gets and closes after the peer does', async () => {
    const net = new Vnet({ tcpA: { seed: 3 }, tcpB: { seed: 4 } });
    startTcpDiscard(net.b, 9);
    let closed = false;
    const c = net.a.tcp.connect({ host: '10.0.0.2', port: 9 });
    c.on('close', () => (closed = true));
    c.resume();
    c.end(Buffer.alloc(500_000, 1));
    await net.until(() => closed, 120_000, 'close');
    expect(c.bytesWritten).toBe(500_000);
    net.close();
  });
});
