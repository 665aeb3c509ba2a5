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
