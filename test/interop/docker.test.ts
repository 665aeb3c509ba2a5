/**
 * The real image, when a Docker engine answers here (e.g. after
 * `systemctl start docker`): scripts/container-smoke.sh in
 * docker mode builds the Dockerfile (on the local base image when there is
 * one), runs it --privileged --network none, and pings and curls it from a
 * namespace of ours through a veth moved into the container's namespace.
 * Without an engine this says so and skips; it never starts one.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { canRunInterop } from './netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
const can = canRunInterop();
const engine = can.ok && spawnSync(DOCKER, ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
const why = !can.ok ? can.reason : 'no Docker engine answers `docker info` (start one, e.g. `systemctl start docker`; this test never does)';
const httpBuilt = existsSync(`${ROOT}/dist/http`);
if (!engine) console.warn(`\n*** real-image container test SKIPPED: ${why} ***\n`);

describe.skipIf(!engine)(`the real image${engine ? '' : ` (skipped: ${why})`}`, () => {
  it('builds, runs --privileged, answers ping (and curl) from outside, stops cleanly on SIGTERM', () => {
    const r = spawnSync('bash', ['scripts/container-smoke.sh', '--mode', 'docker'], { cwd: ROOT, encoding: 'utf8', timeout: 290_000, killSignal: 'SIGTERM' });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    expect(out).toMatch(/^\[smoke\] mode docker$/m);
    expect(out).toMatch(/^\[smoke\] ok +ping x20 through the route: 0% packet loss$/m);
    expect(out).toMatch(/^\[smoke\] ok +tunstack stats: IcmpInEchos \d+$/m);
    expect(out).toMatch(/^\[smoke\] ok +SIGTERM: exit status 0$/m);
    if (httpBuilt) {
      expect(out).toMatch(/^\[smoke\] ok +curl http:\/\/10\.77\.0\.2\/bytes\?n=10000000: HTTP 200, 10000000 bytes$/m);
      expect(r.status).toBe(0);
    } else {
      console.warn('*** the HTTP server is not in this build: the image is not curled ***');
    }
  }, 300_000);
});
