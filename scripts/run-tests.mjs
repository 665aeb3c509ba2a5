#!/usr/bin/env node
// Runs the whole vitest suite with its JSON reporter beside the normal one and
// ends with one plain line `tests: N passed, M failed` (CI reads that line).
// Exit status is non-zero on any failure, or when no test ran.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, existsSync } from 'node:fs';

const out = '.vitest-results.json';
rmSync(out, { force: true });
const args = ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)];
const run = spawnSync('npx', args, { stdio: 'inherit' });

let passed = 0, failed = 0, skipped = 0;
if (existsSync(out)) {
  const r = JSON.parse(readFileSync(out, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = (r.numFailedTests ?? 0) + (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} else {
  failed = 1;
}
const tail = skipped > 0 ? `, ${skipped} skipped` : '';
console.log(`tests: ${passed} passed, ${failed} failed${tail}`);
process.exit(failed > 0 || passed === 0 || run.status !== 0 ? 1 : 0);
