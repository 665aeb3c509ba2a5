import { describe, expect, it } from 'vitest';
import { RawHarness } from '../helpers/vnet.js';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

const PEER = 40001;
const PORT = 8080;
const ISN = 1000;
/** An MD5 signature option (kind 19, length 18, a 16-byte digest) and two NOPs: 20 bytes. */
const MD5 = Uint8Array.from([19, 18, ...Array.from({ length: 16 }, (_, i) => 0xa0 + i), 1, 1]);

describe('segments signed with MD5 to sockets without a key (Linux tcp_inbound_md5_hash)', () => {
  it('are dropped and counted for a listener, a half-open and an established connection; TIME-WAIT and no-socket paths are not touched', async () => {
    const h = new RawHarness();
    const accepted: TcpSocket[] = [];
    h.stack.tcp.createServer((s) => accepted.push(s)).listen(PORT);
    await h.settle();
    // A signed SYN: no SYN-ACK.
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: 20000, options: { mss: 1460 }, rawOptions: MD5 });
    expect(h.take()).toHaveLength(0);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN, flags: TCP_SYN, window: 20000, options: { mss: 1460 } });
    const iss = h.take()[0]!.tcp.seq;
    // A signed ACK: the handshake stays open.
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 20000, rawOptions: MD5 });
    expect(accepted).toHaveLength(0);
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK, window: 20000 });
    expect(accepted).toHaveLength(1);
    // Signed data: not acknowledged.
    await h.inject({ srcPort: PEER, dstPort: PORT, seq: ISN + 1, ack: iss + 1, flags: TCP_ACK | TCP_PSH, window: 20000, payload: new Uint8Array(10), rawOptions: MD5 });
    await h.advance(500);
    expect(h.take().filter((p) => p.tcp.ack === ISN + 11)).toHaveLength(0);
    expect(h.stack.stats.TcpExt.TCPMD5Unexpected).toBe(3);
    expect(h.stack.stats.drops['tcp.md5-unexpected']).toBe(3);
    // A signed segment for no socket is answered with RST as any other (the check needs a socket).
    await h.inject({ srcPort: PEER, dstPort: PORT + 1, seq: ISN, flags: TCP_SYN, window: 20000, rawOptions: MD5 });
    expect(h.take()).toHaveLength(1);
    expect(h.stack.stats.TcpExt.TCPMD5Unexpected).toBe(3);
  });
});
