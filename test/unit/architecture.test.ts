/**
 * The shape of src/, checked on every run (docs/architecture.md describes it):
 *
 * - no import cycle anywhere in src/ (type-only imports count: madge follows them, as the acceptance check does);
 * - the packet core imports only downward: wire → link → ip → udp/tcp, over the base modules (clock, stats, drop-reasons, tunable,
 *   shape); nothing in it reaches the stack, observers, services, HTTP, control or the CLI;
 * - no file in src/tcp/ over 900 lines (TCP is split by concern; a file that grows past this wants splitting).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import madge, { type MadgeResult } from 'madge';

const SRC = 'src';
const MAX_TCP_FILE_LINES = 900;

/** What each layer of the packet core may import besides itself (a directory under src/ or a base module). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  wire: [],
  link: ['wire', 'clock'],
  ip: ['wire', 'link', 'clock', 'stats', 'drop-reasons', 'tunable'],
  udp: ['wire', 'ip', 'clock', 'stats', 'drop-reasons', 'shape', 'tunable'],
  tcp: ['wire', 'ip', 'clock', 'stats', 'drop-reasons', 'shape', 'tunable'],
  // The base modules under everything.
  clock: [],
  tunable: [],
  stats: ['drop-reasons'],
  'drop-reasons': [],
  shape: [],
};

/** `tcp/layer.ts` → `tcp`; `clock.ts` → `clock`. */
function unitOf(path: string): string {
  const slash = path.indexOf('/');
  return slash >= 0 ? path.slice(0, slash) : path.replace(/\.ts$/, '');
}

describe('architecture of src/', () => {
  let graph: MadgeResult;
  // madge parses every file of src/: seconds on a quiet machine, over a minute on a 2-core one at load 16 (a fresh
  // clone's `npm test` failed its four checks on this hook's timeout alone).
  beforeAll(async () => {
    graph = await madge(SRC, { fileExtensions: ['ts'], tsConfig: 'tsconfig.json' });
  }, 180_000);

  it('madge resolves every import', () => {
    expect(graph.warnings().skipped).toEqual([]);
    expect(Object.keys(graph.obj())).toContain('tcp/connection.ts');
  });

  it('has no import cycle', () => {
    const cycles = graph.circular().map((c) => c.join(' > '));
    expect(cycles).toEqual([]);
  });

  it('the packet core imports only downward', () => {
    const wrong: string[] = [];
    for (const [file, deps] of Object.entries(graph.obj())) {
      const from = unitOf(file);
      const allowed = MAY_IMPORT[from];
      if (allowed === undefined) continue;
      for (const dep of deps) {
        const to = unitOf(dep);
        if (to !== from && !allowed.includes(to)) wrong.push(`${file} imports ${dep}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it(`keeps every file in src/tcp/ within ${MAX_TCP_FILE_LINES} lines`, () => {
    const over: string[] = [];
    for (const name of readdirSync(join(SRC, 'tcp'))) {
      if (!name.endsWith('.ts')) continue;
      const text = readFileSync(join(SRC, 'tcp', name), 'utf8');
      let lines = 0;
      for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lines++;
      if (lines > MAX_TCP_FILE_LINES) over.push(`${name}: ${lines} lines`);
    }
    expect(over).toEqual([]);
  });
});
