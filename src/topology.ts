/**
 * A virtual network behind the TUN: several Stack instances in one process
 * joined by MemoryLinks (delivered on a microtask, in real time). The stack
 * on the TUN is the node named `tun`; it may forward (router mode) to the
 * others. Described by a small JSON file (`--topology FILE.json`) or a preset
 * (`--topology router`):
 *
 *   {
 *     "nodes": [
 *       { "name": "tun", "forward": true },
 *       { "name": "host", "services": "all", "hostnames": ["host.tunstack.test"] }
 *     ],
 *     "links": [ { "a": "tun:10.77.9.1/24", "b": "host:10.77.9.2/24", "mtu": 1500,
 *                  "a6": "fd77:9::1/64", "b6": "fd77:9::2/64" } ],
 *     "routes": [ { "node": "host", "to": "0.0.0.0/0", "via": "10.77.9.1" } ]
 *   }
 *
 * A node other than `tun` without a default route gets one through its first
 * link (and an IPv6 one through its first link with an IPv6 address: `a6`/`b6`
 * put IPv6 addresses on a link's ends). The kernel needs routes to the virtual
 * subnets through the TUN: every link subnet (IPv6 ones included) and every
 * `to` of the tun node's routes, plus `kernelRoutes`.
 */
import { readFileSync, existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { TimerQueue, type Clock } from './clock.js';
import { Stack, type StackOptions } from './stack.js';
import { MemoryLink } from './link/memory.js';
import { parseAddress, parseCidr, maskOf } from './ip/address.js';
import { ipToString } from './wire/bytes.js';
import { formatIpv6, parseIpv6Cidr } from './wire/ipv6.js';
import { maskWords } from './ip/ipv6.js';
import { resolveServices } from './services.js';
import type { NetInterface } from './ip/interface.js';

export const TUN_NODE = 'tun';

export interface TopologyNode {
  name: string;
  /** Router mode (forward datagrams not addressed to this node). */
  forward?: boolean;
  /** Built-in services on this node (`all`, `none`, or a list); default `all`. Ignored for `tun` (the CLI's --services rules). */
  services?: string;
  /** Extra DNS names of this node. */
  hostnames?: string[];
}

export interface TopologyLink {
  /** `node:address/prefix`, e.g. `tun:10.77.9.1/24`. */
  a: string;
  b: string;
  mtu?: number;
  /** IPv6 addresses of the two ends (`fd77:9::1/64`), optional. */
  a6?: string;
  b6?: string;
}

export interface TopologyRoute {
  node: string;
  /** Destination CIDR. */
  to: string;
  /** Gateway: an address on one of the node's link subnets. */
  via: string;
}

export interface TopologySpec {
  nodes: TopologyNode[];
  links: TopologyLink[];
  routes?: TopologyRoute[];
  /** Extra CIDRs the kernel routes through the TUN. */
  kernelRoutes?: string[];
}

/** Built-in topologies. */
export const PRESETS: Record<string, TopologySpec> = {
  /** The TUN stack 10.77.0.2 routes for a host 10.77.9.2 on 10.77.9.0/24. */
  router: {
    nodes: [
      { name: TUN_NODE, forward: true },
      { name: 'host', services: 'all', hostnames: ['host.tunstack.test'] },
    ],
    links: [{ a: 'tun:10.77.9.1/24', b: 'host:10.77.9.2/24', mtu: 1500, a6: 'fd77:9::1/64', b6: 'fd77:9::2/64' }],
    routes: [{ node: 'host', to: '0.0.0.0/0', via: '10.77.9.1' }],
  },
  /** Like `router`, but the inner link has a 1280-byte MTU: the router fragments (or answers DF packets with frag-needed). */
  'router-small-mtu': {
    nodes: [
      { name: TUN_NODE, forward: true },
      { name: 'host', services: 'all', hostnames: ['host.tunstack.test'] },
    ],
    links: [{ a: 'tun:10.77.9.1/24', b: 'host:10.77.9.2/24', mtu: 1280 }],
    routes: [{ node: 'host', to: '0.0.0.0/0', via: '10.77.9.1' }],
  },
};

interface End {
  node: string;
  cidr: string;
  address: number;
  network: number;
  prefixLength: number;
}

function parseEnd(text: unknown, where: string): End | Error {
  if (typeof text !== 'string') return new Error(`${where}: expected "node:address/prefix"`);
  const i = text.indexOf(':');
  if (i <= 0) return new Error(`${where}: expected "node:address/prefix", got '${text}'`);
  const node = text.slice(0, i);
  const cidr = text.slice(i + 1);
  if (!cidr.includes('/')) return new Error(`${where}: '${text}' needs a prefix length (e.g. /24)`);
  const c = parseCidr(cidr);
  if (c instanceof Error) return new Error(`${where}: ${c.message}`);
  return { node, cidr, address: c.address, network: c.network, prefixLength: c.prefixLength };
}

/** Checks a parsed JSON value; returns the spec or an Error naming the first problem. */
export function validateTopology(v: unknown): TopologySpec | Error {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return new Error('topology: expected a JSON object');
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o['nodes']) || !Array.isArray(o['links'])) return new Error('topology: needs "nodes" and "links" arrays');
  const names = new Set<string>();
  const nodes: TopologyNode[] = [];
  for (const [i, n] of (o['nodes'] as unknown[]).entries()) {
    if (typeof n !== 'object' || n === null) return new Error(`topology: nodes[${i}] is not an object`);
    const r = n as Record<string, unknown>;
    const name = r['name'];
    if (typeof name !== 'string' || !/^[a-zA-Z0-9_-]{1,32}$/.test(name)) return new Error(`topology: nodes[${i}].name must be a short identifier`);
    if (names.has(name)) return new Error(`topology: node '${name}' defined twice`);
    names.add(name);
    if (r['forward'] !== undefined && typeof r['forward'] !== 'boolean') return new Error(`topology: ${name}.forward must be true or false`);
    if (r['services'] !== undefined && typeof r['services'] !== 'string') return new Error(`topology: ${name}.services must be a string`);
    const hn = r['hostnames'];
    if (hn !== undefined && !(Array.isArray(hn) && hn.every((x) => typeof x === 'string'))) return new Error(`topology: ${name}.hostnames must be an array of strings`);
    nodes.push({
      name,
      ...(r['forward'] !== undefined ? { forward: r['forward'] as boolean } : {}),
      ...(r['services'] !== undefined ? { services: r['services'] as string } : {}),
      ...(hn !== undefined ? { hostnames: hn as string[] } : {}),
    });
  }
  if (!names.has(TUN_NODE)) nodes.unshift({ name: TUN_NODE });
  names.add(TUN_NODE);
  const links: TopologyLink[] = [];
  const addrs = new Set<number>();
  for (const [i, l] of (o['links'] as unknown[]).entries()) {
    if (typeof l !== 'object' || l === null) return new Error(`topology: links[${i}] is not an object`);
    const r = l as Record<string, unknown>;
    const a = parseEnd(r['a'], `links[${i}].a`);
    if (a instanceof Error) return new Error(`topology: ${a.message}`);
    const b = parseEnd(r['b'], `links[${i}].b`);
    if (b instanceof Error) return new Error(`topology: ${b.message}`);
    for (const e of [a, b]) {
      if (!names.has(e.node)) return new Error(`topology: links[${i}] names an unknown node '${e.node}'`);
      if (addrs.has(e.address)) return new Error(`topology: address ${ipToString(e.address)} used twice`);
      addrs.add(e.address);
    }
    if (a.node === b.node) return new Error(`topology: links[${i}] joins '${a.node}' to itself`);
    if (a.network !== b.network || a.prefixLength !== b.prefixLength) return new Error(`topology: links[${i}]: ${a.cidr} and ${b.cidr} are not on one subnet`);
    const mtu = r['mtu'];
    if (mtu !== undefined && (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) return new Error(`topology: links[${i}].mtu must be an integer in 68..65535`);
    const six: { a6?: string; b6?: string } = {};
    for (const k of ['a6', 'b6'] as const) {
      const v = r[k];
      if (v === undefined) continue;
      if (typeof v !== 'string' || !v.includes('/') || parseIpv6Cidr(v, 128) instanceof Error) return new Error(`topology: links[${i}].${k} must be an IPv6 address with a prefix (e.g. fd77:9::1/64)`);
      six[k] = v;
    }
    if ((six.a6 === undefined) !== (six.b6 === undefined)) return new Error(`topology: links[${i}]: a6 and b6 go together`);
    if (six.a6 !== undefined && six.b6 !== undefined && prefix6(six.a6) !== prefix6(six.b6)) return new Error(`topology: links[${i}]: ${six.a6} and ${six.b6} are not on one subnet`);
    links.push({ a: r['a'] as string, b: r['b'] as string, ...(mtu !== undefined ? { mtu: mtu as number } : {}), ...six });
  }
  const routes: TopologyRoute[] = [];
  if (o['routes'] !== undefined) {
    if (!Array.isArray(o['routes'])) return new Error('topology: "routes" must be an array');
    for (const [i, x] of (o['routes'] as unknown[]).entries()) {
      const r = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
      const node = r['node'];
      const to = r['to'];
      const via = r['via'];
      if (typeof node !== 'string' || !names.has(node)) return new Error(`topology: routes[${i}].node must name a node`);
      if (typeof to !== 'string' || parseCidr(to) instanceof Error) return new Error(`topology: routes[${i}].to must be a CIDR`);
      if (typeof via !== 'string' || parseAddress(via) instanceof Error) return new Error(`topology: routes[${i}].via must be an address`);
      routes.push({ node, to, via });
    }
  }
  const kernelRoutes: string[] = [];
  if (o['kernelRoutes'] !== undefined) {
    const k = o['kernelRoutes'];
    if (!Array.isArray(k) || !k.every((x) => typeof x === 'string' && !(parseCidr(x) instanceof Error))) return new Error('topology: "kernelRoutes" must be an array of CIDRs');
    kernelRoutes.push(...(k as string[]));
  }
  return { nodes, links, routes, kernelRoutes };
}

/** A preset name or a JSON file path → a validated spec. */
export function loadTopology(nameOrFile: string): TopologySpec | Error {
  const preset = PRESETS[nameOrFile];
  if (preset) return validateTopology(preset);
  if (!existsSync(nameOrFile)) return new Error(`--topology: '${nameOrFile}' is neither a preset (${Object.keys(PRESETS).join(', ')}) nor a file`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(nameOrFile, 'utf8'));
  } catch (e) {
    return new Error(`--topology ${nameOrFile}: ${(e as Error).message}`);
  }
  return validateTopology(json);
}

/**
 * The CIDRs the kernel must route through the TUN to reach the virtual
 * network (every link subnet, the tun node's routed destinations, and the
 * spec's kernelRoutes), leaving out the TUN's own subnet.
 */
export function topologyKernelRoutes(spec: TopologySpec, tunCidr: string): string[] {
  const tun = parseCidr(tunCidr);
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (network: number, prefix: number) => {
    if (!(tun instanceof Error) && tun.network === network && tun.prefixLength === prefix) return;
    const s = `${ipToString(network)}/${prefix}`;
    if (!seen.has(s)) {
      seen.add(s);
      out.push(s);
    }
  };
  for (const l of spec.links) {
    const a = parseEnd(l.a, 'link');
    if (!(a instanceof Error)) add(a.network, a.prefixLength);
    if (l.a6 !== undefined) {
      const p6 = prefix6(l.a6);
      if (!seen.has(p6)) {
        seen.add(p6);
        out.push(p6);
      }
    }
  }
  for (const r of spec.routes ?? []) {
    if (r.node !== TUN_NODE) continue;
    const c = parseCidr(r.to);
    if (!(c instanceof Error) && c.prefixLength > 0) add(c.network, c.prefixLength);
  }
  for (const k of spec.kernelRoutes ?? []) {
    const c = parseCidr(k);
    if (!(c instanceof Error)) add(c.network, c.prefixLength);
  }
  return out;
}

export interface BuildOptions {
  clock: Clock;
  logger?: Logger;
  /** Options for the inner stacks (reassembly, ICMP, UDP). */
  stackOptions?: Omit<StackOptions, 'clock' | 'timers' | 'logger' | 'forwarding'>;
  /** Drive the inner stacks' timers from the real clock (default true; tests on a virtual clock pass false). */
  realTime?: boolean;
  /** autoDeliver on the memory links (default true: real time). */
  autoDeliver?: boolean;
}

export interface VirtualNetwork {
  /** Every node's stack, the tun node's included. */
  stacks: Map<string, Stack>;
  links: MemoryLink[];
  /** Stops the inner nodes' services and stacks (not the tun stack). */
  stop(): void;
}

/** Builds the virtual network around `tunStack` (the node `tun`); throws an Error with a clear message when the spec cannot be built. */
export function buildTopology(spec: TopologySpec, tunStack: Stack, opts: BuildOptions): VirtualNetwork {
  const stacks = new Map<string, Stack>();
  const stops: (() => void)[] = [];
  const links: MemoryLink[] = [];
  stacks.set(TUN_NODE, tunStack);
  for (const n of spec.nodes) {
    if (n.name === TUN_NODE) {
      if (n.forward) tunStack.setForwarding(true);
      continue;
    }
    const child = opts.logger?.child({ node: n.name });
    const s = new Stack({
      ...opts.stackOptions,
      clock: opts.clock,
      timers: new TimerQueue(),
      ...(child ? { logger: child } : {}),
      forwarding: n.forward ?? false,
    });
    stacks.set(n.name, s);
  }
  const ifaces = new Map<string, NetInterface[]>();
  for (const [i, l] of spec.links.entries()) {
    const a = parseEnd(l.a, `links[${i}].a`);
    const b = parseEnd(l.b, `links[${i}].b`);
    if (a instanceof Error) throw a;
    if (b instanceof Error) throw b;
    const [la, lb] = MemoryLink.pair({ mtu: l.mtu ?? 1500, autoDeliver: opts.autoDeliver ?? true, names: [`${a.node}-${b.node}`, `${b.node}-${a.node}`] });
    links.push(la, lb);
    for (const [end, link, six] of [[a, la, l.a6], [b, lb, l.b6]] as const) {
      const iface = stacks.get(end.node)!.addInterface(link, end.cidr, { name: link.name });
      if (six !== undefined) stacks.get(end.node)!.addAddress6(iface, six);
      const list = ifaces.get(end.node) ?? [];
      list.push(iface);
      ifaces.set(end.node, list);
    }
  }
  for (const r of spec.routes ?? []) {
    const s = stacks.get(r.node)!;
    const via = parseAddress(r.via) as number;
    const iface = (ifaces.get(r.node) ?? []).find((f) => ((via & f.mask) >>> 0) === f.network);
    if (!iface) throw new Error(`topology: ${r.node} has no link on the subnet of ${r.via}`);
    s.addRoute(r.to, iface, via);
  }
  // A node without a default route gets one through its first link.
  for (const [name, s] of stacks) {
    if (name === TUN_NODE) continue;
    const first = ifaces.get(name)?.[0];
    if (first && !s.ip.routes.list().some((r) => r.prefixLength === 0)) s.ip.routes.add({ network: 0, mask: maskOf(0), prefixLength: 0, iface: first, gateway: 0 });
    const first6 = s.ip6.addressList[0];
    if (first6 !== undefined) s.addRoute6('::/0', first6.iface);
  }
  for (const n of spec.nodes) {
    if (n.name === TUN_NODE) continue;
    const s = stacks.get(n.name)!;
    const services = resolveServices(n.services ?? 'all');
    if (services instanceof Error) throw new Error(`topology: ${n.name}.services: ${services.message}`);
    for (const svc of services) stops.push(svc.start(s, { hostnames: n.hostnames ?? [] }));
    if (opts.realTime ?? true) s.startRealTime();
    opts.logger?.info({ node: n.name, addresses: s.interfaces.map((f) => `${ipToString(f.address)}/${f.prefixLength}`), forward: n.forward ?? false }, 'virtual node up');
  }
  let stopped = false;
  return {
    stacks,
    links,
    stop() {
      if (stopped) return;
      stopped = true;
      for (const st of stops) st();
      for (const [name, s] of stacks) if (name !== TUN_NODE) s.close();
    },
  };
}

/** The network of an IPv6 CIDR, as text (`fd77:9::1/64` → `fd77:9::/64`). */
function prefix6(cidr: string): string {
  const c = parseIpv6Cidr(cidr, 128);
  if (c instanceof Error) return cidr;
  return `${formatIpv6(maskWords(c.address, c.prefixLength))}/${c.prefixLength}`;
}
