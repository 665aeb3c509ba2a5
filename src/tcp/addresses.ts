/**
 * TCP's addresses, one number for either family, so the rest of TCP is written once over both:
 *
 * - an IPv4 address is its 32-bit value (below 2^32); 0 is INADDR_ANY;
 * - an IPv6 address is a number from 2^32 up that this table assigns it, the table keeping its 128 bits;
 *   2^32 itself is `::` (in6addr_any);
 * - an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) is the IPv4 number: as in Linux, a
 *   connection of an IPv6 socket to a mapped address runs over IPv4 (net/ipv6/tcp_ipv6.c tcp_v6_connect
 *   hands it to tcp_v4_connect).
 *
 * So the demultiplexing keys, TIME-WAIT records and SYN-queue entries keep their numeric `addr·2^16 + port`
 * keys (exact integers while numbers stay below 2^37) and no segment allocates. Numbers are never reused:
 * an address no connection, TIME-WAIT pair, listener or SYN-queue entry holds any more is forgotten at the
 * next sweep, and comes back as a new number — a stale number is unknown afterwards, never another address.
 * What must survive a sweep (SYN cookies, ISNs, timestamp offsets) hashes `hashWord`, which depends on the
 * address's bits only, not on its number.
 */
import { ipToString } from '../wire/bytes.js';
import { formatIpv6, parseIpv6, type Ipv6Words } from '../wire/ipv6.js';
import { parseAddress } from '../ip/address.js';
import { HashKey, hsiphash4 } from './hash.js';

/** An IPv4 address (< 2^32) or the number of an IPv6 address (≥ 2^32). */
export type TcpAddr = number;

/** The first IPv6 number, given to `::`. */
export const ANY6: TcpAddr = 2 ** 32;
/** Numbers stay below 2^37 so that `addr·2^16 + port` is an exact integer (2^53). */
const LAST_NUMBER = 2 ** 37 - 1;
/** Sweep when the table holds this many more addresses than were live at the last sweep. */
const SWEEP_SLACK = 1024;

/** Is `a` an IPv6 address (a number this table assigned)? */
export function isV6(a: TcpAddr): boolean {
  return a >= ANY6;
}

/** Is `a` a wildcard (0.0.0.0 or ::)? */
export function isWildcard(a: TcpAddr): boolean {
  return a === 0 || a === ANY6;
}

/** Bytes of IP header in front of TCP's: MSS = MTU − 40 for IPv4, MTU − 60 for IPv6 (RFC 8200 §8.3, RFC 9293 §3.7.1). */
export function ipHeaderBytes(a: TcpAddr): number {
  return isV6(a) ? 40 : 20;
}

class Entry {
  next: Entry | null = null;
  constructor(
    readonly id: TcpAddr,
    readonly words: Ipv6Words,
    readonly digest: number,
  ) {}
}

const ANY6_WORDS: Ipv6Words = [0, 0, 0, 0];

function fold(w: readonly number[]): number {
  return (Math.imul(w[0]! ^ w[2]!, 0x9e3779b1) ^ Math.imul(w[1]! ^ w[3]!, 0x85ebca6b) ^ w[3]!) >>> 0;
}

export class TcpAddresses {
  private readonly byId = new Map<number, Entry>();
  /** fold(words) → a chain of entries. */
  private readonly byWords = new Map<number, Entry>();
  private nextId = ANY6 + 1;
  private liveAtSweep = 0;

  constructor(private readonly key: HashKey) {}

  /** IPv6 addresses known (`::` not counted). */
  get size(): number {
    return this.byId.size;
  }

  /**
   * The number of `w`, assigned when it has none; IPv4-mapped addresses give their IPv4 number. The last two
   * answers are kept (a segment's source and destination, the same for a connection's every segment), so the
   * receive path mostly compares four words instead of hashing and looking up.
   */
  intern(w: readonly number[]): TcpAddr {
    const a = this.recentA;
    if (a !== null && a.words[0] === w[0] && a.words[1] === w[1] && a.words[2] === w[2] && a.words[3] === w[3]) return a.id;
    const b = this.recentB;
    if (b !== null && b.words[0] === w[0] && b.words[1] === w[1] && b.words[2] === w[2] && b.words[3] === w[3]) return b.id;
    if (w[0] === 0 && w[1] === 0) {
      if (w[2] === 0xffff) return w[3]! >>> 0;
      if (w[2] === 0 && w[3] === 0) return ANY6;
    }
    const known = this.findEntry(w);
    if (known !== null) {
      this.remember(known);
      return known.id;
    }
    if (this.nextId > LAST_NUMBER) this.nextId = ANY6 + 1; // after 1.3·10^11 addresses: not reached in practice
    const words: Ipv6Words = [w[0]! >>> 0, w[1]! >>> 0, w[2]! >>> 0, w[3]! >>> 0];
    const e = new Entry(this.nextId++, words, hsiphash4(this.key, words[0], words[1], words[2], words[3]));
    const f = fold(words);
    e.next = this.byWords.get(f) ?? null;
    this.byWords.set(f, e);
    this.byId.set(e.id, e);
    this.remember(e);
    return e.id;
  }

  /** Two most recent entries intern answered with (the older one is replaced). */
  private recentA: Entry | null = null;
  private recentB: Entry | null = null;
  private remember(e: Entry): void {
    this.recentB = this.recentA;
    this.recentA = e;
  }

  /** The number `w` has, without assigning one (an address without one has no connection). */
  find(w: readonly number[]): TcpAddr | undefined {
    if (w[0] === 0 && w[1] === 0) {
      if (w[2] === 0xffff) return w[3]! >>> 0;
      if (w[2] === 0 && w[3] === 0) return ANY6;
    }
    return this.findEntry(w)?.id;
  }

  private findEntry(w: readonly number[]): Entry | null {
    for (let e = this.byWords.get(fold(w)) ?? null; e !== null; e = e.next) {
      const x = e.words;
      if (x[0] === w[0]! >>> 0 && x[1] === w[1]! >>> 0 && x[2] === w[2]! >>> 0 && x[3] === w[3]! >>> 0) return e;
    }
    return null;
  }

  /** The 128 bits of an IPv6 number (shared: do not modify), or null for an IPv4 or unknown one. */
  words(a: TcpAddr): Ipv6Words | null {
    if (a === ANY6) return ANY6_WORDS;
    return this.byId.get(a)?.words ?? null;
  }

  /**
   * 32 bits standing for the address in keyed hashes (ISNs, SYN cookies, timestamp offsets): an IPv4
   * address itself, an IPv6 address a keyed hash of its 128 bits (stable while the stack runs).
   */
  hashWord(a: TcpAddr): number {
    if (a < ANY6) return a | 0;
    return (this.byId.get(a)?.digest ?? 0) | 0;
  }

  /**
   * Text of an address as a socket of the given family shows it: an IPv6 socket shows an IPv4 peer as
   * `::ffff:a.b.c.d` (Linux, Node), and `::` for its wildcard.
   */
  format(a: TcpAddr, v6Socket = isV6(a)): string {
    if (a < ANY6) return v6Socket ? (a === 0 ? '::' : `::ffff:${ipToString(a)}`) : ipToString(a);
    const w = this.words(a);
    return w === null ? '::' : formatIpv6(w);
  }

  /**
   * An address from text of either family (`10.0.0.1`, `fd77::1`, `::ffff:10.0.0.1`; a zone `%eth0` is
   * ignored: there is one link). IPv6 addresses get their number.
   */
  parse(text: string): TcpAddr | Error {
    if (!text.includes(':')) return parseAddress(text);
    const w = parseIpv6(text.replace(/%.*$/, ''));
    return w instanceof Error ? w : this.intern(w);
  }

  /** Does the table hold many more addresses than were live at the last sweep? */
  get needsSweep(): boolean {
    return this.byId.size > 2 * this.liveAtSweep + SWEEP_SLACK;
  }

  /**
   * Forgets every IPv6 address that `holders` does not mark. Run between segments only (the egress pass):
   * then no number is held in a local variable of the input path.
   */
  sweep(holders: (mark: (a: TcpAddr) => void) => void): void {
    const live = new Set<number>();
    holders((a) => {
      if (a > ANY6) live.add(a);
    });
    for (const [id, e] of this.byId) {
      if (live.has(id)) continue;
      this.byId.delete(id);
      const f = fold(e.words);
      let head = this.byWords.get(f) ?? null;
      if (head === e) {
        head = e.next;
        if (head === null) this.byWords.delete(f);
        else this.byWords.set(f, head);
      } else {
        for (let p = head; p !== null; p = p.next) {
          if (p.next === e) {
            p.next = e.next;
            break;
          }
        }
      }
    }
    this.liveAtSweep = this.byId.size;
    // A forgotten number must not come back from the recent answers.
    this.recentA = null;
    this.recentB = null;
  }
}
