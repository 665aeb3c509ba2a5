/**
 * The HTTP path over an impaired memory link (loss, reordering, delay,
 * duplicates, both ways): bodies still arrive exactly.
 */
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { Vnet } from '../helpers/vnet.js';
import { request, pattern } from '../helpers/http-client.js';
import { startBundledHttp } from '../../src/http/bundled.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('HTTP over an impaired link', () => {
  for (const spec of ['loss=2%,seed=3', 'loss=1%,reorder=10%,delay=2ms,seed=5', 'duplicate=5%,loss=1%,seed=9']) {
    it(`POST /echo 8 MB and GET /bytes 5 MB exact under ${spec}`, async () => {
      const net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 }, impairA: spec, impairB: spec });
      try {
        startBundledHttp(net.b, { port: 80 });
        const body = pattern(8_000_000, 3);
        const r = await request(net, { method: 'POST', path: '/echo', body }, 600_000);
        expect(r.status).toBe(200);
        expect(sha(r.body)).toBe(sha(body));
        const b = await request(net, { path: '/bytes?n=5000000' }, 600_000);
        expect(b.body.length).toBe(5_000_000);
        expect(net.b.stats.Tcp.RetransSegs).toBeGreaterThan(0); // the impairment did bite
      } finally {
        net.close();
      }
    }, 60_000);
  }
});
