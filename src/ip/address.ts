/**
 * Address and CIDR parsing for configuration (through ip-num), producing the
 * 32-bit numbers the packet path works with. Never used per packet.
 */
import { IPv4, IPv4CidrRange, Validator } from 'ip-num';

export interface Cidr {
  /** The address as written (may have host bits set, e.g. 10.77.0.2/24). */
  address: number;
  prefixLength: number;
  /** Network address (host bits cleared). */
  network: number;
  mask: number;
}

export function maskOf(prefixLength: number): number {
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}

/** Parses a dotted quad; returns an Error with a clear message when it is not one. */
export function parseAddress(text: string): number | Error {
  const [ok, why] = Validator.isValidIPv4String(text);
  if (!ok) return new Error(`not an IPv4 address: '${text}'${why.length ? ` (${why.join('; ')})` : ''}`);
  return Number(IPv4.fromDecimalDottedString(text).getValue());
}

/** Parses `A.B.C.D/P` (a bare address means /32). */
export function parseCidr(text: string): Cidr | Error {
  const withPrefix = text.includes('/') ? text : `${text}/32`;
  const [slash] = [withPrefix.indexOf('/')];
  const addrText = withPrefix.slice(0, slash);
  const address = parseAddress(addrText);
  if (address instanceof Error) return address;
  const [ok, why] = Validator.isValidIPv4CidrNotation(withPrefix);
  if (!ok) return new Error(`not an IPv4 CIDR: '${text}'${why.length ? ` (${why.join('; ')})` : ''}`);
  const range = IPv4CidrRange.fromCidr(withPrefix);
  const prefixLength = Number(range.getPrefix().getValue());
  return { address, prefixLength, network: Number(range.getFirst().getValue()), mask: maskOf(prefixLength) };
}
