/**
 * UDP over IPv6 (RFC 8200 §8.1): the pseudo-header checksum, zero checksum refused, `udp6` sockets, port
 * unreachable (RFC 4443 §3.1) rate-limited, ICMPv6 errors reaching the socket whose datagram they quote
 * only when the quote is one we could have sent (RFC 5927), the echo and DNS (AAAA) services over IPv6.
 */
import { describe, it, expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { IPV6_HEADER, Ipv6Header, NextHeader, decodeIpv6, formatIpv6, pseudoHeaderSum6, type Ipv6Words } from '../../src/wire/ipv6.js';
import { Icmp6Type, finishIcmp6, icmp6ChecksumOk } from '../../src/wire/icmp6.js';
import { emitUdp6 } from '../../src/wire/udp.js';
import { checksumOk } from '../../src/wire/checksum.js';
import { startUdpEcho } from '../../src/services/udp-echo.js';
import { startDns } from '../../src/services/dns.js';
import type { IcmpErrorInfo } from '../../src/udp/socket.js';
import { socketTable } from '../../src/control/sockets.js';
import { PEER6, STACK6, packet6, words } from '../helpers/frag6.js';

function setup(perDestIntervalMs = 0) {
  const clock = new VirtualClock(1000);
  const stack = new Stack({ clock, autoFlush: false, icmp: { perDestIntervalMs } });
  const link = new CaptureLink();
  const iface = stack.addInterface(link, '10.77.0.2/24', { defaultRoute: true });
  stack.addAddress6(iface, 'fd77::2/64', { defaultRoute: true });
  return { clock, stack, link };
}

function udp6(sport: number, dport: number, payload: Uint8Array, src: Ipv6Words = PEER6, dst: Ipv6Words = STACK6): Uint8Array {
  const u = new Uint8Array(8 + payload.length);
  u.set(payload, 8);
  emitUdp6(u, 0, sport, dport, u.length, src, dst);
  return packet6({ nextHeader: NextHeader.Udp, payload: u, src, dst });
}

function header(p: Uint8Array): Ipv6Header {
  const h = new Ipv6Header();
  expect(decodeIpv6(p, h)).toBeUndefined();
  return h;
}

const flushMicrotasks = () => new Promise<void>((r) => setImmediate(r));

describe('UDP over IPv6', () => {
  it('a udp6 socket receives with rinfo family IPv6 and answers with a valid pseudo-header checksum', async () => {
    const { stack, link } = setup();
    const sock = stack.udp6.createSocket();
    const got: { msg: string; address: string; family: string; port: number }[] = [];
    sock.on('message', (msg, rinfo) => {
      got.push({ msg: msg.toString(), address: rinfo.address, family: rinfo.family, port: rinfo.port });
      sock.send(msg, rinfo.port, rinfo.address);
    });
    sock.bind(5000);
    await flushMicrotasks();
    expect(sock.address()).toEqual({ address: '::', family: 'IPv6', port: 5000 });
    link.inject(udp6(40000, 5000, new TextEncoder().encode('hello6')));
    await flushMicrotasks();
    stack.flush();
    expect(got).toEqual([{ msg: 'hello6', address: 'fd77::1', family: 'IPv6', port: 40000 }]);
    const [out] = link.take();
    const h = header(out!);
    expect(h.nextHeader).toBe(NextHeader.Udp);
    expect(formatIpv6(h.src)).toBe('fd77::2');
    expect(formatIpv6(h.dst)).toBe('fd77::1');
    const len = out!.length - IPV6_HEADER;
    expect(checksumOk(out!, IPV6_HEADER, len, pseudoHeaderSum6(h.src, h.dst, NextHeader.Udp, len))).toBe(true);
    expect(stack.stats.Udp6.InDatagrams).toBe(1);
    expect(stack.stats.Udp6.OutDatagrams).toBe(1);
    expect(stack.stats.Udp.InDatagrams).toBe(0);
  });

  it('a zero checksum is invalid over IPv6 (RFC 8200 §8.1): counted, dropped, no answer', () => {
    const { stack, link } = setup();
    stack.udp6.createSocket().bind(5001);
    const p = udp6(40000, 5001, new Uint8Array(4));
    p[IPV6_HEADER + 6] = 0;
    p[IPV6_HEADER + 7] = 0;
    link.inject(p);
    const bad = udp6(40000, 5001, new Uint8Array(4));
    bad[bad.length - 1] ^= 1;
    link.inject(bad);
    expect(link.take()).toHaveLength(0);
    expect(stack.stats.drops['udp6.zero-checksum']).toBe(1);
    expect(stack.stats.drops['udp6.bad-checksum']).toBe(1);
    expect(stack.stats.Udp6.InCsumErrors).toBe(2);
  });

  it('a closed port answers Destination Unreachable code 4 quoting the datagram, rate-limited per destination like IPv4', () => {
    const { stack, link } = setup(1000);
    const p = udp6(40000, 33434, new Uint8Array(24));
    link.inject(p);
    const [err] = link.take();
    const h = header(err!);
    expect(icmp6ChecksumOk(err!, IPV6_HEADER, err!.length - IPV6_HEADER, h.src, h.dst)).toBe(true);
    expect([err![IPV6_HEADER], err![IPV6_HEADER + 1]]).toEqual([Icmp6Type.DestUnreachable, 4]);
    expect([...err!.subarray(IPV6_HEADER + 8)]).toEqual([...p]);
    for (let i = 0; i < 20; i++) link.inject(udp6(40000, 33435 + i, new Uint8Array(8)));
    // burst of 6 per destination (the first one above included)
    expect(link.take()).toHaveLength(5);
    expect(stack.stats.Udp6.NoPorts).toBe(21);
    expect(stack.stats.Icmp6.OutRateLimited).toBe(15);
  });

  it('port unreachable quoting our datagram reaches the connected socket as ECONNREFUSED; a forged quote does not', async () => {
    const { stack, link } = setup();
    const sock = stack.udp6.createSocket();
    const errors: Error[] = [];
    const icmps: IcmpErrorInfo[] = [];
    sock.on('error', (e) => errors.push(e));
    sock.on('icmp', (i) => icmps.push(i));
    sock.connect(9999, 'fd77::1');
    await flushMicrotasks();
    sock.send('x');
    stack.flush();
    const [sent] = link.take();
    const unreach = (quote: Uint8Array) => {
      const m = new Uint8Array(8 + quote.length);
      m.set(quote, 8);
      finishIcmp6(m, 0, m.length, Icmp6Type.DestUnreachable, 4, PEER6, STACK6);
      return packet6({ nextHeader: NextHeader.Icmp6, payload: m });
    };
    const forged = sent!.slice();
    forged[IPV6_HEADER] ^= 0x55; // another source port: no socket sent it
    link.inject(unreach(forged));
    const other = sent!.slice();
    other[39] = 0x77; // quoted destination that is not our peer
    link.inject(unreach(other));
    await flushMicrotasks();
    expect(errors).toHaveLength(0);
    expect(stack.stats.drops['udp6.icmp-no-socket']).toBe(2);
    link.inject(unreach(sent!));
    await flushMicrotasks();
    expect(icmps).toHaveLength(1);
    expect(icmps[0]!.from).toBe('fd77::1');
    expect((errors[0] as Error & { code: string }).code).toBe('ECONNREFUSED');
  });

  it('udp6 sockets appear in the socket table (tunstack ss) after the udp4 ones', async () => {
    const { stack } = setup();
    stack.udp.createSocket().bind(5000);
    stack.udp6.createSocket().bind(5000, 'fd77::2');
    await flushMicrotasks();
    const rows = socketTable(stack).udp!;
    expect(rows.map((r) => `${String(r['localAddress'])} ${String(r['localPort'])}`)).toEqual(['0.0.0.0 5000', 'fd77::2 5000']);
  });

  it('bind errors: a foreign address is EADDRNOTAVAIL, a taken port EADDRINUSE', async () => {
    const { stack } = setup();
    const a = stack.udp6.createSocket();
    a.bind(7000);
    const b = stack.udp6.createSocket();
    const errs: string[] = [];
    b.on('error', (e) => errs.push((e as Error & { code: string }).code));
    b.bind(7000, 'fd77::2');
    const c = stack.udp6.createSocket();
    c.on('error', (e) => errs.push((e as Error & { code: string }).code));
    c.bind(7001, 'fd77::99');
    await flushMicrotasks();
    expect(errs).toEqual(['EADDRINUSE', 'EADDRNOTAVAIL']);
  });
});

describe('services over IPv6', () => {
  it('the UDP echo answers over IPv6', async () => {
    const { stack, link } = setup();
    startUdpEcho(stack);
    await flushMicrotasks();
    link.inject(udp6(40001, 7, new TextEncoder().encode('hello6\n')));
    await flushMicrotasks();
    stack.flush();
    const [out] = link.take();
    expect(new TextDecoder().decode(out!.subarray(IPV6_HEADER + 8))).toBe('hello6\n');
  });

  it('DNS answers AAAA (and A) for tunstack.test over IPv6', async () => {
    const { stack, link } = setup();
    startDns(stack);
    await flushMicrotasks();
    const query = (type: number) => {
      const name = [8, ...new TextEncoder().encode('tunstack'), 4, ...new TextEncoder().encode('test'), 0];
      return Uint8Array.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, type, 0, 1]);
    };
    link.inject(udp6(40002, 53, query(28)));
    link.inject(udp6(40003, 53, query(1)));
    await flushMicrotasks();
    stack.flush();
    const [aaaa, a] = link.take().map((p) => p.subarray(IPV6_HEADER + 8));
    expect((aaaa![6]! << 8) | aaaa![7]!).toBe(1);
    const rdata = aaaa!.subarray(aaaa!.length - 16);
    expect(formatIpv6([0, 4, 8, 12].map((k) => ((rdata[k]! << 24) | (rdata[k + 1]! << 16) | (rdata[k + 2]! << 8) | rdata[k + 3]!) >>> 0) as Ipv6Words)).toBe('fd77::2');
    expect([...a!.subarray(a!.length - 4)]).toEqual([10, 77, 0, 2]);
    expect(words('fd77::2')).toEqual(STACK6);
  });
});
