import { describe, expect, it } from 'vitest';
import { roundTripsToFirstResponse, type RoundSeg } from '../../src/observe/round-trips.js';
import { connFacts, tcpConnectionsOf } from '../../src/observe/pcap-trace.js';
import { LadderText } from '../../src/observe/ladder.js';
import { SynDataMemory } from '../../src/observe/fast-open-marks.js';
import { PcapWriter, type PcapSink } from '../../src/wire/pcap.js';
import { emitIpv4Simple } from '../../src/wire/ipv4.js';
import { emitTcp, tcpHeaderLength, TCP_ACK, TCP_PSH, TCP_SYN, type TcpEmit } from '../../src/wire/tcp.js';

const SYN = TCP_SYN;
const SA = TCP_SYN | TCP_ACK;
const A = TCP_ACK;
const c = (flags: number, len = 0, app = false): RoundSeg => ({ fromA: true, flags, len, app });
const s = (flags: number, len = 0, app = false): RoundSeg => ({ fromA: false, flags, len, app });

describe('round trips to the first response byte', () => {
  it('HTTP: 2 (SYN / SYN-ACK, request / response); pure ACKs count nothing', () => {
    expect(roundTripsToFirstResponse([c(SYN), s(SA), c(A), c(A, 73, true), s(A), s(A, 169, true)])).toEqual({ rounds: 2, index: 5 });
  });

  it('HTTPS with TLS 1.3: 3; with TLS 1.2: 4 (the handshake records are no application data)', () => {
    const tls13 = [c(SYN), s(SA), c(A), c(A, 200), s(A, 700, true), c(A, 80, true), c(A, 60, true), s(A, 600, true)];
    expect(roundTripsToFirstResponse(tls13)).toEqual({ rounds: 3, index: 7 });
    const tls12 = [c(SYN), s(SA), c(A), c(A, 200), s(A, 630), c(A, 93), s(A, 51), c(A, 90, true), s(A, 38, true)];
    expect(roundTripsToFirstResponse(tls12)).toEqual({ rounds: 4, index: 8 });
  });

  it('Fast Open saves one: the request (or ClientHello) rides on the SYN', () => {
    expect(roundTripsToFirstResponse([c(SYN, 73, true), s(SA), s(A, 169, true)])).toEqual({ rounds: 1, index: 2 });
    expect(roundTripsToFirstResponse([c(SYN, 240), s(SA), s(A, 700, true), c(A, 80, true), s(A, 600, true)])?.rounds).toBe(2);
  });

  it('a retransmitted SYN or request starts no new round; no SYN or no response in view: null', () => {
    expect(roundTripsToFirstResponse([c(SYN), c(SYN), s(SA), c(A, 73, true), c(A, 73, true), s(A, 169, true)])?.rounds).toBe(2);
    expect(roundTripsToFirstResponse([c(A, 73, true), s(A, 169, true)])).toBeNull();
    expect(roundTripsToFirstResponse([c(SYN), s(SA), c(A, 73, true)])).toBeNull();
  });
});

/** A raw-IPv4 capture of hand-built segments (client 10.0.0.1:40000, server 10.0.0.2:80). */
function capture(segs: { fromA: boolean; seq: number; ack: number; flags: number; data?: number[]; fo?: number[] | 'request' }[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const sink: PcapSink = { write: (b: Uint8Array) => void chunks.push(b.slice()) };
  const w = new PcapWriter(sink, {});
  const [ca, sa] = [0x0a000001, 0x0a000002];
  segs.forEach((g, i) => {
    const data = new Uint8Array(g.data ?? []);
    const fields: TcpEmit = { srcPort: g.fromA ? 40000 : 80, dstPort: g.fromA ? 80 : 40000, seq: g.seq, ack: g.ack, flags: g.flags, window: 1000 };
    if (g.fo !== undefined) {
      const cookie = g.fo === 'request' ? new Uint8Array(0) : new Uint8Array(g.fo);
      fields.options = { mss: 1460, fastOpen: { cookie, len: cookie.length, exp: false } };
    }
    const th = tcpHeaderLength(fields);
    const b = new Uint8Array(20 + th + data.length);
    emitIpv4Simple(b, b.length, i, true, 64, 6, g.fromA ? ca : sa, g.fromA ? sa : ca);
    b.set(data, 20 + th);
    emitTcp(b, 20, fields, data.length, g.fromA ? ca : sa, g.fromA ? sa : ca);
    w.writePacket(b, 1000 + i);
  });
  w.flush();
  const all = new Uint8Array(chunks.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of chunks) {
    all.set(x, o);
    o += x.length;
  }
  return all;
}

const text = (s: string): number[] => [...s].map((ch) => ch.charCodeAt(0));

describe('a capture read for the ladder', () => {
  it('marks Fast Open (cookie request, cookie granted, data on the SYN acknowledged) and counts one round trip less', () => {
    const req = text('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const resp = text('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    const cookie = [1, 2, 3, 4, 5, 6, 7, 8];
    const bytes = capture([
      // First connection: asks for a cookie, gets one; the request waits for the handshake.
      { fromA: true, seq: 100, ack: 0, flags: SYN, fo: 'request' },
      { fromA: false, seq: 500, ack: 101, flags: SA, fo: cookie },
      { fromA: true, seq: 101, ack: 501, flags: A | TCP_PSH, data: req },
      { fromA: false, seq: 501, ack: 101 + req.length, flags: A | TCP_PSH, data: resp },
      { fromA: true, seq: 101 + req.length, ack: 501 + resp.length, flags: A | 0x01 },
      { fromA: false, seq: 501 + resp.length, ack: 102 + req.length, flags: A | 0x01 },
      // Second connection on the same ports: the request on the SYN with the cookie, acknowledged by the SYN-ACK.
      { fromA: true, seq: 9000, ack: 0, flags: SYN, fo: cookie, data: req },
      { fromA: false, seq: 7000, ack: 9001 + req.length, flags: SA },
      { fromA: false, seq: 7001, ack: 9001 + req.length, flags: A | TCP_PSH, data: resp },
    ]);
    const sum = tcpConnectionsOf(bytes);
    if (sum instanceof Error) throw sum;
    expect(sum.conns).toHaveLength(2);
    const [first, second] = sum.conns as [NonNullable<(typeof sum.conns)[0]>, NonNullable<(typeof sum.conns)[0]>];
    expect(first.segs.map((x) => x.note)).toEqual(['Fast Open: cookie request', 'Fast Open: grants cookie 8 B', 'GET / HTTP/1.1', 'HTTP/1.1 200 OK', undefined, undefined]);
    expect(first.rounds?.rounds).toBe(2);
    expect(second.segs.map((x) => x.note)).toEqual([`Fast Open: cookie 8 B, ${req.length} B of data on the SYN; GET / HTTP/1.1`, `Fast Open: acks the SYN's ${req.length} B of data`, 'HTTP/1.1 200 OK']);
    expect(second.rounds?.rounds).toBe(1);
    expect(connFacts(second)).toBe('Fast Open data on the SYN, 1 round trip to the first response byte');
    const l = new LadderText({ a: 'a', b: 'b' }, 80);
    expect(l.line(second.segs[0]!)).toMatch(/SYN seq 0 len \d+ win 1000 -+>\|  Fast Open: cookie 8 B/);
  });

  it('names SYN data the server did not accept', () => {
    const req = text('GET / HTTP/1.1\r\n\r\n');
    const sum = tcpConnectionsOf(
      capture([
        { fromA: true, seq: 1, ack: 0, flags: SYN, fo: [9, 9, 9, 9], data: req },
        { fromA: false, seq: 50, ack: 2, flags: SA },
      ]),
    );
    if (sum instanceof Error) throw sum;
    expect(sum.conns[0]!.segs[1]!.note).toBe('Fast Open: acks the SYN only: its data was not accepted');
  });
});

describe('Fast Open on the live ladder (the feed remembers SYN data until its SYN-ACK)', () => {
  it('names a SYN-ACK that acknowledged the data, one that did not, and forgets the oldest past its bound', () => {
    const m = new SynDataMemory(2);
    m.synIn(1, 1000, 100, 50);
    expect(m.synAckOut(1, 1000, 151)).toBe("Fast Open: acks the SYN's 50 B of data");
    expect(m.synAckOut(1, 1000, 151)).toBeNull();
    m.synIn(1, 1001, 100, 50);
    expect(m.synAckOut(1, 1001, 101)).toBe('Fast Open: acks the SYN only: its data was not accepted');
    m.synIn(1, 1002, 0, 10);
    m.synIn(1, 1003, 0, 10);
    m.synIn(1, 1004, 0, 10);
    expect(m.synAckOut(1, 1002, 11)).toBeNull();
    expect(m.synAckOut(1, 1004, 11)).not.toBeNull();
    m.synIn(1, 1005, 0, 0);
    expect(m.synAckOut(1, 1005, 1)).toBeNull();
  });
});
