/**
 * `tunstack demo --handshakes`: what a handshake costs, measured on real
 * connections. A network namespace of its own, the stack inside it with Fast
 * Open on (`up --fast-open on`) and a capture; curl from the kernel side
 * fetches / over HTTP, HTTPS with TLS 1.2 and HTTPS with TLS 1.3, each once
 * plainly and once with `--tcp-fastopen` (after a first Fast Open connection
 * that fetched the cookie; net.ipv4.tcp_fastopen=1 is set in the namespace
 * only). Per connection: the round trips to the first response byte and the
 * packets before it (from the stack's own capture, see round-trips.ts), and
 * curl's time to the first byte (`%{time_starttransfer}`).
 *
 * Traffic goes only to the stack's own address inside the namespace; the
 * namespace and the stack are removed on every exit path.
 */
import { existsSync, readFileSync } from 'node:fs';
import { tcpConnectionsOf } from './observe/pcap-trace.js';
import { DEMO_PEER as PEER, DEMO_STACK as STACK, DemoStack, have } from './demo-stack.js';

export interface HandshakeRow {
  name: string;
  fastOpen: boolean;
  /** Round trips from the SYN to the first response byte; null when the capture did not show it. */
  rounds: number | null;
  /** Segments (both ways) before the first response byte. */
  packets: number | null;
  /** curl's %{time_starttransfer}, in milliseconds. */
  ttfbMs: number;
  /** TLS version seen in the ServerHello, if any. */
  tls: string | null;
}

interface Case {
  name: string;
  url: string;
  args: string[];
}

const CASES: Case[] = [
  { name: 'HTTP', url: `http://${STACK}/`, args: [] },
  { name: 'HTTPS TLS 1.2', url: `https://${STACK}/`, args: ['-k', '--tlsv1.2', '--tls-max', '1.2'] },
  { name: 'HTTPS TLS 1.3', url: `https://${STACK}/`, args: ['-k', '--tlsv1.3'] },
];

/** One curl from the kernel side: the local port (to find the connection in the capture) and the time to first byte. */
function curl(demo: DemoStack, c: Case, fastOpen: boolean): { port: number; ttfbMs: number } | Error {
  const r = demo.exec(['curl', '-s', '-m', '10', '--http1.1', ...c.args, ...(fastOpen ? ['--tcp-fastopen'] : []), '-o', '/dev/null', '-w', '%{http_code} %{local_port} %{time_starttransfer}', c.url], 20_000);
  const m = /^(\d{3}) (\d+) ([\d.]+)$/.exec(r.stdout.trim());
  if (m === null || m[1] !== '200') return new Error(`curl ${c.url}${fastOpen ? ' --tcp-fastopen' : ''}: ${r.out.trim() || `exit ${r.status}`}`);
  return { port: Number(m[2]), ttfbMs: Number(m[3]) * 1000 };
}

/** Runs the measurement; an Error says what failed (tools missing, the stack not answering, curl failing). */
export async function measureHandshakes(opts: { cli?: string } = {}): Promise<HandshakeRow[] | Error> {
  if (process.getuid?.() !== 0) return new Error('must run as root (it creates a network namespace and a TUN device)');
  for (const t of ['ip', 'ping', 'curl']) if (!have(t)) return new Error(`tool missing: ${t}`);
  let demo: DemoStack | null = null;
  try {
    demo = DemoStack.create('tshs', 'tunstack-handshakes-');
    // Client-side Fast Open in this namespace only (Linux's default is 1 already; set it so the table does not
    // depend on the host's setting).
    demo.exec(['sysctl', '-qw', 'net.ipv4.tcp_fastopen=1'], 10_000);
    demo.start(['--fast-open', 'on', '--log-level', 'warn'], opts.cli);
    if (!(await demo.answering())) return new Error(`the stack did not answer; log: ${demo.logTail()}`);
    // The HTTPS listener may come up a little after the address answers: wait for it (bounded).
    for (let i = 0; i < 20; i++) {
      if (demo.exec(['curl', '-s', '-k', '-m', '2', '-o', '/dev/null', `https://${STACK}/`], 5000).status === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const measured: { c: Case; fastOpen: boolean; port: number; ttfbMs: number }[] = [];
    for (const c of CASES) {
      for (const fastOpen of [false, true]) {
        // With Fast Open the first connection fetches the cookie (RFC 7413 §3); the second one is measured.
        if (fastOpen) {
          const warm = curl(demo, c, true);
          if (warm instanceof Error) return warm;
        }
        const r = curl(demo, c, fastOpen);
        if (r instanceof Error) return r;
        measured.push({ c, fastOpen, ...r });
      }
    }
    // Stop the stack (SIGTERM), which flushes its capture, then read the connections back from it.
    await demo.stop();
    if (!existsSync(demo.pcap)) return new Error('the stack wrote no capture');
    const sum = tcpConnectionsOf(new Uint8Array(readFileSync(demo.pcap)), demo.pcap);
    if (sum instanceof Error) return sum;
    return measured.map((m) => {
      const conn = sum.conns.filter((k) => k.aPort === m.port && k.handshake).pop();
      const v = conn?.tls.version;
      return {
        name: m.c.name,
        fastOpen: m.fastOpen,
        rounds: conn?.rounds?.rounds ?? null,
        packets: conn?.rounds?.index ?? null,
        ttfbMs: m.ttfbMs,
        tls: v === undefined || v === null ? null : v === 0x0304 ? 'TLS 1.3' : v === 0x0303 ? 'TLS 1.2' : `0x${v.toString(16)}`,
      };
    });
  } catch (e) {
    return e as Error;
  } finally {
    demo?.dispose(false);
  }
}

export function handshakeTable(rows: readonly HandshakeRow[]): string {
  const head = ['connection', 'round trips to 1st byte', 'time to 1st byte', 'packets before it', 'seen'];
  const body = rows.map((r) => [
    `${r.name}${r.fastOpen ? ' + Fast Open' : ''}`,
    r.rounds === null ? '?' : String(r.rounds),
    `${r.ttfbMs.toFixed(1)} ms`,
    r.packets === null ? '?' : String(r.packets),
    r.tls ?? (r.name.startsWith('HTTPS') ? 'no ServerHello seen' : '-'),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => `  ${cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')}`.trimEnd();
  return [line(head), ...body.map(line)].join('\n');
}

/** `tunstack demo --handshakes`: prints the table; exit code 0 when every connection was measured. */
export async function runHandshakeDemo(out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const rows = await measureHandshakes();
  if (rows instanceof Error) {
    err.write(`demo --handshakes: ${rows.message}\n`);
    return 1;
  }
  out.write(`\ntunstack demo --handshakes — curl from the kernel side (netns, ${PEER}) to the stack (${STACK}), Fast Open on; round trips and packets from the stack's capture\n\n${handshakeTable(rows)}\n`);
  const unseen = rows.filter((r) => r.rounds === null).length;
  out.write(unseen === 0 ? '\nevery connection measured\n' : `\n${unseen} connection(s) not found whole in the capture\n`);
  return unseen === 0 ? 0 : 1;
}
