import { describe, it, expect } from 'vitest';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

/** A connected pair whose client→server packets can be cut off. */
async function pair(): Promise<{ net: Vnet; c: TcpSocket; server: () => TcpSocket | undefined; cut: { on: boolean }; errors: Error[] }> {
  const cut = { on: false };
  const net = new Vnet({ dropA: () => cut.on });
  let serverSock: TcpSocket | undefined;
  net.b.tcp.createServer((s) => {
    serverSock = s;
    s.on('error', () => {});
  }).listen(80);
  const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
  const errors: Error[] = [];
  c.on('error', (e) => errors.push(e));
  let up = false;
  c.on('connect', () => (up = true));
  await net.until(() => up && serverSock !== undefined, 5000, 'connect');
  return { net, c, server: () => serverSock, cut, errors };
}

describe('TCP_USER_TIMEOUT (RFC 5482) on TcpSocket', () => {
  it('rejects a negative or fractional value with EINVAL, as setsockopt does', async () => {
    const { net, c } = await pair();
    expect(() => c.setUserTimeout(-1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => c.setUserTimeout(1.5)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(c.userTimeout).toBe(0);
    c.setUserTimeout(3000);
    expect(c.userTimeout).toBe(3000);
    net.close();
  });

  it('ends a connection whose data goes unacknowledged for the user timeout, at that time (RTO clamped), with ETIMEDOUT', async () => {
    const { net, c, cut, errors } = await pair();
    c.setUserTimeout(3000);
    cut.on = true;
    const t0 = net.clock.now();
    c.write(Buffer.alloc(100));
    await net.until(() => errors.length > 0, 60_000, 'user timeout');
    const elapsed = net.clock.now() - t0;
    expect((errors[0] as Error & { code?: string }).code).toBe('ETIMEDOUT');
    // Linux tcp_clamp_rto_to_user_timeout: the last RTO is cut short so that the timeout is exact.
    expect(elapsed).toBeGreaterThanOrEqual(3000);
    expect(elapsed).toBeLessThan(3010);
    expect(net.a.stats.TcpExt.TCPAbortOnTimeout).toBe(1);
    net.close();
  });

  it('without a user timeout the same silence is survived far longer (retries2 decides)', async () => {
    const { net, c, cut, errors } = await pair();
    cut.on = true;
    c.write(Buffer.alloc(100));
    await net.run(30_000);
    expect(errors).toEqual([]);
    expect(c.destroyed).toBe(false);
    net.close();
  });

  it('an ACK restarts the clock: the user timeout counts from the oldest unacknowledged data', async () => {
    const { net, c, cut, errors } = await pair();
    c.setUserTimeout(2000);
    cut.on = true;
    c.write(Buffer.alloc(100));
    await net.run(1000); // RTOs at 0.2, 0.6 and 1.4 s: the third gets through and is acknowledged
    cut.on = false;
    await net.run(2000);
    expect(errors).toEqual([]);
    cut.on = true;
    const t1 = net.clock.now();
    c.write(Buffer.alloc(100));
    await net.until(() => errors.length > 0, 60_000, 'user timeout');
    expect(net.clock.now() - t1).toBeGreaterThanOrEqual(2000);
    expect(net.clock.now() - t1).toBeLessThan(2010);
    net.close();
  });

  it('limits zero-window probing: probes unanswered for the user timeout end the connection (Linux tcp_probe_timer)', async () => {
    const cut = { on: false };
    const net = new Vnet({ dropB: () => cut.on, tcpB: { rmem: 4096, rmemMax: 0 } });
    let serverSock: TcpSocket | undefined;
    net.b.tcp.createServer((s) => {
      serverSock = s;
      s.pause(); // never reads: the window closes
      s.on('error', () => {});
    }).listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    c.write(Buffer.alloc(64 * 1024));
    await net.until(() => serverSock !== undefined, 5000, 'accept');
    await net.until(() => (c.tcpInfo()?.sndWnd ?? 1) === 0, 30_000, 'zero window');
    c.setUserTimeout(5000);
    cut.on = true; // the probes go unanswered from now on
    const t0 = net.clock.now();
    await net.until(() => errors.length > 0, 600_000, 'probe user timeout');
    expect((errors[0] as Error & { code?: string }).code).toBe('ETIMEDOUT');
    // The clock starts at the first unanswered probe timeout, so it ends within one probe interval after 5 s.
    expect(net.clock.now() - t0).toBeGreaterThanOrEqual(5000);
    expect(net.clock.now() - t0).toBeLessThan(5000 + 2 * 60_000);
    net.close();
  });
});

describe('TCP_USER_TIMEOUT and keepalive (Linux tcp_keepalive_timer)', () => {
  async function keepalivePair(userTimeout: number): Promise<{ elapsed: number; code: string | undefined }> {
    const cut = { on: false };
    const net = new Vnet({ dropA: () => cut.on, tcpA: { keepaliveIntervalMs: 1000, keepaliveProbes: 9 } });
    net.b.tcp.createServer((s) => s.on('error', () => {})).listen(80);
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    const errors: (Error & { code?: string })[] = [];
    c.on('error', (e) => errors.push(e));
    let up = false;
    c.on('connect', () => (up = true));
    await net.until(() => up, 5000, 'connect');
    c.setKeepAlive(true, 1000);
    if (userTimeout > 0) c.setUserTimeout(userTimeout);
    cut.on = true;
    const t0 = net.clock.now();
    await net.until(() => errors.length > 0, 60_000, 'keepalive death');
    const r = { elapsed: net.clock.now() - t0, code: errors[0]!.code };
    net.close();
    return r;
  }

  it('unanswered probes end the connection once the silence lasted the user timeout, not after keepProbes', async () => {
    const withTimeout = await keepalivePair(2500);
    expect(withTimeout.code).toBe('ETIMEDOUT');
    // Probes at 1, 2, 3 s; at 3 s the silence is over 2.5 s with probes out.
    expect(withTimeout.elapsed).toBeGreaterThanOrEqual(2500);
    expect(withTimeout.elapsed).toBeLessThanOrEqual(3100);
    const without = await keepalivePair(0);
    expect(without.code).toBe('ETIMEDOUT');
    expect(without.elapsed).toBeGreaterThanOrEqual(9000);
  });
});
