import { describe, it, expect, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import { RawClient, request, pattern } from '../helpers/http-client.js';
import { startBundledHttp } from '../../src/http/bundled.js';
import { createHttpServer, StackHttpServer } from '../../src/http/server.js';
import { BYTES_PATTERN } from '../../src/http/routes.js';
import type { HttpLimits } from '../../src/http/limits.js';

let net: Vnet | null = null;
afterEach(() => {
  net?.close();
  net = null;
});

function setup(limits: Partial<HttpLimits> = {}): { net: Vnet; server: StackHttpServer } {
  net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 } });
  const server = startBundledHttp(net.b, { port: 80, limits });
  return { net, server };
}

function expectPattern(body: Buffer, n: number): void {
  expect(body.length).toBe(n);
  for (let i = 0; i < n; i += 4093) expect(body[i]).toBe(BYTES_PATTERN[i % 251]);
  if (n > 0) expect(body[n - 1]).toBe((n - 1) % 251);
}

describe('mounting node:http on the stack', () => {
  it('listens on the stack (not the kernel), emits listening, answers GET /', async () => {
    net = new Vnet();
    const server = createHttpServer(net.b, { port: 8080 }, (req, res) => res.end(`hello ${req.socket.remoteAddress}:${req.socket.remotePort}`));
    let listening = false;
    server.on('listening', () => (listening = true));
    await net.run(1);
    expect(listening).toBe(true);
    expect(server.listening).toBe(true);
    // Like Node: without a host the server listens on `::`, taking IPv4 too (ss shows a dual-stack socket as `*`).
    expect(server.address()).toEqual({ address: '::', family: 'IPv6', port: 8080 });
    expect(net.b.tcp.socketTable().some((r) => r.state === 'LISTEN' && r.local === '*:8080')).toBe(true);
    const r = await request(net, { port: 8080 });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toMatch(/^hello ::ffff:10\.0\.0\.1:\d+$/);
    expect(server.counters.Requests).toBe(1);
    expect(server.counters.Responses2xx).toBe(1);
  });

  it('a port already taken is an error event, not a throw', async () => {
    net = new Vnet();
    createHttpServer(net.b, { port: 81 });
    const second = createHttpServer(net.b, { port: 81 });
    let err: (Error & { code?: string }) | null = null;
    second.on('error', (e: Error) => (err = e));
    await net.run(1);
    expect(err).not.toBeNull();
    expect(err!.code).toBe('EADDRINUSE');
    expect(second.listening).toBe(false);
  });

  it('close(): the listener goes, idle keep-alive connections close, then close', async () => {
    const { net, server } = setup();
    const c = new RawClient(net);
    c.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await c.untilResponses(1);
    let closed = false;
    let cbErr: Error | undefined | null = null;
    server.close((e) => {
      cbErr = e;
      closed = true;
    });
    await net.until(() => closed && c.ended, 10_000, 'server close');
    expect(cbErr).toBeUndefined();
    expect(net.b.tcp.socketTable().some((r) => r.state === 'LISTEN')).toBe(false);
    expect(server.listening).toBe(false);
  });
});

describe('built-in routes', () => {
  it('GET / is a small HTML page about the stack for text/html, `hello\\n` for tools; HEAD has the same head and no body', async () => {
    const { net } = setup();
    const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const r = await request(net, { headers: html });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body.toString()).toContain(`${B_ADDR}/24`);
    const h = await request(net, { method: 'HEAD', headers: html });
    expect(h.status).toBe(200);
    expect(h.headers['content-length']).toBe(r.headers['content-length']);
    expect(h.body.length).toBe(0);
    const t = await request(net);
    expect(t.status).toBe(200);
    expect(t.headers['content-type']).toMatch(/text\/plain/);
    expect(t.body.toString()).toBe('hello\n');
  });

  it('GET /bytes?n=N streams exactly N pattern bytes', async () => {
    const { net } = setup();
    for (const n of [0, 1, 63, 64, 65, 65536 + 7, 3_000_001]) {
      const r = await request(net, { path: `/bytes?n=${n}` });
      expect(r.status).toBe(200);
      expect(r.headers['content-length']).toBe(String(n));
      expectPattern(r.body, n);
    }
  });

  it('/bytes rejects bad n with 400 and takes up to 2^40 (HEAD)', async () => {
    const { net } = setup();
    for (const q of ['', 'n=', 'n=-1', 'n=1e6', 'n=0x10', 'n=abc', `n=${2 ** 40 + 1}`, 'n=99999999999999999999']) {
      const r = await request(net, { path: `/bytes?${q}` });
      expect(r.status, q).toBe(400);
    }
    const h = await request(net, { method: 'HEAD', path: `/bytes?n=${2 ** 40}` });
    expect(h.status).toBe(200);
    expect(h.headers['content-length']).toBe('1099511627776');
    expect(h.body.length).toBe(0);
  });

  it('POST /echo returns the body: with Content-Length and chunked', async () => {
    const { net } = setup();
    const body = pattern(1_500_000, 5);
    const r = await request(net, { method: 'POST', path: '/echo', body, headers: { 'Content-Type': 'application/x-test' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(body.length));
    expect(r.headers['content-type']).toBe('application/x-test');
    expect(createHash('sha256').update(r.body).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    const c = await request(net, { method: 'POST', path: '/echo', body, chunkSize: 100_000 });
    expect(c.status).toBe(200);
    expect(c.headers['transfer-encoding']).toBe('chunked');
    expect(c.body.equals(body)).toBe(true);
  });

  it('POST /echo over maxBodyBytes: 413 from the declared length, or cut off when chunked', async () => {
    const { net, server } = setup({ maxBodyBytes: 10_000 });
    const r = await request(net, { method: 'POST', path: '/echo', body: pattern(20_000) });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    // Expect: 100-continue with a length over the cap: 413 before any body byte is sent.
    const c = new RawClient(net);
    c.send('POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 50000\r\nExpect: 100-continue\r\n\r\n');
    await c.untilResponses(1);
    expect(c.statusCodes()).toEqual([413]);
    // Chunked past the cap: the echo has started, so the connection is cut.
    const k = new RawClient(net);
    k.send('POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n');
    for (let i = 0; i < 6; i++) k.send(`7d0\r\n${'x'.repeat(2000)}\r\n`);
    // Cut: a reset when body bytes were left unread at the close, else the server's FIN (close(2) with nothing
    // unread) — which one depends on how much of the body had arrived and been read when the cap was hit.
    await k.until((x) => x.closed || x.ended, 10_000, 'cut off');
    expect(server.counters.BodyTooLarge).toBe(3);
    // Still serving.
    expect((await request(net)).status).toBe(200);
  });

  it('/_stack/stats and /_stack/sockets are JSON', async () => {
    const { net } = setup();
    const s = await request(net, { path: '/_stack/stats' });
    expect(s.headers['content-type']).toBe('application/json');
    const stats = JSON.parse(s.body.toString()) as { Tcp: { PassiveOpens: number }; Http: { Requests: number } };
    expect(stats.Tcp.PassiveOpens).toBeGreaterThanOrEqual(1);
    expect(stats.Http.Requests).toBe(1);
    const k = await request(net, { path: '/_stack/sockets' });
    const table = JSON.parse(k.body.toString()) as { tcp: { state: string; local: string }[]; udp: unknown[] };
    expect(table.tcp.some((r) => r.state === 'LISTEN' && r.local === '*:80')).toBe(true);
    expect(table.tcp.some((r) => r.state === 'ESTAB')).toBe(true);
    expect(Array.isArray(table.udp)).toBe(true);
  });

  it('unknown paths 404, wrong methods 405 with Allow', async () => {
    const { net } = setup();
    expect((await request(net, { path: '/nope' })).status).toBe(404);
    const m = await request(net, { method: 'DELETE', path: '/' });
    expect(m.status).toBe(405);
    expect(m.headers.allow).toBe('GET, HEAD');
    const e = await request(net, { method: 'GET', path: '/echo' });
    expect(e.status).toBe(405);
    expect(e.headers.allow).toBe('POST, PUT');
  });
});
