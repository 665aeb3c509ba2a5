/**
 * When an unanswered connect gives up (Linux tcp_write_timeout in SYN-SENT): after syn_retries +
 * tcp_syn_linear_timeouts retransmissions, or once the time since the first SYN reaches tcp_model_timeout
 * (syn_retries doublings of the initial RTO), whichever comes first.
 */
import { describe, it, expect } from 'vitest';
import { RawHarness } from '../helpers/vnet.js';
import { modelTimeout } from '../../src/tcp/timers.js';
import type { TcpConfig } from '../../src/tcp/config.js';

async function synTimes(cfg: Partial<TcpConfig>): Promise<{ at: number[]; failedAt: number; code: string | undefined }> {
  const h = new RawHarness(cfg);
  const s = h.stack.tcp.connect({ host: '10.77.0.1', port: 80 });
  let err: (Error & { code?: string }) | undefined;
  let failedAt = -1;
  s.on('error', (e) => {
    err = e;
    failedAt = Math.round(h.clock.now() - t0);
  });
  await h.settle();
  h.take();
  const t0 = h.clock.now();
  const at: number[] = [];
  for (let k = 0; k < 3000 && !err; k++) {
    await h.advance(100);
    for (const _ of h.take()) at.push(Math.round(h.clock.now() - t0));
  }
  return { at, failedAt, code: err?.code };
}

describe('SYN-SENT timeout (Linux tcp_write_timeout)', () => {
  it('tcp_model_timeout: (2^(n+1) − 1) × base up to TCP_RTO_MAX, linear after', () => {
    expect(modelTimeout(1, 1000)).toBe(3000);
    expect(modelTimeout(6, 1000)).toBe(127_000);
    expect(modelTimeout(8, 1000)).toBe(127_000 + 2 * 120_000);
  });

  it('TCP_SYNCNT 1 with linear timeouts: SYNs at 0, 1 and 2 s, ETIMEDOUT at 3 s (the model time, not the second SYN)', async () => {
    const r = await synTimes({ synRetries: 1, synLinearTimeouts: 4 });
    expect(r.at).toEqual([1000, 2000]);
    expect(r.code).toBe('ETIMEDOUT');
    expect(r.failedAt).toBe(3000);
  });

  it('defaults (6 retries, 4 linear): retransmissions at 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s; ETIMEDOUT at 131 s', async () => {
    const r = await synTimes({});
    expect(r.at).toEqual([1000, 2000, 3000, 4000, 5000, 7000, 11000, 19000, 35000, 67000]);
    expect(r.code).toBe('ETIMEDOUT');
    expect(r.failedAt).toBe(131_000);
  });
});
