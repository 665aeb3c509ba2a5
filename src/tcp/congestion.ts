/**
 * Congestion control: a small interface the connection calls, NewReno
 * (RFC 5681 + RFC 6582 window arithmetic) and CUBIC (RFC 9438). Windows are
 * in bytes; the connection owns cwnd/ssthresh and the recovery state machine
 * (fast retransmit, fast recovery, RTO), the controller decides growth and
 * the reduction on loss.
 */
import type { CongestionControlName } from './config.js';
import { DOUBLE_ZERO } from '../shape.js';

export interface CongestionState {
  cwnd: number;
  ssthresh: number;
  smss: number;
}

export interface CongestionController {
  readonly name: CongestionControlName;
  /** New data acknowledged outside recovery: grow cwnd (slow start or congestion avoidance). */
  onAck(s: CongestionState, acked: number, now: number, rttMs: number): void;
  /** Loss detected (fast retransmit or RTO): the new ssthresh. `flight` = bytes outstanding. */
  ssthreshOnLoss(s: CongestionState, flight: number, now: number): number;
  /** An RTO fired (after ssthreshOnLoss): forget epoch state. */
  onTimeout(s: CongestionState): void;
  /** Leaving fast recovery. */
  onRecoveryEnd(s: CongestionState, now: number): void;
}

/** RFC 5681 §3.1 slow start (cwnd += acked, as Linux counts it, capped at ssthresh) and congestion avoidance (+1 MSS per cwnd of ACKed bytes). */
export class NewReno implements CongestionController {
  readonly name = 'newreno' as const;
  private acc = 0;

  onAck(s: CongestionState, acked: number, _now: number, _rtt: number): void {
    if (s.cwnd < s.ssthresh) {
      s.cwnd = Math.min(s.cwnd + acked, Math.max(s.ssthresh, s.cwnd + s.smss));
      return;
    }
    this.acc += acked;
    if (this.acc >= s.cwnd) {
      this.acc -= s.cwnd;
      s.cwnd += s.smss;
    }
  }

  ssthreshOnLoss(s: CongestionState, _flight: number, _now: number): number {
    // Linux tcp_reno_ssthresh: half the congestion window in whole segments, at least two (RFC 5681 eq. (4) halves
    // FlightSize instead; Linux, the oracle, halves cwnd — they differ when the sender is not cwnd-limited).
    return Math.max(Math.floor(s.cwnd / s.smss / 2), 2) * s.smss;
  }

  onTimeout(_s: CongestionState): void {
    this.acc = 0;
  }

  onRecoveryEnd(_s: CongestionState, _now: number): void {
    this.acc = 0;
  }
}

/** CUBIC, RFC 9438: W_cubic(t) = C(t − K)^3 + W_max with C = 0.4, β = 0.7, fast convergence, and the Reno-friendly region (§4.3). */
export class Cubic implements CongestionController {
  readonly name = 'cubic' as const;
  private static readonly C = 0.4;
  private static readonly BETA = 0.7;
  private wMax = DOUBLE_ZERO;
  private wLastMax = DOUBLE_ZERO;
  private k = DOUBLE_ZERO;
  private epochStart = -1;
  private wEst = DOUBLE_ZERO;
  private acc = 0;

  onAck(s: CongestionState, acked: number, now: number, rttMs: number): void {
    if (s.cwnd < s.ssthresh) {
      s.cwnd = Math.min(s.cwnd + acked, Math.max(s.ssthresh, s.cwnd + s.smss));
      return;
    }
    const mss = s.smss;
    const cwndSeg = s.cwnd / mss;
    if (this.epochStart < 0) {
      this.epochStart = now;
      if (this.wMax < cwndSeg) {
        this.wMax = cwndSeg;
        this.k = 0;
      } else {
        this.k = Math.cbrt((this.wMax - cwndSeg) / Cubic.C);
      }
      this.wEst = cwndSeg;
    }
    const t = (now - this.epochStart + rttMs) / 1000;
    const target = Cubic.C * Math.pow(t - this.k, 3) + this.wMax;
    // §4.3: Reno-friendly estimate, alpha = 3(1 − β)/(1 + β).
    const alpha = (3 * (1 - Cubic.BETA)) / (1 + Cubic.BETA);
    this.wEst += (alpha * (acked / mss)) / cwndSeg;
    let inc: number;
    if (this.wEst > target) inc = (this.wEst - cwndSeg) / cwndSeg;
    else if (target > cwndSeg) inc = Math.min(target - cwndSeg, cwndSeg / 2) / cwndSeg;
    else inc = 0.01 / cwndSeg;
    this.acc += inc * (acked / mss);
    if (this.acc >= 1) {
      const whole = Math.floor(this.acc);
      this.acc -= whole;
      s.cwnd += whole * mss;
    }
  }

  ssthreshOnLoss(s: CongestionState, _flight: number, _now: number): number {
    const cwndSeg = s.cwnd / s.smss;
    // §4.7 fast convergence.
    this.wMax = cwndSeg < this.wLastMax ? (cwndSeg * (1 + Cubic.BETA)) / 2 : cwndSeg;
    this.wLastMax = cwndSeg;
    this.epochStart = -1;
    return Math.max(Math.floor(s.cwnd * Cubic.BETA), 2 * s.smss);
  }

  onTimeout(_s: CongestionState): void {
    this.epochStart = -1;
    this.acc = 0;
  }

  onRecoveryEnd(_s: CongestionState, _now: number): void {
    this.epochStart = -1;
  }
}

export function createCongestionController(name: CongestionControlName): CongestionController {
  return name === 'cubic' ? new Cubic() : new NewReno();
}
