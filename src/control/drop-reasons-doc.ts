/** docs/drop-reasons.md and `tunstack stats --reasons`, from the table in src/drop-reasons.ts. */
import { DROP_REASONS, type DropReason } from '../drop-reasons.js';

/** `reason  meaning` lines, the names padded to one column. */
export function formatDropReasons(): string {
  const names = Object.keys(DROP_REASONS) as DropReason[];
  const w = Math.max(...names.map((n) => n.length)) + 2;
  return `${names.map((n) => `${n.padEnd(w)}${DROP_REASONS[n]}`).join('\n')}\n`;
}

export function dropReasonsMarkdown(): string {
  const lines = [
    '# Drop reasons',
    '',
    '<!-- Generated from src/drop-reasons.ts by `tunstack stats --reasons --markdown`; test/unit/drop-reasons.test.ts checks it is current. -->',
    '',
    'Every packet the stack discards is counted once under one of these reasons (like Linux\'s `enum skb_drop_reason`).',
    '`tunstack stats` shows the non-zero ones as `Drop:REASON`; `tunstack stats --reasons` prints this list.',
    '',
    '| reason | meaning |',
    '|---|---|',
  ];
  for (const [n, text] of Object.entries(DROP_REASONS)) lines.push(`| \`${n}\` | ${text.replace(/\|/g, '\\|')} |`);
  return `${lines.join('\n')}\n`;
}
