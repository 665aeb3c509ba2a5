/**
 * The per-connection state of Accurate ECN (RFC 9768), Linux's tcp_sock AccECN fields (include/linux/tcp.h):
 * the negotiated mode, the receiver's counters fed back (r.cep in the ACE field, r.e0b/r.ceb/r.e1b in the
 * AccECN option), the sender's view of what the peer reports (delivered_ce, delivered_ecn_bytes), the option
 * policy's demand, and the fallback bits. Allocated only for connections that ask for or agree to AccECN.
 * The rules live in src/tcp/accecn.ts (negotiation, ACE) and src/tcp/accecn-option.ts (the option).
 */
import type { AccEcnOption } from '../wire/tcp.js';

/** tcpi_ecn_mode (Linux TCPI_ECN_MODE_*): our AccECN SYN is out, no answer yet. */
export const ACCECN_MODE_PENDING = 3;
/** AccECN is the feedback of this connection. */
export const ACCECN_MODE_ACCECN = 2;

/** accecn_fail_mode bits (Linux TCP_ACCECN_*_FAIL_*): the ACE field cannot be trusted from the peer / for ours. */
export const ACCECN_ACE_FAIL_SEND = 1;
export const ACCECN_ACE_FAIL_RECV = 2;
/** The AccECN option: ours does not get through / the peer's arrives zeroed. */
export const ACCECN_OPT_FAIL_SEND = 4;
export const ACCECN_OPT_FAIL_RECV = 8;

/** saw_accecn_opt (Linux TCP_ACCECN_OPT_*): what the peer's AccECN options looked like so far. */
export const ACCECN_OPT_NOT_SEEN = 0;
export const ACCECN_OPT_EMPTY_SEEN = 1;
export const ACCECN_OPT_COUNTER_SEEN = 2;
export const ACCECN_OPT_FAIL_SEEN = 3;

export class AccEcnState {
  /** ACCECN_MODE_PENDING or ACCECN_MODE_ACCECN (a fallback drops the state: classic ECN or none). */
  mode: number;
  /** ACCECN_*_FAIL_* bits (tcpi_accecn_fail_mode). */
  failMode = 0;
  /** ACCECN_OPT_* (tcpi_accecn_opt_seen). */
  sawOpt = ACCECN_OPT_NOT_SEEN;
  /** IP ECN field of the SYN or SYN-ACK we sent / received (Linux syn_ect_snt, syn_ect_rcv). */
  synEctSnt = 0;
  synEctRcv = 0;
  /** The next segment is the handshake's last ACK: its ACE reflects the SYN-ACK's ECN field (RFC 9768 §3.2.2.1, Table 3). */
  reflectSynEct = false;

  // Receiver (Data Receiver, RFC 9768 §3.2.1).
  /** CE-marked segments received, r.cep without its initial 5 (Linux received_ce; tcpi_received_ce). */
  receivedCe = 0;
  /** CE marks not yet fed back in an ACE field, capped at 15 (Linux received_ce_pending). */
  receivedCePending = 0;
  /** Payload bytes received per ECN field, index field − 1: ECT(1), ECT(0), CE (Linux received_ecn_bytes). */
  readonly receivedBytes = new Uint32Array(3);
  /** The ECN field of the previous segment (Linux prev_ecnfield): a change demands ACKs. */
  prevEcnField = 0;
  /** How many fields the next option must at least carry (Linux accecn_minlen). */
  minLen = 0;
  /** Options still owed regardless of the policy (Linux accecn_opt_demand). */
  optDemand = 0;
  /** When the last AccECN option went out, ms (Linux accecn_opt_tstamp; the beacon counts from it). */
  optStamp = 0;

  // Sender (Data Sender, RFC 9768 §3.2.2.3).
  /** CE-marked segments the peer reported, from ACE (Linux delivered_ce; tcpi_delivered_ce). */
  deliveredCe = 0;
  /** Bytes the peer reported per ECN field, index field − 1, without the initial offsets (Linux delivered_ecn_bytes). */
  readonly deliveredBytes = new Uint32Array(3);
  /** The one ECN field whose byte counter alone grew lately (1..3), or 0 when ambiguous (Linux est_ecnfield). */
  estEcnField = 0;
  /** Moving average of packets acknowledged per ACK, 6 fraction bits (Linux pkts_acked_ewma): ACK thinning shows. */
  pktsAckedEwma = 0;

  /** The option object handed to the wire (reused). */
  readonly opt: AccEcnOption = { fields: 0, e1b: 0, ceb: 0, e0b: 0 };

  constructor(mode: number) {
    this.mode = mode;
  }
}
