/**
 * Operating a live stack, for real: the built CLI on a TUN in a namespace of
 * the test's own — `tunstack stats`, `ss` and `capture` over the control
 * socket, SIGTERM with an open TCP connection (FIN in the capture, exit 0,
 * TUN and control socket gone), SIGKILL during a capture (the file stays
 * readable), a stale control socket, two instances on one TUN, and the bad
 * inputs an operator meets (device of another type, address already used,
 * bad configuration).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetNs, canRunInterop, which, waitForExit } from './netns.js';
import { CLI, STACK_ADDR, cliBuilt, startStack, type StackProcess } from './stack-process.js';
import { readPcap, type PcapFile } from '../../src/wire/pcap.js';

const can = canRunInterop();
const ready = can.ok && cliBuilt() && which('ping') !== null && which('nc') !== null;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npm run build)' : 'ping or nc not installed';
if (!ready) console.warn(`\n*** interop ops tests SKIPPED: ${why} ***\n`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pcapOf(path: string): PcapFile {
  const r = readPcap(readFileSync(path));
  if (typeof r === 'string') throw new Error(`${path}: ${r}`);
  return r;
}

/** TCP segments in a capture: ports and flags. */
function tcpSegments(f: PcapFile): { src: string; sport: number; dport: number; flags: number }[] {
  const out = [];
  for (const p of f.packets) {
    const d = p.data;
    if (d.length < 20 || d[0]! >> 4 !== 4 || d[9] !== 6) continue;
    const ihl = (d[0]! & 15) * 4;
    if (d.length < ihl + 14) continue;
    out.push({ src: `${d[12]}.${d[13]}.${d[14]}.${d[15]}`, sport: (d[ihl]! << 8) | d[ihl + 1]!, dport: (d[ihl + 2]! << 8) | d[ihl + 3]!, flags: d[ihl + 13]! });
  }
  return out;
}
const FIN = 0x01;
const RST = 0x04;

describe.skipIf(!ready)(`operating a live stack${ready ? '' : ` (skipped: ${why})`}`, () => {
  let ns: NetNs;
  let dir: string;
  let stack: StackProcess | null = null;
  const cli = (args: string[], timeoutMs = 10_000) => ns.exec([process.execPath, CLI, ...args], { timeoutMs });

  beforeAll(() => {
    NetNs.reapStale('ops');
    ns = NetNs.create('ops');
    dir = mkdtempSync(join(tmpdir(), 'tunstack-ops-'));
  });
  afterEach(async () => {
    if (stack) await stack.stop();
    stack = null;
  });
  afterAll(() => {
    ns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stats, ss and capture on a running stack; SIGTERM closes an open connection with a FIN and exits 0', async () => {
    stack = await startStack(ns, ['--grace', '3s', '--log-level', 'debug']);
    const sock = `/run/tunstack/${ns.name}.tun0.sock`;
    expect(existsSync(sock)).toBe(true);

    const cap = join(dir, 'live.pcap');
    const start = cli(['capture', '--start', cap]);
    expect(start.stdout).toBe(`capturing into ${cap}\n`);
    expect(cli(['capture', '--start', cap]).stderr).toMatch(/a capture is already running/);

    // Two open TCP connections to the discard service: one peer closes when it sees our FIN
    // (nc -d), the other keeps its side open (nc reading a stdin we hold open).
    const polite = ns.spawn(['nc', '-d', STACK_ADDR, '9'], { stdio: ['ignore', 'ignore', 'ignore'] });
    const stubborn = ns.spawn(['nc', STACK_ADDR, '9'], { stdio: ['pipe', 'ignore', 'ignore'] });
    stubborn.stdin!.write('hello\n');
    let ss = '';
    for (let i = 0; i < 40 && (ss.match(/ESTAB .*10\.77\.0\.2\]?:9 /g) ?? []).length < 2; i++) {
      await sleep(100);
      ss = cli(['ss', '-i']).stdout;
    }
    expect(ss).toMatch(/^Netid State +Recv-Q Send-Q +Local Address:Port +Peer Address:Port/);
    // The services listen on `::` and take IPv4 too (dual stack, as Node's listen() without a host): iproute2 shows
    // such a listener as *:9 and its IPv4 connections with IPv4-mapped addresses, [::ffff:10.77.0.2]:9.
    expect(ss).toMatch(/^tcp +LISTEN .*\*:9 /m);
    expect(ss).toMatch(/^tcp +ESTAB +0 +0 +\[::ffff:10\.77\.0\.2\]:9 +\[::ffff:10\.77\.0\.1\]:\d+\n\t .*rto:\d+ .*cwnd:\d+/m);
    // iproute2's filter and -m: only the two echo connections, with their memory line.
    const filtered = cli(['ss', '-tm', 'state', 'established', 'sport', '=', ':9']).stdout.split('\n').filter(Boolean);
    expect(filtered[0]).toMatch(/^Recv-Q Send-Q +Local Address:Port +Peer Address:Port$/);
    expect(filtered.filter((l) => /10\.77\.0\.2\]:9 /.test(l))).toHaveLength(2);
    expect(filtered.filter((l) => /^\t skmem:\(r0,rb\d+,t0,tb\d+,f0,w0,o0,bl0,d0\)$/.test(l))).toHaveLength(2);
    expect(ss).toMatch(/^udp +UNCONN .*0\.0\.0\.0:53 /m);
    const ssJson = JSON.parse(cli(['ss', '--json']).stdout) as { tcp: { state: string; local: string }[] };
    expect(ssJson.tcp.some((r) => r.state === 'ESTAB' && r.local === `[::ffff:${STACK_ADDR}]:9`)).toBe(true);

    expect(ns.exec(['ping', '-c', '3', '-i', '0.1', STACK_ADDR]).status).toBe(0);
    const stats = cli(['stats']);
    expect(stats.status).toBe(0);
    expect(stats.stdout).toMatch(new RegExp(`^#tunstack ${ns.name}\\.tun0\\n`));
    expect(stats.stdout).toMatch(/^IcmpInEchos +\d+$/m);
    expect(stats.stdout).toMatch(/^TcpPassiveOpens +2$/m);
    expect(stats.stdout).toMatch(/^TcpCurrEstab +2$/m);
    expect(stats.stdout).not.toMatch(/ 0$/m); // only non-zero counters
    const watch = cli(['stats', '--watch', '0.2', '--count', '2']);
    expect(watch.stdout.split('\n').filter((l) => l.startsWith('#') && !l.startsWith('#counter'))).toHaveLength(3); // the title and two intervals
    expect(watch.stdout).toMatch(/^#counter +total$/m); // column headers
    const json = JSON.parse(cli(['stats', '--json']).stdout) as { Icmp: { InEchos: number } };
    expect(json.Icmp.InEchos).toBeGreaterThanOrEqual(3);

    const status = cli(['capture', '--status']).stdout;
    expect(status).toMatch(new RegExp(`^capturing into ${cap}: \\d+ packets so far`));
    const stop = cli(['capture', '--stop']);
    expect(stop.stdout).toMatch(new RegExp(`^capture stopped: ${cap}, \\d+ packets, \\d+ bytes`));
    const live = pcapOf(cap);
    expect(live.truncated).toBe(false);
    expect(live.packets.length).toBeGreaterThanOrEqual(6); // 3 echo requests + 3 replies, at least
    expect(cli(['capture', '--stop']).stderr).toMatch(/no capture is running/);

    // A capture from the start of the shutdown on, then SIGTERM (grace 3 s).
    const down = join(dir, 'down.pcap');
    expect(cli(['capture', '--start', down]).status).toBe(0);
    const t0 = Date.now();
    const code = await stack.stop(10_000);
    const took = Date.now() - t0;
    const out = stack.output();
    stack = null;
    expect(code).toBe(0);
    expect(out).toMatch(/"fin":2,"reset":1/);
    // Per-connection events at debug, each with its connection id.
    expect(out).toMatch(/"conn":1,"local":"::ffff:10\.77\.0\.2:9","remote":"::ffff:10\.77\.0\.1:\d+","msg":"connection accepted"/);
    expect(out).toMatch(/"conn":2,"local":"::ffff:10\.77\.0\.2:9".*"msg":"connection accepted"/);
    expect(out).toMatch(/"conn":\d,"local":"::ffff:10\.77\.0\.2:9","remote":"::ffff:10\.77\.0\.1:\d+","ms":\d+,"bytesRead":\d+,"bytesWritten":0,"error":null,"msg":"connection closed"/);
    expect(took).toBeGreaterThanOrEqual(2500); // the stubborn peer held it to the end of the grace period
    await waitForExit(polite, 5000);
    stubborn.stdin!.end();
    await waitForExit(stubborn, 5000);
    const segs = tcpSegments(pcapOf(down));
    const ports = [...new Set(segs.map((s) => (s.src === STACK_ADDR ? s.dport : s.sport)))];
    expect(ports).toHaveLength(2);
    // Both got a FIN from the stack; the polite peer answered with its own FIN and no RST was needed.
    const fromStack = (port: number, flag: number) => segs.some((s) => s.src === STACK_ADDR && s.dport === port && (s.flags & flag) !== 0);
    const fromPeer = (port: number, flag: number) => segs.some((s) => s.src !== STACK_ADDR && s.sport === port && (s.flags & flag) !== 0);
    for (const p of ports) expect(fromStack(p, FIN)).toBe(true);
    const politePort = ports.find((p) => fromPeer(p, FIN))!;
    const stubbornPort = ports.find((p) => p !== politePort)!;
    expect(politePort).toBeDefined();
    expect(fromStack(politePort, RST)).toBe(false);
    // The stubborn one was reset at the end of the grace period.
    expect(fromStack(stubbornPort, RST)).toBe(true);
    expect(existsSync(sock)).toBe(false);
    expect(ns.exec(['ip', 'link', 'show', 'tun0']).status).not.toBe(0); // created by the stack: gone with it
  });

  it('SIGKILL during a capture leaves a file readable up to its last whole packet', async () => {
    const cap = join(dir, 'killed.pcap');
    stack = await startStack(ns, ['--pcap', cap, '--services', 'none']);
    const flood = ns.spawn(['ping', '-q', '-f', '-c', '20000', '-w', '4', STACK_ADDR], { stdio: 'ignore' });
    await sleep(1200);
    stack.child.kill('SIGKILL');
    await waitForExit(stack.child, 5000);
    stack = null;
    await waitForExit(flood, 8000);
    const f = pcapOf(cap);
    expect(f.truncated).toBe(false);
    expect(f.packets.length).toBeGreaterThan(100);
    for (const p of f.packets) expect([4, 6]).toContain(p.data[0]! >> 4); // IPv4, and the kernel's IPv6 router solicitations
    expect(ns.exec(['ip', 'link', 'show', 'tun0']).status).not.toBe(0);
  });

  it('a stale control socket from a killed instance is replaced; a second instance on the same TUN fails clearly', async () => {
    // The SIGKILLed stack above left its socket behind.
    const sock = `/run/tunstack/${ns.name}.tun0.sock`;
    expect(existsSync(sock)).toBe(true);
    stack = await startStack(ns, ['--services', 'none']);
    expect(await stack.waitForOutput(/removed a stale control socket/)).toMatch(/removed a stale control socket/);
    expect(cli(['stats']).status).toBe(0);

    const second = cli(['up', '--tun', 'tun0', '--addr', `${STACK_ADDR}/24`, '--peer', '10.77.0.1']);
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`tunstack: another tunstack instance \\(pid ${stack.child.pid}(, named [^)]*)?\\) is already running on TUN tun0`));
    // With its own control socket and name it is still told, before its warm-up, which instance has the device.
    const third = cli(['up', '--tun', 'tun0', '--addr', `${STACK_ADDR}/24`, '--peer', '10.77.0.1', '--name', 'third', '--control', join(dir, 'third.sock')]);
    expect(third.status).toBe(1);
    expect(third.stderr).toMatch(new RegExp(`^tunstack: another tunstack instance \\(pid ${stack.child.pid}, named ${ns.name}\\.tun0\\) is already running on TUN tun0: .*tunstack stats --name ${ns.name}\\.tun0`));
    expect(third.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dir, 'third.sock'))).toBe(false);
    // The first one is unharmed.
    expect(ns.exec(['ping', '-c', '1', '-W', '2', STACK_ADDR]).status).toBe(0);
  });

  it('an existing TUN is attached as it is and kept after the stack stops', async () => {
    ns.run(['ip', 'tuntap', 'add', 'dev', 'tun1', 'mode', 'tun']);
    ns.run(['ip', 'addr', 'add', '10.78.0.1/24', 'dev', 'tun1']);
    ns.run(['ip', 'link', 'set', 'tun1', 'up']);
    const child = ns.spawn([process.execPath, CLI, 'up', '--tun', 'tun1', '--addr', '10.78.0.2/24', '--peer', '10.78.0.1', '--services', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let ok = false;
    for (let i = 0; i < 40 && !ok; i++) {
      await sleep(200);
      ok = ns.exec(['ping', '-c', '1', '-W', '1', '10.78.0.2'], { timeoutMs: 3000 }).status === 0;
    }
    expect(ok).toBe(true);
    child.kill('SIGTERM');
    expect((await waitForExit(child, 10_000)).code).toBe(0);
    expect(ns.exec(['ip', 'link', 'show', 'tun1']).status).toBe(0);
    ns.run(['ip', 'link', 'del', 'tun1']);
  });

  it('bad input: a device of another type, an address already in use, a bad configuration', () => {
    ns.run(['ip', 'link', 'add', 'tun9', 'type', 'veth', 'peer', 'name', 'tun9p']);
    const dummy = cli(['up', '--tun', 'tun9', '--control', 'off']);
    expect(dummy.status).toBe(1);
    expect(dummy.stderr).toMatch(/a network device named tun9 already exists and is .*: pick another --tun name, or delete it \(ip link del tun9\)/);
    ns.run(['ip', 'link', 'del', 'tun9']);

    ns.run(['ip', 'addr', 'add', `${STACK_ADDR}/32`, 'dev', 'lo']);
    const used = cli(['up', '--tun', 'tun5', '--control', 'off']);
    expect(used.status).toBe(1);
    expect(used.stderr).toMatch(/the stack's address 10\.77\.0\.2 is already an address of this host \(on lo\)/);
    ns.run(['ip', 'addr', 'del', `${STACK_ADDR}/32`, 'dev', 'lo']);
    ns.run(['ip', 'addr', 'add', '10.77.0.9/24', 'dev', 'lo']);
    const overlap = cli(['up', '--tun', 'tun5', '--control', 'off']);
    expect(overlap.stderr).toMatch(/the stack's subnet 10\.77\.0\.2\/24 overlaps 10\.77\.0\.9\/24 on lo/);
    ns.run(['ip', 'addr', 'del', '10.77.0.9/24', 'dev', 'lo']);
    expect(ns.exec(['ip', 'link', 'show', 'tun5']).status).not.toBe(0); // nothing was created

    const bad = cli(['up', '--mtu', '70000', '--peer', '10.9.9.9']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/invalid configuration:\n {2}- --mtu: mtu 70000 is out of range 68\.\.65535.*\n {2}- --peer: 10\.9\.9\.9 is outside the prefix of 10\.77\.0\.2\/24/);
    const env = ns.exec([process.execPath, CLI, 'up'], { env: { TUNSTACK_ADDR: '10.77.0.2/40' } });
    expect(env.stderr).toMatch(/^tunstack: TUNSTACK_ADDR: not an IPv4 CIDR/);
    const cfg = join(dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ tun: 'tun0', mtu_: 1400 }));
    const file = cli(['up', '--config', cfg]);
    expect(file.stderr).toMatch(/unknown key "mtu_" in .*bad\.json \(did you mean mtu\?\)/);
    const flag = cli(['up', '--adr', '10.77.0.2/24']);
    expect(flag.status).not.toBe(0);
    expect(flag.stderr).toMatch(/unknown option '--adr'/);
    expect(cli(['stats', '--name', 'nosuch']).stderr).toMatch(/no tunstack instance answers on \/run\/tunstack\/nosuch\.sock/);
  });
});
