/**
 * Round trips until the first response byte: how many times the client had
 * to wait for the server, from its SYN to the first byte of the server's
 * answer to the client's first application data. HTTP over TCP takes 2
 * (SYN / SYN-ACK, request / response), HTTPS with TLS 1.3 3 (RFC 8446 §2:
 * one round for the handshake), with TLS 1.2 4 (RFC 5246 §7.3: two rounds),
 * and Fast Open (RFC 7413 §3) one less: the request rides on the SYN.
 *
 * A round starts when the client sends a SYN or payload while not already
 * waiting, and ends when the server answers with a SYN or payload. Pure ACKs
 * and retransmissions start and end nothing.
 */

export interface RoundSeg {
  /** Sent by the client (the end that sent the first SYN). */
  fromA: boolean;
  flags: number;
  len: number;
  /** The segment carried or completed application data (see PayloadNote.app). */
  app?: boolean;
}

export interface RoundTrips {
  /** Round trips up to and including the one that brought the first response byte. */
  rounds: number;
  /** Index of the segment carrying the first response byte. */
  index: number;
}

const SYN = 0x02;

/** Null when the capture has no client SYN or no response to the client's data in view. */
export function roundTripsToFirstResponse(segs: readonly RoundSeg[]): RoundTrips | null {
  let rounds = 0;
  let waiting = false;
  let sawSyn = false;
  let clientApp = false;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const speaks = (s.flags & SYN) !== 0 || s.len > 0;
    if (s.fromA) {
      if (s.flags & SYN) sawSyn = true;
      if (!sawSyn) return null; // the handshake is not in view: nothing to count from
      if (speaks && !waiting) waiting = true;
      if (s.len > 0 && s.app === true) clientApp = true;
      continue;
    }
    if (!sawSyn || !speaks) continue;
    if (waiting) {
      rounds++;
      waiting = false;
    }
    if (s.len > 0 && clientApp) return { rounds, index: i };
  }
  return null;
}
