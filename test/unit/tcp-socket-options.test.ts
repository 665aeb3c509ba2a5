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
