/**
 * RACK under reordering both ways, as `tunstack up --impair 'reorder=25%,delay=5ms'` runs it live (an unprefixed
 * spec impairs both directions): data segments and ACKs skip the 5 ms queue. A segment whose data and ACK both
 * skip comes back almost at once, so RACK.rtt and min_RTT fall near zero while the others take 5 or 10 ms:
 * round trips spread over twice the delay. A link rate keeps the window to what a live run sees (a path
 * without one lets slow start run to megabytes on the virtual clock). At most 1% of segments retransmitted.
 */
import { describe, it, expect } from 'vitest';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import { liveTcpConfig } from '../../src/tcp/config.js';

async function download(n: number, impairB: string): Promise<{ segs: number; retrans: number; dsacks: number }> {
  const net = new Vnet({ tcpA: { seed: 1, ...liveTcpConfig }, tcpB: { seed: 2, ...liveTcpConfig }, impairB });
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = i % 251;
  net.b.tcp.createServer((s) => s.end(data)).listen(80);
  let len = 0;
  let exact = true;
  const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
  c.on('data', (d: Buffer) => {
    for (let i = 0; i < d.length; i++) if (d[i] !== (len + i) % 251) exact = false;
    len += d.length;
  });
  await net.until(() => len === n, 600_000, 'download');
  expect(exact).toBe(true);
  const r = { segs: net.b.stats.Tcp.OutSegs, retrans: net.b.stats.Tcp.RetransSegs, dsacks: net.b.stats.TcpExt.TCPDSACKRecv };
  net.close();
  return r;
}

describe('RACK: reordering both ways (data and ACKs skip the delay)', () => {
  for (const seed of [3, 4]) {
    it(`20 MB through delay=5ms,reorder=25%,rate=50mbit,seed=${seed}: at most 1% of segments retransmitted`, async () => {
      const { segs, retrans } = await download(20_000_000, `delay=5ms,reorder=25%,rate=50mbit,seed=${seed}`);
      expect(segs).toBeGreaterThan(13_000);
      expect(retrans / segs).toBeLessThanOrEqual(0.01);
    }, 180_000);
  }
});
