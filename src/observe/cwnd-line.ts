/**
 * One cwnd event as `tunstack trace` prints it: `* #3 cwnd 120 -> 60 ssthresh inf -> 60 (rack: RACK deemed
 * segments lost)` — windows in segments of the connection's MSS, as `ss` prints cwnd and ssthresh.
 */
import type { CwndCause } from '../tcp/probe.js';
import type { ObsEvent } from './events.js';

/** What each cause means, in a few words (tcp/probe.ts CwndCause has the references). */
export const CWND_CAUSE_TEXT: Readonly<Record<CwndCause, string>> = {
  rack: 'RACK deemed segments lost',
  dupack: 'duplicate ACKs / DupThresh SACKed segments',
  tlp: 'the tail loss probe revealed a loss',
  rto: 'retransmission timeout',
  ece: 'the peer echoed congestion experienced (ECE)',
  'recovery-end': 'recovery ended: cwnd = ssthresh',
  'undo-dsack': 'undone: D-SACKs proved the retransmissions spurious',
  'undo-eifel': 'undone: timestamps proved the retransmissions spurious (Eifel)',
  'idle-restart': 'idle longer than the RTO: restart from the initial window',
};

const segs = (bytes: number, mss: number): string => (bytes < 0 ? 'inf' : String(Math.round(bytes / Math.max(1, mss))));

export function formatCwndEvent(ev: Extract<ObsEvent, { type: 'cwnd' }>): string {
  const cw = `cwnd ${segs(ev.prevCwnd, ev.mss)} -> ${segs(ev.cwnd, ev.mss)}`;
  const ss = ev.prevSsthresh === ev.ssthresh ? `ssthresh ${segs(ev.ssthresh, ev.mss)}` : `ssthresh ${segs(ev.prevSsthresh, ev.mss)} -> ${segs(ev.ssthresh, ev.mss)}`;
  return `* #${ev.conn} ${cw} ${ss} (${ev.cause}: ${CWND_CAUSE_TEXT[ev.cause]})`;
}
