/**
 * TCP's reaction to CE marks end to end on a virtual clock (RFC 3168 §6.1; Linux tcp_ecn_*, tcp_enter_cwr,
 * tcp_newly_delivered): a client with tcp_ecn=1 downloads through the impairment stage marking 2% of the
 * server's packets CE. The download is exact, nothing is retransmitted (a mark is not a loss), the server
 * counts the deliveries its peer echoed as TcpExt.TCPDeliveredCE, answers with CWR, and never marks a pure
 * ACK or a retransmission ECT.
 */
import { describe, expect, it } from 'vitest';
import { startBundledHttp } from '../../src/http/bundled.js';
import { TCP_CWR, TCP_ECE } from '../../src/wire/tcp.js';
import { request } from '../helpers/http-client.js';
import { Vnet } from '../helpers/vnet.js';

/** IPv4/TCP fields of a wire packet: ECN field, TCP flags, payload length. */
function fields(p: Uint8Array): { ecn: number; flags: number; payload: number } | null {
  if (p.length < 40 || p[0]! >> 4 !== 4 || p[9] !== 6) return null;
  const ihl = (p[0]! & 0xf) * 4;
  const total = (p[2]! << 8) | p[3]!;
  const doff = (p[ihl + 12]! >> 4) * 4;
  return { ecn: p[1]! & 3, flags: p[ihl + 13]!, payload: total - ihl - doff };
}

describe('CE marks on a download (classic ECN, sender side)', () => {
  it('a 3 MB download through out:ce=2% is exact, counts TCPDeliveredCE, sends CWR, retransmits nothing', async () => {
    const fromServer = { ectPureAcks: 0, cwr: 0, ect0Data: 0 };
    const fromClient = { ece: 0 };
    const net = new Vnet({
      tcpA: { seed: 1, ecn: 1 },
      tcpB: { seed: 2 },
      impairB: 'ce=2%,seed=3',
      // Look at what each side sends (before the impairment stage); drop nothing.
      dropB: (p) => {
        const f = fields(p);
        if (f !== null) {
          if (f.payload === 0 && f.ecn !== 0) fromServer.ectPureAcks++;
          if (f.payload > 0 && f.ecn === 2) fromServer.ect0Data++;
          if (f.flags & TCP_CWR) fromServer.cwr++;
        }
        return false;
      },
      dropA: (p) => {
        const f = fields(p);
        if (f !== null && f.flags & TCP_ECE && f.payload === 0) fromClient.ece++;
        return false;
      },
    });
    try {
      startBundledHttp(net.b, { port: 80 });
      const n = 3_000_000;
      const r = await request(net, { path: `/bytes?n=${n}` }, 600_000);
      expect(r.body.length).toBe(n);
      for (let i = 0; i < n; i += 9973) expect(r.body[i]).toBe(i % 251);
      const x = net.b.stats.TcpExt;
      expect(x.TCPDeliveredCE).toBeGreaterThan(0);
      expect(x.TCPDeliveredCE).toBeLessThan(x.TCPDelivered);
      expect(x.TCPDelivered).toBeGreaterThanOrEqual(Math.floor(n / 1460));
      expect(net.b.stats.Tcp.RetransSegs).toBe(0);
      expect(fromServer.ect0Data).toBeGreaterThan(1000);
      expect(fromServer.ectPureAcks).toBe(0);
      expect(fromClient.ece).toBeGreaterThan(0);
      expect(fromServer.cwr).toBeGreaterThan(0);
    } finally {
      net.close();
    }
  }, 120_000);

  it('without ECN negotiated, marks change nothing and nothing counts as CE', async () => {
    const net = new Vnet({ tcpA: { seed: 1, ecn: 0 }, tcpB: { seed: 2 }, impairB: 'ce=50%,seed=3' });
    try {
      startBundledHttp(net.b, { port: 80 });
      const r = await request(net, { path: '/bytes?n=500000' }, 600_000);
      expect(r.body.length).toBe(500_000);
      expect(net.b.stats.TcpExt.TCPDeliveredCE).toBe(0);
      expect(net.b.stats.TcpExt.TCPDelivered).toBeGreaterThan(0);
    } finally {
      net.close();
    }
  }, 60_000);
});
