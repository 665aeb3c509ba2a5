/** docs/sysctl.md, generated from the registry (`tunstack sysctl --markdown > docs/sysctl.md`; a test keeps it current). */
import { formatTunableValue, type TunableKind } from '../tunable.js';
import { SYSCTLS, type SysctlEntry } from './sysctl.js';

function range(k: TunableKind): string {
  switch (k.type) {
    case 'int':
      return `${k.min}..${k.max}`;
    case 'bool':
      return '0, 1';
    case 'enum':
      return k.values.join(', ');
    case 'range':
      return `LOW HIGH in ${k.min}..${k.max}`;
  }
}

const WHEN: Record<SysctlEntry['when'], string> = { run: 'run', start: 'start', build: 'build' };

/** A table cell: no pipes or line breaks. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function sysctlMarkdown(): string {
  const lines = [
    '# Tunables (`tunstack sysctl`)',
    '',
    '<!-- Generated from src/control/sysctl.ts by `tunstack sysctl --markdown`; test/unit/sysctl.test.ts checks it is current. -->',
    '',
    "Every knob of the stack in one place, like Linux's sysctl tree. A name is Linux's own where ours means the",
    'same thing in the same unit (`net.ipv4.tcp_sack`); otherwise it is `tunstack.LAYER.NAME` and the Linux',
    'column names the nearest counterpart. Each layer declares its own (`src/ip/tunables.ts`, `src/udp/tunables.ts`,',
    '`src/tcp/tunables.ts`, `src/http/tunables.ts`).',
    '',
    'The default is the library\'s (`new Stack()`); where `tunstack up` starts otherwise, its value follows.',
    '',
    '- **run**: `tunstack sysctl NAME=VALUE` changes it on a running stack (TCP settings apply to connections opened after the change, as in Linux).',
    '- **start**: set when the stack starts, with `tunstack up --sysctl NAME=VALUE` (or the flag named); a running stack answers `NAME is read-only at run time`.',
    '- **build**: a constant of the build, listed so every number that shapes the stack is found here.',
    '',
    '`tunstack sysctl -a` prints every value of a running stack; `tunstack sysctl NAME` one; `-d` adds units and meanings.',
    '',
    '| name | default | unit | values | when | meaning | Linux |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const e of SYSCTLS) {
    const meaning = e.differs !== undefined ? `${e.text}. *Differs from Linux:* ${e.differs}` : e.text;
    const when = e.when === 'start' && e.startFlag !== `--sysctl ${e.name}=VALUE` ? `start (\`${e.startFlag}\`)` : WHEN[e.when];
    const up = e.upDefault !== e.default ? ` (\`tunstack up\`: \`${formatTunableValue(e.upDefault)}\`)` : '';
    lines.push(`| \`${e.name}\` | \`${formatTunableValue(e.default)}\`${up} | ${e.unit} | ${cell(range(e.kind))} | ${when} | ${cell(meaning)} | ${cell(e.linux ?? (e.name.startsWith('net.') ? 'same' : ''))} |`);
  }
  return `${lines.join('\n')}\n`;
}
