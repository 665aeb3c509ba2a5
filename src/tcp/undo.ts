/**
 * Spurious-retransmission undo (Linux tcp_try_undo_*): a recovery or a timeout whose every retransmission
 * proves needless gives back the congestion window and ssthresh it took. Two proofs, as Linux:
 *   - D-SACK (RFC 3708 §3): each D-SACK reports a segment received twice; when D-SACKs account for every
 *     retransmission of the episode (Linux undo_retrans reaches 0), the originals all arrived.
 *   - Eifel (RFC 3522 §3, timestamps): an ACK whose TSecr predates the episode's first retransmission was sent
 *     for an original — it was delayed, not lost (Linux tcp_packet_delayed).
 * Counters (TcpExt, Linux's names): TCPDSACKUndo (by D-SACKs), TCPFullUndo (at the end of a recovery),
 * TCPLossUndo (after a timeout), TCPSackRecoveryFail (a timeout during SACK recovery). CUBIC's own state
 * (W_max, the epoch) is not rolled back — only cwnd and ssthresh, what Linux's undo_cwnd returns.
 */
import { seqGt } from './seq.js';
import { REC_NONE, REC_SACK, type Tcb } from './tcb.js';
import { tsBefore } from './ts-clock.js';

/** An episode begins (Linux tcp_init_undo): what to give back, and from where retransmissions count. */
export function undoBegin(c: Tcb, afterRto: boolean): void {
  const r = c.rack;
  r.undoArmed = true;
  r.undoAfterRto = afterRto;
  r.undoMarker = c.sndUna;
  r.undoRetrans = 0;
  r.retransTsval = 0;
  r.priorCwnd = c.cwnd;
  // Linux tcp_current_ssthresh: at least three quarters of the window when not already reducing.
  r.priorSsthresh = Math.max(c.ssthresh, (c.cwnd >> 1) + (c.cwnd >> 2));
}

/** A retransmission left (output.ts countRetrans): one more to be proved spurious; the first one's TSval is Eifel's mark. */
export function undoCountRetrans(c: Tcb): void {
  const r = c.rack;
  if (!r.undoArmed) return;
  if (r.undoRetrans === 0 && c.tsOk) r.retransTsval = c.tsPair.val;
  r.undoRetrans++;
}

/**
 * A retransmission timeout (Linux tcp_retransmit_timer, tcp_enter_loss): the first one of a series counts
 * TCPSackRecoveryFail when it ends a SACK recovery, and begins an undo episode unless a recovery's is open.
 */
export function undoOnTimeout(c: Tcb): void {
  if (c.retransmits !== 1) return;
  if (c.recovery === REC_SACK) c.layer.stats.TcpExt.TCPSackRecoveryFail++;
  if (c.recovery === REC_NONE || !c.rack.undoArmed) undoBegin(c, true);
  else c.rack.undoAfterRto = true;
}

/** RFC 3522 §3.2 (Linux tcp_packet_delayed): this ACK echoes a TSval older than the first retransmission. */
function eifelSpurious(c: Tcb, tsPresent: boolean, tsEcr: number): boolean {
  const r = c.rack;
  return c.tsOk && tsPresent && tsEcr !== 0 && r.retransTsval !== 0 && tsBefore(tsEcr, r.retransTsval);
}

/**
 * One ACK's part in undo. `dsack` is the D-SACKed byte count (rack.ts dsackBytes) and `dsackEnd` its end;
 * `recoveryEnded`: this ACK completed a recovery; `advanced`: it moved SND.UNA.
 */
export function undoOnAck(c: Tcb, tsPresent: boolean, tsEcr: number, dsack: number, dsackEnd: number, recoveryEnded: boolean, advanced: boolean): void {
  const r = c.rack;
  if (!r.undoArmed) return;
  const x = c.layer.stats.TcpExt;
  // RFC 3708 §3: a D-SACK above the episode's start accounts for that many retransmitted segments.
  if (dsack > 0 && r.undoRetrans > 0 && seqGt(dsackEnd, r.undoMarker)) {
    r.undoRetrans = Math.max(0, r.undoRetrans - Math.ceil(dsack / c.smss));
    if (r.undoRetrans === 0) {
      undoCwndReduction(c);
      if (r.undoAfterRto) x.TCPLossUndo++;
      else x.TCPDSACKUndo++;
      return;
    }
  }
  if (r.undoRetrans === 0) return;
  if (r.undoAfterRto) {
    // Linux tcp_try_undo_loss: an ACK of new data sent for an original ends the timeout's episode.
    if (advanced && c.rack.lossState && eifelSpurious(c, tsPresent, tsEcr)) {
      undoCwndReduction(c);
      x.TCPLossUndo++;
    }
    return;
  }
  if (recoveryEnded && eifelSpurious(c, tsPresent, tsEcr)) {
    // Linux tcp_try_undo_recovery: the hole was filled by the original (RFC 3522).
    undoCwndReduction(c);
    x.TCPFullUndo++;
  }
}

/** Gives the reduction back (Linux tcp_undo_cwnd_reduction with the controller's undo_cwnd: max(cwnd, prior)). */
export function undoCwndReduction(c: Tcb): void {
  const r = c.rack;
  r.undoArmed = false;
  if (c.cwnd < r.priorCwnd) c.cwnd = r.priorCwnd;
  if (c.ssthresh < r.priorSsthresh) c.ssthresh = r.priorSsthresh;
  if (r.lossState) {
    // Nothing was lost: go-back-N stops (Linux unmarks the loss, tcp_undo_cwnd_reduction(sk, true)).
    r.lossState = false;
    c.sndNxt = c.sndMax;
  }
}
