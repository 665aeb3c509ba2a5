/** `ss -i`'s ECN and loss-recovery fields, under iproute2's names and in its order (tcp_show_info). */
import { describe, it, expect } from 'vitest';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import { tcpInfoLine } from '../../src/control/ss-format.js';
import { ecnSegmentArrives, ECN_CE, ECN_NOT_ECT, ECN_OK, ECN_SEEN } from '../../src/tcp/ecn.js';
import { recoveryInfo } from '../../src/tcp/recovery-info.js';
import { SEG_LOST, SEG_SACKED } from '../../src/tcp/sent-log.js';
import type { Tcb } from '../../src/tcp/tcb.js';

describe('ss -i: ecn, ecnseen, lost, dsack_dups, reordering, reord_seen', () => {
  it('prints them where iproute2 does: flags after sack, counts after retrans; reordering only when not 3', () => {
    const row = {
      srtt: 10,
      rttvar: 5,
      mss: 1448,
      cwnd: 10,
      retrans: 4,
      internals: { timestamps: true, sack: true, ecn: true, ecnSeen: true, congestionControl: 'cubic', lost: 2, dsackDups: 3, reordering: 17, reordSeen: 5, retransNow: 1 },
    };
    const line = tcpInfoLine(row);
    expect(line).toMatch(/^ts sack ecn ecnseen cubic /);
    expect(line).toContain('retrans:1/4 lost:2 dsack_dups:3 reordering:17 reord_seen:5');
    const plain = tcpInfoLine({ ...row, internals: { ...row.internals, ecn: false, ecnSeen: false, lost: 0, dsackDups: 0, reordering: 3, reordSeen: 0 } });
    expect(plain).not.toMatch(/ecn|lost|dsack_dups|reordering|reord_seen/);
  });

  it('from a connection: 25% reordering raises reordering and reord_seen; lost counts marked segments; ecnseen follows ECT/CE arrivals', async () => {
    const net = new Vnet({ tcpA: { seed: 1 }, tcpB: { seed: 2 }, impairB: 'out:delay=5ms,out:reorder=25%,seed=4' });
    let conn: Tcb | null = null;
    const data = Buffer.alloc(1_000_000, 1);
    net.b.tcp.createServer((s) => {
      conn = s.connection as unknown as Tcb;
      s.write(data);
    }).listen(80);
    let len = 0;
    net.a.tcp.connect({ host: B_ADDR, port: 80 }).on('data', (d: Buffer) => (len += d.length));
    await net.until(() => len === data.length, 60_000, 'download');
    const c = conn!;
    const info = recoveryInfo(c);
    expect(info.reordSeen).toBeGreaterThan(0);
    expect(info.reordering).toBeGreaterThan(3);
    expect(info.reordering).toBeLessThanOrEqual(300);
    const row = net.b.tcp.socketTable().find((r) => r.local.endsWith(':80') && r.state === 'ESTAB');
    expect(row?.internals?.reordSeen).toBe(info.reordSeen);
    expect(tcpInfoLine(row as unknown as Record<string, unknown>)).toContain(`reordering:${info.reordering}`);
    // lost: segments marked lost, not those SACKed.
    c.sent.clear();
    c.sent.recordSend(c.sndUna, 3 * c.smss, c.smss, net.clock.now());
    c.sent.setFlags(c.sent.slot(0), SEG_LOST);
    c.sent.setFlags(c.sent.slot(1), SEG_LOST | SEG_SACKED);
    expect(recoveryInfo(c).lost).toBe(1);
    c.sent.clear();
    // ecnseen: set by an ECT or CE segment on an ECN connection, never by not-ECT.
    c.ecnFlags = ECN_OK;
    ecnSegmentArrives(c, 0, ECN_NOT_ECT, 100);
    expect(c.ecnFlags & ECN_SEEN).toBe(0);
    ecnSegmentArrives(c, 0, ECN_CE, 100);
    expect(recoveryInfo(c)).toMatchObject({ ecn: true, ecnSeen: true });
    net.close();
  });
});
