/** Builders for test packets (not used by the stack itself). */
import { emitIpv4 } from '../../src/wire/ipv4.js';
import { emitIcmp, echoRest, IcmpType } from '../../src/wire/icmp.js';

export function ip(a: string): number {
  return a.split('.').reduce((v, o) => v * 256 + Number(o), 0) >>> 0;
}

export interface IpFields {
  src?: string;
  dst?: string;
  protocol?: number;
  ttl?: number;
  id?: number;
  df?: boolean;
  mf?: boolean;
  offset?: number;
  options?: Uint8Array;
}

export function ipPacket(payload: Uint8Array, f: IpFields = {}): Uint8Array {
  const hl = 20 + (f.options?.length ?? 0);
  const b = new Uint8Array(hl + payload.length);
  b.set(payload, hl);
  emitIpv4(b, 0, {
    totalLength: b.length,
    id: f.id ?? 1,
    dontFragment: f.df ?? false,
    moreFragments: f.mf ?? false,
    fragmentOffset: f.offset ?? 0,
    ttl: f.ttl ?? 64,
    protocol: f.protocol ?? 1,
    src: ip(f.src ?? '10.77.0.1'),
    dst: ip(f.dst ?? '10.77.0.2'),
    ...(f.options ? { options: f.options } : {}),
  });
  return b;
}

export function echoRequest(id: number, seq: number, data: Uint8Array, f: IpFields = {}): Uint8Array {
  const icmp = new Uint8Array(8 + data.length);
  icmp.set(data, 8);
  emitIcmp(icmp, 0, icmp.length, IcmpType.Echo, 0, echoRest(id, seq));
  return ipPacket(icmp, { ...f, protocol: 1 });
}
