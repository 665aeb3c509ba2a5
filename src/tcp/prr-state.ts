/** PRR's per-connection state (prr.ts has the rules); apart so that tcb.ts imports no rule module. */
/** Per-connection PRR counters (Linux tcp_sock prior_cwnd, prr_delivered, prr_out), in segments. */
export class PrrState {
  /** cwnd when recovery began, in segments (RecoverFS in RFC 6937 §3; Linux uses prior_cwnd). */
  priorCwnd = 0;
  /** Segments the receiver reported delivered (cumulatively or by SACK) since recovery began. */
  delivered = 0;
  /** Segments sent (new or retransmitted) since recovery began. */
  out = 0;
  /** A PRR reduction is under way (Linux tcp_in_cwnd_reduction: CA state Recovery). */
  active = false;
}
