/**
 * `tunstack demo`: the main job. Creates a network namespace of its own,
 * brings the stack up on a TUN inside it, exercises it from the kernel side
 * with real tools, prints a short report and tears everything down on every
 * exit path. Exit code 0 only when every check answered.
 *
 * Traffic goes only to the stack's own address inside the namespace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, copyFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsharkVerdict, verdictDetail } from './demo-capture.js';

const STACK = '10.77.0.2';
const PEER = '10.77.0.1';

export interface DemoOptions {
  keepPcap?: string;
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

function have(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

function run(cmd: string[], timeoutMs = 60_000): { status: number; out: string; stdout: string } {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 256 << 20 });
  return { status: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

function pingCheck(ns: string, name: string, args: string[]): Check {
  const r = run(['ip', 'netns', 'exec', ns, 'ping', '-q', ...args, STACK], 60_000);
  const loss = /([\d.]+)% packet loss/.exec(r.out)?.[1];
  const rtt = /= [\d.]+\/([\d.]+)\/[\d.]+\//.exec(r.out)?.[1];
  const ok = r.status === 0 && loss === '0';
  return { name, ok, detail: loss === undefined ? r.out.trim().split('\n').pop() ?? 'no output' : `${loss}% loss${rtt ? `, avg rtt ${rtt} ms` : ''}` };
}

/** UDP echo (port 7) of 5, 1400 and 8000 bytes from the kernel side, through python3's socket module. */
function udpEchoCheck(ns: string): Check {
  if (!have('python3')) return { name: 'UDP echo (5, 1400, 8000 B)', ok: true, detail: 'skipped: python3 not installed' };
  const py = [
    'import socket, os',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); ok = 0',
    'for n in (5, 1400, 8000):',
    '    d = os.urandom(n); s.sendto(d, ("' + STACK + '", 7))',
    '    try: ok += s.recvfrom(65535)[0] == d',
    '    except Exception: pass',
    'print(ok)',
  ].join('\n');
  const r = run(['ip', 'netns', 'exec', ns, 'python3', '-c', py], 20_000);
  const ok = r.out.trim() === '3';
  return { name: 'UDP echo (5, 1400, 8000 B)', ok, detail: ok ? '3/3 exact' : `${r.out.trim() || 'no answer'}/3` };
}

/** curl from the kernel side against the bundled HTTP server: status, bytes and time of GET / and of 10 MB from /bytes. */
function httpChecks(ns: string): Check[] {
  if (!have('curl')) return [{ name: 'curl http://stack/', ok: true, detail: 'skipped: curl not installed (apt-get install curl)' }];
  const one = (name: string, path: string, wantBytes: number | null): Check => {
    const r = run(['ip', 'netns', 'exec', ns, 'curl', '-s', '-m', '20', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', `http://${STACK}${path}`], 30_000);
    const m = /^(\d{3}) (\d+) ([\d.]+)$/.exec(r.stdout.trim());
    if (!m) return { name, ok: false, detail: r.out.trim() || `curl exit ${r.status}` };
    const [, code, bytes, secs] = m;
    const n = Number(bytes);
    const ok = code === '200' && (wantBytes === null ? n > 0 : n === wantBytes);
    const rate = Number(secs) > 0 ? `, ${((n * 8) / Number(secs) / 1e6).toFixed(0)} Mbit/s` : '';
    return { name, ok, detail: `HTTP ${code}, ${n} bytes in ${(Number(secs) * 1000).toFixed(1)} ms${wantBytes !== null ? rate : ''}` };
  };
  return [one('curl http://stack/', '/', null), one('curl http://stack/bytes?n=10000000', '/bytes?n=10000000', 10_000_000)];
}

export async function runDemo(opts: DemoOptions = {}): Promise<number> {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('must run as root (it creates a network namespace and a TUN device)');
  if (!existsSync('/dev/net/tun')) problems.push('/dev/net/tun is missing (in Docker: --device /dev/net/tun)');
  for (const t of ['ip', 'ping']) if (!have(t)) problems.push(`tool missing: ${t} (apt-get install iproute2 iputils-ping)`);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`demo: ${p}\n`);
    return 1;
  }

  const ns = `tsdemo${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-demo-'));
  const pcap = join(dir, 'demo.pcap');
  const log = join(dir, 'stack.log');
  let child: ChildProcess | null = null;
  let nsCreated = false;

  const cleanup = () => {
    if (child && child.exitCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    if (nsCreated) run(['ip', 'netns', 'del', ns]);
    nsCreated = false;
  };
  const onSignal = () => {
    cleanup();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const checks: Check[] = [];
  try {
    const add = run(['ip', 'netns', 'add', ns]);
    if (add.status !== 0) throw new Error(`ip netns add failed: ${add.out.trim()}`);
    nsCreated = true;
    run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);

    const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
    const { openSync } = await import('node:fs');
    const logFd = openSync(log, 'w');
    child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, cli, 'up', '--tun', 'tun0', '--addr', `${STACK}/24`, '--peer', PEER, '--pcap', pcap, '--log-level', 'info'],
      { stdio: ['ignore', logFd, logFd] },
    );
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    // Wait for the stack to answer (bounded: 40 tries).
    let up = false;
    for (let i = 0; i < 40 && !up; i++) {
      if (child.exitCode !== null) break;
      up = run(['ip', 'netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', STACK], 5000).status === 0;
      if (!up) await new Promise((r) => setTimeout(r, 250));
    }
    checks.push({ name: 'stack up on tun0', ok: up, detail: up ? `${STACK} answers` : `no answer; log: ${readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' | ')}` });
    if (up) {
      // -w: wait for every reply up to a deadline. Without one, ping gives the last reply only max(2·RTT max,
      // interval) — 10 ms here — and a machine busy enough to hold either process off the CPU that long
      // (2 demo runs of 20 on a loaded 2-core machine) turns a reply sent 0.1 ms after its request into "loss".
      checks.push(pingCheck(ns, 'ping (100 x 56 B, 10 ms apart)', ['-c', '100', '-i', '0.01', '-w', '20']));
      checks.push(pingCheck(ns, 'ping (20 x 1400 B)', ['-c', '20', '-i', '0.01', '-s', '1400', '-w', '20']));
      checks.push(pingCheck(ns, 'flood ping (2000)', ['-f', '-c', '2000', '-w', '20']));
      checks.push(pingCheck(ns, 'ping (5 x 4000 B, fragmented both ways)', ['-c', '5', '-i', '0.05', '-s', '4000', '-w', '20']));
      checks.push(udpEchoCheck(ns));
      checks.push(...httpChecks(ns));
      for (const transport of ['udp', 'tcp'] as const) {
        const name = `dig${transport === 'tcp' ? ' +tcp' : ''} @stack tunstack.test`;
        if (!have('dig')) {
          checks.push({ name, ok: true, detail: 'skipped: dig not installed (apt-get install dnsutils)' });
          continue;
        }
        const d = run(['ip', 'netns', 'exec', ns, 'dig', `+${transport === 'tcp' ? '' : 'no'}tcp`, '+short', '+time=2', '+tries=1', `@${STACK}`, 'tunstack.test', 'A'], 10_000);
        const ans = d.out.trim().split('\n')[0] ?? '';
        checks.push({ name, ok: ans === STACK, detail: ans || 'no answer' });
      }
    }

    // Stop the stack (SIGTERM), which flushes its capture.
    if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
    const code = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
    checks.push({ name: 'clean shutdown on SIGTERM', ok: code === 0, detail: `exit code ${code}` });

    if (have('tshark') && existsSync(pcap)) {
      const v = tsharkVerdict(pcap);
      checks.push(
        v instanceof Error
          ? { name: 'capture clean in tshark', ok: false, detail: v.message }
          : { name: 'capture clean in tshark', ok: v.warnings === 0 && v.packets > 0, detail: verdictDetail(v) },
      );
    } else {
      checks.push({ name: 'capture written', ok: existsSync(pcap), detail: have('tshark') ? pcap : `tshark not installed; ${pcap}` });
    }
    if (opts.keepPcap && existsSync(pcap)) copyFileSync(pcap, opts.keepPcap);
  } catch (e) {
    checks.push({ name: 'demo set-up', ok: false, detail: (e as Error).message });
  } finally {
    cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const width = Math.max(...checks.map((c) => c.name.length));
  process.stdout.write(`\ntunstack demo — stack ${STACK} on tun0 in netns ${ns}, kernel side ${PEER}\n\n`);
  for (const c of checks) process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}\n`);
  const failed = checks.filter((c) => !c.ok).length;
  process.stdout.write(`\n${failed === 0 ? 'all checks passed' : `${failed} check(s) failed (stack log: ${log})`}\n`);
  if (failed === 0) rmSync(dir, { recursive: true, force: true });
  return failed === 0 ? 0 : 1;
}
