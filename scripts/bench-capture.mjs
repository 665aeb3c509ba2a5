#!/usr/bin/env node
// `npm run bench:capture`: what a running capture costs. One stack on tun0 in a namespace this script
// creates (10.77.0.2, the kernel side 10.77.0.1), driven from the namespace's kernel:
//   download: curl of /bytes for BENCH_SECS seconds (MB/s),
//   requests: wrk keep-alive GET /bytes?n=1024, 50 connections, BENCH_SECS seconds (req/s),
// each with no capture, then with `tunstack capture --start FILE` in each setting below, the settings
// interleaved round by round (BENCH_ROUNDS, default 3) so a change in the machine's load hits them all;
// the median of the rounds is reported, with the capture file's bytes per second of load.
// Figures, not pass/fail. Traffic stays inside the namespace; every load is bounded in time; the stack,
// the namespace and the capture files are removed on every exit path. Results: bench-capture-results.json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const NS = `tscap${process.pid}`;
const NAME = `capbench${process.pid}`;
const SECS = Math.max(1, Math.min(30, Number(process.env.BENCH_SECS ?? 4) || 4));
const ROUNDS = Math.max(1, Math.min(9, Number(process.env.BENCH_ROUNDS ?? 3) || 3));
const tmp = mkdtempSync(join(tmpdir(), 'tunstack-bench-capture-'));
let stack = null;

/** The settings compared: a label and the `capture --start` arguments (null: no capture). */
const SETTINGS = [
  { key: 'no capture', args: null },
  { key: 'pcap', args: ['--start', 'FILE.pcap'] },
  { key: 'pcapng', args: ['--start', 'FILE.pcapng'] },
  { key: 'pcap -s 96', args: ['--start', 'FILE.pcap', '--snaplen', '96'] },
  { key: "pcapng -s 96 'tcp port 80'", args: ['--start', 'FILE.pcapng', '--snaplen', '96', '--filter', 'tcp port 80'] },
  { key: "pcap filter 'udp' (keeps none)", args: ['--start', 'FILE.pcap', '--filter', 'udp'] },
];

function sh(cmd, timeout = 120_000) {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}
const inNs = (args, timeout) => sh(['ip', 'netns', 'exec', NS, ...args], timeout);
// Generous: on a loaded machine the CLI alone can take seconds to start.
const tunstack = (args) => inNs(['node', cli, ...args, '--name', NAME], 90_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cleanup() {
  if (stack && stack.exitCode === null) stack.kill('SIGTERM');
  rmSync(tmp, { recursive: true, force: true });
  sh(['ip', 'netns', 'del', NS]);
}
process.on('exit', cleanup);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

if (process.getuid?.() !== 0) {
  console.error('bench-capture: must run as root (a network namespace, a TUN device)');
  process.exit(1);
}
for (const t of ['curl', 'wrk']) {
  if (sh(['sh', '-c', `command -v ${t}`]).status !== 0) {
    console.error(`bench-capture: needs ${t}`);
    process.exit(1);
  }
}

function download() {
  const r = inNs(['curl', '-s', '-o', '/dev/null', '-m', String(SECS), '-w', '%{size_download} %{time_total}', 'http://10.77.0.2/bytes?n=100000000000'], (SECS + 20) * 1000);
  const m = /^(\d+) ([\d.]+)/.exec(r.out.trim());
  return m ? Number(m[1]) / Number(m[2]) / 1e6 : null;
}

function requests() {
  const r = inNs(['wrk', '-t1', '-c50', `-d${SECS}s`, 'http://10.77.0.2/bytes?n=1024'], (SECS + 20) * 1000);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.out);
  return m ? Number(m[1]) : null;
}

/** Runs `load` under one capture setting; returns the figure and the capture file's bytes per second. */
function measure(setting, load, round) {
  let file = null;
  if (setting.args) {
    const args = setting.args.map((a) => a.replace('FILE', join(tmp, `r${round}`)));
    file = args[1];
    const st = tunstack(['capture', ...args]);
    if (st.status !== 0) {
      console.error(`bench-capture: capture --start failed (${st.out.trim() || `status ${st.status}`}); this figure is left out`);
      return { value: null, fileMBps: null };
    }
  }
  const t0 = Date.now();
  const value = load();
  const secs = (Date.now() - t0) / 1000;
  let fileRate = 0;
  if (file) {
    tunstack(['capture', '--stop']);
    fileRate = statSync(file).size / secs / 1e6;
    rmSync(file, { force: true });
  }
  return { value, fileMBps: fileRate };
}

const median = (xs) => {
  const v = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null;
};

sh(['ip', 'netns', 'add', NS]);
sh(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
stack = spawn('ip', ['netns', 'exec', NS, 'node', cli, 'up', '--tun', 'tun0', '--addr', '10.77.0.2/24', '--peer', '10.77.0.1', '--name', NAME, '--log-level', 'warn'], { stdio: ['ignore', 'inherit', 'inherit'] });
let up = false;
for (let i = 0; i < 240 && !up; i++) {
  await sleep(250);
  if (stack.exitCode !== null) break;
  up = inNs(['ping', '-c1', '-W1', '10.77.0.2']).status === 0 && tunstack(['stats']).status === 0;
}
if (!up) {
  console.error('bench-capture: the stack did not come up');
  process.exit(1);
}

const load0 = loadavg();
const results = Object.fromEntries(SETTINGS.map((s) => [s.key, { downloadMBps: [], downloadFileMBps: [], requestsPerSec: [], requestsFileMBps: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const s of SETTINGS) {
    const d = measure(s, download, round);
    const q = measure(s, requests, round);
    const r = results[s.key];
    r.downloadMBps.push(d.value);
    r.downloadFileMBps.push(d.fileMBps);
    r.requestsPerSec.push(q.value);
    r.requestsFileMBps.push(q.fileMBps);
    console.error(`round ${round + 1}/${ROUNDS} ${s.key}: ${d.value?.toFixed(0)} MB/s, ${q.value?.toFixed(0)} req/s`);
  }
}
const load1 = loadavg();

const base = results['no capture'];
const baseD = median(base.downloadMBps);
const baseQ = median(base.requestsPerSec);
const rows = SETTINGS.map((s) => {
  const r = results[s.key];
  const d = median(r.downloadMBps);
  const q = median(r.requestsPerSec);
  return {
    setting: s.key,
    downloadMBps: d && Math.round(d),
    downloadVsNone: d && baseD ? Math.round((d / baseD) * 100) : null,
    downloadFileMBps: Math.round(median(r.downloadFileMBps) ?? 0),
    requestsPerSec: q && Math.round(q),
    requestsVsNone: q && baseQ ? Math.round((q / baseQ) * 100) : null,
    requestsFileMBps: Math.round((median(r.requestsFileMBps) ?? 0) * 10) / 10,
    rounds: { downloadMBps: r.downloadMBps.map((x) => x && Math.round(x)), requestsPerSec: r.requestsPerSec.map((x) => x && Math.round(x)) },
  };
});
const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const out = {
  at: new Date().toISOString(),
  tunstack: version,
  node: process.version,
  cpus: cpus().length,
  loadAverage1m: { before: Math.round(load0[0] * 10) / 10, after: Math.round(load1[0] * 10) / 10 },
  secondsPerLoad: SECS,
  rounds: ROUNDS,
  rows,
};
writeFileSync('bench-capture-results.json', `${JSON.stringify(out, null, 2)}\n`);
console.log(`| capture | download MB/s | vs none | file MB/s | req/s (1 KiB) | vs none | file MB/s |`);
console.log(`|---|---:|---:|---:|---:|---:|---:|`);
for (const r of rows) {
  console.log(`| ${r.setting} | ${r.downloadMBps} | ${r.downloadVsNone}% | ${r.downloadFileMBps} | ${r.requestsPerSec} | ${r.requestsVsNone}% | ${r.requestsFileMBps} |`);
}
console.log(`\n${out.cpus} CPUs, load average (1 min) ${out.loadAverage1m.before} before, ${out.loadAverage1m.after} after; ${ROUNDS} rounds of ${SECS} s per figure, medians.`);
