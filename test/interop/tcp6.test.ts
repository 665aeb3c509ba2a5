/**
 * TCP over IPv6 against the Linux kernel: the real CLI (`tunstack up`, the stack at fd77::2, the kernel side
 * fd77::1) on a TUN inside a network namespace this test creates. curl -6 GETs the HTTP server and POSTs
 * 8 MiB to /echo (sha256 equal), the TCP echo service answers python's AF_INET6 socket, the same `::`
 * listener still takes IPv4, and `tunstack ss` shows the IPv6 connection. Bounded: every command has a
 * timeout, processes are stopped by PID, the namespace is deleted on every path.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canRunInterop, NetNs, which } from './netns.js';
import { startStack, cliBuilt, CLI, STACK_ADDR, type StackProcess } from './stack-process.js';

const STACK6 = 'fd77::2';
const KERNEL6 = 'fd77::1';
const can = canRunInterop();
const tools = ['curl', 'python3', 'nc'].filter((t) => !which(t));
const skipReason = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js is not built (npm run build)' : tools.length ? `missing tools: ${tools.join(', ')}` : '';

describe.skipIf(skipReason !== '')(`TCP over IPv6 with the Linux kernel${skipReason ? ` — SKIPPED: ${skipReason}` : ''}`, () => {
  let ns: NetNs;
  let stack: StackProcess;
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tcp6-'));
    ns = NetNs.create('tcp6');
    stack = await startStack(ns, ['--services', 'all']);
    // The kernel's IPv6 address is usable once duplicate address detection is over (nodad or not: wait for it).
    for (let i = 0; i < 40; i++) {
      if (ns.exec(['ping', '-6', '-c1', '-W1', STACK6], { timeoutMs: 3000 }).status === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 40_000);

  afterAll(async () => {
    await stack?.stop();
    ns?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('curl -6 GET / is 200 and an 8 MiB POST to /echo comes back exactly', () => {
    const get = ns.exec(['curl', '-6', '-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://[${STACK6}]/`], { timeoutMs: 15_000 });
    expect(get.stdout).toBe('200');
    const body = randomBytes(8 << 20);
    const file = join(dir, 'up.bin');
    writeFileSync(file, body);
    const out = ns.exec(['sh', '-c', `curl -6 -s -m 60 --data-binary @${file} -H 'Content-Type: application/octet-stream' 'http://[${STACK6}]/echo' | sha256sum`], { timeoutMs: 70_000 });
    expect(out.stdout.split(' ')[0]).toBe(createHash('sha256').update(body).digest('hex'));
  }, 90_000);

  it('the TCP echo service answers an AF_INET6 socket (1 MiB, sha256 equal); IPv4 still reaches the same listener', () => {
    const py = `
import socket, os, hashlib
data = os.urandom(1 << 20); got = bytearray()
s = socket.create_connection(("${STACK6}", 7), timeout=20)
s.sendall(data); s.shutdown(socket.SHUT_WR)
while True:
    b = s.recv(1 << 16)
    if not b: break
    got.extend(b)
print(s.family == socket.AF_INET6, hashlib.sha256(data).hexdigest() == hashlib.sha256(got).hexdigest(), len(got))
`;
    const r = ns.exec(['python3', '-c', py], { timeoutMs: 40_000 });
    expect(r.stdout.trim()).toBe(`True True ${1 << 20}`);
    const v4 = ns.exec(['curl', '-4', '-s', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://${STACK_ADDR}/`], { timeoutMs: 15_000 });
    expect(v4.stdout).toBe('200');
  }, 60_000);

  it('tunstack ss shows the IPv6 connection in brackets and the dual-stack listeners as *:port', async () => {
    const held = ns.spawn(['nc', '-6', STACK6, '9'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      let rows: { state: string; local: string; peer: string }[] = [];
      for (let i = 0; i < 40; i++) {
        const r = ns.exec([process.execPath, CLI, 'ss', '--json'], { timeoutMs: 10_000 });
        rows = (JSON.parse(r.stdout) as { tcp: { state: string; local: string; peer: string }[] }).tcp;
        if (rows.some((x) => x.local === `[${STACK6}]:9`)) break;
        await new Promise((res) => setTimeout(res, 250));
      }
      const conn = rows.find((x) => x.local === `[${STACK6}]:9`);
      expect(conn?.peer).toMatch(new RegExp(`^\\[${KERNEL6}\\]:\\d+$`));
      expect(rows.some((x) => x.state === 'LISTEN' && x.local === '*:80')).toBe(true);
    } finally {
      held.kill('SIGKILL');
    }
  }, 30_000);
});
