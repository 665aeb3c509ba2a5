/**
 * Running many scripts: files and directory trees (`*.pkt`), per-script
 * lines and the closing summary `N passed / M failed / K unsupported` with
 * the reasons grouped and counted.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { runScript, type ScriptResult } from './runner.js';

/** Every `.pkt` file under the given paths (files as given, directories walked, sorted). */
export function collectScripts(paths: readonly string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.endsWith('.pkt')) files.push(p);
    }
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      missing.push(p);
      continue;
    }
    if (st.isDirectory()) walk(p);
    else files.push(p);
  }
  return { files, missing };
}

export interface SuiteSummary {
  results: ScriptResult[];
  passed: number;
  failed: number;
  unsupported: number;
  /** Reasons grouped: normalised reason -> count. */
  failReasons: Map<string, number>;
  unsupportedReasons: Map<string, number>;
}

export async function runFiles(files: readonly string[], opts: { options?: readonly string[]; base?: string; onResult?: (r: ScriptResult) => void } = {}): Promise<SuiteSummary> {
  const results: ScriptResult[] = [];
  for (const f of files) {
    const name = opts.base !== undefined ? relative(opts.base, f) || f : f;
    const text = readFileSync(f, 'utf8');
    const r = await runScript(text, { name, dir: dirname(f), ...(opts.options ? { options: opts.options } : {}) });
    results.push(r);
    opts.onResult?.(r);
  }
  return summarize(results);
}

/** Groups reasons: numbers and quoted details are folded so that alike failures count together. */
export function reasonKey(r: ScriptResult): string {
  if (r.status === 'unsupported') return r.reason.replace(/^unsupported:\s*/, '');
  const m = r.reason.match(/^(syntax error|internal error|outbound packet mismatch: \w+|timing error|expected packet not sent|blocking call did not return|\w+\(\) returned)/);
  return m ? m[1]! : r.reason.replace(/\d+/g, 'N');
}

export function summarize(results: readonly ScriptResult[]): SuiteSummary {
  const s: SuiteSummary = { results: [...results], passed: 0, failed: 0, unsupported: 0, failReasons: new Map(), unsupportedReasons: new Map() };
  for (const r of results) {
    if (r.status === 'pass') s.passed++;
    else if (r.status === 'fail') {
      s.failed++;
      const k = reasonKey(r);
      s.failReasons.set(k, (s.failReasons.get(k) ?? 0) + 1);
    } else {
      s.unsupported++;
      const k = reasonKey(r);
      s.unsupportedReasons.set(k, (s.unsupportedReasons.get(k) ?? 0) + 1);
    }
  }
  return s;
}

/** The lines printed for one script. */
export function formatResult(r: ScriptResult, verbose = false): string[] {
  const out: string[] = [];
  const at = r.line !== undefined ? `:${r.line}` : '';
  if (r.status === 'pass') out.push(`PASS ${r.name}`);
  else if (r.status === 'unsupported') out.push(`UNSUPPORTED ${r.name}${at}: ${r.reason}`);
  else {
    out.push(`FAIL ${r.name}${at}: ${r.reason}`);
    for (const d of r.details) out.push(`    ${d}`);
  }
  if (r.linuxDiffers !== undefined) out.push(`    linux-differs: ${r.linuxDiffers}`);
  for (const w of r.warnings) out.push(`    warning: ${w}`);
  if (verbose) for (const t of r.trace) out.push(`    | ${t}`);
  return out;
}

export function formatSummary(s: SuiteSummary): string[] {
  const out: string[] = [];
  const sorted = (m: Map<string, number>): [string, number][] => [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (s.failReasons.size > 0) {
    out.push('failures by reason:');
    for (const [k, n] of sorted(s.failReasons)) out.push(`  ${String(n).padStart(4)}  ${k}`);
  }
  if (s.unsupportedReasons.size > 0) {
    out.push('unsupported by reason:');
    for (const [k, n] of sorted(s.unsupportedReasons)) out.push(`  ${String(n).padStart(4)}  ${k}`);
  }
  const marked = s.results.filter((r) => r.linuxDiffers !== undefined).length;
  out.push(`${s.passed} passed / ${s.failed} failed / ${s.unsupported} unsupported (${s.results.length} scripts${marked > 0 ? `, ${marked} marked linux-differs` : ''})`);
  return out;
}
