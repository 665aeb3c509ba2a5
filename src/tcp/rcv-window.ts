/**
 * The receive window we offer: the free space of the receive buffer with receiver SWS avoidance (RFC 9293
 * §3.8.6.2.2, in Linux's __tcp_select_window form), and the window field of a segment, which never shrinks
 * the window already offered (RFC 7323 §2.4) and moves RCV.ADV right when it grows.
 */
import { seqAdd, seqGt, seqSub } from './seq.js';
import type { Tcb } from './tcb.js';

/**
 * The window we would offer now, in bytes (Linux __tcp_select_window): the free space of the receive
 * buffer — bytes the application has not consumed count, wherever they sit. Receiver SWS avoidance (RFC
 * 9293 §3.8.6.2.2) as Linux does it: below half the buffer, quick-ACK mode ends and less than one segment
 * (or 1/16 of the buffer) offers zero; without window scaling the window is a multiple of the peer's
 * segment size, kept while within one segment of the free space.
 */
export function selectWindow(c: Tcb): number {
  const full = c.windowClamp;
  let mss = c.rcvMss;
  if (mss > full) mss = full;
  let free = c.rb.capacity - c.rb.length - c.appBuffered;
  if (free < 0) free = 0;
  if (free < full >> 1) {
    c.quick = 0;
    free -= free & ((1 << c.rcvWscale) - 1);
    if (free < full >> 4 || free < mss) return 0;
  }
  if (free > full) free = full;
  if (c.rcvWscale > 0) {
    const unit = 1 << c.rcvWscale;
    return Math.min((free + unit - 1) & ~(unit - 1), 0xffff << c.rcvWscale);
  }
  let window = c.rcvWnd;
  if (window <= free - mss || window > free) window = free - (free % mss);
  else if (mss === full && free > window + (full >> 1)) window = free;
  return window;
}

/** The 16-bit window field for a segment now (never shrinking the offered window, RFC 7323 §2.4); moves RCV.ADV right when it grows. */
export function windowField(c: Tcb): number {
  let win = selectWindow(c);
  const unit = 1 << c.rcvWscale;
  const cur = Math.max(0, seqSub(c.rcvAdvRight, c.rcvNxt));
  let field = win >> c.rcvWscale;
  if (field << c.rcvWscale < cur) field = (cur + unit - 1) >> c.rcvWscale;
  if (field > 0xffff) field = 0xffff;
  win = field << c.rcvWscale;
  c.rcvWnd = win;
  const right = seqAdd(c.rcvNxt, win);
  if (seqGt(right, c.rcvAdvRight)) c.rcvAdvRight = right;
  return field;
}
