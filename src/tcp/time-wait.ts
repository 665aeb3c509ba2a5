/**
 * TIME-WAIT without the connection (Linux inet_timewait_sock, tcp_minisocks.c).
 *
 * A connection that reaches TIME-WAIT has nothing left to send or deliver; for 2·MSL it only has to answer
 * segments of the old incarnation and let a newer SYN reopen the pair (RFC 9293 §3.6.1, RFC 1122 §4.2.2.13,
 * RFC 6191). Keeping the whole `TcpConnection` for that kept ~3 KB per pair alive for a minute — thousands of
 * pairs under a Connection: close load, all promoted to V8's old generation. A `TimeWaitEntry` keeps the
 * dozen numbers those answers need; the table keeps entries in one list ordered by expiry (every entry lives
 * the same 2·MSL from its last reschedule), driven by one timer.
 */
import { Timer, type TimerQueue } from '../clock.js';
import { seqAdd, seqGt } from './seq.js';
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpHeader } from '../wire/tcp.js';
import { DOUBLE_ZERO } from '../shape.js';
import type { Stats } from '../stats.js';
import { oowAckAllowed, timeWaitPawsRejects } from './segment-checks.js';
import { tsBefore, tsClock } from './ts-clock.js';

/** What the layer does with a segment after the TIME-WAIT pair saw it (Linux enum tcp_tw_status). */
/**
 * The ISN for a new incarnation of a 4-tuple that reuses a TIME-WAIT pair: above everything the old one sent,
 * never 0 (Linux tcp_timewait_state_process: tw_snd_nxt + 65535 + 2).
 */
export function successorIsnAfter(sndNxt: number): number {
  const isn = seqAdd(sndNxt, 65535 + 2);
  return isn === 0 ? 1 : isn;
}

export const TW_SUCCESS = 0;
export const TW_ACK = 1;
export const TW_SYN = 2;
export type TimeWaitVerdict = typeof TW_SUCCESS | typeof TW_ACK | typeof TW_SYN;

export class TimeWaitEntry {
  /** Expiry list (oldest first). */
  prev: TimeWaitEntry | null = null;
  next: TimeWaitEntry | null = null;
  /** Another pair with the same remote end (different local end). */
  chain: TimeWaitEntry | null = null;
  expires = DOUBLE_ZERO;
  lastOowAck = DOUBLE_ZERO;
  constructor(
    readonly localAddr: number,
    readonly localPort: number,
    readonly remoteAddr: number,
    readonly remotePort: number,
    /** SND.NXT (the FIN included): the sequence number of our ACKs. */
    readonly sndNxt: number,
    /** RCV.NXT (the peer's FIN included). */
    readonly rcvNxt: number,
    /** The window field of our ACKs (already scaled down). */
    readonly windowField: number,
    readonly tsOk: boolean,
    public tsRecent: number,
    public tsRecentStamp: number,
    readonly tsOffset: number,
  ) {}

  /** An ISN above everything the old incarnation sent. */
  get successorIsn(): number {
    return successorIsnAfter(this.sndNxt);
  }

  tsNow(now: number): number {
    return tsClock(now, this.tsOffset);
  }
}

export class TimeWaitTable {
  /** remote (addr·2^16 + port) → first pair with that remote end. */
  private readonly byRemote = new Map<number, TimeWaitEntry>();
  private head: TimeWaitEntry | null = null;
  private tail: TimeWaitEntry | null = null;
  private count = 0;
  private readonly timer = new Timer((now) => this.expire(now));

  constructor(
    private readonly timers: TimerQueue,
    private readonly lifetimeMs: () => number,
    private readonly stats: Stats,
  ) {}

  get size(): number {
    return this.count;
  }

  lookup(remoteAddr: number, remotePort: number, localAddr: number, localPort: number): TimeWaitEntry | undefined {
    let e: TimeWaitEntry | null = this.byRemote.get(remoteAddr * 65536 + remotePort) ?? null;
    while (e !== null) {
      if (e.localPort === localPort && e.localAddr === localAddr) return e;
      e = e.chain;
    }
    return undefined;
  }

  insert(e: TimeWaitEntry, now: number): void {
    const k = e.remoteAddr * 65536 + e.remotePort;
    e.chain = this.byRemote.get(k) ?? null;
    this.byRemote.set(k, e);
    this.count++;
    this.append(e, now);
  }

  remove(e: TimeWaitEntry): void {
    const k = e.remoteAddr * 65536 + e.remotePort;
    const first = this.byRemote.get(k);
    if (first === e) {
      if (e.chain === null) this.byRemote.delete(k);
      else this.byRemote.set(k, e.chain);
    } else {
      let p: TimeWaitEntry | null = first ?? null;
      while (p !== null && p.chain !== e) p = p.chain;
      if (p === null) return;
      p.chain = e.chain;
    }
    e.chain = null;
    this.count--;
    this.unlink(e);
    if (this.head === null) this.timers.disarm(this.timer);
  }

  /** Restarts the 2·MSL of `e` (Linux inet_twsk_reschedule). */
  reschedule(e: TimeWaitEntry, now: number): void {
    this.unlink(e);
    this.append(e, now);
  }

  /** Every pair (a snapshot). */
  entries(): TimeWaitEntry[] {
    const out: TimeWaitEntry[] = [];
    for (let e = this.head; e !== null; e = e.next) out.push(e);
    return out;
  }

  clear(): void {
    this.byRemote.clear();
    this.head = this.tail = null;
    this.count = 0;
    this.timers.disarm(this.timer);
  }

  /**
   * A segment for a TIME-WAIT pair (Linux tcp_timewait_state_process, rfc1337 off): a bare ACK or an RST at
   * RCV.NXT is in window (the RST ends the pair, the ACK restarts 2·MSL); a SYN with a higher sequence number
   * or a newer timestamp may reopen the pair (TW_SYN); everything else is answered with an ACK, at most one
   * per 500 ms for segments without data, and an ACK-bearing (or PAWS-rejected) one restarts 2·MSL.
   */
  segmentArrives(e: TimeWaitEntry, h: TcpHeader, now: number): TimeWaitVerdict {
    const flags = h.flags;
    const rst = (flags & TCP_RST) !== 0;
    const pawsReject = e.tsOk && h.tsPresent && timeWaitPawsRejects(e.tsRecent, e.tsRecentStamp, h.tsVal, rst, now);
    const segLen = h.seqLength;
    if (!pawsReject && h.seq === e.rcvNxt && (segLen === 0 || rst)) {
      if (rst) {
        // TIME-WAIT assassination (RFC 1337): Linux, by default, lets the RST end the pair.
        this.remove(e);
        return TW_SUCCESS;
      }
      this.reschedule(e, now);
      if (h.tsPresent && e.tsOk) {
        e.tsRecent = h.tsVal;
        e.tsRecentStamp = now;
      }
      return TW_SUCCESS;
    }
    if ((flags & (TCP_SYN | TCP_RST | TCP_ACK)) === TCP_SYN && !pawsReject && (seqGt(h.seq, e.rcvNxt) || (h.tsPresent && e.tsOk && tsBefore(e.tsRecent, h.tsVal)))) {
      return TW_SYN;
    }
    if (pawsReject) {
      this.stats.TcpExt.PAWSEstab++;
      this.stats.drop('tcp.paws');
    }
    if (rst) return TW_SUCCESS;
    if (pawsReject || flags & TCP_ACK) this.reschedule(e, now);
    // Linux tcp_oow_rate_limited: segments with data (or a FIN) are never rate limited, the rest once per 500 ms.
    if (segLen === 0 || flags & TCP_SYN) {
      if (!oowAckAllowed(e.lastOowAck, now)) {
        this.stats.TcpExt.TCPACKSkippedTimeWait++;
        this.stats.drop('tcp.time-wait-ack-limited');
        return TW_SUCCESS;
      }
      e.lastOowAck = now === 0 ? 1e-9 : now;
    }
    return TW_ACK;
  }

  private append(e: TimeWaitEntry, now: number): void {
    e.expires = now + this.lifetimeMs();
    e.prev = this.tail;
    e.next = null;
    if (this.tail !== null) this.tail.next = e;
    else this.head = e;
    this.tail = e;
    if (this.head === e) this.timers.arm(this.timer, e.expires);
  }

  private unlink(e: TimeWaitEntry): void {
    const wasHead = this.head === e;
    if (e.prev !== null) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next !== null) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
    if (wasHead && this.head !== null) this.timers.arm(this.timer, this.head.expires);
  }

  private expire(now: number): void {
    let e = this.head;
    while (e !== null && e.expires <= now) {
      const next = e.next;
      this.remove(e);
      e = next;
    }
    if (this.head !== null) this.timers.arm(this.timer, this.head.expires);
  }
}
