/**
 * What an ICMP Destination Unreachable about one of our datagrams or segments means to the socket that sent
 * it (Linux icmp_err_convert, net/ipv4/icmp.c): an errno and whether the error is hard (reported at once) or
 * soft. One table for UDP and TCP; `icmpErrno` covers the other error types.
 */
import { IcmpType } from '../wire/icmp.js';

/** The errno names an ICMP error turns into. */
export type IcmpErrno = 'ENETUNREACH' | 'EHOSTUNREACH' | 'ENOPROTOOPT' | 'ECONNREFUSED' | 'EMSGSIZE' | 'EPROTO';

/** By Destination Unreachable code (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1): errno, hard. */
const UNREACH: readonly (readonly [IcmpErrno, boolean])[] = [
  ['ENETUNREACH', false], // 0 net
  ['EHOSTUNREACH', false], // 1 host
  ['ENOPROTOOPT', true], // 2 protocol
  ['ECONNREFUSED', true], // 3 port
  ['EMSGSIZE', true], // 4 fragmentation needed (TCP lowers its path MTU instead; Linux makes it hard for UDP)
  ['EHOSTUNREACH', false], // 5 source route failed
  ['ENETUNREACH', true], // 6 net unknown
  ['EHOSTUNREACH', true], // 7 host unknown
  ['EHOSTUNREACH', true], // 8 host isolated (Linux ENONET)
  ['ENETUNREACH', true], // 9 net prohibited
  ['EHOSTUNREACH', true], // 10 host prohibited
  ['ENETUNREACH', false], // 11 net TOS
  ['EHOSTUNREACH', false], // 12 host TOS
  ['EHOSTUNREACH', true], // 13 administratively prohibited
  ['EHOSTUNREACH', true], // 14 precedence violation
  ['EHOSTUNREACH', true], // 15 precedence cut-off
];

/** A code beyond the table: host unreachable, soft. */
const UNKNOWN_CODE: readonly [IcmpErrno, boolean] = ['EHOSTUNREACH', false];

/** Errno and hardness of a Destination Unreachable `code` (no allocation: a row of the table). */
export function unreachableError(code: number): readonly [IcmpErrno, boolean] {
  return UNREACH[code] ?? UNKNOWN_CODE;
}

/** Time Exceeded (TTL or reassembly): host unreachable, soft (Linux __udp4_lib_err and tcp_v4_err). */
const TIME_EXCEEDED: readonly [IcmpErrno, boolean] = ['EHOSTUNREACH', false];
/** Parameter Problem: EPROTO, hard (Linux __udp4_lib_err; tcp_v4_err). */
const PARAMETER_PROBLEM: readonly [IcmpErrno, boolean] = ['EPROTO', true];

/** Errno and hardness of any ICMP error about our datagram (`type`, `code`); other types: host unreachable, soft. */
export function icmpErrno(type: number, code: number): readonly [IcmpErrno, boolean] {
  if (type === IcmpType.DestUnreachable) return unreachableError(code);
  if (type === IcmpType.TimeExceeded) return TIME_EXCEEDED;
  if (type === IcmpType.ParameterProblem) return PARAMETER_PROBLEM;
  return UNKNOWN_CODE;
}
