/**
 * Congestion Experienced marking of a wire packet, as an ECN-capable router's active queue management does
 * instead of dropping (RFC 3168 §5): an ECT(0) or ECT(1) packet becomes CE; a not-ECT packet is left alone
 * (a router would drop it — the impairment stage's `loss` does that), a CE packet stays CE.
 *
 * IPv4: the ECN field is the low two bits of the TOS byte (byte 1); the header checksum is updated
 * incrementally (RFC 1624 eqn. 3), as Linux's IP_ECN_set_ce does. IPv6: the ECN field is the low two bits of
 * the traffic class (bits 4..5 of byte 1); the IPv6 header has no checksum and the transport checksums do
 * not cover the traffic class (Linux IP6_ECN_set_ce).
 */
import { checksumUpdate16 } from '../wire/checksum.js';

/** What `markCe` did. */
export const CE_MARKED = 0;
/** Not ECN-capable (not-ECT): left alone. */
export const CE_NOT_ECT = 1;
/** CE already. */
export const CE_ALREADY = 2;
/** Not an IPv4 or IPv6 packet (or too short to hold its header). */
export const CE_NOT_IP = 3;

export type CeResult = typeof CE_MARKED | typeof CE_NOT_ECT | typeof CE_ALREADY | typeof CE_NOT_IP;

/** The ECN field of an IPv4 or IPv6 packet (0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE); -1 when it is neither. */
export function ipEcnField(pkt: Uint8Array): number {
  if (pkt.length < 2) return -1;
  const version = pkt[0]! >> 4;
  if (version === 4 && pkt.length >= 20) return pkt[1]! & 3;
  if (version === 6 && pkt.length >= 40) return (pkt[1]! >> 4) & 3;
  return -1;
}

/** Marks an ECT(0)/ECT(1) packet CE in place (RFC 3168 §5). */
export function markCe(pkt: Uint8Array): CeResult {
  const ecn = ipEcnField(pkt);
  if (ecn < 0) return CE_NOT_IP;
  if (ecn === 0) return CE_NOT_ECT;
  if (ecn === 3) return CE_ALREADY;
  if (pkt[0]! >> 4 === 6) {
    pkt[1] = pkt[1]! | 0x30;
    return CE_MARKED;
  }
  // RFC 1624 eqn. 3 on the 16-bit word holding version/IHL and TOS.
  const oldWord = (pkt[0]! << 8) | pkt[1]!;
  pkt[1] = pkt[1]! | 3;
  const hc = checksumUpdate16((pkt[10]! << 8) | pkt[11]!, oldWord, oldWord | 3);
  pkt[10] = hc >>> 8;
  pkt[11] = hc & 0xff;
  return CE_MARKED;
}
