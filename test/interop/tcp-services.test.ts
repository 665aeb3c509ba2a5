/**
 * TCP against the Linux kernel: the real CLI (`tunstack up`) on a TUN inside
 * a network namespace this test creates; python3 sockets and nc from the
 * kernel side. Echo round trip with sha256, discard, chargen, RST for a
 * closed port, and `tunstack connect` into a kernel `nc -l`. Bounded: every
 * command has a timeout, processes are stopped by PID, the namespace is
 * deleted on every path.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { canRunInterop, NetNs, which, waitForExit } from './netns.js';
import { startStack, cliBuilt, CLI, STACK_ADDR, type StackProcess } from './stack-process.js';

const can = canRunInterop();
const tools = ['python3', 'nc'].filter((t) => !which(t));
const skipReason = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js is not built (npx tsc -p tsconfig.build.json)' : tools.length ? `missing tools: ${tools.join(', ')}` : '';

describe.skipIf(skipReason !== '')(`TCP interop with the Linux kernel${skipReason ? ` — SKIPPED: ${skipReason}` : ''}`, () => {
  let ns: NetNs;
  let stack: StackProcess;

  beforeAll(async () => {
    ns = NetNs.create('tcp');
    stack = await startStack(ns, ['--services', 'all']);
  }, 30_000);

  afterAll(async () => {
    await stack?.stop();
    ns?.destroy();
  });

  const py = (code: string, args: string[] = [], timeoutMs = 40_000) => {
    const r = ns.exec(['python3', '-c', code, ...args], { timeoutMs });
    if (r.status !== 0) throw new Error(`python failed (${r.status}${r.timedOut ? ', timed out' : ''}): ${r.stderr}`);
    return r.stdout.trim();
  };

  it('echo: 4 MiB round trip, sha256 equal', () => {
    const out = py(
      `
import socket, os, sys, hashlib, threading
n = 4 << 20
data = os.urandom(n); got = bytearray()
s = socket.create_connection(("${STACK_ADDR}", 7), timeout=20)
def rd():
    while len(got) < n:
        b = s.recv(1 << 16)
        if not b: break
        got.extend(b)
t = threading.Thread(target=rd); t.start(); s.sendall(data); t.join(30)
s.close()
print(hashlib.sha256(data).hexdigest(), hashlib.sha256(got).hexdigest(), len(got))
`,
    );
    const [a, b, n] = out.split(' ');
    expect(Number(n)).toBe(4 << 20);
    expect(b).toBe(a);
  }, 60_000);

  it('discard takes 20 MiB and closes cleanly; chargen sends RFC 864 lines', () => {
    const out = py(
      `
import socket
n = 20 << 20; buf = b"x" * 65536
s = socket.create_connection(("${STACK_ADDR}", 9), timeout=20); sent = 0
while sent < n: s.sendall(buf); sent += len(buf)
s.shutdown(socket.SHUT_WR)
eof = s.recv(1) == b""
s = socket.create_connection(("${STACK_ADDR}", 19), timeout=20); got = bytearray()
while len(got) < (4 << 20):
    b = s.recv(65536)
    if not b: break
    got.extend(b)
s.close()
line0 = bytes(got[:74]); line1 = bytes(got[74:148])
ok = line0 == bytes(range(32, 104)) + b"\\r\\n" and line1 == bytes(range(33, 105)) + b"\\r\\n"
print(sent, eof, len(got) >= (4 << 20), ok)
`,
    );
    expect(out).toBe(`${20 << 20} True True True`);
  }, 60_000);

  it('a closed port answers RST (connection refused), nc -z too', () => {
    const out = py(
      `
import socket
try:
    socket.create_connection(("${STACK_ADDR}", 4998), timeout=3); print("accepted")
except ConnectionRefusedError: print("RST")
except Exception as e: print(type(e).__name__)
`,
    );
    expect(out).toBe('RST');
    const r = ns.exec(['nc', '-z', '-w', '2', STACK_ADDR, '4997'], { timeoutMs: 5000 });
    expect(r.status).not.toBe(0);
  }, 20_000);

  it('tunstack connect HOST:PORT delivers stdin to a kernel nc -l and exits 0', async () => {
    const listener = ns.spawn(['nc', '-l', '5555'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let received = '';
    listener.stdout?.on('data', (d: Buffer) => (received += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    const payload = 'line one\nline two from the userspace stack\n'.repeat(500);
    const r = ns.exec([process.execPath, CLI, 'connect', '10.78.0.1:5555', '--tun', 'tun1', '--addr', '10.78.0.2/24', '--peer', '10.78.0.1'], { input: payload, timeoutMs: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    const done = await waitForExit(listener, 10_000);
    expect(done.timedOut).toBe(false);
    expect(received).toBe(payload);
  }, 40_000);

  it('the stack answers a SYN flood burst with cookies and still serves', () => {
    if (!which('hping3')) return;
    ns.exec(['hping3', '-q', '-S', '-p', '7', '-i', 'u100', '-c', '3000', STACK_ADDR], { timeoutMs: 15_000 });
    const out = py(
      `
import socket
ok = 0
for i in range(20):
    s = socket.create_connection(("${STACK_ADDR}", 7), timeout=5); s.sendall(b"hi"); ok += s.recv(2) == b"hi"; s.close()
print(ok)
`,
    );
    expect(out).toBe('20');
  }, 40_000);
});
