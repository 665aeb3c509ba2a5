/**
 * Input waiting on the link is read before timers fire. An event loop runs expired timers before it polls
 * for I/O, so an ACK that arrived while the process was busy used to be read only after the tail-loss-probe
 * timer had sent a probe for data the peer already had (the demo's D-SACKed retransmissions).
 */
import { describe, it, expect } from 'vitest';
import { RawHarness } from '../helpers/vnet.js';
import { TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

const PEER = 40000;
const PORT = 8080;
const ISN = 1000;

async function sending(bytes: number) {
  const h = new RawHarness({ tailLossProbe: true });
  const accepted: TcpSocket[] = [];
  h.stack.tcp.createServer((s) => accepted.push(s)).listen(PORT);
  await h.settle();
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: 60000, options: { mss: 1000, sackPermitted: true, ts: { val: 1, ecr: 0 } } });
  const [synAck] = h.take();
  const iss = synAck!.tcp.seq;
  const tsEcr = (n: number) => ({ ts: { val: n, ecr: synAck!.tcp.tsVal } });
  await h.advance(1); // an RTT sample of 1 ms from the handshake
  await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 60000, options: tsEcr(2) });
  accepted[0]!.write(new Uint8Array(bytes));
  await h.settle();
  const sent = h.take().filter((c) => c.payload.length > 0);
  return { h, iss, sent, tsEcr };
}

describe('the stack reads waiting input before it fires timers', () => {
  it('an ACK waiting in the link queue when the probe timeout expires cancels the tail loss probe', async () => {
    const { h, iss, sent, tsEcr } = await sending(4940);
    expect(sent).toHaveLength(5);
    h.arrive({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1 + 4940, flags: TCP_ACK, window: 60000, options: tsEcr(3) });
    await h.advance(300); // past the probe timeout (2·SRTT + 2 ms) and the RTO
    expect(h.take().filter((c) => c.payload.length > 0)).toHaveLength(0);
    expect(h.stack.stats.TcpExt.TCPLossProbes).toBe(0);
    expect(h.stack.stats.Tcp.RetransSegs).toBe(0);
    expect(h.stack.stats.gauges?.()['PolledBeforeTimers']).toBe(1);
  });

  it('with nothing waiting the probe still goes: the last segment again after the probe timeout', async () => {
    const { h, iss, sent } = await sending(4940);
    await h.advance(20);
    const probes = h.take().filter((c) => c.payload.length > 0);
    expect(probes.map((c) => c.tcp.seq - iss - 1)).toEqual([3952]);
    expect(h.stack.stats.TcpExt.TCPLossProbes).toBe(1);
    expect(sent).toHaveLength(5);
  });
});
