import { describe, it, expect } from 'vitest';
import { tsBefore, tsClock, tsDiff } from '../../src/tcp/ts-clock.js';

describe('TCP timestamp clock (RFC 7323 §5.4)', () => {
  it('ticks once per millisecond from the connection offset and wraps at 2^32', () => {
    expect(tsClock(1000.9, 5)).toBe(1005);
    expect(tsClock(3, 0xfffffffe)).toBe(1);
    expect(tsClock(0, 0xffffffff)).toBe(0xffffffff);
  });
  it('compares values by the sign of the 32-bit difference, across the wrap', () => {
    const old = 0xfffffff0;
    const young = tsClock(0x20, old); // 0x10 after the wrap
    expect(young).toBe(0x10);
    expect(tsDiff(young, old)).toBe(0x20);
    expect(tsDiff(old, young)).toBe(-0x20);
    expect(tsBefore(old, young)).toBe(true);
    expect(tsBefore(young, old)).toBe(false);
    expect(tsBefore(young, young)).toBe(false);
  });
  it('treats a value more than 2^31 ahead as older', () => {
    expect(tsBefore(0x80000001, 0)).toBe(true);
    expect(tsBefore(0x7fffffff, 0)).toBe(false);
  });
});
