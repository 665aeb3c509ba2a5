/**
 * Fuzzing HTTP through our sockets (issue 9, item 1): mutated requests —
 * byte flips, splices of protocol tokens (CR, LF, colons, huge numbers,
 * Transfer-Encoding/Content-Length conflicts, NULs), pipelining, random
 * chunking of the writes — from one stack into the bundled HTTP server on
 * another, over a memory link in virtual time. One server takes every
 * request. For each: the connection ends (no hang), what comes back is a
 * sequence of well-formed status lines, nothing escapes; afterwards a clean
 * request is still answered 200 and no connection is left behind.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { Vnet } from '../helpers/vnet.js';
import { RawClient, request, waitUntil } from '../helpers/http-client.js';
import { startBundledHttp } from '../../src/http/bundled.js';
import { fuzzAsync, mutate, mutation, reportExecutions } from '../adversarial/fuzz-kit.js';

afterAll(() => reportExecutions('http'));

const SEEDS = [
  'GET / HTTP/1.1\r\nHost: t\r\n\r\n',
  'GET /bytes?n=300 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
  'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello',
  'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'GET /_stack/stats HTTP/1.1\r\nHost: t\r\n\r\nGET /_stack/sockets HTTP/1.1\r\nHost: t\r\n\r\n',
  'GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  'HEAD /bytes?n=5 HTTP/1.0\r\n\r\n',
];
const TOKENS = ['\r\n', '\n', '\r', ':', ' ', '\0', '\t', 'Content-Length: 99999999999999999999\r\n', 'Content-Length: 3\r\n', 'Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: gzip, chunked\r\n', 'Host: a\r\n', 'ffffffffffffffff\r\n', '0\r\n\r\n', 'GET / HTTP/1.1\r\n', 'HTTP/1.1', '/bytes?n=1099511627776', '/bytes?n=-1', '%00', 'Expect: 100-continue\r\n', 'Connection: keep-alive\r\n', 'Upgrade: h2c\r\n', '\x80\xff', 'a'.repeat(300)];

const requestArb = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.constantFrom(...TOKENS)), { maxLength: 4 }),
    fc.array(mutation, { maxLength: 3 }),
    fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 }),
    fc.boolean(),
  )
  .map(([seed, edits, ms, cuts, fin]) => {
    let t = seed;
    for (const [at, del, ins] of edits) {
      const i = at % (t.length + 1);
      t = t.slice(0, i) + ins + t.slice(i + del);
    }
    return { bytes: Buffer.from(mutate(Uint8Array.from(Buffer.from(t, 'latin1')), ms)), cuts, fin };
  });

describe('fuzz: HTTP requests through tunstack sockets into the bundled server', () => {
  it('mutated requests: the connection ends, every status line is well formed, the server keeps serving', async () => {
    const net = new Vnet({ tcpA: { seed: 5 }, tcpB: { seed: 6 } });
    const server = startBundledHttp(net.b, { port: 80 });
    try {
      await fuzzAsync(
        'http.request',
        requestArb,
        async ({ bytes, cuts, fin }) => {
          const c = new RawClient(net);
          // The request in pieces, as a real client's writes might arrive.
          let off = 0;
          for (let i = 0; off < bytes.length; i++) {
            const n = i < cuts.length ? cuts[i]! : bytes.length - off;
            c.send(bytes.subarray(off, off + n));
            off += n;
            await net.settle();
          }
          if (fin) c.sock.end();
          // The server must answer and/or close: with a FIN from us it has no reason to wait; without one an
          // incomplete request may legitimately wait (node:http's headersTimeout, real time), so we end it.
          try {
            await waitUntil(net, () => c.ended || c.closed, 30_000, 'server ends the connection', fin ? 3000 : 200);
          } catch (e) {
            if (fin) throw e;
            c.sock.destroy();
          }
          const text = c.text();
          const heads = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
          for (const s of heads) expect(s >= 100 && s <= 599, `status ${s}`).toBe(true);
          if (text.length > 0 && !text.startsWith('HTTP/1.')) throw new Error(`response does not start with a status line: ${JSON.stringify(text.slice(0, 80))}`);
          c.sock.destroy();
          await net.settle();
        },
        400,
      );
      // Still serving, and nothing left behind once time passes.
      expect((await request(net)).status).toBe(200);
      await net.run(130_000);
      await waitUntil(net, () => net.b.tcp.socketTable().every((r) => r.state === 'LISTEN' || r.state === 'TIME-WAIT'), 130_000, 'connections drained', 10_000);
      const left = net.b.tcp.socketTable().filter((r) => r.state !== 'LISTEN' && r.state !== 'TIME-WAIT');
      expect(left).toEqual([]);
      expect(server.counters.Requests).toBeGreaterThan(0);
    } finally {
      server.close();
      net.close();
    }
  }, 180_000);
});
