/**
 * Capture lint: tshark's expert analysis with checksum validation turned on
 * for IP, TCP and UDP. Every expert item becomes a problem with its frame,
 * severity and message; checksum errors, malformed packets and TCP analysis
 * flags (retransmission, zero window, out-of-order, ...) all show up here.
 *
 *   const r = lintCapture('out.pcap');
 *   expect(r.problems.filter((p) => p.severity === 'error' || p.severity === 'warning')).toEqual([]);
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export type LintSeverity = 'comment' | 'chat' | 'note' | 'warning' | 'error';

export interface LintProblem {
  frame: number;
  severity: LintSeverity;
  /** tshark's expert group (checksum, sequence, malformed, protocol, ...). */
  group: string;
  message: string;
}

export interface LintResult {
  file: string;
  /** Frames in the capture. */
  packets: number;
  problems: LintProblem[];
  /** Set when tshark could not be run or could not read the file. */
  error?: string;
}

const SEVERITY: Readonly<Record<number, LintSeverity>> = {
  0x00100000: 'comment',
  0x00200000: 'chat',
  0x00400000: 'note',
  0x00600000: 'warning',
  0x00800000: 'error',
};

const GROUP: Readonly<Record<number, string>> = {
  0x01000000: 'checksum',
  0x02000000: 'sequence',
  0x03000000: 'response-code',
  0x04000000: 'request-code',
  0x05000000: 'undecoded',
  0x06000000: 'reassemble',
  0x07000000: 'malformed',
  0x08000000: 'debug',
  0x09000000: 'protocol',
  0x0a000000: 'security',
  0x0b000000: 'comments',
  0x0c000000: 'decryption',
  0x0d000000: 'assumption',
  0x0e000000: 'deprecated',
};

/** Ordering of severities, for thresholds. */
export const SEVERITY_RANK: Readonly<Record<LintSeverity, number>> = { comment: 0, chat: 1, note: 2, warning: 3, error: 4 };

export function lintCapture(file: string, opts: { tshark?: string } = {}): LintResult {
  const result: LintResult = { file, packets: 0, problems: [] };
  if (!existsSync(file)) {
    result.error = `no such file: ${file}`;
    return result;
  }
  const r = spawnSync(
    opts.tshark ?? 'tshark',
    [
      '-r', file,
      '-n',
      '-o', 'ip.check_checksum:TRUE',
      '-o', 'tcp.check_checksum:TRUE',
      '-o', 'udp.check_checksum:TRUE',
      '-T', 'fields',
      '-e', 'frame.number',
      '-e', '_ws.expert.severity',
      '-e', '_ws.expert.group',
      '-e', '_ws.expert.message',
      '-E', 'separator=/t',
      '-E', 'occurrence=a',
      '-E', 'aggregator=\u001f',
    ],
    { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
  );
  if (r.error) {
    result.error = `cannot run tshark: ${r.error.message}`;
    return result;
  }
  if (r.status !== 0 && r.stdout.trim() === '') {
    result.error = `tshark failed: ${r.stderr.split('\n').filter((l) => !/Running as user/.test(l)).join(' ').trim()}`;
    return result;
  }
  if (/appears to have been cut short|truncated/i.test(r.stderr)) {
    result.problems.push({ frame: 0, severity: 'error', group: 'malformed', message: 'the capture file is truncated (cut short in the middle of a packet)' });
  }
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const [frameS, sevS = '', groupS = '', msgS = ''] = line.split('\t');
    const frame = Number(frameS);
    if (!Number.isFinite(frame)) continue;
    result.packets = Math.max(result.packets, frame);
    if (sevS === '') continue;
    const sevs = sevS.split('\u001f');
    const groups = groupS.split('\u001f');
    const msgs = msgS.split('\u001f');
    for (let i = 0; i < sevs.length; i++) {
      const sev = SEVERITY[Number(sevs[i])] ?? 'note';
      const group = GROUP[Number(groups[i])] ?? `group ${groups[i] ?? '?'}`;
      result.problems.push({ frame, severity: sev, group, message: msgs[i] ?? '' });
    }
  }
  return result;
}

/** Problems at or above `min` (default warning). */
export function lintProblemsAtLeast(r: LintResult, min: LintSeverity = 'warning'): LintProblem[] {
  return r.problems.filter((p) => SEVERITY_RANK[p.severity] >= SEVERITY_RANK[min]);
}

export function formatLint(r: LintResult): string[] {
  const out: string[] = [];
  if (r.error) return [`${r.file}: ${r.error}`];
  const serious = lintProblemsAtLeast(r, 'warning');
  for (const p of r.problems) {
    if (SEVERITY_RANK[p.severity] < SEVERITY_RANK.note) continue;
    out.push(`frame ${p.frame}: ${p.severity} [${p.group}] ${p.message}`);
  }
  const counts = new Map<string, number>();
  for (const p of r.problems) counts.set(p.severity, (counts.get(p.severity) ?? 0) + 1);
  const summary = (['error', 'warning', 'note', 'chat'] as const).map((s) => `${counts.get(s) ?? 0} ${s}${(counts.get(s) ?? 0) === 1 ? '' : 's'}`).join(', ');
  out.push(`${r.file}: ${r.packets} packets; ${summary}; ${serious.length === 0 ? 'clean' : `${serious.length} problem(s) at warning or above`}`);
  return out;
}
