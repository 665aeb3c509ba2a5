/**
 * A small authoritative DNS responder over UDP (RFC 1035, port 53; over TCP
 * in src/services/dns-tcp.ts) for the
 * stack's own names: `tunstack.test` plus any `--hostname`. A queries (and
 * ANY) for those names answer with the stack's address facing the querier,
 * AAAA queries (RFC 3596) with its IPv6 address (over either family);
 * PTR queries for the stack's addresses (`2.0.77.10.in-addr.arpa`) answer
 * with the names; other types for our names get an empty NOERROR answer;
 * other names NXDOMAIN. EDNS(0) (RFC 6891) is understood: an OPT record in
 * the query gets one back, an unknown EDNS version BADVERS.
 *
 * Hostile input: the parser walks the message by offsets into one reused
 * scratch buffer (no strings, no per-label objects); compression pointers
 * must point strictly backwards and are followed at most 16 times (loops
 * end there), labels and names are bounded (63/255), and every read is
 * bounds-checked. A malformed query with a readable header gets FORMERR; a
 * response, or anything shorter than a header, is dropped and counted
 * (`dns.*` drop reasons).
 */
import type { Stack } from '../stack.js';
import { parseIpv6, type Ipv6Words } from '../wire/ipv6.js';

export const DNS_PORT = 53;
const HEADER = 12;
const MAX_NAME = 255;
const MAX_JUMPS = 16;
const TYPE_A = 1;
const TYPE_PTR = 12;
const TYPE_AAAA = 28;
const TYPE_OPT = 41;
const TYPE_ANY = 255;
const CLASS_IN = 1;
const CLASS_ANY = 255;
const TTL = 300;
const RCODE_FORMERR = 1;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
const RCODE_REFUSED = 5;
/** Our EDNS UDP payload size (RFC 9715's recommendation). */
const EDNS_SIZE = 1232;

/** Why a datagram got no answer at all. */
export type DnsDrop = 'dns.short' | 'dns.response';

/** The names and addresses a responder answers for. */
export interface DnsZone {
  /** Our names in wire format, lowercase (`\x08tunstack\x04test\x00`). */
  names: Uint8Array[];
  /** Reverse names (`2.0.77.10.in-addr.arpa`) in wire format, lowercase. */
  reverse: Uint8Array[];
  /** The address to answer A queries with, for a querier (the stack's address facing it). */
  addressFor(querier: number): number;
  /** The IPv6 address to answer AAAA queries with (the stack's address facing an IPv6 querier), null when it has none. */
  address6For?(querier6: Ipv6Words | null): Ipv6Words | null;
}

/** Encodes `a.b.c` as DNS wire labels (lowercase); an Error for an invalid name. */
export function encodeName(name: string): Uint8Array | Error {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n.length === 0) return new Error('empty DNS name');
  const labels = n.toLowerCase().split('.');
  const out: number[] = [];
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) return new Error(`bad DNS label in '${name}'`);
    if (!/^[a-z0-9_-]+$/.test(l)) return new Error(`bad characters in DNS name '${name}'`);
    out.push(l.length);
    for (let i = 0; i < l.length; i++) out.push(l.charCodeAt(i));
  }
  out.push(0);
  if (out.length > MAX_NAME) return new Error(`DNS name too long: '${name}'`);
  return Uint8Array.from(out);
}

export function reverseName(addr: number): Uint8Array {
  const e = encodeName(`${addr & 0xff}.${(addr >>> 8) & 0xff}.${(addr >>> 16) & 0xff}.${addr >>> 24}.in-addr.arpa`);
  if (e instanceof Error) throw e;
  return e;
}

/** Per-responder state: the scratch buffer for the parsed question name. */
export class DnsResponder {
  private readonly qname = new Uint8Array(MAX_NAME);
  private qnameLength = 0;
  /** Offset just past the last name read by readName. */
  private nameEnd = 0;
  /** The IPv6 querier of the query being answered (null over IPv4). */
  private querier6: Ipv6Words | null = null;

  constructor(readonly zone: DnsZone) {}

  /**
   * Answers the query `q` from `querier`: a response message, or a drop
   * reason when no response is due.
   */
  respond(q: Uint8Array, querier: number, querier6: Ipv6Words | null = null): Uint8Array | DnsDrop {
    this.querier6 = querier6;
    if (q.length < HEADER) return 'dns.short';
    const flags = (q[2]! << 8) | q[3]!;
    if (flags & 0x8000) return 'dns.response'; // never answer a response (no loops between responders)
    const opcode = (flags >> 11) & 0xf;
    const rd = flags & 0x0100;
    const qd = (q[4]! << 8) | q[5]!;
    const an = (q[6]! << 8) | q[7]!;
    const ns = (q[8]! << 8) | q[9]!;
    const ar = (q[10]! << 8) | q[11]!;
    if (opcode !== 0) return this.headerOnly(q, opcode, rd, RCODE_NOTIMP);
    if (qd !== 1) return this.headerOnly(q, opcode, rd, RCODE_FORMERR);
    if (!this.readName(q, HEADER, true)) return this.headerOnly(q, opcode, rd, RCODE_FORMERR);
    let o = this.nameEnd;
    if (o + 4 > q.length) return this.headerOnly(q, opcode, rd, RCODE_FORMERR);
    const qtype = (q[o]! << 8) | q[o + 1]!;
    const qclass = (q[o + 2]! << 8) | q[o + 3]!;
    o += 4;
    // Skip answer and authority records (none expected), then look for OPT among the additional ones.
    let edns = false;
    let ednsVersion = 0;
    for (let i = 0; i < an + ns + ar; i++) {
      const isAdditional = i >= an + ns;
      if (!this.readName(q, o, false)) return this.headerOnly(q, opcode, rd, RCODE_FORMERR);
      const nameAt = o;
      o = this.nameEnd;
      if (o + 10 > q.length) return this.headerOnly(q, opcode, rd, RCODE_FORMERR);
      const type = (q[o]! << 8) | q[o + 1]!;
      const rdlen = (q[o + 8]! << 8) | q[o + 9]!;
      if (o + 10 + rdlen > q.length) return this.headerOnly(q, opcode, rd, RCODE_FORMERR);
      if (isAdditional && type === TYPE_OPT) {
        // RFC 6891 §6.1.1: one OPT, owner name root.
        if (edns || q[nameAt] !== 0) return this.headerOnly(q, opcode, rd, RCODE_FORMERR);
        edns = true;
        ednsVersion = q[o + 5]!;
      }
      o += 10 + rdlen;
    }
    if (edns && ednsVersion !== 0) return this.build(q, querier, qtype, qclass, rd, 0, edns, true);
    if (qclass !== CLASS_IN && qclass !== CLASS_ANY) return this.build(q, querier, qtype, qclass, rd, RCODE_REFUSED, edns, false);
    return this.build(q, querier, qtype, qclass, rd, -1, edns, false);
  }

  /**
   * Reads the name at q[o..] into the scratch buffer (lowercased) when
   * `keep`, else only validates it; sets nameEnd to the offset after it in
   * the message. False on truncation, a bad label type, a loop or an
   * overlong name.
   */
  private readName(q: Uint8Array, start: number, keep: boolean): boolean {
    let o = start;
    let end = -1;
    let len = 0;
    let jumps = 0;
    let lowest = start; // pointers must go strictly below every position visited so far
    for (;;) {
      if (o >= q.length) return false;
      const b = q[o]!;
      if (b === 0) {
        if (len + 1 > MAX_NAME) return false;
        if (keep) this.qname[len] = 0;
        len++;
        if (end < 0) end = o + 1;
        break;
      }
      const kind = b & 0xc0;
      if (kind === 0xc0) {
        if (o + 1 >= q.length) return false;
        const target = ((b & 0x3f) << 8) | q[o + 1]!;
        if (end < 0) end = o + 2;
        if (++jumps > MAX_JUMPS || target >= lowest) return false;
        lowest = target;
        o = target;
        continue;
      }
      if (kind !== 0) return false; // 0x40 / 0x80: extended label types, unsupported
      if (o + 1 + b > q.length) return false;
      if (len + 1 + b + 1 > MAX_NAME) return false;
      if (keep) {
        this.qname[len] = b;
        for (let k = 1; k <= b; k++) {
          const c = q[o + k]!;
          this.qname[len + k] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
        }
      }
      len += 1 + b;
      o += 1 + b;
    }
    this.nameEnd = end;
    if (keep) this.qnameLength = len;
    return true;
  }

  private matches(names: readonly Uint8Array[]): boolean {
    const n = this.qnameLength;
    const qn = this.qname;
    outer: for (const name of names) {
      if (name.length !== n) continue;
      for (let i = 0; i < n; i++) if (name[i] !== qn[i]) continue outer;
      return true;
    }
    return false;
  }

  private headerOnly(q: Uint8Array, opcode: number, rd: number, rcode: number): Uint8Array {
    const r = new Uint8Array(HEADER);
    r[0] = q[0]!;
    r[1] = q[1]!;
    const flags = 0x8000 | (opcode << 11) | rd | rcode;
    r[2] = flags >> 8;
    r[3] = flags & 0xff;
    return r;
  }

  /** rcode -1: decide from the zone. */
  private build(q: Uint8Array, querier: number, qtype: number, qclass: number, rd: number, rcode: number, edns: boolean, badVers: boolean): Uint8Array {
    const limit = edns ? EDNS_SIZE : 512;
    const out = new Uint8Array(limit);
    const qn = this.qname;
    const qlen = this.qnameLength;
    let o = HEADER;
    out.set(qn.subarray(0, qlen), o);
    o += qlen;
    out[o++] = qtype >> 8;
    out[o++] = qtype & 0xff;
    out[o++] = qclass >> 8;
    out[o++] = qclass & 0xff;
    let answers = 0;
    let tc = false;
    let aa = 0;
    const optLen = edns ? 11 : 0;
    if (rcode < 0) {
      rcode = 0;
      const wantA = qtype === TYPE_A || qtype === TYPE_ANY;
      const wantAaaa = qtype === TYPE_AAAA || qtype === TYPE_ANY;
      const wantPtr = qtype === TYPE_PTR || qtype === TYPE_ANY;
      if (this.matches(this.zone.names)) {
        aa = 0x0400;
        if (wantA) {
          if (o + 16 + optLen <= limit) {
            o = writeRrHeader(out, o, TYPE_A, 4);
            const a = this.zone.addressFor(querier);
            out[o++] = a >>> 24;
            out[o++] = (a >>> 16) & 0xff;
            out[o++] = (a >>> 8) & 0xff;
            out[o++] = a & 0xff;
            answers++;
          } else tc = true;
        }
        const a6 = wantAaaa ? (this.zone.address6For?.(this.querier6) ?? null) : null;
        if (a6 !== null) {
          if (o + 28 + optLen <= limit) {
            o = writeRrHeader(out, o, TYPE_AAAA, 16);
            for (let k = 0; k < 4; k++) {
              const w = a6[k]!;
              out[o++] = w >>> 24;
              out[o++] = (w >>> 16) & 0xff;
              out[o++] = (w >>> 8) & 0xff;
              out[o++] = w & 0xff;
            }
            answers++;
          } else tc = true;
        }
      } else if (this.matches(this.zone.reverse)) {
        aa = 0x0400;
        if (wantPtr) {
          for (const name of this.zone.names) {
            if (o + 12 + name.length + optLen > limit) {
              tc = true;
              break;
            }
            o = writeRrHeader(out, o, TYPE_PTR, name.length);
            out.set(name, o);
            o += name.length;
            answers++;
          }
        }
      } else {
        rcode = RCODE_NXDOMAIN;
      }
    }
    if (edns) {
      // OPT: root name, type 41, class = our UDP size, TTL = ext-rcode/version/flags, no options.
      out[o++] = 0;
      out[o++] = 0;
      out[o++] = TYPE_OPT;
      out[o++] = EDNS_SIZE >> 8;
      out[o++] = EDNS_SIZE & 0xff;
      out[o++] = badVers ? 1 : 0; // BADVERS = 16: upper 8 bits of the 12-bit rcode
      out[o++] = 0;
      out[o++] = 0;
      out[o++] = 0;
      out[o++] = 0;
      out[o++] = 0;
    }
    out[0] = q[0]!;
    out[1] = q[1]!;
    const flags = 0x8000 | aa | (tc ? 0x0200 : 0) | rd | (rcode & 0xf);
    out[2] = flags >> 8;
    out[3] = flags & 0xff;
    out[4] = 0;
    out[5] = 1;
    out[6] = answers >> 8;
    out[7] = answers & 0xff;
    out[8] = 0;
    out[9] = 0;
    out[10] = 0;
    out[11] = edns ? 1 : 0;
    return out.subarray(0, o);
  }
}

/** Writes an answer's fixed part (owner = pointer to the question name at 12); returns the rdata offset. */
function writeRrHeader(out: Uint8Array, o: number, type: number, rdlen: number): number {
  out[o++] = 0xc0;
  out[o++] = HEADER;
  out[o++] = type >> 8;
  out[o++] = type & 0xff;
  out[o++] = 0;
  out[o++] = CLASS_IN;
  out[o++] = (TTL >>> 24) & 0xff;
  out[o++] = (TTL >>> 16) & 0xff;
  out[o++] = (TTL >>> 8) & 0xff;
  out[o++] = TTL & 0xff;
  out[o++] = rdlen >> 8;
  out[o++] = rdlen & 0xff;
  return o;
}

export const DEFAULT_NAME = 'tunstack.test';

/** The zone of a stack: its names and the addresses of its interfaces. */
export function stackZone(stack: Stack, hostnames: readonly string[]): DnsZone | Error {
  const names: Uint8Array[] = [];
  for (const n of [DEFAULT_NAME, ...hostnames]) {
    const e = encodeName(n);
    if (e instanceof Error) return e;
    if (!names.some((x) => x.length === e.length && x.every((v, i) => v === e[i]))) names.push(e);
  }
  return {
    names,
    get reverse() {
      return stack.interfaces.map((f) => reverseName(f.address));
    },
    addressFor: (querier) => stack.ip.sourceFor(querier) || (stack.interfaces[0]?.address ?? 0),
    address6For: (querier6) => (querier6 !== null ? stack.ip6.sourceFor(querier6) : null) ?? stack.ip6.addressList[0]?.address ?? null,
  };
}

/** Whether a response carries FORMERR (the query was malformed: counted as `dns.formerr`). */
export function isFormatError(response: Uint8Array): boolean {
  return (response[3]! & 0x0f) === RCODE_FORMERR;
}

/** The responder for a stack's names and addresses; throws on an invalid hostname. */
export function stackResponder(stack: Stack, hostnames: readonly string[] = []): DnsResponder {
  const zone = stackZone(stack, hostnames);
  if (zone instanceof Error) throw zone;
  // The reverse names are fixed once the interfaces are; compute them once.
  return new DnsResponder({ names: zone.names, reverse: zone.reverse, addressFor: zone.addressFor, address6For: zone.address6For! });
}

/** Starts the responder on the stack's UDP port 53, over IPv4 and IPv6. */
export function startDns(stack: Stack, hostnames: readonly string[] = [], port = DNS_PORT, responder = stackResponder(stack, hostnames)): () => void {
  const stop6 = startDns6(stack, port, responder);
  const sock = stack.udp.createSocket();
  sock.on('message', (msg, rinfo) => {
    const from = addrNumber(rinfo.address);
    const r = responder.respond(msg, from);
    if (typeof r === 'string') {
      stack.stats.drop(r);
      return;
    }
    if (isFormatError(r)) stack.stats.drop('dns.formerr');
    sock.send(r, rinfo.port, rinfo.address);
  });
  sock.on('error', (err) => stack.logger.warn({ err: err.message }, 'dns'));
  sock.bind(port);
  return () => {
    stop6();
    if (!sock.isClosed) sock.close();
  };
}

/** The same responder on a `udp6` socket: AAAA answers carry the stack's IPv6 address facing the querier. */
function startDns6(stack: Stack, port: number, responder: DnsResponder): () => void {
  const sock = stack.udp6.createSocket();
  sock.on('message', (msg, rinfo) => {
    const from = parseIpv6(rinfo.address);
    const r = responder.respond(msg, 0, from instanceof Error ? null : from);
    if (typeof r === 'string') {
      stack.stats.drop(r);
      return;
    }
    if (isFormatError(r)) stack.stats.drop('dns.formerr');
    sock.send(r, rinfo.port, rinfo.address);
  });
  sock.on('error', (err) => stack.logger.warn({ err: err.message }, 'dns (IPv6)'));
  sock.bind(port);
  return () => {
    if (!sock.isClosed) sock.close();
  };
}

function addrNumber(s: string): number {
  const p = s.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

