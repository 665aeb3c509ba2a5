/**
 * IPv6 router mode through the virtual network (`--topology router`): what `traceroute -6` sees (hop limit 1
 * → Time Exceeded code 0 from the router's TUN address; 2 → port unreachable from the host), no route →
 * Destination Unreachable code 0, too big for the next link → Packet Too Big with its MTU (never fragmented).
 */
import { describe, it, expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { pumpAll } from '../../src/link/memory.js';
import { buildTopology, loadTopology, validateTopology, type TopologySpec } from '../../src/topology.js';
import '../../src/services-all.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { IPV6_HEADER, Ipv6Header, NextHeader, decodeIpv6, formatIpv6, type Ipv6Words } from '../../src/wire/ipv6.js';
import { Icmp6Type, icmp6ChecksumOk } from '../../src/wire/icmp6.js';
import { emitUdp6 } from '../../src/wire/udp.js';
import { PEER6, packet6, words } from '../helpers/frag6.js';

function net(spec: TopologySpec | Error = loadTopology('router')) {
  const clock = new VirtualClock(0);
  const tun = new Stack({ clock, icmp: { perDestIntervalMs: 0 } });
  const kernel = new CaptureLink(1500, 'tun0');
  const iface = tun.addInterface(kernel, '10.77.0.2/24', { defaultRoute: true });
  tun.addAddress6(iface, 'fd77::2/64', { defaultRoute: true });
  if (spec instanceof Error) throw spec;
  const vn = buildTopology(spec, tun, { clock, realTime: false, autoDeliver: false, stackOptions: { icmp: { perDestIntervalMs: 0 } } });
  const host = vn.stacks.get('host')!;
  const send = async (...packets: Uint8Array[]) => {
    kernel.inject(...packets);
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((r) => setImmediate(r));
      tun.flush();
      host.flush();
      if (pumpAll(vn.links) === 0) break;
    }
    return kernel.take();
  };
  return { tun, host, send };
}

const HOST6 = words('fd77:9::2');

function probe(hopLimit: number, dport: number, size = 32, dst: Ipv6Words = HOST6, src: Ipv6Words = PEER6): Uint8Array {
  const u = new Uint8Array(8 + size);
  emitUdp6(u, 0, 45098, dport, u.length, src, dst);
  return packet6({ nextHeader: NextHeader.Udp, payload: u, hopLimit, dst, src });
}

function icmp(p: Uint8Array) {
  const h = new Ipv6Header();
  expect(decodeIpv6(p, h)).toBeUndefined();
  expect(h.nextHeader).toBe(NextHeader.Icmp6);
  expect(icmp6ChecksumOk(p, IPV6_HEADER, p.length - IPV6_HEADER, h.src, h.dst)).toBe(true);
  const o = IPV6_HEADER;
  return { src: formatIpv6(h.src), dst: formatIpv6(h.dst), type: p[o]!, code: p[o + 1]!, param: ((p[o + 4]! << 24) | (p[o + 5]! << 16) | (p[o + 6]! << 8) | p[o + 7]!) >>> 0 };
}

describe('IPv6 router mode through a virtual network', () => {
  it('traceroute -6: hop limit 1 → Time Exceeded from fd77::2; hop limit 2 → port unreachable from the host', async () => {
    const { send, tun, host } = net();
    const [r1, ...more] = await send(probe(1, 33434));
    expect(more).toHaveLength(0);
    expect(icmp(r1!)).toMatchObject({ src: 'fd77::2', dst: 'fd77::1', type: Icmp6Type.TimeExceeded, code: 0 });
    expect(tun.stats.Ip6.InHdrErrors).toBe(1);
    const [r2] = await send(probe(2, 33435));
    expect(icmp(r2!)).toMatchObject({ src: 'fd77:9::2', dst: 'fd77::1', type: Icmp6Type.DestUnreachable, code: 4 });
    expect(host.stats.Udp6.NoPorts).toBe(1);
    // forwarded twice: the probe in, the error out; the hop limit was decremented on the way in
    expect(tun.stats.Ip6.OutForwDatagrams).toBe(2);
  });

  it('the host answers UDP echo through the router', async () => {
    const { send } = net();
    const [echo] = await send(probe(64, 7));
    const h = new Ipv6Header();
    expect(decodeIpv6(echo!, h)).toBeUndefined();
    expect(formatIpv6(h.src)).toBe('fd77:9::2');
    expect(h.nextHeader).toBe(NextHeader.Udp);
    expect(h.hopLimit).toBe(63); // the host's 64, less the router's hop
  });

  it('no route → Destination Unreachable code 0; bigger than the next link → Packet Too Big with its MTU', async () => {
    const spec = validateTopology({
      nodes: [{ name: 'tun', forward: true }, { name: 'host' }],
      links: [{ a: 'tun:10.77.9.1/24', b: 'host:10.77.9.2/24', mtu: 1280, a6: 'fd77:9::1/64', b6: 'fd77:9::2/64' }],
    });
    const { send, tun } = net(spec);
    // the tun stack routes ::/0 back to the TUN; a destination it has no route for needs a stack without one
    const lone = new Stack({ clock: new VirtualClock(0), icmp: { perDestIntervalMs: 0 }, forwarding: true });
    const k2 = new CaptureLink(1500, 'tun1');
    lone.addAddress6(lone.addInterface(k2, '10.88.0.2/24'), 'fd88::2/64');
    k2.inject(probe(64, 9, 8, words('2001:db8::1'), words('fd88::1')));
    lone.flush();
    expect(icmp(k2.take()[0]!)).toMatchObject({ src: 'fd88::2', type: Icmp6Type.DestUnreachable, code: 0 });
    const [ptb] = await send(probe(64, 9, 1400));
    expect(icmp(ptb!)).toMatchObject({ src: 'fd77::2', type: Icmp6Type.PacketTooBig, code: 0, param: 1280 });
    expect(tun.stats.Ip6.InTooBigErrors).toBe(1);
  });
});
