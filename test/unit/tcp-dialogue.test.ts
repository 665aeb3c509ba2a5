/**
 * Packet dialogues: hand-built segments into one stack, what it sends checked
 * field by field (the Linux forms: RST shapes, option layouts, probes).
 */
import { describe, it, expect } from 'vitest';
import { RawHarness, type Captured } from '../helpers/vnet.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, TCP_ECE, TCP_CWR, formatTcp, formatTcpOptionBytes } from '../../src/wire/tcp.js';
import type { TcpSocket } from '../../src/tcp/socket.js';
import type { TcpConfig } from '../../src/tcp/config.js';

const PEER = 40000;
const PORT = 8080;
const ISN = 1000;

function opts(c: Captured): string {
  return formatTcpOptionBytes(c.bytes, 20, c.tcp.headerLength);
}

/** A listener on 8080 and an accepted connection from PEER (peer ISN 1000). */
async function established(cfg: Partial<TcpConfig> = {}, synOptions: Parameters<RawHarness['inject']>[0]['options'] = { mss: 1460 }) {
  const h = new RawHarness(cfg);
  const accepted: TcpSocket[] = [];
  const server = h.stack.tcp.createServer((s) => accepted.push(s));
  server.listen(PORT);
  await h.settle();
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: 20000, options: synOptions });
  const [synAck] = h.take();
  const iss = synAck!.tcp.seq;
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 20000 });
  expect(accepted).toHaveLength(1);
  return { h, server, sock: accepted[0]!, iss, synAck: synAck! };
}

describe('TCP packet dialogues', () => {
  it('answers a SYN to a closed port with R. seq 0 ack SEG.SEQ+1, and an ACK with R seq SEG.ACK', async () => {
    const h = new RawHarness();
    await h.inject({ srcPort: PEER, dstPort: 4998, seq: 0, flags: TCP_SYN, options: { mss: 1460 } });
    const [r1] = h.take();
    expect(formatTcp(r1!.tcp)).toBe('R. 0:0(0) ack 1 win 0');
    await h.inject({ srcPort: PEER, dstPort: 4998, seq: 700, ack: 5000, flags: TCP_ACK });
    const [r2] = h.take();
    expect(formatTcp(r2!.tcp)).toBe('R 5000:5000(0) win 0');
    await h.inject({ srcPort: PEER, dstPort: 4998, seq: 700, ack: 5000, flags: TCP_RST | TCP_ACK });
    expect(h.take()).toHaveLength(0); // never a RST for a RST
    await h.inject({ srcPort: PEER, dstPort: 4998, seq: 10, flags: TCP_SYN | TCP_FIN, payload: new Uint8Array(5) });
    const [r3] = h.take();
    expect(formatTcp(r3!.tcp)).toBe('R. 0:0(0) ack 17 win 0'); // SEG.SEQ + 5 + SYN + FIN
    expect(h.stack.stats.Tcp.OutRsts).toBe(3);
    expect(h.stack.stats.drops['tcp.no-socket']).toBe(4);
  });

  it('passive open: SYN-ACK in Linux option layout, then ESTABLISHED', async () => {
    const { h, synAck, iss, sock } = await established({}, { mss: 1200, sackPermitted: true, ts: { val: 777, ecr: 0 }, wscale: 7 });
    expect(synAck.tcp.flags).toBe(TCP_SYN | TCP_ACK);
    expect(synAck.tcp.ack).toBe(ISN + 1);
    expect(opts(synAck)).toMatch(/^mss 1460,sackOK,TS val \d+ ecr 777,nop,wscale 10$/);
    const info = sock.tcpInfo()!;
    expect(info.state).toBe('ESTAB');
    expect(info.mss).toBe(1200 - 12);
    expect(info.sack && info.timestamps && info.windowScaling).toBe(true);
    expect(info.iss).toBe(iss);
    expect(h.stack.stats.Tcp.PassiveOpens).toBe(1);
    expect(h.stack.stats.Tcp.CurrEstab).toBe(1);
  });

  it('without options in the SYN: MSS only, default 536 for the peer', async () => {
    const { synAck, sock } = await established({}, {});
    expect(opts(synAck)).toBe('mss 1460');
    expect(sock.tcpInfo()!.peerMss).toBe(536);
    expect(sock.tcpInfo()!.mss).toBe(536);
  });

  it('a stray ACK to a listener gets R seq=SEG.ACK and the listener stays usable', async () => {
    const h = new RawHarness();
    h.stack.tcp.createServer(() => {}).listen(PORT);
    await h.settle();
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: 700, ack: 9000, flags: TCP_ACK, window: 8000 });
    expect(formatTcp(h.take()[0]!.tcp)).toBe('R 9000:9000(0) win 0');
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: 0, flags: TCP_SYN, window: 8000, options: { mss: 1460 } });
    expect(h.take()[0]!.tcp.flags).toBe(TCP_SYN | TCP_ACK);
  });

  it('handles every odd flag combination without crashing, counting each', async () => {
    const { h, iss } = await established();
    const combos = [0, TCP_SYN | TCP_FIN, TCP_SYN | TCP_RST, TCP_FIN, TCP_URG, 0xff, TCP_PSH, TCP_ECE | TCP_CWR, TCP_SYN | TCP_FIN | TCP_RST | TCP_PSH | TCP_URG];
    for (const f of combos) {
      await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1 + 100_000, ack: iss + 1, flags: f, window: 20000 });
      await h.inject({ srcPort: 33333, dstPort: PORT, seq: 5, ack: 7, flags: f, window: 20000 });
      await h.inject({ srcPort: 33334, dstPort: 4999, seq: 5, ack: 7, flags: f, window: 20000 });
    }
    h.take();
    const st = h.stack.stats;
    expect(st.Tcp.InSegs).toBeGreaterThanOrEqual(2 + combos.length * 3);
    const counted = Object.entries(st.drops).filter(([k]) => k.startsWith('tcp.')).reduce((a, [, v]) => a + v, 0);
    expect(counted).toBeGreaterThan(combos.length);
  });

  it('drops bad checksums and bad data offsets, counting InErrs/InCsumErrors', async () => {
    const { h, iss } = await established();
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_PSH, payload: new Uint8Array(10), badChecksum: true });
    expect(h.stack.stats.Tcp.InCsumErrors).toBe(1);
    expect(h.stack.stats.Tcp.InErrs).toBe(1);
    expect(h.take()).toHaveLength(0);
  });

  it('ACKs quickly at the start, then delays (≤ 40 ms) a lone segment and ACKs every second full one at once', async () => {
    // A buffer well above the first window (Linux's tcp_rmem[1] buffer has room beyond the 64240 it offers): the
    // two unread segments do not shrink the window, so the every-second-segment rule applies.
    const { h, iss } = await established({ quickAcks: 1, rmem: 1 << 20 }, { mss: 1000 });
    const seg = (n: number, len: number) => ({ srcPort: PEER, dstPort: PORT, seq: ISN + 1 + n, ack: iss + 1, flags: TCP_ACK, window: 20000, payload: new Uint8Array(len) });
    await h.inject(seg(0, 1000));
    expect(h.take().map((c) => c.tcp.ack - ISN)).toEqual([1001]); // quick ACK
    await h.inject(seg(1000, 1000));
    expect(h.take()).toHaveLength(0); // delayed
    await h.advance(39);
    expect(h.take()).toHaveLength(0);
    await h.advance(1);
    expect(h.take().map((c) => c.tcp.ack - ISN)).toEqual([2001]);
    await h.inject(seg(2000, 1000), seg(3000, 1000));
    expect(h.take().map((c) => c.tcp.ack - ISN)).toEqual([4001]); // two full segments: one ACK, at once (coalesced per batch)
  });

  it('ACKs an out-of-order segment at once with a SACK block, and the gap fill at once', async () => {
    const { h, iss } = await established({}, { mss: 1000, sackPermitted: true });
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1 + 1000, ack: iss + 1, flags: TCP_ACK, window: 20000, payload: new Uint8Array(500) });
    const [dup] = h.take();
    expect(dup!.tcp.ack).toBe(ISN + 1);
    expect(opts(dup!)).toBe(`nop,nop,sack ${ISN + 1001}:${ISN + 1501}`);
    expect(h.stack.stats.TcpExt.TCPOFOQueue).toBe(1);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 20000, payload: new Uint8Array(1000) });
    const [full] = h.take();
    expect(full!.tcp.ack).toBe(ISN + 1501);
    expect(opts(full!)).toBe('');
  });

  it('RFC 5961: in-window RST or SYN → challenge ACK; exact RST → ECONNRESET', async () => {
    const { h, iss, sock } = await established();
    let err: (Error & { code?: string }) | undefined;
    sock.on('error', (e) => (err = e));
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1 + 100, flags: TCP_RST, window: 0 });
    const [c1] = h.take();
    expect(formatTcp(c1!.tcp, { seqBase: iss, ackBase: ISN })).toBe('. 1:1(0) ack 1 win 64240');
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1 + 5, flags: TCP_SYN, window: 1000 });
    expect(h.take()[0]!.tcp.flags).toBe(TCP_ACK);
    expect(h.stack.stats.TcpExt.TCPChallengeACK).toBe(2);
    expect(sock.tcpInfo()!.state).toBe('ESTAB');
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1 + 70_000, flags: TCP_RST, window: 0 });
    expect(h.take()).toHaveLength(0); // out of window: silently dropped
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, flags: TCP_RST, window: 0 });
    expect(err?.code).toBe('ECONNRESET');
    expect(h.stack.stats.Tcp.EstabResets).toBe(1);
    expect(h.stack.stats.Tcp.CurrEstab).toBe(0);
    expect(h.stack.tcp.socketTable().filter((r) => r.state !== 'LISTEN')).toHaveLength(0);
  });

  it('rate-limits challenge ACKs', async () => {
    const { h } = await established({ challengeAckLimit: 3 });
    for (let i = 0; i < 10; i++) await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1 + 100 + i, flags: TCP_RST, window: 0 });
    expect(h.take()).toHaveLength(3);
    expect(h.stack.stats.drops['tcp.challenge-ack-limited']).toBe(7);
  });

  it('answers an ACK for unsent data with an ACK and drops it; an out-of-window segment too', async () => {
    const { h, iss } = await established();
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1000, flags: TCP_ACK, window: 20000, payload: new Uint8Array(10) });
    expect(h.take().map((c) => c.tcp.ack)).toEqual([ISN + 1]);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1 - 5000, ack: iss + 1, flags: TCP_ACK, window: 20000, payload: new Uint8Array(10) });
    expect(h.take().map((c) => c.tcp.ack)).toEqual([ISN + 1]);
    expect(h.stack.stats.drops['tcp.ack-unsent']).toBe(1);
    expect(h.stack.stats.drops['tcp.out-of-window']).toBe(1);
  });

  it('PAWS drops a segment with an old timestamp', async () => {
    const { h, iss, synAck } = await established({}, { mss: 1460, ts: { val: 5000, ecr: 0 } });
    const ecr = synAck.tcp.tsVal;
    const data: Uint8Array[] = [];
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 20000, payload: new Uint8Array(10), options: { ts: { val: 6000, ecr } } });
    h.take();
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 11, ack: iss + 1, flags: TCP_ACK, window: 20000, payload: new Uint8Array(10), options: { ts: { val: 4000, ecr } } });
    const out = h.take();
    expect(out).toHaveLength(1);
    expect(out[0]!.tcp.ack).toBe(ISN + 11); // the old segment was not accepted
    expect(h.stack.stats.TcpExt.PAWSEstab).toBe(1);
    void data;
  });

  it('orderly close started by the application: FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT, FIN re-ACKed, 2·MSL', async () => {
    const { h, iss, sock } = await established({ timeWaitMs: 60_000 });
    sock.end();
    await h.settle();
    expect(formatTcp(h.take()[0]!.tcp, { seqBase: iss, ackBase: ISN })).toBe('F. 1:1(0) ack 1 win 64240');
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 2, flags: TCP_ACK, window: 20000 });
    expect(sock.tcpInfo()?.state ?? 'FIN-WAIT-2').toBe('FIN-WAIT-2');
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 2, flags: TCP_FIN | TCP_ACK, window: 20000 });
    expect(formatTcp(h.take()[0]!.tcp, { seqBase: iss, ackBase: ISN })).toBe('. 2:2(0) ack 2 win 64240');
    expect(h.stack.tcp.socketTable().find((r) => r.state === 'TIME-WAIT')).toBeDefined();
    await h.advance(500);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 2, flags: TCP_FIN | TCP_ACK, window: 20000 });
    expect(formatTcp(h.take()[0]!.tcp, { seqBase: iss, ackBase: ISN })).toBe('. 2:2(0) ack 2 win 64240');
    await h.advance(59_000);
    expect(h.stack.tcp.socketTable().find((r) => r.state === 'TIME-WAIT')).toBeDefined();
    await h.advance(1_000);
    expect(h.stack.tcp.socketTable().find((r) => r.state === 'TIME-WAIT')).toBeUndefined();
  });

  it('a new SYN with a higher sequence number reuses a TIME-WAIT pair', async () => {
    const { h, iss, sock } = await established();
    sock.end();
    await h.settle();
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 2, flags: TCP_FIN | TCP_ACK, window: 20000 });
    h.take();
    expect(h.stack.tcp.socketTable().some((r) => r.state === 'TIME-WAIT')).toBe(true);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 100_000, flags: TCP_SYN, window: 20000, options: { mss: 1460 } });
    const [sa] = h.take();
    expect(sa!.tcp.flags).toBe(TCP_SYN | TCP_ACK);
    expect(((sa!.tcp.seq - (iss + 2)) | 0) > 0).toBe(true); // the new ISN lies above the old incarnation
    expect(h.stack.stats.TcpExt.TWRecycled).toBe(1);
    // An old SYN (lower sequence) for a TIME-WAIT pair does not.
    h.take();
  });

  it('passive close: CLOSE_WAIT → LAST_ACK → CLOSED', async () => {
    const { h, iss, sock } = await established();
    let ended = false;
    sock.on('end', () => (ended = true));
    sock.resume();
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_FIN | TCP_ACK, window: 20000 });
    await h.settle();
    expect(ended).toBe(true);
    const out = h.take();
    // allowHalfOpen false: our FIN follows at once (it may carry the ACK of theirs).
    expect(out.some((c) => c.tcp.flags & TCP_FIN)).toBe(true);
    expect(out[out.length - 1]!.tcp.ack).toBe(ISN + 2);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 2, ack: iss + 2, flags: TCP_ACK, window: 20000 });
    expect(h.stack.tcp.socketTable().filter((r) => r.state !== 'LISTEN')).toHaveLength(0);
  });

  it('destroy() with unread data sends RST (like close(2)); resetAndDestroy() always does', async () => {
    const { h, iss, sock } = await established();
    sock.pause();
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_PSH, window: 20000, payload: new Uint8Array(100) });
    h.take();
    sock.destroy();
    await h.settle();
    const [r] = h.take();
    expect(r!.tcp.flags & TCP_RST).toBeTruthy();
    expect(h.stack.stats.TcpExt.TCPAbortOnData).toBe(1);
    const e2 = await established();
    e2.sock.resetAndDestroy();
    await e2.h.settle();
    expect(e2.h.take()[0]!.tcp.flags & TCP_RST).toBeTruthy();
  });

  it('zero window: probes with SEQ = SND.UNA−1 backing off like the RTO, resumes when the window opens', async () => {
    const { h, iss, sock } = await established({}, { mss: 1000 });
    sock.write(Buffer.alloc(3000));
    await h.settle();
    const first = h.take();
    expect(first.map((c) => c.payload.length)).toEqual([1000, 1000, 1000]);
    // The peer takes 1000 bytes and closes its window.
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1 + 1000, flags: TCP_ACK, window: 0 });
    expect(h.take()).toHaveLength(0);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1 + 3000, flags: TCP_ACK, window: 0 });
    sock.write(Buffer.alloc(500));
    await h.settle();
    expect(h.take()).toHaveLength(0);
    const times: number[] = [];
    const t0 = h.clock.now();
    for (let i = 0; i < 4; i++) {
      for (let k = 0; k < 100 && h.link.sent.length === 0; k++) await h.advance(50);
      const [p] = h.take();
      expect(p!.payload.length).toBe(0);
      expect(p!.tcp.seq).toBe((iss + 3000) >>> 0); // SND.UNA − 1
      times.push(h.clock.now() - t0);
      await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1 + 3000, flags: TCP_ACK, window: 0 });
    }
    const gaps = times.map((t, i) => t - (i > 0 ? times[i - 1]! : 0));
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]! * 1.5);
    expect(h.stack.stats.TcpExt.TCPWinProbe).toBe(4);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1 + 3000, flags: TCP_ACK, window: 1000 });
    const resumed = h.take();
    expect(resumed.map((c) => c.payload.length)).toEqual([500]);
    expect(resumed[0]!.tcp.seq).toBe((iss + 3001) >>> 0);
  });

  it('RTO: retransmits with exponential back-off, then ETIMEDOUT after tcp_retries2', async () => {
    const { h, iss, sock } = await established({ retries2: 4 }, { mss: 1000 });
    let err: (Error & { code?: string }) | undefined;
    sock.on('error', (e) => (err = e));
    sock.write(Buffer.alloc(400));
    await h.settle();
    expect(h.take().map((c) => c.tcp.seq - iss)).toEqual([1]);
    const at: number[] = [];
    const t0 = h.clock.now();
    for (let i = 0; i < 6 && !err; i++) {
      for (let k = 0; k < 1000 && h.link.sent.length === 0 && !err; k++) await h.advance(20);
      const out = h.take();
      if (out.length) {
        expect(out[0]!.tcp.seq - iss).toBe(1);
        expect(out[0]!.payload.length).toBe(400);
        at.push(h.clock.now() - t0);
      }
    }
    expect(at).toHaveLength(4);
    const gaps = at.map((t, i) => t - (i > 0 ? at[i - 1]! : 0));
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]! / gaps[i - 1]!).toBeCloseTo(2, 0);
    expect(err?.code).toBe('ETIMEDOUT');
    expect(h.stack.stats.TcpExt.TCPAbortOnTimeout).toBe(1);
    expect(h.stack.stats.Tcp.RetransSegs).toBe(4);
  });

  it('active open (linear SYN timeouts off): SYN retransmitted at 1, 2, 4 s …, ETIMEDOUT after tcp_syn_retries; SYN-ACK → ESTABLISHED with Linux options', async () => {
    const h = new RawHarness({ synRetries: 3, synLinearTimeouts: 0 });
    const s = h.stack.tcp.connect({ host: '10.77.0.1', port: 80 });
    let err: (Error & { code?: string }) | undefined;
    s.on('error', (e) => (err = e));
    await h.settle();
    const [syn] = h.take();
    expect(syn!.tcp.flags).toBe(TCP_SYN);
    expect(opts(syn!)).toMatch(/^mss 1460,sackOK,TS val \d+ ecr 0,nop,wscale 10$/);
    const t0 = h.clock.now();
    const at: number[] = [];
    for (let k = 0; k < 2000 && !err; k++) {
      await h.advance(100);
      for (const c of h.take()) {
        expect(c.tcp.seq).toBe(syn!.tcp.seq);
        at.push(Math.round(h.clock.now() - t0));
      }
    }
    expect(at).toEqual([1000, 3000, 7000]);
    expect(err?.code).toBe('ETIMEDOUT');
    expect(h.stack.stats.Tcp.AttemptFails).toBe(1);

    const h2 = new RawHarness();
    const s2 = h2.stack.tcp.connect({ host: '10.77.0.1', port: 80 });
    let connected = false;
    s2.on('connect', () => (connected = true));
    await h2.settle();
    const [syn2] = h2.take();
    await h2.inject({ srcPort: 80, dstPort: syn2!.tcp.srcPort, seq: 5000, ack: syn2!.tcp.seq + 1, flags: TCP_SYN | TCP_ACK, window: 5000, options: { mss: 1000 } });
    expect(connected).toBe(true);
    const [ack] = h2.take();
    expect(formatTcp(ack!.tcp, { seqBase: syn2!.tcp.seq, ackBase: 5000 })).toBe('. 1:1(0) ack 1 win 64240');
    expect(s2.tcpInfo()!.timestamps).toBe(false); // not negotiated: the SYN-ACK had none
    s2.write('x'.repeat(400));
    await h2.settle();
    const [d] = h2.take();
    expect(formatTcp(d!.tcp, { seqBase: syn2!.tcp.seq, ackBase: 5000 })).toBe('P. 1:401(400) ack 1 win 64240');
  });

  it('RST in answer to our SYN → ECONNREFUSED; ICMP port unreachable during SYN-SENT → ECONNREFUSED', async () => {
    const h = new RawHarness();
    const s = h.stack.tcp.connect({ host: '10.77.0.1', port: 80 });
    let err: (Error & { code?: string }) | undefined;
    s.on('error', (e) => (err = e));
    await h.settle();
    const [syn] = h.take();
    await h.inject({ srcPort: 80, dstPort: syn!.tcp.srcPort, seq: 0, ack: syn!.tcp.seq + 1, flags: TCP_RST | TCP_ACK, window: 0 });
    expect(err?.code).toBe('ECONNREFUSED');
    expect(s.getError()).toBe(111);
  });

  it('Nagle holds a small segment while data is unacknowledged; setNoDelay sends at once', async () => {
    const { h, iss, sock } = await established({}, { mss: 1000 });
    sock.write('a');
    await h.settle();
    expect(h.take()).toHaveLength(1);
    sock.write('b');
    await h.settle();
    expect(h.take()).toHaveLength(0);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 2, flags: TCP_ACK, window: 20000 });
    expect(h.take().map((c) => c.payload.length)).toEqual([1]);
    sock.setNoDelay(true);
    sock.write('c');
    await h.settle();
    sock.write('d');
    await h.settle();
    expect(h.take().map((c) => c.payload.length)).toEqual([1, 1]);
  });
});
