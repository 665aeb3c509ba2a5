import { describe, it, expect } from 'vitest';
import { Timer, TimerQueue, VirtualClock } from '../../src/clock.js';

describe('TimerQueue', () => {
  it('fires timers in deadline order and only when due', () => {
    const q = new TimerQueue();
    const fired: string[] = [];
    const a = new Timer(() => fired.push('a'));
    const b = new Timer(() => fired.push('b'));
    const c = new Timer(() => fired.push('c'));
    q.arm(a, 30);
    q.arm(b, 10);
    q.arm(c, 20);
    expect(q.nextDeadline()).toBe(10);
    expect(q.runDue(15)).toBe(1);
    expect(fired).toEqual(['b']);
    q.runDue(100);
    expect(fired).toEqual(['b', 'c', 'a']);
    expect(q.size).toBe(0);
  });

  it('re-arms and disarms without duplicates', () => {
    const q = new TimerQueue();
    let n = 0;
    const t = new Timer(() => n++);
    q.arm(t, 50);
    q.arm(t, 5);
    q.arm(t, 70);
    expect(q.size).toBe(1);
    expect(q.nextDeadline()).toBe(70);
    q.disarm(t);
    expect(t.armed).toBe(false);
    q.runDue(1000);
    expect(n).toBe(0);
  });

  it('keeps heap order under random operations', () => {
    const q = new TimerQueue();
    const timers = Array.from({ length: 200 }, () => new Timer(() => {}));
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 5000; i++) {
      const t = timers[Math.floor(rnd() * timers.length)]!;
      if (rnd() < 0.3) q.disarm(t);
      else q.arm(t, Math.floor(rnd() * 1000));
    }
    const order: number[] = [];
    for (const t of timers) if (t.armed) order.push(t.deadline);
    order.sort((x, y) => x - y);
    const seen: number[] = [];
    while (q.size > 0) {
      const d = q.nextDeadline();
      seen.push(d);
      q.runDue(d);
      // runDue fires all with the same deadline; account for them
      while (seen.length < order.length && order[seen.length] === d) seen.push(d);
    }
    expect(seen).toEqual(order);
  });

  it('a timer may re-arm itself from its callback', () => {
    const q = new TimerQueue();
    const clock = new VirtualClock();
    const times: number[] = [];
    const t: Timer = new Timer((now) => {
      times.push(now);
      if (times.length < 3) q.arm(t, now + 100);
    });
    q.arm(t, 100);
    while (q.size > 0) {
      clock.set(q.nextDeadline());
      q.runDue(clock.now());
    }
    expect(times).toEqual([100, 200, 300]);
  });

  it('virtual clock refuses to go back', () => {
    const c = new VirtualClock(10);
    expect(() => c.set(5)).toThrow(RangeError);
  });
});
