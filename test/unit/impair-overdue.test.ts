/**
 * The impairment stage under a late event loop: packets whose delay ran out while the process was busy (their
 * timer not yet fired) leave before a packet that arrives now and skips the queue — netem releases each packet
 * at its time, so by "now" they are gone already. Letting the newcomer overtake them would add the loop's lag
 * to the configured reordering (live runs under load: a queue-skipping ACK processed before the overdue ACKs
 * it overtook, and RACK deeming their segments lost).
 */
import { describe, it, expect } from 'vitest';
import { TimerQueue, VirtualClock } from '../../src/clock.js';
import { ImpairedLink } from '../../src/link/impair.js';
import { parseImpairSpec } from '../../src/link/impair-spec.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';

class RecordingLink implements Link {
  readonly mtu = 1500;
  readonly name = 'rec0';
  receiver: LinkReceiver | null = null;
  readonly sent: number[] = [];
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  send(packets: readonly Uint8Array[], count: number): void {
    for (let i = 0; i < count; i++) this.sent.push(packets[i]![5]!);
  }
  close(): void {}
}

const pkt = (id: number): Uint8Array => {
  const b = new Uint8Array(40);
  b[0] = 0x45;
  b[5] = id;
  return b;
};

function setup(text: string) {
  const spec = parseImpairSpec(text);
  if ('error' in spec) throw new Error(spec.error);
  const clock = new VirtualClock(0);
  const timers = new TimerQueue();
  const inner = new RecordingLink();
  const link = new ImpairedLink(inner, spec, clock, timers);
  const received: number[] = [];
  link.setReceiver((p, n) => {
    for (let i = 0; i < n; i++) received.push(p[i]![5]!);
  });
  return { clock, timers, inner, link, received };
}

describe('impair: overdue packets leave before a newcomer that skips the queue', () => {
  it('out: a reordered packet sent after the delay ran out (timer late) follows the overdue ones', () => {
    const { clock, inner, link } = setup('out:delay=5ms,out:reorder=50%,seed=7');
    // At t=0, packets 1..8: some skip (sent at once), the others wait 5 ms.
    for (let id = 1; id <= 8; id++) link.send([pkt(id)], 1);
    const early = inner.sent.slice();
    const waiting = [1, 2, 3, 4, 5, 6, 7, 8].filter((id) => !early.includes(id));
    expect(waiting.length).toBeGreaterThan(0);
    expect(early.length).toBeGreaterThan(0);
    // The loop is late: at t=20 the 5 ms timer has not fired yet; new packets come until one skips.
    clock.set(20);
    let id = 9;
    for (; id < 40; id++) {
      link.send([pkt(id)], 1);
      if (inner.sent.includes(id)) break;
    }
    const after = inner.sent.slice(early.length);
    expect(after).toContain(id);
    // Every packet overdue at t=20 went out before the newcomer.
    const at = after.indexOf(id);
    for (const w of waiting) {
      const i = after.indexOf(w);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(at);
    }
  });

  it('in: an ACK read late that skips the queue is delivered after the overdue ones', () => {
    const { clock, inner, received } = setup('in:delay=5ms,in:reorder=50%,seed=11');
    for (let id = 1; id <= 8; id++) inner.receiver!([pkt(id)], 1);
    const early = received.slice();
    const waiting = [1, 2, 3, 4, 5, 6, 7, 8].filter((id) => !early.includes(id));
    expect(waiting.length).toBeGreaterThan(0);
    clock.set(20);
    let id = 9;
    for (; id < 40; id++) {
      inner.receiver!([pkt(id)], 1);
      if (received.includes(id)) break;
    }
    const after = received.slice(early.length);
    const at = after.indexOf(id);
    expect(at).toBeGreaterThanOrEqual(0);
    for (const w of waiting) {
      const i = after.indexOf(w);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(at);
    }
  });

  it('a packet not yet due still waits: only the overdue ones are released early', () => {
    const { clock, inner, link } = setup('out:delay=5ms,out:reorder=50%,seed=7');
    for (let id = 1; id <= 8; id++) link.send([pkt(id)], 1);
    const early = inner.sent.length;
    clock.set(3);
    for (let id = 9; id < 40; id++) {
      link.send([pkt(id)], 1);
      if (inner.sent.includes(id)) break;
    }
    // At t=3 nothing queued at t=0 is due: only newcomers that skipped went out.
    expect(inner.sent.slice(early).every((x) => x >= 9)).toBe(true);
  });
});

describe('impair: what was due to leave has left before input is read', () => {
  it('an inbound packet read while outbound packets are overdue (timer late): the outbound ones go first', () => {
    const { clock, inner, link, received } = setup('out:delay=5ms,seed=7');
    const order: string[] = [];
    const send = inner.send.bind(inner);
    inner.send = (p, n) => {
      for (let i = 0; i < n; i++) order.push(`out${p[i]![5]!}`);
      send(p, n);
    };
    link.setReceiver((p, n) => {
      for (let i = 0; i < n; i++) order.push(`in${p[i]![5]!}`);
      received.push(p[0]![5]!);
    });
    link.send([pkt(1)], 1);
    link.send([pkt(2)], 1);
    expect(order).toEqual([]);
    clock.set(3);
    inner.receiver!([pkt(50)], 1); // not due yet: the reply overtakes nothing
    clock.set(20); // the loop is late: both were due at 5 ms
    inner.receiver!([pkt(51)], 1);
    expect(order).toEqual(['in50', 'out1', 'out2', 'in51']);
  });
});
