/**
 * ICMPv6 (RFC 4443): the 4-byte common header (type, code, checksum over the IPv6 pseudo-header) and the
 * message types the stack speaks or must recognise. Pure: parse and emit over caller-owned bytes.
 */
import { checksumOk, internetChecksum } from './checksum.js';
import { read16, write16 } from './bytes.js';
import { NextHeader, pseudoHeaderSum6 } from './ipv6.js';

export const ICMP6_HEADER = 4;

export const Icmp6Type = {
  DestUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  MldQuery: 130,
  MldReport: 131,
  MldDone: 132,
  RouterSolicit: 133,
  RouterAdvert: 134,
  NeighborSolicit: 135,
  NeighborAdvert: 136,
  Redirect: 137,
  Mldv2Report: 143,
} as const;

/** RFC 4443 §3.1 codes. */
export const Unreach6Code = { NoRoute: 0, AdminProhibited: 1, BeyondScope: 2, Address: 3, Port: 4 } as const;
/** RFC 4443 §3.4 codes. */
export const ParamProblemCode = { Header: 0, NextHeader: 1, Option: 2 } as const;

/** RFC 4443 §2.1: types 0..127 are errors. */
export function isIcmp6Error(type: number): boolean {
  return type < 128;
}

/** The Neighbor Discovery and MLD types (RFC 4861, RFC 3810): link-layer business, absent on a layer-3 TUN. */
export function isLinkLayerIcmp6(type: number): boolean {
  return (type >= Icmp6Type.MldQuery && type <= Icmp6Type.Redirect) || type === Icmp6Type.Mldv2Report;
}

/** Verifies the checksum of an ICMPv6 message at bytes[start, start+len) between `src` and `dst`. */
export function icmp6ChecksumOk(bytes: Uint8Array, start: number, len: number, src: readonly number[], dst: readonly number[]): boolean {
  return checksumOk(bytes, start, len, pseudoHeaderSum6(src, dst, NextHeader.Icmp6, len));
}

/** Writes type, code and the checksum of the message at bytes[start, start+len) (the body already in place). */
export function finishIcmp6(bytes: Uint8Array, start: number, len: number, type: number, code: number, src: readonly number[], dst: readonly number[]): void {
  bytes[start] = type;
  bytes[start + 1] = code;
  write16(bytes, start + 2, 0);
  write16(bytes, start + 2, internetChecksum(bytes, start, len, pseudoHeaderSum6(src, dst, NextHeader.Icmp6, len)));
}

/** Echo identifier and sequence (RFC 4443 §4.1), from the message at bytes[start..]. */
export function echoId6(bytes: Uint8Array, start: number): number {
  return read16(bytes, start + 4);
}
export function echoSeq6(bytes: Uint8Array, start: number): number {
  return read16(bytes, start + 6);
}
