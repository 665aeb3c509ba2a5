/**
 * Internal pacing (src/tcp/pacing.ts; Linux tcp_internal_pacing, tcp_update_pacing_rate): with it on, a window
 * that slow start has just doubled leaves spread over the round trip at 200% of cwnd/SRTT, not as one burst;
 * the first ten data segments are not paced; pure ACKs are never held. Off (the library default), the same
 * window leaves at once.
 */
import { describe, it, expect } from 'vitest';
import { RawHarness, type Captured } from '../helpers/vnet.js';
import { TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import type { TcpConfig } from '../../src/tcp/config.js';
import { pacingRate } from '../../src/tcp/pacing.js';

const PEER = 40000;
const PORT = 8080;
const ISN = 1000;
const MSS = 1000;
const RTT = 10;
/** Payload per segment: the MSS less the timestamp option. */
const SEG = MSS - 12;

/** A connection with a 10 ms RTT sample from the handshake and `bytes` written; returns the first flight. */
async function established(tcp: Partial<TcpConfig>, bytes: number, rtt = RTT) {
  const h = new RawHarness({ tso: false, ...tcp });
  const accepted: TcpSocket[] = [];
  h.stack.tcp.createServer((s) => accepted.push(s)).listen(PORT);
  await h.settle();
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: 65535, options: { mss: MSS, sackPermitted: true, ts: { val: 1, ecr: 0 }, wscale: 7 } });
  const [synAck] = h.take();
  const iss = synAck!.tcp.seq;
  let tsVal = 2;
  const ack = async (n: number) => {
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1 + n, flags: TCP_ACK, window: 4000, options: { ts: { val: tsVal++, ecr: synAck!.tcp.tsVal } } });
  };
  await h.advance(rtt);
  await ack(0);
  accepted[0]!.write(new Uint8Array(bytes));
  await h.settle();
  const first = h.take().filter((c) => c.payload.length > 0);
  return { h, iss, ack, first, conn: [...h.stack.tcp.connections()][0]! };
}

/** Steps the clock 0.5 ms at a time for `ms`, noting when each data segment left (ms after the start). */
async function departures(h: RawHarness, ms: number): Promise<{ at: number; seg: Captured }[]> {
  const t0 = h.clock.now();
  const out: { at: number; seg: Captured }[] = [];
  for (let t = 0; t <= ms; t += 0.5) {
    for (const seg of h.take()) if (seg.payload.length > 0) out.push({ at: h.clock.now() - t0, seg });
    await h.advance(0.5);
  }
  return out;
}

describe('TCP internal pacing', () => {
  it('off (the library default): the window slow start doubled leaves in one burst', async () => {
    const { h, ack, first } = await established({}, 40 * MSS);
    expect(first).toHaveLength(10);
    await h.advance(RTT);
    await ack(10 * SEG);
    const d = await departures(h, 2 * RTT);
    expect(d).toHaveLength(20);
    expect(d.every((x) => x.at === 0)).toBe(true);
    expect(h.stack.stats.TcpExt.TCPPacingHold).toBe(0);
  });

  it('on: the first ten segments go at once, the next twenty spread over about half the RTT (200% of cwnd/SRTT)', async () => {
    const { h, ack, first, conn } = await established({ pacing: true }, 40 * MSS);
    expect(first).toHaveLength(10); // Linux: the first 10 data segments are not paced
    await h.advance(RTT);
    await ack(10 * SEG);
    // cwnd 20 segments in slow start, SRTT about 10 ms: 200% of ~20000 B per 10 ms ≈ 4000 B/ms.
    const rate = pacingRate(conn, 0);
    expect(rate).toBeGreaterThan(3000);
    expect(rate).toBeLessThan(5000);
    const d = await departures(h, 2 * RTT);
    expect(d).toHaveLength(20);
    const atOnce = d.filter((x) => x.at === 0).length;
    expect(atOnce).toBeLessThan(10);
    const span = d[d.length - 1]!.at - d[0]!.at;
    // 20 segments at ~4000 B/ms take ~5 ms; the timer's millisecond grid may make it a little shorter.
    expect(span).toBeGreaterThanOrEqual(3);
    expect(span).toBeLessThanOrEqual(RTT);
    expect(h.stack.stats.TcpExt.TCPPacingHold).toBeGreaterThan(0);
    // Sequence order kept, nothing retransmitted.
    for (let i = 1; i < d.length; i++) expect(d[i]!.seg.tcp.seq - d[i - 1]!.seg.tcp.seq).toBe(SEG);
    expect(h.stack.stats.Tcp.RetransSegs).toBe(0);
  });

  it('on, after slow start (cwnd ≥ ssthresh/2): 120% of cwnd/SRTT', async () => {
    const { h, conn } = await established({ pacing: true }, 10 * MSS);
    const srtt = conn.rtt.srtt;
    conn.ssthresh = conn.cwnd; // as after a reduction
    expect(pacingRate(conn, 0)).toBeCloseTo((1.2 * conn.cwnd) / srtt, 6);
    conn.ssthresh = 4 * conn.cwnd;
    expect(pacingRate(conn, 0)).toBeCloseTo((2 * conn.cwnd) / srtt, 6);
    // In flight above cwnd counts (Linux: max(snd_cwnd, packets_out)).
    expect(pacingRate(conn, 3 * conn.cwnd)).toBeCloseTo((2 * 3 * conn.cwnd) / srtt, 6);
    h.stack.close();
  });

  it('the ratios are the sysctls net.ipv4.tcp_pacing_ss_ratio and tcp_pacing_ca_ratio', async () => {
    const { conn } = await established({ pacing: true, pacingSsRatio: 100, pacingCaRatio: 50 }, 10 * MSS);
    const srtt = conn.rtt.srtt;
    conn.ssthresh = 4 * conn.cwnd;
    expect(pacingRate(conn, 0)).toBeCloseTo(conn.cwnd / srtt, 6);
    conn.ssthresh = conn.cwnd;
    expect(pacingRate(conn, 0)).toBeCloseTo((0.5 * conn.cwnd) / srtt, 6);
  });

  it('a unit due in less than the timer granularity (1 ms) leaves at once: small answers on a fast path are never held', async () => {
    const { h, ack, first, conn } = await established({ pacing: true }, 12 * 100, 0.2);
    expect(first.length).toBeGreaterThan(0);
    let acked = first.reduce((n, c) => n + c.payload.length, 0);
    await ack(acked);
    // Twenty more small writes, each acknowledged 0.2 ms later: 100 bytes at ~2·cwnd/0.2 ms is due in microseconds.
    for (let i = 0; i < 20; i++) {
      conn.write(new Uint8Array(100), 0, 100);
      await h.settle();
      const sent = h.take().filter((c) => c.payload.length > 0);
      expect(sent).toHaveLength(1);
      acked += 100;
      await h.advance(0.2);
      await ack(acked);
    }
    expect(h.stack.stats.TcpExt.TCPPacingHold).toBe(0);
  });

  it('a pure ACK is not held by pacing, and closing the connection disarms the pacing timer', async () => {
    const { h, ack, iss, conn } = await established({ pacing: true }, 40 * MSS);
    await h.advance(RTT);
    await ack(10 * SEG);
    h.take();
    // Data from the peer while units wait: the ACK for it is not paced.
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1 + 10 * SEG, flags: TCP_ACK, window: 4000, payload: new Uint8Array(100), options: { ts: { val: 50, ecr: 1 } } });
    const sent = h.take();
    // The 100 bytes are acknowledged at once while the rest of the window still waits for its departure times.
    expect(sent.some((c) => c.tcp.ack === ISN + 1 + 100)).toBe(true);
    expect(conn.pacing.timer?.armed).toBe(true);
    conn.reset(h.clock.now());
    expect(conn.pacing.timer?.armed).toBe(false);
  });
});
