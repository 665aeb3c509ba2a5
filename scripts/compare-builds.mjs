#!/usr/bin/env node
// Compares two builds of tunstack on the same machine in alternating rounds, in process (no TUN, no
// kernel): two stacks over the in-process loopback device the JIT warm-up uses, the bundled HTTP server on
// one, keep-alive GET / from the other. Each round is a fresh process per build (warm-up first, then three
// timed passes; the best pass counts). Prints the median and spread of req/s and of CPU time per request.
//
//   node scripts/compare-builds.mjs OLD_CHECKOUT NEW_CHECKOUT [rounds=5] [requests=30000]
//
// Both checkouts must be built (`npm run build`: their dist/ is imported). Use it to tell a regression from
// noise: on a shared 2-CPU machine live figures move by ±30% between runs, this by a few percent.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const dist = pathToFileURL(resolve(process.argv[3], 'dist')).href;
  const N = Number(process.argv[4]);
  const C = 20;
  const { Stack } = await import(`${dist}/stack.js`);
  const { liveTcpConfig } = await import(`${dist}/tcp/config.js`);
  const { PcapTap } = await import(`${dist}/link/pcap-tap.js`);
  const { TunLoopback } = await import(`${dist}/link/tun-loopback.js`);
  const { startBundledHttp } = await import(`${dist}/http/bundled.js`);
  const { warmUp } = await import(`${dist}/warmup.js`);
  await warmUp({});
  const loop = new TunLoopback({ names: ['cmp0', 'cmp1'], batchSize: 16 });
  const client = new Stack({ tcp: liveTcpConfig });
  const server = new Stack({ tcp: liveTcpConfig });
  client.addInterface(new PcapTap(loop.a, null, client.clock), '10.254.0.1/24', { defaultRoute: true });
  server.addInterface(new PcapTap(loop.b, null, server.clock), '10.254.0.2/24', { defaultRoute: true });
  const http = startBundledHttp(server, { port: 80 });
  client.startRealTime();
  server.startRealTime();
  const keepAlive = (s, count) =>
    new Promise((done) => {
      let n = 0;
      let buf = '';
      const next = () => (n >= count ? s.end() : s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.setEncoding('latin1');
      s.on('data', (chunk) => {
        buf += chunk;
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const m = /content-length:\s*(\d+)/i.exec(buf.slice(0, end));
          const total = end + 4 + (m ? Number(m[1]) : 0);
          if (buf.length < total) return;
          buf = buf.slice(total);
          n++;
          next();
        }
      });
      s.on('connect', next);
      s.on('close', () => done(n));
      s.on('error', () => {});
    });
  let best = null;
  for (let pass = 0; pass < 3; pass++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const counts = await Promise.all(Array.from({ length: C }, () => keepAlive(client.tcp.connect({ host: '10.254.0.2', port: 80 }), Math.ceil(N / C))));
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const n = counts.reduce((a, b) => a + b, 0);
    const r = { rps: (n / ms) * 1000, cpuUsPerReq: (cpu.user + cpu.system) / n };
    if (best === null || r.rps > best.rps) best = r;
  }
  http.close();
  client.close();
  server.close();
  console.log(JSON.stringify({ ...best, rssMiB: process.memoryUsage().rss / 1048576 }));
  process.exit(0);
}

const [a, b] = [process.argv[2], process.argv[3]].map((p) => (p ? resolve(p) : ''));
const rounds = Number(process.argv[4] ?? 5);
const requests = Number(process.argv[5] ?? 30000);
for (const d of [a, b]) {
  if (!d || !existsSync(resolve(d, 'dist/warmup.js'))) {
    console.error('usage: node scripts/compare-builds.mjs OLD_CHECKOUT NEW_CHECKOUT [rounds] [requests] (both built: dist/warmup.js)');
    process.exit(2);
  }
}
const results = new Map([[a, []], [b, []]]);
for (let round = 1; round <= rounds; round++) {
  for (const d of [a, b]) {
    const r = spawnSync(process.execPath, [self, '--child', d, String(requests)], { encoding: 'utf8', timeout: 120_000 });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    try {
      const x = JSON.parse(line);
      results.get(d).push(x);
      console.log(`round ${round} ${d === a ? 'old' : 'new'}: ${Math.round(x.rps)} req/s, ${x.cpuUsPerReq.toFixed(1)} µs CPU/request, RSS ${Math.round(x.rssMiB)} MiB`);
    } catch {
      console.log(`round ${round} ${d}: failed (${r.status}) ${r.stderr.slice(-300)}`);
    }
  }
}
const median = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length ? s[(s.length - 1) >> 1] : NaN;
};
for (const [d, xs] of results) {
  const rps = xs.map((x) => x.rps);
  const cpu = xs.map((x) => x.cpuUsPerReq);
  console.log(`${d === a ? 'old' : 'new'} ${d}: req/s median ${Math.round(median(rps))} (${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))}), CPU µs/request median ${median(cpu).toFixed(1)} (${Math.min(...cpu).toFixed(1)}–${Math.max(...cpu).toFixed(1)})`);
}
