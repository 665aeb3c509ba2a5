/**
 * The loss-recovery figures `ss -i` prints for a connection, under iproute2's names (tcp_show_info): `ecn`,
 * `ecnseen`, `lost:N`, `dsack_dups:N`, `reordering:N` (printed when not 3), `reord_seen:N`.
 */
import { ECN_OK, ECN_SEEN } from './ecn.js';
import { ACCECN_MODE_ACCECN } from './accecn-state.js';
import { SEG_LOST, SEG_RETRANS, SEG_SACKED } from './sent-log.js';
import type { Tcb } from './tcb.js';

export interface RecoveryInfo {
  /** ECN was agreed (TCPI_OPT_ECN). */
  ecn: boolean;
  /** An ECT or CE segment arrived (TCPI_OPT_ECN_SEEN). */
  ecnSeen: boolean;
  /** Segments deemed lost and not yet acknowledged or SACKed, retransmitted or not (Linux lost_out). */
  lost: number;
  /** Segments the peer reported received twice (Linux dsack_dups). */
  dsackDups: number;
  /** How far reordering has reached, in segments (Linux reordering; 3 until reordering is seen). */
  reordering: number;
  /** Reordering events seen (Linux reord_seen). */
  reordSeen: number;
}

export function recoveryInfo(c: Tcb): RecoveryInfo {
  const log = c.sent;
  const smss = Math.max(1, c.smss);
  let lost = 0;
  for (let i = 0; i < log.count; i++) {
    const k = log.slot(i);
    const f = log.flags(k);
    // Lost and waiting, or lost and retransmitted (the mark Linux keeps until the segment is delivered).
    if (f & SEG_SACKED || !(f & (SEG_LOST | SEG_RETRANS))) continue;
    lost += Math.ceil(((log.end(k) - log.start(k)) | 0) / smss);
  }
  const r = c.rack;
  return {
    // Linux sets TCPI_OPT_ECN for classic ECN and for AccECN alike (tcp_ecn_mode_any).
    ecn: (c.ecnFlags & ECN_OK) !== 0 || (c.accecn !== null && c.accecn.mode === ACCECN_MODE_ACCECN),
    ecnSeen: (c.ecnFlags & ECN_SEEN) !== 0,
    lost,
    dsackDups: r.dsackDups,
    reordering: r.reordering,
    reordSeen: r.reordSeen,
  };
}
