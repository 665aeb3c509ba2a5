import { describe, it, expect } from 'vitest';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

describe('TCP_MAXSEG on a listening TcpServer (setMaxSegment)', () => {
  it('set after listen(), lowers the MSS of the SYN-ACK and of the accepted connection', async () => {
    const net = new Vnet();
    let child: TcpSocket | undefined;
    const server = net.b.tcp.createServer((s) => (child = s)).listen(80);
    await net.run(1);
    server.setMaxSegment(1100);
    expect(server.maxSegment).toBe(1100);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    await net.until(() => child !== undefined, 5000, 'accept');
    expect(c.tcpInfo()?.peerMss).toBe(1100);
    expect(child!.tcpInfo()?.advMss).toBe(1100);
    expect(child!.tcpInfo()?.mss).toBeLessThanOrEqual(1100);
    net.close();
  });

  it('answers out-of-range values with EINVAL (Linux: 88..32767, 0 clears)', () => {
    const net = new Vnet();
    const server = net.b.tcp.createServer();
    expect(() => server.setMaxSegment(87)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => server.setMaxSegment(32768)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    server.setMaxSegment(0);
    expect(server.maxSegment).toBe(0);
    net.close();
  });
});

describe('TCP_INQ on TcpSocket (bytesReadable, inq())', () => {
  it('counts the bytes waiting, then one more once the FIN arrived (Linux tcp_inq_hint)', async () => {
    const net = new Vnet();
    let child: TcpSocket | undefined;
    net.b.tcp.createServer((s) => (child = s)).listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    c.pause();
    await net.until(() => child !== undefined, 5000, 'accept');
    expect(c.inq()).toBe(0);
    child!.write(Buffer.alloc(10_000));
    await net.until(() => c.bytesReadable === 10_000, 5000, 'data');
    expect(c.inq()).toBe(10_000);
    expect((c.read(1000) as Buffer).length).toBe(1000);
    expect(c.bytesReadable).toBe(9000);
    expect(c.inq()).toBe(9000);
    expect((c.read(9000) as Buffer).length).toBe(9000);
    expect(c.inq()).toBe(0);
    child!.end(Buffer.alloc(500));
    await net.until(() => c.bytesReadable === 500 && c.connection?.finReceived === true, 5000, 'data and FIN');
    expect(c.inq()).toBe(501);
    expect((c.read(500) as Buffer).length).toBe(500);
    // All data read, the FIN not yet: "read again" — the next read returns EOF.
    expect(c.inq()).toBe(1);
    net.close();
  });
});

describe("TcpSocket 'wakeup' (Linux sk_data_ready / sk_write_space / sk_state_change)", () => {
  it('wakes readers on data, everyone on the FIN, writers only after a write found the buffer full', async () => {
    const net = new Vnet({ tcpA: { wmem: 8192, wmemMax: 0 } });
    let child: TcpSocket | undefined;
    net.b.tcp.createServer((s) => (child = s)).listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    const wakes: string[] = [];
    c.on('wakeup', (k: string) => wakes.push(k));
    c.pause();
    await net.until(() => child !== undefined, 5000, 'accept');
    expect(wakes).toEqual(['state']); // connected
    wakes.length = 0;
    c.write(Buffer.alloc(100));
    await net.run(1000);
    expect(wakes).toEqual([]); // space freed by the ACK, but no writer was waiting
    child!.write(Buffer.alloc(10));
    await net.run(10);
    expect(wakes).toEqual(['readable']);
    wakes.length = 0;
    child!.pause();
    c.write(Buffer.alloc(64 * 1024)); // more than the 8 KiB send buffer: the write waits for space
    await net.run(1000);
    expect(wakes).toContain('writable');
    wakes.length = 0;
    child!.end();
    await net.run(10);
    expect(wakes).toContain('state');
    net.close();
  });
});

describe('TcpSocket.getInfo(): struct tcp_info under Linux names and units', () => {
  it('reports state, options, MSS, cwnd in segments, RTO in µs, and the counters; retransmissions show as Loss', async () => {
    const cut = { on: false };
    const net = new Vnet({ dropA: () => cut.on });
    let child: TcpSocket | undefined;
    net.b.tcp.createServer((s) => (child = s)).listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    await net.until(() => child !== undefined, 5000, 'accept');
    const i0 = c.getInfo()!;
    expect(i0.tcpi_state).toBe(1); // TCP_ESTABLISHED
    expect(i0.tcpi_ca_state).toBe(0);
    expect(i0.tcpi_options).toBe(1 | 2 | 4); // timestamps, SACK, window scaling
    expect(i0.tcpi_advmss).toBe(1460);
    expect(i0.tcpi_snd_mss).toBe(1448); // 1460 less the timestamp option
    expect(i0.tcpi_snd_cwnd).toBe(10);
    expect(i0.tcpi_snd_ssthresh).toBe(0x7fffffff);
    expect(i0.tcpi_rto).toBeGreaterThanOrEqual(200_000);
    expect(i0.tcpi_total_retrans).toBe(0);
    c.write(Buffer.alloc(3000));
    await net.run(500);
    const i1 = c.getInfo()!;
    expect(i1.tcpi_bytes_acked).toBe(3000);
    expect(i1.tcpi_bytes_sent).toBe(3000);
    expect(i1.tcpi_notsent_bytes).toBe(0);
    expect(child!.getInfo()!.tcpi_bytes_received).toBe(3000);
    cut.on = true;
    c.write(Buffer.alloc(100));
    await net.run(1000);
    const i2 = c.getInfo()!;
    expect(i2.tcpi_ca_state).toBe(4); // TCP_CA_Loss
    expect(i2.tcpi_retransmits).toBeGreaterThan(0);
    expect(i2.tcpi_backoff).toBe(i2.tcpi_retransmits);
    expect(i2.tcpi_total_retrans).toBeGreaterThan(0);
    expect(i2.tcpi_snd_cwnd).toBe(1);
    c.destroy();
    expect(c.getInfo()).toBeNull();
    net.close();
  });
});
