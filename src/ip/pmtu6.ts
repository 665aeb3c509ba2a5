/**
 * The IPv6 path MTU cache (RFC 8201): what Packet Too Big messages taught about destinations. An entry
 * never goes below the IPv6 minimum MTU (§4: a PTB claiming less is ignored by the caller and counted),
 * expires after 10 minutes (§4: an increase is not tried for at least 5 minutes; Linux ip6_rt_mtu_expires =
 * 600 s), and the table is bounded (the oldest entry goes first).
 */
import { IPV6_MIN_MTU } from '../wire/ipv6.js';

/** Linux net.ipv6.route.mtu_expires = 600 s. */
export const PMTU_EXPIRES_MS = 600_000;
const MAX_ENTRIES = 4096;

interface Entry {
  mtu: number;
  expires: number;
}

export class PathMtuCache6 {
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  /** Records `mtu` (≥ 1280, ≤ the current value) for `dst`. */
  learn(dst: readonly number[], mtu: number, now: number): void {
    if (mtu < IPV6_MIN_MTU) return;
    const key = keyOf(dst);
    const e = this.entries.get(key);
    if (e !== undefined && e.expires > now && e.mtu <= mtu) return;
    if (e === undefined && this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { mtu, expires: now + PMTU_EXPIRES_MS });
  }

  /** The path MTU towards `dst`, at most `linkMtu`. */
  mtuFor(dst: readonly number[], linkMtu: number, now: number): number {
    if (this.entries.size === 0) return linkMtu;
    const key = keyOf(dst);
    const e = this.entries.get(key);
    if (e === undefined) return linkMtu;
    if (e.expires <= now) {
      this.entries.delete(key);
      return linkMtu;
    }
    return e.mtu < linkMtu ? e.mtu : linkMtu;
  }
}

function keyOf(a: readonly number[]): string {
  return `${a[0]}:${a[1]}:${a[2]}:${a[3]}`;
}
