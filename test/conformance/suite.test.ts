/**
 * Runs every packetdrill-dialect script under test/conformance (one test
 * per script, named by its path) and the capture replays of the Linux
 * reference captures in test/fixtures/captures (recorded from the kernel by
 * scripts/record-captures.sh). A failing script fails with the runner's diff.
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

/** The Linux reference captures, kept in the repository (scripts/record-captures.sh records them again). */
const capturesDir = resolve(root, 'test/fixtures/captures');

/** Per capture: the settings of its reference namespace (as scripts/record-captures.sh sets them). */
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

describe('capture replay against the Linux reference', () => {
  for (const [name, opts] of Object.entries(CAPTURES)) {
    it(`replay ${name}`, async () => {
      const file = join(capturesDir, name, `${name}.pcap`);
      // A missing capture fails: run `sudo bash scripts/record-captures.sh` to record it.
      expect(existsSync(file), `${file} (record it with scripts/record-captures.sh)`).toBe(true);
      const r = await replayCapture(file, opts);
      if (!r.ok) expect.fail(formatReplay(r).join('\n'));
      expect(r.referencePackets).toBeGreaterThan(0);
    });
  }
});
