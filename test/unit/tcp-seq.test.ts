import { describe, it, expect } from 'vitest';
import { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin, seqSub } from '../../src/tcp/seq.js';

describe('sequence arithmetic modulo 2^32', () => {
  it('orders numbers across the wrap', () => {
    const a = 0xfffffff0;
    const b = seqAdd(a, 0x20); // 0x10 after the wrap
    expect(b).toBe(0x10);
    expect(seqLt(a, b)).toBe(true);
    expect(seqGt(b, a)).toBe(true);
    expect(seqLe(a, a)).toBe(true);
    expect(seqGe(b, b)).toBe(true);
    expect(seqLt(b, a)).toBe(false);
    expect(seqSub(b, a)).toBe(0x20);
    expect(seqSub(a, b)).toBe(-0x20);
    expect(seqMax(a, b)).toBe(b);
    expect(seqMin(a, b)).toBe(a);
  });
  it('uses the 2^31 horizon', () => {
    expect(seqLt(0, 0x7fffffff)).toBe(true);
    expect(seqLt(0, 0x80000001)).toBe(false); // more than half the space ahead means behind
    expect(seqGt(0, 0x80000001)).toBe(true);
  });
  it('adds and wraps to unsigned', () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(5, -6)).toBe(0xffffffff);
  });
  it('range membership across the wrap', () => {
    expect(seqInRange(2, 0xfffffffe, 5)).toBe(true);
    expect(seqInRange(5, 0xfffffffe, 5)).toBe(false);
    expect(seqInRange(0xfffffffd, 0xfffffffe, 5)).toBe(false);
  });
});
