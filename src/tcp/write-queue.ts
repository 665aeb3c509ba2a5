/**
 * How much of one write Linux takes in while TCP_NOTSENT_LOWAT (or net.ipv4.tcp_notsent_lowat) is in force
 * (tcp.c tcp_sendmsg_locked). Linux copies a write into buffers (skbs) of the size goal; only when it starts a
 * new buffer does it ask sk_stream_memory_free, i.e. tcp_stream_memory_free: are the bytes written but not sent
 * (write_seq − snd_nxt) below the mark? If not, a non-blocking write returns what it copied (EAGAIN when
 * nothing). A buffer that fills while it is the first unsent one goes out at once (tcp_push_one), and what the
 * windows leave of it stays the tail buffer, which the same write fills up to the size goal again.
 *
 * Example (Google's notsent-lowat scripts): MSS 1000, peer window 32896, cwnd 10, mark 4000. Size goal 16000;
 * the first buffer fills, 10000 leave, the 6000 left are filled again to 16000 (26000 copied); the next new
 * buffer finds 16000 unsent ≥ 4000 and the write returns 26000.
 *
 * We send from the layer's next pass rather than inside the write; `pushRoom` is what that pass will send of
 * full segments now, which stands in for the mid-write tcp_push_one.
 */
import { sackOptionBytes } from './output.js';
import { notSentLowat, unsentBytes, writeSeq } from './send-control.js';
import { REC_NONE, type Tcb } from './tcb.js';
import { seqAdd, seqGt, seqSub } from './seq.js';

/** TCP_NOTSENT_LOWAT's "no limit" (tp->notsent_lowat and the sysctl default, UINT_MAX). */
const NO_LOWAT = 0xffffffff;
/** sk_gso_max_size: the TUN device's GSO_LEGACY_MAX_SIZE (65536) less MAX_TCP_HEADER + 1 (sk_setup_caps). */
const SK_GSO_MAX_SIZE = 65536 - 321;
/** tcp_bound_to_half_wnd: windows up to TCP_MSS_DEFAULT are not halved. */
const TCP_MSS_DEFAULT = 536;

/** The segment size of the write path (Linux tcp_current_mss: the MSS less the SACK blocks it carries). */
export function writeMss(c: Tcb): number {
  return Math.max(1, c.smss - sackOptionBytes(c));
}

/**
 * Linux tcp_xmit_size_goal: a write-queue buffer holds the largest whole number of segments up to
 * min(sk_gso_max_size, half the largest window the peer offered) (tcp_bound_to_half_wnd), at least one.
 */
export function sizeGoal(c: Tcb, mss: number): number {
  const w = c.maxSndWnd;
  const cutoff = w > TCP_MSS_DEFAULT ? w >>> 1 : w;
  const bound = cutoff > 0 && SK_GSO_MAX_SIZE > cutoff ? Math.max(cutoff, 68) : SK_GSO_MAX_SIZE;
  return Math.max(mss, Math.floor(bound / mss) * mss);
}

/** Full segments of new data the congestion and the peer's window let go now (what tcp_push_one would send). */
export function pushRoom(c: Tcb, mss: number): number {
  if (c.recovery !== REC_NONE) return 0;
  const flight = (c.sndMax - c.sndUna) | 0;
  const wndRoom = (c.sndUna + c.sndWnd - c.sndMax) | 0;
  const room = Math.min(c.cwnd - flight, wndRoom);
  return room > 0 ? Math.floor(room / mss) * mss : 0;
}

/**
 * The bytes of a `len`-byte write that Linux's tcp_sendmsg_locked copies before sk_stream_memory_free stops it
 * (the send buffer's own limit is the buffer's). Records where the tail buffer now begins.
 */
export function lowatWriteLimit(c: Tcb, len: number): number {
  const lowat = notSentLowat(c);
  if (lowat >= NO_LOWAT) {
    c.writeTailSeq = -1;
    return len;
  }
  const mss = writeMss(c);
  const goal = sizeGoal(c, mss);
  const ws = writeSeq(c);
  let unsent = unsentBytes(c);
  // The tail buffer's unsent part: what was sent of it left the write queue (the retransmit queue holds it).
  let tail = c.writeTailSeq < 0 ? 0 : Math.min(unsent, Math.max(0, seqSub(ws, c.writeTailSeq)));
  let room = pushRoom(c, mss);
  let copied = 0;
  while (copied < len) {
    if (tail === 0 || tail >= goal) {
      // new_segment: sk_stream_memory_free → tcp_stream_memory_free(sk, 0).
      if (unsent >= lowat) break;
      tail = 0;
    }
    const copy = Math.min(goal - tail, len - copied);
    copied += copy;
    tail += copy;
    unsent += copy;
    // The write is all in: it ends here (tcp_push at `out` sends, not tcp_push_one).
    if (copied === len) break;
    // A full buffer that is the send head goes out now (tcp_push_one), as far as the windows allow.
    if (tail >= goal && unsent === tail && room > 0) {
      const s = Math.min(room, tail);
      room -= s;
      unsent -= s;
      tail -= s;
    }
  }
  c.writeTailSeq = tail > 0 ? seqAdd(ws, copied - tail) : -1;
  return copied;
}

/**
 * Does a unit of new data ending at `end` come out of the tail buffer a write left behind under
 * TCP_NOTSENT_LOWAT? That buffer was marked for PSH when the write stopped (tcp_push → tcp_mark_push), and
 * Linux 6.18 sends every unit cut from it with PSH — each cwnd-limited 4000-byte unit of Google's
 * notsent-lowat scripts carries it.
 */
export function inMarkedTail(c: Tcb, end: number): boolean {
  return c.writeTailSeq >= 0 && seqGt(end, c.writeTailSeq);
}
