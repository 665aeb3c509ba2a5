import { describe, it, expect } from 'vitest';
import { RawHarness } from '../helpers/vnet.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../../src/wire/tcp.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

const PEER = 40001;
const PORT = 8080;
const ISN = 1000;

describe('data for a closed socket in FIN-WAIT-1 (Linux tcp_rcv_state_process, TCPAbortOnData)', () => {
  it('is answered as a segment for no connection: RST with SEQ = SEG.ACK and no ACK, and the connection is gone', async () => {
    const h = new RawHarness();
    const accepted: TcpSocket[] = [];
    h.stack.tcp.createServer((s) => accepted.push(s)).listen(PORT);
    await h.settle();
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: 20000, options: { mss: 1460 } });
    const iss = h.take()[0]!.tcp.seq;
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 20000 });
    accepted[0]!.destroy();
    await h.settle();
    const [fin] = h.take();
    expect(fin!.tcp.flags & TCP_FIN).toBeTruthy();
    // The peer has not seen our FIN yet: its data acknowledges only our SYN.
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_PSH, window: 20000, payload: new Uint8Array(1) });
    const [rst] = h.take();
    expect(rst!.tcp.flags).toBe(TCP_RST);
    expect(rst!.tcp.seq).toBe((iss + 1) >>> 0);
    expect(h.stack.stats.TcpExt.TCPAbortOnData).toBe(1);
    expect(h.stack.tcp.socketTable().filter((r) => r.state !== 'LISTEN')).toHaveLength(0);
  });
});
