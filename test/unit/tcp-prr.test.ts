import { describe, expect, it } from 'vitest';
import { prrSendCount } from '../../src/tcp/prr.js';

// RFC 6937 §3 and Linux tcp_cwnd_reduction, in segments.
describe('PRR send count (RFC 6937 §3, Linux tcp_cwnd_reduction)', () => {
  it('the fast retransmit goes out on entering recovery even when the pipe is above ssthresh', () => {
    // prior cwnd 20, ssthresh 10, 19 in flight, one segment SACKed: CEIL(1*10/20) - 0 = 1.
    expect(prrSendCount(10, 20, 1, 0, 19, 1, false, false)).toBe(1);
  });

  it('proportional part: half of what is delivered leaves when ssthresh is half of prior cwnd (RFC 6937 §3 example)', () => {
    // 20 segments, 1 lost, ssthresh 10: after k delivered, CEIL(k/2) - prr_out may have been sent.
    let out = 1; // the fast retransmit
    const sent: number[] = [];
    for (let delivered = 2; delivered <= 19; delivered++) {
      const n = prrSendCount(10, 20, delivered, out, 18, 1, false, false);
      sent.push(n);
      out += n;
    }
    // One segment every other ACK: 9 more in 18 ACKs, 10 in all = ssthresh.
    expect(sent).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(out).toBe(10);
  });

  it('the proportional part rounds up (CEIL)', () => {
    // ssthresh 7 of prior 10: 3 delivered allow CEIL(2.1) = 3.
    expect(prrSendCount(7, 10, 3, 0, 9, 3, false, false)).toBe(3);
  });

  it('slow-start reduction bound: below ssthresh, what was delivered plus one when SND.UNA advanced without new loss', () => {
    // ssthresh 7, 1 in flight: delivered 3, out 1 -> max(2, 2) + 1 = 3.
    expect(prrSendCount(7, 10, 3, 1, 1, 2, true, false)).toBe(3);
    // A new loss withholds the extra segment.
    expect(prrSendCount(7, 10, 3, 1, 1, 2, true, true)).toBe(2);
    // A duplicate ACK (SND.UNA still) gets no extra segment.
    expect(prrSendCount(7, 10, 3, 1, 1, 2, false, false)).toBe(2);
  });

  it('never beyond ssthresh: the bound is ssthresh minus the pipe', () => {
    expect(prrSendCount(7, 10, 9, 0, 5, 9, true, false)).toBe(2);
  });

  it('at least this ACK\'s delivered segments while below ssthresh, even when prr_out ran ahead', () => {
    expect(prrSendCount(7, 10, 4, 6, 2, 2, false, false)).toBe(2);
  });
});
