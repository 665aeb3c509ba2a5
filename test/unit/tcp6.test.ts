/**
 * TCP over IPv6 (RFC 9293 over RFC 8200): connections between two stacks over IPv6, the pseudo-header
 * checksum (§8.1), MSS = MTU − 60, `::` listeners taking IPv4 as ::ffff:a.b.c.d unless IPV6_V6ONLY,
 * bind conflicts between the families, ICMPv6 Packet Too Big lowering the MSS, unreachables ending a
 * handshake, SYN cookies with Linux's IPv6 MSS table, TIME-WAIT, and the address table's sweep.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { Vnet } from '../helpers/vnet.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import type { TcpServer } from '../../src/tcp/server.js';
import { ANY6, TcpAddresses, isV6 } from '../../src/tcp/addresses.js';
import { HashKey } from '../../src/tcp/hash.js';
import { parseIpv6, IPV6_HEADER, decodeIpv6, emitIpv6, Ipv6Header, NextHeader, pseudoHeaderSum6 } from '../../src/wire/ipv6.js';
import { finishIcmp6 } from '../../src/wire/icmp6.js';
import { TcpHeader, decodeTcp, TCP_SYN } from '../../src/wire/tcp.js';
import { SynCookies, COOKIE_MSS_TABLE6 } from '../../src/tcp/syn-cookies.js';

const A6 = 'fd00::1';
const B6 = 'fd00::2';

let net: Vnet | null = null;
afterEach(() => {
  net?.close();
  net = null;
});

function v6net(o: ConstructorParameters<typeof Vnet>[0] = {}): Vnet {
  const n = new Vnet(o);
  n.a.addAddress6(n.a.interfaces[0]!, `${A6}/64`);
  n.b.addAddress6(n.b.interfaces[0]!, `${B6}/64`);
  net = n;
  return n;
}

/** Every IPv6 TCP segment A sends, decoded (the wire taps A's link). */
function tapA(n: Vnet): { h: Ipv6Header; t: TcpHeader; len: number }[] {
  const seen: { h: Ipv6Header; t: TcpHeader; len: number }[] = [];
  const link = n.linkA;
  const send = link.send.bind(link);
  link.send = (packets, count) => {
    for (let i = 0; i < count; i++) {
      const p = packets[i]!;
      if (p[0]! >> 4 !== 6) continue;
      const h = new Ipv6Header();
      if (decodeIpv6(p, h) !== undefined || h.nextHeader !== NextHeader.Tcp) continue;
      const t = new TcpHeader();
      const len = h.payloadLength;
      expect(decodeTcp(p, IPV6_HEADER, len, t, pseudoHeaderSum6(h.src, h.dst, 6, len))).toBeUndefined();
      seen.push({ h, t, len: len - t.headerLength });
    }
    send(packets, count);
  };
  return seen;
}

function echoServer(n: Vnet, listen: Parameters<TcpServer['listen']>[0]): TcpServer {
  const srv = n.b.tcp.createServer((s) => s.pipe(s));
  srv.listen(listen);
  return srv;
}

async function collect(n: Vnet, s: TcpSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let ended = false;
  s.on('data', (d: Buffer) => chunks.push(d));
  s.on('end', () => (ended = true));
  await n.until(() => ended, 600_000, 'end');
  return Buffer.concat(chunks);
}

describe('TCP over IPv6', () => {
  it('echoes a megabyte between two stacks over IPv6, with IPv6 addresses on both sockets', async () => {
    const n = v6net();
    const seen = tapA(n);
    let accepted: TcpSocket | null = null;
    const srv = n.b.tcp.createServer((s) => {
      accepted = s;
      s.pipe(s);
    });
    srv.listen({ port: 7, host: '::' });
    const c = n.a.tcp.connect({ host: B6, port: 7 });
    const data = Buffer.alloc(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
    c.end(data);
    const got = await collect(n, c);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(c.remoteAddress).toBe(B6);
    expect(c.remoteFamily).toBe('IPv6');
    expect(c.localAddress).toBe(A6);
    expect(accepted!.remoteAddress).toBe(A6);
    expect(accepted!.remoteFamily).toBe('IPv6');
    expect(srv.address()).toEqual({ address: '::', family: 'IPv6', port: 7 });
    // The SYN announces MTU − 60 (RFC 8200 §8.3); no segment exceeds the link MTU.
    const syn = seen.find((x) => x.t.flags === TCP_SYN)!;
    expect(syn.t.mss).toBe(1440);
    expect(Math.max(...seen.map((x) => IPV6_HEADER + x.h.payloadLength))).toBeLessThanOrEqual(1500);
    expect(seen.some((x) => x.len === 1428)).toBe(true); // 1440 less 12 bytes of timestamps
  });

  it('a `::` listener takes IPv4 too and shows the peer as ::ffff:a.b.c.d; with ipv6Only it does not', async () => {
    const n = v6net();
    let peer = '';
    const srv = n.b.tcp.createServer((s) => {
      peer = s.remoteAddress ?? '';
      s.end('hi');
    });
    srv.listen({ port: 80 });
    expect(srv.address()).toEqual({ address: '::', family: 'IPv6', port: 80 });
    const c = n.a.tcp.connect({ host: '10.0.0.2', port: 80 });
    expect((await collect(n, c)).toString()).toBe('hi');
    expect(peer).toBe('::ffff:10.0.0.1');
    expect(n.b.tcp.socketTable().find((r) => r.state === 'LISTEN')).toMatchObject({ local: '*:80', peer: '*:*' });
    srv.close();
    await n.run(10);

    const only = n.b.tcp.createServer((s) => s.end('v6'));
    only.listen({ port: 81, host: '::', ipv6Only: true });
    expect(n.b.tcp.socketTable().find((r) => r.state === 'LISTEN')).toMatchObject({ local: '[::]:81', peer: '[::]:*' });
    const refused = n.a.tcp.connect({ host: '10.0.0.2', port: 81 });
    let err: (Error & { code?: string }) | null = null;
    refused.on('error', (e) => (err = e));
    await n.until(() => err !== null, 10_000, 'refusal');
    expect(err!.code).toBe('ECONNREFUSED');
    const ok = n.a.tcp.connect({ host: B6, port: 81 });
    expect((await collect(n, ok)).toString()).toBe('v6');
  });

  it('bind conflicts follow Linux: 0.0.0.0 and a dual-stack :: clash; a v6-only :: and 0.0.0.0 coexist', async () => {
    const n = v6net();
    const errors: string[] = [];
    const listen = (o: Parameters<TcpServer['listen']>[0]): TcpServer => {
      const s = n.b.tcp.createServer(() => {});
      s.on('error', (e: Error & { code?: string }) => errors.push(e.code ?? '?'));
      s.listen(o);
      return s;
    };
    listen({ port: 90, host: '0.0.0.0' });
    listen({ port: 90, host: '::' });
    listen({ port: 91, host: '0.0.0.0' });
    listen({ port: 91, host: '::', ipv6Only: true });
    listen({ port: 92, host: B6 });
    listen({ port: 92, host: '::', ipv6Only: true });
    listen({ port: 93, host: '10.0.0.2' });
    listen({ port: 93, host: B6 });
    await n.run(1);
    expect(errors).toEqual(['EADDRINUSE', 'EADDRINUSE']);
    // An address that is not ours: EADDRNOTAVAIL, as for IPv4.
    listen({ port: 94, host: 'fd00::99' });
    await n.run(1);
    expect(errors.at(-1)).toBe('EADDRNOTAVAIL');
  });

  it('a SYN to a closed port over IPv6 is answered with RST (ECONNREFUSED), and the segment carries a valid checksum', async () => {
    const n = v6net();
    const seen = tapA(n);
    const c = n.a.tcp.connect({ host: B6, port: 4444 });
    let err: (Error & { code?: string }) | null = null;
    c.on('error', (e) => (err = e));
    await n.until(() => err !== null, 10_000, 'refusal');
    expect(err!.code).toBe('ECONNREFUSED');
    expect(seen[0]!.t.flags).toBe(TCP_SYN);
    expect(n.b.stats.Tcp.OutRsts).toBe(1);
  });

  it('ICMPv6 Packet Too Big lowers the MSS to the path MTU − 60 and the data still arrives exactly', async () => {
    const n = v6net();
    const seen = tapA(n);
    echoServer(n, { port: 7, host: '::' });
    const c = n.a.tcp.connect({ host: B6, port: 7 });
    await n.until(() => !c.connecting, 10_000, 'connect');
    const conn = n.a.tcp.connections()[0]!;
    // A router on the way says 1280: a Packet Too Big through A's IPv6 layer, quoting a segment in flight
    // (sent, not yet delivered: the memory link holds it until the next settle).
    const data = Buffer.alloc(200_000, 0x5a);
    c.end(data);
    await new Promise((r) => setImmediate(r));
    const quoted = seen.find((x) => x.len > 0)!;
    const ptb = packetTooBig(quoted, 1280);
    n.a.ip6.input(ptb, n.a.interfaces[0]!, n.clock.now());
    expect(conn.smss).toBe(1280 - 60 - 12);
    const got = await collect(n, c);
    expect(got.equals(data)).toBe(true);
  });

  it('a path MTU learnt before the connection bounds its MSS from the start (Linux tcp_sync_mss)', async () => {
    const n = v6net();
    const seen = tapA(n);
    echoServer(n, { port: 7, host: '::' });
    n.a.ip6.pmtu.learn(parseIpv6(B6) as number[], 1280, n.clock.now());
    const c = n.a.tcp.connect({ host: B6, port: 7 });
    const data = Buffer.alloc(50_000, 0x33);
    c.end(data);
    expect((await collect(n, c)).equals(data)).toBe(true);
    expect(Math.max(...seen.map((x) => x.len))).toBe(1280 - 60 - 12);
    expect(n.a.stats.Ip6.FragCreates).toBe(0);
  });

  it('SYN cookies over IPv6 use Linux IPv6 MSS table and complete the handshake', async () => {
    const n = v6net({ tcpB: { syncookies: 2 } });
    echoServer(n, { port: 7, host: '::' });
    const c = n.a.tcp.connect({ host: B6, port: 7 });
    c.end('cookie');
    expect((await collect(n, c)).toString()).toBe('cookie');
    expect(n.b.stats.TcpExt.SyncookiesSent).toBeGreaterThan(0);
    expect(n.b.stats.TcpExt.SyncookiesRecv).toBeGreaterThan(0);
    expect(COOKIE_MSS_TABLE6).toEqual([1220, 1420, 1440, 8940]);
  });

  it('the active closer keeps the IPv6 pair in TIME-WAIT, shown in brackets by ss', async () => {
    const n = v6net();
    echoServer(n, { port: 7, host: '::' });
    const c = n.a.tcp.connect({ host: B6, port: 7, localPort: 5555 });
    c.end('x');
    await collect(n, c);
    await n.run(100);
    const tw = n.a.tcp.socketTable().find((r) => r.state === 'TIME-WAIT');
    expect(tw).toMatchObject({ local: `[${A6}]:5555`, peer: `[${B6}]:7` });
  });
});

describe('TcpAddresses', () => {
  it('numbers IPv6 addresses from 2^32, maps ::ffff:a.b.c.d to the IPv4 number and :: to ANY6', () => {
    const t = new TcpAddresses(HashKey.fromSeed(1, 1));
    const a = t.parse('fd77::2') as number;
    expect(isV6(a)).toBe(true);
    expect(a).toBeGreaterThan(ANY6);
    expect(t.parse('fd77:0::2')).toBe(a);
    expect(t.format(a)).toBe('fd77::2');
    expect(t.parse('::')).toBe(ANY6);
    expect(t.parse('::ffff:10.0.0.1')).toBe(0x0a000001);
    expect(t.format(0x0a000001, true)).toBe('::ffff:10.0.0.1');
    expect(t.format(0x0a000001, false)).toBe('10.0.0.1');
    expect(t.parse('not an address')).toBeInstanceOf(Error);
  });

  it('the hash word depends on the address bits, not on its number, and a swept address comes back with a new number', () => {
    const t = new TcpAddresses(HashKey.fromSeed(1, 1));
    const a = t.parse('fd77::5') as number;
    const h = t.hashWord(a);
    t.sweep(() => {});
    expect(t.words(a)).toBeNull();
    expect(t.find(parseIpv6('fd77::5') as number[])).toBeUndefined();
    const b = t.parse('fd77::5') as number;
    expect(b).not.toBe(a);
    expect(t.hashWord(b)).toBe(h);
    const keep = t.parse('fd77::6') as number;
    t.sweep((mark) => mark(keep));
    expect(t.format(keep)).toBe('fd77::6');
    expect(t.size).toBe(1);
  });

  it('cookies made for an IPv6 pair survive a sweep of the address table', () => {
    const t = new TcpAddresses(HashKey.fromSeed(3, 1));
    const cookies = new SynCookies((g) => HashKey.fromSeed(4, g), 128_000, 0, (a) => t.hashWord(a));
    const l = t.parse('fd77::2') as number;
    const r = t.parse('fd77::1') as number;
    const c = cookies.make(l, 80, r, 40000, 12345, 1440, 1000);
    t.sweep(() => {});
    const l2 = t.parse('fd77::2') as number;
    const r2 = t.parse('fd77::1') as number;
    expect(cookies.check(l2, 80, r2, 40000, 12345, c, 2000)).toBe(1440);
    expect(cookies.check(l2, 80, r2, 40001, 12345, c, 2000)).toBe(0);
  });
});

/** An ICMPv6 Packet Too Big from B to A quoting A's segment `q` (as much of it as fits 1280). */
function packetTooBig(q: { h: Ipv6Header; t: TcpHeader; len: number }, mtu: number): Uint8Array {
  const quoteLen = IPV6_HEADER + 20;
  const body = new Uint8Array(8 + quoteLen);
  body[0] = 2;
  new DataView(body.buffer).setUint32(4, mtu);
  const quote = body.subarray(8);
  const dv = new DataView(quote.buffer, quote.byteOffset);
  dv.setUint32(0, 0x60000000);
  dv.setUint16(4, 20 + q.len);
  quote[6] = NextHeader.Tcp;
  quote[7] = 64;
  for (let k = 0; k < 4; k++) {
    dv.setUint32(8 + 4 * k, q.h.src[k]!);
    dv.setUint32(24 + 4 * k, q.h.dst[k]!);
  }
  dv.setUint16(40, q.t.srcPort);
  dv.setUint16(42, q.t.dstPort);
  dv.setUint32(44, q.t.seq);
  return icmp6Packet(q.h.dst, q.h.src, body);
}

function icmp6Packet(src: readonly number[], dst: readonly number[], body: Uint8Array): Uint8Array {
  const p = new Uint8Array(IPV6_HEADER + body.length);
  p.set(body, IPV6_HEADER);
  emitIpv6(p, { payloadLength: body.length, nextHeader: NextHeader.Icmp6, hopLimit: 64, src, dst });
  finishIcmp6(p, IPV6_HEADER, body.length, body[0]!, 0, src, dst);
  return p;
}
