/**
 * The Linux oracle's parts that run without packetdrill and without root: the prerequisite
 * checks (one-line errors), the options handed to packetdrill, packetdrill's error line, the
 * table and its summary, and the `// linux-differs:` mark the runner reports.
 */
import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  firstDifference,
  formatOracleSummary,
  formatOracleTable,
  linuxTimeBoundMs,
  oracleAgrees,
  oracleTotals,
  OracleUnavailable,
  packetdrillFirstError,
  packetdrillOptionWords,
  preparePacketdrill,
  type OracleEnvironment,
  type OracleRow,
} from '../../src/conform/oracle.js';
import { linuxDiffersReason } from '../../src/conform/marks.js';
import { runScript } from '../../src/conform/runner.js';
import { formatResult, formatSummary, summarize } from '../../src/conform/suite.js';

const able: OracleEnvironment = { isRoot: () => true, hasCommand: () => true, netnsProbe: () => undefined };

function fakeBinary(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oracle-test-'));
  const bin = join(dir, 'packetdrill');
  writeFileSync(bin, '#!/bin/sh\nexit 0\n');
  chmodSync(bin, 0o755);
  return bin;
}

function fakeSources(): string {
  const root = mkdtempSync(join(tmpdir(), 'oracle-src-'));
  const src = join(root, 'gtests', 'net', 'packetdrill');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'configure'), '');
  writeFileSync(join(src, 'packetdrill.c'), '');
  return root;
}

function oneLineError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OracleUnavailable);
    const m = (e as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('expected OracleUnavailable');
}

describe('oracle prerequisites', () => {
  it('asks for --packetdrill when it is missing', () => {
    expect(oneLineError(() => preparePacketdrill('linux', undefined, able))).toMatch(/needs --packetdrill PATH/);
  });

  it('asks for --oracle linux when only --packetdrill is given, and knows only linux', () => {
    expect(oneLineError(() => preparePacketdrill(undefined, fakeBinary(), able))).toMatch(/add --oracle linux/);
    expect(oneLineError(() => preparePacketdrill('freebsd', fakeBinary(), able))).toMatch(/--oracle takes 'linux' \(got 'freebsd'\)/);
  });

  it('says when the path does not exist', () => {
    expect(oneLineError(() => preparePacketdrill('linux', '/nonexistent/packetdrill', able))).toMatch(/no such file or directory/);
  });

  it('says it needs root', () => {
    expect(oneLineError(() => preparePacketdrill('linux', fakeBinary(), { ...able, isRoot: () => false }))).toMatch(/needs root/);
  });

  it('says when the kernel will not give it a namespace', () => {
    const env = { ...able, netnsProbe: () => 'no /dev/net/tun (packetdrill needs a TUN device)' };
    expect(oneLineError(() => preparePacketdrill('linux', fakeBinary(), env))).toMatch(/kernel does not allow it: no \/dev\/net\/tun/);
  });

  it('says when ip is missing', () => {
    const env = { ...able, hasCommand: (n: string) => n !== 'ip' };
    expect(oneLineError(() => preparePacketdrill('linux', fakeBinary(), env))).toMatch(/'ip' command/);
  });

  it('takes an executable as the binary', () => {
    const bin = fakeBinary();
    expect(preparePacketdrill('linux', bin, able)).toBe(bin);
  });

  it('builds a source checkout, and says which tool a build lacks', () => {
    const root = fakeSources();
    const built: string[] = [];
    const bin = preparePacketdrill('linux', root, able, (dir) => {
      built.push(dir);
      writeFileSync(join(dir, 'packetdrill'), '#!/bin/sh\n');
      chmodSync(join(dir, 'packetdrill'), 0o755);
      return undefined;
    });
    expect(built).toEqual([join(root, 'gtests', 'net', 'packetdrill')]);
    expect(bin).toBe(join(root, 'gtests', 'net', 'packetdrill', 'packetdrill'));
    const env = { ...able, hasCommand: (n: string) => n !== 'bison' };
    expect(oneLineError(() => preparePacketdrill('linux', fakeSources(), env, () => undefined))).toMatch(/needs 'bison'/);
    expect(oneLineError(() => preparePacketdrill('linux', fakeSources(), able, () => 'parser.y: syntax error'))).toMatch(/the build failed: parser.y: syntax error/);
  });

  it('rejects a folder with neither a binary nor sources', () => {
    const dir = mkdtempSync(join(tmpdir(), 'oracle-empty-'));
    expect(oneLineError(() => preparePacketdrill('linux', dir, able))).toMatch(/no packetdrill binary and no packetdrill sources/);
  });
});

describe('oracle options and packetdrill output', () => {
  it('hands packetdrill only its own options', () => {
    expect(packetdrillOptionWords(['--tolerance_usecs=10000', '--strict_time', '--tcp.rmem=4096', '-v', '-DFOO=1', '--ip_version=ipv4', '--relax-option-order'])).toEqual(['--tolerance_usecs=10000', '-v', '-DFOO=1', '--ip_version=ipv4']);
  });

  it("finds packetdrill's error line", () => {
    const out = 'some banner\nx.pkt:5: error handling packet: live packet field tcp_window: expected: 65535 (0xffff) vs actual: 64240 (0xfaf0)\nscript packet:  0.000170 S 0:0(0) win 65535\n';
    expect(packetdrillFirstError(out)).toBe('x.pkt:5: error handling packet: live packet field tcp_window: expected: 65535 (0xffff) vs actual: 64240 (0xfaf0)');
    expect(packetdrillFirstError('')).toBe('');
  });
});

const rows: OracleRow[] = [
  { script: 'a.pkt', linux: { verdict: 'pass', firstError: '' }, tunstack: { status: 'pass', reason: '', line: undefined }, linuxDiffers: undefined },
  { script: 'b.pkt', linux: { verdict: 'fail', firstError: 'b.pkt:3: error handling packet: x | y' }, tunstack: { status: 'fail', reason: 'timing error', line: 3 }, linuxDiffers: undefined },
  { script: 'c.pkt', linux: { verdict: 'fail', firstError: 'c.pkt:9: error' }, tunstack: { status: 'pass', reason: '', line: undefined }, linuxDiffers: 'SYN retries stay exponential' },
  { script: 'd.pkt', linux: { verdict: 'pass', firstError: '' }, tunstack: { status: 'unsupported', reason: 'unsupported: TCP_INFO', line: 4 }, linuxDiffers: undefined },
];

describe('oracle table', () => {
  it('prints one Markdown row per script with both verdicts and the first difference', () => {
    const t = formatOracleTable(rows);
    expect(t[0]).toBe('| script | Linux | tunstack | first difference |');
    expect(t).toHaveLength(2 + rows.length);
    expect(t[2]).toBe('| a.pkt | pass | pass |  |');
    expect(t[3]).toBe('| b.pkt | fail | fail | linux: b.pkt:3: error handling packet: x \\| y / tunstack: line 3: timing error |');
    expect(t[5]).toBe('| d.pkt | pass | unsupported | tunstack: line 4: unsupported: TCP_INFO |');
  });

  it('shows the mark in the difference column', () => {
    expect(firstDifference(rows[2]!)).toBe('linux: c.pkt:9: error / marked linux-differs: SYN retries stay exponential');
  });

  it('sums up as agree.sh does, with the unmarked scripts on Linux', () => {
    const t = oracleTotals(rows);
    expect(t).toEqual({ scripts: 4, linuxPass: 2, tunstackPass: 2, bothPass: 1, marked: 1, unmarked: 3, unmarkedLinuxPass: 2 });
    expect(formatOracleSummary(t)).toBe('linux 2/4; tunstack 1/2 on the scripts Linux passes (50%); tunstack 2/4 in all; unmarked scripts on Linux 2/3 (66%), 1 marked linux-differs');
    expect(oracleAgrees(rows)).toBe(false);
    expect(oracleAgrees([rows[0]!, rows[2]!])).toBe(true);
  });
});

describe('linux-differs mark', () => {
  it('is read from its own comment line', () => {
    expect(linuxDiffersReason('// x\n// linux-differs: we keep exponential SYN backoff  \n0 socket(...)')).toBe('we keep exponential SYN backoff');
    expect(linuxDiffersReason('// linux differs in spirit\n')).toBeUndefined();
    expect(linuxDiffersReason('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3 // linux-differs: not at line start\n')).toBeUndefined();
  });

  it('is reported by the runner and counted in the summary', async () => {
    const r = await runScript('// linux-differs: a reason\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n', { name: 'm.pkt' });
    expect(r.status).toBe('pass');
    expect(r.linuxDiffers).toBe('a reason');
    expect(formatResult(r)).toEqual(['PASS m.pkt', '    linux-differs: a reason']);
    expect(formatSummary(summarize([r])).at(-1)).toBe('1 passed / 0 failed / 0 unsupported (1 scripts, 1 marked linux-differs)');
  });
});

describe('time bound on Linux', () => {
  it('is the script length in time plus a minute', () => {
    expect(linuxTimeBoundMs('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0.5 close(3) = 0\n+60 < . 1:1(0) ack 1 win 100\n')).toBe(60_500 + 60_000);
    expect(linuxTimeBoundMs('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+1...3 read(3, ..., 10) = 0\n')).toBe(4000 + 60_000);
    expect(linuxTimeBoundMs('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+1 connect(3, ..., ...) = -1\n+2~+3 > S 0:0(0) <...>\n')).toBe(4000 + 60_000);
    expect(linuxTimeBoundMs('this is not a script')).toBe(60_000);
  });
});
