import { describe, it, expect } from 'vitest';
import { RttEstimator, probeTimeout } from '../../src/tcp/rtt.js';
import { NewReno, Cubic } from '../../src/tcp/congestion.js';

describe('RTO (RFC 6298)', () => {
  it('starts at 1 s, takes the first sample as SRTT with RTTVAR = R/2', () => {
    const r = new RttEstimator(1000, 200, 120_000);
    expect(r.rto).toBe(1000);
    r.sample(100);
    expect(r.srtt).toBe(100);
    expect(r.rttvar).toBe(50);
    expect(r.rto).toBe(300); // 100 + max(4·50, 200)
  });
  it('smooths with alpha 1/8 and beta 1/4', () => {
    const r = new RttEstimator(1000, 200, 120_000);
    r.sample(100);
    r.sample(200);
    expect(r.rttvar).toBeCloseTo(0.75 * 50 + 0.25 * 100);
    expect(r.srtt).toBeCloseTo(0.875 * 100 + 0.125 * 200);
  });
  it('never goes below the 200 ms floor and backs off exponentially to the 120 s cap', () => {
    const r = new RttEstimator(1000, 200, 120_000);
    r.sample(1);
    expect(r.rto).toBeCloseTo(201);
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      r.backOff();
      seen.push(Math.round(r.rto));
    }
    expect(seen.slice(0, 3)).toEqual([402, 804, 1608]);
    expect(seen[seen.length - 1]).toBe(120_000);
    r.sample(1);
    expect(r.backoff).toBe(0);
    expect(r.rto).toBeLessThan(300);
  });
  it('falls back to 3 s when the SYN was retransmitted (RFC 6298 §5.7)', () => {
    const r = new RttEstimator(1000, 200, 120_000);
    r.fallBackAfterSynLoss();
    expect(r.rto).toBe(3000);
  });
});

describe('tail loss probe timeout (RFC 8985 §7.2, as Linux tcp_schedule_loss_probe)', () => {
  // Measured with packetdrill on this machine's kernel (HZ=250): SRTT ≈ 1 ms, ten segments in flight, the probe
  // went 10.8 ms after the burst — 2·SRTT rounded up to a 4 ms tick, plus TCP_TIMEOUT_MIN (2 ticks).
  it('2·SRTT rounded up to whole timer ticks, plus two ticks (TCP_TIMEOUT_MIN)', () => {
    expect(probeTimeout(1, false, { minRto: 200, tickMs: 4 }, 1000)).toBe(12);
    expect(probeTimeout(0.05, false, { minRto: 200, tickMs: 4 }, 1000)).toBe(12);
    expect(probeTimeout(2, false, { minRto: 200, tickMs: 4 }, 1000)).toBe(12);
    expect(probeTimeout(2.1, false, { minRto: 200, tickMs: 4 }, 1000)).toBe(16);
    expect(probeTimeout(0.05, false, { minRto: 200, tickMs: 1 }, 1000)).toBe(3); // HZ=1000
  });
  it('room for a delayed ACK when one segment is in flight (TCP_RTO_MIN), never later than the RTO', () => {
    expect(probeTimeout(1, true, { minRto: 200, tickMs: 4 }, 1000)).toBe(204);
    expect(probeTimeout(1, true, { minRto: 200, tickMs: 4 }, 150)).toBe(150);
    expect(probeTimeout(30, false, { minRto: 200, tickMs: 4 }, 50)).toBe(50);
  });
});

describe('congestion control', () => {
  it('NewReno: slow start doubles per RTT, avoidance adds one MSS per window, loss halves cwnd as Linux reno', () => {
    const cc = new NewReno();
    const s = { cwnd: 10 * 1000, ssthresh: 0x7fffffff, smss: 1000 };
    cc.onAck(s, 10_000, 0, 10);
    expect(s.cwnd).toBe(20_000);
    s.ssthresh = 20_000;
    for (let i = 0; i < 20; i++) cc.onAck(s, 1000, 0, 10);
    expect(s.cwnd).toBe(21_000);
    // Linux tcp_reno_ssthresh: half of cwnd in whole segments (21 → 10), whatever is in flight; at least two.
    expect(cc.ssthreshOnLoss(s, 21_000, 0)).toBe(10_000);
    expect(cc.ssthreshOnLoss(s, 1000, 0)).toBe(10_000);
    expect(cc.ssthreshOnLoss({ ...s, cwnd: 3000 }, 3000, 0)).toBe(2000);
  });
  it('CUBIC: reduces to 0.7·cwnd and regrows towards W_max', () => {
    const cc = new Cubic();
    const s = { cwnd: 100 * 1000, ssthresh: 50_000, smss: 1000 };
    s.ssthresh = cc.ssthreshOnLoss(s, s.cwnd, 0);
    expect(s.ssthresh).toBe(70_000);
    s.cwnd = s.ssthresh;
    let t = 0;
    for (let i = 0; i < 2000; i++) {
      t += 10;
      cc.onAck(s, 1000, t, 10);
    }
    expect(s.cwnd).toBeGreaterThan(90_000);
  });
});
