/**
 * The TCP timestamp clock (RFC 7323 §5.4): TSval is a 32-bit counter that wraps, so values are compared
 * by the sign of their 32-bit difference, like sequence numbers (Linux: `(s32)(a - b)` in tcp_paws_check,
 * tcp_rtt_tsopt_us and tcp_packet_delayed).
 */

/** The TSval at `nowMs` for a connection whose clock is shifted by `offset` (Linux tcp_time_stamp_ts + tsoffset): 1 ms per tick. */
export function tsClock(nowMs: number, offset: number): number {
  return (Math.floor(nowMs) + offset) >>> 0;
}

/** The signed distance a - b between two timestamp values (negative when a is older). */
export function tsDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** a is an older timestamp value than b. */
export function tsBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
