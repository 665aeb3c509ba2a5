import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/conform/runner.js';
import { ECN_CE, ECN_ECT0, ECN_NOT_ECT, ecnSynAccepted } from '../../src/tcp/ecn.js';
import { TCP_CWR, TCP_ECE, TCP_SYN } from '../../src/wire/tcp.js';

const ECN_SERVER = `0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     bind(3, ..., ...) = 0
+0     listen(3, 4) = 0
+0     < SEW 0:0(0) win 20000 <mss 1000>
+0     > SE. 0:0(0) ack 1 <mss 1460>
+0.1   < . 1:1(0) ack 1 win 20000
+0     accept(3, ..., ...) = 4
`;

describe('classic ECN (RFC 3168, src/tcp/ecn.ts)', () => {
  it('accepts a SYN only with ECE and CWR, not-ECT, and tcp_ecn on', () => {
    expect(ecnSynAccepted(2, TCP_SYN | TCP_ECE | TCP_CWR, ECN_NOT_ECT)).toBe(true);
    expect(ecnSynAccepted(1, TCP_SYN | TCP_ECE | TCP_CWR, ECN_NOT_ECT)).toBe(true);
    expect(ecnSynAccepted(0, TCP_SYN | TCP_ECE | TCP_CWR, ECN_NOT_ECT)).toBe(false);
    expect(ecnSynAccepted(2, TCP_SYN | TCP_ECE, ECN_NOT_ECT)).toBe(false);
    expect(ecnSynAccepted(2, TCP_SYN | TCP_ECE | TCP_CWR, ECN_ECT0)).toBe(false);
    expect(ecnSynAccepted(2, TCP_SYN | TCP_ECE | TCP_CWR, ECN_CE)).toBe(false);
  });

  it('marks new data ECT(0) and its retransmission not-ECT', async () => {
    const r = await runScript(ECN_SERVER + '+0 write(4, ..., 1000) = 1000\n+0 > [ect0] P. 1:1001(1000) ack 1\n+0.3 > [noecn] P. 1:1001(1000) ack 1\n');
    expect(r.status, r.reason).toBe('pass');
  });

  it('reports a wrong ECN field by name', async () => {
    const r = await runScript(ECN_SERVER + '+0 write(4, ..., 1000) = 1000\n+0 > [ce] P. 1:1001(1000) ack 1\n');
    expect(r.status).toBe('fail');
    expect(r.reason).toContain('ECN field: expected ce, got ect0');
  });

  it('answers an ECT-marked ECN SYN without ECE (a middlebox rewrites the field)', async () => {
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < [ect0] SEW 0:0(0) win 20000 <mss 1000>
+0 > S. 0:0(0) ack 1 <mss 1460>
`);
    expect(r.status).toBe('pass');
  });

  it('drops ECN on a retransmitted SYN (Linux tcp_ecn_clear_syn)', async () => {
    const r = await runScript(`\`sysctl -q net.ipv4.tcp_ecn=1\`
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > SEW 0:0(0) <...>
+1 > S 0:0(0) <...>
`);
    expect(r.status, r.reason).toBe('pass');
  });

  it('answers an AccECN SYN with classic ECN under tcp_ecn=2, as Linux 6.18 (AccECN needs tcp_ecn 3..5)', async () => {
    const acc = await runScript(ECN_SERVER.replace('< SEW', '< SEWA'));
    expect(acc.status, acc.reason).toBe('pass');
    const mode = await runScript('`sysctl -q net.ipv4.tcp_ecn=3`\n' + ECN_SERVER.replace('< SEW', '< SEWA').replace('> SE. 0:0(0) ack 1 <mss 1460>', '> S.2 0:0(0) ack 1 <mss 1460,ECN e1b 1 ceb 0 e0b 1,nop>'));
    expect(mode.status, mode.reason).toBe('pass');
  });
});

describe('the reduction for ECE (Linux tcp_enter_cwr, PRR in CWR)', () => {
  const SCRIPT = `\`sysctl -q net.ipv4.tcp_congestion_control=reno\`
0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     bind(3, ..., ...) = 0
+0     listen(3, 1) = 0
+0     < SEW 0:0(0) win 32792 <mss 1000,nop,nop,sackOK,nop,wscale 7>
+0     > SE. 0:0(0) ack 1 <...>
+.1    < . 1:1(0) ack 1 win 500
+0     accept(3, ..., ...) = 4
+0     write(4, ..., 30000) = 30000
+0     > [ect0] P. 1:10001(10000) ack 1
+.1    < E. 1:1(0) ack 1001 win 500
+0     > [ect0] W. 10001:11001(1000) ack 1
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_ca_state=TCP_CA_CWR, tcpi_snd_cwnd=10, tcpi_snd_ssthresh=5}, [232]) = 0
+.01   < . 1:1(0) ack 2001 win 500
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_ca_state=TCP_CA_CWR, tcpi_snd_cwnd=9}, [232]) = 0
`;

  it('enters CWR with ssthresh = cwnd/2 and walks cwnd down by PRR instead of cutting it', async () => {
    const r = await runScript(SCRIPT);
    expect(r.status, r.reason).toBe('pass');
  });

  it('ends CWR once SND.UNA passes the SND.NXT of the ECE, with cwnd = ssthresh', async () => {
    const acks = [3001, 4001, 5001, 6001, 7001, 8001, 9001, 10001].map((a) => `+.01   < . 1:1(0) ack ${a} win 500\n`).join('');
    const r = await runScript(
      SCRIPT +
        acks.replace('ack 3001 win 500\n', 'ack 3001 win 500\n+0 > [ect0] . 11001:12001(1000) ack 1\n').replace('ack 5001 win 500\n', 'ack 5001 win 500\n+0 > [ect0] . 12001:13001(1000) ack 1\n').replace('ack 7001 win 500\n', 'ack 7001 win 500\n+0 > [ect0] . 13001:14001(1000) ack 1\n') +
        `+0     > [ect0] . 14001:15001(1000) ack 1
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_ca_state=TCP_CA_CWR}, [232]) = 0
+.01   < . 1:1(0) ack 11001 win 500
+0     > [ect0] . 15001:16001(1000) ack 1
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_ca_state=TCP_CA_Open, tcpi_snd_cwnd=5, tcpi_snd_ssthresh=5}, [232]) = 0
`,
    );
    expect(r.status, r.reason).toBe('pass');
  });
});

describe('loss recovery inside the CWR window (Linux tcp_enter_recovery from TCP_CA_CWR)', () => {
  const BASE = `\`sysctl -q net.ipv4.tcp_congestion_control=reno\`
0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     bind(3, ..., ...) = 0
+0     listen(3, 1) = 0
+0     < SEW 0:0(0) win 32792 <mss 1000,nop,nop,sackOK,nop,wscale 7>
+0     > SE. 0:0(0) ack 1 <...>
+.1    < . 1:1(0) ack 1 win 500
+0     accept(3, ..., ...) = 4
+0     write(4, ..., 30000) = 30000
+0     > [ect0] P. 1:10001(10000) ack 1
+.1    < E. 1:1(0) ack 1001 win 500
+0     > [ect0] W. 10001:11001(1000) ack 1
+.01   < E. 1:1(0) ack 1001 win 500 <sack 2001:5001,nop,nop>
+0     > . 1001:2001(1000) ack 1
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_ca_state=TCP_CA_Recovery, tcpi_snd_ssthresh=5}, [232]) = 0
`;

  it('keeps the ssthresh of the ECE, and a D-SACK undo gives nothing back (prior_ssthresh 0)', async () => {
    const r = await runScript(
      BASE +
        `+.01   < . 1:1(0) ack 5001 win 500 <sack 1001:2001,nop,nop>
+0     > [ect0] . 11001:12001(1000) ack 1
+0     getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_snd_ssthresh=5}, [232]) = 0
`,
    );
    expect(r.status, r.reason).toBe('pass');
  });
});
