/**
 * A connection's RACK and undo variables (RFC 8985 §5.3 "Per-connection variables"; Linux struct
 * tcp_rack and tp->undo_*): plain numbers on one object, updated in place by rack.ts and undo.ts.
 */
export class RackState {
  /** RACK.xmit_ts: send time of the most recently sent segment delivered (−1: none yet). */
  xmitTs = -1;
  /** RACK.end_seq: its end. */
  endSeq = 0;
  /** RACK.rtt: the RTT of that delivery, ms. */
  rtt = 0;
  /** RACK.fack: the highest end of any delivered segment (Linux tp->highest_sack's end). */
  fack = 0;
  fackValid = false;
  /** RACK.min_RTT (Linux tcp_min_rtt, a 300 s windowed minimum; here the minimum, renewed after 300 s), ms. */
  minRtt = Infinity;
  minRttStamp = 0;
  /** RACK.reordering_seen (Linux tp->reord_seen, a count). */
  reordSeen = 0;
  /** How far, in segments, reordering has reached (Linux tp->reordering: net.ipv4.tcp_reordering, 3, raised by tcp_check_sack_reordering). */
  reordering = 3;
  /** RACK.reo_wnd_mult (Linux rack.reo_wnd_steps): the window in quarters of min_RTT. */
  reoWndSteps = 1;
  /** Recoveries left before the window returns to one step (Linux rack.reo_wnd_persist, TCP_RACK_RECOVERY_THRESH). */
  reoWndPersist = 0;
  /** A D-SACK arrived and the window has not grown for it yet (Linux rack.dsack_seen). */
  dsackSeen = false;
  /** Segments D-SACKed so far (Linux tp->dsack_dups). */
  dsackDups = 0;
  /** Segments delivered (acknowledged or SACKed) so far (Linux tp->delivered). */
  delivered = 0;
  /** `delivered` when the window last grew: one growth per round trip (Linux rack.last_delivered). */
  lastDelivered = 0;
  /** RACK advanced on this ACK: loss detection has something new to compare against (Linux rack.advanced). */
  advanced = false;
  // Scratch of one ACK's processing (rack.ts rackOnAck).
  candX = -1;
  candEnd = 0;
  /**
   * This ACK's RACK.rtt as Linux sets it (tcp_rack_advance assigns rtt_us for every segment that advances it,
   * so the last one processed wins — SACKed segments first (tcp_sacktag_write_queue), then the cumulatively
   * acknowledged (tcp_clean_rtx_queue)): the last SACKed one's and the last cumulatively acknowledged one's.
   */
  candRttSack = -1;
  candRttCum = -1;
  priorFack = 0;
  priorFackValid = false;
  /** This ACK's TSecr when timestamps are on (0: none), for rack.ts rackAckedForOriginal. */
  ackTsEcr = 0;
  /** After a retransmission timeout until SND.UNA passes what was outstanding then (Linux TCP_CA_Loss). */
  lossState = false;

  // Undo (RFC 3522 Eifel, RFC 3708 D-SACK; Linux tp->undo_marker, undo_retrans, prior_cwnd, prior_ssthresh).
  /** An episode (recovery or timeout) may still be undone. */
  undoArmed = false;
  /** SND.UNA when the episode began (Linux undo_marker). */
  undoMarker = 0;
  /** Retransmissions of the episode not yet shown spurious by a D-SACK (Linux undo_retrans). */
  undoRetrans = 0;
  /** TSval of the episode's first retransmission (Linux retrans_stamp, in TS units); Eifel compares TSecr to it. */
  retransTsval = 0;
  priorCwnd = 0;
  priorSsthresh = 0;
  /** The episode began with a timeout (its undo counts as TCPLossUndo or TCPSpuriousRTOs). */
  undoAfterRto = false;

  reset(): void {
    this.xmitTs = -1;
    this.fackValid = false;
    this.advanced = false;
    this.dsackSeen = false;
  }
}
