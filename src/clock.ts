/**
 * Time for the whole stack. Protocol code never reads a global clock: every
 * entry point takes `now` (milliseconds, a float), and every delayed action is
 * a `Timer` in one `TimerQueue` (a binary min-heap on deadline). A `RealClock`
 * drives the queue with one Node timer set to the earliest deadline; a
 * `VirtualClock` lets tests jump straight to the next deadline, so a 2-minute
 * TIME_WAIT runs in microseconds.
 */

export interface Clock {
  /** Milliseconds since an arbitrary origin; monotonic. */
  now(): number;
}

/** A reusable timer. Arm and disarm it through its queue; it never allocates when re-armed. */
export class Timer {
  deadline = Infinity;
  /** Position in the heap, -1 when not armed. */
  heapIndex = -1;
  constructor(readonly fire: (now: number) => void) {}
  get armed(): boolean {
    return this.heapIndex >= 0;
  }
}

export class TimerQueue {
  private heap: Timer[] = [];
  /** Called whenever the earliest deadline may have changed (the real driver re-arms its Node timer). */
  onEarliestChanged: (() => void) | null = null;

  get size(): number {
    return this.heap.length;
  }

  /** Arms (or re-arms) `t` to fire at `deadline`. */
  arm(t: Timer, deadline: number): void {
    const before = this.heap.length > 0 ? this.heap[0]!.deadline : Infinity;
    if (t.heapIndex >= 0) {
      const old = t.deadline;
      t.deadline = deadline;
      if (deadline < old) this.up(t.heapIndex);
      else this.down(t.heapIndex);
    } else {
      t.deadline = deadline;
      t.heapIndex = this.heap.length;
      this.heap.push(t);
      this.up(t.heapIndex);
    }
    if (this.heap[0]!.deadline !== before) this.onEarliestChanged?.();
  }

  disarm(t: Timer): void {
    const i = t.heapIndex;
    if (i < 0) return;
    const last = this.heap.pop()!;
    if (i < this.heap.length) {
      this.heap[i] = last;
      last.heapIndex = i;
      this.down(i);
      this.up(last.heapIndex);
    }
    t.heapIndex = -1;
    t.deadline = Infinity;
  }

  nextDeadline(): number {
    return this.heap.length > 0 ? this.heap[0]!.deadline : Infinity;
  }

  /** Fires every timer whose deadline is <= now, earliest first. Returns how many fired. */
  runDue(now: number): number {
    let n = 0;
    while (this.heap.length > 0 && this.heap[0]!.deadline <= now) {
      const t = this.heap[0]!;
      this.disarm(t);
      n++;
      t.fire(now);
    }
    return n;
  }

  private up(i: number): void {
    const h = this.heap;
    const t = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = h[p]!;
      if (pt.deadline <= t.deadline) break;
      h[i] = pt;
      pt.heapIndex = i;
      i = p;
    }
    h[i] = t;
    t.heapIndex = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const t = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]!.deadline < h[l]!.deadline ? r : l;
      const ct = h[c]!;
      if (ct.deadline >= t.deadline) break;
      h[i] = ct;
      ct.heapIndex = i;
      i = c;
    }
    h[i] = t;
    t.heapIndex = i;
  }
}

export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }
}

/** A clock that only moves when told to. */
export class VirtualClock implements Clock {
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    if (t < this.t) throw new RangeError(`virtual clock cannot go back (${t} < ${this.t})`);
    this.t = t;
  }
  advance(ms: number): void {
    this.set(this.t + ms);
  }
}

/**
 * Drives a TimerQueue from the real clock with a single Node timer set to the
 * earliest deadline. `run` fires what is due (default: the queue's due timers
 * at the clock's now); the stack's reads its links' waiting input first and
 * flushes its transmit queues after.
 */
export class RealTimerDriver {
  private handle: NodeJS.Timeout | null = null;
  private armedFor = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly timers: TimerQueue,
    private readonly run: () => void = () => {
      timers.runDue(clock.now());
    },
  ) {
    timers.onEarliestChanged = () => this.reschedule();
    this.reschedule();
  }

  private reschedule(): void {
    if (this.stopped) return;
    const next = this.timers.nextDeadline();
    if (next === this.armedFor) return;
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
    this.armedFor = next;
    if (next === Infinity) return;
    const delay = Math.max(0, next - this.clock.now());
    this.handle = setTimeout(this.onTimer, Math.ceil(delay));
  }

  private readonly onTimer = (): void => {
    this.handle = null;
    this.armedFor = Infinity;
    this.run();
    this.reschedule();
  };

  stop(): void {
    this.stopped = true;
    if (this.handle) clearTimeout(this.handle);
    this.handle = null;
    this.timers.onEarliestChanged = null;
  }
}
