/**
 * The parsed form of a script in the packetdrill dialect
 * (../shared/conformance/packetdrill-dialect.md). Times are in seconds as
 * written; the runner converts them to milliseconds.
 */

/** One point in time as written: `1.25` (absolute) or `+0.1` (relative). */
export interface TimePoint {
  relative: boolean;
  seconds: number;
}

/** The time part of an event line. */
export type EventTime =
  | { kind: 'point'; at: TimePoint }
  | { kind: 'any' }
  /** `A~B`: only outbound packets. */
  | { kind: 'range'; from: TimePoint; to: TimePoint }
  /** `S...E`: blocking syscall starting at S, returning at E (with a relative S, E counts from the same base as S). */
  | { kind: 'blocking'; start: TimePoint; end: TimePoint };

export type Direction = 'in' | 'out';

/** `[ttl 64, tos 0x10, ect0]` after the direction. */
export interface IpInfo {
  ttl?: number;
  tos?: number;
  /** ECN codepoint: 0 noecn, 1 ect1, 2 ect0, 3 ce; 'either' = ect01 (outbound only). */
  ecn?: number | 'either';
  /** Runner extension: IP id of an inbound packet. */
  id?: number;
  /** Runner extension: DF bit. */
  df?: boolean;
  /**
   * Runner extension: inject only bytes [offset, offset+length) of the IP
   * payload this line describes, as a fragment (MF when `more`).
   */
  frag?: { offset: number; length: number; more: boolean };
}

export type TcpOptionSpec =
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; value: number }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: [number, number][] }
  | { kind: 'ts'; val: number; ecr: number }
  /** TCP Fast Open (RFC 7413): `FO [hex]` is kind 34, `FOEXP [hex]` the experimental kind 254 with magic 0xF989; no hex = a cookie request. */
  | { kind: 'fastopen'; exp: boolean; cookie: Uint8Array }
  /** TCP MD5 signature (RFC 2385 §3.0): `md5 HEX`, kind 19, up to 16 digest bytes as written (18 bytes in all when 16) (never computed: no keys are modelled). */
  | { kind: 'md5'; digest: Uint8Array }
  /** Accurate ECN (RFC 9768 §3.2.3), packetdrill's `ECN e0b N ceb N e1b N` (order 0, kind 172) or `ECN e1b N ceb N e0b N` (order 1, kind 174), 1 to 3 fields in wire order. */
  | { kind: 'accecn'; order: 0 | 1; fields: number[] }
  /** Parsed but not supported (unknown kinds): the script is reported unsupported. */
  | { kind: 'unsupported'; what: string };

export interface TcpPacketLine {
  proto: 'tcp';
  dir: Direction;
  ip: IpInfo | undefined;
  ports: { src: number; dst: number } | undefined;
  /** Flag bits (TCP_SYN | ...), AE as bit 8. */
  flags: number;
  flagsText: string;
  start: number;
  end: number;
  len: number;
  ack: number | undefined;
  win: number | undefined;
  urg: number | undefined;
  /** undefined: no option list written (no options allowed outbound); 'any': `<...>`. */
  options: TcpOptionSpec[] | 'any' | undefined;
}

export interface UdpPacketLine {
  proto: 'udp';
  dir: Direction;
  ip: IpInfo | undefined;
  ports: { src: number; dst: number } | undefined;
  len: number;
}

export type IcmpQuote = { proto: 'tcp'; start: number; end: number; len: number; flags: number | undefined } | { proto: 'udp'; len: number };

export interface IcmpPacketLine {
  proto: 'icmp';
  dir: Direction;
  ip: IpInfo | undefined;
  /** Type word as written (`unreachable`, `time_exceeded`, `echo_request`, ...). */
  typeWord: string;
  codeWord: string | undefined;
  type: number;
  code: number;
  /** Next-hop MTU of frag_needed. */
  mtu: number | undefined;
  /** Echo extension: id, seq, payload length. */
  echo: { id: number; seq: number; len: number } | undefined;
  quote: IcmpQuote | undefined;
}

export type PacketLine = TcpPacketLine | UdpPacketLine | IcmpPacketLine;

/** Syscall argument / result expressions (section 5.1). */
export type Expr =
  | { t: 'num'; v: number }
  | { t: 'ident'; name: string }
  | { t: 'ellipsis' }
  | { t: 'str'; v: string }
  | { t: 'list'; items: Expr[] }
  | { t: 'struct'; fields: { name: string | undefined; value: Expr }[] }
  | { t: 'or'; items: Expr[] }
  | { t: 'call'; name: string; args: Expr[] };

export interface SyscallLine {
  name: string;
  args: Expr[];
  /** Expected return value. */
  result: Expr;
  /** Expected errno name when the result is -1. */
  errno: string | undefined;
}

export type Action =
  | { kind: 'packet'; packet: PacketLine }
  | { kind: 'syscall'; call: SyscallLine }
  | { kind: 'shell'; command: string }
  | { kind: 'code'; code: string };

export interface ScriptEvent {
  /** 1-based line of the event's first line. */
  line: number;
  time: EventTime;
  action: Action;
  /** The event's text as written (comments removed), for diagnostics. */
  text: string;
}

export interface ScriptOption {
  line: number;
  name: string;
  value: string | undefined;
}

export interface Script {
  options: ScriptOption[];
  events: ScriptEvent[];
}

export class ScriptSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ScriptSyntaxError';
  }
}
