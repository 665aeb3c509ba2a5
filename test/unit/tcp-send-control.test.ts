/**
 * The send side's application controls on TcpSocket (src/tcp/send-control.ts): TCP_CORK, MSG_MORE, MSG_EOR
 * records, TCP_NOTSENT_LOWAT and SO_SNDBUF on a connection — each against the segments the stack sends.
 */
import { describe, it, expect } from 'vitest';
import { RawHarness, type Captured } from '../helpers/vnet.js';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import type { TcpConfig } from '../../src/tcp/config.js';

const PEER = 40000;
const PORT = 8080;
const ISN = 1000;

/** A listener on 8080 and an accepted connection from PEER (MSS 1000, no options but MSS). */
async function established(cfg: Partial<TcpConfig> = {}) {
  const h = new RawHarness(cfg);
  const accepted: TcpSocket[] = [];
  h.stack.tcp.createServer((s) => accepted.push(s)).listen(PORT);
  await h.settle();
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: 60000, options: { mss: 1000 } });
  const [synAck] = h.take();
  const iss = synAck!.tcp.seq;
  // The handshake's RTT sample (10 ms) makes the RTO 210 ms, as in the scripts.
  await h.advance(10);
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 60000 });
  const sock = accepted[0]!;
  const ack = (n: number) => h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1 + n, flags: TCP_ACK, window: 60000 });
  /** Sent segments as "P 0:80" (PSH or not, relative sequence range). */
  const sent = (): string[] => h.take().filter((c) => c.payload.length > 0).map((c: Captured) => `${c.tcp.flags & TCP_PSH ? 'P' : '.'} ${c.tcp.seq - iss - 1}:${c.tcp.seq - iss - 1 + c.payload.length}`);
  return { h, sock, ack, sent };
}

describe('TCP_CORK (setCork)', () => {
  it('holds small writes until the cork is pulled, then sends them as one segment with PSH', async () => {
    const { h, sock, sent } = await established();
    sock.setCork(true);
    expect(sock.tcpCorked).toBe(true);
    sock.write(Buffer.alloc(40));
    await h.settle();
    await h.advance(50);
    sock.write(Buffer.alloc(40));
    await h.settle();
    expect(sent()).toEqual([]);
    sock.setCork(false);
    await h.settle();
    expect(sent()).toEqual(['P 0:80']);
  });

  it('lets full segments go and holds only the partial tail', async () => {
    const { h, sock, sent } = await established();
    sock.setCork(true);
    sock.write(Buffer.alloc(2500));
    await h.settle();
    // (PSH on these is another question: Linux marks the end of each TSO packet it splits off a write.)
    expect(sent().map((x) => x.slice(2))).toEqual(['0:1000', '1000:2000']);
  });

  it('setting TCP_NODELAY pushes what the cork holds', async () => {
    const { h, sock, sent } = await established();
    sock.setCork(true);
    sock.write(Buffer.alloc(40));
    await h.settle();
    expect(sent()).toEqual([]);
    sock.setNoDelay(true);
    await h.settle();
    expect(sent()).toEqual(['P 0:40']);
  });

  it('the persist timer sends corked data after the RTO (Linux: max(RTO, 200 ms))', async () => {
    const { h, sock, sent } = await established();
    sock.setCork(true);
    sock.write(Buffer.alloc(40));
    await h.settle();
    await h.advance(200);
    expect(sent()).toEqual([]);
    await h.advance(15);
    expect(sent()).toEqual(['P 0:40']);
  });
});

describe('MSG_MORE (send(..., {more: true}))', () => {
  it('holds the tail of this write even with TCP_NODELAY, without PSH; a plain write releases all with PSH', async () => {
    const { h, sock, sent } = await established();
    sock.setNoDelay(true);
    sock.send(Buffer.alloc(100), { more: true });
    await h.settle();
    sock.send([Buffer.alloc(100), Buffer.alloc(60)], { more: true });
    await h.settle();
    expect(sent()).toEqual([]);
    sock.send(Buffer.alloc(5));
    await h.settle();
    expect(sent()).toEqual(['P 0:265']);
  });

  it('an ACK releases a MSG_MORE tail when TCP_NODELAY is on, still without PSH', async () => {
    const { h, sock, ack, sent } = await established();
    sock.setNoDelay(true);
    sock.send(Buffer.alloc(3100), { more: true });
    await h.settle();
    expect(sent()).toEqual(['. 0:1000', '. 1000:2000', '. 2000:3000']);
    await ack(2000);
    expect(sent()).toEqual(['. 3000:3100']);
  });
});

describe('MSG_EOR records (send(..., {eor: true}))', () => {
  it('never puts bytes of two records in one segment, and marks each record end with PSH', async () => {
    const { h, sock, ack, sent } = await established();
    sock.setNoDelay(true);
    sock.write(Buffer.alloc(10400)); // fills the initial window and leaves 400 bytes unsent
    sock.send(Buffer.alloc(400), { eor: true }); // joins those 400: one record of 800
    sock.send(Buffer.alloc(400), { eor: true });
    sock.write(Buffer.alloc(1500));
    await h.settle();
    expect(sent()).toHaveLength(10);
    await ack(10000);
    expect(sent()).toEqual(['P 10000:10800', 'P 10800:11200', '. 11200:12200', 'P 12200:12700']);
  });

  it('retransmits a record end alone: the timeout resends the first record only up to its end', async () => {
    const { h, sock, ack, sent } = await established();
    sock.setNoDelay(true);
    sock.send(Buffer.alloc(300), { eor: true });
    await h.settle();
    sock.send(Buffer.alloc(300), { eor: true });
    await h.settle();
    expect(sent()).toEqual(['P 0:300', 'P 300:600']);
    await h.advance(1000);
    const rtx = sent();
    expect(rtx[0]).toBe('P 0:300');
    await ack(300);
    await h.advance(1000);
    expect(sent()).toContain('P 300:600');
  });
});

describe('TCP_NOTSENT_LOWAT (setNotSentLowat)', () => {
  it('is writable only while unsent bytes are below half the mark', async () => {
    const { h, sock, ack } = await established();
    expect(sock.notSentBelowLowat).toBe(true);
    sock.setNotSentLowat(4000);
    expect(sock.notSentLowat).toBe(4000);
    sock.write(Buffer.alloc(14000)); // 10000 go (initial window), 4000 wait
    await h.settle();
    expect(sock.unsentBytes).toBe(4000);
    expect(sock.notSentBelowLowat).toBe(false);
    await ack(1000); // cwnd 11: 2000 more go; 2 × 2000 unsent is not below 4000
    expect(sock.unsentBytes).toBe(2000);
    expect(sock.notSentBelowLowat).toBe(false);
    await ack(2000);
    expect(sock.unsentBytes).toBe(0);
    expect(sock.notSentBelowLowat).toBe(true);
  });

  it('falls back to the stack-wide notsentLowat (net.ipv4.tcp_notsent_lowat) when 0', async () => {
    const { h, sock } = await established({ notsentLowat: 1000 });
    sock.setCork(true);
    sock.write(Buffer.alloc(400));
    await h.settle();
    expect(sock.notSentLowat).toBe(0);
    expect(sock.notSentBelowLowat).toBe(true); // 800 < 1000
    sock.write(Buffer.alloc(200));
    await h.settle();
    expect(sock.notSentBelowLowat).toBe(false); // 1200
    expect(() => sock.setNotSentLowat(-1)).toThrow(RangeError);
  });
});

describe('SO_SNDBUF on a connection (setSendBufferSize)', () => {
  it('bounds what a write puts in the send buffer from then on', async () => {
    const { h, sock } = await established();
    sock.setSendBufferSize(5000);
    sock.write(Buffer.alloc(8000));
    await h.settle();
    expect(sock.tcpInfo()!.sndBuf).toBe(5000);
    expect(sock.tcpInfo()!.sendQ).toBe(5000); // the other 3000 wait in the stream for room
    expect(sock.writableLength).toBe(8000); // the write has not completed
  });
});

describe('RecordMarks', () => {
  it('finds the next record end across the sequence wrap and forgets acknowledged ones', async () => {
    const { RecordMarks } = await import('../../src/tcp/records.js');
    const r = new RecordMarks();
    r.add(0xfffffff0);
    r.add(0x10);
    r.add(0x10); // an empty record: no second boundary
    expect(r.size).toBe(2);
    expect(r.bytesToEnd(0xffffffe0)).toBe(0x10);
    expect(r.bytesToEnd(0xfffffff0)).toBe(0x20);
    expect(r.endsAt(0x10)).toBe(true);
    r.acked(0xfffffff8);
    expect(r.size).toBe(1);
    expect(r.bytesToEnd(0x10)).toBe(-1);
  });

  it('a zero-length send with MSG_EOR ends no record', async () => {
    const { h, sock, ack, sent } = await established();
    sock.setNoDelay(true);
    sock.write(Buffer.alloc(10400));
    sock.send(Buffer.alloc(0), { eor: true });
    sock.write(Buffer.alloc(300));
    await h.settle();
    sent();
    await ack(10000);
    expect(sent()).toEqual(['P 10000:10700']);
  });
});
