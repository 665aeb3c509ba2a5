/**
 * The encrypted records node:tls copies out for each write are freed by a young-generation collection every
 * YOUNG_COLLECTION_BYTES (src/http/young-buffers.ts), not left to pile up until V8 runs a full mark-compact:
 * the collector runs a real scavenge, TcpSocket tells it every batch written, and a download over HTTPS on
 * the stack runs one per YOUNG_COLLECTION_BYTES of records.
 */
import { describe, it, expect, afterEach, beforeAll } from 'vitest';
import tls from 'node:tls';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import { waitUntil } from '../helpers/http-client.js';
import { startBundledHttps } from '../../src/http/bundled.js';
import { selfSignedIdentity, type TlsIdentity } from '../../src/http/tls-identity.js';
import { YoungBufferCollector, YOUNG_COLLECTION_BYTES } from '../../src/http/young-buffers.js';

let net: Vnet | null = null;
let identity: TlsIdentity;
beforeAll(async () => {
  identity = await selfSignedIdentity(['tunstack.test'], [B_ADDR]);
});
afterEach(() => {
  net?.close();
  net = null;
});

describe('young-generation collections paced by TLS record bytes', () => {
  it('runs a scavenge once the bytes noted reach the threshold, and not before', async () => {
    const minors: number[] = [];
    const obs = new PerformanceObserver((l) => {
      for (const e of l.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minors.push(e.startTime);
    });
    obs.observe({ entryTypes: ['gc'] });
    const c = new YoungBufferCollector(1000);
    c.note(600);
    expect(c.collections).toBe(0);
    const before = performance.now();
    c.note(600);
    expect(c.collections).toBe(1);
    c.note(999);
    expect(c.collections).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    expect(minors.some((t) => t >= before)).toBe(true);
  });

  it('a download over HTTPS: every batch of records is counted, one scavenge per YOUNG_COLLECTION_BYTES', async () => {
    const n = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 } });
    net = n;
    const server = startBundledHttps(n.b, { port: 443, identity });
    await n.run(1);
    const raw = n.a.tcp.connect({ host: B_ADDR, port: 443 }) as unknown as Duplex;
    const s = tls.connect({ socket: raw, rejectUnauthorized: false, servername: 'tunstack.test', ALPNProtocols: ['http/1.1'] });
    const size = 3 * YOUNG_COLLECTION_BYTES + YOUNG_COLLECTION_BYTES / 4;
    let got = -1;
    const req = http.request({ path: `/bytes?n=${size}`, headers: { Host: B_ADDR }, createConnection: () => s as unknown as Socket });
    req.on('response', (res) => {
      let len = 0;
      res.on('data', (d: Buffer) => (len += d.length));
      res.on('end', () => (got = len));
    });
    req.end();
    await waitUntil(n, () => got >= 0, 120_000, 'download');
    expect(got).toBe(size);
    // The records carry the body plus TLS framing: past 3 thresholds (each counted from the batch that crossed the
    // last one), well short of 4.
    expect(server.recordCollector.collections).toBe(3);
  }, 60_000);
});
