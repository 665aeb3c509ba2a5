import { describe, it, expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { pumpAll } from '../../src/link/memory.js';
import { parseIcmp, IcmpType } from '../../src/wire/icmp.js';
import { emitUdp } from '../../src/wire/udp.js';
import { checksumOk } from '../../src/wire/checksum.js';
import { META_CSUM_PARTIAL, META_CSUM_TRUSTED, partialChecksum } from '../../src/wire/offload.js';
import { buildTopology, loadTopology, validateTopology, topologyKernelRoutes, PRESETS, type TopologySpec } from '../../src/topology.js';
import '../../src/services-all.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { echoRequest, ip, ipPacket } from '../helpers/packets.js';
import { cut, evenPieces, header } from '../helpers/frag.js';

/** The TUN stack 10.77.0.2 on a capture link (the "kernel" is the test), the virtual network behind it. */
function net(preset: keyof typeof PRESETS = 'router') {
  const clock = new VirtualClock(0);
  const tun = new Stack({ clock, icmp: { perDestIntervalMs: 0 } });
  const kernel = new CaptureLink(1500, 'tun0');
  tun.addInterface(kernel, '10.77.0.2/24', { defaultRoute: true });
  const spec = loadTopology(preset);
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
  return { clock, tun, kernel, vn, host, send };
}

function udpProbe(ttl: number, dport: number, id = 1, size = 32) {
  const u = new Uint8Array(8 + size);
  emitUdp(u, 0, 45098, dport, u.length, ip('10.77.0.1'), ip('10.77.9.2'));
  return ipPacket(u, { protocol: 17, ttl, id, dst: '10.77.9.2' });
}

function icmpOf(p: Uint8Array) {
  const h = header(p);
  const icmp = parseIcmp(p.subarray(h.headerLength));
  if (typeof icmp === 'string') throw new Error(icmp);
  return { h, icmp };
}

describe('router mode through a virtual network', () => {
  it('traceroute: TTL 1 → time exceeded from 10.77.0.2; TTL 2 → port unreachable from the host', async () => {
    const { send, tun, host } = net();
    const probe1 = udpProbe(1, 33434);
    const [r1, ...rest1] = await send(probe1);
    expect(rest1).toHaveLength(0);
    const e1 = icmpOf(r1!);
    expect([e1.icmp.type, e1.icmp.code]).toEqual([IcmpType.TimeExceeded, 0]);
    expect(e1.h.src).toBe(ip('10.77.0.2'));
    expect(e1.h.dst).toBe(ip('10.77.0.1'));
    expect([...r1!.subarray(28, 28 + 28)]).toEqual([...probe1.subarray(0, 28)]);
    expect(tun.stats.Icmp.OutTimeExcds).toBe(1);
    expect(tun.stats.Ip.InHdrErrors).toBe(1);

    const [r2] = await send(udpProbe(2, 33435, 2));
    const e2 = icmpOf(r2!);
    expect([e2.icmp.type, e2.icmp.code]).toEqual([IcmpType.DestUnreachable, 3]);
    expect(e2.h.src).toBe(ip('10.77.9.2'));
    // the reply crossed the router: TTL 64 - 1, header checksum still valid (RFC 1624 update)
    expect(e2.h.ttl).toBe(63);
    expect(checksumOk(r2!, 0, 20)).toBe(true);
    // the quoted probe arrived at the host with TTL 1
    expect(r2![28 + 8]).toBe(1);
    expect(tun.stats.Ip.ForwDatagrams).toBe(2);
    expect(host.stats.Udp.NoPorts).toBe(1);
  });

  it('ping -t 1 gets time exceeded quoting the echo request; ping through the router is answered', async () => {
    const { send } = net();
    const [r] = await send(echoRequest(7, 1, new Uint8Array(56), { dst: '10.77.9.2', ttl: 1 }));
    expect([icmpOf(r!).icmp.type, icmpOf(r!).icmp.code]).toEqual([11, 0]);
    const [ok] = await send(echoRequest(7, 2, new Uint8Array(56), { dst: '10.77.9.2' }));
    const e = icmpOf(ok!);
    expect(e.icmp.type).toBe(IcmpType.EchoReply);
    expect(e.h.src).toBe(ip('10.77.9.2'));
  });

  it('a fragmented 4000-byte ping crosses the router as fragments, is reassembled by the host, and the reply comes back fragmented', async () => {
    const { send, host, tun } = net();
    const req = echoRequest(9, 1, new Uint8Array(4000).map((_, i) => i & 0xff), { dst: '10.77.9.2', id: 0x4a41 });
    const out = await send(...cut(req, evenPieces(4008, 1480)));
    expect(out.map((p) => p.length)).toEqual([1500, 1500, 1068]);
    expect(host.stats.Ip.ReasmOKs).toBe(1);
    expect(tun.stats.Ip.ReasmReqds).toBe(0); // a router does not reassemble
    expect(tun.stats.Ip.ForwDatagrams).toBe(6);
  });

  it('smaller next-hop MTU: fragments without DF, frag-needed with the next-hop MTU with DF (RFC 1191)', async () => {
    const { send, tun, host } = net('router-small-mtu');
    const big = echoRequest(3, 1, new Uint8Array(1472), { dst: '10.77.9.2' }); // 1500 bytes
    const replies = await send(big);
    // the router split the request for the 1280 link; the host's 1500-byte reply comes back in 2 fragments (host MTU 1280 as well)
    expect(tun.stats.Ip.FragOKs).toBe(1);
    expect(tun.stats.Ip.FragCreates).toBe(2);
    expect(host.stats.Ip.ReasmOKs).toBe(1);
    expect(replies.length).toBe(2);
    const df = echoRequest(3, 2, new Uint8Array(1472), { dst: '10.77.9.2', df: true });
    const [e] = await send(df);
    const m = icmpOf(e!);
    expect([m.icmp.type, m.icmp.code, m.icmp.nextHopMtu]).toEqual([3, 4, 1280]);
    expect(tun.stats.Ip.FragFails).toBe(1);
  });

  it('no route: destination unreachable (net), InNoRoutes', () => {
    const stack = new Stack({ clock: new VirtualClock(0), autoFlush: false, forwarding: true });
    const link = new CaptureLink();
    stack.addInterface(link, '10.1.0.1/24');
    link.inject(echoRequest(1, 1, new Uint8Array(8), { src: '10.1.0.5', dst: '192.0.2.1' }));
    const [e] = link.take();
    expect([icmpOf(e!).icmp.type, icmpOf(e!).icmp.code]).toEqual([3, 0]);
    expect(stack.stats.Ip.InNoRoutes).toBe(1);
  });

  it('without forwarding, datagrams for others are dropped, not forwarded', () => {
    const stack = new Stack({ clock: new VirtualClock(0), autoFlush: false });
    const link = new CaptureLink();
    stack.addInterface(link, '10.1.0.1/24', { defaultRoute: true });
    link.inject(echoRequest(1, 1, new Uint8Array(8), { src: '10.1.0.5', dst: '10.1.0.9' }));
    expect(link.take()).toHaveLength(0);
    expect(stack.stats.drops['ip.not-for-us']).toBe(1);
  });

  it('inner hosts run services: UDP echo and DNS answer through the router', async () => {
    const { send } = net();
    const u = new Uint8Array(8 + 5);
    u.set(new TextEncoder().encode('hello'), 8);
    emitUdp(u, 0, 40000, 7, u.length, ip('10.77.0.1'), ip('10.77.9.2'));
    const [r] = await send(ipPacket(u, { protocol: 17, dst: '10.77.9.2' }));
    const h = header(r!);
    expect(h.protocol).toBe(17);
    expect(new TextDecoder().decode(r!.subarray(28))).toBe('hello');
  });
});

describe('topology files', () => {
  it('kernel routes: every virtual subnet, not the TUN one', () => {
    const spec = loadTopology('router') as TopologySpec;
    expect(topologyKernelRoutes(spec, '10.77.0.2/24')).toEqual(['10.77.9.0/24', 'fd77:9::/64']); // the preset's link carries IPv6 too
    const chain = validateTopology({
      nodes: [{ name: 'tun', forward: true }, { name: 'r2', forward: true }, { name: 'far' }],
      links: [
        { a: 'tun:10.77.9.1/24', b: 'r2:10.77.9.2/24' },
        { a: 'r2:10.77.10.1/24', b: 'far:10.77.10.2/24', mtu: 1000 },
      ],
      routes: [{ node: 'tun', to: '10.77.10.0/24', via: '10.77.9.2' }],
      kernelRoutes: ['10.77.11.0/24'],
    }) as TopologySpec;
    expect(chain).not.toBeInstanceOf(Error);
    expect(topologyKernelRoutes(chain, '10.77.0.2/24')).toEqual(['10.77.9.0/24', '10.77.10.0/24', '10.77.11.0/24']);
  });

  it('a three-hop chain forwards end to end', async () => {
    const clock = new VirtualClock(0);
    const tun = new Stack({ clock });
    const kernel = new CaptureLink(1500);
    tun.addInterface(kernel, '10.77.0.2/24', { defaultRoute: true });
    const spec = validateTopology({
      nodes: [{ name: 'tun', forward: true }, { name: 'r2', forward: true, services: 'none' }, { name: 'far', services: 'none' }],
      links: [
        { a: 'tun:10.77.9.1/24', b: 'r2:10.77.9.2/24' },
        { a: 'r2:10.77.10.1/24', b: 'far:10.77.10.2/24', mtu: 1000 },
      ],
      routes: [{ node: 'tun', to: '10.77.10.0/24', via: '10.77.9.2' }, { node: 'r2', to: '0.0.0.0/0', via: '10.77.9.1' }],
    }) as TopologySpec;
    const vn = buildTopology(spec, tun, { clock, realTime: false, autoDeliver: false });
    kernel.inject(echoRequest(1, 1, new Uint8Array(1200), { dst: '10.77.10.2' }));
    for (let i = 0; i < 10 && pumpAll(vn.links) > 0; i++);
    const out = kernel.take();
    // the far host's MTU is 1000: its 1228-byte reply leaves in two fragments, forwarded twice
    expect(out).toHaveLength(2);
    expect(out.every((p) => header(p).ttl === 62)).toBe(true);
    expect(vn.stacks.get('far')!.stats.Ip.ReasmOKs).toBe(1);
    vn.stop();
  });

  it('reports clear errors', () => {
    const bad: [unknown, RegExp][] = [
      [[], /object/],
      [{ nodes: [] }, /"links"/],
      [{ nodes: [{ name: 'x' }, { name: 'x' }], links: [] }, /twice/],
      [{ nodes: [{ name: 'h' }], links: [{ a: 'tun:10.0.0.1/24', b: 'nope:10.0.0.2/24' }] }, /unknown node 'nope'/],
      [{ nodes: [{ name: 'h' }], links: [{ a: 'tun:10.0.0.1/24', b: 'h:10.0.1.2/24' }] }, /not on one subnet/],
      [{ nodes: [{ name: 'h' }], links: [{ a: 'tun:10.0.0.1', b: 'h:10.0.0.2/24' }] }, /prefix/],
      [{ nodes: [{ name: 'h' }], links: [{ a: 'tun:10.0.0.1/24', b: 'h:10.0.0.2/24', mtu: 20 }] }, /mtu/],
      [{ nodes: [{ name: 'h' }], links: [], routes: [{ node: 'h', to: 'x', via: '1.2.3.4' }] }, /CIDR/],
    ];
    for (const [v, re] of bad) {
      const r = validateTopology(v);
      expect(r).toBeInstanceOf(Error);
      expect((r as Error).message).toMatch(re);
    }
    expect((loadTopology('/nonexistent.json') as Error).message).toMatch(/neither a preset/);
  });
});

describe('forwarding packets that carry TUN offload metadata', () => {
  it('completes a partial UDP checksum from the kernel before forwarding (the host answers the echo)', async () => {
    const { tun, kernel, vn, host } = net();
    // As the kernel hands it over with TUN_F_CSUM: the checksum field holds only the pseudo-header sum.
    const payload = new TextEncoder().encode('partial checksum');
    const u = new Uint8Array(8 + payload.length);
    u.set(payload, 8);
    emitUdp(u, 0, 40000, 7, u.length, ip('10.77.0.1'), ip('10.77.9.2'));
    const pkt = ipPacket(u, { protocol: 17, dst: '10.77.9.2' });
    const partial = partialChecksum(ip('10.77.0.1'), ip('10.77.9.2'), 17, u.length);
    pkt[26] = partial >> 8;
    pkt[27] = partial & 0xff;
    tun.receiveBatch(tun.interfaces[0]!, [pkt], 1, Uint32Array.of(META_CSUM_PARTIAL | META_CSUM_TRUSTED));
    let replies: Uint8Array[] = [];
    for (let i = 0; i < 10 && replies.length === 0; i++) {
      await new Promise<void>((r) => setImmediate(r));
      tun.flush();
      host.flush();
      pumpAll(vn.links);
      replies = kernel.take();
    }
    expect(replies).toHaveLength(1);
    const r = replies[0]!;
    expect(r[9]).toBe(17);
    expect(new TextDecoder().decode(r.subarray(28))).toBe('partial checksum');
    expect(host.stats.Udp.InCsumErrors).toBe(0);
  });
});
