/**
 * The UDP port table: endpoints bound to (address, port), address 0 meaning
 * any local address; an endpoint may also be connected to one remote
 * (address, port). Binding follows Linux without SO_REUSEADDR: a port is
 * taken for an address when an endpoint holds it on that address or on the
 * wildcard. Lookup picks the best match the way Linux's compute_score does:
 * a connected endpoint matching the remote beats an unconnected one, a
 * specific local address beats the wildcard. Written once over both address families (./family.ts).
 */
import { EPHEMERAL_HIGH, EPHEMERAL_LOW } from '../ip/local-port-range.js';

export { EPHEMERAL_HIGH, EPHEMERAL_LOW };
import type { UdpFamily } from './family.js';

export interface UdpEndpoint<A = number> {
  boundAddress: A;
  boundPort: number;
  /** Any when not connected. */
  peerAddress: A;
  /** 0 when not connected. */
  peerPort: number;
}


export class UdpPortTable<T extends UdpEndpoint<A>, A = number> {
  private readonly byPort = new Map<number, T[]>();
  private count = 0;

  constructor(private readonly family: UdpFamily<A>) {}

  get size(): number {
    return this.count;
  }

  /** Could an endpoint bind (address, port) now? */
  isFree(address: A, port: number): boolean {
    const list = this.byPort.get(port);
    if (!list) return true;
    const f = this.family;
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!.boundAddress;
      if (f.isAny(a) || f.isAny(address) || f.equal(a, address)) return false;
    }
    return true;
  }

  add(e: T): void {
    let list = this.byPort.get(e.boundPort);
    if (!list) {
      list = [];
      this.byPort.set(e.boundPort, list);
    }
    list.push(e);
    this.count++;
  }

  remove(e: T): boolean {
    const list = this.byPort.get(e.boundPort);
    if (!list) return false;
    const i = list.indexOf(e);
    if (i < 0) return false;
    list.splice(i, 1);
    if (list.length === 0) this.byPort.delete(e.boundPort);
    this.count--;
    return true;
  }

  /** The endpoint a datagram (remote → local) belongs to, or undefined. */
  lookup(boundAddress: A, boundPort: number, peerAddress: A, peerPort: number): T | undefined {
    const list = this.byPort.get(boundPort);
    if (!list) return undefined;
    const f = this.family;
    let best: T | undefined;
    let bestScore = -1;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      let score = 0;
      if (!f.isAny(e.boundAddress)) {
        if (!f.equal(e.boundAddress, boundAddress)) continue;
        score += 1;
      }
      if (e.peerPort !== 0) {
        if (!f.equal(e.peerAddress, peerAddress) || e.peerPort !== peerPort) continue;
        score += 2;
      }
      if (score > bestScore) {
        best = e;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * A free ephemeral port for `address` in [low, high], starting at a random
   * point and probing upwards like Linux; 0 when the range is exhausted.
   */
  ephemeral(address: A, random: () => number, low = EPHEMERAL_LOW, high = EPHEMERAL_HIGH): number {
    const span = high - low + 1;
    const start = Math.floor(random() * span);
    for (let k = 0; k < span; k++) {
      const port = low + ((start + k) % span);
      if (this.isFree(address, port)) return port;
    }
    return 0;
  }

  /** Every endpoint, ordered by port. */
  list(): T[] {
    const out: T[] = [];
    const ports = [...this.byPort.keys()].sort((a, b) => a - b);
    for (const p of ports) out.push(...this.byPort.get(p)!);
    return out;
  }
}
