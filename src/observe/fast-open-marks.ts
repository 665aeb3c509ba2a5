/**
 * Fast Open as the ladder names it (RFC 7413 §3, §4.1): the client's SYN
 * asking for a cookie (an empty option) or bringing one with data, and the
 * server's SYN-ACK granting a cookie and acknowledging the SYN's data, or
 * only the SYN (the data was not accepted and will be sent again).
 * The option is read by the wire parser on SYN segments only, as Linux does
 * (tcp_parse_fastopen_option).
 */
import type { TcpHeader } from '../wire/tcp.js';

/** The client's SYN, remembered to tell whether the SYN-ACK acknowledged its data. */
export interface SynSeen {
  seq: number;
  len: number;
}

export interface FastOpenMark {
  /** A label for the segment, or null when it has nothing of Fast Open. */
  note: string | null;
  /** Set on the client's SYN: what to remember for its SYN-ACK. */
  syn?: SynSeen;
}

const SYN = 0x02;
const ACK = 0x10;

function cookieOption(h: TcpHeader): string | null {
  const exp = h.foExp ? ' (experimental option 254)' : '';
  if (h.foLen === 0) return `cookie request${exp}`;
  if (h.foLen > 0) return `cookie ${h.foLen} B${exp}`;
  return null;
}

export function fastOpenNote(h: TcpHeader, len: number, fromA: boolean, syn: SynSeen | null): FastOpenMark {
  if (!(h.flags & SYN)) return { note: null };
  const cookie = cookieOption(h);
  if (fromA && !(h.flags & ACK)) {
    const parts: string[] = [];
    if (cookie !== null) parts.push(cookie);
    if (len > 0) parts.push(`${len} B of data on the SYN`);
    return { note: parts.length > 0 ? `Fast Open: ${parts.join(', ')}` : null, syn: { seq: h.seq, len } };
  }
  if (!fromA && h.flags & ACK) {
    const parts: string[] = [];
    if (cookie !== null) parts.push(cookie.startsWith('cookie request') ? cookie : `grants ${cookie}`);
    if (syn !== null && syn.len > 0) {
      // RFC 7413 §4.2.2: a server that accepts the data acknowledges it with the SYN; one that does not acks the SYN only.
      const acked = (h.ack - syn.seq - 1) >>> 0;
      if (acked === syn.len) parts.push(`acks the SYN's ${syn.len} B of data`);
      else if (acked === 0) parts.push('acks the SYN only: its data was not accepted');
    }
    return { note: parts.length > 0 ? `Fast Open: ${parts.join(', ')}` : null };
  }
  return { note: null };
}

/**
 * For the live feed, which sees a SYN arrive and its SYN-ACK leave without a connection row in between:
 * the SYNs that carried data, by peer endpoint (bounded: the oldest is forgotten first).
 */
export class SynDataMemory {
  private readonly syns = new Map<number, SynSeen>();

  constructor(private readonly max = 64) {}

  /** A SYN (without ACK) arrived from ra:rp. */
  synIn(ra: number, rp: number, seq: number, len: number): void {
    const k = ra * 65536 + rp;
    this.syns.delete(k);
    if (len === 0) return;
    if (this.syns.size >= this.max) this.syns.delete(this.syns.keys().next().value!);
    this.syns.set(k, { seq, len });
  }

  /** A SYN-ACK left for ra:rp: what it did with the SYN's data, or null when the SYN had none. */
  synAckOut(ra: number, rp: number, ack: number): string | null {
    const k = ra * 65536 + rp;
    const s = this.syns.get(k);
    if (s === undefined) return null;
    this.syns.delete(k);
    const acked = (ack - s.seq - 1) >>> 0;
    return acked === s.len ? `Fast Open: acks the SYN's ${s.len} B of data` : acked === 0 ? 'Fast Open: acks the SYN only: its data was not accepted' : null;
  }
}
