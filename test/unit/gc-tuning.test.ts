/**
 * The process's GC tuning (src/gc-tuning.ts, loaded first by the CLI): the young generation stops growing at
 * its cap. A child process allocates short-lived objects with enough survivors that V8 would grow the young
 * generation to its default maximum (32 MiB reported), with and without the module.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../dist/gc-tuning.js', import.meta.url));
const PROGRAM = `
import v8 from 'node:v8';
if (process.argv[1] === 'tuned') await import(process.argv[2]);
let keep = [];
for (let i = 0; i < 6e6; i++) {
  keep.push({ a: i, b: [i] });
  if (keep.length > 40000) keep = [];
  if (i % 10000 === 0) await new Promise((r) => setImmediate(r)); // lets the GC observer run, as a server's loop does (a batch of packets allocates far less)
}
console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
`;

function youngSize(tuned: boolean): number {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', PROGRAM, tuned ? 'tuned' : 'plain', MODULE], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout.trim());
}

describe.skipIf(!existsSync(MODULE))('young generation cap', () => {
  it('V8 alone grows the young generation past the cap; with gc-tuning it stops there', () => {
    expect(youngSize(false)).toBeGreaterThan(16 * 1024 * 1024);
    expect(youngSize(true)).toBeLessThanOrEqual(16 * 1024 * 1024);
  }, 90_000);
});
