/**
 * Runs every packetdrill-dialect script under test/conformance (one test
 * per script, named by its path) and the capture replays of the reference
 * captures in ../shared/captures (skipped loudly when that folder is
 * missing). A failing script fails with the runner's diff.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectScripts } from '../../src/conform/suite.js';
import { runScript } from '../../src/conform/runner.js';
import { formatResult } from '../../src/conform/suite.js';
import { replayCapture, formatReplay, type ReplayOptions } from '../../src/conform/replay.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const { files } = collectScripts([here]);

describe('conformance scripts', () => {
  it('has the suite (at least 80 scripts)', () => {
    expect(files.length).toBeGreaterThanOrEqual(80);
  });
  for (const f of files) {
    const name = relative(root, f);
    it(name, async () => {
      const r = await runScript(readFileSync(f, 'utf8'), { name });
      // The whole diagnostic is the failure message.
      if (r.status !== 'pass') expect.fail(formatResult(r).join('\n'));
    });
  }
});

/** Reference captures relative to the repository root (shared/ sits beside the checkout). */
const capturesDir = resolve(root, '../shared/captures');
const haveCaptures = existsSync(capturesDir);
if (!haveCaptures) {
  // Loud: a missing reference folder must not look like a pass.
  console.warn(`\n*** conformance: ${capturesDir} is missing: capture replays SKIPPED ***\n`);
}

/** Per capture: options the capture's README documents (settings of the reference namespace). */
const CAPTURES: Record<string, ReplayOptions> = {
  'icmp-echo': {},
  'icmp-echo-fragmented': {},
  'icmp-time-exceeded': {},
  'ip-fragments-ooo-overlap': {},
  'udp-port-unreachable': {},
  'tcp-rst-closed-port': {},
  'tcp-http-get': {},
  'tcp-http11-keepalive': {},
  'tcp-syn-cookies': { tcp: { syncookies: 2 } },
  'tcp-zero-window': {},
  'tcp-1mb-transfer': {},
};

describe.skipIf(!haveCaptures)('capture replay against the Linux reference', () => {
  for (const [name, opts] of Object.entries(CAPTURES)) {
    it(`replay ${name}`, async () => {
      const file = join(capturesDir, name, `${name}.pcap`);
      const r = await replayCapture(file, opts);
      if (!r.ok) expect.fail(formatReplay(r).join('\n'));
      expect(r.referencePackets).toBeGreaterThan(0);
    });
  }
});
