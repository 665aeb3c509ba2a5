import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DROP_REASONS, type DropReason } from '../../src/drop-reasons.js';
import { dropReasonsMarkdown, formatDropReasons } from '../../src/control/drop-reasons-doc.js';
import { Stats } from '../../src/stats.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const SRC = sources('src').filter((p) => p !== join('src', 'drop-reasons.ts'));
const TEXT = SRC.map((p) => readFileSync(p, 'utf8')).join('\n');
const WIRE = sources(join('src', 'wire')).map((p) => readFileSync(p, 'utf8')).join('\n');
const NAMES = Object.keys(DROP_REASONS) as DropReason[];
/** Call sites that build a reason from a decoder's error: `stats.drop(\`tcp.${err}\`)`. */
const TEMPLATE_PREFIXES = [...TEXT.matchAll(/drop\(`([a-z0-9-]+)\.\$\{/g)].map((m) => m[1]!);

describe('the drop-reason table', () => {
  it('gives every reason a LAYER.what name and one line of meaning', () => {
    for (const n of NAMES) {
      expect(n).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+$/);
      expect(DROP_REASONS[n].length, n).toBeGreaterThan(10);
      expect(DROP_REASONS[n], n).not.toMatch(/\n/);
    }
  });

  it('holds every reason a src/ file names (a literal LAYER.what in a drop position is in the table)', () => {
    const used = new Set<string>();
    for (const m of TEXT.matchAll(/(?:drop|suppressed|evictOldest)\(\s*'([a-z0-9-]+\.[a-z0-9-]+)'/g)) used.add(m[1]!);
    for (const m of TEXT.matchAll(/(?:fatal = |return |\? |: )'((?:ip|ip6|icmp|icmp6|tcp|udp|dns|link)\.[a-z0-9-]+)'/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(80);
    expect([...used].filter((r) => !(r in DROP_REASONS))).toEqual([]);
  });

  it('uses every entry somewhere in src/ (a literal, or a decoder error under a prefix a call site adds)', () => {
    expect(TEMPLATE_PREFIXES.sort()).toEqual(['icmp', 'ip6', 'link', 'tcp', 'udp', 'udp6']);
    const unused = NAMES.filter((n) => {
      if (TEXT.includes(`'${n}'`)) return false;
      const dot = n.indexOf('.');
      const prefix = n.slice(0, dot);
      const suffix = n.slice(dot + 1);
      // `tcp.${err}` with err a TcpParseError, `link.${reason}` with a VnetError (src/run.ts): the suffix is a wire error literal.
      return !(TEMPLATE_PREFIXES.includes(prefix) && WIRE.includes(`'${suffix}'`));
    });
    expect(unused).toEqual([]);
  });

  it('counts by typed reason', () => {
    const s = new Stats();
    s.drop('tcp.paws');
    s.drop('tcp.paws');
    expect(s.drops['tcp.paws']).toBe(2);
    expect(s.toJSON()['drops']).toEqual({ 'tcp.paws': 2 });
    // @ts-expect-error a reason not in the table does not compile
    s.drop('tcp.pawz');
  });

  it('lists them with meanings for `tunstack stats --reasons`, and docs/drop-reasons.md is current', () => {
    expect(formatDropReasons().trimEnd().split('\n')).toHaveLength(NAMES.length);
    expect(formatDropReasons()).toMatch(/^tcp\.paws\s+a timestamp older than the last one/m);
    expect(readFileSync('docs/drop-reasons.md', 'utf8')).toBe(dropReasonsMarkdown());
  });
});
