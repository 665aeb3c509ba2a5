import { describe, it, expect } from 'vitest';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import type { TcpServer } from '../../src/tcp/server.js';

/**
 * A reset that finds received data unread (Linux tcp_recvmsg copies what is queued before it reports
 * sk_err): the data stays readable, the error comes once it has been read; a connection still in the
 * accept queue is accepted all the same (tcp_done leaves it there in TCP_CLOSE).
 */
describe('reset with data unread', () => {
  it('keeps an accepted socket\'s unread data readable, then raises ECONNRESET', async () => {
    const net = new Vnet();
    let server: TcpSocket | undefined;
    net.b.tcp.createServer({ pauseOnConnect: true }, (s) => (server = s)).listen(7);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 7 });
    c.on('connect', () => c.write('hello'));
    await net.until(() => server !== undefined && server.readableLength + (server.tcpInfo()?.recvQ ?? 0) >= 5, 5000, 'data');
    let err: (Error & { code?: string }) | undefined;
    server!.on('error', (e: Error & { code?: string }) => (err = e));
    c.resetAndDestroy();
    await net.until(() => server!.errorAfterData !== null, 5000, 'reset seen');
    expect(err).toBeUndefined();
    const b = server!.read() as Buffer | null;
    expect(b?.toString()).toBe('hello');
    await net.until(() => err !== undefined, 5000, 'error after the data');
    expect(err?.code).toBe('ECONNRESET');
    net.close();
  });

  it('accepts a connection reset while in the accept queue, with its data', async () => {
    const net = new Vnet();
    const srv = net.b.tcp.createServer({ manualAccept: true }) as TcpServer;
    srv.listen(8);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 8 });
    let written = false;
    c.on('connect', () => c.write('early', () => (written = true)));
    await net.until(() => written && c.tcpInfo()?.sendQ === 0 && srv.acceptQueueLength === 1, 5000, 'data in');
    c.resetAndDestroy();
    await net.until(() => net.b.stats.Tcp.EstabResets === 1, 5000, 'reset in');
    const s = srv.accept();
    expect(s).not.toBeNull();
    let err: (Error & { code?: string }) | undefined;
    s!.on('error', (e: Error & { code?: string }) => (err = e));
    await net.until(() => s!.errorAfterData !== null, 5000, 'reset reported');
    expect((s!.read() as Buffer | null)?.toString()).toBe('early');
    await net.until(() => err !== undefined, 5000, 'error after the data');
    expect(err?.code).toBe('ECONNRESET');
    net.close();
  });
});
