/**
 * Behaviours where tunstack once differed from Linux 6.18 (found by running the same packetdrill script on
 * both): each case is a short script run by the conform runner on tunstack, with what Linux did.
 */
import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/conform/runner.js';

const PASSIVE = `\`sysctl -q net.ipv4.tcp_rmem="4096 540000 15728640"\`
0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     bind(3, ..., ...) = 0
+0     listen(3, 4) = 0
+0     < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0     > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
+0     < . 1:1(0) ack 1 win 257
+0     accept(3, ..., ...) = 4
`;

async function expectPass(text: string): Promise<void> {
  const r = await runScript(text);
  expect(r.status === 'pass' ? 'pass' : `${r.status} ${r.line ?? ''} ${r.reason} ${r.details.join(' | ')}`).toBe('pass');
}

describe('behaviours as Linux', () => {
  it('a FIN before any data is ACKed at once: the delayed-ACK timeout (ato) is 0 until the first data', async () => {
    // Linux: icsk_ack.ato starts at 0 and is set (TCP_ATO_MIN) by the first data (tcp_event_data_recv); the
    // delayed ACK of a bare FIN fires at the next tick (captured: 1-5 ms after the FIN).
    await expectPass(PASSIVE + `+.01 < F. 1:1(0) ack 1 win 257
+0 > . 1:1(0) ack 2
+0 read(4, ..., 1000) = 0
`);
  });

  it('a FIN after data waits for the delayed-ACK timer (ato set by the data)', async () => {
    await expectPass(PASSIVE + `+0 < P. 1:101(100) ack 1 win 257
+0 > . 1:1(0) ack 101
+0 read(4, ..., 1000) = 100
+.01 < F. 101:101(0) ack 1 win 257
+.04~+.045 > . 1:1(0) ack 102
`);
  });

  it('after shutdown(SHUT_RD) data still arrives, is ACKed and read; an empty queue reads 0 at once', async () => {
    // Linux tcp_recvmsg copies what is queued first; RCV_SHUTDOWN only ends a read that found nothing.
    await expectPass(PASSIVE + `+.01 shutdown(4, SHUT_RD) = 0
+0 read(4, ..., 1000) = 0
+0 < . 1:1001(1000) ack 1 win 257
+0 > . 1:1(0) ack 1001
+0 read(4, ..., 1000) = 1000
+0 read(4, ..., 1000) = 0
`);
  });

  it('the RST of an abortive close carries the timestamp option with a fresh TSval (Linux tcp_send_active_reset)', async () => {
    await expectPass(`--tcp_ts_tick_usecs=1000
\`sysctl -q net.ipv4.tcp_rmem="4096 540000 15728640"\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 20000 <mss 1000,sackOK,TS val 100 ecr 0>
+0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 100 ecr 100>
+.1 < . 1:1(0) ack 1 win 20000 <nop,nop,TS val 200 ecr 100>
+0 accept(3, ..., ...) = 4
+0 < . 1:1001(1000) ack 1 win 20000 <nop,nop,TS val 201 ecr 100>
+0 > . 1:1(0) ack 1001 <nop,nop,TS val 200 ecr 201>
+1 close(4) = 0
+0 > R. 1:1(0) ack 1001 <nop,nop,TS val 1200 ecr 201>
`);
  });

  it('after answering a SYN-ACK with a bad ACK with RST, the SYN goes again after TCP_TIMEOUT_MIN (2 ticks)', async () => {
    // Linux tcp_rcv_synsent_state_process: "Previous FIN/ACK or RST/ACK might be ignored" — with no
    // retransmission yet, the retransmit timer is re-armed to TCP_TIMEOUT_MIN (captured: 9 ms at HZ=250).
    await expectPass(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+0.01 < S. 0:0(0) ack 5000 win 5000 <mss 1000>
+0 > R 5000:5000(0)
+.008~+.012 > S 0:0(0) <...>
+1 > S 0:0(0) <...>
`);
  });

  it('SYN retransmissions: the first four after a linear 1 s, then backed off (tcp_syn_linear_timeouts = 4)', async () => {
    // Captured on Linux 6.18: SYN at 0, retransmitted at 1, 2, 3, 4, 5, then 7 s.
    await expectPass(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+1 > S 0:0(0) <...>
+1 > S 0:0(0) <...>
+1 > S 0:0(0) <...>
+1 > S 0:0(0) <...>
+1 > S 0:0(0) <...>
+2 > S 0:0(0) <...>
`);
  });

  const WIDE = `\`sysctl -q net.ipv4.tcp_timestamps=0 net.ipv4.tcp_rmem="4096 540000 15728640"\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 65535 <mss 1000,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>
`;

  it('PSH ends every TSO unit cut from a long write (two segments at a 100 ms RTT, tcp_tso_autosize)', async () => {
    // Captured on Linux 6.18 behind packetdrill's TUN: five 2000-byte packets, each with PSH.
    await expectPass(WIDE + `+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 15000) = 15000
+0 > P. 1:2001(2000) ack 1
+0 > P. 2001:4001(2000) ack 1
+0 > P. 4001:6001(2000) ack 1
+0 > P. 6001:8001(2000) ack 1
+0 > P. 8001:10001(2000) ack 1
`);
    // Per segment (offloads off): only each unit's last segment carries PSH.
    const r = await runScript(WIDE + `+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 15000) = 15000
+0 > . 1:1001(1000) ack 1
+0 > P. 1001:2001(1000) ack 1
+0 > . 2001:3001(1000) ack 1
+0 > P. 3001:4001(1000) ack 1
`, { options: ['--strict_segments'] });
    expect(r.status === 'pass' ? 'pass' : `${r.line} ${r.reason}`).toBe('pass');
  });

  it('with one-segment buffers (half the largest window under two segments) PSH comes from forced_push', async () => {
    const r = await runScript(WIDE + `+.1 < . 1:1(0) ack 1 win 28
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 15000) = 15000
+0 > . 1:1001(1000) ack 1
+0 > P. 1001:2001(1000) ack 1
+0 > . 2001:3001(1000) ack 1
`, { options: ['--strict_segments'] });
    expect(r.status === 'pass' ? 'pass' : `${r.line} ${r.reason}`).toBe('pass');
  });

  it('the runner glues segments into one line as packetdrill does: the flags are the last segment\'s', async () => {
    // Two units [1:2001 P] [2001:4001 P] glued; a line without PSH must not match (PSH of the last), and a
    // line ending inside a unit takes that segment's flags (no PSH on the unit's first segment).
    const r = await runScript(WIDE + `+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 15000) = 15000
+0 > . 1:4001(4000) ack 1
`);
    expect(r.reason).toBe('outbound packet mismatch: flags: expected . got P.');
    await expectPass(WIDE + `+.1 < . 1:1(0) ack 1 win 1000
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 15000) = 15000
+0 > . 1:1001(1000) ack 1
+0 > P. 1001:4001(3000) ack 1
`);
  });
});
