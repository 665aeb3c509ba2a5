/**
 * Round-trip time estimation and the retransmission timeout (RFC 6298).
 * SRTT/RTTVAR as in §2 (alpha 1/8, beta 1/4); RTO = SRTT + max(4·RTTVAR, minRto),
 * which is how Linux applies its 200 ms floor (tcp_set_rto: srtt + rttvar with
 * rttvar never below TCP_RTO_MIN), clamped to maxRto. Back-off doubles the RTO
 * (§5.5) up to maxRto; a new sample after the back-off resets it (Karn: only
 * samples from segments never retransmitted, or from timestamps, count).
 */
import { DOUBLE_ZERO } from '../shape.js';
export class RttEstimator {
  /** Smoothed RTT in ms; 0 before the first sample. */
  srtt = DOUBLE_ZERO;
  rttvar = DOUBLE_ZERO;
  /** Current RTO in ms (backed off). */
  rto: number;
  /** RTO without back-off. */
  baseRto: number;
  /** Consecutive back-offs. */
  backoff = 0;
  /** Whether a sample has been taken. */
  hasSample = false;
  /** Most recent sample (ms). */
  latest = DOUBLE_ZERO;
  /** Smallest sample seen (ms). */
  minRtt = Infinity;

  constructor(
    initialRto: number,
    private readonly minRto: number,
    private readonly maxRto: number,
  ) {
    this.rto = initialRto;
    this.baseRto = initialRto;
  }

  /** Feeds one RTT measurement (ms). */
  sample(r: number): void {
    if (!(r >= 0)) return;
    this.latest = r;
    if (r < this.minRtt) this.minRtt = r;
    if (!this.hasSample) {
      // §2.2: first measurement.
      this.srtt = r;
      this.rttvar = r / 2;
      this.hasSample = true;
    } else {
      // §2.3: RTTVAR before SRTT.
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.baseRto = Math.min(this.maxRto, this.srtt + Math.max(4 * this.rttvar, this.minRto));
    this.backoff = 0;
    this.rto = this.baseRto;
  }

  /** §5.5: doubles the RTO after a timeout. */
  backOff(): void {
    this.backoff++;
    this.rto = Math.min(this.maxRto, this.rto * 2);
  }

  /** Forgets the back-off (an ACK for new data arrived). */
  resetBackoff(): void {
    this.backoff = 0;
    this.rto = this.baseRto;
  }

  /** RFC 6298 §5.7: the SYN was retransmitted and no sample was taken: data starts with a 3 s RTO. */
  fallBackAfterSynLoss(): void {
    if (!this.hasSample) {
      this.baseRto = Math.max(this.baseRto, 3000);
      this.rto = this.baseRto;
      this.backoff = 0;
    }
  }
}

/**
 * The tail loss probe timeout (RFC 8985 §7.2) as Linux computes it (tcp_schedule_loss_probe): PTO = 2·SRTT,
 * plus room for a delayed ACK when one segment is in flight (TCP_RTO_MIN), else TCP_TIMEOUT_MIN — and Linux
 * counts in timer ticks (jiffies): 2·SRTT is rounded up to a whole tick and TCP_TIMEOUT_MIN is two ticks. On a
 * short path the ticks dominate: with HZ=250 (Debian's kernels) a probe never goes sooner than 12 ms, where a
 * millisecond clock would send it after 2 ms — before the peer's ACK for a large burst is even read. Never
 * later than the RTO.
 */
export function probeTimeout(srtt: number, oneSegmentInFlight: boolean, cfg: { readonly minRto: number; readonly tickMs: number }, rto: number): number {
  const tick = cfg.tickMs;
  const twoSrtt = tick > 0 ? Math.ceil((2 * srtt) / tick) * tick : 2 * srtt;
  const pto = twoSrtt + (oneSegmentInFlight ? cfg.minRto : 2 * Math.max(tick, 1));
  return Math.min(pto, rto);
}
