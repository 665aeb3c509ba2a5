/** Two stacks on a memory link: state transitions that need both ends, loss recovery, flow control, listener queues, cookies. */
import { describe, it, expect } from 'vitest';
import http from 'node:http';
import { Vnet, A_ADDR, B_ADDR, parseSent } from '../helpers/vnet.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import { TCP_FIN, TCP_SYN } from '../../src/wire/tcp.js';

function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const isData = (p: Uint8Array) => {
  const c = parseSent(p);
  return c.payload.length > 0;
};

/** 5000 bytes from A to B whose last (short) segment is dropped once; resolves when B has them all. */
async function transferLosingTheTail(tcpA: Partial<TcpConfig>): Promise<{ net: Vnet; lastData: boolean }> {
  let lastData = false;
  const net = new Vnet({
    tcpA,
    dropA: (p) => {
      const c = parseSent(p);
      if (c.payload.length > 0 && c.payload.length < 1000 && !lastData) {
        lastData = true;
        return true;
      }
      return false;
    },
  });
  const recv: Buffer[] = [];
  net.b.tcp.createServer((s) => s.on('data', (d: Buffer) => recv.push(d))).listen(80);
  const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
  c.write(pattern(5000, 5));
  await net.until(() => Buffer.concat(recv).length === 5000, 10_000, 'transfer');
  return { net, lastData };
}

describe('TCP between two stacks', () => {
  it('simultaneous open: both sides SYN-SENT → SYN-RECEIVED → ESTABLISHED', async () => {
    const net = new Vnet();
    const a = net.a.tcp.connect({ host: B_ADDR, port: 6000, localPort: 5000 });
    const b = net.b.tcp.connect({ host: A_ADDR, port: 5000, localPort: 6000 });
    let ca = false;
    let cb = false;
    a.on('connect', () => (ca = true));
    b.on('connect', () => (cb = true));
    const got: Buffer[] = [];
    b.on('data', (d: Buffer) => got.push(d));
    await net.until(() => ca && cb, 10_000, 'simultaneous open');
    expect(a.tcpInfo()!.state).toBe('ESTAB');
    expect(b.tcpInfo()!.state).toBe('ESTAB');
    a.write('over the crossed SYNs');
    await net.until(() => Buffer.concat(got).toString() === 'over the crossed SYNs', 5000, 'data');
    net.close();
  });

  it('simultaneous close: FIN-WAIT-1 → CLOSING → TIME-WAIT on both sides', async () => {
    const net = new Vnet();
    let server: TcpSocket | undefined;
    net.b.tcp.createServer({ allowHalfOpen: true }, (s) => (server = s)).listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80, allowHalfOpen: true });
    await net.until(() => server !== undefined && !c.connecting, 5000, 'connect');
    c.resume();
    server!.resume();
    c.end();
    server!.end();
    await net.run(100);
    expect(net.a.tcp.socketTable().map((r) => r.state)).toEqual(['TIME-WAIT']);
    expect(net.b.tcp.socketTable().filter((r) => r.state !== 'LISTEN').map((r) => r.state)).toEqual(['TIME-WAIT']);
    await net.run(61_000);
    expect(net.a.tcp.socketTable()).toHaveLength(0);
    net.close();
  });

  it('half-close: after end() the client still reads what the server sends', async () => {
    const net = new Vnet();
    net.b.tcp
      .createServer({ allowHalfOpen: true }, (s) => {
        const parts: Buffer[] = [];
        s.on('data', (d: Buffer) => parts.push(d));
        s.on('end', () => {
          // The client's FIN arrived; answer long after it.
          const req = Buffer.concat(parts).toString();
          s.end(`you said ${req} `.repeat(2000));
        });
      })
      .listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80, allowHalfOpen: true });
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    let ended = false;
    c.on('end', () => (ended = true));
    c.end('ping');
    await net.until(() => ended, 10_000, 'answer');
    expect(Buffer.concat(got).toString()).toBe('you said ping '.repeat(2000));
    net.close();
  });

  it('SACK recovery: one lost segment in a window is repaired by fast retransmit without an RTO', async () => {
    let dataSeen = 0;
    const net = new Vnet({ dropA: (p) => isData(p) && ++dataSeen === 20 });
    const recv: Buffer[] = [];
    net.b.tcp.createServer((s) => s.on('data', (d: Buffer) => recv.push(d))).listen(80);
    const data = pattern(200_000, 3);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    c.end(data);
    await net.until(() => Buffer.concat(recv).length === data.length, 20_000, 'transfer');
    expect(Buffer.concat(recv).equals(data)).toBe(true);
    const x = net.a.stats.TcpExt;
    expect(x.TCPSACKRecovery).toBe(1);
    expect(x.TCPTimeouts).toBe(0);
    expect(net.a.stats.Tcp.RetransSegs).toBe(1);
    net.close();
  });

  it('SACK recovery: a lost retransmission is sent again once later data is SACKed, without an RTO (test first: it waited for the RTO)', async () => {
    // The 20th data segment is lost, and so is its first retransmission.
    let dataSeen = 0;
    let lostSeq = -1;
    let drops = 0;
    const net = new Vnet({
      dropA: (p) => {
        const c = parseSent(p);
        if (c.payload.length === 0) return false;
        if (++dataSeen === 20) lostSeq = c.tcp.seq;
        if (c.tcp.seq === lostSeq && drops < 2) {
          drops++;
          return true;
        }
        return false;
      },
    });
    const recv: Buffer[] = [];
    net.b.tcp.createServer((s) => s.on('data', (d: Buffer) => recv.push(d))).listen(80);
    const data = pattern(600_000, 7);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    c.end(data);
    await net.until(() => Buffer.concat(recv).length === data.length, 20_000, 'transfer');
    expect(Buffer.concat(recv).equals(data)).toBe(true);
    expect(drops).toBe(2);
    const x = net.a.stats.TcpExt;
    expect(x.TCPLostRetransmit).toBe(1);
    expect(x.TCPTimeouts).toBe(0);
    expect(net.a.stats.Tcp.RetransSegs).toBe(2);
    net.close();
  });

  it('NewReno without SACK: fast retransmit on three duplicate ACKs, partial ACKs repair a second loss', async () => {
    let dataSeen = 0;
    const net = new Vnet({ dropA: (p) => isData(p) && (++dataSeen === 20 || dataSeen === 24), tcpA: { sack: false } });
    const recv: Buffer[] = [];
    net.b.tcp.createServer((s) => s.on('data', (d: Buffer) => recv.push(d))).listen(80);
    const data = pattern(300_000, 4);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    c.end(data);
    await net.until(() => Buffer.concat(recv).length === data.length, 30_000, 'transfer');
    expect(Buffer.concat(recv).equals(data)).toBe(true);
    expect(net.a.stats.TcpExt.TCPFastRetrans).toBeGreaterThanOrEqual(1);
    expect(net.a.stats.TcpExt.TCPTimeouts).toBe(0);
    expect(net.a.stats.Tcp.RetransSegs).toBe(2);
    net.close();
  });

  it('tail loss is repaired by the RTO', async () => {
    const { net } = await transferLosingTheTail({});
    expect(net.a.stats.TcpExt.TCPTimeouts).toBe(1);
    net.close();
  });

  it('tail loss probe: a lost last segment is sent again after 2·SRTT, not after the RTO (tailLossProbe on, as in tunstack up)', async () => {
    const { net, lastData } = await transferLosingTheTail({ tailLossProbe: true });
    expect(lastData).toBe(true);
    expect(net.a.stats.TcpExt.TCPLossProbes).toBe(1);
    expect(net.a.stats.TcpExt.TCPTimeouts).toBe(0);
    net.close();
  });

  it('backpressure: write() returns false and drain follows; a reader that stops reading closes the window', async () => {
    const net = new Vnet({ tcpA: { wmem: 64 * 1024 }, tcpB: { rmem: 32 * 1024, rmemMax: 0 } }); // a fixed 32 KiB receive buffer
    let server: TcpSocket | undefined;
    net.b.tcp
      .createServer((s) => {
        server = s;
        s.pause();
      })
      .listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    await net.until(() => server !== undefined && !c.connecting, 5000, 'connect');
    const chunk = Buffer.alloc(16 * 1024, 1);
    let written = 0;
    let drained = true;
    c.on('drain', () => (drained = true));
    // Keep writing whenever 'drain' comes: the paused reader's buffers fill and 'drain' stops coming.
    for (let round = 0; round < 50 && drained; round++) {
      drained = false;
      while (c.write(chunk)) written += chunk.length;
      written += chunk.length;
      await net.run(2000);
    }
    expect(drained).toBe(false);
    await net.run(10_000);
    expect(drained).toBe(false);
    // Receiver full: zero window advertised, the sender probing it, memory bounded by the buffers.
    expect(server!.tcpInfo()!.rcvWnd).toBe(0);
    expect(server!.tcpInfo()!.recvQ).toBeLessThanOrEqual(32 * 1024);
    expect(net.a.stats.TcpExt.TCPWinProbe).toBeGreaterThan(0);
    expect(c.tcpInfo()!.sendQ).toBeLessThanOrEqual(64 * 1024);
    let got = 0;
    server!.on('data', (d: Buffer) => (got += d.length));
    server!.resume();
    await net.until(() => drained, 20_000, 'drain');
    c.end();
    await net.until(() => got === written, 20_000, 'all data');
    net.close();
  });

  it('accept queue full: the final ACK is dropped (ListenOverflows), the client retries and gets in once there is room', async () => {
    const net = new Vnet({ tcpB: { syncookies: 0 } });
    const server = net.b.tcp.createServer({ manualAccept: true });
    server.listen({ port: 80, backlog: 2 });
    const clients = [0, 1, 2, 3].map(() => net.a.tcp.connect({ host: B_ADDR, port: 80 }));
    await net.run(200);
    // SYN queue bounded by the backlog: two half-open entries, the other SYNs dropped (ListenDrops), retried after 1 s.
    expect(server.acceptQueueLength).toBe(2);
    expect(net.b.stats.TcpExt.ListenDrops).toBe(2);
    await net.run(1500);
    // Linux allows backlog + 1 in the accept queue; the fourth final ACK is dropped.
    expect(server.acceptQueueLength).toBe(3);
    expect(net.b.stats.TcpExt.ListenOverflows).toBeGreaterThanOrEqual(1);
    expect(clients.every((c) => !c.connecting)).toBe(true); // every client believes it is established
    for (let i = 0; i < 3; i++) expect(server.accept()).not.toBeNull();
    // The SYN-ACK retransmission brings the client's ACK back, and now there is room.
    await net.run(5000);
    expect(server.accept()).not.toBeNull();
    expect(net.b.tcp.socketTable().filter((r) => r.state === 'ESTAB')).toHaveLength(4);
    net.close();
  });

  it('SYN cookies (mode 2): a full connection through a cookie, options kept in TSval; forged cookies fail', async () => {
    const net = new Vnet({ tcpB: { syncookies: 2 } });
    const got: Buffer[] = [];
    net.b.tcp.createServer((s) => s.pipe(s)).listen(7);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 7 });
    c.on('data', (d: Buffer) => got.push(d));
    const data = pattern(300_000, 6);
    c.write(data);
    await net.until(() => Buffer.concat(got).length === data.length, 20_000, 'echo');
    expect(Buffer.concat(got).equals(data)).toBe(true);
    const x = net.b.stats.TcpExt;
    expect(x.SyncookiesSent).toBe(1);
    expect(x.SyncookiesRecv).toBe(1);
    const row = net.b.tcp.socketTable().find((r) => r.state === 'ESTAB')!;
    expect(row.wscale).toBe('10,10'); // window scaling survived the cookie (10: Linux's, from tcp_rmem[2] = 32 MiB)
    const info = c.tcpInfo()!;
    expect(info.sack && info.timestamps).toBe(true);
    net.close();
  });

  it('SYN queue bounded by the backlog; beyond it cookies answer (mode 1) and memory does not grow', async () => {
    const net = new Vnet();
    const server = net.b.tcp.createServer(() => {});
    server.listen({ port: 80, backlog: 8 });
    await net.settle();
    // A SYN flood from A's address with many source ports: SYNs only, no handshake completion.
    const { tcpPacket } = await import('../helpers/vnet.js');
    const pkts: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) pkts.push(tcpPacket({ src: A_ADDR, dst: B_ADDR, srcPort: 10000 + i, dstPort: 80, seq: i * 7777, flags: TCP_SYN, window: 512 }));
    net.linkA.send(pkts, pkts.length);
    net.linkB.deliver();
    expect(server.synQueueLength).toBe(8);
    expect(net.b.stats.TcpExt.SyncookiesSent).toBe(192);
    // A real client still gets in through a cookie.
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    let ok = false;
    c.on('connect', () => (ok = true));
    await net.until(() => ok && net.b.stats.TcpExt.SyncookiesRecv === 1, 5000, 'cookie connection');
    // Half-open entries expire after the SYN-ACK retries (1+2+4+8+16+32 s).
    await net.run(70_000);
    expect(server.synQueueLength).toBe(0);
    net.close();
  });

  it('listen on a busy port: EADDRINUSE; server.close() waits for its connections', async () => {
    const net = new Vnet();
    const s1 = net.b.tcp.createServer(() => {});
    s1.listen(80);
    const s2 = net.b.tcp.createServer(() => {});
    let err: (Error & { code?: string }) | undefined;
    s2.on('error', (e) => (err = e));
    s2.listen(80);
    await net.run(1);
    expect(err?.code).toBe('EADDRINUSE');
    expect(s1.address()).toEqual({ address: '::', family: 'IPv6', port: 80 }); // Node's default: `::`, dual-stack
    let closed = false;
    let conn: TcpSocket | undefined;
    s1.on('connection', (s) => (conn = s));
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    await net.until(() => conn !== undefined, 5000, 'connection');
    s1.close(() => (closed = true));
    await net.run(10);
    expect(closed).toBe(false);
    c.end();
    conn!.resume();
    await net.until(() => closed, 5000, 'server close');
    net.close();
  });

  it('keepalive probes an idle peer and gives up with ETIMEDOUT when it vanishes', async () => {
    let cut = false;
    const net = new Vnet({ dropB: () => cut, tcpA: { keepaliveProbes: 3, keepaliveIntervalMs: 1000 } });
    net.b.tcp.createServer((s) => s.on('error', () => {})).listen(80); // the RST when A gives up reaches B
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80, keepAlive: true, keepAliveInitialDelay: 10_000 });
    let err: (Error & { code?: string }) | undefined;
    c.on('error', (e) => (err = e));
    await net.run(30_000);
    expect(net.a.stats.TcpExt.TCPKeepAlive).toBeGreaterThan(0); // answered probes keep it alive
    expect(err).toBeUndefined();
    cut = true;
    await net.until(() => err !== undefined, 60_000, 'keepalive abort');
    expect(err!.code).toBe('ETIMEDOUT');
    net.close();
  });

  it('setTimeout emits timeout after idleness on the virtual clock', async () => {
    const net = new Vnet();
    net.b.tcp.createServer(() => {}).listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    let fired = 0;
    c.setTimeout(5000, () => fired++);
    await net.run(4000);
    expect(fired).toBe(0);
    await net.run(1500);
    expect(fired).toBe(1);
    net.close();
  });

  it('ICMP: fragmentation-needed quoting an outstanding segment lowers the MSS; a forged one is ignored', async () => {
    const net = new Vnet();
    let server: TcpSocket | undefined;
    net.b.tcp.createServer((s) => (server = s)).listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    await net.until(() => server !== undefined && !c.connecting, 5000, 'connect');
    const conn = c.connection!;
    const before = c.tcpInfo()!.mss;
    const { emitIcmp } = await import('../../src/wire/icmp.js');
    const { ipPacket } = await import('../helpers/packets.js');
    const { tcpPacket } = await import('../helpers/vnet.js');
    const icmpAbout = (seq: number, mtu: number) => {
      const quoted = tcpPacket({ src: A_ADDR, dst: B_ADDR, srcPort: conn.localPort, dstPort: 80, seq, flags: 0x18, payload: new Uint8Array(8) }).subarray(0, 28);
      const icmp = new Uint8Array(8 + quoted.length);
      icmp.set(quoted, 8);
      emitIcmp(icmp, 0, icmp.length, 3, 4, mtu & 0xffff);
      return ipPacket(icmp, { src: B_ADDR, dst: A_ADDR, protocol: 1 });
    };
    net.linkB.send([icmpAbout(conn.sndUna + 1_000_000, 1000)], 1);
    await net.settle();
    expect(net.a.stats.TcpExt.IcmpForgedDrops).toBe(1);
    expect(c.tcpInfo()!.mss).toBe(before);
    net.linkB.send([icmpAbout(conn.sndUna, 1000)], 1);
    await net.settle();
    expect(c.tcpInfo()!.mss).toBe(1000 - 40 - 12);
    net.close();
  });

  it("node:http accepts these sockets through server.emit('connection') and answers 200", async () => {
    const net = new Vnet();
    const hs = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello ${req.url}`);
    });
    net.b.tcp.createServer((s) => hs.emit('connection', s)).listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    c.write('GET /tunstack HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    let ended = false;
    c.on('end', () => (ended = true));
    await net.until(() => ended, 10_000, 'response');
    const text = Buffer.concat(got).toString();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toContain('hello /tunstack');
    hs.close();
    net.close();
  });

  it('FIN handling: a FIN that arrives before missing data waits for the gap', async () => {
    let n = 0;
    const net = new Vnet({ dropA: (p) => isData(p) && ++n === 1 });
    const recv: Buffer[] = [];
    let ended = false;
    net.b.tcp
      .createServer((s) => {
        s.on('data', (d: Buffer) => recv.push(d));
        s.on('end', () => (ended = true));
      })
      .listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    c.setNoDelay(true);
    c.write('first');
    c.end('second');
    await net.until(() => ended, 10_000, 'end');
    expect(Buffer.concat(recv).toString()).toBe('firstsecond');
    void TCP_FIN;
    net.close();
  });
});
