/**
 * Linux tcp_clean_rtx_queue / tcp_skb_spurious_retrans (RFC 8985 §6.2 step 2, with timestamps): a retransmitted
 * segment cumulatively acknowledged by an ACK whose TSecr predates the retransmission was delivered by its
 * original — the ACK says nothing about when the retransmission arrived, so it does not become RACK's most
 * recent delivery (else every segment sent before the retransmission looks overtaken and is declared lost).
 */
import { describe, it, expect } from 'vitest';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import { rackOnAck } from '../../src/tcp/rack.js';
import { SEG_EVER_RETRANS } from '../../src/tcp/sent-log.js';
import type { Tcb } from '../../src/tcp/tcb.js';

async function connection(): Promise<{ net: Vnet; c: Tcb }> {
  const net = new Vnet({ tcpB: { seed: 2 } });
  let conn: Tcb | null = null;
  net.b.tcp.createServer((s) => (conn = s.connection as unknown as Tcb)).listen(80);
  net.a.tcp.connect({ host: B_ADDR, port: 80 });
  await net.until(() => conn !== null, 5000, 'accept');
  return { net, c: conn! };
}

/** Segments [1000, 4000) sent at t=100, the first retransmitted at t=150; SND.UNA moves past it (an ACK at t=152). */
function setup(c: Tcb): void {
  c.sent.clear();
  c.sent.recordSend(1000, 3000, 1000, 100);
  c.sent.recordSend(1000, 1000, 0, 150);
  expect(c.sent.flags(c.sent.slot(0)) & SEG_EVER_RETRANS).toBe(SEG_EVER_RETRANS);
  c.rack.reset();
  c.rack.minRtt = 0;
  c.sndUna = 2000;
  c.sndMax = 4000;
}

describe('RACK: a retransmission acknowledged for its original does not advance RACK', () => {
  it('TSecr before the retransmission left: no RACK update; TSecr at or after it: RACK.xmit_ts is the retransmission', async () => {
    const { net, c } = await connection();
    expect(c.tsOk).toBe(true);
    setup(c);
    rackOnAck(c, 0, 152, c.tsNow(100)); // echoes the original's TSval
    expect(c.rack.xmitTs).toBe(-1);
    expect(c.rack.delivered).toBe(1); // delivered all the same
    setup(c);
    rackOnAck(c, 0, 152, c.tsNow(150)); // echoes the retransmission's
    expect(c.rack.xmitTs).toBe(150);
    setup(c);
    rackOnAck(c, 0, 152, 0); // no timestamp echoed: Linux cannot tell either, and takes it
    expect(c.rack.xmitTs).toBe(150);
    c.sent.clear();
    net.close();
  });
});
