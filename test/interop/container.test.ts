/**
 * The container path in CI: scripts/container-smoke.sh in netns mode —
 * docker/entrypoint.sh with the container's environment inside a fresh
 * namespace, pinged and curled from a second namespace through a veth pair
 * and the route README asks users to add, operated with stats/ss, stopped
 * with SIGTERM. The curl checks need the bundled HTTP server (dist/http).
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { canRunInterop, which } from './netns.js';
import { cliBuilt } from './stack-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const can = canRunInterop();
const tools = ['ping', 'curl', 'bash'].filter((t) => which(t) === null);
const ready = can.ok && cliBuilt() && tools.length === 0;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built' : `missing tools: ${tools.join(', ')}`;
const httpBuilt = existsSync(`${ROOT}/dist/http`);
if (!ready) console.warn(`\n*** container smoke SKIPPED: ${why} ***\n`);
else if (!httpBuilt) console.warn('\n*** container smoke: the HTTP server is not in this build (dist/http): curl checks SKIPPED ***\n');

describe.skipIf(!ready)(`container smoke, netns mode${ready ? '' : ` (skipped: ${why})`}`, () => {
  let out = '';
  let status: number | null = null;

  beforeAll(() => {
    const r = spawnSync('bash', ['scripts/container-smoke.sh', '--mode', 'netns'], { cwd: ROOT, encoding: 'utf8', timeout: 150_000, killSignal: 'SIGTERM' });
    out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    status = r.status;
  }, 160_000);

  it('the entrypoint brings the stack up; 20 pings through the route, 0% loss', () => {
    expect(out).toMatch(/^\[smoke\] mode netns$/m);
    expect(out).toMatch(/^\[smoke\] ok +ping x20 through the route: 0% packet loss$/m);
  });

  it('tunstack stats and ss answer on the control socket inside the container', () => {
    expect(out).toMatch(/^\[smoke\] ok +tunstack stats: IcmpInEchos \d+$/m);
    expect(out).toMatch(/^\[smoke\] ok +tunstack ss: \d+ lines$/m);
  });

  it('SIGTERM: exit status 0, the TUN device removed', () => {
    expect(out).toMatch(/^\[smoke\] ok +SIGTERM: exit status 0$/m);
    expect(out).toMatch(/^\[smoke\] ok +TUN device removed on shutdown$/m);
  });

  it.skipIf(!httpBuilt)('curl / and /bytes?n=10000000 through the route; the whole smoke passes', () => {
    expect(out).toMatch(/^\[smoke\] ok +curl http:\/\/10\.77\.0\.2\/: HTTP 200, \d+ bytes$/m);
    expect(out).toMatch(/^\[smoke\] ok +curl http:\/\/10\.77\.0\.2\/bytes\?n=10000000: HTTP 200, 10000000 bytes$/m);
    expect(out).toMatch(/^container-smoke: PASS \(netns\)/m);
    expect(status).toBe(0);
  });

  it.skipIf(httpBuilt)('without the HTTP server the smoke fails, and says why', () => {
    expect(status).toBe(1);
    expect(out).toMatch(/^\[smoke\] FAIL +curl-root curl http:\/\/10\.77\.0\.2\/: curl exit 7 .*is the HTTP server in this build/m);
    expect(out).toMatch(/^container-smoke: FAIL \(netns\): curl-root curl-bytes$/m);
  });
});
