/**
 * Send and receive buffer autotuning (Linux tcp_moderate_rcvbuf / tcp_sndbuf_expand) on a long path: 100 ms
 * round trip (25 ms of delay each way on each side), a queue long enough not to drop, virtual time. With fixed
 * 1 MiB buffers the transfer is held to one buffer per round trip (~10 MB/s);
 * with autotuning both buffers grow toward their ceilings and the window follows.
 */
import { describe, it, expect } from 'vitest';
import { Vnet } from '../helpers/vnet.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import { liveTcpConfig, receiveBufferCeiling, windowScaleFor } from '../../src/tcp/config.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

const BYTES = 24 * 1024 * 1024;

/** Sends BYTES from A to a discard server on B; returns the virtual ms taken and both ends' buffer sizes at the end. */
async function upload(tcp: Partial<TcpConfig>): Promise<{ ms: number; received: number; rcvBuf: number; sndBuf: number; wscale: string }> {
  const net = new Vnet({ tcpA: tcp, tcpB: tcp, impairA: 'delay=25ms,limit=20000', impairB: 'delay=25ms,limit=20000' });
  let received = 0;
  let ended = false;
  let rcvBuf = 0;
  let sndBuf = 0;
  let wscale = '';
  net.b.tcp
    .createServer((s: TcpSocket) => {
      s.on('data', (b: Buffer) => (received += b.length));
      s.on('end', () => {
        ended = true;
        s.end();
      });
    })
    .listen(9);
  const c = net.a.tcp.connect({ host: '10.0.0.2', port: 9 });
  await net.until(() => !c.connecting, 10_000, 'connect');
  const t0 = net.clock.now();
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  const pump = (): void => {
    while (sent < BYTES) {
      sent += chunk.length;
      if (!c.write(chunk)) return;
    }
    // the buffer sizes while the connection is still open
    sndBuf = net.a.tcp.socketTable().find((r) => r.peer.endsWith(':9'))?.sndBuf ?? 0;
    c.end();
  };
  c.on('drain', pump);
  pump();
  await net.until(() => {
    const row = net.b.tcp.socketTable().find((r) => r.local.endsWith(':9') && r.state !== 'LISTEN');
    if (row && row.rcvBuf > rcvBuf) rcvBuf = row.rcvBuf;
    if (row) wscale = row.wscale;
    return ended;
  }, 600_000, 'all data');
  const ms = net.clock.now() - t0;
  net.close();
  return { ms, received, rcvBuf, sndBuf, wscale };
}

describe('buffer autotuning', () => {
  it('grows both buffers on a 100 ms path and the transfer is no longer one buffer per round trip', async () => {
    const fixed = await upload({ rmem: 1 << 20, rmemMax: 0 });
    const tuned = await upload({ rmemMax: 6 * 1024 * 1024, wmemMax: 4 * 1024 * 1024 });
    expect(fixed.received).toBe(BYTES);
    expect(tuned.received).toBe(BYTES);
    expect(fixed.rcvBuf).toBe(1 << 20);
    expect(tuned.rcvBuf).toBeGreaterThan(2 << 20);
    expect(tuned.rcvBuf).toBeLessThanOrEqual(6 * 1024 * 1024);
    expect(tuned.sndBuf).toBeGreaterThan(2 << 20);
    expect(tuned.sndBuf).toBeLessThanOrEqual(4 * 1024 * 1024);
    // 1 MiB per 100 ms round trip is ~10 MB/s: 24 MiB in about 2.5 s; autotuning should at least halve that
    expect(fixed.ms).toBeGreaterThan(2400);
    expect(tuned.ms).toBeLessThan(fixed.ms / 2);
    // the window scale is sized for the ceiling (Linux: tcp_rmem[2] 6 MiB gives 7)
    expect(tuned.wscale.split(',')[1]).toBe('7');
    expect(fixed.wscale.split(',')[1]).toBe(String(windowScaleFor(1 << 20)));
  });

  it('the live configuration turns it on with Linux’s ceilings', () => {
    expect(liveTcpConfig.rmemMax).toBe(6 * 1024 * 1024);
    expect(liveTcpConfig.wmemMax).toBe(4 * 1024 * 1024);
    expect(receiveBufferCeiling({ rmem: 1 << 20, rmemMax: 0 })).toBe(1 << 20);
    expect(windowScaleFor(receiveBufferCeiling({ rmem: 1 << 20, rmemMax: 6 * 1024 * 1024 }))).toBe(7);
  });
});
