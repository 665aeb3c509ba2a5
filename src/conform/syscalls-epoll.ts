/**
 * epoll(7) for scripts: `epoll_create`, `epoll_create1`, `epoll_ctl`, `epoll_wait` over the readiness the
 * syscall adapter computes for its fds (the same bits poll(2) reports) and the sockets' wakeups (TcpSocket's
 * 'wakeup' event, a server's 'acceptable', a UDP socket's 'message').
 *
 * Linux's model (fs/eventpoll.c), which edge triggering depends on: an item joins the instance's ready list
 * when it is added or modified while ready (ep_insert / ep_modify poll it), and when its file wakes its
 * waiters with a key that meets the item's interest (ep_poll_callback; a state change wakes every item).
 * epoll_wait polls the items on the ready list and reports those with an event of interest; a level-triggered
 * item goes back on the list after being reported, an edge-triggered one (EPOLLET) only on the next wakeup,
 * and an EPOLLONESHOT one is disarmed until EPOLL_CTL_MOD.
 */
import type { Expr } from './ast.js';
import { ERRNO } from './constants.js';
import { ScriptFailure, type RunContext } from './run-context.js';

/** syscalls.ts's CallOutcome and Blocked, as far as epoll uses them (kept here so that the two modules do not import each other). */
export interface EpollOutcome {
  ret: number;
  errno?: number;
}
export interface EpollBlocked {
  blocked: true;
  retry: () => Promise<EpollOutcome | EpollBlocked>;
  wakeAt?: number;
}
type CallOutcome = EpollOutcome;
type Blocked = EpollBlocked;

/** uapi/linux/eventpoll.h. EPOLLIN..EPOLLRDHUP have poll(2)'s values. */
export const EPOLL_SYMBOLS: Readonly<Record<string, number>> = {
  EPOLLIN: 0x1,
  EPOLLPRI: 0x2,
  EPOLLOUT: 0x4,
  EPOLLERR: 0x8,
  EPOLLHUP: 0x10,
  EPOLLRDNORM: 0x40,
  EPOLLRDBAND: 0x80,
  EPOLLWRNORM: 0x100,
  EPOLLWRBAND: 0x200,
  EPOLLMSG: 0x400,
  EPOLLRDHUP: 0x2000,
  EPOLLEXCLUSIVE: 1 << 28,
  EPOLLWAKEUP: 1 << 29,
  EPOLLONESHOT: 1 << 30,
  EPOLLET: 1 << 31,
  EPOLL_CTL_ADD: 1,
  EPOLL_CTL_DEL: 2,
  EPOLL_CTL_MOD: 3,
  EPOLL_CLOEXEC: 0x80000,
};

const E = EPOLL_SYMBOLS as Record<string, number>;
const IN = E['EPOLLIN']! | E['EPOLLRDNORM']!;
const OUT = E['EPOLLOUT']! | E['EPOLLWRNORM']!;
/** Reported whether asked for or not (ep_item_poll's EPOLLERR | EPOLLHUP). */
const ALWAYS = E['EPOLLERR']! | E['EPOLLHUP']!;
/** Flags of an item that are not events (EP_PRIVATE_BITS and the rest). */
const NOT_EVENTS = E['EPOLLET']! | E['EPOLLONESHOT']! | E['EPOLLWAKEUP']! | E['EPOLLEXCLUSIVE']!;

/** What woke a file (the key of its wakeup): events for data or space, or 0 for a state change (wakes every item). */
export type WakeKey = number;
export const WAKE_READABLE: WakeKey = IN;
export const WAKE_WRITABLE: WakeKey = OUT;
export const WAKE_STATE: WakeKey = 0;

/** What epoll needs from the fd table it watches (SyscallAdapter implements it). */
export interface PollableFds {
  /** Is `fd` an open file of the table (a socket)? */
  has(fd: number): boolean;
  /** Its current readiness, poll(2) bits, for `events` (errors and hang-ups always). */
  pollEvents(fd: number, events: number): number;
  /** Calls `wake` on each wakeup of `fd`'s socket until the returned function is called. */
  watch(fd: number, wake: (key: WakeKey) => void): () => void;
}

interface Item {
  fd: number;
  /** Interest and flags as given (EPOLLET...). */
  events: number;
  /** epoll_data as given: `fd=N`, `ptr=N`, `u32=N` or `u64=N`. */
  data: number;
  ready: boolean;
  unwatch: () => void;
}

class EpollInstance {
  readonly items = new Map<number, Item>();
}

const ok = (ret = 0): CallOutcome => ({ ret });
const errno = (name: 'EBADF' | 'EEXIST' | 'EINVAL' | 'ENOENT'): CallOutcome => ({ ret: -1, errno: ERRNO[name]! });

export class EpollCalls {
  private readonly instances = new Map<number, EpollInstance>();

  constructor(
    private readonly run: RunContext,
    private readonly files: PollableFds,
    /** Evaluates a script expression to a number (the adapter's constants; EPOLL* are added here). */
    private readonly value: (e: Expr, line: number) => number,
  ) {}

  /** Is `fd` an epoll instance (for close(2) and the fd numbers in use)? */
  has(fd: number): boolean {
    return this.instances.has(fd);
  }

  /** close(2) of an epoll fd: its items go. */
  close(fd: number): boolean {
    const ep = this.instances.get(fd);
    if (!ep) return false;
    for (const it of ep.items.values()) it.unwatch();
    this.instances.delete(fd);
    return true;
  }

  /**
   * The fd's socket changed (listen() made it a listener, connect() gave it a connection): its items follow
   * the new socket's wakeups, and are polled again as on EPOLL_CTL_MOD.
   */
  rewatch(fd: number): void {
    for (const ep of this.instances.values()) {
      const it = ep.items.get(fd);
      if (!it) continue;
      it.unwatch();
      it.unwatch = this.files.watch(fd, (key) => this.wake(it, key));
      this.pollOnCtl(it);
    }
  }

  /** A socket closed: Linux drops it from every epoll set (eventpoll_release). */
  forget(fd: number): void {
    for (const ep of this.instances.values()) {
      const it = ep.items.get(fd);
      if (it) {
        it.unwatch();
        ep.items.delete(fd);
      }
    }
  }

  dispose(): void {
    for (const fd of [...this.instances.keys()]) this.close(fd);
  }

  num(e: Expr | undefined, line: number): number {
    if (!e) return 0;
    if (e.t === 'ident' && EPOLL_SYMBOLS[e.name] !== undefined) return EPOLL_SYMBOLS[e.name]!;
    if (e.t === 'or') return e.items.reduce((a, x) => a | this.num(x, line), 0);
    return this.value(e, line);
  }

  /** epoll_create(size): size must be positive (EINVAL), else ignored. The result names the script's fd. */
  create(args: Expr[], result: Expr, line: number, inUse: (fd: number) => boolean): CallOutcome {
    const size = this.num(args[0], line);
    if (size <= 0) return errno('EINVAL');
    return this.newInstance(result, line, inUse);
  }

  /** epoll_create1(flags): only EPOLL_CLOEXEC is a valid flag. */
  create1(args: Expr[], result: Expr, line: number, inUse: (fd: number) => boolean): CallOutcome {
    const flags = this.num(args[0], line);
    if ((flags & ~E['EPOLL_CLOEXEC']!) !== 0) return errno('EINVAL');
    return this.newInstance(result, line, inUse);
  }

  private newInstance(result: Expr, line: number, inUse: (fd: number) => boolean): CallOutcome {
    const want = this.value(result, line);
    if (want < 0) return errno('EINVAL');
    if (inUse(want) || this.instances.has(want)) throw new ScriptFailure(`epoll_create() = ${want}: fd ${want} is already in use in the script`, line);
    this.instances.set(want, new EpollInstance());
    return ok(want);
  }

  /** epoll_ctl(epfd, op, fd, {events=..., fd|ptr|u32|u64=...}) with Linux's errnos (do_epoll_ctl). */
  ctl(args: Expr[], line: number): CallOutcome {
    const epfd = this.num(args[0], line);
    const op = this.num(args[1], line);
    const fd = this.num(args[2], line);
    const ep = this.instances.get(epfd);
    if (!ep && !this.files.has(epfd)) return errno('EBADF');
    if (!this.files.has(fd) && !this.instances.has(fd)) return errno('EBADF');
    if (!ep || fd === epfd) return errno('EINVAL');
    if (this.instances.has(fd)) throw new ScriptFailure('epoll_ctl: nesting epoll instances is not modelled', line);
    const ev = this.eventStruct(args[3], line);
    const existing = ep.items.get(fd);
    switch (op) {
      case E['EPOLL_CTL_ADD']: {
        if (!ev) return errno('EINVAL');
        if (existing) return errno('EEXIST');
        const it: Item = { fd, events: ev.events, data: ev.data, ready: false, unwatch: () => {} };
        it.unwatch = this.files.watch(fd, (key) => this.wake(it, key));
        ep.items.set(fd, it);
        this.pollOnCtl(it);
        return ok();
      }
      case E['EPOLL_CTL_MOD']: {
        if (!ev) return errno('EINVAL');
        if (!existing) return errno('ENOENT');
        // EPOLLEXCLUSIVE may only be given with ADD.
        if ((ev.events & E['EPOLLEXCLUSIVE']!) !== 0) return errno('EINVAL');
        existing.events = ev.events;
        existing.data = ev.data;
        this.pollOnCtl(existing);
        return ok();
      }
      case E['EPOLL_CTL_DEL']: {
        if (!existing) return errno('ENOENT');
        existing.unwatch();
        ep.items.delete(fd);
        return ok();
      }
      default:
        return errno('EINVAL');
    }
  }

  /** ep_insert / ep_modify: an item ready now joins the ready list. */
  private pollOnCtl(it: Item): void {
    if (this.files.pollEvents(it.fd, interest(it)) !== 0) it.ready = true;
  }

  /** ep_poll_callback: a wakeup whose key meets the interest (or a state change) readies the item. */
  private wake(it: Item, key: WakeKey): void {
    if (interest(it) === 0) return; // disarmed (EPOLLONESHOT)
    if (key !== 0 && (key & it.events) === 0) return;
    it.ready = true;
  }

  /**
   * epoll_wait(epfd, EVENTS, maxevents, timeout): the ready items polled, up to maxevents. EVENTS is the
   * expected array (one struct or a list of them): each reported event must match `events` and the data.
   */
  async wait(args: Expr[], line: number, text: string): Promise<CallOutcome | Blocked> {
    const epfd = this.num(args[0], line);
    const max = this.num(args[2], line);
    const timeout = this.num(args[3], line);
    const ep = this.instances.get(epfd);
    if (!ep && !this.files.has(epfd)) return errno('EBADF');
    if (!ep) return errno('EINVAL');
    if (max <= 0) return errno('EINVAL');
    const expected = this.expectedEvents(args[1], line);
    const startMs = this.run.clock.now();
    const attempt = async (): Promise<CallOutcome | Blocked> => {
      await this.run.settle();
      const got = this.harvest(ep, max);
      if (got.length > 0 || timeout === 0 || (timeout > 0 && this.run.clock.now() >= startMs + timeout)) {
        this.check(got, expected, line, text);
        return ok(got.length);
      }
      const b: Blocked = { blocked: true, retry: attempt };
      if (timeout > 0) b.wakeAt = startMs + timeout;
      return b;
    };
    return attempt();
  }

  /** ep_send_events: poll each ready item; report it if something of interest is up; re-queue level-triggered ones. */
  private harvest(ep: EpollInstance, max: number): { events: number; data: number }[] {
    const out: { events: number; data: number }[] = [];
    for (const it of ep.items.values()) {
      if (out.length >= max) break;
      if (!it.ready) continue;
      it.ready = false;
      const want = interest(it);
      if (want === 0) continue;
      const revents = this.files.pollEvents(it.fd, want) & (want | ALWAYS);
      if (revents === 0) continue;
      out.push({ events: revents, data: it.data });
      if ((it.events & E['EPOLLONESHOT']!) !== 0) it.events &= NOT_EVENTS;
      else if ((it.events & E['EPOLLET']!) === 0) it.ready = true;
    }
    return out;
  }

  private check(got: { events: number; data: number }[], expected: { events: number; data: number | undefined }[] | undefined, line: number, text: string): void {
    if (expected === undefined) return;
    for (let i = 0; i < got.length && i < expected.length; i++) {
      const g = got[i]!;
      const w = expected[i]!;
      if (g.events !== w.events) {
        this.run.fail('syscall', `epoll_wait event ${i}: events ${epollNames(g.events)}, expected ${epollNames(w.events)}`, line, [`script: ${text}`]);
        return;
      }
      if (w.data !== undefined && g.data !== w.data) {
        this.run.fail('syscall', `epoll_wait event ${i}: data ${g.data}, expected ${w.data}`, line, [`script: ${text}`]);
        return;
      }
    }
  }

  /** `{events=..., fd=N}` (or `ptr`, `u32`, `u64`); undefined for NULL. */
  private eventStruct(e: Expr | undefined, line: number): { events: number; data: number } | undefined {
    if (!e || e.t !== 'struct') return undefined;
    let events = 0;
    let data = 0;
    for (const f of e.fields) {
      if (f.name === 'events') events = this.num(f.value, line);
      else if (f.name === 'fd' || f.name === 'ptr' || f.name === 'u32' || f.name === 'u64' || f.name === 'data') data = this.num(f.value, line);
    }
    return { events, data };
  }

  private expectedEvents(e: Expr | undefined, line: number): { events: number; data: number | undefined }[] | undefined {
    if (!e || e.t === 'ellipsis') return undefined;
    const structs = e.t === 'list' ? e.items : [e];
    return structs.map((s) => {
      if (s.t !== 'struct') throw new ScriptFailure('epoll_wait events are {events=..., fd=...}', line);
      let events = 0;
      let data: number | undefined;
      for (const f of s.fields) {
        if (f.name === 'events') events = this.num(f.value, line);
        else if (f.value.t !== 'ellipsis') data = this.num(f.value, line);
      }
      return { events, data };
    });
  }
}

/** The events an item asks for (its flags removed). */
function interest(it: Item): number {
  return it.events & ~NOT_EVENTS;
}

export function epollNames(v: number): string {
  if (v === 0) return '0';
  const names: string[] = [];
  for (const n of ['EPOLLIN', 'EPOLLPRI', 'EPOLLOUT', 'EPOLLERR', 'EPOLLHUP', 'EPOLLRDNORM', 'EPOLLWRNORM', 'EPOLLRDHUP']) {
    const b = EPOLL_SYMBOLS[n]!;
    if (v & b) {
      names.push(n);
      v &= ~b;
    }
  }
  if (v) names.push(`0x${(v >>> 0).toString(16)}`);
  return names.join('|');
}
