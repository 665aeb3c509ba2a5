/** RACK's rules one by one (RFC 8985 §6.2 steps 2–5, §6.3), the sent log, and undo (RFC 3522 / RFC 3708). */
import { describe, it, expect } from 'vitest';
import { Vnet, B_ADDR, parseSent } from '../helpers/vnet.js';
import { SentLog, SEG_EVER_RETRANS, SEG_LOST, SEG_RETRANS, SEG_SACKED } from '../../src/tcp/sent-log.js';
import { dsackBytes, dsackCredible, rackDetectLoss, rackReoWnd, rackSentAfter, rackUpdateReoWnd, RACK_RECOVERY_THRESH } from '../../src/tcp/rack.js';
import { TcpHeader } from '../../src/wire/tcp.js';
import type { Tcb } from '../../src/tcp/tcb.js';
import { REC_NONE, REC_SACK } from '../../src/tcp/tcb.js';

describe('sent log', () => {
  it('logs a super-segment per wire segment; a retransmission marks what it covers; lostPending follows the marks', () => {
    const log = new SentLog();
    log.recordSend(1000, 4000, 1000, 5); // four segments at t=5
    expect(log.count).toBe(4);
    expect(log.end(log.slot(3))).toBe(5000);
    const k = log.slot(1);
    log.setFlags(k, SEG_LOST);
    expect(log.lostPending).toBe(1000);
    expect(log.recordSend(2000, 1000, 0, 9)).toBe(1); // the retransmission of the second
    expect(log.flags(k)).toBe(SEG_RETRANS | SEG_EVER_RETRANS);
    expect(log.xmit(k)).toBe(9);
    expect(log.lostPending).toBe(0);
    log.recordSend(5000, 500, 0, 10); // new data appends
    expect(log.count).toBe(5);
    log.setFlags(log.slot(2), SEG_LOST);
    log.shift();
    log.trimHead(2500);
    expect(log.start(log.slot(0))).toBe(2500);
    expect(log.lostPending).toBe(1000);
    log.setFlags(log.slot(1), SEG_LOST | SEG_SACKED);
    expect(log.lostPending).toBe(0);
  });

  it('wraps around 2^32 and keeps sequence order', () => {
    const log = new SentLog();
    log.recordSend(0xffffff00, 0x200, 0x100, 1);
    expect(log.count).toBe(2);
    expect(log.firstEndingAbove(0x10)).toBe(1);
  });
});

describe('RACK rules', () => {
  it('RACK_sent_after: later time wins; equal times go by the higher end', () => {
    expect(rackSentAfter(2, 100, 1, 500)).toBe(true);
    expect(rackSentAfter(1, 500, 1, 100)).toBe(true);
    expect(rackSentAfter(1, 100, 1, 500)).toBe(false);
  });

  it('D-SACK: a first block below the ACK or inside the second (RFC 2883 §4)', () => {
    const h = new TcpHeader();
    h.ack = 5000;
    h.sackCount = 1;
    h.sackBlocks.set([3000, 4000]);
    expect(dsackBytes(h)).toBe(1000);
    h.sackBlocks.set([6000, 7000]);
    expect(dsackBytes(h)).toBe(0);
    h.sackCount = 2;
    h.sackBlocks.set([6000, 7000, 5500, 8000]);
    expect(dsackBytes(h)).toBe(1000);
  });

  async function connection(tcp: Record<string, unknown> = {}): Promise<{ net: Vnet; c: Tcb }> {
    const net = new Vnet({ tcpB: { seed: 2, ...tcp } });
    let conn: Tcb | null = null;
    net.b.tcp.createServer((s) => (conn = s.connection as unknown as Tcb)).listen(80);
    net.a.tcp.connect({ host: B_ADDR, port: 80 });
    await net.until(() => conn !== null, 5000, 'accept');
    return { net, c: conn! };
  }

  it('reo_wnd: 0 before any reordering in recovery or with three segments SACKed (DupThresh), else min_RTT/4 per step up to SRTT + 4·RTTVAR', async () => {
    const { net, c } = await connection();
    c.rtt.srtt = 40;
    c.rack.minRtt = 20;
    c.recovery = REC_SACK;
    expect(rackReoWnd(c)).toBe(0);
    c.recovery = REC_NONE;
    expect(rackReoWnd(c)).toBe(5);
    c.scoreboard.sacked = 3 * c.smss;
    expect(rackReoWnd(c)).toBe(0);
    c.rack.reordSeen = 1;
    expect(rackReoWnd(c)).toBe(5);
    c.rack.reoWndSteps = 20;
    c.rtt.rttvar = 0;
    expect(rackReoWnd(c)).toBe(40); // capped at SRTT (+ 4·RTTVAR, 0 on this steady path)
    c.rtt.rttvar = 5;
    expect(rackReoWnd(c)).toBe(60); // round trips that spread widen the cap: SRTT + 4·RTTVAR
    c.rack.reoWndSteps = 40;
    expect(rackReoWnd(c)).toBe(60);
    c.rack.minRtt = 0; // below a tick: counts as one tick (4 ms), our documented deviation
    c.rack.reoWndSteps = 1;
    expect(rackReoWnd(c)).toBe(1);
    net.close();
  });

  it('reo_wnd steps: a D-SACK widens by one step once per round trip and persists 16 recoveries; tcp_recovery bit 2 keeps it static', async () => {
    const { net, c } = await connection();
    const r = c.rack;
    r.delivered = 10;
    r.dsackSeen = true;
    rackUpdateReoWnd(c, 10);
    expect(r.reoWndSteps).toBe(2);
    expect(r.reoWndPersist).toBe(RACK_RECOVERY_THRESH);
    r.dsackSeen = true;
    rackUpdateReoWnd(c, 9); // data delivered before the last widening: disregarded
    expect(r.reoWndSteps).toBe(2);
    r.reoWndPersist = 0;
    rackUpdateReoWnd(c, 11);
    expect(r.reoWndSteps).toBe(1);
    net.close();
    const s = await connection({ recovery: 3 });
    s.c.rack.dsackSeen = true;
    rackUpdateReoWnd(s.c, 10);
    expect(s.c.rack.reoWndSteps).toBe(1);
    s.net.close();
  });

  it('a peer that D-SACKs what was never retransmitted is not believed (Linux tcp_dsack_seen): no widening, no undo', async () => {
    const { net, c } = await connection();
    c.retransTotal = 1;
    expect(dsackCredible(c, c.smss)).toBe(c.smss); // one D-SACKed segment, one retransmission: believed
    expect(dsackCredible(c, 2 * c.smss)).toBe(0); // three D-SACKed of one retransmitted: dubious
    expect(net.b.stats.TcpExt.TCPDSACKIgnoredDubious).toBe(1);
    net.close();
  });

  it('RACK_detect_loss: a segment sent before the reference is lost once RACK.rtt + reo_wnd has passed; before that it is waited for', async () => {
    const { net, c } = await connection();
    c.sndUna = 1000;
    c.sndMax = 4000;
    c.sent.clear();
    c.sent.recordSend(1000, 3000, 1000, 100); // three segments at t=100
    c.sent.setXmit(c.sent.slot(2), 110); // the third left at 110
    c.sent.setFlags(c.sent.slot(2), SEG_SACKED);
    c.rack.xmitTs = 110;
    c.rack.endSeq = 4000;
    c.rack.rtt = 10;
    c.rack.minRtt = 8;
    c.rack.reordSeen = 1; // reo_wnd = 2 ms
    c.rtt.srtt = 10;
    expect(rackDetectLoss(c, 105)).toBe(7); // 10 + 2 − (105 − 100): 7 ms to wait
    expect(c.sent.lostPending).toBe(0);
    expect(rackDetectLoss(c, 115)).toBe(0); // 10 + 2 − 15 < 0: both lost
    expect(c.sent.lostPending).toBe(2000);
    expect(c.sent.flags(c.sent.slot(0))).toBe(SEG_LOST);
    c.sent.clear();
    net.close();
  });
});

describe('RACK and undo between two stacks', () => {
  it('a segment delayed (not lost) past the reordering window: retransmitted, D-SACKed, the reduction undone (TCPDSACKUndo or TCPFullUndo)', async () => {
    // A 10 ms path; B's 30th data segment is held 40 ms more (deterministically).
    let n = 0;
    const net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 }, impairB: 'delay=10ms' });
    const held: { p: Uint8Array; at: number }[] = [];
    const link = net.linkB as unknown as { send: (p: readonly Uint8Array[], count: number) => void };
    const send = link.send.bind(link);
    link.send = (ps, count) => {
      const keep: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const p = ps[i]!;
        if (parseSent(p).payload.length > 0 && ++n === 30) held.push({ p: p.slice(), at: net.clock.now() + 40 });
        else keep.push(p);
      }
      if (keep.length) send(keep, keep.length);
    };
    const data = Buffer.alloc(2_000_000, 5);
    net.b.tcp.createServer((s) => s.end(data)).listen(80);
    let len = 0;
    const c = net.a.tcp.connect({ host: B_ADDR, port: 80 });
    c.on('data', (d: Buffer) => (len += d.length));
    await net.until(() => {
      if (held.length > 0 && net.clock.now() >= held[0]!.at) send([held.shift()!.p], 1);
      return len === data.length && held.length === 0;
    }, 20_000, 'download');
    await net.run(50); // the D-SACK for the late original reaches B
    const x = net.b.stats.TcpExt;
    expect(net.b.stats.Tcp.RetransSegs).toBeGreaterThan(0);
    expect(x.TCPDSACKRecv).toBeGreaterThan(0);
    expect(x.TCPDSACKUndo + x.TCPFullUndo).toBeGreaterThan(0);
    expect(x.TCPTimeouts).toBe(0);
    net.close();
  });
});
