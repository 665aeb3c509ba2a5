/**
 * Why cwnd changed: each place that cuts, restores or restarts the congestion window reports the change with
 * its cause (probe.ts CwndCause) to the TcpProbe — `tunstack trace` prints it, the dashboard marks it on the
 * cwnd chart. Growth per ACK (slow start, congestion avoidance) and PRR's per-ACK pacing of a reduction already
 * reported are not events: they are the samples' business.
 */
import type { CwndCause } from './probe.js';
import type { Tcb } from './tcb.js';

/** Reports a change of cwnd or ssthresh (nothing when neither moved, or nobody listens). */
export function cwndChanged(c: Tcb, cause: CwndCause, prevCwnd: number, prevSsthresh: number): void {
  if (c.cwnd === prevCwnd && c.ssthresh === prevSsthresh) return;
  const probe = c.layer.probe;
  if (probe.active) probe.cwndChange(c, cause, prevCwnd, prevSsthresh);
}
