import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { KEYS } from '../../src/config.js';

describe('docs/configuration.md', () => {
  it('has a row for every configuration key: its flag, environment variable and file key', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const rows = doc.split('\n').filter((l) => l.startsWith('| `--'));
    for (const [key, k] of Object.entries(KEYS)) {
      const row = rows.find((r) => r.startsWith(`| \`${k.flag}\` |`));
      expect(row, `no row for ${k.flag}`).toBeDefined();
      expect(row).toContain(`| \`${k.env}\` | \`${key}\` |`);
    }
    expect(rows).toHaveLength(Object.keys(KEYS).length);
  });
});
