#!/usr/bin/env node
// `npm run bench`: figures, not pass/fail. Each figure for tunstack is shown
// beside the same measurement against the Linux kernel in the same run:
//   tunstack: the stack on tun0 in namespace A (10.77.0.2), driven from A's kernel side;
//   kernel:   a veth pair from namespace A to namespace B (10.78.0.2), the kernel answering.
// HTTP: the bundled server on the stack (port 80) beside Node's own http
// server on the kernel's TCP in namespace B, serving the same routes with the
// same code (GET / the same bytes, /bytes via streamBytes, POST /echo piped):
// wrk keep-alive req/s and p50/p99 (50 connections), wrk with Connection:
// close (a new connection per request), /bytes and /echo throughput by curl.
// Every load runs for a fixed, short time (BENCH_SECS, default 5 s).
// Traffic stays inside the two namespaces this script creates; every load is
// bounded in count and time; everything is torn down on every exit path.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const A = `tsbenchA${process.pid}`;
const B = `tsbenchB${process.pid}`;
let stack = null;
let kernelHttp = null;
const tmp = mkdtempSync(join(tmpdir(), 'tunstack-bench-'));
const SECS = Math.max(1, Math.min(30, Number(process.env.BENCH_SECS ?? 5) || 5));

function sh(cmd, timeout = 120_000) {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}
function cleanup() {
  if (stack && stack.exitCode === null) stack.kill('SIGTERM');
  if (kernelHttp && kernelHttp.exitCode === null) kernelHttp.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
  sh(['ip', 'netns', 'del', A]);
  sh(['ip', 'netns', 'del', B]);
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

if (process.getuid?.() !== 0) {
  console.error('bench: must run as root (network namespaces, TUN)');
  process.exit(1);
}

/** Flood ping: count packets, returns packets/s (from ping's own elapsed time) and avg RTT. */
function flood(ns, addr, size, count) {
  const r = sh(['ip', 'netns', 'exec', ns, 'ping', '-q', '-f', '-c', String(count), '-w', '30', '-s', String(size), addr]);
  const m = /(\d+) packets transmitted, (\d+) received.*time (\d+)ms/s.exec(r.out);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.out);
  if (!m) return { error: r.out.trim().split('\n').pop() };
  const received = Number(m[2]);
  const ms = Math.max(1, Number(m[3]));
  return { sent: Number(m[1]), received, pps: Math.round((received / ms) * 1000), avgRttMs: rtt ? Number(rtt[1]) : null };
}

sh(['ip', 'netns', 'add', A]);
sh(['ip', 'netns', 'add', B]);
for (const ns of [A, B]) sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
sh(['ip', 'link', 'add', `vb${process.pid}`, 'netns', A, 'type', 'veth', 'peer', 'name', 'vb1', 'netns', B]);
sh(['ip', '-n', A, 'addr', 'add', '10.78.0.1/24', 'dev', `vb${process.pid}`]);
sh(['ip', '-n', A, 'link', 'set', `vb${process.pid}`, 'up']);
sh(['ip', '-n', B, 'addr', 'add', '10.78.0.2/24', 'dev', 'vb1']);
sh(['ip', '-n', B, 'link', 'set', 'vb1', 'up']);

stack = spawn('ip', ['netns', 'exec', A, process.execPath, cli, 'up', '--tun', 'tun0', '--addr', '10.77.0.2/24', '--peer', '10.77.0.1', '--log-level', 'warn'], { stdio: 'inherit' });
let up = false;
for (let i = 0; i < 40 && !up; i++) {
  up = sh(['ip', 'netns', 'exec', A, 'ping', '-c', '1', '-W', '1', '10.77.0.2'], 5000).status === 0;
  if (!up) await new Promise((r) => setTimeout(r, 250));
}
if (!up) {
  console.error('bench: the stack never answered');
  process.exit(1);
}
// warm up both paths
flood(A, '10.77.0.2', 56, 2000);
flood(A, '10.78.0.2', 56, 2000);

const rows = [];
for (const [name, size, count] of [
  ['icmp echo flood, 56 B', 56, 50_000],
  ['icmp echo flood, 1400 B', 1400, 20_000],
]) {
  rows.push({ name, tunstack: flood(A, '10.77.0.2', size, count), kernel: flood(A, '10.78.0.2', size, count) });
}

// ---------------------------------------------------------------- HTTP
let observatory = null;
/**
 * The observatory's cost: tunstack keep-alive req/s without and with one SSE subscriber (curl -N on
 * /_stack/events, reading everything), in alternating rounds so drift hits both; medians.
 */
function subscriberOverhead(wrk) {
  const rounds = Math.max(2, Math.min(6, Number(process.env.BENCH_OBS_ROUNDS ?? 3) || 3));
  const pairs = [];
  let events = 0;
  for (let i = 0; i < rounds; i++) {
    const off = wrk('http://10.77.0.2/');
    const sse = join(tmp, `sse-${i}.txt`);
    const sub = spawnSync('sh', ['-c', `ip netns exec ${A} timeout ${SECS + 4} curl -s -N -o ${sse} http://10.77.0.2/_stack/events & echo $!`], { encoding: 'utf8' });
    const pid = Number(sub.stdout.trim());
    sh(['sleep', '0.5']);
    const on = wrk('http://10.77.0.2/');
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    sh(['sleep', '0.3']);
    events += Number(sh(['sh', '-c', `grep -c '^data:' ${sse} || true`]).out.trim() || 0);
    if (off.rps && on.rps) pairs.push([off.rps, on.rps]);
  }
  if (pairs.length === 0) return null;
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : Math.round((s[s.length / 2 - 1] + s[s.length / 2]) / 2);
  };
  const without = med(pairs.map((p) => p[0]));
  const withSub = med(pairs.map((p) => p[1]));
  return { rounds: pairs.length, without, with: withSub, costPct: Math.round(((without - withSub) / without) * 1000) / 10, events, pairs };
}
const have = (t) => sh(['sh', '-c', `command -v ${t}`]).status === 0;
const httpRows = [];
if (!have('curl')) console.error('bench: curl missing: HTTP figures skipped');
else {
  // Node's http on the kernel in namespace B, same routes, same code; GET / serves the stack's page bytes.
  const page = join(tmp, 'page.html');
  const got = sh(['ip', 'netns', 'exec', A, 'curl', '-s', '-m', '5', '-o', page, 'http://10.77.0.2/']);
  if (got.status !== 0) console.error('bench: GET / on the stack failed');
  const routes = fileURLToPath(new URL('../dist/http/routes.js', import.meta.url));
  const server = join(tmp, 'kernel-http.mjs');
  writeFileSync(
    server,
    `import http from 'node:http';
import { readFileSync } from 'node:fs';
import { streamBytes, parseBytesCount } from ${JSON.stringify(routes)};
const page = readFileSync(${JSON.stringify(page)});
http.createServer((req, res) => {
  const [path, q] = (req.url ?? '/').split('?');
  if (path === '/') { res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': page.length }); res.end(page); return; }
  if (path === '/bytes') { const n = parseBytesCount(new URLSearchParams(q ?? '').get('n')); if (n instanceof Error) { res.writeHead(400); res.end(); return; }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': n }); if (n === 0) res.end(); else streamBytes(res, n); return; }
  if (path === '/echo') { const len = req.headers['content-length']; res.writeHead(200, { 'Content-Type': 'application/octet-stream', ...(len ? { 'Content-Length': len } : {}) }); req.pipe(res); return; }
  res.writeHead(404); res.end();
}).listen(80, '10.78.0.2', () => console.log('ready'));
`,
  );
  kernelHttp = spawn('ip', ['netns', 'exec', B, process.execPath, server], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => {
    const t = setTimeout(resolve, 5000);
    kernelHttp.stdout.on('data', () => {
      clearTimeout(t);
      resolve();
    });
  });

  const ms = (v, unit) => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
  const wrk = (url, extra = []) => {
    const r = sh(['ip', 'netns', 'exec', A, 'wrk', '-t1', '-c50', `-d${SECS}s`, '--latency', ...extra, url], (SECS + 20) * 1000);
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.out);
    if (!rps) return { error: r.out.trim().split('\n').pop() };
    const p = (q) => {
      const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(r.out);
      return m ? Math.round(ms(m[1], m[2]) * 1000) / 1000 : null;
    };
    const errs = /Socket errors: (.*)/.exec(r.out)?.[1] ?? null;
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.out)?.[1] ?? 0);
    return { rps: Math.round(Number(rps[1])), p50Ms: p(50), p99Ms: p(99), socketErrors: errs, non2xx };
  };
  const curlRate = (args, field) => {
    const r = sh(['ip', 'netns', 'exec', A, 'curl', '-s', '-o', '/dev/null', '-m', String(SECS), '-w', `%{${field}} %{time_total} %{http_code}`, ...args], (SECS + 20) * 1000);
    const m = /^(\d+) ([\d.]+) (\d+)$/.exec(r.out.trim());
    if (!m) return { error: r.out.trim() || `curl exit ${r.status}` };
    const bytes = Number(m[1]);
    const secs = Number(m[2]);
    return { bytes, secs, mbitPerSec: Math.round((bytes * 8) / secs / 1e6), status: Number(m[3]) };
  };
  const body = join(tmp, 'echo.bin');
  writeFileSync(body, Buffer.alloc(256 * 1024 * 1024, 0x5a));
  const targets = { tunstack: 'http://10.77.0.2', kernel: 'http://10.78.0.2' };
  const each = (f) => ({ tunstack: f(targets.tunstack), kernel: f(targets.kernel) });
  if (have('wrk')) {
    each((u) => wrk(`${u}/`, ['-d1s'])); // warm-up (JIT, ARP, caches)
    httpRows.push({ name: 'GET / keep-alive (wrk -c50)', unit: 'req/s', ...each((u) => wrk(`${u}/`)) });
    httpRows.push({ name: 'GET / new connection each (Connection: close)', unit: 'req/s', ...each((u) => wrk(`${u}/`, ['-H', 'Connection: close'])) });
    observatory = subscriberOverhead(wrk);
  } else console.error('bench: wrk missing: request-rate figures skipped');
  // Fixed duration: ask for far more than fits (2^40 bytes / a 256 MiB body) and stop after SECS.
  httpRows.push({ name: `GET /bytes (${SECS} s of a 2^40-byte stream)`, unit: 'Mbit/s', ...each((u) => curlRate([`${u}/bytes?n=${2 ** 40}`], 'size_download')) });
  httpRows.push({ name: 'POST /echo (256 MiB body, up + down)', unit: 'Mbit/s', ...each((u) => curlRate(['--data-binary', `@${body}`, '-H', 'Content-Type: application/octet-stream', `${u}/echo`], 'size_download')) });
}

const table = [['benchmark', 'tunstack pkt/s', 'kernel pkt/s', 'ratio', 'tunstack rtt ms', 'kernel rtt ms']];
for (const r of rows) {
  const t = r.tunstack, k = r.kernel;
  table.push([r.name, String(t.pps ?? t.error), String(k.pps ?? k.error), t.pps && k.pps ? (t.pps / k.pps).toFixed(2) : '-', String(t.avgRttMs ?? '-'), String(k.avgRttMs ?? '-')]);
}
const print = (t) => {
  const widths = t[0].map((_, i) => Math.max(...t.map((row) => row[i].length)));
  for (const row of t) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
};
print(table);
if (httpRows.length > 0) {
  const fig = (x) => (x.error ? `error: ${x.error}` : String(x.rps ?? x.mbitPerSec));
  const lat = (x) => (x.p50Ms != null ? `${x.p50Ms} / ${x.p99Ms}` : '-');
  const errs = (x) => (x.error ? '-' : `${x.socketErrors ?? 'none'}${x.non2xx ? `, non-2xx ${x.non2xx}` : ''}`);
  const ht = [['HTTP (node:http on both)', 'unit', 'tunstack', 'kernel', 'ratio', 'tunstack p50/p99 ms', 'kernel p50/p99 ms', 'tunstack errors']];
  for (const r of httpRows) {
    const t = r.tunstack, k = r.kernel;
    const a = t.rps ?? t.mbitPerSec, b = k.rps ?? k.mbitPerSec;
    ht.push([r.name, r.unit, fig(t), fig(k), a && b ? (a / b).toFixed(2) : '-', lat(t), lat(k), r.unit === 'req/s' ? errs(t) : '-']);
  }
  console.log('');
  print(ht);
}
if (observatory) {
  const o = observatory;
  console.log('');
  console.log(`observatory: GET / keep-alive req/s, tunstack, without / with an SSE subscriber on /_stack/events (${o.rounds} alternating rounds of ${SECS} s, medians)`);
  console.log(`  without ${o.without}   with ${o.with}   cost ${o.costPct}%   (${o.events} events received by the subscriber; rounds: ${o.pairs.map((p) => `${p[0]}/${p[1]}`).join(' ')})`);
}
const json = { when: new Date().toISOString(), node: process.version, seconds: SECS, results: rows, http: httpRows, observatory };
writeFileSync('bench-results.json', JSON.stringify(json, null, 2) + '\n');
console.log('\n(json: bench-results.json)');
process.exit(0);
