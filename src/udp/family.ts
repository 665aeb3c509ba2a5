/**
 * The address families a UDP socket speaks (Node's `udp4` and `udp6` socket types): how an address is
 * parsed, printed, compared and what "any" is. IPv4 addresses are 32-bit numbers, IPv6 addresses four
 * 32-bit words (src/wire/ipv6.ts); the socket and the port table are written once over either.
 */
import { ipToString } from '../wire/bytes.js';
import { parseAddress } from '../ip/address.js';
import { formatIpv6, isUnspecified6, parseIpv6, wordsEqual, type Ipv6Words } from '../wire/ipv6.js';

export interface UdpFamily<A> {
  readonly type: 'udp4' | 'udp6';
  readonly name: 'IPv4' | 'IPv6';
  /** The wildcard address (INADDR_ANY, in6addr_any). */
  readonly any: A;
  /** Node's default destination when none is given (`localhost`). */
  readonly loopbackText: string;
  /** Largest payload: 65,535 less the headers counted in the length field (IPv4's 20 + 8; IPv6's 8). */
  readonly maxPayload: number;
  isAny(a: A): boolean;
  equal(a: A, b: A): boolean;
  parse(text: string): A | Error;
  format(a: A): string;
}

export const UDP4: UdpFamily<number> = {
  type: 'udp4',
  name: 'IPv4',
  any: 0,
  loopbackText: '127.0.0.1',
  maxPayload: 65507,
  isAny: (a) => a === 0,
  equal: (a, b) => a === b,
  parse: (t) => (t === '' || t === '0.0.0.0' ? 0 : parseAddress(t)),
  format: ipToString,
};

const ANY6: Ipv6Words = [0, 0, 0, 0];

export const UDP6: UdpFamily<Ipv6Words> = {
  type: 'udp6',
  name: 'IPv6',
  any: ANY6,
  loopbackText: '::1',
  maxPayload: 65527,
  isAny: isUnspecified6,
  equal: wordsEqual,
  // Node accepts a scope (`fe80::1%eth0`); there is one link here, the scope is ignored.
  parse: (t) => (t === '' ? ANY6 : parseIpv6(t.replace(/%.*$/, ''))),
  format: formatIpv6,
};
