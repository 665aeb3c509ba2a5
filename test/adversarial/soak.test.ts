/**
 * The CI-sized soak (issue 9, item 4): scripts/soak.sh for SOAK_CI_SECONDS
 * (default 60) — mixed legitimate load with integrity checks, a trickle of
 * hostile packets, resources sampled; the script fails on a corrupt
 * transfer, an unexplained failure, memory growth after the warm-up, stuck
 * sockets or an unclean SIGTERM. Longer runs: `sudo bash scripts/soak.sh 600`.
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { liveSkipReason, reportRows } from './live.js';

const why = liveSkipReason(['ping', 'curl']);
if (why) console.warn(`adversarial soak SKIPPED: ${why}`);
const SECONDS = Number(process.env['SOAK_CI_SECONDS'] ?? '') || 60;
const SCRIPT = fileURLToPath(new URL('../../scripts/soak.sh', import.meta.url));

describe.skipIf(!!why)(`soak, ${SECONDS}s${why ? ` (SKIPPED: ${why})` : ''}`, () => {
  it(
    'mixed load with hostile trickle: nothing corrupt, nothing unexplained, no growth after warm-up, no stuck socket, clean SIGTERM',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tunstack-soak-test-'));
      const report = join(dir, 'summary.json');
      try {
        const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
          const child = spawn('bash', [SCRIPT, String(SECONDS)], { env: { ...process.env, SOAK_REPORT: report }, stdio: ['ignore', 'pipe', 'pipe'] });
          let text = '';
          child.stdout.on('data', (d: Buffer) => (text += d.toString()));
          child.stderr.on('data', (d: Buffer) => (text += d.toString()));
          const timer = setTimeout(() => child.kill('SIGTERM'), (SECONDS + 150) * 1000); // the script cleans up on TERM
          child.on('exit', (code) => {
            clearTimeout(timer);
            resolve({ code, text });
          });
        });
        const summary = JSON.parse(readFileSync(report, 'utf8')) as {
          ok: boolean;
          problems: string[];
          rss_mb: { first: number; peak: number; last: number };
          growth_after_warmup: { rss?: { slope_mb_per_min: number } };
          legit: { tcp: { ok: number; bytes: number }; chargen: { ok: number; bytes: number }; ping: { sent: number; recv: number }; udp: { sent: number; recv: number } };
          http: { ok: number; fail: number } | null;
          wrk: { requests?: number };
          hostile: { sent: number };
        };
        const l = summary.legit;
        reportRows('soak (CI)', [
          {
            scenario: `soak ${SECONDS}s`,
            sent: `TCP echo ${l.tcp.ok} transfers, chargen ${l.chargen.ok}, wrk ${summary.wrk.requests ?? 0} req, HTTP new-conn ${summary.http?.ok ?? 0}, ${summary.hostile.sent} hostile pkts`,
            did: `RSS ${summary.rss_mb.first}→${summary.rss_mb.last} MB (slope ${summary.growth_after_warmup.rss?.slope_mb_per_min ?? '?'} MB/min)`,
            success: `ping ${l.ping.recv}/${l.ping.sent}, UDP ${l.udp.recv}/${l.udp.sent}`,
            bytesLost: 0,
            peakRssMb: summary.rss_mb.peak,
          },
        ]);
        expect(summary.problems, out.text.slice(-2000)).toEqual([]);
        expect(out.code).toBe(0);
        expect(l.tcp.ok).toBeGreaterThan(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    (SECONDS + 180) * 1000,
  );
});
