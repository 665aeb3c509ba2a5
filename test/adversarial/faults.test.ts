/**
 * Faults (issue 9, item 3) against the real CLI in a namespace of our own:
 * a link outage by iptables DROP, misbehaving peers (never reads, vanishes
 * mid-transfer), an application that stops reading, and SIGTERM under load.
 * Every completed transfer must be byte-exact (sha256 / RFC 864 pattern).
 * The impairments (the stack's `--impair` stage, `tc tbf`, iptables random
 * drops) are in faults-impair.test.ts: two files, so the two test workers
 * share them.
 *
 * Short in CI; ADV_LONG=1 for longer runs, ADV_OUTAGE_S=30 for the issue's
 * 30-second outage.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diff, job, legit, liveSkipReason, pickCounters, PY, reportRows, rssKb, sleep, startLive, successRatio, STACK_ADDR, type LiveStack, type ScenarioRow } from './live.js';

const why = liveSkipReason(['iptables', 'tc']);
if (why) console.warn(`adversarial fault suite SKIPPED: ${why}`);

const LONG = !!process.env['ADV_LONG'] && process.env['ADV_LONG'] !== '0';
const OUTAGE_S = Number(process.env['ADV_OUTAGE_S'] ?? '') || (LONG ? 30 : 8);
const PEER = fileURLToPath(new URL('../../scripts/soak/peer.py', import.meta.url));

const rows: ScenarioRow[] = [];
afterAll(() => reportRows('faults (live, netns)', rows));

function peer(live: LiveStack, args: string[], timeoutMs: number) {
  return job(live.ns, [PY, PEER, STACK_ADDR, ...args], timeoutMs);
}

function parse<T>(r: { stdout: string; stderr: string; code: number | null }): T {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as T;
  } catch {
    throw new Error(`peer.py gave no JSON (code ${r.code}): ${r.stderr.slice(-800)}`);
  }
}

describe.skipIf(!!why)(`faults against the live stack${why ? ` (SKIPPED: ${why})` : ''}`, () => {
  it(`the link goes away for ${OUTAGE_S}s (iptables DROP all on tun0) mid-transfer and comes back: transfers resume and complete byte-exact`, async () => {
    const live = await startLive('advout');
    const rules: string[][] = [
      ['INPUT', '-i', 'tun0', '-j', 'DROP'],
      ['OUTPUT', '-o', 'tun0', '-j', 'DROP'],
    ];
    try {
      const before = await live.counters();
      const size = 4 << 20;
      // Writes paced over the outage and a few seconds either side, so the transfer is in flight when the link goes.
      const t = peer(live, ['transfer', String(size), String(OUTAGE_S + 80), String(OUTAGE_S + 3)], (OUTAGE_S + 100) * 1000);
      const lg = legit(live.ns, ['--tcp-workers', '1', '--tcp-bytes', '65536', '--ping-interval', '0.5', '--udp-interval', '0', '--op-timeout', String(OUTAGE_S + 60)], OUTAGE_S + 4);
      await sleep(1000);
      for (const r of rules) live.ns.run(['iptables', '-I', ...r]);
      await sleep(OUTAGE_S * 1000);
      for (const r of rules) live.ns.run(['iptables', '-D', ...r]);
      const res = parse<{ read: number; sha256_ok: boolean; seconds: number; errors: string[] }>(await t.done);
      const lr = await lg.done;
      const d = diff(before, await live.counters());
      rows.push({
        scenario: `link outage ${OUTAGE_S}s`,
        sent: `4 MiB echo transfer + legit across the outage`,
        did: `${pickCounters(d, ['TcpRetransSegs', 'TcpExtTCPTimeouts'])}; transfer done in ${res.seconds}s`,
        success: `transfer ${res.sha256_ok ? 'ok' : 'FAILED'}; legit ${successRatio(lr).ok}/${successRatio(lr).total}`,
        bytesLost: res.sha256_ok ? 0 : size - res.read,
        peakRssMb: live.rss.peakKb / 1024,
      });
      expect(res.errors, JSON.stringify(res)).toEqual([]);
      expect(res.read).toBe(size);
      expect(res.sha256_ok).toBe(true);
      expect(lr.tcp.corrupt).toBe(0);
      // Whether the stack itself had segments in flight when the link went (and so counted RTOs or loss probes)
      // depends on timing under load — shown in the table row, not asserted. What must hold: the transfer
      // spanned the outage and finished byte-exact after the link came back.
      expect(res.seconds).toBeGreaterThan(OUTAGE_S + 1);
    } finally {
      for (const r of rules) live.ns.exec(['iptables', '-D', ...r]);
      live.destroy();
    }
  }, (OUTAGE_S + 120) * 1000);

  it('a peer that never reads (zero window: persist probes, bounded send queue), then reads: the RFC 864 pattern arrives exact; an application that stops reading (echo back-pressure) recovers byte-exact', async () => {
    const live = await startLive('advslow');
    try {
      const before = await live.counters();
      const stallS = LONG ? 30 : 4;
      const nr = peer(live, ['never-reads', String(stallS), String(2_000_000)], (stallS + 60) * 1000);
      const as = peer(live, ['app-stops', String(stallS), String(8 << 20)], (stallS + 90) * 1000);
      await sleep((stallS / 2) * 1000);
      const mid = await live.sockets();
      const rssMid = rssKb(live.pid);
      const never = parse<{ read: number; pattern_ok: boolean }>(await nr.done);
      const app = parse<{ sent_while_stalled: number; sent: number; read: number; sha256_ok: boolean; errors: string[] }>(await as.done);
      const d = diff(before, await live.counters());
      // While stalled, no connection held more than its buffers (SO_SNDBUF / SO_RCVBUF = 1 MiB each).
      for (const r of mid.tcp) {
        expect(Number(r['sendQ'] ?? r['send_q'] ?? 0)).toBeLessThanOrEqual(1 << 20);
        expect(Number(r['recvQ'] ?? r['recv_q'] ?? 0)).toBeLessThanOrEqual(1 << 20);
      }
      rows.push({
        scenario: 'peer never reads / app stops reading',
        sent: `chargen to a reader stalled ${stallS}s; 8 MiB to echo unread for ${stallS}s`,
        did: `${pickCounters(d, ['TcpExtTCPWinProbe', 'TcpExtTCPZeroWindowDrop', 'TcpRetransSegs'])}; sent while stalled ${app.sent_while_stalled} B; RSS mid-stall ${(rssMid / 1024).toFixed(0)} MB`,
        success: `chargen ${never.pattern_ok ? 'exact' : 'BAD'}, echo ${app.sha256_ok ? 'exact' : 'BAD'}`,
        bytesLost: (never.pattern_ok ? 0 : 1) + (app.sha256_ok ? 0 : 8 << 20) - (app.sha256_ok ? 0 : app.read),
        peakRssMb: live.rss.peakKb / 1024,
      });
      expect(never).toEqual({ read: 2_000_000, pattern_ok: true });
      expect(app.errors).toEqual([]);
      expect(app.sha256_ok).toBe(true);
      // Back-pressure held: while nobody read, only the stack's queues (SO_RCVBUF + SO_SNDBUF, 1 MiB each) and the
      // client's small kernel buffers could fill — far less than the 8 MiB offered.
      expect(app.sent_while_stalled).toBeLessThan(3 << 20);
    } finally {
      live.destroy();
    }
  }, 150_000);

  it('a peer that vanishes mid-transfer: the stack keeps retransmitting with backoff, memory bounded; when the host answers again (RST) the socket goes', async () => {
    const live = await startLive('advvan');
    const portFile = join(live.dir, 'port');
    let rules: string[][] = [];
    try {
      const before = await live.counters();
      const v = peer(live, ['vanish', String(2_000_000), portFile], 120_000);
      let port = 0;
      for (let i = 0; i < 100 && !port; i++) {
        await sleep(100);
        try {
          port = Number(readFileSync(portFile, 'utf8'));
        } catch {
          /* not yet */
        }
      }
      expect(port).toBeGreaterThan(0);
      await sleep(1500);
      // The host disappears: nothing from or to that port crosses the link any more, then the process is killed.
      rules = [
        ['INPUT', '-i', 'tun0', '-p', 'tcp', '--dport', String(port), '-j', 'DROP'],
        ['OUTPUT', '-o', 'tun0', '-p', 'tcp', '--sport', String(port), '-j', 'DROP'],
      ];
      for (const r of rules) live.ns.run(['iptables', '-I', ...r]);
      v.child.kill('SIGKILL');
      await v.done;
      const row = async () => (await live.sockets()).tcp.find((r) => String(r['peer']).endsWith(`:${port}`));
      const first = await row();
      // Six seconds of backoff from a 200 ms RTO is five retransmissions, the RTO then 3.2 s: enough to see both grow.
      const waitS = LONG ? 60 : 6;
      await sleep(waitS * 1000);
      const later = await row();
      const d = diff(before, await live.counters());
      expect(first, 'the connection exists after the peer vanished').toBeDefined();
      expect(later, 'still retransmitting (no premature close)').toBeDefined();
      expect(Number(later!['retrans'])).toBeGreaterThan(Number(first!['retrans']));
      expect(Number(later!['rto'])).toBeGreaterThan(1000);
      expect(Number(later!['sendQ'])).toBeLessThanOrEqual(1 << 20);
      // The host comes back: the kernel answers the next retransmission with RST and the socket is gone.
      for (const r of rules) live.ns.run(['iptables', '-D', ...r]);
      rules = [];
      let gone = false;
      for (let i = 0; i < 150 && !gone; i++) {
        await sleep(1000);
        gone = (await row()) === undefined;
      }
      rows.push({
        scenario: 'peer vanishes mid-transfer',
        sent: 'chargen read at full speed, then the client host goes silent',
        did: `${pickCounters(d, ['TcpRetransSegs', 'TcpExtTCPTimeouts'])}; retrans ${first!['retrans']}→${later!['retrans']} in ${waitS}s, rto ${later!['rto']} ms; ${gone ? 'socket reset when the host came back' : 'STUCK'}`,
        success: '-',
        bytesLost: 0,
        peakRssMb: live.rss.peakKb / 1024,
      });
      expect(gone, 'the socket is gone once the host answers with RST').toBe(true);
    } finally {
      for (const r of rules) live.ns.exec(['iptables', '-D', ...r]);
      live.destroy();
    }
  }, 240_000);

  it('SIGTERM under load: the stack stops within its grace period with exit code 0, clients see the end (no hang), nothing corrupt', async () => {
    const live = await startLive('advterm', ['--log-level', 'info']);
    try {
      const lg = legit(live.ns, ['--tcp-workers', '3', '--tcp-bytes', '262144', '--chargen-bytes', '1000000', '--chargen-workers', '2', '--ping-interval', '0.1', '--udp-interval', '0.1', '--op-timeout', '15'], 6);
      await sleep(3000);
      const t0 = Date.now();
      const { code, final } = await live.stop();
      const took = Date.now() - t0;
      const lr = await lg.done;
      rows.push({
        scenario: 'SIGTERM under load',
        sent: '3 echo + 2 chargen workers, pings, UDP',
        did: `exit ${code} after ${took} ms; ${final ? pickCounters(final, ['TcpEstabResets', 'TcpOutRsts', 'TcpActiveOpens', 'TcpPassiveOpens']) : 'no final stats'}`,
        success: `${successRatio(lr).ok}/${successRatio(lr).total} (ops cut by the shutdown are expected)`,
        bytesLost: lr.tcp.corrupt + lr.chargen.corrupt,
        peakRssMb: live.rss.peakKb / 1024,
      });
      expect(code).toBe(0);
      expect(took).toBeLessThan(12_000);
      expect(final, 'the shutdown log carries the final counters').not.toBeNull();
      expect(lr.tcp.corrupt + lr.chargen.corrupt).toBe(0);
    } finally {
      live.destroy();
    }
  }, 90_000);
});
