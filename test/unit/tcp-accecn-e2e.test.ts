/**
 * Accurate ECN end to end between two stacks (Linux 6.18 cannot be the peer: its tcp_ecn stops at 2). Both
 * stacks run net.ipv4.tcp_ecn=3 over a pair of in-process TUN links (src/link/tun-loopback.ts, the warm-up's
 * path: virtio headers, TSO super-segments); the server's side marks every 50th of its ECT packets CE (as the
 * ce-mark stage does; ImpairedLink itself does not pass the offload meta words of this link on). The download
 * arrives exact, both ends negotiated AccECN, every CE-marked segment the client counted (r.cep, a super-segment
 * as the segments it holds) is reported back through the ACE field and the option, and the server counts at
 * least as many (Linux's inference assumes the most ACE wraps it cannot rule out) and
 * retransmits nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Stack } from '../../src/stack.js';
import { liveTcpConfig } from '../../src/tcp/config.js';
import { TunLoopback } from '../../src/link/tun-loopback.js';
import { CE_MARKED, markCe } from '../../src/link/ce-mark.js';
import type { Link } from '../../src/link/link.js';
import { ACCECN_MODE_ACCECN } from '../../src/tcp/accecn-state.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

const CLIENT = '10.77.0.1';
const SERVER = '10.77.0.2';

describe('AccECN between two stacks through a CE-marking stage', () => {
  let client: Stack | null = null;
  let server: Stack | null = null;
  afterEach(() => {
    client?.close();
    server?.close();
  });

  it('negotiates AccECN, feeds every CE mark back, and the sender counts and answers them', async () => {
    const loop = new TunLoopback({ names: ['acc0', 'acc1'], batchSize: 16 });
    const cfg = { ...liveTcpConfig, ecn: 3 };
    client = new Stack({ tcp: cfg });
    server = new Stack({ tcp: cfg });
    const inner: Link = loop.b;
    let ect = 0;
    let ceMarked = 0;
    const marked: Link = {
      mtu: inner.mtu,
      name: inner.name,
      offloads: inner.offloads,
      sendsSynchronously: inner.sendsSynchronously,
      setReceiver: (r) => inner.setReceiver(r),
      send: (packets, count, meta) => {
        for (let i = 0; i < count; i++) if ((packets[i]![1]! & 3) !== 0 && ++ect % 50 === 0 && markCe(packets[i]!) === CE_MARKED) ceMarked++;
        inner.send(packets, count, meta);
      },
      pollReceive: () => inner.pollReceive?.() ?? 0,
      close: () => inner.close(),
    };
    client.addInterface(loop.a, `${CLIENT}/24`, { defaultRoute: true });
    server.addInterface(marked, `${SERVER}/24`, { defaultRoute: true });
    client.startRealTime();
    server.startRealTime();

    const n = 8_000_000;
    const body = Buffer.alloc(n);
    for (let i = 0; i < n; i++) body[i] = i % 251;
    let accepted: TcpSocket | null = null;
    let receivedCe = 0;
    server.tcp.createServer((s) => {
      accepted = s;
      s.end(body);
    }).listen(5001);
    const got = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = client!.tcp.connect({ host: SERVER, port: 5001 });
      const t = setTimeout(() => reject(new Error('download did not finish in 30 s')), 30_000);
      s.on('data', (b: Buffer) => chunks.push(Buffer.from(b)));
      s.on('end', () => {
        clearTimeout(t);
        const info = s.getInfo();
        const conn = s.connection;
        expect(conn?.accecn?.mode).toBe(ACCECN_MODE_ACCECN);
        receivedCe = info?.tcpi_received_ce ?? -1;
        resolve(Buffer.concat(chunks));
        s.end();
      });
      s.on('error', reject);
    });
    // The last ACKs (their ACE fields) reach the server after the client saw the end of the data.
    await new Promise((r) => setTimeout(r, 300));
    expect(got.length).toBe(n);
    expect(got.equals(body)).toBe(true);

    const srv = (accepted as TcpSocket | null)?.connection ?? null;
    const x = server.tcp.stats.TcpExt;
    expect(ceMarked).toBeGreaterThan(0);
    expect(receivedCe).toBeGreaterThan(0);
    // What the server learned from ACE (and the option) covers every mark the client counted, and not wildly more.
    expect(x.TCPDeliveredCE).toBeGreaterThanOrEqual(receivedCe);
    expect(x.TCPDeliveredCE).toBeLessThanOrEqual(2 * receivedCe);
    if (srv !== null) expect(srv.accecn?.mode).toBe(ACCECN_MODE_ACCECN);
    expect(server.tcp.stats.Tcp.RetransSegs).toBeLessThanOrEqual(1);
  }, 40_000);
});
