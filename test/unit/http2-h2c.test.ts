/**
 * HTTP/2 with prior knowledge (h2c, RFC 9113 §3.3) on the bundled HTTP port: node:http2 on tunstack sockets,
 * the same routes; HTTP/1.1 connections on the same port are served as before.
 */
import { describe, it, expect, afterEach } from 'vitest';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import { RawClient, request, waitUntil } from '../helpers/http-client.js';
import { startBundledHttp } from '../../src/http/bundled.js';
import { BYTES_PATTERN } from '../../src/http/routes.js';
import { H2_PREFACE, matchPreface } from '../../src/http/h2c.js';

let net: Vnet | null = null;
afterEach(() => {
  net?.close();
  net = null;
});

async function h2Get(n: Vnet, session: http2.ClientHttp2Session, path: string, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  const req = session.request({ ':path': path, ':method': body ? 'POST' : 'GET' });
  let status = 0;
  const parts: Buffer[] = [];
  let done = false;
  req.on('response', (h) => (status = Number(h[':status'])));
  req.on('data', (d: Buffer) => parts.push(d));
  req.on('end', () => (done = true));
  req.end(body);
  await waitUntil(n, () => done, 60_000, `h2 ${path}`);
  return { status, body: Buffer.concat(parts) };
}

describe('h2c: HTTP/2 with prior knowledge on the HTTP port', () => {
  it('tells the preface from HTTP/1.1 by its first bytes', () => {
    expect(matchPreface(Buffer.from('GET / HTTP/1.1\r\n'))).toBe('http1');
    expect(matchPreface(Buffer.from('PRI * HTTP/2.0\r\n'))).toBe('more');
    expect(matchPreface(Buffer.from('PRI * HTTP/1.1\r\n'))).toBe('http1');
    expect(matchPreface(Buffer.from('P'))).toBe('more');
    expect(matchPreface(H2_PREFACE)).toBe('h2');
  });

  it('serves the built-in routes over HTTP/2, several streams on one connection, and HTTP/1.1 beside it', async () => {
    net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 } });
    const server = startBundledHttp(net.b, { port: 80 });
    await net.run(1);
    const n = net;
    const session = http2.connect(`http://${B_ADDR}`, { createConnection: () => n.a.tcp.connect({ host: B_ADDR, port: 80 }) as unknown as Duplex });
    session.on('error', () => undefined);
    const [home, bytes] = await Promise.all([h2Get(n, session, '/'), h2Get(n, session, '/bytes?n=300000')]);
    expect(home.status).toBe(200);
    expect(home.body.toString()).toBe('hello\n');
    expect(bytes.status).toBe(200);
    expect(bytes.body.length).toBe(300_000);
    for (let i = 0; i < 300_000; i += 997) expect(bytes.body[i]).toBe(BYTES_PATTERN[i % 251]);
    const echo = await h2Get(n, session, '/echo', Buffer.alloc(100_000, 7));
    expect(echo.body.equals(Buffer.alloc(100_000, 7))).toBe(true);
    const h1 = await request(n, { path: '/' });
    expect(h1.status).toBe(200);
    expect(server.counters.Requests).toBe(4);
    expect(server.counters.Responses2xx).toBe(4);
    expect(server.counters.ConnectionsAccepted).toBe(2);
    session.close();
  });

  it('a client that sends half the preface and goes quiet is closed after headersTimeout; a bad preface is HTTP/1.1 garbage (400)', async () => {
    net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 } });
    startBundledHttp(net.b, { port: 80, limits: { headersTimeout: 200 } });
    await net.run(1);
    const bad = new RawClient(net);
    bad.send('PRI * HTTP/2.1\r\n\r\n');
    await bad.untilResponses(1);
    expect(bad.statusCodes()).toEqual([400]);
    const half = new RawClient(net);
    half.send(H2_PREFACE.subarray(0, 10));
    await half.until((c) => c.closed || c.ended, 10_000, 'close of a silent client');
    expect(half.ended || half.closed).toBe(true);
  });
});
