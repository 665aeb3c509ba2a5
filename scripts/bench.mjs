#!/usr/bin/env node
// `npm run bench`: figures, not pass/fail. Each figure for tunstack is shown
// beside the same measurement against the Linux kernel in the same run:
//   tunstack: the stack on tun0 in namespace A (10.77.0.2), driven from A's kernel side;
//   kernel:   a veth pair from namespace A to namespace B (10.78.0.2), the kernel answering.
// Traffic stays inside the two namespaces this script creates; every load is
// bounded in count and time; everything is torn down on every exit path.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const A = `tsbenchA${process.pid}`;
const B = `tsbenchB${process.pid}`;
let stack = null;

function sh(cmd, timeout = 120_000) {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}
function cleanup() {
  if (stack && stack.exitCode === null) stack.kill('SIGTERM');
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

const table = [['benchmark', 'tunstack pkt/s', 'kernel pkt/s', 'ratio', 'tunstack rtt ms', 'kernel rtt ms']];
for (const r of rows) {
  const t = r.tunstack, k = r.kernel;
  table.push([r.name, String(t.pps ?? t.error), String(k.pps ?? k.error), t.pps && k.pps ? (t.pps / k.pps).toFixed(2) : '-', String(t.avgRttMs ?? '-'), String(k.avgRttMs ?? '-')]);
}
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
const json = { when: new Date().toISOString(), node: process.version, results: rows };
writeFileSync('bench-results.json', JSON.stringify(json, null, 2) + '\n');
console.log('\n(json: bench-results.json)');
process.exit(0);
