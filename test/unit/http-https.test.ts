/**
 * HTTPS on the stack: node:tls over tunstack sockets, HTTP/2 or HTTP/1.1 by ALPN, TLS 1.2 and 1.3, session
 * resumption, a self-signed certificate made at start; bad input (garbage instead of a ClientHello) counted.
 */
import { describe, it, expect, afterEach, beforeAll } from 'vitest';
import tls from 'node:tls';
import http from 'node:http';
import type { Socket } from 'node:net';
import http2 from 'node:http2';
import { X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import { RawClient, waitUntil } from '../helpers/http-client.js';
import { startBundledHttps } from '../../src/http/bundled.js';
import { selfSignedIdentity, loadTlsIdentity, type TlsIdentity } from '../../src/http/tls-identity.js';
import type { StackHttpsServer } from '../../src/http/https.js';

let net: Vnet | null = null;
let identity: TlsIdentity;
beforeAll(async () => {
  identity = await selfSignedIdentity(['tunstack.test'], [B_ADDR]);
});
afterEach(() => {
  net?.close();
  net = null;
});

async function setup(): Promise<{ n: Vnet; server: StackHttpsServer }> {
  const n = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 } });
  net = n;
  const server = startBundledHttps(n.b, { port: 443, identity });
  await n.run(1);
  return { n, server };
}

/** One TLS connection from stack A: resolves once the handshake is done. */
async function tlsConnect(n: Vnet, o: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  const raw = n.a.tcp.connect({ host: B_ADDR, port: 443 }) as unknown as Duplex;
  const s = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'tunstack.test', ...o });
  let ok = false;
  let failed: Error | null = null;
  s.once('secureConnect', () => (ok = true));
  s.once('error', (e) => (failed = e));
  await waitUntil(n, () => ok || failed !== null, 10_000, 'TLS handshake');
  if (failed) throw failed;
  return s;
}

async function h1Get(n: Vnet, s: tls.TLSSocket, path: string): Promise<{ status: number; body: Buffer }> {
  let out: { status: number; body: Buffer } | null = null;
  // node:http's client on the TLS socket (node:https with agent: false would ignore createConnection and dial out).
  const req = http.request({ path, headers: { Host: B_ADDR }, createConnection: () => s as unknown as Socket });
  req.on('response', (res) => {
    const parts: Buffer[] = [];
    res.on('data', (d: Buffer) => parts.push(d));
    res.on('end', () => (out = { status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
  });
  req.end();
  await waitUntil(n, () => out !== null, 30_000, `GET ${path}`);
  return out!;
}

describe('HTTPS and HTTP/2 over TLS on the stack', () => {
  it('the self-signed certificate names the stack and is valid now', () => {
    const x = new X509Certificate(identity.cert);
    expect(x.subjectAltName).toContain('DNS:tunstack.test');
    expect(x.subjectAltName).toContain(`IP Address:${B_ADDR}`);
    expect(new Date(x.validFrom).getTime()).toBeLessThan(Date.now());
    expect(identity.selfSigned).toBe(true);
  });

  it('TLS 1.3 and TLS 1.2, HTTP/1.1 by ALPN: the built-in routes answer', async () => {
    const { n, server } = await setup();
    for (const v of ['TLSv1.3', 'TLSv1.2'] as const) {
      const s = await tlsConnect(n, { minVersion: v, maxVersion: v, ALPNProtocols: ['http/1.1'] });
      expect(s.getProtocol()).toBe(v);
      expect(s.alpnProtocol).toBe('http/1.1');
      const r = await h1Get(n, s, '/bytes?n=200000');
      expect(r.status).toBe(200);
      expect(r.body.length).toBe(200_000);
      s.destroy();
    }
    expect(server.counters.Requests).toBe(2);
    expect(server.counters.Responses2xx).toBe(2);
  });

  it('h2 by ALPN: streams on one TLS connection, an echo of 1 MiB', async () => {
    const { n, server } = await setup();
    const s = await tlsConnect(n, { ALPNProtocols: ['h2', 'http/1.1'] });
    expect(s.alpnProtocol).toBe('h2');
    const session = http2.connect(`https://${B_ADDR}`, { createConnection: () => s });
    session.on('error', () => undefined);
    const body = Buffer.alloc(1 << 20, 9);
    const req = session.request({ ':method': 'POST', ':path': '/echo' });
    const parts: Buffer[] = [];
    let done = false;
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => (done = true));
    req.end(body);
    await waitUntil(n, () => done, 60_000, 'h2 echo');
    expect(status).toBe(200);
    expect(Buffer.concat(parts).equals(body)).toBe(true);
    expect(server.counters.Requests).toBe(1);
    session.close();
  });

  it('a TLS 1.2 session is resumed with its ticket on the next connection', async () => {
    const { n } = await setup();
    const first = await tlsConnect(n, { maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] });
    const session = first.getSession();
    expect(first.isSessionReused()).toBe(false);
    first.destroy();
    const second = await tlsConnect(n, { maxVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'], session: session! });
    expect(second.isSessionReused()).toBe(true);
    second.destroy();
  });

  it('garbage instead of a ClientHello: counted and closed; the next client is served', async () => {
    const { n, server } = await setup();
    const bad = new RawClient(n, 443);
    bad.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await bad.until((c) => c.closed || c.ended, 10_000, 'close of a plaintext client');
    expect(Object.values(server.counters.ClientErrors).reduce((a, b) => a + b, 0)).toBe(1);
    const s = await tlsConnect(n, { ALPNProtocols: ['http/1.1'] });
    expect((await h1Get(n, s, '/')).status).toBe(200);
    s.destroy();
  });

  it('certificate files: a missing file or a non-PEM file is a one-line error', () => {
    expect(String(loadTlsIdentity('/nonexistent/cert.pem', '/nonexistent/key.pem'))).toMatch(/--tls-cert \/nonexistent\/cert.pem: ENOENT/);
    expect(String(loadTlsIdentity('/etc/hostname', '/etc/hostname'))).toMatch(/not a PEM certificate/);
  });
});
