/**
 * What each timer of a connection does when it fires: retransmission (RFC 6298 §5.4–5.7; SYN retransmissions;
 * RFC 5681 §3.1 loss window), which also carries the tail loss probe and the persist timer; delayed ACK (RFC
 * 1122 §4.2.3.2); keepalive (RFC 1122 §4.2.3.6); TIME-WAIT 2·MSL and the FIN-WAIT-2 timeout. Arming them is the
 * TCB's (src/tcp/tcb.ts).
 */
import { cwndChanged } from './cwnd-events.js';
import { prrEnd } from './prr.js';
import { abort, terminate } from './close.js';
import { countRetrans, retransmitOne, sendActiveReset, sendProbe, sendSyn } from './output.js';
import { rackOnTimeout } from './rack.js';
import { undoOnTimeout } from './undo.js';
import { reorderTimerFires, sendLossProbe } from './recovery.js';
import { persistTimerFires, transmit } from './snd.js';
import { seqAdd } from './seq.js';
import { TcpState } from './state.js';
import { REC_NONE, RTX_NONE, RTX_PERSIST, RTX_REO, RTX_RTO, RTX_TLP, type Tcb } from './tcb.js';
import { ecnCwrAbandoned, ecnQueueCwr } from './ecn.js';
import { clampRtoToUserTimeout, keepaliveTimedOut, noteFirstRetransmission, retransmitsTimedOut, zeroWindowRetransmitsTimedOut } from './user-timeout.js';

/** The retransmission timer fired: a persist probe, a tail loss probe, or a retransmission timeout, by what it was armed for. */
export function rtxTimerFires(c: Tcb, now: number): void {
  const mode = c.rtxMode;
  c.rtxMode = RTX_NONE;
  if (mode === RTX_PERSIST) {
    persistTimerFires(c, now);
    return;
  }
  if (mode === RTX_TLP) {
    sendLossProbe(c, now);
    return;
  }
  if (mode === RTX_REO) {
    reorderTimerFires(c, now);
    return;
  }
  const s = c.state;
  // A passive Fast Open child retransmits its SYN-ACK from its own timer (Linux tcp_fastopen_synack_timer).
  if (s === TcpState.SYN_SENT || (s === TcpState.SYN_RECEIVED && (c.listener === null || c.fastOpenQueue !== null))) synRetransmissionTimeout(c, now);
  else retransmissionTimeout(c, now);
}

/**
 * Our SYN (or the SYN-ACK of a simultaneous open) went unanswered: again, up to synRetries / synAckRetries.
 * The timer backs off (RFC 6298 §5.7) except for a SYN's first synLinearTimeouts retransmissions (Linux
 * tcp_retransmit_timer: no backoff in SYN-SENT while total_rto ≤ tcp_syn_linear_timeouts).
 */
function synRetransmissionTimeout(c: Tcb, now: number): void {
  const s = c.state;
  const cfg = c.cfg;
  const x = c.layer.stats.TcpExt;
  if (c.retransmits === 0) noteFirstRetransmission(c, c.rtt.rto, now);
  const before = c.retransmits;
  c.retransmits++;
  if (s === TcpState.SYN_SENT ? synSentTimedOut(c, before, now) : synReceivedTimedOut(c) || retransmitsTimedOut(c, before, now)) {
    x.TCPAbortOnTimeout++;
    abort(c, c.softError ?? 'ETIMEDOUT', now);
    return;
  }
  c.synRetransmitted = true;
  x.TCPTimeouts++;
  if (s !== TcpState.SYN_SENT || c.retransmits > cfg.synLinearTimeouts) c.rtt.backOff();
  sendSyn(c, s === TcpState.SYN_RECEIVED, now);
  countRetrans(c);
  c.armRtx(RTX_RTO, now + clampRtoToUserTimeout(c, c.rtt.rto, now));
}

/**
 * Linux tcp_write_timeout in SYN-SENT: the SYN has been retransmitted syn_retries + tcp_syn_linear_timeouts
 * times, or the time since the first SYN has reached what syn_retries exponentially backed-off retransmissions
 * would take from the initial RTO (retransmits_timed_out → tcp_model_timeout) — so with TCP_SYNCNT 1 the
 * connect fails at 3 s (SYNs at 0, 1 and 2 s), not after the second SYN. A user timeout replaces the model.
 */
function synSentTimedOut(c: Tcb, retransmitsBefore: number, now: number): boolean {
  const cfg = c.cfg;
  if (retransmitsBefore >= cfg.synRetries + cfg.synLinearTimeouts) return true;
  if (retransmitsBefore === 0) return false;
  const timeout = c.userTimeoutMs > 0 ? c.userTimeoutMs : modelTimeout(cfg.synRetries, cfg.initialRto);
  return now - c.rtxStamp >= timeout;
}

/** Linux tcp_model_timeout: the time `boundary` retransmissions take, doubling from `rtoBase` up to TCP_RTO_MAX. */
export function modelTimeout(boundary: number, rtoBase: number): number {
  const linearBackoffThresh = Math.floor(Math.log2(TCP_RTO_MAX_MS / rtoBase));
  if (boundary <= linearBackoffThresh) return ((2 << boundary) - 1) * rtoBase;
  return ((2 << linearBackoffThresh) - 1) * rtoBase + (boundary - linearBackoffThresh) * TCP_RTO_MAX_MS;
}

/** SYN-RECEIVED of our own SYN (a simultaneous open) or a Fast Open child: synack_retries (+1 for Fast Open, Linux tcp_fastopen_synack_timer). */
function synReceivedTimedOut(c: Tcb): boolean {
  return c.retransmits > c.cfg.synAckRetries + (c.fastOpenQueue !== null ? 1 : 0);
}

/** Linux TCP_RTO_MAX. */
const TCP_RTO_MAX_MS = 120_000;

/**
 * The retransmission timeout (RFC 6298 §5.4–5.7): ssthresh and the loss window (RFC 5681 §3.1), the SACK
 * scoreboard forgotten (RFC 2018 §8), the timer backed off, and go-back-N from SND.UNA; after retries2
 * timeouts the connection ends with ETIMEDOUT (or the soft error an ICMP message left).
 */
function retransmissionTimeout(c: Tcb, now: number): void {
  const cfg = c.cfg;
  const x = c.layer.stats.TcpExt;
  if (c.sndMax === c.sndUna) return;
  if (c.retransmits === 0) noteFirstRetransmission(c, c.rtt.rto, now);
  const before = c.retransmits;
  // Linux tcp_retransmit_timer: against a zero window the retransmissions are probes; only silence for TCP_RTO_MAX ends it
  // (or, with TCP_USER_TIMEOUT, no progress for that long: tcp_rtx_probe0_timed_out).
  const zeroWindow = c.sndWnd === 0;
  if (zeroWindow && now - c.lastRecv <= cfg.maxRto) c.retransmits = Math.min(c.retransmits, cfg.retries2 - 1);
  c.retransmits++;
  // Linux tcp_write_timeout: a user timeout replaces the retries2 count (retransmits_timed_out).
  const expired = c.userTimeoutMs > 0 ? (zeroWindow ? zeroWindowRetransmitsTimedOut(c, now) : retransmitsTimedOut(c, before, now)) : c.retransmits > cfg.retries2;
  if (expired) {
    x.TCPAbortOnTimeout++;
    abort(c, c.softError ?? 'ETIMEDOUT', now);
    return;
  }
  x.TCPTimeouts++;
  undoOnTimeout(c); // before ssthresh and cwnd change: what an undo gives back
  const prevCwnd = c.cwnd;
  const prevSsthresh = c.ssthresh;
  // RFC 5681 §3.1 eq. (4) on the first timeout only; cwnd = loss window.
  if (c.retransmits === 1 || c.recovery !== REC_NONE) c.ssthresh = c.cc.ssthreshOnLoss(c, (c.sndMax - c.sndUna) | 0, now);
  ecnQueueCwr(c); // Linux tcp_enter_loss → tcp_ecn_queue_cwr
  ecnCwrAbandoned(c);
  c.cwnd = c.smss;
  c.cc.onTimeout(c);
  cwndChanged(c, 'rto', prevCwnd, prevSsthresh);
  c.recovery = REC_NONE;
  prrEnd(c);
  c.recover = c.sndMax;
  c.dupAcks = 0;
  c.scoreboard.clear(); // RFC 2018 §8: forget SACK information after a timeout
  rackOnTimeout(c);
  c.rtxInFlight.length = 0;
  c.tlpOut = false;
  c.rttTiming = false;
  c.rtt.backOff();
  c.sndNxt = c.sndUna;
  if (c.synUnacked) c.sndNxt = seqAdd(c.iss, 1);
  transmit(c, now);
  if (c.sndNxt === c.sndUna && c.sndMax !== c.sndUna) {
    // Nothing could go out (zero window): retransmit the head anyway, like Linux.
    retransmitOne(c, c.sndUna, now);
  }
  c.armRtx(RTX_RTO, now + clampRtoToUserTimeout(c, c.rtt.rto, now));
}

/** The delayed-ACK timer fired (RFC 1122 §4.2.3.2: at most 500 ms; Linux 40 ms). */
export function delackTimerFires(c: Tcb, now: number): void {
  if (c.state === TcpState.CLOSED) return;
  // Linux tcp_delack_timer_handler: the ACK did not ride on a reply in time, so leave interactive mode.
  if (c.ackScheduled) c.pingpong = false;
  c.ackPending = true;
  transmit(c, now);
}

/** The keepalive timer fired (RFC 1122 §4.2.3.6): a probe after the idle time, then every interval; after the last unanswered probe the connection ends. */
export function keepaliveTimerFires(c: Tcb, now: number): void {
  const s = c.state;
  if (!c.keepalive || (s !== TcpState.ESTABLISHED && s !== TcpState.CLOSE_WAIT && s !== TcpState.FIN_WAIT_2)) return;
  const idle = now - c.lastRecv;
  if (c.probesOut === 0 && idle < c.keepIdleMs) {
    c.layer.timers.arm(c.keepTimer, c.lastRecv + c.keepIdleMs);
    return;
  }
  if (c.probesOut > 0 && idle < c.keepIdleMs) {
    c.probesOut = 0;
    c.layer.timers.arm(c.keepTimer, c.lastRecv + c.keepIdleMs);
    return;
  }
  // Linux tcp_keepalive_timer: with TCP_USER_TIMEOUT, unanswered probes end the connection once the silence has
  // lasted that long (keepaliveTimedOut); without it, after keepProbes of them.
  if (c.userTimeoutMs > 0 ? keepaliveTimedOut(c, idle) : c.probesOut >= c.keepProbes) {
    // Linux tcp_keepalive_timer: the peer is gone — tcp_send_active_reset (RST with SEQ = SND.NXT, ACK =
    // RCV.NXT) tells any middlebox or half-alive peer, then tcp_write_err reports ETIMEDOUT.
    sendActiveReset(c, now);
    c.layer.stats.TcpExt.TCPAbortOnTimeout++;
    abort(c, c.softError ?? 'ETIMEDOUT', now);
    return;
  }
  c.layer.stats.TcpExt.TCPKeepAlive++;
  sendProbe(c, now);
  c.probesOut++;
  c.layer.timers.arm(c.keepTimer, now + c.keepIntervalMs);
}

/** TIME-WAIT's 2·MSL (RFC 9293 §3.6.1) or the FIN-WAIT-2 timeout (Linux tcp_fin_timeout) is over. */
export function waitTimerFires(c: Tcb, now: number): void {
  if (c.state === TcpState.TIME_WAIT || c.state === TcpState.FIN_WAIT_2) terminate(c, null);
}
