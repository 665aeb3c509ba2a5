import { describe, it, expect } from 'vitest';
import { SynCookies, COOKIE_MSS_TABLE, COOKIE_PERIOD_MS } from '../../src/tcp/syn-cookies.js';
import { HashKey, hsiphash4 } from '../../src/tcp/hash.js';

const L = 0x0a4d0002;
const R = 0x0a4d0001;

describe('SYN cookies', () => {
  it('round-trips MSS through the ISN and rejects forgeries', () => {
    const c = new SynCookies((g) => HashKey.fromSeed(7, g), 128_000, 0);
    const isn = c.make(L, 80, R, 40000, 12345, 1460, 1000);
    expect(c.check(L, 80, R, 40000, 12345, isn, 2000)).toBe(1460);
    expect(c.check(L, 80, R, 40001, 12345, isn, 2000)).toBe(0); // other port
    expect(c.check(L, 80, R, 40000, 12346, isn, 2000)).toBe(0); // other peer ISN
    expect(c.check(L, 80, R, 40000, 12345, (isn ^ 1) >>> 0, 2000)).toBe(0); // flipped MAC bit
    expect(c.check(L, 80, R, 40000, 12345, (isn ^ (1 << 24)) >>> 0, 2000)).toBe(0); // other MSS index
  });
  it('maps MSS values onto Linux\'s table', () => {
    expect(COOKIE_MSS_TABLE).toEqual([536, 1300, 1440, 1460]);
    expect(SynCookies.mssIndex(1460)).toBe(3);
    expect(SynCookies.mssIndex(1400)).toBe(1);
    expect(SynCookies.mssIndex(100)).toBe(0);
    const c = new SynCookies((g) => HashKey.fromSeed(1, g), 128_000, 0);
    const isn = c.make(L, 80, R, 1, 5, 1400, 0);
    expect(c.check(L, 80, R, 1, 5, isn, 0)).toBe(1300);
  });
  it('stays valid one counter period back and across one secret rotation, not beyond', () => {
    const c = new SynCookies((g) => HashKey.fromSeed(9, g), 100_000, 0);
    const t0 = 10 * COOKIE_PERIOD_MS + 1000;
    const isn = c.make(L, 80, R, 5555, 99, 1460, t0);
    // The secret rotates at 100 s (and 200 s): the cookie made before stays good while young enough.
    expect(c.check(L, 80, R, 5555, 99, isn, t0 + 110_000)).toBe(1460);
    expect(c.check(L, 80, R, 5555, 99, isn, t0 + 2 * COOKIE_PERIOD_MS + 100)).toBe(0); // too old
    const c2 = new SynCookies((g) => HashKey.fromSeed(9, g), 30_000, 0);
    const isn2 = c2.make(L, 80, R, 5555, 99, 1460, t0);
    expect(c2.check(L, 80, R, 5555, 99, isn2, t0 + 20_000)).toBe(1460); // after one rotation: previous secret
    expect(c2.check(L, 80, R, 5555, 99, isn2, t0 + 45_000)).toBe(1460); // one rotation: the previous secret still checks
    expect(c2.check(L, 80, R, 5555, 99, isn2, t0 + 65_000)).toBe(0); // a second rotation: gone (while still young enough by age)
  });
  it('carries window scale and SACK in the TSval low bits, never ahead of the clock', () => {
    for (const o of [
      { wscale: 7, sackOk: true },
      { wscale: -1, sackOk: false },
      { wscale: 0, sackOk: true },
      { wscale: 14, sackOk: false },
    ]) {
      const now = 0x12345678;
      const ts = SynCookies.encodeTimestamp(now, o);
      expect(((ts - now) | 0) <= 0).toBe(true);
      expect(SynCookies.decodeTimestamp(ts)).toEqual(o);
    }
  });
  it('hsiphash is keyed and spreads', () => {
    const k1 = HashKey.fromSeed(1, 1);
    const k2 = HashKey.fromSeed(1, 2);
    expect(hsiphash4(k1, 1, 2, 3, 4)).not.toBe(hsiphash4(k2, 1, 2, 3, 4));
    expect(hsiphash4(k1, 1, 2, 3, 4)).not.toBe(hsiphash4(k1, 1, 2, 3, 5));
    expect(hsiphash4(k1, 1, 2, 3, 4)).toBe(hsiphash4(k1, 1, 2, 3, 4));
  });
});
