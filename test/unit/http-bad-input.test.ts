/**
 * Bad input through our sockets: where llhttp decides, the decision must reach
 * the wire intact (status line, then the connection closed), be counted, and
 * never disturb other clients.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Vnet } from '../helpers/vnet.js';
import { RawClient, request } from '../helpers/http-client.js';
import { startBundledHttp } from '../../src/http/bundled.js';
import type { StackHttpServer } from '../../src/http/server.js';
import type { HttpLimits } from '../../src/http/limits.js';

let net: Vnet | null = null;
afterEach(() => {
  net?.close();
  net = null;
});

function setup(limits: Partial<HttpLimits> = {}): { net: Vnet; server: StackHttpServer } {
  net = new Vnet({ tcpA: { seed: 3 }, tcpB: { seed: 4 } });
  const server = startBundledHttp(net.b, { port: 80, limits });
  return { net, server };
}

/** Sends `data`, waits for the server to close the connection; returns the status codes answered. */
async function exchange(net: Vnet, data: string | Buffer, fin = false): Promise<{ codes: number[]; client: RawClient }> {
  const c = new RawClient(net);
  c.send(data);
  if (fin) c.sock.end();
  await c.until((x) => x.ended || x.closed, 30_000, 'server closes');
  return { codes: c.statusCodes(), client: c };
}

describe('bad requests get the right status or a closed connection', () => {
  const cases: [string, string | (() => Buffer), number][] = [
    ['garbage', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n', 400],
    ['NUL in the request line', 'GET /\0 HTTP/1.1\r\nHost: t\r\n\r\n', 400],
    ['NUL in a header value', 'GET / HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n', 400],
    ['negative Content-Length', 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\nhello', 400],
    ['huge Content-Length', 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n', 400],
    ['two different Content-Lengths', 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400],
    ['Content-Length and Transfer-Encoding (smuggling)', 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\nHost: t\r\n\r\n', 400],
    ['chunk-size overflow', 'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nab\r\n', 400],
    ['bad chunk framing', 'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['missing Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
    ['bare LF header folding', 'GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n', 400],
    ['1 MB request line', () => Buffer.from(`GET /${'a'.repeat(1 << 20)} HTTP/1.1\r\nHost: t\r\n\r\n`), 431],
    ['10,000 headers', () => Buffer.from(`GET / HTTP/1.1\r\nHost: t\r\n${'X-A: b\r\n'.repeat(10_000)}\r\n`), 431],
    ['one 20 KB header', () => Buffer.from(`GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${'v'.repeat(20_000)}\r\n\r\n`), 431],
  ];
  for (const [name, data, status] of cases) {
    it(`${name} → ${status}`, async () => {
      const { net, server } = setup();
      const { codes, client } = await exchange(net, typeof data === 'function' ? data() : data);
      expect(codes).toEqual([status]);
      // A FIN after the answer (lingering close), not a RST that could wipe it out.
      expect(client.error).toBeNull();
      expect(client.ended).toBe(true);
      // Counted: a parser error as a client error, or (missing Host) a 4xx response by node:http.
      const counted = Object.values(server.counters.ClientErrors).reduce((a, b) => a + b, 0) + server.counters.Responses4xx;
      expect(counted).toBe(1);
      // The next client is served as if nothing happened.
      expect((await request(net)).status).toBe(200);
    });
  }

  it('a truncated chunked body then FIN: the echo is cut, the connection closed, others served', async () => {
    const { net, server } = setup();
    const { client } = await exchange(net, 'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789', true);
    expect(client.closed || client.ended).toBe(true);
    expect(Object.keys(server.counters.ClientErrors).length + Object.keys(server.counters.SocketErrors).length).toBeGreaterThanOrEqual(0);
    expect((await request(net)).status).toBe(200);
  });

  it('pipelined requests are answered in order, up to one that stops mid-body', async () => {
    const { net } = setup();
    const c = new RawClient(net);
    c.send(
      'GET /bytes?n=3 HTTP/1.1\r\nHost: t\r\n\r\n' +
        'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello' +
        'GET /bytes?n=5 HTTP/1.1\r\nHost: t\r\n\r\n' +
        'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly part of it',
    );
    await c.until((x) => x.statusCodes().length >= 4, 10_000, 'four heads');
    await net.run(1000);
    const t = c.text();
    expect(c.statusCodes()).toEqual([200, 200, 200, 200]);
    // In order: 3 bytes, the echo, 5 bytes, then the fourth head and its partial body.
    const i1 = t.indexOf('\r\n\r\n\x00\x01\x02'); // /bytes: byte i = i mod 251
    const i2 = t.indexOf('\r\n\r\nhello');
    const i3 = t.indexOf('\r\n\r\n\x00\x01\x02\x03\x04');
    expect(i1).toBeGreaterThan(0);
    expect(i2).toBeGreaterThan(i1);
    expect(i3).toBeGreaterThan(i2);
    expect(t.endsWith('only part of it')).toBe(true);
    expect(c.closed).toBe(false);
    // The client gives up: its FIN ends the incomplete request; the server closes too.
    c.sock.end();
    await c.until((x) => x.ended, 10_000, 'server FIN');
    expect((await request(net)).status).toBe(200);
  });

  it('four pipelined GETs ending with Connection: close: four 200s in order, then FIN', async () => {
    const { net } = setup();
    const req = (n: number): string => `GET /bytes?n=${n} HTTP/1.1\r\nHost: t\r\n\r\n`;
    const { codes, client } = await exchange(net, req(3) + req(5) + req(7) + 'GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
    expect(codes).toEqual([200, 200, 200, 200]);
    expect(client.ended).toBe(true);
    expect(client.error).toBeNull();
  });

  it('a client that never reads: the server stops at the window, others are served, its close stops the stream', async () => {
    const { net, server } = setup();
    const c = new RawClient(net);
    c.sock.pause();
    c.send(`GET /bytes?n=${2 ** 40} HTTP/1.1\r\nHost: t\r\n\r\n`);
    await net.run(2000);
    const row = () => net!.b.tcp.socketTable().find((r) => r.state === 'ESTAB' && r.local.endsWith(':80'));
    const sendQ = row()?.sendQ ?? 0;
    // Bounded by the socket buffers (1 MiB send buffer + stream buffers), never the 1 TiB asked for.
    expect(sendQ).toBeGreaterThan(0);
    expect(sendQ).toBeLessThanOrEqual(1 << 20);
    const before = row()!.bytesAcked;
    await net.run(5000);
    expect(row()!.bytesAcked).toBe(before); // nothing moves while the client reads nothing
    expect((await request(net)).status).toBe(200);
    c.sock.destroy();
    await net.run(2000);
    expect(server.activeConnections).toBe(0);
  });
});

describe('limits', () => {
  it('maxHeaderSize is configurable: 2 KiB → 431 for a 3 KB head, 200 under it', async () => {
    const { net } = setup({ maxHeaderSize: 2048 });
    const big = await exchange(net, `GET / HTTP/1.1\r\nHost: t\r\nX: ${'a'.repeat(3000)}\r\n\r\n`);
    expect(big.codes).toEqual([431]);
    const ok = await request(net, { headers: { X: 'a'.repeat(1500) } });
    expect(ok.status).toBe(200);
  });

  it('keepAliveTimeout closes an idle kept-alive connection (stack timer)', async () => {
    const { net, server } = setup({ keepAliveTimeout: 2000 });
    const c = new RawClient(net);
    c.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await c.untilResponses(1);
    expect(c.text()).toContain('Keep-Alive: timeout=2');
    // node:http arms the socket timeout 1 s past the advertised value.
    await net.run(2900);
    expect(c.ended).toBe(false);
    await net.run(200);
    expect(c.ended).toBe(true);
    expect(server.counters.IdleTimeouts).toBe(1);
  });

  it('maxRequestsPerSocket: the last allowed response says Connection: close, then FIN', async () => {
    const { net } = setup({ maxRequestsPerSocket: 2 });
    const c = new RawClient(net);
    c.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await c.untilResponses(1);
    expect(c.text()).toContain('Connection: keep-alive');
    c.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await c.until((x) => x.ended, 10_000, 'FIN after the second');
    expect(c.statusCodes()).toEqual([200, 200]);
    expect(c.text().split('HTTP/1.1 ')[2]).toContain('Connection: close');
  });

  it('maxConnections: at the cap new connections wait in the accept queue, served when one closes', async () => {
    const { net, server } = setup({ maxConnections: 2 });
    const a = new RawClient(net);
    const b = new RawClient(net);
    await net.run(100);
    const c = new RawClient(net);
    c.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await net.run(2000);
    expect(c.connected).toBe(true); // the handshake completed in the kernel-like listener
    expect(c.statusCodes()).toEqual([]); // but nobody serves it yet
    expect(server.activeConnections).toBe(2);
    expect(server.counters.ConnectionsDeferred).toBeGreaterThan(0);
    a.sock.end();
    await c.untilResponses(1);
    expect(c.statusCodes()).toEqual([200]);
    b.sock.end();
  });

  it('headersTimeout closes a slowloris client with 408 while another client is served', async () => {
    // node:http checks these against the real clock: short limits, a real-time loop.
    const { net, server } = setup({ headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 });
    const slow = new RawClient(net);
    const head = 'GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ';
    let i = 0;
    let served = 0;
    const started = Date.now();
    while (!(slow.ended || slow.closed) && Date.now() - started < 5000) {
      slow.send(head[i % head.length] ?? 'x');
      i++;
      await net.run(20);
      await new Promise((r) => setTimeout(r, 25));
      if (i % 4 === 0) served += (await request(net)).status === 200 ? 1 : 0;
    }
    expect(slow.ended || slow.closed).toBe(true);
    expect(slow.statusCodes()).toEqual([408]);
    expect(server.counters.ClientErrors['ERR_HTTP_REQUEST_TIMEOUT']).toBe(1);
    expect(served).toBeGreaterThan(0);
    expect((await request(net)).status).toBe(200);
  });
});
