/**
 * `tunstack up --workers 2` for real: two stack shards on the queues of one multi-queue TUN in the test's own
 * namespace. The kernel spreads new connections over the queues and keeps each on its shard; every shard
 * serves HTTP, ping and the TCP services; `tunstack stats`/`ss` and /_stack/stats show the whole stack; a
 * capture writes one file per shard; SIGTERM exits 0; a shard that dies takes the process down with exit 1;
 * a single-queue TUN is refused with a clear error.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetNs, canRunInterop, which, waitForExit } from './netns.js';
import { CLI, KERNEL_ADDR, STACK_ADDR, cliBuilt, startStack, type StackProcess } from './stack-process.js';
import { readPcap } from '../../src/wire/pcap.js';

const can = canRunInterop();
const ready = can.ok && cliBuilt() && which('curl') !== null && which('nc') !== null;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npm run build)' : 'curl or nc not installed';
if (!ready) console.warn(`\n*** interop workers tests SKIPPED: ${why} ***\n`);

interface Row {
  state: string;
  local: string;
  shard: number;
}

describe.skipIf(!ready)(`--workers: stack shards on a multi-queue TUN${ready ? '' : ` (skipped: ${why})`}`, () => {
  let ns: NetNs;
  let dir: string;
  let stack: StackProcess | null = null;
  const cli = (args: string[], timeoutMs = 10_000) => ns.exec([process.execPath, CLI, ...args], { timeoutMs });

  beforeAll(() => {
    NetNs.reapStale('wrk');
    ns = NetNs.create('wrk');
    dir = mkdtempSync(join(tmpdir(), 'tunstack-workers-'));
  });
  afterEach(async () => {
    if (stack) await stack.stop(15_000);
    stack = null;
  });
  afterAll(() => {
    ns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('spreads connections over two shards; stats, ss and /_stack/stats cover both; captures per shard; SIGTERM exits 0', async () => {
    stack = await startStack(ns, ['--workers', '2', '--warmup', 'off']);
    await stack.waitForOutput(/2 shards up/, 10_000);
    const cap = join(dir, 'w.pcap');
    const start = cli(['capture', '--start', cap]);
    expect(start.status).toBe(0);
    // 40 new connections from different source ports: the kernel hashes them over the two queues.
    for (let i = 0; i < 40; i++) {
      const r = ns.exec(['curl', '-s', '-m', '5', `http://${STACK_ADDR}/`], { timeoutMs: 8000 });
      expect(r.stdout).toBe('hello\n');
    }
    // A transfer each way on one connection each: the flow stays on its shard (sha-exact by byte count).
    const dl = ns.exec(['curl', '-s', '-m', '20', '-o', '/dev/null', '-w', '%{size_download}', `http://${STACK_ADDR}/bytes?n=20000000`], { timeoutMs: 25_000 });
    expect(dl.stdout).toBe('20000000');
    const ul = ns.exec(['sh', '-c', `head -c 20000000 /dev/zero | timeout 20 nc -N ${STACK_ADDR} 9`], { timeoutMs: 25_000 });
    expect(ul.status).toBe(0);
    expect(ns.exec(['ping', '-c', '3', '-i', '0.1', STACK_ADDR]).status).toBe(0);

    const stats = JSON.parse(cli(['stats', '--json']).stdout) as { Tcp: { PassiveOpens: number }; Icmp: { InEchos: number } };
    expect(stats.Tcp.PassiveOpens).toBe(42);
    expect(stats.Icmp.InEchos).toBeGreaterThanOrEqual(3);
    const route = JSON.parse(ns.exec(['curl', '-s', '-m', '5', `http://${STACK_ADDR}/_stack/stats`]).stdout) as { Tcp: { PassiveOpens: number }; Http: { Requests: number } };
    expect(route.Tcp.PassiveOpens).toBe(43); // and this request's own connection
    expect(route.Http.Requests).toBe(42); // 40 + the download + this one, whichever shard served them

    const ss = JSON.parse(cli(['ss', '--json']).stdout) as { tcp: Row[] };
    const listeners80 = ss.tcp.filter((r) => r.state === 'LISTEN' && r.local === '*:80'); // `::` without IPV6_V6ONLY
    expect(listeners80.map((r) => r.shard).sort()).toEqual([0, 1]); // one listener per shard, as SO_REUSEPORT
    // An open connection's detail line names its shard.
    const held = ns.spawn(['nc', STACK_ADDR, '9'], { stdio: ['pipe', 'ignore', 'ignore'] });
    held.stdin!.write('x\n');
    let text = '';
    for (let i = 0; i < 40 && !/ESTAB/.test(text); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = cli(['ss', '-i']).stdout;
    }
    expect(text).toMatch(/^tcp +ESTAB .*10\.77\.0\.2\]?:9 .*\n\t .*shard:[01]/m);
    held.stdin!.end();
    await waitForExit(held, 5000);

    // Both shards served connections (40 connections over two queues by hash: all on one is 2^-39).
    const stop = cli(['capture', '--stop']);
    expect(stop.status).toBe(0);
    const perShard = [0, 1].map((i) => {
      const f = readPcap(readFileSync(join(dir, `w.${i}.pcap`)));
      if (typeof f === 'string') throw new Error(f);
      // SYNs from the kernel in this shard's capture: the connections this shard took.
      return f.packets.filter((p) => {
        const d = p.data;
        const ihl = (d[0]! & 15) * 4;
        return d[9] === 6 && `${d[12]}.${d[13]}.${d[14]}.${d[15]}` === KERNEL_ADDR && (d[ihl + 13]! & 0x12) === 0x02;
      }).length;
    });
    expect(perShard[0]! + perShard[1]!).toBe(44); // and /_stack/stats's and the held connection's
    expect(perShard[0]).toBeGreaterThan(0);
    expect(perShard[1]).toBeGreaterThan(0);

    const code = await stack.stop(15_000);
    const out = stack.output();
    stack = null;
    expect(code).toBe(0);
    expect((out.match(/"msg":"stack down"/g) ?? []).length).toBe(2);
    expect(ns.exec(['ip', 'link', 'show', 'tun0']).status).not.toBe(0); // the device we created is gone
  }, 90_000);

  it('a shard that dies takes the process down with exit 1 and says which', async () => {
    const child = ns.spawn([process.execPath, CLI, 'up', '--tun', 'tun0', '--addr', `${STACK_ADDR}/24`, '--peer', KERNEL_ADDR, '--workers', '2', '--warmup', 'off'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TUNSTACK_TEST_SHARD_CRASH: '1:1500' },
    });
    let out = '';
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const r = await waitForExit(child, 20_000);
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(out).toMatch(/shard 1 failed: TUNSTACK_TEST_SHARD_CRASH/);
    expect(ns.exec(['ip', 'link', 'show', 'tun0']).status).not.toBe(0);
  }, 40_000);

  it('refuses a single-queue TUN with a clear error, and --topology', async () => {
    expect(ns.exec(['ip', 'tuntap', 'add', 'dev', 'sq0', 'mode', 'tun']).status).toBe(0);
    try {
      const r = ns.exec([process.execPath, CLI, 'up', '--tun', 'sq0', '--addr', `${STACK_ADDR}/24`, '--peer', KERNEL_ADDR, '--workers', '2', '--warmup', 'off', '--control', 'off'], { timeoutMs: 20_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/sq0 .*single-queue TUN.*multi_queue/);
    } finally {
      ns.exec(['ip', 'tuntap', 'del', 'dev', 'sq0', 'mode', 'tun']);
    }
    const t = ns.exec([process.execPath, CLI, 'up', '--workers', '2', '--topology', 'router', '--warmup', 'off', '--control', 'off'], { timeoutMs: 20_000 });
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/--workers cannot be combined with --topology/);
  }, 60_000);
});
