/**
 * Replays the regression corpus (corpus/*.hex): packets that broke the
 * stack once, or that it must never answer. Each file: `#` comment lines
 * (why, and `# expect: silent` when nothing may be sent back), then one
 * packet per line in hex. Every packet goes through the whole input path
 * of a stack with every service up; the input-path invariants are checked
 * after each (input-target.ts). Add a file here for every crash a fuzzer finds.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { InputTarget } from './input-target.js';
import { fromHex } from './fuzz-kit.js';

const dir = fileURLToPath(new URL('./corpus', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.hex')).sort();

describe('regression corpus', () => {
  it('is not empty', () => expect(files.length).toBeGreaterThan(0));
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const silent = /^#\s*expect:\s*silent\s*$/m.test(text);
    const packets = text
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map(fromHex);
    it(`${f}: ${packets.length} packets, invariants hold${silent ? ', nothing sent back' : ''}`, async () => {
      const t = new InputTarget();
      try {
        for (const b of packets) {
          await t.apply({ k: 'raw', b });
          t.check();
        }
        await t.apply({ k: 'time', ms: 120_000 });
        t.check();
        if (silent) expect(t.sentTotal).toBe(0);
        expect(t.stack.stats.Ip.InReceives).toBe(packets.length);
      } finally {
        t.close();
      }
    });
  }
});
