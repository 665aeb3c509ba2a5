/**
 * The user guide's "your own handler" example (docs/user-guide.md), run as written (imports pointed at
 * dist/) in a namespace of the test's own on a TUN of its own, answered to
 * curl from the kernel side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { NetNs, canRunInterop, which, waitForExit } from './netns.js';
import { STACK_ADDR, cliBuilt } from './stack-process.js';

const can = canRunInterop();
const ready = can.ok && cliBuilt() && which('curl') !== null;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/ not built (run npm run build)' : 'curl not installed';
if (!ready) console.warn(`\n*** interop HTTP app test SKIPPED: ${why} ***\n`);

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The js block of the user guide's "HTTP server" section that calls createHttpServer. */
function readmeExample(): string {
  const guide = readFileSync(join(ROOT, 'docs/user-guide.md'), 'utf8');
  const section = guide.slice(guide.indexOf('## HTTP server'));
  const m = /```js\n([\s\S]*?createHttpServer\(stack[\s\S]*?)```/.exec(section);
  if (!m) throw new Error('docs/user-guide.md: no js example with createHttpServer(stack in the HTTP server section');
  return m[1]!.replaceAll("'tunstack/dist/", `'${join(ROOT, 'dist')}/`);
}

describe.skipIf(!ready)(`user guide example: own handler on the stack${ready ? '' : ` (skipped: ${why})`}`, () => {
  let ns: NetNs;
  let dir: string;
  let child: ChildProcess;

  beforeAll(async () => {
    ns = NetNs.create('httpapp');
    dir = mkdtempSync(join(tmpdir(), 'tunstack-app-'));
    const f = join(dir, 'app.mjs');
    writeFileSync(f, readmeExample());
    child = ns.spawnNode(f);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    for (let i = 0; i < 40; i++) {
      if (child.exitCode !== null) throw new Error(`example exited: ${err}`);
      if (ns.exec(['ping', '-c', '1', '-W', '1', STACK_ADDR], { timeoutMs: 3000 }).status === 0) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`example never answered ping: ${err}`);
  }, 30_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await waitForExit(child, 5000);
    }
    ns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const curl = (...args: string[]): string => ns.exec(['curl', '-s', '-m', '10', ...args], { timeoutMs: 15_000 }).stdout;

  it('answers GET with the client address, POST JSON with the sum', () => {
    expect(curl(`http://${STACK_ADDR}:8080/`)).toBe('hello ::ffff:10.77.0.1 from tunstack\n');
    expect(curl('-H', 'Content-Type: application/json', '--data', '[1,2,3,39]', `http://${STACK_ADDR}:8080/api/sum`)).toBe('{"sum":45}');
  });

  it('a body over the limit is 413, bad JSON 500, and the app keeps serving', () => {
    const big = `[${'1,'.repeat(600_000)}1]`;
    const f = join(dir, 'big.json');
    writeFileSync(f, big);
    expect(curl('-o', '/dev/null', '-w', '%{http_code}', '--data-binary', `@${f}`, `http://${STACK_ADDR}:8080/api/sum`)).toBe('413');
    expect(curl('-o', '/dev/null', '-w', '%{http_code}', '--data', 'not json', `http://${STACK_ADDR}:8080/api/sum`)).toBe('500');
    expect(curl(`http://${STACK_ADDR}:8080/`)).toBe('hello ::ffff:10.77.0.1 from tunstack\n');
    expect(child.exitCode).toBeNull();
  });
});

describe.skipIf(!ready)(`tunstack up --http PORT / --http off${ready ? '' : ` (skipped: ${why})`}`, () => {
  it('--http 8080 with --services none serves on 8080 only; --http off serves nothing', async () => {
    const { startStack } = await import('./stack-process.js');
    const ns = NetNs.create('httpflag');
    try {
      const code = (port: number): string =>
        ns.exec(['curl', '-s', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', `http://${STACK_ADDR}:${port}/`], { timeoutMs: 8000 }).stdout;
      const s1 = await startStack(ns, ['--http', '8080', '--services', 'none', '--control', 'off']);
      expect(code(8080)).toBe('200');
      expect(code(80)).toBe('000'); // refused (RST)
      expect(await s1.stop()).toBe(0);
      const s2 = await startStack(ns, ['--http', 'off', '--control', 'off']);
      expect(code(80)).toBe('000');
      expect(await s2.stop()).toBe(0);
    } finally {
      ns.destroy();
    }
  }, 40_000);
});
