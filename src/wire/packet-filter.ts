/**
 * Capture filters in tcpdump's words (a small part of pcap-filter(7)), for
 * `tunstack capture --filter` and `up --pcap-filter`:
 *
 *   primitives   ip  ip6  tcp  udp  icmp  icmp6
 *                [src|dst] host ADDR        an IPv4 address
 *                [src|dst] net ADDR/LEN     an IPv4 prefix
 *                [src|dst] port N           TCP or UDP (`tcp port 80`: TCP only)
 *   operators    not !   and &&   or ||   ( )       (not binds tightest, then and, then or)
 *
 * As in tcpdump, a protocol followed by a port qualifier is one primitive
 * (`tcp port 80` = `tcp and port 80`), and ports are looked for in the first
 * fragment only. `compileFilter` parses once into a predicate over raw IP
 * packets (TUN frames: no link header) that reads the bytes in place.
 */
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './ip-protocols.js';

/** True when the packet (a bare IPv4 or IPv6 packet) passes. */
export type PacketPredicate = (packet: Uint8Array) => boolean;


/** The transport protocol number of an IPv4 or IPv6 packet (IPv6: the first next-header only); -1 when neither. */
function protocolOf(p: Uint8Array): number {
  const v = p.length > 0 ? p[0]! >> 4 : 0;
  if (v === 4 && p.length >= 20) return p[9]!;
  if (v === 6 && p.length >= 40) return p[6]!;
  return -1;
}

/** Offset of the transport header, or -1 when this is not a first fragment (no ports to read). */
function transportOffset(p: Uint8Array): number {
  const v = p[0]! >> 4;
  if (v === 6) return 40;
  const fragOffset = ((p[6]! & 0x1f) << 8) | p[7]!;
  if (fragOffset !== 0) return -1;
  return (p[0]! & 0x0f) * 4;
}

function port(p: Uint8Array, which: 'src' | 'dst'): number {
  const proto = protocolOf(p);
  if (proto !== IPPROTO_TCP && proto !== IPPROTO_UDP) return -1;
  const off = transportOffset(p);
  if (off < 0 || p.length < off + 4) return -1;
  const at = which === 'src' ? off : off + 2;
  return (p[at]! << 8) | p[at + 1]!;
}

function ipv4Address(p: Uint8Array, which: 'src' | 'dst'): number {
  if (p.length < 20 || p[0]! >> 4 !== 4) return -1;
  const at = which === 'src' ? 12 : 16;
  return ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
}

type Direction = 'src' | 'dst' | 'either';

function either(dir: Direction, test: (which: 'src' | 'dst') => boolean): boolean {
  return dir === 'either' ? test('src') || test('dst') : test(dir);
}

function parseIpv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((n) => n > 255)) return null;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'src', 'dst', 'host', 'net', 'port', 'ip', 'ip6', 'tcp', 'udp', 'icmp', 'icmp6']);

function tokenize(text: string): string[] {
  const tokens = text.match(/&&|\|\||[()!]|[^\s()!&|]+|[&|]/g) ?? [];
  return tokens.map((t) => (t === '&&' ? 'and' : t === '||' ? 'or' : t === '!' ? 'not' : KEYWORDS.has(t.toLowerCase()) ? t.toLowerCase() : t));
}

/** A recursive-descent parser over the tokens; every error names what it expected and where. */
class FilterParser {
  private i = 0;

  constructor(
    private readonly tokens: string[],
    private readonly text: string,
  ) {}

  parse(): PacketPredicate {
    if (this.tokens.length === 0) throw this.error('an empty filter');
    const p = this.or();
    if (this.i < this.tokens.length) throw this.error(`unexpected '${this.tokens[this.i]}'`);
    return p;
  }

  private error(what: string): Error {
    return new Error(`capture filter ${JSON.stringify(this.text)}: ${what} (e.g. 'tcp port 80 and host 10.77.0.1', 'udp or icmp', 'not port 22')`);
  }

  private peek(): string | undefined {
    return this.tokens[this.i];
  }

  private take(): string | undefined {
    return this.tokens[this.i++];
  }

  private or(): PacketPredicate {
    let left = this.and();
    while (this.peek() === 'or') {
      this.take();
      const a = left;
      const b = this.and();
      left = (p) => a(p) || b(p);
    }
    return left;
  }

  private and(): PacketPredicate {
    let left = this.not();
    while (this.peek() === 'and') {
      this.take();
      const a = left;
      const b = this.not();
      left = (p) => a(p) && b(p);
    }
    return left;
  }

  private not(): PacketPredicate {
    if (this.peek() === 'not') {
      this.take();
      const inner = this.not();
      return (p) => !inner(p);
    }
    return this.primary();
  }

  private primary(): PacketPredicate {
    const t = this.take();
    if (t === undefined) throw this.error('the filter ends where a primitive (host, port, tcp, ...) was expected');
    if (t === '(') {
      const inner = this.or();
      if (this.take() !== ')') throw this.error("a missing ')'");
      return inner;
    }
    switch (t) {
      case 'ip':
        return (p) => p.length > 0 && p[0]! >> 4 === 4;
      case 'ip6':
        return (p) => p.length > 0 && p[0]! >> 4 === 6;
      case 'icmp':
        return (p) => p.length > 0 && p[0]! >> 4 === 4 && protocolOf(p) === IPPROTO_ICMP;
      case 'icmp6':
        return (p) => protocolOf(p) === IPPROTO_ICMPV6;
      case 'tcp':
      case 'udp':
        return this.transport(t === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP);
      case 'src':
      case 'dst':
      case 'host':
      case 'net':
      case 'port':
        this.i--;
        return this.qualified();
      default:
        throw this.error(`unknown word '${t}'`);
    }
  }

  /** `tcp`, or `tcp [src|dst] port N` as one primitive. */
  private transport(proto: number): PacketPredicate {
    const isProto = (p: Uint8Array): boolean => protocolOf(p) === proto;
    const next = this.peek();
    const after = this.tokens[this.i + 1];
    if (next === 'port' || ((next === 'src' || next === 'dst') && after === 'port')) {
      const portTest = this.qualified();
      return (p) => isProto(p) && portTest(p);
    }
    return isProto;
  }

  /** `[src|dst] host A`, `[src|dst] net A/N`, `[src|dst] port N`. */
  private qualified(): PacketPredicate {
    let dir: Direction = 'either';
    if (this.peek() === 'src' || this.peek() === 'dst') dir = this.take() as 'src' | 'dst';
    const kind = this.take();
    const value = this.take();
    if (kind !== 'host' && kind !== 'net' && kind !== 'port') throw this.error(`'host', 'net' or 'port' expected after '${dir}'`);
    if (value === undefined || KEYWORDS.has(value) || value === '(' || value === ')') throw this.error(`a value expected after '${kind}'`);
    if (kind === 'port') {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n >= 0 && n <= 65535)) throw this.error(`'${value}' is not a port number (0..65535)`);
      return (p) => either(dir, (w) => port(p, w) === n);
    }
    if (kind === 'host') {
      const a = parseIpv4(value);
      if (a === null) throw this.error(`'${value}' is not an IPv4 address`);
      return (p) => either(dir, (w) => ipv4Address(p, w) === a);
    }
    const m = /^([\d.]+)\/(\d{1,2})$/.exec(value);
    const base = m ? parseIpv4(m[1]!) : null;
    const len = m ? Number(m[2]) : NaN;
    if (base === null || !(len >= 0 && len <= 32)) throw this.error(`'${value}' is not an IPv4 prefix like 10.77.0.0/24`);
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    const net = (base & mask) >>> 0;
    return (p) =>
      either(dir, (w) => {
        const a = ipv4Address(p, w);
        return a >= 0 && ((a & mask) >>> 0) === net;
      });
  }
}

/** Parses a filter expression; throws one line naming the problem when it is not valid. */
export function compileFilter(text: string): PacketPredicate {
  return new FilterParser(tokenize(text.trim()), text).parse();
}
