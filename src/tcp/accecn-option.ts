/**
 * The AccECN option (RFC 9768 §3.2.3) as Linux 6.18 reads and writes it: the peer's 24-bit byte counters
 * folded into ours (net/ipv4/tcp_input.c tcp_accecn_process_option, include/net/tcp_ecn.h
 * tcp_update_ecn_bytes, tcp_accecn_option_init), and when ours goes out and how many fields fit
 * (net/ipv4/tcp_output.c tcp_established_options, tcp_options_fit_accecn, tcp_options_write).
 */
import { ECN_CE, ECN_ECT0 } from './ecn.js';
import type { AccEcnOption, TcpHeader, TcpOptions } from '../wire/tcp.js';
import {
  ACCECN_OPT_COUNTER_SEEN,
  ACCECN_OPT_EMPTY_SEEN,
  ACCECN_OPT_FAIL_RECV,
  ACCECN_OPT_FAIL_SEEN,
  ACCECN_OPT_FAIL_SEND,
  ACCECN_OPT_NOT_SEEN,
  type AccEcnState,
} from './accecn-state.js';

const ECN_ECT1 = 1;

/** Initial offsets of the byte counters (RFC 9768 §3.2.1; Linux TCP_ACCECN_E0B/E1B/CEB_INIT_OFFSET): zeroing shows. */
export const E0B_INIT = 1;
export const E1B_INIT = 1;
export const CEB_INIT = 0;
/** Three 24-bit fields and the 2-byte kind/length (Linux TCP_ACCECN_MAXSIZE). */
const ACCECN_MAXSIZE = 11;
const PERFIELD = 3;
/** The option is sent at least once per 2^22 bytes of growth in a counter (RFC 9768 §3.2.3.3; Linux GENMASK(31, 22)). */
const BYTES_STEP_MASK = 0xffc00000;
/** Past 2^23 − 1 bytes sent without ever seeing the peer's option, its counters could have wrapped: give up on it. */
const OPT_TOO_LATE = (1 << 23) - 1;

/** The ECN field a counter of an option field means: order 0 is EE0B, ECEB, EE1B; order 1 EE1B, ECEB, EE0B (Linux tcp_accecn_optfield_to_ecnfield). */
export function optFieldToEcnField(i: number, order1: boolean): number {
  if (i === 1) return ECN_CE;
  return (i === 0) === order1 ? ECN_ECT1 : ECN_ECT0;
}

function initOffset(ecnField: number): number {
  return ecnField === ECN_ECT1 ? E1B_INIT : ecnField === ECN_CE ? CEB_INIT : E0B_INIT;
}

/**
 * Folds a 24-bit field into a 32-bit counter (Linux tcp_update_ecn_bytes): the difference modulo 2^24, read as
 * signed (a field that went back by less than 2^23 is a step backwards, not a wrap). Returns the signed delta.
 */
export function updateEcnBytes(counters: Uint32Array, index: number, field: number, init: number): number {
  const truncated = (field - init) & 0xffffff;
  let delta = (truncated - counters[index]!) & 0xffffff;
  if (delta & 0x800000) delta -= 0x1000000;
  counters[index] = (counters[index]! + delta) >>> 0;
  return delta;
}

/** What the first option of the peer says about the path (Linux tcp_accecn_option_init): a zeroed EE0B/EE1B means a middlebox cleared it. */
export function optionSeen(h: TcpHeader): number {
  if (h.accecnFields < 1) return ACCECN_OPT_EMPTY_SEEN;
  if (h.accecnField[0] === 0) return ACCECN_OPT_FAIL_SEEN;
  if (h.accecnFields < 3) return ACCECN_OPT_COUNTER_SEEN;
  if (h.accecnField[2] === 0) return ACCECN_OPT_FAIL_SEEN;
  return ACCECN_OPT_COUNTER_SEEN;
}

/** Records what an option looked like; a zeroed one stops us trusting the peer's options (tcp_accecn_saw_opt_fail_recv). */
export function noteOptionSeen(st: AccEcnState, saw: number): void {
  st.sawOpt = saw;
  if (saw === ACCECN_OPT_FAIL_SEEN) st.failMode |= ACCECN_OPT_FAIL_RECV;
}

/**
 * The peer's option on an ACK (Linux tcp_accecn_process_option): its fields advance our delivered byte counters.
 * Without an option the bytes this ACK delivered go to the one field that alone grew lately (est_ecnfield).
 * Returns true when the byte counters can be trusted to correct the ACE field's wraps.
 */
export function processOption(st: AccEcnState, h: TcpHeader, deliveredBytes: number, bytesSent: number): boolean {
  if (st.failMode & ACCECN_OPT_FAIL_RECV) return false;
  if (h.accecnOrder < 0) {
    if (st.sawOpt === ACCECN_OPT_NOT_SEEN) {
      if (bytesSent >= OPT_TOO_LATE) noteOptionSeen(st, ACCECN_OPT_FAIL_SEEN);
      return false;
    }
    if (st.estEcnField !== 0) {
      st.deliveredBytes[st.estEcnField - 1] = (st.deliveredBytes[st.estEcnField - 1]! + deliveredBytes) >>> 0;
      return true;
    }
    return false;
  }
  if (st.sawOpt < ACCECN_OPT_COUNTER_SEEN) noteOptionSeen(st, optionSeen(h));
  const order1 = h.accecnOrder === 1;
  const estimate = st.estEcnField;
  let ok = estimate !== 0;
  let ambiguous = false;
  let firstChanged = false;
  for (let i = 0; i < h.accecnFields; i++) {
    const field = optFieldToEcnField(i, order1);
    const delta = updateEcnBytes(st.deliveredBytes, field - 1, h.accecnField[i]!, initOffset(field));
    if (delta < 0) {
      ok = false;
      ambiguous = true;
    }
    if (delta !== 0 && field !== estimate) {
      if (!firstChanged) {
        st.estEcnField = field;
        firstChanged = true;
      } else {
        ok = false;
        ambiguous = true;
      }
    }
  }
  if (ambiguous) st.estEcnField = 0;
  return ok;
}

/** Received payload bytes of one ECN field may demand an option: the counter crossed a 2^22 step. */
export function bytesStepCrossed(before: number, after: number): boolean {
  return ((before ^ after) & BYTES_STEP_MASK) !== 0;
}

/** The field an ECN codepoint needs in an order-1 option (Linux tcp_ecnfield_to_accecn_optfield): ECT(1) 1, CE 2, ECT(0) 3. */
export function minFieldsFor(ecnField: number): number {
  return ecnField === ECN_ECT1 ? 1 : ecnField === ECN_CE ? 2 : ecnField === ECN_ECT0 ? 3 : 0;
}

/**
 * How many fields fit (Linux tcp_options_fit_accecn): the most of 3 down to `required` whose size, rounded to
 * 32 bits — or down when the leftover bytes can fill a following option's NOPs (`maxCombine` of them) — fits in
 * `remaining`; when `required` fields do not fit and more than two SACK blocks go out, one block gives way.
 * Returns fields × 16 + SACK blocks given up, or −1 when not even `required` fields fit.
 */
export function fitFields(required: number, remaining: number, sackBlocks: number, maxCombine: number): number {
  let size = ACCECN_MAXSIZE;
  let rem = remaining;
  let fields = 3;
  let reduce = 0;
  let blocks = sackBlocks;
  while (fields >= required && fields >= 0) {
    const align = (size & 3) > maxCombine ? (size + 3) & ~3 : size & ~3;
    if (rem >= align) break;
    if (fields === required && blocks > 2 && required > 0) {
      blocks--;
      reduce++;
      rem += 8;
      fields = 3;
      size = ACCECN_MAXSIZE;
      continue;
    }
    fields--;
    size -= PERFIELD;
  }
  if (fields < required || fields < 0) return -1;
  return fields * 16 + reduce;
}

/** NOP bytes a SYN-ACK's layout offers to a short option (Linux tcp_synack_options_combine_saving). */
export function synAckCombineSaving(o: TcpOptions): number {
  if (o.sackPermitted && !o.ts) return 2;
  if (o.wscale !== undefined && o.wscale >= 0) return 1;
  return 0;
}

/**
 * Puts the AccECN option into `o` when the policy sends one on this segment (Linux tcp_established_options):
 * tcp_ecn_option 0 never; only after the peer's option was seen and while ours is not known to be stripped;
 * with 1 only when demanded or by the beacon, with 2 always. `commit`: the segment goes out now (tcp_options_write:
 * the demand drops by one, the minimum length and the beacon restart). Returns the option bytes added.
 */
export function fillAccEcnOption(st: AccEcnState, o: TcpOptions, ecnOption: number, beacon: number, srttMs: number, now: number, commit: boolean): number {
  o.accecn = undefined;
  if (ecnOption === 0 || st.sawOpt === ACCECN_OPT_NOT_SEEN || st.failMode & ACCECN_OPT_FAIL_SEND) return 0;
  if (ecnOption < 2 && st.optDemand === 0 && !beaconDue(st, beacon, srttMs, now)) return 0;
  const sackBlocks = o.sack !== undefined ? (o.sackCount ?? 0) : 0;
  const used = (o.ts ? 12 : 0) + (sackBlocks > 0 ? 4 + 8 * sackBlocks : 0);
  const fit = fitFields(st.minLen, 40 - used, sackBlocks, sackBlocks > 0 ? 2 : 0);
  if (fit < 0) return 0;
  const fields = fit >> 4;
  if (fit & 15) o.sackCount = sackBlocks - (fit & 15);
  setFields(st.opt, fields, st.receivedBytes[0]!, st.receivedBytes[2]!, st.receivedBytes[1]!);
  o.accecn = st.opt;
  if (commit) {
    st.minLen = 0;
    st.optStamp = now;
    if (st.optDemand > 0) st.optDemand--;
  }
  return fields >= 3 ? 12 : fields === 2 ? 8 : fields === 1 ? (sackBlocks > 0 ? 4 : 8) : sackBlocks > 0 ? 0 : 4;
}

/** The SYN-ACK's option: all counters at their initial values (Linux synack_ecn_bytes), as many fields as fit. */
export function fillSynAckAccEcnOption(o: TcpOptions, opt: AccEcnOption): void {
  const used = 4 + (o.ts ? 12 : o.sackPermitted ? 4 : 0) + (o.wscale !== undefined && o.wscale >= 0 ? 4 : 0) + (o.fastOpen ? ((o.fastOpen.len + (o.fastOpen.exp ? 4 : 2) + 3) & ~3) : 0);
  const fit = fitFields(0, 40 - used, 0, synAckCombineSaving(o));
  if (fit < 0) {
    o.accecn = undefined;
    return;
  }
  setFields(opt, fit >> 4, 0, 0, 0);
  o.accecn = opt;
}

function setFields(a: AccEcnOption, fields: number, ect1: number, ce: number, ect0: number): void {
  a.fields = fields;
  a.e1b = (ect1 + E1B_INIT) & 0xffffff;
  a.ceb = (ce + CEB_INIT) & 0xffffff;
  a.e0b = (ect0 + E0B_INIT) & 0xffffff;
}

/** With tcp_ecn_option=1: an option at least `beacon` times per smoothed RTT (Linux tcp_accecn_option_beacon_check). */
function beaconDue(st: AccEcnState, beacon: number, srttMs: number, now: number): boolean {
  if (beacon === 0) return false;
  return (now - st.optStamp) * beacon >= srttMs;
}
