/**
 * Operating a stack under HTTP load, for real: `tunstack stats` and
 * `tunstack ss` show the connections of a running wrk load; SIGTERM during a
 * download lets it finish, closes with FINs (no RST) and exits 0.
 * Needs the bundled HTTP server in the build (dist/http), wrk and curl.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetNs, canRunInterop, which, waitForExit } from './netns.js';
import { CLI, STACK_ADDR, cliBuilt, startStack, type StackProcess } from './stack-process.js';
import { readPcap } from '../../src/wire/pcap.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const can = canRunInterop();
const httpBuilt = existsSync(join(ROOT, 'dist/http'));
const missing = ['wrk', 'curl'].filter((t) => which(t) === null);
const ready = can.ok && cliBuilt() && httpBuilt && missing.length === 0;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built' : !httpBuilt ? 'the HTTP server is not in this build (dist/http)' : `missing tools: ${missing.join(', ')}`;
if (!ready) console.warn(`\n*** interop ops-under-HTTP tests SKIPPED: ${why} ***\n`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ready)(`operating a stack under HTTP load${ready ? '' : ` (skipped: ${why})`}`, () => {
  let ns: NetNs;
  let dir: string;
  let stack: StackProcess | null = null;
  const cli = (args: string[]) => ns.exec([process.execPath, CLI, ...args], { timeoutMs: 10_000 });

  beforeAll(() => {
    NetNs.reapStale('opsh');
    ns = NetNs.create('opsh');
    dir = mkdtempSync(join(tmpdir(), 'tunstack-opsh-'));
  });
  afterEach(async () => {
    if (stack) await stack.stop();
    stack = null;
  });
  afterAll(() => {
    ns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stats and ss show the connections of a running wrk load', async () => {
    stack = await startStack(ns, ['--http', '80']);
    // Long enough to outlast the checks on a busy machine; stopped with SIGINT (wrk then prints its summary) once they are done.
    const wrk = ns.spawn(['wrk', '-t', '1', '-c', '8', '-d', '30s', `http://${STACK_ADDR}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let wrkOut = '';
    wrk.stdout!.on('data', (d: Buffer) => (wrkOut += d.toString()));
    let ss = '';
    let estab = 0;
    for (let i = 0; i < 30 && estab < 8; i++) {
      await sleep(100);
      ss = cli(['ss', '-i']).stdout;
      estab = (ss.match(/^tcp +ESTAB +\d+ +\d+ +\[::ffff:10\.77\.0\.2\]:80 +\[::ffff:10\.77\.0\.1\]:\d+$/gm) ?? []).length;
    }
    expect(estab).toBe(8);
    expect(ss).toMatch(/^tcp +LISTEN .*\*:80 /m); // dual stack: `::` taking IPv4 too
    expect(ss).toMatch(/^\t .*rto:\d+ rtt:[\d.]+\/[\d.]+ mss:\d+ .*cwnd:\d+/m);
    const stats = cli(['stats']).stdout;
    expect(Number(/^TcpCurrEstab +(\d+)$/m.exec(stats)?.[1])).toBe(8);
    expect(Number(/^TcpPassiveOpens +(\d+)$/m.exec(stats)?.[1])).toBeGreaterThanOrEqual(8);
    const watch = cli(['stats', '--watch', '0.5', '--count', '1']).stdout;
    expect(Number(/^TcpInSegs +(\d+) +[\d.]+$/m.exec(watch)?.[1])).toBeGreaterThan(0); // segments flowing in that half second
    wrk.kill('SIGINT');
    await waitForExit(wrk, 10_000);
    expect(wrkOut).toMatch(/Requests\/sec/);
  });

  it('SIGTERM during a download: the download finishes, FINs close it, exit 0', async () => {
    const cap = join(dir, 'term.pcap');
    stack = await startStack(ns, ['--http', '80', '--grace', '30s', '--pcap', cap]);
    const body = join(dir, 'body');
    // 12 MB read at 1 MB/s (curl's limit lets bursts through: seen ~2x): still running when SIGTERM comes
    // after 1 s, done well within the grace period.
    const curl = ns.spawn(['curl', '-sS', '--limit-rate', '1M', '-o', body, '-w', '%{http_code} %{size_download}', `http://${STACK_ADDR}/bytes?n=12000000`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let curlOut = '';
    curl.stdout!.on('data', (d: Buffer) => (curlOut += d.toString()));
    await sleep(1000);
    expect(curl.exitCode).toBeNull();
    const code = await stack.stop(40_000);
    stack = null;
    expect(code).toBe(0);
    const c = await waitForExit(curl, 20_000);
    expect(c.code).toBe(0);
    expect(curlOut).toBe('200 12000000');
    expect(readFileSync(body).length).toBe(12_000_000);
    const f = readPcap(readFileSync(cap));
    if (typeof f === 'string') throw new Error(f);
    let fins = 0;
    let rsts = 0;
    for (const p of f.packets) {
      const d = p.data;
      if (d[0]! >> 4 !== 4 || d[9] !== 6) continue;
      const ihl = (d[0]! & 15) * 4;
      const flags = d[ihl + 13]!;
      if (flags & 0x01) fins++;
      if (flags & 0x04) rsts++;
    }
    expect(fins).toBeGreaterThanOrEqual(2); // ours and the client's
    expect(rsts).toBe(0);
  }, 70_000);
});
