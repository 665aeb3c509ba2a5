#!/usr/bin/env node
// `npm run bench`: figures, not pass/fail. Each figure for tunstack is shown
// beside the same measurement against the Linux kernel in the same run:
//   tunstack: the stack on tun0 in namespace A (10.77.0.2), driven from A's kernel side;
//   kernel:   a veth pair from namespace A to namespace B (10.78.0.2), the kernel answering.
// HTTP: the bundled server on the stack (port 80) beside Node's own http
// server on the kernel's TCP in namespace B, serving the same routes with the
// same code (GET / the same bytes, /bytes via streamBytes, POST /echo piped):
// wrk keep-alive req/s and p50/p99 (50 connections), wrk with Connection:
// close (a new connection per request), /bytes and /echo throughput by curl,
// a 20 MB download with 1% random loss each way (iptables `statistic`, as the
// peers' harness does: this kernel has no netem) checked by sha256.
// ICMP: ping RTT p50/p99 (1000 x 1 ms) and flood rates (56 B and 1400 B).
// Dimensions: TUN offloads on and off (`--offload`, BENCH_OFFLOAD=on,off), and
// stack shards (`--workers`, BENCH_WORKERS=1,2: more than one with offloads on). Peak RSS
// (VmHWM) of each stack process. Results: bench-results.json, and
// bench-results.svg, a chart of every figure as a ratio to the kernel's.
// Spurious retransmissions on a lossless link: segments the client's kernel reported as
// duplicates with a D-SACK (TcpExt TCPDSACKOldSent + TCPDSACKOfoSent in namespace A), per
// 10,000 segments the server sent (its Tcp OutSegs: wire segments, as Linux counts a TSO
// skb), under wrk (64 KiB responses, 50 connections), a 200 MB
// download and four slow readers (curl --limit-rate 3M) — the server being tunstack, or
// Linux itself over the veth.
// HTTPS (BENCH_ONLY group https): wrk keep-alive req/s over TLS, wrk with Connection: close (a TLS
// handshake per request), h2load req/s over h2 (10 connections x 10 streams), and a 200 MB download
// over TLS — tunstack's `https` service beside Node's http2 secure server (allowHTTP1) on the kernel,
// the same self-signed EC P-256 certificate kind on both. Each load is preceded by a short one of its kind
// (1 s of wrk or h2load, a 20 MB download) on both sides, so that neither pays its JIT inside the figure.
// Recovery (group recovery, scripts/bench-recovery.mjs): 20 MB downloads with 1% loss each way, with 25%
// reordering over a 5 ms delay (tunstack's --impair stage; for the kernel the same stage as a userspace
// wire between two TUNs), and with 2% CE marks (client tcp_ecn=1): MB/s and the server's retransmitted segments.
// IPv6 (group ipv6): tunstack over IPv6 beside IPv4 in the same run, on the same stack — wrk keep-alive
// req/s to http://[fd77::2]/ and http://10.77.0.2/, and a 200 MB download (curl -6 / -4 /bytes), in
// alternating rounds (BENCH_V6_ROUNDS, default 3: v4, v6, v4, v6 …), medians with the spread, and the stack's
// CPU time (utime+stime of its process from /proc) per request and per MB, the figure that compares best on
// a shared machine.
// Every load runs for a fixed, short time (BENCH_SECS, default 5 s). BENCH_ONLY=spurious (or any
// comma list of icmp,http,loss,spurious,https,recovery,ipv6) measures only those groups.
// Traffic stays inside the two namespaces this script creates; every load is
// bounded in count and time; everything is torn down on every exit path.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DELAY_SPEC, kernelDelayedFigures, kernelReorderFigure, lossAndCeFigures, recoveryLine, REORDER_SPEC, stackReorderFigure } from './bench-recovery.mjs';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const A = `tsbenchA${process.pid}`;
const B = `tsbenchB${process.pid}`;
const VETH = `vb${process.pid}`;
let stack = null;
let kernelHttp = null;
const tmp = mkdtempSync(join(tmpdir(), 'tunstack-bench-'));
const SECS = Math.max(1, Math.min(30, Number(process.env.BENCH_SECS ?? 5) || 5));
const OFFLOADS = (process.env.BENCH_OFFLOAD ?? 'on,off').split(',').filter((m) => m === 'on' || m === 'off');
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 1 && n <= 64);
/** The tunstack configurations measured: each offload mode with one stack, then offloads on with N shards. */
const CONFIGS = [
  ...(WORKERS.includes(1) ? OFFLOADS.map((o) => ({ key: `offload ${o}`, offload: o, workers: 1 })) : []),
  ...WORKERS.filter((w) => w > 1).map((w) => ({ key: `on, ${w} workers`, offload: 'on', workers: w })),
];
const MODES = CONFIGS.map((c) => c.key);
const LOSS_BYTES = 20_000_000;
const GROUPS = new Set((process.env.BENCH_ONLY ?? 'icmp,http,loss,spurious,https,recovery,ipv6').split(','));
const V6_ROUNDS = Math.max(1, Math.min(9, Number(process.env.BENCH_V6_ROUNDS ?? 3) || 3));
const V6_DOWNLOAD = 200_000_000;

function sh(cmd, timeout = 120_000) {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}
function cleanup() {
  if (stack && stack.exitCode === null) stack.kill('SIGTERM');
  if (kernelHttp && kernelHttp.exitCode === null) kernelHttp.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
  sh(['ip', 'netns', 'exec', A, 'iptables', '-F']);
  sh(['ip', 'netns', 'del', A]);
  sh(['ip', 'netns', 'del', B]);
  if (allowedCcBefore !== null) sh(['sysctl', '-qw', `net.ipv4.tcp_allowed_congestion_control=${allowedCcBefore}`]);
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

if (process.getuid?.() !== 0) {
  console.error('bench: must run as root (network namespaces, TUN)');
  process.exit(1);
}
const have = (t) => sh(['sh', '-c', `command -v ${t}`]).status === 0;
const inA = (args, timeout) => sh(['ip', 'netns', 'exec', A, ...args], timeout);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Flood ping: count packets, returns packets/s (from ping's own elapsed time) and avg RTT. */
function flood(addr, size, count) {
  const r = inA(['ping', '-q', '-f', '-c', String(count), '-w', '30', '-s', String(size), addr]);
  const m = /(\d+) packets transmitted, (\d+) received.*time (\d+)ms/s.exec(r.out);
  const rtt = /= [\d.]+\/([\d.]+)\//.exec(r.out);
  if (!m) return { error: r.out.trim().split('\n').pop() };
  const received = Number(m[2]);
  const ms = Math.max(1, Number(m[3]));
  return { sent: Number(m[1]), received, pps: Math.round((received / ms) * 1000), avgRttMs: rtt ? Number(rtt[1]) : null };
}

/** 1000 pings 1 ms apart: RTT p50/p99 and loss. */
function pingRtt(addr) {
  const r = inA(['ping', '-n', '-c', '1000', '-i', '0.001', '-W', '1', addr], 60_000);
  const t = [...r.out.matchAll(/time=([\d.]+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
  if (t.length === 0) return { error: r.out.trim().split('\n').pop() };
  const q = (p) => t[Math.min(t.length - 1, Math.ceil((p / 100) * t.length) - 1)];
  return { p50Ms: q(50), p99Ms: q(99), received: t.length };
}

const ms = (v, unit) => Number(v) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
function wrk(url, extra = []) {
  const r = inA(['wrk', '-t1', '-c50', `-d${SECS}s`, '--latency', ...extra, url], (SECS + 20) * 1000);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(r.out);
  if (!rps) return { error: r.out.trim().split('\n').pop() };
  const p = (q) => {
    const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(r.out);
    return m ? Math.round(ms(m[1], m[2]) * 1000) / 1000 : null;
  };
  const errs = /Socket errors: (.*)/.exec(r.out)?.[1] ?? null;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.out)?.[1] ?? 0);
  return { rps: Math.round(Number(rps[1])), p50Ms: p(50), p99Ms: p(99), socketErrors: errs, non2xx };
}
function curlRate(args, field) {
  const r = inA(['curl', '-s', '-o', '/dev/null', '-m', String(SECS), '-w', `%{${field}} %{time_total} %{http_code}`, ...args], (SECS + 20) * 1000);
  const m = /^(\d+) ([\d.]+) (\d+)$/.exec(r.out.trim());
  if (!m) return { error: r.out.trim() || `curl exit ${r.status}` };
  const bytes = Number(m[1]);
  const secs = Number(m[2]);
  return { bytes, secs, mbitPerSec: Math.round((bytes * 8) / secs / 1e6), status: Number(m[3]) };
}

/** byte i = i mod 251 (the /bytes pattern): the sha256 of the first n bytes. */
function patternSha(n) {
  const chunk = Buffer.alloc(251 * 4096);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
  const h = createHash('sha256');
  for (let left = n; left > 0; left -= chunk.length) h.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  return h.digest('hex');
}
const lossWant = patternSha(LOSS_BYTES);

/** A 20 MB download with 1% of packets dropped at random each way on `iface` (A's side), sha256-checked. */
function lossDownload(base, iface) {
  const rule = (op) => [
    ['iptables', op, 'INPUT', '-i', iface, '-m', 'statistic', '--mode', 'random', '--probability', '0.01', '-j', 'DROP'],
    ['iptables', op, 'OUTPUT', '-o', iface, '-m', 'statistic', '--mode', 'random', '--probability', '0.01', '-j', 'DROP'],
  ];
  for (const c of rule('-A')) if (inA(c).status !== 0) return { error: 'iptables refused the statistic rule' };
  const out = join(tmp, 'loss.bin');
  const r = inA(['curl', '-s', '-m', '110', '-o', out, '-w', '%{size_download} %{time_total}', `${base}/bytes?n=${LOSS_BYTES}`], 120_000);
  for (const c of rule('-D')) inA(c);
  const m = /^(\d+) ([\d.]+)$/.exec(r.out.trim());
  if (!m) return { error: r.out.trim() || `curl exit ${r.status}` };
  let got = '';
  try {
    got = createHash('sha256').update(readFileSync(out)).digest('hex');
  } catch {
    /* no file */
  }
  rmSync(out, { force: true });
  return { MBps: Math.round((Number(m[1]) / Number(m[2]) / 1e6) * 100) / 100, shaOk: got === lossWant };
}

/** Named counters of a /proc/net/{snmp,netstat} pair of lines ("Tcp: A B" then "Tcp: 1 2"), per namespace. */
function netCounters(ns) {
  const r = sh(['ip', 'netns', 'exec', ns, 'cat', '/proc/net/snmp', '/proc/net/netstat']);
  const out = {};
  const lines = r.out.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const [k, ...names] = lines[i].trim().split(/\s+/);
    const [k2, ...vals] = lines[i + 1].trim().split(/\s+/);
    if (!k?.endsWith(':') || k !== k2 || names.length !== vals.length || !/^-?\d+$/.test(vals[0] ?? '')) continue;
    names.forEach((n, j) => (out[`${k.slice(0, -1)}.${n}`] = Number(vals[j])));
    i++;
  }
  return out;
}

/** The server's own TCP counters: the kernel's in namespace B, or tunstack's through GET /_stack/stats. */
function serverTcp(addr) {
  if (addr !== '10.77.0.2') {
    const c = netCounters(B);
    return { OutSegs: c['Tcp.OutSegs'] ?? 0, RetransSegs: c['Tcp.RetransSegs'] ?? 0, LossProbes: c['TcpExt.TCPLossProbes'] ?? 0, DeliveredCE: c['TcpExt.TCPDeliveredCE'] ?? 0 };
  }
  const r = inA(['curl', '-s', '-m', '5', `http://${addr}/_stack/stats`]);
  try {
    const j = JSON.parse(r.out);
    return { OutSegs: j.Tcp?.OutSegs ?? 0, RetransSegs: j.Tcp?.RetransSegs ?? 0, LossProbes: j.TcpExt?.TCPLossProbes ?? 0, DeliveredCE: j.TcpExt?.TCPDeliveredCE ?? 0 };
  } catch {
    return { OutSegs: 0, RetransSegs: 0, LossProbes: 0, DeliveredCE: 0 };
  }
}
const forgetMetrics = () => {
  for (const ns of [A, B]) sh(['ip', '-n', ns, 'tcp_metrics', 'flush', 'all']);
};
const recoveryCtx = { A, B, inA, sh, tmp, want: patternSha(20_000_000), counters: serverTcp, forgetMetrics };

/**
 * Spurious retransmissions on a lossless link, under load: wrk with 64 KiB responses, one 200 MB download,
 * four slow readers. Counted by the receiver, the client's kernel in namespace A: duplicates it reported with
 * a D-SACK (TCPDSACKOldSent: below its cumulative ACK; TCPDSACKOfoSent: above it), per 10,000 segments the
 * server sent (Tcp OutSegs; the client's InSegs counts GRO-merged packets, not segments). The same client and
 * counters for both servers.
 */
function spuriousUnderLoad(addr) {
  const base = `http://${addr}`;
  const sBefore = serverTcp(addr);
  const before = netCounters(A);
  const w = have('wrk') ? wrk(`${base}/bytes?n=65536`) : { error: 'no wrk' };
  const big = inA(['curl', '-s', '-m', '60', '-o', '/dev/null', '-w', '%{size_download}', `${base}/bytes?n=200000000`], 70_000);
  const slow = spawnSync(
    'sh',
    ['-c', `for i in 1 2 3 4; do ip netns exec ${A} curl -s -m ${SECS + 2} --limit-rate 3M -o /dev/null '${base}/bytes?n=${2 ** 40}' & done; wait`],
    { timeout: (SECS + 20) * 1000 },
  );
  const after = netCounters(A);
  const sAfter = serverTcp(addr);
  const d = (k) => (after[k] ?? 0) - (before[k] ?? 0);
  const segments = sAfter.OutSegs - sBefore.OutSegs;
  const dsacks = d('TcpExt.TCPDSACKOldSent') + d('TcpExt.TCPDSACKOfoSent');
  return {
    segments,
    dsacks,
    retrans: sAfter.RetransSegs - sBefore.RetransSegs,
    lossProbes: sAfter.LossProbes - sBefore.LossProbes,
    per10k: segments > 0 ? Math.round((dsacks / segments) * 1e6) / 100 : null,
    wrkRps: w.rps ?? null,
    bigBytes: Number(big.out.trim()) || 0,
    slowStatus: slow.status,
  };
}

/** HTTPS figures against https://addr (port 443). */
function httpsFigures(addr) {
  const base = `https://${addr}`;
  const out = {};
  if (have('wrk')) {
    wrk(`${base}/`, ['-d1s']); // warm-up
    out.keepAlive = wrk(`${base}/`);
    out.close = wrk(`${base}/`, ['-H', 'Connection: close']);
  }
  if (have('h2load')) {
    inA(['h2load', '-D', '1', '-c', '10', '-m', '10', '-t', '1', `${base}/`], 30_000); // warm-up (JIT), as for wrk
    const r = inA(['h2load', '-D', String(SECS), '-c', '10', '-m', '10', '-t', '1', `${base}/`], (SECS + 20) * 1000);
    const m = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(r.out);
    const ok = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(r.out);
    out.h2 = m ? { rps: Math.round(Number(m[1])), succeeded: Number(ok?.[1] ?? 0), failed: Number(ok?.[2] ?? 0) } : { error: r.out.trim().split('\n').pop() };
  }
  inA(['curl', '-sk', '-m', '30', '-o', '/dev/null', `${base}/bytes?n=20000000`], 40_000); // warm-up: 20 MB the same way
  const d = inA(['curl', '-sk', '-m', '60', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `${base}/bytes?n=200000000`], 70_000);
  const m = /^(\d+) ([\d.]+)$/.exec(d.out.trim());
  out.download = m ? { bytes: Number(m[1]), MBps: Math.round(Number(m[1]) / Number(m[2]) / 1e4) / 100 } : { error: d.out.trim() || 'curl failed' };
  return out;
}

/** CPU seconds (user + system, every thread) the process has used so far, from /proc/PID/stat. */
function cpuSecs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return null;
  }
}
const CLK_TCK = Number(sh(['getconf', 'CLK_TCK']).out.trim()) || 100;

const median = (xs) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs) => {
  const s = xs.filter((x) => x != null);
  return s.length ? [Math.min(...s), Math.max(...s)] : null;
};
const round = (x, d = 0) => (x == null ? null : Math.round(x * 10 ** d) / 10 ** d);

/**
 * tunstack over IPv6 beside IPv4 (group ipv6): the same stack (process `pid`) measured in alternating rounds —
 * wrk keep-alive req/s, then a 200 MB download — v4 then v6 in each round; medians, spreads, and the stack's
 * CPU per request and per MB over each measurement.
 */
function ipv6BesideIpv4(pid, addr4, addr6) {
  const url = { v4: `http://${addr4}`, v6: `http://[${addr6}]` };
  const runs = { v4: { rps: [], cpuUsPerReq: [], MBps: [], cpuMsPerMB: [] }, v6: { rps: [], cpuUsPerReq: [], MBps: [], cpuMsPerMB: [] } };
  const errors = [];
  if (have('wrk')) for (const fam of ['v4', 'v6']) wrk(`${url[fam]}/`, ['-d1s']); // warm-up of both paths
  for (let r = 0; r < V6_ROUNDS; r++) {
    for (const fam of ['v4', 'v6']) {
      const o = runs[fam];
      if (have('wrk')) {
        const c0 = cpuSecs(pid);
        const w = wrk(`${url[fam]}/`);
        const c1 = cpuSecs(pid);
        if (w.rps) {
          o.rps.push(w.rps);
          if (c0 != null && c1 != null) o.cpuUsPerReq.push(((c1 - c0) * 1e6) / (w.rps * SECS));
        } else errors.push(`${fam} wrk: ${w.error}`);
      }
      const c0 = cpuSecs(pid);
      const d = inA(['curl', `-${fam.slice(1)}`, '-s', '-m', '60', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', `${url[fam]}/bytes?n=${V6_DOWNLOAD}`], 70_000);
      const c1 = cpuSecs(pid);
      const m = /^(\d+) ([\d.]+)$/.exec(d.out.trim());
      if (m && Number(m[1]) === V6_DOWNLOAD) {
        o.MBps.push(Number(m[1]) / Number(m[2]) / 1e6);
        if (c0 != null && c1 != null) o.cpuMsPerMB.push(((c1 - c0) * 1e3) / (Number(m[1]) / 1e6));
      } else errors.push(`${fam} download: ${d.out.trim() || `curl exit ${d.status}`}`);
    }
  }
  const sum = (o) => ({
    rps: round(median(o.rps)),
    rpsSpread: spread(o.rps),
    cpuUsPerReq: round(median(o.cpuUsPerReq), 1),
    MBps: round(median(o.MBps), 1),
    MBpsSpread: spread(o.MBps)?.map((x) => round(x, 1)) ?? null,
    cpuMsPerMB: round(median(o.cpuMsPerMB), 3),
    rounds: o,
  });
  return { rounds: V6_ROUNDS, v4: sum(runs.v4), v6: sum(runs.v6), errors };
}

function vmHwmKb(pid) {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Every figure for one target (the stack at 10.77.0.2 on tun0, or the kernel at 10.78.0.2 over the veth). */
function measure(addr, iface) {
  const base = `http://${addr}`;
  const f = {};
  if (GROUPS.has('icmp')) {
    flood(addr, 56, 2000); // warm-up
    f.flood56 = flood(addr, 56, 50_000);
    f.flood1400 = flood(addr, 1400, 20_000);
    f.ping = pingRtt(addr);
  }
  if (have('curl') && GROUPS.has('spurious')) f.spurious = spuriousUnderLoad(addr);
  if (have('curl') && GROUPS.has('http')) {
    if (have('wrk')) {
      wrk(`${base}/`, ['-d1s']); // warm-up (JIT, caches)
      f.keepAlive = wrk(`${base}/`);
      f.close = wrk(`${base}/`, ['-H', 'Connection: close']);
    }
    // Fixed duration: ask for far more than fits (2^40 bytes / a 256 MiB body) and stop after SECS.
    f.bytes = curlRate([`${base}/bytes?n=${2 ** 40}`], 'size_download');
    f.echo = curlRate(['--data-binary', `@${join(tmp, 'echo.bin')}`, '-H', 'Content-Type: application/octet-stream', `${base}/echo`], 'size_download');
  }
  if (have('curl') && have('iptables') && GROUPS.has('loss')) f.lossDl = lossDownload(base, iface);
  if (have('curl') && GROUPS.has('https')) f.https = httpsFigures(addr);
  // The kernel's recovery figures are measured after measure() returns (kernelRecovery), with its congestion control set.
  if (have('curl') && have('iptables') && GROUPS.has('recovery') && addr === '10.77.0.2') f.recovery = lossAndCeFigures(recoveryCtx, addr, iface);
  return f;
}

/** The congestion control new connections of the kernel's server namespace (B) use. */
function kernelCc() {
  return sh(['ip', 'netns', 'exec', B, 'sysctl', '-n', 'net.ipv4.tcp_congestion_control']).out.trim();
}

/**
 * A namespace other than the host's may only select a congestion control the host allows
 * (net.ipv4.tcp_allowed_congestion_control; this machine allows "reno bbr", and setting cubic in B failed with
 * EPERM — silently, so the first "cubic" figures were bbr's). The control is added to the host's list for the
 * run; cleanup() puts the list back.
 */
let allowedCcBefore = null;
function allowKernelCc(cc) {
  const cur = sh(['sysctl', '-n', 'net.ipv4.tcp_allowed_congestion_control']).out.trim();
  if (cur.split(/\s+/).includes(cc)) return;
  if (sh(['sysctl', '-qw', `net.ipv4.tcp_allowed_congestion_control=${cur} ${cc}`]).status === 0) allowedCcBefore ??= cur;
}

/**
 * Runs fn(actual) with B's congestion control set to `cc` (per namespace), then puts the previous one back.
 * `actual` is what B uses while fn runs, read back: the figures are labelled with it, whatever was asked.
 */
async function withKernelCc(cc, fn) {
  const prev = kernelCc();
  allowKernelCc(cc);
  sh(['ip', 'netns', 'exec', B, 'sysctl', '-qw', `net.ipv4.tcp_congestion_control=${cc}`]);
  try {
    return await fn(kernelCc());
  } finally {
    if (prev) sh(['ip', 'netns', 'exec', B, 'sysctl', '-qw', `net.ipv4.tcp_congestion_control=${prev}`]);
  }
}

// ---------------------------------------------------------------- namespaces, the kernel's side
sh(['ip', 'netns', 'add', A]);
sh(['ip', 'netns', 'add', B]);
for (const ns of [A, B]) sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
sh(['ip', 'link', 'add', VETH, 'netns', A, 'type', 'veth', 'peer', 'name', 'vb1', 'netns', B]);
sh(['ip', '-n', A, 'addr', 'add', '10.78.0.1/24', 'dev', VETH]);
sh(['ip', '-n', A, 'link', 'set', VETH, 'up']);
sh(['ip', '-n', B, 'addr', 'add', '10.78.0.2/24', 'dev', 'vb1']);
sh(['ip', '-n', B, 'link', 'set', 'vb1', 'up']);
writeFileSync(join(tmp, 'echo.bin'), Buffer.alloc(256 * 1024 * 1024, 0x5a));

// Node's http on the kernel in namespace B, same routes, same code (GET / answers hello\n like the stack does for tools).
const routes = fileURLToPath(new URL('../dist/http/routes.js', import.meta.url));
const server = join(tmp, 'kernel-http.mjs');
const tlsIdentity = fileURLToPath(new URL('../dist/http/tls-identity.js', import.meta.url));
writeFileSync(
  server,
  `import http from 'node:http';
import http2 from 'node:http2';
import { streamBytes, parseBytesCount } from ${JSON.stringify(routes)};
import { selfSignedIdentity } from ${JSON.stringify(tlsIdentity)};
const page = Buffer.from('hello\\n');
const handler = (req, res) => {
  const [path, q] = (req.url ?? '/').split('?');
  if (path === '/') { res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': page.length }); res.end(page); return; }
  if (path === '/bytes') { const n = parseBytesCount(new URLSearchParams(q ?? '').get('n')); if (n instanceof Error) { res.writeHead(400); res.end(); return; }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': n }); if (n === 0) res.end(); else streamBytes(res, n); return; }
  if (path === '/echo') { const len = req.headers['content-length']; res.writeHead(200, { 'Content-Type': 'application/octet-stream', ...(len ? { 'Content-Length': len } : {}) }); req.pipe(res); return; }
  res.writeHead(404); res.end();
};
const id = await selfSignedIdentity(['tunstack.test'], ['10.78.0.2']);
http2.createSecureServer({ key: id.key, cert: id.cert, allowHTTP1: true }, handler).listen(443, '10.78.0.2');
http.createServer(handler).listen(80, '10.78.0.2', () => console.log('ready'));
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
const kernel = measure('10.78.0.2', VETH);
if (have('curl') && have('iptables') && GROUPS.has('recovery')) {
  // The kernel's figures of record use CUBIC, Linux's default and the algorithm tunstack implements; a
  // namespace default that differs (this machine's is bbr, which neither backs off on random loss nor reacts
  // to CE) is measured too, and shown beside them, outside the ratios.
  const kernelRecovery = async () => ({
    ...lossAndCeFigures(recoveryCtx, '10.78.0.2', VETH),
    reorder: await kernelReorderFigure(recoveryCtx, '10.78.0.2', '10.78.0.1'),
  });
  const defaultCc = kernelCc();
  await withKernelCc('cubic', async (actual) => {
    kernel.recoveryCc = actual;
    kernel.recovery = await kernelRecovery();
    kernel.recoveryDelayed = await kernelDelayedFigures(recoveryCtx, '10.78.0.2', '10.78.0.1');
  });
  if (defaultCc !== kernel.recoveryCc) {
    kernel.recoveryCcDefault = defaultCc;
    kernel.recoveryOtherCc = await kernelRecovery();
  }
}
kernel.rssPeakKb = vmHwmKb(kernelHttp.pid);

// ---------------------------------------------------------------- the stack, offloads on and off
/**
 * The observatory's cost: tunstack keep-alive req/s without and with one SSE subscriber (curl -N on
 * /_stack/events, reading everything), in alternating rounds so drift hits both; medians.
 */
function subscriberOverhead() {
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

async function stopStack() {
  if (!stack || stack.exitCode !== null) return;
  const done = new Promise((r) => stack.once('exit', r));
  stack.kill('SIGTERM');
  await Promise.race([done, sleep(8000)]);
  if (stack.exitCode === null) stack.kill('SIGKILL');
  stack = null;
}

const tunstack = {};
let observatory = null;
for (const { key: mode, offload, workers } of CONFIGS) {
  stack = spawn('ip', ['netns', 'exec', A, process.execPath, cli, 'up', '--tun', 'tun0', '--addr', '10.77.0.2/24', '--peer', '10.77.0.1', '--offload', offload, '--workers', String(workers), '--control', 'off', '--log-level', 'warn'], { stdio: 'inherit' });
  let up = false;
  for (let i = 0; i < 60 && !up; i++) {
    up = inA(['ping', '-c', '1', '-W', '1', '10.77.0.2'], 5000).status === 0;
    if (!up) await sleep(250);
  }
  if (!up) {
    console.error(`bench: the stack (${mode}) never answered`);
    process.exit(1);
  }
  const rssReadyKb = vmHwmKb(stack.pid);
  const f = measure('10.77.0.2', 'tun0');
  if (have('curl') && GROUPS.has('ipv6')) {
    let up6 = false;
    for (let i = 0; i < 20 && !up6; i++) {
      up6 = inA(['ping', '-6', '-c', '1', '-W', '1', 'fd77::2'], 5000).status === 0;
      if (!up6) await sleep(250);
    }
    f.ipv6 = up6 ? ipv6BesideIpv4(stack.pid, '10.77.0.2', 'fd77::2') : { error: 'fd77::2 never answered ping -6' };
  }
  // The observatory's cost is a cleartext keep-alive figure: measured with the http group only.
  if (observatory === null && GROUPS.has('http') && have('wrk') && have('curl')) observatory = subscriberOverhead();
  f.rssReadyKb = rssReadyKb;
  f.rssPeakKb = vmHwmKb(stack.pid);
  tunstack[mode] = f;
  await stopStack();
}
// Recovery, reordering: the stack again, behind its impairment stage (which turns TUN offloads off).
if (GROUPS.has('recovery') && have('curl') && MODES.length > 0 && tunstack[MODES[0]]?.recovery) {
  stack = spawn('ip', ['netns', 'exec', A, process.execPath, cli, 'up', '--tun', 'tun0', '--addr', '10.77.0.2/24', '--peer', '10.77.0.1', '--impair', REORDER_SPEC, '--control', 'off', '--log-level', 'warn'], { stdio: 'inherit' });
  let up = false;
  for (let i = 0; i < 60 && !up; i++) {
    up = inA(['ping', '-c', '1', '-W', '1', '10.77.0.2'], 5000).status === 0;
    if (!up) await sleep(250);
  }
  tunstack[MODES[0]].recovery.reorder = up ? stackReorderFigure(recoveryCtx, '10.77.0.2') : { error: 'the stack behind --impair never answered' };
  await stopStack();
  // Loss and CE at an equal round trip: the same stage adds 1 ms each way in front of the stack.
  stack = spawn('ip', ['netns', 'exec', A, process.execPath, cli, 'up', '--tun', 'tun0', '--addr', '10.77.0.2/24', '--peer', '10.77.0.1', '--impair', DELAY_SPEC, '--control', 'off', '--log-level', 'warn'], { stdio: 'inherit' });
  up = false;
  for (let i = 0; i < 60 && !up; i++) {
    up = inA(['ping', '-c', '1', '-W', '1', '10.77.0.2'], 5000).status === 0;
    if (!up) await sleep(250);
  }
  tunstack[MODES[0]].recoveryDelayed = up ? lossAndCeFigures(recoveryCtx, '10.77.0.2', 'tun0') : { error: 'the stack behind --impair never answered' };
  await stopStack();
}

// ---------------------------------------------------------------- tables, JSON, chart
const FIGS = [
  ['ICMP echo flood 56 B', 'pkt/s', (f) => f.flood56?.pps],
  ['ICMP echo flood 1400 B', 'pkt/s', (f) => f.flood1400?.pps],
  ['ping RTT p50 (1000 x 1 ms)', 'ms', (f) => f.ping?.p50Ms, true],
  ['ping RTT p99', 'ms', (f) => f.ping?.p99Ms, true],
  ['GET / keep-alive (wrk -c50)', 'req/s', (f) => f.keepAlive?.rps],
  ['  keep-alive p99', 'ms', (f) => f.keepAlive?.p99Ms, true],
  ['GET / Connection: close (-c50)', 'req/s', (f) => f.close?.rps],
  ['  Connection: close p99', 'ms', (f) => f.close?.p99Ms, true],
  [`GET /bytes (${SECS} s stream)`, 'Mbit/s', (f) => f.bytes?.mbitPerSec],
  ['POST /echo (256 MiB, up + down)', 'Mbit/s', (f) => f.echo?.mbitPerSec],
  ['20 MB download, 1% loss each way', 'MB/s', (f) => f.lossDl?.MBps],
  ['HTTPS GET / keep-alive (wrk -c50)', 'req/s', (f) => f.https?.keepAlive?.rps],
  ['HTTPS new connection per request', 'req/s', (f) => f.https?.close?.rps],
  ['h2 GET / (h2load -c10 -m10)', 'req/s', (f) => f.https?.h2?.rps],
  ['200 MB download over TLS', 'MB/s', (f) => f.https?.download?.MBps],
  ['20 MB, 1% loss each way (recovery)', 'MB/s', (f) => f.recovery?.loss?.MBps],
  ['  retransmitted segments', 'segs', (f) => f.recovery?.loss?.retrans, true],
  ['20 MB, 25% reordered, 5 ms delay', 'MB/s', (f) => f.recovery?.reorder?.MBps],
  ['  retransmitted segments', 'segs', (f) => f.recovery?.reorder?.retrans, true],
  ['20 MB, 2% CE-marked (tcp_ecn=1)', 'MB/s', (f) => f.recovery?.ce?.MBps],
  ['  retransmitted segments', 'segs', (f) => f.recovery?.ce?.retrans, true],
  ['20 MB, 1% loss, +2 ms RTT on both paths', 'MB/s', (f) => f.recoveryDelayed?.loss?.MBps],
  ['20 MB, 2% CE, +2 ms RTT on both paths', 'MB/s', (f) => f.recoveryDelayed?.ce?.MBps],
  ['spurious rtx per 10k segs (D-SACKed, lossless)', '/10k', (f) => f.spurious?.per10k, true],
  ['peak RSS (VmHWM)', 'MiB', (f) => (f.rssPeakKb ? Math.round(f.rssPeakKb / 102.4) / 10 : null), true],
];
const head = ['figure', 'unit', ...MODES.map((m) => `tunstack ${m}`), 'kernel', ...MODES.map((m) => `ratio (${m})`)];
const table = [head];
for (const [name, unit, get, lowerBetter] of FIGS) {
  const k = get(kernel);
  const vals = MODES.map((m) => get(tunstack[m]));
  const ratio = (v) => (v && k ? (lowerBetter ? k / v : v / k).toFixed(2) : '-');
  table.push([name, unit, ...vals.map((v) => (v == null ? '-' : String(v))), k == null ? '-' : String(k), ...vals.map(ratio)]);
}
const print = (t) => {
  const widths = t[0].map((_, i) => Math.max(...t.map((row) => row[i].length)));
  for (const row of t) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
};
print(table);
console.log('(ratio: tunstack / kernel, inverted for times and memory, so above 1 is better)');
for (const m of MODES) {
  const f = tunstack[m];
  const sha = f.lossDl ? (f.lossDl.error ? f.lossDl.error : f.lossDl.shaOk ? 'sha256 ok' : 'sha256 WRONG') : '-';
  const errs = [f.keepAlive, f.close].map((x) => (x ? (x.error ?? `${x.socketErrors ?? 'no socket errors'}${x.non2xx ? `, non-2xx ${x.non2xx}` : ''}`) : '-'));
  console.log(`${m}: loss download ${sha}; wrk keep-alive ${errs[0]}; wrk close ${errs[1]}; RSS ready ${Math.round((f.rssReadyKb ?? 0) / 1024)} MiB`);
}
const spur = (f) => (f?.spurious ? `${f.spurious.dsacks} D-SACKed of ${f.spurious.segments} segments sent (${f.spurious.per10k} per 10k; server retransmitted ${f.spurious.retrans}, ${f.spurious.lossProbes} loss probes; wrk ${f.spurious.wrkRps} req/s, 200 MB got ${f.spurious.bigBytes})` : '-');
if (GROUPS.has('spurious')) {
  console.log('spurious retransmissions on a lossless link (wrk 64 KiB, 200 MB download, 4 readers at 3 MB/s; counted by the client kernel):');
  console.log(`  kernel: ${spur(kernel)}`);
  for (const m of MODES) console.log(`  tunstack ${m}: ${spur(tunstack[m])}`);
}
if (GROUPS.has('recovery')) {
  console.log(`recovery downloads (20 MB; reorder: ${REORDER_SPEC}, the kernel's through scripts/impair-forward.mjs):`);
  const rows = [[`kernel (${kernel.recoveryCc})`, kernel.recovery], ...MODES.map((m) => [`tunstack ${m} (cubic)`, tunstack[m]?.recovery])];
  if (kernel.recoveryOtherCc) rows.push([`kernel (${kernel.recoveryCcDefault}, this machine's default; not in the ratios)`, kernel.recoveryOtherCc]);
  for (const [name, r] of rows) {
    if (!r) continue;
    console.log(`  ${name}: loss ${recoveryLine(r.loss)}; reorder ${r.reorder ? recoveryLine(r.reorder) : '- (measured on the first configuration only)'}; CE ${recoveryLine(r.ce)}`);
  }
  console.log(`  at an equal round trip (${DELAY_SPEC} each way through the same stage in both paths):`);
  for (const [name, r] of [[`kernel (${kernel.recoveryCc})`, kernel.recoveryDelayed], [`tunstack ${MODES[0]} (cubic)`, tunstack[MODES[0]]?.recoveryDelayed]]) {
    if (!r) continue;
    console.log(`    ${name}: ${r.error ? r.error : `loss ${recoveryLine(r.loss)}; CE ${recoveryLine(r.ce)}`}`);
  }
}
if (GROUPS.has('ipv6')) {
  console.log('');
  console.log(`tunstack over IPv6 beside IPv4, same stack (${V6_ROUNDS} alternating rounds; medians [min–max]; stack CPU from /proc):`);
  const t6 = [['config', 'figure', 'IPv4', 'IPv6', 'IPv6/IPv4']];
  const fmt = (v, sp) => (v == null ? '-' : sp ? `${v} [${sp[0]}–${sp[1]}]` : String(v));
  const rat = (a, b, inv) => (a && b ? (inv ? a / b : b / a).toFixed(2) : '-');
  for (const m of MODES) {
    const x = tunstack[m]?.ipv6;
    if (!x || x.error) {
      t6.push([m, x?.error ?? 'not measured', '-', '-', '-']);
      continue;
    }
    t6.push([m, 'GET / keep-alive req/s (wrk -c50)', fmt(x.v4.rps, x.v4.rpsSpread), fmt(x.v6.rps, x.v6.rpsSpread), rat(x.v4.rps, x.v6.rps)]);
    t6.push([m, '  stack CPU µs per request', fmt(x.v4.cpuUsPerReq), fmt(x.v6.cpuUsPerReq), rat(x.v4.cpuUsPerReq, x.v6.cpuUsPerReq, true)]);
    t6.push([m, `${V6_DOWNLOAD / 1e6} MB download MB/s (curl)`, fmt(x.v4.MBps, x.v4.MBpsSpread), fmt(x.v6.MBps, x.v6.MBpsSpread), rat(x.v4.MBps, x.v6.MBps)]);
    t6.push([m, '  stack CPU ms per MB', fmt(x.v4.cpuMsPerMB), fmt(x.v6.cpuMsPerMB), rat(x.v4.cpuMsPerMB, x.v6.cpuMsPerMB, true)]);
    for (const e of x.errors) t6.push([m, `error: ${e}`, '', '', '']);
  }
  print(t6);
  console.log('(IPv6/IPv4: above 1 is IPv6 better; CPU rows inverted; target within 10%: 0.90 or more)');
}
if (observatory) {
  const o = observatory;
  console.log('');
  console.log(`observatory: GET / keep-alive req/s, tunstack, without / with an SSE subscriber on /_stack/events (${o.rounds} alternating rounds of ${SECS} s, medians)`);
  console.log(`  without ${o.without}   with ${o.with}   cost ${o.costPct}%   (${o.events} events received by the subscriber; rounds: ${o.pairs.map((p) => `${p[0]}/${p[1]}`).join(' ')})`);
}

/** A small SVG: for every figure, one bar per configuration, the ratio to the kernel (log scale, 1 = the kernel). */
function chart() {
  const rowsC = FIGS.map(([name, , get, lowerBetter]) => {
    const k = get(kernel);
    return { name: name.trim(), r: MODES.map((m) => { const v = get(tunstack[m]); return v && k ? (lowerBetter ? k / v : v / k) : null; }) };
  });
  const W = 760, rowH = 26, left = 250, top = 40, plotW = W - left - 30;
  const H = top + rowsC.length * rowH + 56;
  const lo = Math.log10(0.05), hi = Math.log10(4);
  const x = (r) => left + ((Math.log10(Math.min(4, Math.max(0.05, r))) - lo) / (hi - lo)) * plotW;
  const colors = ['#2b7bba', '#f0a030', '#3a9a4a', '#a04ab0'];
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n`;
  s += `<text x="10" y="20" font-size="14">tunstack / kernel (node:http over veth), same run — above 1 is better (times and memory inverted)</text>\n`;
  for (const t of [0.1, 0.25, 0.5, 1, 2, 4]) {
    s += `<line x1="${x(t)}" y1="${top - 5}" x2="${x(t)}" y2="${H - 51}" stroke="${t === 1 ? '#000' : '#ddd'}"/><text x="${x(t)}" y="${H - 36}" text-anchor="middle">${t}</text>\n`;
  }
  rowsC.forEach((row, i) => {
    const y = top + i * rowH;
    s += `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${row.name.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>\n`;
    row.r.forEach((r, j) => {
      if (r == null) return;
      const h = (rowH - 6) / MODES.length;
      const x0 = x(0.05);
      s += `<rect x="${x0}" y="${y + 2 + j * h}" width="${Math.max(1, x(r) - x0)}" height="${h - 1}" fill="${colors[j % colors.length]}"><title>${r.toFixed(2)}</title></rect>\n`;
    });
  });
  MODES.forEach((m, j) => {
    s += `<rect x="${left + j * 150}" y="${H - 14}" width="10" height="10" fill="${colors[j % colors.length]}"/><text x="${left + 14 + j * 150}" y="${H - 5}">${m}</text>\n`;
  });
  return s + '</svg>\n';
}
const json = { when: new Date().toISOString(), node: process.version, seconds: SECS, configs: CONFIGS, kernel, tunstack, observatory };
writeFileSync('bench-results.json', JSON.stringify(json, null, 2) + '\n');
writeFileSync('bench-results.svg', chart());
console.log('\n(json: bench-results.json, chart: bench-results.svg)');
process.exit(0);
