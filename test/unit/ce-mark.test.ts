import { describe, it, expect } from 'vitest';
import { TimerQueue, VirtualClock } from '../../src/clock.js';
import { CE_ALREADY, CE_MARKED, CE_NOT_ECT, CE_NOT_IP, ipEcnField, markCe } from '../../src/link/ce-mark.js';
import { ImpairedLink } from '../../src/link/impair.js';
import { parseImpairSpec } from '../../src/link/impair-spec.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';
import { checksumOk, internetChecksum } from '../../src/wire/checksum.js';

/** A 60-byte IPv4 packet with a valid header checksum, TOS `tos`, id `id`. */
function v4(tos: number, id = 1): Uint8Array {
  const b = new Uint8Array(60);
  b[0] = 0x45;
  b[1] = tos;
  b[2] = 0;
  b[3] = 60;
  b[4] = id >>> 8;
  b[5] = id & 0xff;
  b[8] = 64;
  b[9] = 6;
  b.set([10, 77, 0, 2], 12);
  b.set([10, 77, 0, 1], 16);
  const c = internetChecksum(b, 0, 20);
  b[10] = c >>> 8;
  b[11] = c & 0xff;
  return b;
}

/** A 60-byte IPv6 packet with traffic class `tc` and flow label 0xabcde. */
function v6(tc: number): Uint8Array {
  const b = new Uint8Array(60);
  b[0] = 0x60 | (tc >> 4);
  b[1] = ((tc & 0xf) << 4) | 0x0a;
  b[2] = 0xbc;
  b[3] = 0xde;
  b[5] = 20;
  b[6] = 6;
  b[7] = 64;
  return b;
}

describe('markCe', () => {
  it('marks ECT(0) and ECT(1) IPv4 packets CE and keeps the header checksum valid, DSCP untouched', () => {
    for (const tos of [0x02, 0x01, 0xb8 | 0x02, 0xfd]) {
      const p = v4(tos);
      expect(markCe(p)).toBe(CE_MARKED);
      expect(p[1]).toBe((tos & 0xfc) | 3);
      expect(ipEcnField(p)).toBe(3);
      expect(checksumOk(p, 0, 20)).toBe(true);
    }
  });

  it('leaves not-ECT and CE packets alone', () => {
    const n = v4(0xb8);
    const before = n.slice();
    expect(markCe(n)).toBe(CE_NOT_ECT);
    expect(n).toEqual(before);
    const ce = v4(0x03);
    expect(markCe(ce)).toBe(CE_ALREADY);
    expect(ce[1]).toBe(3);
  });

  it('marks the IPv6 traffic class ECN bits, keeping DSCP and the flow label', () => {
    const p = v6(0xb8 | 0x02);
    expect(ipEcnField(p)).toBe(2);
    expect(markCe(p)).toBe(CE_MARKED);
    expect(ipEcnField(p)).toBe(3);
    expect(((p[0]! & 0xf) << 4) | (p[1]! >> 4)).toBe(0xbb);
    expect([p[1]! & 0xf, p[2], p[3]]).toEqual([0x0a, 0xbc, 0xde]);
    expect(markCe(v6(0))).toBe(CE_NOT_ECT);
  });

  it('refuses what is not an IP packet', () => {
    expect(markCe(new Uint8Array(0))).toBe(CE_NOT_IP);
    expect(markCe(new Uint8Array([0x45, 2, 0, 20]))).toBe(CE_NOT_IP);
    const arp = new Uint8Array(40);
    arp[0] = 0x12;
    expect(markCe(arp)).toBe(CE_NOT_IP);
  });
});

/** Records what the stage hands on. */
class Sink implements Link {
  readonly mtu = 1500;
  readonly name = 'sink0';
  receiver: LinkReceiver | null = null;
  sent: Uint8Array[] = [];
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  send(packets: readonly Uint8Array[], count: number): void {
    for (let i = 0; i < count; i++) this.sent.push(packets[i]!);
  }
  close(): void {}
}

function stage(text: string) {
  const spec = parseImpairSpec(text);
  if ('error' in spec) throw new Error(spec.error);
  const clock = new VirtualClock();
  const timers = new TimerQueue();
  const inner = new Sink();
  const link = new ImpairedLink(inner, spec, clock, timers);
  const drain = (): void => {
    for (let n = 0; n < 100_000 && timers.nextDeadline() < Infinity; n++) {
      const t = Math.max(clock.now(), timers.nextDeadline());
      clock.set(t);
      timers.runDue(t);
    }
  };
  return { clock, timers, inner, link, drain };
}

describe('the CE-marking stage', () => {
  it('ce=5% marks about 5% of ECT packets, drops none, and the seed reproduces the choice', () => {
    const run = (seed: number): number[] => {
      const h = stage(`out:ce=5%,seed=${seed}`);
      for (let i = 0; i < 4000; i++) h.link.send([v4(0x02, i)], 1);
      expect(h.inner.sent.length).toBe(4000);
      const marked = h.inner.sent.filter((p) => ipEcnField(p) === 3).map((p) => (p[4]! << 8) | p[5]!);
      expect(h.link.stats.out.ceMarked).toBe(marked.length);
      expect(h.link.stats.out.dropped).toBe(0);
      for (const p of h.inner.sent) expect(checksumOk(p, 0, 20)).toBe(true);
      return marked;
    };
    const a = run(3);
    expect(a.length).toBeGreaterThan(140);
    expect(a.length).toBeLessThan(260);
    expect(run(3)).toEqual(a);
    expect(run(4)).not.toEqual(a);
  });

  it('leaves not-ECT packets unchanged and counts them apart', () => {
    const h = stage('ce=100%');
    const pkts = [v4(0x00, 1), v4(0x02, 2), v4(0x01, 3), v4(0x03, 4)];
    const copies = pkts.map((p) => p.slice());
    h.link.send(pkts, pkts.length);
    expect(h.inner.sent.map(ipEcnField)).toEqual([0, 3, 3, 3]);
    expect(h.inner.sent[0]).toEqual(copies[0]);
    expect(h.link.stats.out).toMatchObject({ ceMarked: 2, ceNotEct: 1, passed: 4 });
  });

  it('marks per direction: in:ce marks inbound packets only', () => {
    const h = stage('in:ce=100%');
    const got: number[] = [];
    h.link.setReceiver((p, n) => {
      for (let i = 0; i < n; i++) got.push(ipEcnField(p[i]!));
    });
    h.inner.receiver!([v4(0x02)], 1);
    h.link.send([v4(0x02)], 1);
    expect(got).toEqual([3]);
    expect(ipEcnField(h.inner.sent[0]!)).toBe(2);
    expect(h.link.stats.in.ceMarked).toBe(1);
    expect(h.link.stats.out.ceMarked).toBe(0);
  });

  it('a duplicate is marked on its own: marking the original does not mark the copy through a shared buffer', () => {
    const h = stage('out:duplicate=100%,out:ce=50%,seed=9');
    for (let i = 0; i < 200; i++) h.link.send([v4(0x02, i)], 1);
    expect(h.inner.sent.length).toBe(400);
    let differ = 0;
    for (let i = 0; i < 400; i += 2) {
      expect(h.inner.sent[i]).not.toBe(h.inner.sent[i + 1]);
      if (ipEcnField(h.inner.sent[i]!) !== ipEcnField(h.inner.sent[i + 1]!)) differ++;
    }
    expect(differ).toBeGreaterThan(50);
  });

  it('ce-queue=N marks only while the rate queue holds N packets or more', () => {
    // 1500-byte packets at 12 mbit: 1 ms each on the wire. A burst of 30 queues behind itself.
    const h = stage('out:rate=12mbit,out:ce-queue=20');
    const burst: Uint8Array[] = [];
    for (let i = 0; i < 30; i++) {
      const p = new Uint8Array(1500);
      p.set(v4(0x02, i).subarray(0, 20));
      p[2] = 1500 >> 8;
      p[3] = 1500 & 0xff;
      burst.push(p);
    }
    h.link.send(burst, burst.length);
    h.drain();
    expect(h.inner.sent.length).toBe(30);
    // Packet i finds the i packets before it still queued (each waits its 1 ms of serialization).
    const marks = h.inner.sent.map((p) => ipEcnField(p) === 3);
    const firstMarked = marks.indexOf(true);
    expect(firstMarked).toBe(20);
    expect(marks.slice(firstMarked).every(Boolean)).toBe(true);
    expect(h.link.stats.out.ceMarked).toBe(30 - firstMarked);
    // Spaced out, the queue never builds: nothing is marked.
    const q = stage('out:rate=12mbit,out:ce-queue=20');
    for (let i = 0; i < 30; i++) {
      q.clock.set(i * 5);
      q.timers.runDue(i * 5);
      const p = new Uint8Array(1500);
      p.set(v4(0x02, i).subarray(0, 20));
      q.link.send([p], 1);
    }
    q.drain();
    expect(q.link.stats.out.ceMarked).toBe(0);
  });

  it('a spec without ce draws the same decisions as before (ce adds draws only when set)', () => {
    const a = stage('out:loss=30%,seed=5');
    const b = stage('out:loss=30%,out:ce-queue=5,seed=5');
    for (let i = 0; i < 500; i++) {
      a.link.send([v4(0x02, i)], 1);
      b.link.send([v4(0x02, i)], 1);
    }
    expect(b.inner.sent.map((p) => p[5])).toEqual(a.inner.sent.map((p) => p[5]));
  });
});
