/**
 * Shared machinery for the fuzz suites (test/property/fuzz-*.test.ts).
 *
 * - Seeded: FUZZ_SEED=<n> replays a run; without it a fresh seed is drawn and
 *   printed with every failure (fast-check also prints seed + path, which
 *   `FUZZ_SEED=<seed> FUZZ_PATH=<path>` replays exactly).
 * - Bounded: every property has a default number of runs sized so that the
 *   whole fuzz set stays well under 60 s in `npm test`; FUZZ_RUNS=<n>
 *   overrides them all for long runs (e.g. FUZZ_RUNS=100000).
 * - Counted: executions per target are recorded; FUZZ_REPORT=<file> writes
 *   them as JSON when the suite ends (the README table comes from there).
 */
import fc from 'fast-check';
import { appendFileSync } from 'node:fs';
import { internetChecksum, pseudoHeaderSum } from '../../src/wire/checksum.js';

const envSeed = process.env['FUZZ_SEED'];
/** The seed of this run. */
export const FUZZ_SEED: number = envSeed !== undefined && envSeed !== '' ? Number(envSeed) | 0 : (Date.now() ^ (process.pid << 8)) | 0;
const envPath = process.env['FUZZ_PATH'];
const envRuns = Number(process.env['FUZZ_RUNS'] ?? '');
/** Whether a long run was asked for. */
export const LONG_FUZZ = Number.isInteger(envRuns) && envRuns > 0;

/** Runs for a property: FUZZ_RUNS when set, else the default given (the fast CI size). */
export function runsFor(defaultRuns: number): number {
  return LONG_FUZZ ? envRuns : defaultRuns;
}

/** Executions per fuzz target in this process. */
export const executions: Record<string, number> = Object.create(null) as Record<string, number>;

export function count(target: string, n = 1): void {
  executions[target] = (executions[target] ?? 0) + n;
}

function params(defaultRuns: number): fc.Parameters<unknown> {
  const p: fc.Parameters<unknown> = { seed: FUZZ_SEED, numRuns: runsFor(defaultRuns), endOnFailure: false };
  if (envPath !== undefined && envPath !== '') p.path = envPath;
  return p;
}

function annotate(e: unknown, target: string): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const err = new Error(`fuzz target '${target}' failed (replay: FUZZ_SEED=${FUZZ_SEED}; see fast-check's seed/path below)\n${msg}`);
  if (e instanceof Error && e.stack) err.stack = `${err.message}\n${e.stack}`;
  return err;
}

/** fc.assert for a synchronous property, counting executions under `target`. */
export function fuzz<T>(target: string, arb: fc.Arbitrary<T>, body: (v: T) => void, defaultRuns: number): void {
  try {
    fc.assert(
      fc.property(arb, (v) => {
        count(target);
        body(v);
      }),
      params(defaultRuns) as fc.Parameters<[T]>,
    );
  } catch (e) {
    throw annotate(e, target);
  }
}

/** fc.assert for an asynchronous property, counting executions under `target`. */
export async function fuzzAsync<T>(target: string, arb: fc.Arbitrary<T>, body: (v: T) => Promise<void>, defaultRuns: number): Promise<void> {
  try {
    await fc.assert(
      fc.asyncProperty(arb, async (v) => {
        count(target);
        await body(v);
      }),
      params(defaultRuns) as fc.Parameters<[T]>,
    );
  } catch (e) {
    throw annotate(e, target);
  }
}

/** Writes the executions of this file to FUZZ_REPORT (JSON lines) when set; prints them either way. */
export function reportExecutions(suite: string): void {
  const line = JSON.stringify({ suite, seed: FUZZ_SEED, executions });
  console.log(`fuzz ${suite}: seed ${FUZZ_SEED}, executions ${JSON.stringify(executions)}`);
  const file = process.env['FUZZ_REPORT'];
  if (file) appendFileSync(file, `${line}\n`);
}

// ------------------------------------------------------------------ byte helpers

export const bytes = (max: number, min = 0): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });

/** A mutation of a valid buffer: bit flips, byte sets, truncation, extension, splice of random bytes. */
export type Mutation =
  | { k: 'flip'; at: number; bit: number }
  | { k: 'set'; at: number; v: number }
  | { k: 'truncate'; at: number }
  | { k: 'extend'; extra: Uint8Array }
  | { k: 'splice'; at: number; data: Uint8Array };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ k: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ k: fc.constant('set' as const), at: fc.nat(), v: fc.oneof(fc.constantFrom(0, 1, 0x7f, 0x80, 0xff), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ k: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ k: fc.constant('extend' as const), extra: bytes(16, 1) }),
  fc.record({ k: fc.constant('splice' as const), at: fc.nat(), data: bytes(8, 1) }),
);

export function mutate(src: Uint8Array, ms: readonly Mutation[]): Uint8Array {
  let b = src.slice();
  for (const m of ms) {
    const n = b.length;
    switch (m.k) {
      case 'flip':
        if (n > 0) b[m.at % n] ^= 1 << m.bit;
        break;
      case 'set':
        if (n > 0) b[m.at % n] = m.v;
        break;
      case 'truncate':
        b = b.slice(0, n === 0 ? 0 : m.at % n);
        break;
      case 'extend': {
        const o = new Uint8Array(n + m.extra.length);
        o.set(b);
        o.set(m.extra, n);
        b = o;
        break;
      }
      case 'splice': {
        const at = n === 0 ? 0 : m.at % n;
        const o = b.slice();
        o.set(m.data.subarray(0, Math.max(0, n - at)), at);
        b = o;
        break;
      }
    }
  }
  return b;
}

/**
 * Recomputes the IPv4 header checksum and, for an unfragmented TCP/UDP/ICMP
 * datagram whose lengths are consistent, the transport checksum — so that a
 * mutated packet gets past the checksums and reaches the deeper code.
 */
export function fixChecksums(b: Uint8Array): Uint8Array {
  if (b.length < 20 || b[0]! >> 4 !== 4) return b;
  const hl = (b[0]! & 0xf) * 4;
  if (hl < 20 || hl > b.length) return b;
  b[10] = 0;
  b[11] = 0;
  const c = internetChecksum(b, 0, hl);
  b[10] = c >> 8;
  b[11] = c & 0xff;
  const total = (b[2]! << 8) | b[3]!;
  if (total < hl || total > b.length) return b;
  const frag = ((b[6]! << 8) | b[7]!) & 0x3fff;
  if (frag !== 0) return b;
  const len = total - hl;
  const proto = b[9]!;
  const src = ((b[12]! << 24) | (b[13]! << 16) | (b[14]! << 8) | b[15]!) >>> 0;
  const dst = ((b[16]! << 24) | (b[17]! << 16) | (b[18]! << 8) | b[19]!) >>> 0;
  let at = -1;
  let init = 0;
  if (proto === 6 && len >= 20) {
    at = hl + 16;
    init = pseudoHeaderSum(src, dst, 6, len);
  } else if (proto === 17 && len >= 8) {
    at = hl + 6;
    const ulen = (b[hl + 4]! << 8) | b[hl + 5]!;
    if (ulen < 8 || ulen > len) return b;
    b[at] = 0;
    b[at + 1] = 0;
    let cs = internetChecksum(b, hl, ulen, pseudoHeaderSum(src, dst, 17, ulen));
    if (cs === 0) cs = 0xffff;
    b[at] = cs >> 8;
    b[at + 1] = cs & 0xff;
    return b;
  } else if (proto === 1 && len >= 8) {
    at = hl + 2;
  }
  if (at < 0) return b;
  b[at] = 0;
  b[at + 1] = 0;
  const cs = internetChecksum(b, hl, len, init);
  b[at] = cs >> 8;
  b[at + 1] = cs & 0xff;
  return b;
}

/** Hex helpers for the corpus files. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/#.*$/gm, '').replace(/\s+/g, '');
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}
