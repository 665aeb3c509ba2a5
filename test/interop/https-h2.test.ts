/**
 * HTTPS and HTTP/2 end to end: `tunstack up` (default services: `http` on 80, `https` on 443 with a
 * self-signed certificate made at start) on a TUN in a namespace of the test's own, driven by curl from the
 * kernel side: TLS 1.3 and 1.2, h2 by ALPN, h2c with prior knowledge, a 20 MiB upload echoed over TLS, and
 * openssl's client seeing the certificate and resuming a session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetNs, canRunInterop, which, waitForExit } from './netns.js';
import { STACK_ADDR, cliBuilt, startStack, type StackProcess } from './stack-process.js';

const can = canRunInterop();
const missing = ['curl', 'openssl'].filter((t) => which(t) === null);
const ready = can.ok && cliBuilt() && missing.length === 0;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npm run build)' : `tools missing: ${missing.join(', ')}`;
if (!ready) console.warn(`\n*** interop HTTPS tests SKIPPED: ${why} ***\n`);

const S = `https://${STACK_ADDR}`;
const WS_MODULE = fileURLToPath(new URL('../../node_modules/ws/wrapper.mjs', import.meta.url));

describe.skipIf(!ready)(`HTTPS and HTTP/2 on the stack, curl and openssl${ready ? '' : ` (skipped: ${why})`}`, () => {
  let ns: NetNs;
  let stack: StackProcess;
  let dir: string;
  const curl = (args: string[], timeoutMs = 15_000) => ns.exec(['curl', '-s', '-m', String(Math.ceil(timeoutMs / 1000) - 2), ...args], { timeoutMs });

  beforeAll(async () => {
    ns = NetNs.create('https');
    dir = mkdtempSync(join(tmpdir(), 'tunstack-https-'));
    stack = await startStack(ns, []);
    await stack.waitForOutput(/https server listening/, 10_000);
  }, 40_000);

  afterAll(async () => {
    await stack?.stop();
    ns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('TLS 1.3 and TLS 1.2 (HTTP/1.1), h2 by ALPN, h2c with prior knowledge on port 80', () => {
    const w = ['-o', '/dev/null', '-w', '%{http_code} %{http_version}'];
    expect(curl(['-k', '--tlsv1.3', '--http1.1', ...w, `${S}/`]).stdout).toBe('200 1.1');
    expect(curl(['-k', '--tlsv1.2', '--tls-max', '1.2', '--http1.1', ...w, `${S}/`]).stdout).toBe('200 1.1');
    expect(curl(['-k', '--http2', ...w, `${S}/`]).stdout).toBe('200 2');
    expect(curl(['--http2-prior-knowledge', ...w, `http://${STACK_ADDR}/`]).stdout).toBe('200 2');
    expect(curl([...w, `http://${STACK_ADDR}/`]).stdout).toBe('200 1.1');
    // Without -k curl refuses the self-signed certificate: TLS really ran.
    expect(curl(['-o', '/dev/null', `${S}/`]).status).toBe(60);
  });

  it('a 20 MiB upload comes back exact over h2 and over TLS 1.2; /bytes streams the pattern', () => {
    const body = randomBytes(20 << 20);
    const file = join(dir, 'up.bin');
    writeFileSync(file, body);
    const want = createHash('sha256').update(body).digest('hex');
    for (const v of [['--http2'], ['--http1.1', '--tls-max', '1.2']]) {
      const r = ns.exec(['sh', '-c', `curl -sk -m 60 ${v.join(' ')} --data-binary @${file} -H 'Content-Type: application/octet-stream' ${S}/echo | sha256sum`], { timeoutMs: 70_000 });
      expect(r.stdout.split(' ')[0]).toBe(want);
    }
    const d = curl(['-k', '--http2', '-o', '/dev/null', '-w', '%{size_download}', `${S}/bytes?n=5000000`], 30_000);
    expect(d.stdout).toBe('5000000');
  }, 120_000);

  it('openssl s_client: the certificate names the stack; a TLS 1.2 session is resumed', () => {
    const sess = join(dir, 'sess.pem');
    const first = ns.exec(['sh', '-c', `echo | openssl s_client -connect ${STACK_ADDR}:443 -tls1_2 -sess_out ${sess} 2>&1`], { timeoutMs: 15_000 });
    expect(first.stdout).toMatch(/subject=CN\s*=\s*tunstack\.test/);
    expect(first.stdout).toMatch(/New, TLSv1\.2/);
    const again = ns.exec(['sh', '-c', `echo | openssl s_client -connect ${STACK_ADDR}:443 -tls1_2 -sess_in ${sess} 2>&1`], { timeoutMs: 15_000 });
    expect(again.stdout).toMatch(/Reused, TLSv1\.2/);
  });

  it('wss:// WebSocket echo from the ws package on the kernel side', async () => {
    const script = `
import { WebSocket } from ${JSON.stringify(WS_MODULE)};
const ws = new WebSocket('wss://${STACK_ADDR}/ws', { rejectUnauthorized: false });
const got = [];
ws.on('open', () => { ws.send('hello'); ws.send(Buffer.alloc(1 << 20, 5)); });
ws.on('message', (d, bin) => { got.push(bin ? d.length : d.toString()); if (got.length === 2) ws.close(1000); });
ws.on('close', (code) => { console.log(JSON.stringify({ code, got })); process.exit(0); });
ws.on('error', (e) => { console.log(JSON.stringify({ error: e.message })); process.exit(1); });
setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(1); }, 20000);
`;
    const f = join(dir, 'wss-client.mjs');
    writeFileSync(f, script);
    const child = ns.spawnNode(f);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    const r = await waitForExit(child, 25_000);
    expect(out.trim()).toBe(JSON.stringify({ code: 1000, got: ['hello', 1 << 20] }));
    expect(r.code).toBe(0);
  }, 30_000);

  it('garbage instead of a ClientHello is counted; the server keeps serving', () => {
    ns.exec(['sh', '-c', `printf 'GET / HTTP/1.1\\r\\n\\r\\n' | timeout 5 nc -q 2 ${STACK_ADDR} 443 >/dev/null 2>&1; true`], { timeoutMs: 10_000 });
    const stats = JSON.parse(curl(['-k', `${S}/_stack/stats`]).stdout) as { Http: { ClientErrors: Record<string, number> } };
    expect(Object.values(stats.Http.ClientErrors).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(curl(['-k', '-o', '/dev/null', '-w', '%{http_code}', `${S}/`]).stdout).toBe('200');
  });
});
