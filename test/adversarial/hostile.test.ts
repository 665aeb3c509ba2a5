/**
 * Live hostile traffic (issue 9, item 2) against the real CLI on a TUN in a
 * namespace of our own, each scenario bounded in count and time, with
 * legitimate traffic running concurrently (scripts/soak/legit.py: sha256-
 * checked TCP echo transfers, pings, UDP echoes). For each: the counters
 * show what the stack did, the legitimate success ratio is measured, no
 * completed transfer differs by a byte, and the peak RSS is recorded.
 * The results table is printed at the end (ADV_REPORT=<file> appends it).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { diff, hostile, job, legit, liveSkipReason, pickCounters, reportRows, sleep, startLive, successRatio, tunCounters, STACK_ADDR, type Counters, type LegitResult, type LiveStack, type ScenarioRow } from './live.js';

const why = liveSkipReason(['hping3', 'iptables', 'ping']);
if (why) console.warn(`adversarial hostile-traffic suite SKIPPED: ${why}`);

/** Flood sizes: short in CI; ADV_LONG=1 for ten times more. */
const LONG = !!process.env['ADV_LONG'] && process.env['ADV_LONG'] !== '0';
const N = LONG ? 200_000 : 20_000;
const LEGIT_S = LONG ? 30 : 4;

describe.skipIf(!!why)(`hostile traffic against the live stack${why ? ` (SKIPPED: ${why})` : ''}`, () => {
  let live: LiveStack;
  const rows: ScenarioRow[] = [];

  beforeAll(async () => {
    live = await startLive('advhost');
  }, 60_000);

  afterAll(async () => {
    try {
      if (live) {
        const { code } = await live.stop();
        rows.push({ scenario: 'SIGTERM after the suite', sent: '-', did: `exit code ${code}`, success: '-', bytesLost: 0, peakRssMb: live.rss.peakKb / 1024 });
      }
    } finally {
      live?.destroy();
      reportRows('hostile traffic (live, netns)', rows);
    }
  }, 60_000);

  interface Outcome<T> {
    d: Counters;
    /** Packets the kernel could not queue to the stack (the TUN queue was full): lost before the stack saw them. */
    tunDropped: number;
    lr: LegitResult;
    attack: T;
    ratio: number;
  }

  /**
   * The stack's counters and the kernel's TUN counters at one moment: a packet the kernel hands over between the
   * two reads (a late retransmission, the kernel's own IPv6 neighbour traffic) would be counted on one side only,
   * so the pair is read again until the TUN's count did not move across the stack's read.
   */
  async function snapshot(): Promise<{ counters: Counters; tun: ReturnType<typeof tunCounters> }> {
    for (let i = 0; ; i++) {
      const t1 = tunCounters(live.ns);
      const counters = await live.counters();
      const tun = tunCounters(live.ns);
      if (tun.txPackets === t1.txPackets || i >= 20) return { counters, tun };
      await sleep(50);
    }
  }

  /** Runs `attack` while legit traffic flows; returns the counter deltas, the legit result and the attack's output. */
  async function scenario<T>(name: string, sent: string, attack: () => Promise<T>, show: string[], legitArgs: string[] = []): Promise<Outcome<T>> {
    live.rss.reset();
    const { counters: before, tun: tunBefore } = await snapshot();
    const lg = legit(live.ns, ['--tcp-workers', '2', '--tcp-bytes', '32768', ...legitArgs], LEGIT_S);
    await sleep(300);
    const out = await attack();
    const lr = await lg.done;
    await sleep(300);
    const { counters: after, tun: tunAfter } = await snapshot();
    const d = diff(before, after);
    const tunDropped = tunAfter.txDropped - tunBefore.txDropped;
    const delivered = tunAfter.txPackets - tunBefore.txPackets;
    const sr = successRatio(lr);
    rows.push({
      scenario: name,
      sent,
      did: `${pickCounters(d, show)}; kernel→stack ${delivered} pkts${tunDropped > 0 ? `, TUN queue dropped ${tunDropped} before the stack` : ''}`,
      success: `${sr.ok}/${sr.total} (${(sr.ratio * 100).toFixed(1)}%)`,
      bytesLost: lr.tcp.corrupt + lr.chargen.corrupt,
      peakRssMb: live.rss.peakKb / 1024,
    });
    // Invariants for every scenario: no completed transfer differs, no echo came back altered, the stack is alive.
    expect(lr.tcp.corrupt, 'a completed TCP transfer differed').toBe(0);
    expect(lr.ping.bad + lr.udp.bad, 'an echo came back altered').toBe(0);
    expect(lr.tcp.ok, `no legitimate TCP transfer completed: ${JSON.stringify(lr)}`).toBeGreaterThan(0);
    expect(live.proc.child.exitCode).toBeNull();
    // Every packet the kernel handed to the TUN was taken in and counted by the stack, as IPv4 or as IPv6.
    expect((d['IpInReceives'] ?? 0) + (d['Ip6InReceives'] ?? 0), `kernel delivered ${delivered}`).toBe(delivered);
    return { d, tunDropped, lr, attack: out, ratio: sr.ratio };
  }

  const hping = (args: string[], timeoutMs = 60_000) => job(live.ns, ['timeout', '-s', 'KILL', String(Math.ceil(timeoutMs / 1000)), 'hping3', ...args, STACK_ADDR], timeoutMs + 5000).done;

  it('SYN flood (hping3, spoofed source in the namespace): SYN cookies take over, legitimate connections keep working', async () => {
    const o = await scenario(
      'SYN flood',
      `${N} SYNs (hping3 -S, 10 kpps, spoofed 10.77.0.99)`,
      () => hping(['-q', '-S', '-p', '7', '-a', '10.77.0.99', '-c', String(N), '-i', 'u100']),
      ['TcpExtSyncookiesSent', 'TcpExtSyncookiesRecv', 'TcpExtListenOverflows', 'TcpExtListenDrops', 'TcpPassiveOpens'],
    );
    expect(o.d['TcpExtSyncookiesSent'] ?? 0, 'the SYN queue overflowed into cookies').toBeGreaterThan(0);
    expect(o.ratio).toBeGreaterThanOrEqual(0.9);
  }, 90_000);

  it('ACK flood with random cookies: every forged ACK fails validation, nothing is created', async () => {
    const rowsBefore = (await live.sockets()).tcp.length;
    const o = await scenario(
      'ACK flood (random cookies)',
      `${N} ACKs, random seq/ack/ports`,
      () => hostile(live.ns, ['ack-flood', '7', String(N)], 60_000),
      ['TcpExtSyncookiesFailed', 'drop:tcp.listen-stray-ack', 'TcpOutRsts', 'TcpPassiveOpens'],
    );
    // Each forged ACK reaching the listener is a stray ACK (cookie checked and failed when cookies were recently sent) answered by RST.
    // Of the N sent, those the kernel's TUN queue dropped before the stack read them never reached it (with a faster
    // stack the flood ran faster too: 9,860 of 20,000 arrived in one CI run, the threshold was N / 2).
    expect(o.d['drop:tcp.listen-stray-ack'] ?? 0).toBeGreaterThan((N - o.tunDropped) * 0.5);
    expect(o.d['TcpOutRsts'] ?? 0).toBeGreaterThanOrEqual(o.d['drop:tcp.listen-stray-ack'] ?? 0);
    expect(o.ratio).toBeGreaterThanOrEqual(0.9);
    // No connection came out of a forged ACK (legit ones are closed by now or in TIME-WAIT).
    const est = (await live.sockets()).tcp.filter((r) => r['state'] === 'ESTAB' && String(r['peer']).startsWith('10.77.0.1:') === false);
    expect(est).toHaveLength(0);
    void rowsBefore;
  }, 90_000);

  it('RST and SYN injection at in-window and out-of-window sequence numbers (RFC 5961): challenge ACKs, only the exact RST kills', async () => {
    const o = await scenario(
      'RST/SYN/ACK injection (RFC 5961)',
      'RST, RST|ACK, SYN, ACK, data in/out of window, then the exact RST',
      () => hostile<Record<string, string | boolean>>(live.ns, ['rfc5961', '7']),
      ['TcpExtTCPChallengeACK', 'drop:tcp.rst-out-of-window', 'drop:tcp.out-of-window', 'TcpEstabResets'],
    );
    const r = o.attack;
    expect(r['error']).toBeUndefined();
    expect(r).toMatchObject({
      rst_in_window: 'challenge-ack',
      rst_out_of_window: 'none',
      rstack_in_window: 'challenge-ack',
      syn_in_window: 'challenge-ack',
      syn_out_of_window: 'challenge-ack',
      ack_too_new: 'challenge-ack',
      after_exact_rst: 'rst',
    });
    for (const [k, v] of Object.entries(r)) if (k.startsWith('alive_after')) expect(v, k).toBe(true);
    // RST/RST-ACK/SYN inside the window draw counted challenge ACKs; the out-of-window SYN, bad ACKs and data draw the plain ACK of §3.10.7.4.
    expect(o.d['TcpExtTCPChallengeACK'] ?? 0).toBeGreaterThanOrEqual(3);
    expect(o.d['drop:tcp.out-of-window'] ?? 0).toBeGreaterThanOrEqual(2); // at least the out-of-window SYN and data
    expect(o.d['drop:tcp.rst-out-of-window'] ?? 0).toBeGreaterThanOrEqual(1);
    expect(o.d['TcpEstabResets'] ?? 0).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('TCP segments with every option malformed (length 0/1, beyond the header, repeated, wrong lengths, unknown)', async () => {
    const o = await scenario(
      'malformed TCP options',
      '17 option patterns as SYNs and on a live connection',
      () => hostile<{ syn: Record<string, string>; in_connection: Record<string, string>; alive_after_all: boolean }>(live.ns, ['options', '7']),
      ['drop:tcp.bad-options', 'TcpInErrs', 'TcpPassiveOpens'],
    );
    const r = o.attack;
    expect(r.alive_after_all).toBe(true);
    // Unparseable option lists (length < 2 or past the header) are dropped and counted; the rest are answered as if the bad option were absent.
    for (const k of ['len0', 'len1', 'beyond_header', 'mss_len_beyond', 'len_255']) expect(r.syn[k], k).toBe('none');
    for (const k of ['repeated_mss', 'repeated_wscale', 'wscale_255', 'mss_0', 'mss_1', 'ts_short', 'unknown_kinds', 'all_nop_40']) expect(r.syn[k], k).toBe('syn-ack');
    expect(Object.values(r.in_connection).every((v) => v !== 'rst')).toBe(true);
    expect(o.d['drop:tcp.bad-options'] ?? 0).toBeGreaterThanOrEqual(10);
  }, 90_000);

  it('ICMP errors quoting forged connections leave a real connection alone; an exact frag-needed lowers its MSS', async () => {
    const o = await scenario(
      'forged ICMP errors',
      '18 forged unreachables/time-exceeded + exact unreachables + exact frag-needed (MTU 576)',
      () => hostile<Record<string, unknown>>(live.ns, ['icmp-forged', '7']),
      ['TcpExtIcmpForgedDrops', 'drop:tcp.icmp-no-socket', 'drop:tcp.icmp-out-of-window', 'IcmpInDestUnreachs', 'IcmpInTimeExcds'],
    );
    const r = o.attack;
    expect(r['error']).toBeUndefined();
    expect(r['alive_after_forged']).toBe(true);
    expect(r['alive_after_exact']).toBe(true);
    // After the frag-needed, what the stack resends fits MTU 576 (segments already queued before it may be full-sized).
    const last = r['exact_frag_needed_last_payload'] as number;
    expect(last, JSON.stringify(r['exact_frag_needed_resent_sizes'])).toBeGreaterThan(0);
    expect(last, JSON.stringify(r['exact_frag_needed_resent_sizes'])).toBeLessThanOrEqual(536);
    expect((o.d['TcpExtIcmpForgedDrops'] ?? 0) + (o.d['drop:tcp.icmp-no-socket'] ?? 0)).toBeGreaterThanOrEqual(18);
  }, 90_000);

  it('fragment flood and overlapping fragments: memory capped, overlaps condemn their datagram, pings keep working', async () => {
    const n = LONG ? 20_000 : 4000;
    const o = await scenario(
      'fragment flood + overlaps',
      `${n} first fragments (1480 B, distinct ids) + ${n / 8} teardrop-like datagrams`,
      async () => {
        const a = await hostile(live.ns, ['frag-flood', String(n)], 60_000, { HOSTILE_PPS: '20000' });
        const b = await hostile(live.ns, ['frag-overlap', String(n / 8)], 60_000, { HOSTILE_PPS: '20000' });
        return { a, b };
      },
      ['IpReasmReqds', 'IpReasmFails', 'IpReasmOverlaps', 'drop:ip.frag-evicted-memory', 'drop:ip.frag-evicted-count', 'drop:ip.frag-overlap', 'IpReasmOKs'],
    );
    // Every overlap that reached the stack condemned its datagram (what the kernel's TUN queue dropped never arrived).
    expect(o.d['IpReasmOverlaps'] ?? 0).toBeGreaterThanOrEqual((n / 8) * 0.9 - o.tunDropped);
    // 4000 × (1480 + overhead) > 4 MiB: the oldest datagrams were evicted, memory never grew past the cap.
    expect((o.d['drop:ip.frag-evicted-memory'] ?? 0) + (o.d['drop:ip.frag-evicted-count'] ?? 0)).toBeGreaterThan(0);
    expect(o.ratio).toBeGreaterThanOrEqual(0.9);
  }, 90_000);

  it('ICMP echo flood (ping -f): every request answered or counted, legitimate traffic unaffected', async () => {
    const o = await scenario(
      'ICMP echo flood',
      `${N} echo requests (ping -f)`,
      () => job(live.ns, ['ping', '-f', '-q', '-c', String(N), '-w', '30', STACK_ADDR], 40_000).done,
      ['IcmpInEchos', 'IcmpOutEchoReps'],
    );
    expect(o.d['IcmpInEchos'] ?? 0).toBeGreaterThanOrEqual(N * 0.95);
    expect(o.d['IcmpOutEchoReps']).toBe(o.d['IcmpInEchos']);
    const m = /(\d+) packets transmitted, (\d+) received/.exec(o.attack.stdout);
    expect(m, o.attack.stdout).not.toBeNull();
    expect(Number(m![2]) / Number(m![1])).toBeGreaterThanOrEqual(0.95);
    expect(o.ratio).toBeGreaterThanOrEqual(0.9);
  }, 90_000);

  it('UDP floods to an open port (echo) and a closed one: echoed or counted; port unreachables rate-limited', async () => {
    const o = await scenario(
      'UDP flood open + closed port',
      `${N} datagrams to :7 and ${N} to :4444 (hping3 --udp, 10 kpps)`,
      async () => {
        const a = await hping(['-q', '--udp', '-p', '7', '-d', '64', '-c', String(N), '-i', 'u100']);
        const b = await hping(['-q', '--udp', '-p', '4444', '-d', '64', '-c', String(N), '-i', 'u100']);
        return { a, b };
      },
      ['UdpInDatagrams', 'UdpNoPorts', 'UdpRcvbufErrors', 'UdpOutDatagrams', 'IcmpOutDestUnreachs', 'IcmpOutRateLimited'],
    );
    // Every datagram that reached the stack was echoed, queued or counted (the kernel's TUN queue may drop some first).
    // (What the kernel delivered was all counted: checked for every scenario above.)
    expect((o.d['UdpNoPorts'] ?? 0) + (o.d['UdpInDatagrams'] ?? 0) + (o.d['UdpRcvbufErrors'] ?? 0)).toBeGreaterThan(N);
    expect(o.d['UdpNoPorts'] ?? 0).toBeGreaterThan(N / 2);
    // Linux-like limits: a burst of 6 per destination, then 1/s — nearly everything is rate-limited, nothing unbounded goes out.
    expect(o.d['IcmpOutDestUnreachs'] ?? 0).toBeLessThanOrEqual(6 + 2 * LEGIT_S + 60);
    expect(o.d['IcmpOutRateLimited'] ?? 0).toBeGreaterThan(N * 0.9);
    expect(o.ratio).toBeGreaterThanOrEqual(0.9);
  }, 120_000);

  it('LAND packets (source = destination = the stack) are dropped and never answered', async () => {
    const n = 2000;
    const o = await scenario(
      'LAND',
      `${2 * n} SYNs with source = destination = 10.77.0.2`,
      () => hostile<{ sent: number }>(live.ns, ['land', '7', String(n)], 60_000),
      ['drop:ip.land', 'IpInAddrErrors', 'TcpPassiveOpens'],
    );
    // Every LAND packet that reached the stack was dropped as such (the TUN queue's drops may include other packets).
    expect(o.d['drop:ip.land'] ?? 0).toBeGreaterThanOrEqual(o.attack.sent - o.tunDropped);
    expect(o.d['drop:ip.land'] ?? 0).toBeLessThanOrEqual(o.attack.sent);
    const landRows = (await live.sockets()).tcp.filter((r) => String(r['peer']).startsWith(`${STACK_ADDR}:`));
    expect(landRows).toHaveLength(0);
  }, 90_000);

  it('packets to the broadcast addresses (and from a broadcast source) are ignored, never answered', async () => {
    const n = 500;
    const o = await scenario(
      'broadcast',
      `${8 * n} UDP/ICMP/TCP to 10.77.0.255 and 255.255.255.255 + ${2 * n} from broadcast sources`,
      () => hostile<{ sent: number }>(live.ns, ['bcast', String(n)], 60_000),
      ['drop:ip.broadcast-ignored', 'drop:ip.bad-source', 'IcmpOutDestUnreachs', 'IcmpOutEchoReps'],
    );
    expect((o.d['drop:ip.broadcast-ignored'] ?? 0) + (o.d['drop:ip.bad-source'] ?? 0)).toBeGreaterThanOrEqual(10 * n - o.tunDropped);
    expect(o.d['drop:ip.broadcast-ignored'] ?? 0).toBeGreaterThan(0);
    expect(o.d['IcmpOutDestUnreachs'] ?? 0).toBe(0);
    // Echo replies only to the legit pinger.
    expect(o.d['IcmpOutEchoReps'] ?? 0).toBe(o.lr.ping.sent > 0 ? o.d['IcmpInEchos'] : 0);
  }, 90_000);

  it('after the load stops, no connection is stuck: everything reaches CLOSED or TIME-WAIT', async () => {
    const deadline = Date.now() + 20_000;
    let left: Record<string, unknown>[] = [];
    while (Date.now() < deadline) {
      left = (await live.sockets()).tcp.filter((r) => r['state'] !== 'LISTEN' && r['state'] !== 'TIME-WAIT');
      if (left.length === 0) break;
      await sleep(500);
    }
    expect(left, JSON.stringify(left.slice(0, 5))).toHaveLength(0);
  }, 30_000);
});
