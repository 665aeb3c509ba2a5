/**
 * What the application asks of the send path beyond the bytes themselves — Linux's tcp_sendmsg flags and
 * socket options on the sending side:
 *   - MSG_MORE (tcp_push with TCP_NAGLE_CORK): the push of this write holds its last partial segment and
 *     does not mark it for PSH; a later push (an ACK, a write without MSG_MORE) sends it as usual.
 *   - TCP_CORK (tp->nonagle & TCP_NAGLE_CORK): every push holds the last partial segment until the cork is
 *     pulled, TCP_NODELAY is set, or the persist timer's wakeup sends it (max(RTO, 200 ms) later, Linux
 *     tcp_check_probe_timer → tcp_write_wakeup).
 *   - MSG_EOR: the write ends a record; no segment ever spans the boundary (records.ts).
 *   - TCP_NOTSENT_LOWAT: writability (POLLOUT) from the bytes written but not sent yet.
 *   - SO_SNDBUF on a live connection: the send buffer's size, fixed from then on.
 * The transmit loop (snd.ts) asks `holdsLastPartial` and `recordRoom`.
 */
import { RecordMarks } from './records.js';
import type { Tcb } from './tcb.js';
import { seqAdd } from './seq.js';

/** Write flags (sendmsg's): the bytes may be followed by more soon (MSG_MORE). */
export const WRITE_MORE = 1;
/** Write flags: the bytes end a record (MSG_EOR). */
export const WRITE_EOR = 2;

/** Sequence number just after the last byte written (Linux tp->write_seq). */
export function writeSeq(c: Tcb): number {
  return seqAdd(c.sndUna, (c.synUnacked ? 1 : 0) + c.sb.length);
}

/** Copies up to `len` bytes of src[off..] into the send buffer; `flags` (WRITE_*) apply once all `len` are in. */
export function queueWrite(c: Tcb, src: Uint8Array, off: number, len: number, flags: number): number {
  // A write of nothing pushes nothing and ends no record (tcp_sendmsg_locked: no copy, no tcp_push, no eor).
  if (len <= 0) return 0;
  const n = c.sb.write(src, off, len);
  if (n < len) {
    // The buffer filled up mid-write: Linux pushes what it has (forced_push / sk_stream_wait_memory) with PSH.
    if (n > 0) c.morePending = false;
    return n;
  }
  // tcp_push: MSG_MORE leaves the tail unmarked and corks this one push; any other write marks it for PSH.
  c.morePending = (flags & WRITE_MORE) !== 0;
  c.corkOnce = (flags & WRITE_MORE) !== 0;
  if (flags & WRITE_EOR) {
    if (c.records === null) c.records = new RecordMarks();
    c.records.add(writeSeq(c));
  }
  return n;
}

/** TCP_CORK on or off (Linux __tcp_sock_set_cork): pulling the cork pushes, ignoring Nagle when TCP_NODELAY is on. */
export function setCork(c: Tcb, on: boolean): void {
  c.cork = on;
  if (!on && c.nodelay) c.pushOnce = true;
}

/** TCP_NODELAY on or off (Linux __tcp_sock_set_nodelay): turning it on pushes what waits, even past a cork, once. */
export function setNoDelay(c: Tcb, on: boolean): void {
  c.nodelay = on;
  if (on) c.pushOnce = true;
}

/**
 * Does this push hold the last, partial segment of the send stream? MSG_MORE on the write being pushed (its
 * tcp_push passes TCP_NAGLE_CORK whatever tp->nonagle says), or TCP_CORK unless TCP_NODELAY was just set
 * (TCP_NAGLE_PUSH in tcp_nagle_test) — never when the persist timer is sending (tcp_write_wakeup).
 */
export function holdsLastPartial(c: Tcb): boolean {
  if (c.wakeup) return false;
  return c.corkOnce || (c.cork && !c.pushOnce);
}

/** The push is over: MSG_MORE and the one-time push applied to it only. */
export function pushDone(c: Tcb): void {
  c.corkOnce = false;
  c.pushOnce = false;
}

/** Bytes from `seq` to the end of its record, or `avail` when no record ends before (never more than `avail`). */
export function recordRoom(c: Tcb, seq: number, avail: number): number {
  const r = c.records;
  if (r === null || r.size === 0) return avail;
  const n = r.bytesToEnd(seq);
  return n < 0 || n > avail ? avail : n;
}

/** Bytes written but never sent (Linux write_seq − snd_nxt; our SND.MAX, since go-back-N pulls SND.NXT back). */
export function unsentBytes(c: Tcb): number {
  const sent = (c.sndMax - c.sndUna - (c.synUnacked ? 1 : 0)) | 0;
  const n = c.sb.length - sent;
  return n > 0 ? n : 0;
}

/** The TCP_NOTSENT_LOWAT in force: the socket's, else the stack's (Linux tcp_notsent_lowat). */
export function notSentLowat(c: Tcb): number {
  return c.notSentLowat > 0 ? c.notSentLowat : c.cfg.notsentLowat;
}

/**
 * Few enough unsent bytes to be writable (Linux tcp_stream_memory_free): `wake` (poll's and the wakeup's
 * test) doubles the unsent bytes, so POLLOUT comes once less than half the mark is left unsent.
 */
export function unsentBelowLowat(c: Tcb, wake: boolean): boolean {
  const n = unsentBytes(c) * (wake ? 2 : 1);
  return n < notSentLowat(c);
}

/**
 * SO_SNDBUF on a connection: the buffer holds `bytes` from now on and is no longer autotuned (Linux
 * SOCK_SNDBUF_LOCK). Bytes already queued stay; the room for new ones follows the new size.
 */
export function setSendBufferSize(c: Tcb, bytes: number): void {
  c.sb.setCapacity(bytes);
  c.sndBufLocked = true;
}
