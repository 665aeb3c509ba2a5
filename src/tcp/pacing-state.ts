/**
 * A connection's pacing variables (Linux tp->tcp_wstamp_ns, tp->data_segs_out and the TCP pacing hrtimer):
 * plain numbers on one object, updated in place by pacing.ts.
 */
import type { Timer } from '../clock.js';

export class PacingState {
  /** Earliest time the next data unit may leave, ms on the stack's clock (Linux tp->tcp_wstamp_ns). */
  next = 0;
  /** The last unit found its departure time ahead and the pacing timer armed for it (pacing.ts PACING_SLACK_MS). */
  waiting = false;
  /** Data segments sent so far (Linux tp->data_segs_out): the first ten are not paced. */
  dataSegsOut = 0;
  /** Times the connection waited for a departure time (TcpExt.TCPPacingHold, ours; Linux counts none). */
  holds = 0;
  /** SO_MAX_PACING_RATE in bytes per ms (Linux sk_max_pacing_rate; Infinity: none). */
  maxRate = Infinity;
  /** SO_MAX_PACING_RATE asked for pacing on this socket (Linux SK_PACING_NEEDED), whatever tunstack.tcp.pacing says. */
  requested = false;
  /** The pacing timer (Linux tp->pacing_timer), made the first time a unit has to wait. */
  timer: Timer | null = null;
}
