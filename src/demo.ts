/**
 * `tunstack demo`: the main job. Creates a network namespace of its own,
 * brings the stack up on a TUN inside it, exercises it from the kernel side
 * with real tools, prints a short report and tears everything down on every
 * exit path. Exit code 0 only when every check answered.
 *
 * Traffic goes only to the stack's own address inside the namespace.
 */
import { existsSync, copyFileSync } from 'node:fs';
import { DEMO_PEER as PEER, DEMO_STACK as STACK, DemoStack, have, run } from './demo-stack.js';
import { tsharkVerdict, verdictDetail } from './demo-capture.js';

export interface DemoOptions {
  keepPcap?: string;
}

interface Check {
  name: string;
  ok: boolean;
  detail: string;
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

  const checks: Check[] = [];
  let demo: DemoStack | null = null;
  let ns = `tsdemo${process.pid}`;
  let failed = 0;
  try {
    demo = DemoStack.create('tsdemo', 'tunstack-demo-');
    ns = demo.ns;
    demo.start(['--log-level', 'info']);
    const up = await demo.answering();
    checks.push({ name: 'stack up on tun0', ok: up, detail: up ? `${STACK} answers` : `no answer; log: ${demo.logTail()}` });
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
    const code = await demo.stop();
    checks.push({ name: 'clean shutdown on SIGTERM', ok: code === 0, detail: `exit code ${code}` });

    const pcap = demo.pcap;
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
    failed = checks.filter((c) => !c.ok).length;
    // The log and capture stay when something failed, for the message below.
    demo?.dispose(failed > 0);
  }

  const width = Math.max(...checks.map((c) => c.name.length));
  process.stdout.write(`\ntunstack demo — stack ${STACK} on tun0 in netns ${ns}, kernel side ${PEER}\n\n`);
  for (const c of checks) process.stdout.write(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(width)}  ${c.detail}\n`);
  const where = demo !== null ? ` (stack log: ${demo.log})` : '';
  process.stdout.write(`\n${failed === 0 ? 'all checks passed' : `${failed} check(s) failed${where}`}\n`);
  return failed === 0 ? 0 : 1;
}
