/**
 * ICMP for IPv4 (RFC 792): the common 8-byte header (type, code, checksum,
 * rest-of-header) and the message types the stack speaks.
 */
import { checksumOk, internetChecksum } from './checksum.js';
import { read16, read32, write16, write32 } from './bytes.js';

export const ICMP_HEADER = 8;

export const IcmpType = {
  EchoReply: 0,
  DestUnreachable: 3,
  SourceQuench: 4,
  Redirect: 5,
  Echo: 8,
  TimeExceeded: 11,
  ParameterProblem: 12,
  Timestamp: 13,
  TimestampReply: 14,
} as const;

export const UnreachCode = {
  Net: 0,
  Host: 1,
  Protocol: 2,
  Port: 3,
  FragNeeded: 4,
  SourceRouteFailed: 5,
  NetProhibited: 9,
  HostProhibited: 10,
  AdminProhibited: 13,
} as const;

export const TimeExceededCode = { Ttl: 0, Reassembly: 1 } as const;

export type IcmpParseError = 'truncated' | 'bad-checksum';

export class IcmpHeader {
  type = 0;
  code = 0;
  checksum = 0;
  /** Bytes 4..8: id (high 16) and sequence (low 16) for echo; unused/MTU for errors. */
  rest = 0;
  get id(): number {
    return this.rest >>> 16;
  }
  get sequence(): number {
    return this.rest & 0xffff;
  }
  /** Next-hop MTU of a fragmentation-needed message (RFC 1191 §4). */
  get nextHopMtu(): number {
    return this.rest & 0xffff;
  }
  /** True for the error types (they quote an offending datagram). */
  get isError(): boolean {
    return isIcmpError(this.type);
  }
}

export function isIcmpError(type: number): boolean {
  return (
    type === IcmpType.DestUnreachable ||
    type === IcmpType.SourceQuench ||
    type === IcmpType.Redirect ||
    type === IcmpType.TimeExceeded ||
    type === IcmpType.ParameterProblem
  );
}

/** Parses the ICMP message in b[o, o+len). */
export function decodeIcmp(b: Uint8Array, o: number, len: number, into: IcmpHeader, verifyChecksum = true): IcmpParseError | undefined {
  if (!(o >= 0) || !(len >= ICMP_HEADER) || o + len > b.length) return 'truncated';
  if (verifyChecksum && !checksumOk(b, o, len)) return 'bad-checksum';
  into.type = b[o]!;
  into.code = b[o + 1]!;
  into.checksum = read16(b, o + 2);
  into.rest = read32(b, o + 4);
  return undefined;
}

export function parseIcmp(b: Uint8Array, verifyChecksum = true): IcmpHeader | IcmpParseError {
  const h = new IcmpHeader();
  return decodeIcmp(b, 0, b.length, h, verifyChecksum) ?? h;
}

/**
 * Writes an ICMP header at b[o..o+8) and checksums the whole message
 * b[o, o+len) (payload must already be in place).
 */
export function emitIcmp(b: Uint8Array, o: number, len: number, type: number, code: number, rest: number): void {
  b[o] = type;
  b[o + 1] = code;
  b[o + 2] = 0;
  b[o + 3] = 0;
  write32(b, o + 4, rest >>> 0);
  write16(b, o + 2, internetChecksum(b, o, len));
}

/** rest-of-header for echo: id and sequence. */
export function echoRest(id: number, sequence: number): number {
  return (((id & 0xffff) << 16) | (sequence & 0xffff)) >>> 0;
}
