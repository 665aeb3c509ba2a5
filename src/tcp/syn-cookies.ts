/**
 * SYN cookies (RFC 4987 §3.6), shaped like Linux's: the ISN of a SYN-ACK
 * sent without keeping state encodes
 *
 *     bits 31..26  a time counter (64 s periods, modulo 64)
 *     bits 25..24  an index into Linux's MSS table (536, 1300, 1440, 1460)
 *     bits 23..0   a keyed MAC of the 4-tuple, the peer's ISN, the counter and the index
 *
 * and the returning ACK (ack − 1 = the cookie) is validated — age at most
 * one period back, MAC under the current or the previous secret — before any
 * state is allocated. The secret rotates every `rotationMs`, the previous one
 * staying valid so cookies survive one rotation. With timestamps, window
 * scale and SACK-permitted ride in the low 6 bits of TSval (as Linux's
 * cookie_init_timestamp), echoed back in the ACK's TSecr.
 */
import { HashKey, hsiphash4, portsWord } from './hash.js';
import { isV6 } from './addresses.js';
import { tsBefore } from './ts-clock.js';

/** Linux's msstab (net/ipv4/syncookies.c). */
export const COOKIE_MSS_TABLE: readonly number[] = [536, 1300, 1440, 1460];
/** Linux's IPv6 msstab (net/ipv6/syncookies.c): 1280, 1480, 1500 and 9000-byte paths less 60 bytes of headers. */
export const COOKIE_MSS_TABLE6: readonly number[] = [1220, 1420, 1440, 8940];
/** Counter period (Linux's cookie counter moves about once a minute; we use 64 s). */
export const COOKIE_PERIOD_MS = 64_000;

const TS_OPT_WSCALE_MASK = 0x0f;
const TS_OPT_SACK = 0x10;
const TS_OPT_MASK = 0x3f;

export interface CookieOptions {
  /** Peer's window scale shift, or -1 when it sent none. */
  wscale: number;
  sackOk: boolean;
}

export class SynCookies {
  private cur: HashKey;
  private prev: HashKey;
  private nextRotation: number;
  private generation = 0;

  constructor(
    private readonly newKey: (generation: number) => HashKey,
    private readonly rotationMs: number,
    now: number,
    /** 32 bits standing for an address in the MAC (TcpAddresses.hashWord: IPv6 addresses hashed whole). */
    private readonly addressWord: (a: number) => number = (a) => a | 0,
  ) {
    this.cur = newKey(0);
    this.prev = this.cur;
    this.nextRotation = now + rotationMs;
  }

  private maybeRotate(now: number): void {
    if (now < this.nextRotation) return;
    if (now >= this.nextRotation + this.rotationMs) {
      // More than one rotation went by: nothing made under the old keys is young enough to keep.
      this.cur = this.newKey(++this.generation);
      this.prev = this.cur;
      this.nextRotation = now + this.rotationMs;
      return;
    }
    this.prev = this.cur;
    this.cur = this.newKey(++this.generation);
    this.nextRotation += this.rotationMs;
  }

  /** Index in COOKIE_MSS_TABLE of the largest entry not above `mss`. */
  static mssIndex(mss: number, table: readonly number[] = COOKIE_MSS_TABLE): number {
    let i = table.length - 1;
    while (i > 0 && table[i]! > mss) i--;
    return i;
  }

  private mac(key: HashKey, localAddr: number, remoteAddr: number, ports: number, peerIsn: number, counterAndIndex: number): number {
    const h = hsiphash4(key, this.addressWord(remoteAddr), this.addressWord(localAddr), ports, peerIsn | 0);
    return hsiphash4(key, h | 0, counterAndIndex, 0x5ca1ab1e, 0) & 0xffffff;
  }

  /** The cookie ISN for a SYN from remote → local carrying sequence `peerIsn` and MSS `peerMss` (536 when absent). */
  make(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, peerIsn: number, peerMss: number, now: number): number {
    this.maybeRotate(now);
    const t = Math.floor(now / COOKIE_PERIOD_MS) & 0x3f;
    const idx = SynCookies.mssIndex(peerMss, isV6(localAddr) ? COOKIE_MSS_TABLE6 : COOKIE_MSS_TABLE);
    const mac = this.mac(this.cur, localAddr, remoteAddr, portsWord(localPort, remotePort), peerIsn, (t << 2) | idx);
    return ((t << 26) | (idx << 24) | mac) >>> 0;
  }

  /**
   * Validates the cookie of an ACK (`cookie` = SEG.ACK − 1, `peerIsn` = SEG.SEQ − 1).
   * Returns the MSS it encodes, or 0 when it is forged or too old.
   */
  check(localAddr: number, localPort: number, remoteAddr: number, remotePort: number, peerIsn: number, cookie: number, now: number): number {
    this.maybeRotate(now);
    const nowT = Math.floor(now / COOKIE_PERIOD_MS);
    const t = cookie >>> 26;
    const age = (nowT - t) & 0x3f;
    if (age > 1) return 0;
    const idx = (cookie >>> 24) & 3;
    const ports = portsWord(localPort, remotePort);
    const want = cookie & 0xffffff;
    const ci = (t << 2) | idx;
    if (this.mac(this.cur, localAddr, remoteAddr, ports, peerIsn, ci) === want || (this.prev !== this.cur && this.mac(this.prev, localAddr, remoteAddr, ports, peerIsn, ci) === want)) {
      return (isV6(localAddr) ? COOKIE_MSS_TABLE6 : COOKIE_MSS_TABLE)[idx]!;
    }
    return 0;
  }

  /** TSval for a cookie SYN-ACK: `tsNow` with the options in its low 6 bits, never ahead of `tsNow`. */
  static encodeTimestamp(tsNow: number, o: CookieOptions): number {
    let opts = o.wscale >= 0 ? o.wscale & TS_OPT_WSCALE_MASK : TS_OPT_WSCALE_MASK;
    if (o.sackOk) opts |= TS_OPT_SACK;
    let ts = ((tsNow & ~TS_OPT_MASK) | opts) >>> 0;
    if (tsBefore(tsNow, ts)) ts = (ts - (TS_OPT_MASK + 1)) >>> 0;
    return ts;
  }

  /** Options from an ACK's TSecr (the cookie TSval echoed), or null when they are impossible. */
  static decodeTimestamp(tsEcr: number): CookieOptions | null {
    const w = tsEcr & TS_OPT_WSCALE_MASK;
    if (w !== TS_OPT_WSCALE_MASK && w > 14) return null;
    return { wscale: w === TS_OPT_WSCALE_MASK ? -1 : w, sackOk: (tsEcr & TS_OPT_SACK) !== 0 };
  }
}
