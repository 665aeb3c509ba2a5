/**
 * The net.Socket surface node:http's server touches (lib/_http_server.js,
 * lib/_http_outgoing.js of Node 20), checked on TcpSocket directly: if one of
 * these drifts, the HTTP server breaks in subtle ways (keep-alive timers,
 * header+body coalescing, half-close handling).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Vnet, B_ADDR, A_ADDR } from '../helpers/vnet.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

let net: Vnet | null = null;
afterEach(() => {
  net?.close();
  net = null;
});

async function pair(opts: { allowHalfOpen?: boolean } = {}): Promise<{ net: Vnet; client: TcpSocket; server: TcpSocket; atClient: Buffer[] }> {
  net = new Vnet({ tcpA: { seed: 9 }, tcpB: { seed: 10 } });
  let server: TcpSocket | null = null;
  net.b.tcp.createServer({ allowHalfOpen: opts.allowHalfOpen ?? false }, (s) => (server = s)).listen(80);
  const client = net.a.tcp.connect({ host: B_ADDR, port: 80, allowHalfOpen: true });
  const atClient: Buffer[] = [];
  client.on('data', (d: Buffer) => atClient.push(d));
  await net.until(() => server !== null, 5000, 'accept');
  return { net, client, server: server!, atClient };
}

describe('TcpSocket as node:http sees it', () => {
  it('remote/local address, port and family', async () => {
    const { client, server } = await pair();
    // listen(80) binds `::` (Node's default): an IPv4 peer shows as IPv4-mapped, the socket's family IPv6.
    expect([server.remoteAddress, server.remotePort, server.remoteFamily]).toEqual([`::ffff:${A_ADDR}`, client.localPort, 'IPv6']);
    expect(server.address()).toEqual({ address: `::ffff:${B_ADDR}`, family: 'IPv6', port: 80 });
    expect([client.remoteAddress, client.remoteFamily]).toEqual([B_ADDR, 'IPv4']);
  });

  it("setTimeout: 'timeout' after idle time on the stack clock, pushed back by activity, off with 0", async () => {
    const { net, client, server } = await pair();
    let fired = 0;
    server.on('timeout', () => fired++);
    expect(server.setTimeout(1000)).toBe(server);
    expect(server.timeout).toBe(1000);
    await net.run(700);
    client.write('x'); // activity
    await net.run(700);
    expect(fired).toBe(0);
    await net.run(400);
    expect(fired).toBe(1);
    server.setTimeout(0);
    expect(server.timeout).toBeUndefined();
    await net.run(5000);
    expect(fired).toBe(1);
    // The callback form, as http's socket.setTimeout(ms, cb) uses it.
    let cbFired = false;
    server.setTimeout(500, () => (cbFired = true));
    await net.run(600);
    expect(cbFired).toBe(true);
  });

  it('setNoDelay / setKeepAlive / ref / unref are chainable', async () => {
    const { server } = await pair();
    expect(server.setNoDelay(true)).toBe(server);
    expect(server.setKeepAlive(true, 1000)).toBe(server);
    expect(server.ref().unref()).toBe(server);
  });

  it('cork/uncork coalesce head and body through _writev into one segment; bytesWritten counts them', async () => {
    const { net, server, atClient } = await pair();
    server.setNoDelay(true);
    server.cork();
    server.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
    server.write('hello');
    expect(server.writableCorked).toBe(1);
    expect(server.writableLength).toBe(43);
    server.uncork();
    await net.run(10);
    expect(atClient.length).toBe(1);
    expect(Buffer.concat(atClient).toString()).toBe('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    expect(server.bytesWritten).toBe(43);
    expect(server.writableLength).toBe(0);
  });

  it("writableLength grows while the peer's window is closed; write() false, then 'drain'", async () => {
    const { net, client, server } = await pair();
    client.pause();
    const block = Buffer.alloc(64 * 1024, 1);
    // 6 MiB: more than the peer's receive buffer, our send buffer and both streams' buffers hold.
    let last = true;
    for (let i = 0; i < 96; i++) last = server.write(block);
    expect(last).toBe(false);
    await net.run(2000);
    expect(server.writableLength).toBeGreaterThan(0);
    expect(server.writableNeedDrain).toBe(true);
    let drained = false;
    server.once('drain', () => (drained = true));
    client.resume();
    await net.until(() => drained, 60_000, 'drain');
    expect(server.writableLength).toBe(0);
  });

  it("peer FIN: 'end' comes before 'close'; without allowHalfOpen our side ends too", async () => {
    const { net, client, server } = await pair({ allowHalfOpen: false });
    const order: string[] = [];
    server.on('end', () => order.push('end'));
    server.on('close', () => order.push('close'));
    server.resume();
    let clientEnded = false;
    client.on('end', () => (clientEnded = true));
    client.end();
    await net.until(() => order.includes('close'), 5000, 'server close');
    expect(order).toEqual(['end', 'close']);
    expect(clientEnded).toBe(true);
  });

  it('allowHalfOpen: after the peer\'s FIN we can still write, then end', async () => {
    const { net, client, server, atClient } = await pair({ allowHalfOpen: true });
    let ended = false;
    server.on('end', () => (ended = true));
    server.resume();
    client.end();
    await net.until(() => ended, 5000, 'end');
    expect(server.writable).toBe(true);
    server.end('late reply');
    let clientEnded = false;
    client.on('end', () => (clientEnded = true));
    await net.until(() => clientEnded, 5000, 'client end');
    expect(Buffer.concat(atClient).toString()).toBe('late reply');
  });

  it('destroySoon: everything written reaches the peer, then FIN and close', async () => {
    const { net, client, server, atClient } = await pair();
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    server.write(big);
    server.destroySoon();
    let clientEnded = false;
    client.on('end', () => (clientEnded = true));
    let closed = false;
    server.on('close', () => (closed = true));
    await net.until(() => clientEnded && closed, 60_000, 'delivered and closed');
    expect(Buffer.concat(atClient).length).toBe(big.length);
  });

  it('write then destroy(err), as node:http answers a parse error: the answer still arrives', async () => {
    const { net, client, server, atClient } = await pair();
    server.on('error', () => undefined);
    server.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    server.destroy(Object.assign(new Error('Parse Error'), { code: 'HPE_INVALID_METHOD' }));
    let clientEnded = false;
    client.on('end', () => (clientEnded = true));
    await net.until(() => clientEnded, 5000, 'client end');
    expect(Buffer.concat(atClient).toString()).toBe('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
});
