/**
 * Where a write stops under TCP_NOTSENT_LOWAT (src/tcp/write-queue.ts, Linux tcp_sendmsg_locked) and the
 * non-blocking write that returns the partial count (TcpSocket.trySend).
 */
import { describe, it, expect } from 'vitest';
import { RawHarness, type Captured } from '../helpers/vnet.js';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import type { TcpConfig } from '../../src/tcp/config.js';

const PEER = 40000;
const PORT = 8080;
const ISN = 1000;

/** An accepted connection from PEER: MSS 1000, an unscaled peer window of `win` (size goal: half of it). */
async function established(win: number, cfg: Partial<TcpConfig> = {}) {
  const h = new RawHarness(cfg);
  const accepted: TcpSocket[] = [];
  h.stack.tcp.createServer((s) => accepted.push(s)).listen(PORT);
  await h.settle();
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: win, options: { mss: 1000 } });
  const [synAck] = h.take();
  const iss = synAck!.tcp.seq;
  await h.advance(10);
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: win });
  const sock = accepted[0]!;
  const ack = (n: number) => h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1 + n, flags: TCP_ACK, window: win });
  const sent = (): string[] => h.take().filter((c) => c.payload.length > 0).map((c: Captured) => `${c.tcp.flags & TCP_PSH ? 'P' : '.'} ${c.tcp.seq - iss - 1}:${c.tcp.seq - iss - 1 + c.payload.length}`);
  return { h, sock, ack, sent };
}

const segs = (list: string[]): number => list.reduce((n, s) => n + Number(s.split(':')[1]) - Number(s.split(' ')[1]!.split(':')[0]), 0);

describe('TCP_NOTSENT_LOWAT on the write side (write-queue.ts)', () => {
  it('a non-blocking write stops at the first new buffer that finds the unsent bytes at the mark', async () => {
    // Size goal 16000 (half of 32000); cwnd 10: the first buffer fills, 10000 go, the 6000 left fill up to
    // 16000 again (26000 copied); the next buffer finds 16000 unsent ≥ 4000 — Linux returns 26000.
    const { h, sock, sent } = await established(32000);
    sock.setNotSentLowat(4000);
    expect(sock.trySend(Buffer.alloc(59000))).toBe(26000);
    await h.settle();
    expect(segs(sent())).toBe(10000);
    expect(sock.unsentBytes).toBe(16000);
    // Nothing more fits until the unsent bytes drop below the mark: EAGAIN (0).
    expect(sock.trySend(Buffer.alloc(1000))).toBe(0);
  });

  it('units cut from the tail buffer the write marked carry PSH', async () => {
    const { h, sock, ack, sent } = await established(32000);
    sock.setNotSentLowat(4000);
    sock.trySend(Buffer.alloc(59000));
    await h.settle();
    sent();
    await ack(2000); // slow start: cwnd 12, 8 in flight → 4000 more
    // One 4000-byte unit (segment by segment without TSO), its end marked.
    expect(sent()).toEqual(['. 10000:11000', '. 11000:12000', '. 12000:13000', 'P 13000:14000']);
    await ack(4000);
    expect(sent()).toEqual(['. 14000:15000', '. 15000:16000', '. 16000:17000', 'P 17000:18000']);
    await ack(6000);
    expect(sent()).toEqual(['. 18000:19000', '. 19000:20000', '. 20000:21000', 'P 21000:22000']);
  });

  it('takes a write whole when it fits in the first buffer, and without a mark as far as the buffer goes', async () => {
    const { sock } = await established(60000);
    sock.setNotSentLowat(4000);
    expect(sock.trySend(Buffer.alloc(14000))).toBe(14000); // size goal 30000: one buffer, checked empty
    const other = await established(32000);
    expect(other.sock.trySend(Buffer.alloc(59000))).toBe(59000); // no mark: the send buffer's room only
  });

  it('the stack-wide net.ipv4.tcp_notsent_lowat stops a write the same way', async () => {
    const { sock } = await established(32000, { notsentLowat: 4000 });
    expect(sock.notSentLowat).toBe(0);
    expect(sock.trySend(Buffer.alloc(59000))).toBe(26000);
  });
});

describe('a blocking write under TCP_NOTSENT_LOWAT', () => {
  it('waits until twice the unsent bytes are below the mark, then goes on where Linux would', async () => {
    const { h, sock, ack } = await established(32000);
    sock.setNotSentLowat(4000);
    sock.write(Buffer.alloc(59000));
    await h.settle();
    expect(sock.bytesWritten).toBe(26000);
    await ack(2000); // 12000 unsent: not writable (2 × 12000 ≥ 4000), the write stays asleep
    expect(sock.bytesWritten).toBe(26000);
    await ack(4000);
    await ack(6000);
    await ack(8000); // everything written has left: writable, the write copies on
    expect(sock.bytesWritten).toBeGreaterThan(26000);
  });
});
