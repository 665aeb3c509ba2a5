/**
 * The `--impair` spec: a netem replacement's configuration.
 *
 *   loss=5%,delay=10ms,jitter=2ms,reorder=25%,duplicate=1%,corrupt=0.1%,rate=100mbit,limit=1000,seed=7
 *   out:ce=2%,seed=3                 (mark 2% of the ECN-capable packets CE instead of dropping them)
 *   out:rate=20mbit,out:ce-queue=20  (mark CE while 20 or more packets wait in the rate queue)
 *
 * Items are `key=value`, separated by commas (spaces around items are
 * ignored). A key may be prefixed with `in:` (packets from the link to the
 * stack) or `out:` (packets from the stack to the link); without a prefix it
 * applies to both directions, and a prefixed item overrides an unprefixed one
 * whatever their order. Giving the same key twice for the same scope is an
 * error. The empty string and `none` mean no impairment.
 *
 * Units (case-insensitive; a bare `0` is accepted for every key):
 *   - probabilities (`loss`, `reorder`, `duplicate`, `corrupt`, `ce`): a percentage
 *     with `%`, 0%..100% (`%` is required: `0.05` is refused as ambiguous).
 *   - times (`delay`, `jitter`): `us`, `ms`, `s` (unit required), at most 3600s.
 *   - `rate`, as tc: `bit`, `kbit`, `mbit`, `gbit`, `tbit` (powers of 1000) and
 *     `kibit`, `mibit`, `gibit`, `tibit` (powers of 1024) are bits per second;
 *     `bps`, `kbps`, `mbps`, `gbps`, `tbps` (and `kibps` ...) are BYTES per
 *     second, as in tc (`kbps` = kilobytes/s = 8 kbit). `0` = unlimited.
 *   - `limit`: queue length in packets for the delay/rate queue (default 1000,
 *     like netem), an integer 1..10,000,000.
 *   - `ce-queue`: mark CE when the delay/rate queue holds at least this many
 *     packets (a step-threshold AQM, as DCTCP's switches mark), an integer
 *     1..10,000,000; `0` (the default) = off. Only a direction with a delay,
 *     jitter or rate has a queue.
 *   - `seed`: the PRNG seed, an integer 0..2^32-1 (default 1), both directions only.
 *
 * Internally probabilities are fractions 0..1, times milliseconds and rates
 * bits per second.
 */

export interface ImpairParams {
  /** Probability 0..1 that a packet is dropped. */
  loss: number;
  /** Fixed delay, milliseconds. */
  delay: number;
  /** Delay varies uniformly in [delay - jitter, delay + jitter] (never below 0), milliseconds. */
  jitter: number;
  /** Probability 0..1 that a packet jumps the queue (see impair.ts). */
  reorder: number;
  /** Probability 0..1 that a packet is sent twice. */
  duplicate: number;
  /** Probability 0..1 that one bit of a packet is flipped. */
  corrupt: number;
  /** Bits per second; 0 = unlimited. */
  rate: number;
  /** Most packets waiting in the delay/rate queue; more are tail-dropped. */
  limit: number;
  /** Probability 0..1 that an ECN-capable packet is marked CE (RFC 3168 §5; see ce-mark.ts). */
  ce: number;
  /** Mark ECN-capable packets CE when the delay/rate queue holds at least this many packets; 0 = off. */
  ceQueue: number;
}

export interface ImpairSpec {
  /** Link → stack. */
  in: ImpairParams;
  /** Stack → link. */
  out: ImpairParams;
  seed: number;
}

export const DEFAULT_LIMIT = 1000;
export const DEFAULT_SEED = 1;
const MAX_TIME_MS = 3_600_000;
const MAX_LIMIT = 10_000_000;

export function noImpairment(): ImpairParams {
  return { loss: 0, delay: 0, jitter: 0, reorder: 0, duplicate: 0, corrupt: 0, rate: 0, limit: DEFAULT_LIMIT, ce: 0, ceQueue: 0 };
}

/** True when the parameters change anything (`limit` alone does not). */
export function isImpairing(p: ImpairParams): boolean {
  return p.loss > 0 || p.delay > 0 || p.jitter > 0 || p.reorder > 0 || p.duplicate > 0 || p.corrupt > 0 || p.rate > 0 || p.ce > 0 || p.ceQueue > 0;
}

/** Builds a spec from partial parameters (for tests and programmatic use); `both` applies first, then `in`/`out`. */
export function makeImpairSpec(
  opts: { both?: Partial<ImpairParams>; in?: Partial<ImpairParams>; out?: Partial<ImpairParams>; seed?: number } = {},
): ImpairSpec {
  return {
    in: { ...noImpairment(), ...opts.both, ...opts.in },
    out: { ...noImpairment(), ...opts.both, ...opts.out },
    seed: opts.seed ?? DEFAULT_SEED,
  };
}

type ParamKey = keyof ImpairParams;
type Kind = 'percent' | 'time' | 'rate' | 'count' | 'count0';

const KEYS: Record<ParamKey, Kind> = {
  loss: 'percent',
  delay: 'time',
  jitter: 'time',
  reorder: 'percent',
  duplicate: 'percent',
  corrupt: 'percent',
  rate: 'rate',
  limit: 'count',
  ce: 'percent',
  ceQueue: 'count0',
};
/** Spec keys that differ from the parameter's name. */
const SPEC_KEY: Partial<Record<ParamKey, string>> = { ceQueue: 'ce-queue' };
const specKey = (k: ParamKey): string => SPEC_KEY[k] ?? k;
const PARAM_OF = new Map<string, ParamKey>((Object.keys(KEYS) as ParamKey[]).map((k) => [specKey(k), k]));
const KEY_NAMES = [...PARAM_OF.keys(), 'seed'].join(', ');

/** Milliseconds = value * mul / div (dividing keeps `1876us` exactly 1.876). */
const TIME_UNITS: Record<string, { mul: number; div: number }> = {
  us: { mul: 1, div: 1000 },
  ms: { mul: 1, div: 1 },
  s: { mul: 1000, div: 1 },
};

const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  tibit: 1024 ** 4,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
  kibps: 8 * 1024,
  mibps: 8 * 1024 ** 2,
  gibps: 8 * 1024 ** 3,
  tibps: 8 * 1024 ** 4,
};

const NUMBER_RE = /^(\d+(?:\.\d*)?|\.\d+)([a-z%]*)$/i;

function parseValue(key: string, kind: Kind, text: string): number | string {
  const m = NUMBER_RE.exec(text);
  if (m === null) {
    if (text.startsWith('-')) return `${key}: negative value "${text}"`;
    return `${key}: bad number "${text}"`;
  }
  const num = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  if (!Number.isFinite(num)) return `${key}: bad number "${text}"`;
  if (unit === '' && num === 0 && kind !== 'count') return 0;
  switch (kind) {
    case 'percent':
      if (unit !== '%') return `${key}: expected a percentage like 5% (got "${text}")`;
      if (num > 100) return `${key}: ${text} is out of range (0%..100%)`;
      return num / 100;
    case 'time': {
      if (unit === '') return `${key}: missing time unit (us, ms or s) in "${text}"`;
      const f = TIME_UNITS[unit];
      if (f === undefined) return `${key}: unknown time unit "${m[2]}" (use us, ms or s)`;
      const ms = (num * f.mul) / f.div;
      if (ms > MAX_TIME_MS) return `${key}: ${text} is too long (at most 3600s)`;
      return ms;
    }
    case 'rate': {
      if (unit === '') return `${key}: missing rate unit (bit, kbit, mbit, gbit, or bps, kbps, mbps, gbps for bytes/s) in "${text}"`;
      const f = RATE_UNITS[unit];
      if (f === undefined) return `${key}: unknown rate unit "${m[2]}" (use bit, kbit, mbit, gbit, tbit, or bps, kbps, mbps, gbps, tbps for bytes/s)`;
      const bits = num * f;
      if (bits > 0 && bits < 1) return `${key}: ${text} is below 1bit`;
      return bits;
    }
    case 'count':
    case 'count0':
      if (unit !== '' || !Number.isInteger(num)) return `${key}: expected a whole number of packets (got "${text}")`;
      if (num < 1 || num > MAX_LIMIT) return `${key}: ${text} is out of range (1..${MAX_LIMIT})`;
      return num;
  }
}

/** Parses an `--impair` spec. Never throws. */
export function parseImpairSpec(text: string): ImpairSpec | { error: string } {
  const fail = (msg: string): { error: string } => ({ error: `impair: ${msg}` });
  if (typeof text !== 'string') return fail('spec must be a string');
  const spec = makeImpairSpec();
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'none') return spec;

  // Values per scope; the direction-specific ones override the shared ones afterwards.
  const both: Partial<ImpairParams> = {};
  const dirIn: Partial<ImpairParams> = {};
  const dirOut: Partial<ImpairParams> = {};
  let seed: number | undefined;

  for (const raw of trimmed.split(',')) {
    const item = raw.trim();
    if (item === '') return fail(`empty item in "${text}"`);
    const eq = item.indexOf('=');
    if (eq < 0) return fail(`bad item "${item}" (expected key=value)`);
    let key = item.slice(0, eq).trim().toLowerCase();
    const value = item.slice(eq + 1).trim();
    let scope: Partial<ImpairParams> = both;
    let scopeName = '';
    const colon = key.indexOf(':');
    if (colon >= 0) {
      const dir = key.slice(0, colon);
      if (dir === 'in') scope = dirIn;
      else if (dir === 'out') scope = dirOut;
      else return fail(`unknown direction "${item.slice(0, colon)}" in "${item}" (use in: or out:)`);
      scopeName = `${dir}:`;
      key = key.slice(colon + 1);
    }
    if (value === '') return fail(`missing value for "${key}" in "${item}"`);
    if (key === 'seed') {
      if (scopeName !== '') return fail(`seed applies to both directions; drop the "${scopeName}" prefix`);
      if (seed !== undefined) return fail('seed given twice');
      if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) return fail(`seed: expected an integer 0..4294967295 (got "${value}")`);
      seed = Number(value);
      continue;
    }
    const k = PARAM_OF.get(key);
    if (k === undefined) return fail(`unknown key "${key}" (known: ${KEY_NAMES})`);
    if (scope[k] !== undefined) return fail(`${scopeName}${key} given twice`);
    const v = parseValue(scopeName + key, KEYS[k], value);
    if (typeof v === 'string') return fail(v);
    scope[k] = v;
  }
  return makeImpairSpec({ both, in: dirIn, out: dirOut, seed: seed ?? DEFAULT_SEED });
}

function fmtNum(n: number): string {
  return String(+n.toPrecision(12));
}

function formatValue(kind: Kind, v: number): string {
  switch (kind) {
    case 'percent':
      return `${fmtNum(v * 100)}%`;
    case 'time':
      if (v === 0) return '0';
      if (v >= 1000 && Number.isInteger(v / 1000)) return `${v / 1000}s`;
      if (v < 1) return `${fmtNum(v * 1000)}us`;
      return `${fmtNum(v)}ms`;
    case 'rate':
      if (v === 0) return '0';
      for (const [u, f] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) {
        if (v >= f && Number.isInteger(v / f)) return `${v / f}${u}`;
      }
      return `${fmtNum(v)}bit`;
    case 'count':
    case 'count0':
      return String(v);
  }
}

/**
 * The spec as text for logs, in a form `parseImpairSpec` reads back to the same
 * values: keys equal in both directions unprefixed, the rest with `in:`/`out:`,
 * defaults left out (the seed kept when not the default); `none` when nothing is set.
 */
export function formatImpairSpec(spec: ImpairSpec): string {
  const items: string[] = [];
  for (const k of Object.keys(KEYS) as ParamKey[]) {
    const kind = KEYS[k];
    const def = k === 'limit' ? DEFAULT_LIMIT : 0;
    const vi = spec.in[k];
    const vo = spec.out[k];
    const name = specKey(k);
    if (vi === vo) {
      if (vi !== def) items.push(`${name}=${formatValue(kind, vi)}`);
    } else {
      if (vi !== def) items.push(`in:${name}=${formatValue(kind, vi)}`);
      if (vo !== def) items.push(`out:${name}=${formatValue(kind, vo)}`);
    }
  }
  // The seed is kept even when nothing is impaired, so that every spec round-trips (`seed=100` stays itself).
  if (spec.seed !== DEFAULT_SEED) items.push(`seed=${spec.seed}`);
  if (items.length === 0) return 'none';
  return items.join(',');
}
