/**
 * Linux's receiver and sender choices, packet by packet: interactive (pingpong) delayed ACKs, the quick-ACK
 * budget limited by the window, a window that closes when the application does not read, D-SACK, Minshall's
 * Nagle, and the RST when keepalive gives up.
 */
import { describe, it, expect } from 'vitest';
import { RawHarness, type Captured } from '../helpers/vnet.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, formatTcp, formatTcpOptionBytes } from '../../src/wire/tcp.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import type { TcpConfig } from '../../src/tcp/config.js';

const PEER = 40000;
const PORT = 8080;
const ISN = 1000;

function opts(c: Captured): string {
  return formatTcpOptionBytes(c.bytes, 20, c.tcp.headerLength);
}

async function established(cfg: Partial<TcpConfig> = {}, synOptions: Parameters<RawHarness['inject']>[0]['options'] = { mss: 1000 }) {
  const h = new RawHarness(cfg);
  const accepted: TcpSocket[] = [];
  h.stack.tcp.createServer((s) => accepted.push(s)).listen(PORT);
  await h.settle();
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: 20000, options: synOptions });
  const [synAck] = h.take();
  const iss = synAck!.tcp.seq;
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 20000 });
  const seg = (n: number, len: number, flags = TCP_ACK, ack = 1) => ({ srcPort: PEER, dstPort: PORT, seq: ISN + 1 + n, ack: iss + ack, flags, window: 20000, payload: new Uint8Array(len) });
  const fmt = (c: Captured | undefined) => formatTcp(c!.tcp, { seqBase: iss, ackBase: ISN });
  return { h, sock: accepted[0]!, iss, seg, fmt };
}

describe('Linux ACK and window choices', () => {
  it('interactive mode: once the application answered, the next request is not quick-ACKed; the ACK rides on the answer', async () => {
    const { h, sock, seg, fmt } = await established();
    sock.on('data', () => {});
    await h.settle();
    await h.inject(seg(0, 100, TCP_ACK | TCP_PSH));
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 101 win 64240']); // quick ACK (start of the connection)
    await h.advance(5);
    sock.write(Buffer.alloc(200));
    await h.settle();
    expect(h.take().map(fmt)).toEqual(['P. 1:201(200) ack 101 win 64240']); // an answer within 40 ms: pingpong
    await h.inject(seg(100, 0, TCP_ACK, 201));
    await h.advance(10);
    await h.inject(seg(100, 100, TCP_ACK | TCP_PSH, 201));
    expect(h.take()).toHaveLength(0); // delayed although quick ACKs are left
    await h.advance(4);
    sock.write(Buffer.alloc(200));
    await h.settle();
    expect(h.take().map(fmt)).toEqual(['P. 201:401(200) ack 201 win 64240']);
    expect(sock.connection!.pingpong).toBe(true);
    // No answer this time: the delayed-ACK timer (40 ms) sends the ACK and leaves interactive mode.
    await h.inject(seg(200, 100, TCP_ACK | TCP_PSH, 401));
    expect(h.take()).toHaveLength(0);
    await h.advance(40);
    expect(h.take().map(fmt)).toEqual(['. 401:401(0) ack 301 win 64240']);
    expect(sock.connection!.pingpong).toBe(false);
  });

  it("the peer's FIN in ESTABLISHED is ACKed late, on the application's FIN when it closes in time", async () => {
    const { h, sock, seg, fmt } = await established();
    sock.on('data', () => {});
    sock.on('end', () => {}); // allowHalfOpen false: the socket ends its side at the peer's FIN
    await h.settle();
    await h.inject(seg(0, 0, TCP_ACK | TCP_FIN));
    await h.settle();
    expect(h.take().map(fmt)).toEqual(['F. 1:1(0) ack 2 win 64240']); // no pure ACK before it
  });

  it('quick ACKs are limited to rcv_wnd / (2·MSS): with a 3000-byte window one, then every second full segment', async () => {
    const { h, sock, seg, fmt } = await established({ rmem: 3000 });
    sock.on('data', () => {}); // the application reads at once
    await h.settle();
    await h.inject(seg(0, 1000));
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 1001 win 3000']); // the one quick ACK: 3000 / (2·1000)
    await h.inject(seg(1000, 1000));
    expect(h.take()).toHaveLength(0); // one segment is not more than one full segment: delayed
    await h.inject(seg(2000, 1000));
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 3001 win 3000']); // the second: at once
  });

  it('an application that does not read closes the window; reading opens it with a window update', async () => {
    const { h, sock, seg, fmt } = await established({ rmem: 4000 });
    sock.pause(); // bytes may move into the stream, but they are not consumed
    await h.inject(seg(0, 1000));
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 1001 win 3000']);
    await h.inject(seg(1000, 1000), seg(2000, 1000), seg(3000, 1000));
    await h.advance(40);
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 4001 win 0']);
    const got = sock.read(4000) as Buffer | null;
    expect(got?.length).toBe(4000);
    await h.settle();
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 4001 win 4000']);
  });

  it('a duplicate segment is ACKed with a D-SACK block (RFC 2883), once', async () => {
    // A buffer well above the first window: the unread segment leaves the window at its unscaled cap.
    const { h, seg, fmt } = await established({ rmem: 1 << 20 }, { mss: 1000, sackPermitted: true });
    await h.inject(seg(0, 1000));
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 1001 win 65535']);
    await h.inject(seg(0, 1000));
    const [d] = h.take();
    expect(d!.tcp.ack).toBe(ISN + 1001);
    expect(opts(d!)).toBe(`nop,nop,sack ${ISN + 1}:${ISN + 1001}`);
    // A segment overlapping RCV.NXT: its old head is the D-SACK; the new part is data.
    await h.inject(seg(500, 1000));
    const [e] = h.take();
    expect(e!.tcp.ack).toBe(ISN + 1501);
    expect(opts(e!)).toBe(`nop,nop,sack ${ISN + 501}:${ISN + 1001}`);
    await h.inject(seg(1500, 100));
    const [f] = h.take();
    expect(opts(f!)).toBe('');
  });

  it("Nagle in Minshall's form: a small write after full segments leaves at once, a second small one waits", async () => {
    const { h, sock, seg, fmt } = await established();
    sock.write(Buffer.alloc(1000));
    await h.settle();
    expect(h.take().map(fmt)).toEqual(['P. 1:1001(1000) ack 1 win 64240']);
    sock.write(Buffer.alloc(100));
    await h.settle();
    expect(h.take().map(fmt)).toEqual(['P. 1001:1101(100) ack 1 win 64240']); // classic Nagle would hold it
    sock.write(Buffer.alloc(100));
    await h.settle();
    expect(h.take()).toHaveLength(0); // a small segment is unacknowledged
    await h.inject(seg(0, 0, TCP_ACK, 1101));
    expect(h.take().map(fmt)).toEqual(['P. 1101:1201(100) ack 1 win 64240']);
  });

  it('the end of a write (a short segment) is ACKed as soon as the application has read everything (tcp_measure_rcv_mss, tcp_cleanup_rbuf)', async () => {
    // A bulk sender's write that is not a multiple of the MSS ends in a short segment, and its Nagle holds the
    // next short one until this ACK: Linux sends it once the reader drained the queue, not 40 ms later.
    const { h, sock, seg, fmt } = await established({ rmem: 3000 });
    sock.on('data', () => {}); // reads at once
    await h.settle();
    await h.inject(seg(0, 1000));
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 1001 win 3000']); // the one quick ACK (3000 / 2·1000)
    await h.inject(seg(1000, 1000));
    expect(h.take()).toHaveLength(0); // one full segment: delayed
    await h.inject(seg(2000, 1000));
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 3001 win 3000']); // every second full segment
    await h.inject(seg(3000, 300, TCP_ACK | TCP_PSH));
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 3301 win 3000']); // short, read at once: ACKed at once
  });

  it('a short segment the application has not read yet, or one in interactive mode, waits; a second one in interactive mode does not', async () => {
    const { h, sock, seg, fmt } = await established({ rmem: 3000 });
    await h.settle();
    await h.inject(seg(0, 1000));
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 1001 win 2000']); // not read yet
    await h.inject(seg(1000, 300, TCP_ACK | TCP_PSH));
    expect(h.take()).toHaveLength(0); // nobody read it: the receive queue is not empty
    sock.on('data', () => {});
    await h.settle();
    expect(h.take().map(fmt)).toEqual(['. 1:1(0) ack 1301 win 3000']); // read: ACKed now
    // Interactive mode (an answer went out within the delayed-ACK time): one short request waits for the answer...
    await h.advance(5);
    sock.write(Buffer.alloc(10));
    await h.settle();
    expect(h.take().map(fmt)).toEqual(['P. 1:11(10) ack 1301 win 3000']);
    expect(sock.connection!.pingpong).toBe(true);
    await h.inject(seg(1300, 100, TCP_ACK | TCP_PSH, 11));
    expect(h.take()).toHaveLength(0);
    // ... a second end of a write before any ACK (ICSK_ACK_PUSHED2) is ACKed once read.
    await h.inject(seg(1400, 100, TCP_ACK | TCP_PSH, 11));
    expect(h.take().map(fmt)).toEqual(['. 11:11(0) ack 1501 win 3000']);
  });

  it('keepalive: unanswered probes end the connection with a RST, then ETIMEDOUT', async () => {
    const { h, sock, fmt } = await established({ keepaliveIntervalMs: 2000, keepaliveProbes: 3 });
    let err: (Error & { code?: string }) | null = null;
    sock.on('error', (e: Error) => (err = e));
    sock.setKeepAlive(true, 10_000);
    await h.advance(10_000);
    expect(h.take().map(fmt)).toEqual(['. 0:0(0) ack 1 win 64240']);
    await h.advance(4000);
    expect(h.take()).toHaveLength(2);
    await h.advance(2000);
    const [rst] = h.take();
    expect(rst!.tcp.flags).toBe(TCP_RST | TCP_ACK);
    // Linux tcp_send_active_reset: the RST goes out on the socket, with its window (captured: win 65535 unscaled).
    expect(fmt(rst)).toBe('R. 1:1(0) ack 1 win 64240');
    await h.settle();
    expect(err!.code).toBe('ETIMEDOUT');
  });
});
