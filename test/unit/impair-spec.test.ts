import { describe, it, expect } from 'vitest';
import {
  DEFAULT_LIMIT,
  DEFAULT_SEED,
  formatImpairSpec,
  isImpairing,
  makeImpairSpec,
  noImpairment,
  parseImpairSpec,
  type ImpairSpec,
} from '../../src/link/impair-spec.js';

function ok(text: string): ImpairSpec {
  const r = parseImpairSpec(text);
  if ('error' in r) throw new Error(`unexpected error: ${r.error}`);
  return r;
}

function err(text: string): string {
  const r = parseImpairSpec(text);
  if (!('error' in r)) throw new Error(`expected an error for ${JSON.stringify(text)}`);
  return r.error;
}

describe('parseImpairSpec', () => {
  it('parses the full example for both directions', () => {
    const s = ok('loss=5%,delay=10ms,jitter=2ms,reorder=25%,duplicate=1%,corrupt=0.1%,rate=100mbit,seed=7');
    const want = {
      loss: 0.05,
      delay: 10,
      jitter: 2,
      reorder: 0.25,
      duplicate: 0.01,
      corrupt: 0.001,
      rate: 100e6,
      limit: DEFAULT_LIMIT,
      ce: 0,
      ceQueue: 0,
    };
    expect(s.in).toEqual(want);
    expect(s.out).toEqual(want);
    expect(s.seed).toBe(7);
    expect(s.in).not.toBe(s.out);
  });

  it('empty, blank and none mean no impairment with the default seed', () => {
    for (const t of ['', '   ', 'none', 'NONE']) {
      const s = ok(t);
      expect(s.in).toEqual(noImpairment());
      expect(s.out).toEqual(noImpairment());
      expect(s.seed).toBe(DEFAULT_SEED);
      expect(isImpairing(s.in)).toBe(false);
    }
  });

  it('applies in:/out: prefixes to one direction and lets them override shared keys in any order', () => {
    const s = ok('in:loss=2%,out:delay=5ms');
    expect(s.in.loss).toBe(0.02);
    expect(s.out.loss).toBe(0);
    expect(s.out.delay).toBe(5);
    expect(s.in.delay).toBe(0);
    for (const t of ['loss=1%,in:loss=3%', 'in:loss=3%,loss=1%']) {
      const o = ok(t);
      expect(o.in.loss).toBe(0.03);
      expect(o.out.loss).toBe(0.01);
    }
    expect(ok('IN:Loss=1%').in.loss).toBe(0.01);
    expect(ok(' loss = 1% , out:limit=5 ').out.limit).toBe(5);
  });

  it('reads percentages', () => {
    expect(ok('loss=0%').in.loss).toBe(0);
    expect(ok('loss=100%').in.loss).toBe(1);
    expect(ok('duplicate=.5%').in.duplicate).toBe(0.005);
    expect(ok('corrupt=12.5%').in.corrupt).toBe(0.125);
    expect(ok('reorder=0').in.reorder).toBe(0);
  });

  it('reads times in us, ms and s', () => {
    expect(ok('delay=250us').in.delay).toBe(0.25);
    expect(ok('delay=10ms').in.delay).toBe(10);
    expect(ok('delay=1.5s').in.delay).toBe(1500);
    expect(ok('delay=2MS').in.delay).toBe(2);
    expect(ok('jitter=3ms').in.jitter).toBe(3);
    expect(ok('delay=0').in.delay).toBe(0);
    expect(ok('delay=3600s').in.delay).toBe(3_600_000);
  });

  it('reads rates in bits and tc-style bytes per second', () => {
    const rate = (t: string) => ok(`rate=${t}`).out.rate;
    expect(rate('800bit')).toBe(800);
    expect(rate('64kbit')).toBe(64_000);
    expect(rate('100mbit')).toBe(100e6);
    expect(rate('1gbit')).toBe(1e9);
    expect(rate('1tbit')).toBe(1e12);
    expect(rate('1kibit')).toBe(1024);
    expect(rate('1mibit')).toBe(1024 * 1024);
    expect(rate('1gibit')).toBe(1024 ** 3);
    expect(rate('1tibit')).toBe(1024 ** 4);
    expect(rate('100bps')).toBe(800); // bytes per second, as tc
    expect(rate('1kbps')).toBe(8000);
    expect(rate('12.5mbps')).toBe(100e6);
    expect(rate('1gbps')).toBe(8e9);
    expect(rate('1tbps')).toBe(8e12);
    expect(rate('1kibps')).toBe(8192);
    expect(rate('1mibps')).toBe(8 * 1024 ** 2);
    expect(rate('1gibps')).toBe(8 * 1024 ** 3);
    expect(rate('1tibps')).toBe(8 * 1024 ** 4);
    expect(rate('1MBit')).toBe(1e6);
    expect(rate('0')).toBe(0);
  });

  it('reads limit and seed', () => {
    expect(ok('limit=1').in.limit).toBe(1);
    expect(ok('limit=50,delay=1ms').out.limit).toBe(50);
    expect(ok('seed=0').seed).toBe(0);
    expect(ok('seed=4294967295').seed).toBe(4294967295);
  });

  it('reports every kind of error clearly, never throwing', () => {
    expect(err('lose=5%')).toMatch(/unknown key "lose".*known: loss/);
    expect(err('loss')).toMatch(/bad item "loss" \(expected key=value\)/);
    expect(err('loss=')).toMatch(/missing value for "loss"/);
    expect(err('loss=5%,,delay=1ms')).toMatch(/empty item/);
    expect(err('loss=5%,')).toMatch(/empty item/);
    expect(err('up:loss=5%')).toMatch(/unknown direction "up".*use in: or out:/);
    expect(err('loss=abc')).toMatch(/loss: bad number "abc"/);
    expect(err('loss=-1%')).toMatch(/loss: negative value "-1%"/);
    expect(err('loss=5')).toMatch(/loss: expected a percentage like 5%/);
    expect(err('loss=0.05')).toMatch(/expected a percentage/);
    expect(err('loss=101%')).toMatch(/loss: 101% is out of range \(0%\.\.100%\)/);
    expect(err('in:corrupt=200%')).toMatch(/in:corrupt: 200% is out of range/);
    expect(err('delay=10')).toMatch(/delay: missing time unit/);
    expect(err('delay=10min')).toMatch(/delay: unknown time unit "min"/);
    expect(err('jitter=3601s')).toMatch(/jitter: 3601s is too long/);
    expect(err('rate=100')).toMatch(/rate: missing rate unit/);
    expect(err('rate=100mb')).toMatch(/rate: unknown rate unit "mb"/);
    expect(err('rate=0.5bit')).toMatch(/below 1bit/);
    expect(err('limit=0')).toMatch(/limit: 0 is out of range/);
    expect(err('limit=10.5')).toMatch(/limit: expected a whole number/);
    expect(err('limit=10p')).toMatch(/limit: expected a whole number/);
    expect(err('limit=20000000')).toMatch(/out of range/);
    expect(err('seed=-1')).toMatch(/seed: expected an integer/);
    expect(err('seed=1.5')).toMatch(/seed: expected an integer/);
    expect(err('seed=4294967296')).toMatch(/seed: expected an integer/);
    expect(err('in:seed=3')).toMatch(/seed applies to both directions; drop the "in:" prefix/);
    expect(err('seed=1,seed=2')).toMatch(/seed given twice/);
    expect(err('loss=1%,loss=2%')).toMatch(/loss given twice/);
    expect(err('out:loss=1%,out:loss=2%')).toMatch(/out:loss given twice/);
    expect(err('delay=1e3ms')).toMatch(/bad number|unknown time unit/);
    expect(err('loss=NaN%')).toMatch(/bad number/);
    expect(err('loss=5% 50%')).toMatch(/bad number/);
    for (const e of [err('x'), err('loss=5')]) expect(e.startsWith('impair: ')).toBe(true);
    expect(parseImpairSpec(undefined as unknown as string)).toEqual({ error: 'impair: spec must be a string' });
  });
});

describe('formatImpairSpec', () => {
  it('formats shared keys unprefixed, others with a direction, defaults left out', () => {
    expect(formatImpairSpec(ok(''))).toBe('none');
    expect(formatImpairSpec(ok('loss=5%,delay=10ms,jitter=500us,rate=100mbit,seed=7'))).toBe(
      'loss=5%,delay=10ms,jitter=500us,rate=100mbit,seed=7',
    );
    expect(formatImpairSpec(ok('loss=1%,in:loss=3%,out:rate=1kbps,delay=2s,limit=10'))).toBe(
      'in:loss=3%,out:loss=1%,delay=2s,out:rate=8kbit,limit=10',
    );
    expect(formatImpairSpec(makeImpairSpec({ out: { rate: 1234.5, delay: 1.25, corrupt: 0.001 } }))).toBe(
      'out:delay=1.25ms,out:corrupt=0.1%,out:rate=1234.5bit',
    );
  });

  it('round-trips through the parser', () => {
    const specs = [
      'loss=5%,delay=10ms,jitter=2ms,reorder=25%,duplicate=1%,corrupt=0.1%,rate=100mbit,seed=7',
      'in:loss=0.5%,out:duplicate=3%,limit=7,rate=12.5mbps',
      'delay=1500ms,out:jitter=250us,in:rate=1gibit',
      'out:ce=2%,seed=3',
      'rate=20mbit,out:ce-queue=20,in:ce=0.5%',
    ];
    for (const t of specs) {
      const a = ok(t);
      expect(ok(formatImpairSpec(a))).toEqual(a);
    }
  });
});

describe('CE marking keys', () => {
  it('reads ce as a percentage and ce-queue as a packet count, per direction', () => {
    const s = ok('out:ce=2%,seed=3');
    expect(s.out.ce).toBe(0.02);
    expect(s.in.ce).toBe(0);
    expect(s.seed).toBe(3);
    const q = ok('rate=10mbit,ce-queue=20,in:ce-queue=5');
    expect(q.out.ceQueue).toBe(20);
    expect(q.in.ceQueue).toBe(5);
    expect(ok('ce-queue=0').out.ceQueue).toBe(0);
    expect(ok('CE=100%').in.ce).toBe(1);
  });

  it('refuses bad CE values with the key named as written', () => {
    expect(err('ce=0.02')).toMatch(/ce: expected a percentage/);
    expect(err('out:ce=101%')).toMatch(/out:ce: 101% is out of range/);
    expect(err('ce-queue=2.5')).toMatch(/ce-queue: expected a whole number of packets/);
    expect(err('ce-queue=-1')).toMatch(/ce-queue: negative value/);
    expect(err('out:ce-queue=3,out:ce-queue=4')).toMatch(/out:ce-queue given twice/);
    expect(err('cequeue=3')).toMatch(/unknown key "cequeue" \(known: .*ce, ce-queue, seed\)/);
  });

  it('formats ce-queue under its spec name', () => {
    expect(formatImpairSpec(makeImpairSpec({ out: { ce: 0.02, ceQueue: 20 } }))).toBe('out:ce=2%,out:ce-queue=20');
  });
});
