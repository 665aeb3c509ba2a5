/**
 * IPv6 router mode with TUN offloads: a TCP/IPv6 super-segment the kernel hands over (GSO TCPV6, partial
 * checksum) for a host behind the virtual router is not "too big" — its wire segments fit — and leaves on an
 * inner link without TSO as those wire segments, cut in software with full checksums (Linux forwards a GRO'd
 * skb the same way: skb_gso_validate_network_len, then GSO on the way out).
 */
import { describe, it, expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { pumpAll } from '../../src/link/memory.js';
import { buildTopology, loadTopology } from '../../src/topology.js';
import '../../src/services-all.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { IPV6_HEADER, NextHeader, emitIpv6, type Ipv6Words } from '../../src/wire/ipv6.js';
import { TCP_ACK, emitTcp6 } from '../../src/wire/tcp.js';
import { META_CSUM_PARTIAL, META_CSUM_TRUSTED } from '../../src/wire/offload.js';
import { PEER6, words } from '../helpers/frag6.js';

const HOST6 = words('fd77:9::2');

/** A TCP/IPv6 segment from the kernel side to the host behind the router, its checksum partial. */
function superSegment(payload: number, src: Ipv6Words = PEER6, dst: Ipv6Words = HOST6): Uint8Array {
  const p = new Uint8Array(IPV6_HEADER + 20 + payload);
  for (let i = 0; i < payload; i++) p[IPV6_HEADER + 20 + i] = i & 0xff;
  emitTcp6(p, IPV6_HEADER, { srcPort: 40000, dstPort: 9, seq: 1, ack: 1, flags: TCP_ACK, window: 500, urgent: 0, options: undefined, rawOptions: undefined }, payload, src, dst, true);
  emitIpv6(p, { payloadLength: 20 + payload, nextHeader: NextHeader.Tcp, hopLimit: 64, src, dst });
  return p;
}

describe('IPv6 router mode with offloads', () => {
  it('forwards a kernel super-segment to a link without TSO as wire segments with full checksums', async () => {
    const clock = new VirtualClock(0);
    const tun = new Stack({ clock });
    const kernel = new CaptureLink(1500, 'tun0');
    const iface = tun.addInterface(kernel, '10.77.0.2/24', { defaultRoute: true });
    tun.addAddress6(iface, 'fd77::2/64', { defaultRoute: true });
    const spec = loadTopology('router');
    if (spec instanceof Error) throw spec;
    const vn = buildTopology(spec, tun, { clock, realTime: false, autoDeliver: false });
    const host = vn.stacks.get('host')!;
    const seg = superSegment(5000);
    expect(seg.length).toBeGreaterThan(1500);
    tun.receiveBatch(iface, [seg], 1, new Uint32Array([1440 | META_CSUM_PARTIAL | META_CSUM_TRUSTED]));
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((r) => setImmediate(r));
      tun.flush();
      host.flush();
      if (pumpAll(vn.links) === 0) break;
    }
    expect(tun.stats.Ip6.InTooBigErrors).toBe(0);
    expect(tun.stats.Ip6.OutForwDatagrams).toBeGreaterThanOrEqual(1);
    expect(tun.ip6.gsoFallbackPackets).toBe(1);
    // The host got four wire segments (1440 × 3 + 680), each with a checksum it verified.
    expect(host.stats.Tcp.InSegs).toBe(4);
    expect(host.stats.Tcp.InCsumErrors).toBe(0);
  });
});
