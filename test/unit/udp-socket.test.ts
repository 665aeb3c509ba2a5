import { describe, it, expect } from 'vitest';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { MemoryLink, pumpAll } from '../../src/link/memory.js';
import { parseIcmp, IcmpType } from '../../src/wire/icmp.js';
import { emitUdp, parseUdp } from '../../src/wire/udp.js';
import { parseIpv4 } from '../../src/wire/ipv4.js';
import { CaptureLink } from '../helpers/capture-link.js';
import { ip, ipPacket } from '../helpers/packets.js';
import type { RemoteInfo, UdpSocket } from '../../src/udp/index.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Two stacks, A 10.0.0.1 and B 10.0.0.2, on a memory link driven by hand. */
function pair(mtu = 1500) {
  const clock = new VirtualClock(0);
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const a = new Stack({ clock, udp: { random } });
  const b = new Stack({ clock, udp: { random } });
  const [la, lb] = MemoryLink.pair({ mtu });
  a.addInterface(la, '10.0.0.1/24', { defaultRoute: true });
  b.addInterface(lb, '10.0.0.2/24', { defaultRoute: true });
  const pump = async () => {
    // microtask flushes, then deliveries, until quiet
    for (let i = 0; i < 20; i++) {
      await Promise.resolve();
      a.flush();
      b.flush();
      if (pumpAll([la, lb]) === 0) {
        await tick();
        a.flush();
        b.flush();
        if (pumpAll([la, lb]) === 0) return;
      }
    }
  };
  return { clock, a, b, la, lb, pump };
}

function one(stack: Stack) {
  const link = new CaptureLink(1500);
  stack.addInterface(link, '10.77.0.2/24', { defaultRoute: true });
  return link;
}

function udpPacket(payload: Uint8Array, sport: number, dport: number, o: { src?: string; dst?: string; lengthField?: number; badSum?: boolean; zeroSum?: boolean } = {}) {
  const src = o.src ?? '10.77.0.1';
  const dst = o.dst ?? '10.77.0.2';
  const u = new Uint8Array(8 + payload.length);
  u.set(payload, 8);
  emitUdp(u, 0, sport, dport, u.length, ip(src), ip(dst));
  if (o.zeroSum) u[6] = u[7] = 0;
  if (o.badSum) u[7] ^= 0x5a;
  if (o.lengthField !== undefined) {
    u[4] = o.lengthField >> 8;
    u[5] = o.lengthField & 0xff;
  }
  return ipPacket(u, { protocol: 17, src, dst });
}

function collect(s: UdpSocket) {
  const got: { msg: Buffer; rinfo: RemoteInfo }[] = [];
  s.on('message', (msg, rinfo) => got.push({ msg, rinfo }));
  return got;
}

describe('UDP sockets between two stacks', () => {
  it('bind, send, receive with rinfo; echo back; counters', async () => {
    const { a, b, pump } = pair();
    const server = b.udp.createSocket();
    const sgot = collect(server);
    server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
    let listening = false;
    server.bind(7, () => (listening = true));
    const client = a.udp.createSocket('udp4');
    const cgot = collect(client);
    const sent: (number | undefined)[] = [];
    client.send(Buffer.from('hello'), 7, '10.0.0.2', (err: Error | null, n?: number) => sent.push(err ? -1 : n));
    await pump();
    expect(listening).toBe(true);
    expect(sent).toEqual([5]);
    expect(sgot).toHaveLength(1);
    expect(sgot[0]!.msg.toString()).toBe('hello');
    const cport = client.address().port;
    expect(cport).toBeGreaterThanOrEqual(32768);
    expect(cport).toBeLessThanOrEqual(60999);
    expect(sgot[0]!.rinfo).toEqual({ address: '10.0.0.1', family: 'IPv4', port: cport, size: 5 });
    expect(cgot.map((g) => g.msg.toString())).toEqual(['hello']);
    expect(cgot[0]!.rinfo.port).toBe(7);
    expect(a.stats.Udp.OutDatagrams).toBe(1);
    expect(b.stats.Udp.InDatagrams).toBe(1);
    expect(b.stats.Udp.OutDatagrams).toBe(1);
    expect(a.stats.Udp.InDatagrams).toBe(1);
    expect(b.udp.sockets()).toEqual([{ localAddress: '0.0.0.0', localPort: 7, remoteAddress: '0.0.0.0', remotePort: 0, recvQueue: 0, drops: 0 }]);
  });

  it('a 65,507-byte datagram leaves fragmented and arrives whole; 65,508 bytes is EMSGSIZE', async () => {
    const { a, b, pump } = pair();
    const server = b.udp.createSocket();
    const got = collect(server);
    server.bind(9000);
    const client = a.udp.createSocket();
    const data = Buffer.alloc(65507);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    client.send(data, 9000, '10.0.0.2');
    await pump();
    expect(got).toHaveLength(1);
    expect(Buffer.compare(got[0]!.msg, data)).toBe(0);
    expect(a.stats.Ip.FragOKs).toBe(1);
    expect(a.stats.Ip.FragCreates).toBe(Math.ceil(65515 / 1480));
    expect(b.stats.Ip.ReasmOKs).toBe(1);
    const errs: string[] = [];
    client.send(Buffer.alloc(65508), 9000, '10.0.0.2', (err: Error | null) => errs.push((err as NodeJS.ErrnoException).code!));
    await pump();
    expect(errs).toEqual(['EMSGSIZE']);
  });

  it('a datagram to a closed port gets ICMP port unreachable; a connected socket sees ECONNREFUSED', async () => {
    const { a, b, pump } = pair();
    const c = a.udp.createSocket();
    const errors: NodeJS.ErrnoException[] = [];
    const icmp: number[][] = [];
    c.on('error', (e) => errors.push(e as NodeJS.ErrnoException));
    c.on('icmp', (i) => icmp.push([i.type, i.code]));
    let connected = false;
    c.connect(4999, '10.0.0.2', () => (connected = true));
    await pump();
    expect(connected).toBe(true);
    expect(c.remoteAddress()).toEqual({ address: '10.0.0.2', family: 'IPv4', port: 4999 });
    // Linux fixes the local address at connect time
    expect(c.address().address).toBe('10.0.0.1');
    c.send('x');
    await pump();
    expect(b.stats.Udp.NoPorts).toBe(1);
    expect(b.stats.Icmp.OutDestUnreachs).toBe(1);
    expect(a.stats.Icmp.InDestUnreachs).toBe(1);
    expect(icmp).toEqual([[3, 3]]);
    expect(errors.map((e) => [e.code, e.syscall])).toEqual([['ECONNREFUSED', 'recvmsg']]);
    // An unconnected socket is not told (Linux without IP_RECVERR) but sees 'icmp'.
    const u = a.udp.createSocket();
    const uerr: Error[] = [];
    const uicmp: string[] = [];
    u.on('error', (e) => uerr.push(e));
    u.on('icmp', (i) => uicmp.push(`${i.error.code} from ${i.from} about ${i.address}:${i.port}`));
    u.send('y', 5000, '10.0.0.2');
    await pump();
    expect(uerr).toHaveLength(0);
    expect(uicmp).toEqual(['ECONNREFUSED from 10.0.0.2 about 10.0.0.2:5000']);
  });

  it('a connected socket only receives from its peer; disconnect() opens it again', async () => {
    const { a, b, pump } = pair();
    const s = b.udp.createSocket();
    const got = collect(s);
    s.bind(5353);
    const p1 = a.udp.createSocket();
    const p2 = a.udp.createSocket();
    p1.bind(1111);
    p2.bind(2222);
    await pump();
    s.connect(1111, '10.0.0.1');
    await pump();
    p1.send('from-1', 5353, '10.0.0.2');
    p2.send('from-2', 5353, '10.0.0.2');
    await pump();
    expect(got.map((g) => g.msg.toString())).toEqual(['from-1']);
    // p2's datagram found no socket: port unreachable
    expect(b.stats.Udp.NoPorts).toBe(1);
    s.disconnect();
    expect(s.address().address).toBe('0.0.0.0');
    p2.send('from-2', 5353, '10.0.0.2');
    await pump();
    expect(got.map((g) => g.msg.toString())).toEqual(['from-1', 'from-2']);
  });

  it('close() emits close, frees the port, and further use throws', async () => {
    const { b, pump } = pair();
    const s = b.udp.createSocket();
    s.bind(7000);
    await pump();
    let closed = false;
    s.close(() => (closed = true));
    await pump();
    expect(closed).toBe(true);
    expect(() => s.address()).toThrow(/Not running/);
    expect(() => s.send('x', 1, '10.0.0.1')).toThrow(/Not running/);
    const t = b.udp.createSocket();
    const errs: Error[] = [];
    t.on('error', (e) => errs.push(e));
    t.bind(7000);
    await pump();
    expect(errs).toHaveLength(0);
    expect(t.address().port).toBe(7000);
  });
});

describe('UDP port table', () => {
  it('EADDRINUSE between wildcard and specific binds; EADDRNOTAVAIL for a foreign address; double bind throws', async () => {
    const stack = new Stack({ clock: new VirtualClock(0), autoFlush: false });
    one(stack);
    const errs: string[] = [];
    const mk = () => {
      const s = stack.udp.createSocket();
      s.on('error', (e) => errs.push((e as NodeJS.ErrnoException).code!));
      return s;
    };
    mk().bind(53);
    mk().bind(53, '10.77.0.2');
    mk().bind(54, '10.77.0.2');
    mk().bind(54);
    mk().bind(55, '10.77.0.99');
    const s = mk();
    s.bind(56);
    await tick();
    expect(errs).toEqual(['EADDRINUSE', 'EADDRINUSE', 'EADDRNOTAVAIL']);
    expect(() => s.bind(57)).toThrow(/already bound/);
  });

  it('ephemeral ports stay in 32768–60999 and never collide', async () => {
    const stack = new Stack({ clock: new VirtualClock(0), autoFlush: false, udp: { ephemeralLow: 40000, ephemeralHigh: 40009 } });
    one(stack);
    const ports: number[] = [];
    const errs: string[] = [];
    for (let i = 0; i < 11; i++) {
      const s = stack.udp.createSocket();
      s.on('error', (e) => errs.push((e as NodeJS.ErrnoException).code!));
      s.bind(0);
      if (s.isBound) ports.push(s.address().port);
    }
    await tick();
    expect(new Set(ports).size).toBe(10);
    expect(ports.every((p) => p >= 40000 && p <= 40009)).toBe(true);
    expect(errs).toEqual(['EADDRINUSE']);
  });
});

describe('UDP input: bad datagrams are counted drops, the stack keeps answering', () => {
  const setup = () => {
    const stack = new Stack({ clock: new VirtualClock(0), autoFlush: false, icmp: { perDestIntervalMs: 0 } });
    const link = one(stack);
    const s = stack.udp.createSocket();
    const got = collect(s);
    s.bind(7);
    return { stack, link, got };
  };

  it('checksum error: InErrors and InCsumErrors, no ICMP', async () => {
    const { stack, link, got } = setup();
    link.inject(udpPacket(new Uint8Array(10), 1000, 7, { badSum: true }));
    link.inject(udpPacket(new Uint8Array(10), 1000, 4444, { badSum: true }));
    await tick();
    expect(got).toHaveLength(0);
    expect(link.take()).toHaveLength(0);
    expect(stack.stats.Udp.InErrors).toBe(2);
    expect(stack.stats.Udp.InCsumErrors).toBe(2);
    expect(stack.stats.Udp.NoPorts).toBe(0);
    expect(stack.stats.drops['udp.bad-checksum']).toBe(2);
  });

  it('a zero checksum means none and is accepted', async () => {
    const { got, link } = setup();
    link.inject(udpPacket(Uint8Array.from([1, 2, 3]), 1000, 7, { zeroSum: true }));
    await tick();
    expect(got.map((g) => [...g.msg])).toEqual([[1, 2, 3]]);
  });

  it('UDP length larger than the datagram: dropped; smaller: trailing bytes cut (like Linux)', async () => {
    const { stack, got, link } = setup();
    link.inject(udpPacket(new Uint8Array(10), 1000, 7, { lengthField: 8 + 11 }));
    link.inject(udpPacket(new Uint8Array(10), 1000, 7, { lengthField: 7 }));
    await tick();
    expect(stack.stats.drops['udp.bad-length']).toBe(2);
    expect(stack.stats.Udp.InErrors).toBe(2);
    // length field 8+4 over a 10-byte payload: the checksum covers the 12 bytes the field names
    const payload = Uint8Array.from([9, 8, 7, 6, 0, 0, 0, 0, 0, 0]);
    const u = new Uint8Array(8 + 4);
    u.set(payload.subarray(0, 4), 8);
    emitUdp(u, 0, 1000, 7, 12, ip('10.77.0.1'), ip('10.77.0.2'));
    const padded = new Uint8Array(18);
    padded.set(u);
    link.inject(ipPacket(padded, { protocol: 17 }));
    await tick();
    expect(got.map((g) => [...g.msg])).toEqual([[9, 8, 7, 6]]);
    expect(stack.stats.Udp.InDatagrams).toBe(1);
  });

  it('truncated header: counted', () => {
    const { stack, link } = setup();
    link.inject(ipPacket(new Uint8Array(5), { protocol: 17 }));
    expect(stack.stats.drops['udp.truncated']).toBe(1);
  });

  it('port unreachable quotes the IP header and 8 bytes; NoPorts', () => {
    const { stack, link } = setup();
    const p = udpPacket(new TextEncoder().encode('hello\n'), 40000, 9999);
    link.inject(p);
    const [err] = link.take();
    const icmp = parseIcmp(err!.subarray(20));
    if (typeof icmp === 'string') throw new Error(icmp);
    expect([icmp.type, icmp.code]).toEqual([IcmpType.DestUnreachable, 3]);
    expect([...err!.subarray(28)]).toEqual([...p.subarray(0, 28)]);
    expect(stack.stats.Udp.NoPorts).toBe(1);
  });

  it('a full receive queue drops and counts RcvbufErrors', async () => {
    const stack = new Stack({ clock: new VirtualClock(0), autoFlush: false });
    const link = one(stack);
    const s = stack.udp.createSocket({ recvBufferSize: 3 * (100 + 256) });
    const got = collect(s);
    s.bind(7);
    for (let i = 0; i < 5; i++) link.inject(udpPacket(new Uint8Array(100).fill(i), 1000, 7));
    expect(s.recvQueueLength).toBe(3);
    await tick();
    expect(got.map((g) => g.msg[0])).toEqual([0, 1, 2]);
    expect(stack.stats.Udp.RcvbufErrors).toBe(2);
    expect(stack.stats.Udp.InErrors).toBe(2);
    expect(stack.stats.Udp.InDatagrams).toBe(3);
    expect(s.recvQueueBytes).toBe(0);
    // drained: room again
    link.inject(udpPacket(new Uint8Array(100).fill(9), 1000, 7));
    await tick();
    expect(got.map((g) => g.msg[0])).toEqual([0, 1, 2, 9]);
  });

  it('sends with a correct checksum over the pseudo-header', async () => {
    const stack = new Stack({ clock: new VirtualClock(0), autoFlush: false });
    const link = one(stack);
    const s = stack.udp.createSocket();
    s.bind(1234);
    s.send(Buffer.from('abc'), 53, '10.77.0.1');
    stack.flush();
    const [p] = link.take();
    const h = parseIpv4(p!);
    if (typeof h === 'string') throw new Error(h);
    const u = parseUdp(p!.subarray(20), h.src, h.dst);
    if (typeof u === 'string') throw new Error(u);
    expect([u.srcPort, u.dstPort, u.length]).toEqual([1234, 53, 11]);
    expect(u.checksum).not.toBe(0);
  });
});
