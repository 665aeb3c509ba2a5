/**
 * A connection's pacing variables (Linux tp->tcp_wstamp_ns, tp->data_segs_out and the TCP pacing hrtimer):
 * plain numbers on one object, updated in place by pacing.ts.
 */
import type { Timer } from '../clock.js';

export class PacingState {
  /** Earliest time the next data unit may leave, ms on the stack's clock (Linux tp->tcp_wstamp_ns). */
  next = 0;
  /** Data segments sent so far (Linux tp->data_segs_out): the first ten are not paced. */
  dataSegsOut = 0;
  /** Times the connection waited for a departure time (TcpExt.TCPPacingHold, ours; Linux counts none). */
  holds = 0;
  /** The pacing timer (Linux tp->pacing_timer), made the first time a unit has to wait. */
  timer: Timer | null = null;
}
