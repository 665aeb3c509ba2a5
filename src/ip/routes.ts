/**
 * The route table: longest-prefix match over a short list kept sorted by
 * prefix length (longest first), so the first match wins.
 */
import type { NetInterface } from './interface.js';

export interface Route {
  network: number;
  mask: number;
  prefixLength: number;
  iface: NetInterface;
  /** Next hop, 0 for directly connected (point-to-point links need none). */
  gateway: number;
}

export class RouteTable {
  private routes: Route[] = [];

  add(route: Route): void {
    this.routes = this.routes.filter((r) => !(r.network === route.network && r.prefixLength === route.prefixLength));
    this.routes.push(route);
    this.routes.sort((a, b) => b.prefixLength - a.prefixLength);
  }

  remove(network: number, prefixLength: number): boolean {
    const n = this.routes.length;
    this.routes = this.routes.filter((r) => !(r.network === network && r.prefixLength === prefixLength));
    return this.routes.length !== n;
  }

  /** The most specific route to `dst`, or undefined. */
  lookup(dst: number): Route | undefined {
    const rs = this.routes;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      if (((dst & r.mask) >>> 0) === r.network) return r;
    }
    return undefined;
  }

  list(): readonly Route[] {
    return this.routes;
  }
}
