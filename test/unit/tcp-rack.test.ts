/** RACK (RFC 8985) between two stacks on the virtual clock: reordering is not loss, loss is still repaired. */
import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import { liveTcpConfig, type TcpConfig } from '../../src/tcp/config.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** B (the server, impaired on its way out) sends `n` bytes to A; returns B's counters. */
async function download(n: number, impairB: string, tcpB: Partial<TcpConfig> = {}): Promise<{ net: Vnet; segs: number; retrans: number }> {
  const net = new Vnet({ tcpA: { seed: 1, ...liveTcpConfig }, tcpB: { seed: 2, ...liveTcpConfig, ...tcpB }, impairB });
  const data = pattern(n, 9);
  net.b.tcp.createServer((s) => s.end(data)).listen(80);
  const got: Buffer[] = [];
  let len = 0;
  const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
  c.on('data', (d: Buffer) => {
    got.push(d);
    len += d.length;
  });
  await net.until(() => len === n, 600_000, 'download');
  expect(sha(Buffer.concat(got))).toBe(sha(data));
  return { net, segs: net.b.stats.Tcp.OutSegs, retrans: net.b.stats.Tcp.RetransSegs };
}

describe('RACK: time-based loss detection', () => {
  it('20 MB through out:delay=5ms,reorder=25% (no loss): at most 1% of segments retransmitted (DupThresh: 15%)', async () => {
    const { net, segs, retrans } = await download(20_000_000, 'out:delay=5ms,out:reorder=25%,seed=4');
    const ratio = retrans / segs;
    expect(segs).toBeGreaterThan(13_000);
    expect(ratio).toBeLessThanOrEqual(0.01);
    net.close();
  }, 120_000);

  it('4 MB through 1% loss: byte-exact, repaired without an RTO storm', async () => {
    const { net, retrans } = await download(4_000_000, 'out:loss=1%,seed=6');
    expect(retrans).toBeGreaterThan(0);
    expect(net.b.stats.TcpExt.TCPTimeouts).toBeLessThanOrEqual(2);
    net.close();
  }, 120_000);
});
