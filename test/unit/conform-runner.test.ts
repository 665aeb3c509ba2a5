import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/conform/runner.js';
import { formatResult, summarize, formatSummary } from '../../src/conform/suite.js';

const PASSIVE = `0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     bind(3, ..., ...) = 0
+0     listen(3, 4) = 0
+0     < S 0:0(0) win 20000 <mss 1000>
+0     > S. 0:0(0) ack 1 <mss 1460>
+0.1   < . 1:1(0) ack 1 win 20000
+0     accept(3, ..., ...) = 4
`;

describe('conform runner and matcher', () => {
  it('passes a correct script', async () => {
    const r = await runScript(PASSIVE + '+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 1\n');
    expect(r.status).toBe('pass');
  });

  it('fails a deliberate wrong expectation at its line with a readable diff', async () => {
    // Line 9 expects ack 5; the stack acknowledges 1.
    const r = await runScript(PASSIVE + '+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 5\n', { name: 'wrong.pkt' });
    expect(r.status).toBe('fail');
    expect(r.line).toBe(9);
    expect(r.reason).toBe('outbound packet mismatch: ack: expected 5, got 1');
    const text = formatResult(r).join('\n');
    expect(text).toContain('FAIL wrong.pkt:9');
    expect(text).toContain('script: +0 > P. 1:11(10) ack 5');
    expect(text).toMatch(/actual: 0\.100 > 8080>40001 P\. 1:11\(10\) ack 1 win \d+/);
  });

  it('reports a timing error with the expected and actual times', async () => {
    const r = await runScript(PASSIVE + '+0 write(4, ..., 10) = 10\n+0.5 > P. 1:11(10) ack 1\n');
    expect(r.status).toBe('fail');
    expect(r.line).toBe(9);
    expect(r.reason).toMatch(/timing error: packet sent at 0\.100, expected 0\.600/);
  });

  it('reports a packet that never comes', async () => {
    const r = await runScript(PASSIVE + '+0 > P. 1:11(10) ack 1\n');
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/expected packet not sent by 0\.104/);
  });

  it('checks option lists in order, and as a set with --relax-option-order', async () => {
    const bsd = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 20000 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 10,sackOK,TS val 9 ecr 1>
`;
    const strict = await runScript(bsd);
    expect(strict.status).toBe('fail');
    expect(strict.reason).toMatch(/option 2: expected nop, got sackOK/);
    const relaxed = await runScript(bsd, { options: ['--relax-option-order'] });
    expect(relaxed.status).toBe('pass');
  });

  it('reports a syscall result mismatch', async () => {
    const r = await runScript(PASSIVE + '+0 read(4, ..., 10) = 10\n');
    expect(r.status).toBe('fail');
    expect(r.reason).toBe('call would block (write \'S...E\' times for a blocking call)');
    const r2 = await runScript(PASSIVE + '+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 read(4, ..., 10) = 10\n');
    expect(r2.reason).toBe('read() returned -1 EAGAIN, expected 10');
    expect(r2.line).toBe(9);
  });

  it('turns mismatches into warnings with --non_fatal=packet', async () => {
    const r = await runScript(PASSIVE + '+0 write(4, ..., 10) = 10\n+0 > P. 1:11(10) ack 5\n', { options: ['--non_fatal=packet'] });
    expect(r.status).toBe('pass');
    expect(r.warnings[0]).toMatch(/ack: expected 5, got 1/);
  });

  it('maps --remote_isn_offset onto the peer sequence space', async () => {
    const r = await runScript(PASSIVE + '+0.01 < P. 1:101(100) ack 1 win 20000\n+0 > . 1:1(0) ack 101\n', { options: ['--remote_isn_offset=4000000000'] });
    expect(r.status).toBe('pass');
  });

  it('reports unsupported constructs instead of running them', async () => {
    const cases: [string, RegExp][] = [
      ['0 `tc qdisc add dev tun0 root netem delay 10ms`\n', /shell command 'tc qdisc/],
      ['0 `sysctl -q net.ipv4.tcp_fastopen_blackhole_timeout_sec=3600`\n', /sysctl net\.ipv4\.tcp_fastopen_blackhole_timeout_sec=3600/],
      ['0 `sysctl -q net.ipv4.tcp_frobnicate=1`\n', /sysctl net\.ipv4\.tcp_frobnicate/],
      ['--ip_version=ipv6\n0 < icmp unreachable frag_needed mtu 1200 [1:11(10)]\n', /ICMP packets with --ip_version=ipv6/],
      ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "bbr", 3) = 0\n', /socket option TCP_CONGESTION/],
      ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 splice(3, NULL, 6, NULL, 1, 0) = 1\n', /system call splice/],
      ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 sendmsg(3, {msg_iov(1)=[{..., 1}]}, MSG_OOB) = 1\n', /sendmsg flag MSG_OOB/],
      ['0 < S 0:0(0) win 1 <mss 1460,frob 0102,nop,nop,nop>\n', /TCP option 'frob'/],
      ['0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 setsockopt(3, IPPROTO_TCP, TCP_MD5SIG, [0], 4) = 0\n', /TCP_MD5SIG/],
      ['0 `grep -c " 0A " /proc/net/tcp`\n', /shell command/],
      ['--wire_server_ip=1.2.3.4\n0 < S 0:0(0) win 1\n', /option --wire_server_ip/],
    ];
    for (const [text, re] of cases) {
      const r = await runScript(text);
      expect(r.status, text).toBe('unsupported');
      expect(r.reason, text).toMatch(re);
    }
    const code = await runScript('0 < S 0:0(0) win 1\n+0 %{ print(1) }%\n', { options: ['--strict_code'] });
    expect(code.status).toBe('unsupported');
  });

  it('maps whitelisted sysctls and ignores defaults.sh housekeeping', async () => {
    const r = await runScript(`0 \`../common/defaults.sh; sysctl -q net.ipv4.tcp_timestamps=0\`
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 20000 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 10>
`);
    expect(r.status).toBe('pass');
  });

  it('fails extra packets only with --strict_tail', async () => {
    const text = '0 < icmp echo_request id 1 seq 1 (8)\n';
    expect((await runScript(text)).status).toBe('pass');
    const r = await runScript(text, { options: ['--strict_tail'] });
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/1 packet\(s\) sent but not expected/);
  });

  it('groups reasons in the summary', async () => {
    const a = await runScript('0 `tc qdisc x`\n');
    const b = await runScript('0 `tc qdisc y`\n');
    const c = await runScript('0 < icmp echo_request id 1 seq 1 (8)\n+0 > icmp echo_reply id 1 seq 2 (8)\n');
    const s = summarize([a, b, c]);
    const text = formatSummary(s).join('\n');
    expect(text).toContain('0 passed / 1 failed / 2 unsupported (3 scripts)');
    expect(s.failReasons.get('outbound packet mismatch: echo')).toBe(1);
  });

  it('times a blocking call written +S...E from the same base as its start (packetdrill run.c)', async () => {
    // Start 0.1 s after the accept (at 0.2), return 0.2 s after the accept (0.3): data arrives 0.1 s after the start.
    const r = await runScript(PASSIVE + '+.1...0.2 read(4, ..., 100) = 100\n+.1 < P. 1:101(100) ack 1 win 20000\n+0 > . 1:1(0) ack 101\n');
    expect(r.status).toBe('pass');
    const late = await runScript(PASSIVE + '+.1...0.2 read(4, ..., 100) = 100\n+.2 < P. 1:101(100) ack 1 win 20000\n');
    expect(late.status).toBe('fail');
    expect(late.reason).toMatch(/blocking call did not return by 0\.3/);
  });

  it('accepts a backquoted command without a time (Linux scripts start with `../common/defaults.sh`)', async () => {
    const r = await runScript('`../common/defaults.sh`\n0 < icmp echo_request id 1 seq 1 (8)\n+0 > icmp echo_reply id 1 seq 1 (8)\n');
    expect(r.status).toBe('pass');
  });

  it('checks TS val against the tick rate only with --tcp_ts_tick_usecs', async () => {
    const text = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 65535 <mss 1460,nop,nop,TS val 1 ecr 0>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,TS val 1000 ecr 1>
+0.1 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 101 ecr 1000>
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1 <nop,nop,TS val 1300 ecr 101>
`;
    expect((await runScript(text)).status).toBe('pass');
    const r = await runScript(text, { options: ['--tcp_ts_tick_usecs=1000'] });
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/TS val 1300: off by -200 ticks/);
  });

  it('fails an inbound TS ecr the stack never sent', async () => {
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 65535 <mss 1460,nop,nop,TS val 1 ecr 0>
+0 > S. 0:0(0) ack 1 <...>
+0.1 < . 1:1(0) ack 1 win 65535 <nop,nop,TS val 101 ecr 777>
`);
    expect(r.status).toBe('fail');
    expect(r.line).toBe(6);
    expect(r.reason).toMatch(/TS ecr 777: the stack never sent/);
  });

  it('sends a pure SYN\'s TS ecr as written: packetdrill maps ecr only on segments with ACK (run_packet.c)', async () => {
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 65535 <mss 1460,nop,nop,TS val 100 ecr 100>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,TS val 100 ecr 100>
`);
    expect(r.status).toBe('pass');
  });

  it('counts our later segments from the live ISN whatever ISN the script gave our SYN-ACK (packetdrill socket.h)', async () => {
    // packetdrill maps only SYNs through live ISN - script ISN; every other sequence and ack number of ours
    // is relative to the live ISN, so after \`S. 1234:1234(0)\` the peer acknowledges 1 and our data starts at 1.
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 1234:1234(0) ack 1 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
`);
    expect(r.status, r.reason).toBe('pass');
  });

  it('lets a SO_REUSEADDR socket bind the port of an accepted SO_REUSEADDR connection, not of a listener (inet_bind_conflict)', async () => {
    const head = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
`;
    const reuse = await runScript(head + `+0 close(3) = 0
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
`);
    expect(reuse.status, reuse.reason).toBe('pass');
    const listening = await runScript(head + `+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
+0 setsockopt(5, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(5, ..., ...) = -1 EADDRINUSE (Address already in use)
`);
    expect(listening.status, listening.reason).toBe('pass');
    const plain = await runScript(head + `+0 close(3) = 0
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = -1 EADDRINUSE (Address already in use)
`);
    expect(plain.status, plain.reason).toBe('pass');
  });

  it('lets accept() reuse a script fd number still open: the newest socket answers to it (packetdrill run_syscall_accept)', async () => {
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 close(3) = 0
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 65535 <mss 1460>
+0 > S. 0:0(0) ack 1 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 65535
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 10) = 10
+0 > P. 1:11(10) ack 1
`);
    expect(r.status, r.reason).toBe('pass');
  });

  it('never throws on garbage', async () => {
    for (const text of ['', '0', '0 <', '0 > S. 1:1(0', '}{', '0 read(', '0 `', '0 %{', '\u0000\u0001']) {
      const r = await runScript(text);
      expect(['pass', 'fail', 'unsupported']).toContain(r.status);
    }
  });
});

describe('segment boundaries', () => {
  const tso = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 20000 <mss 1000>
+0 > S. 0:0(0) ack 1 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 20000
+0 accept(3, ..., ...) = 4
+0 write(4, ..., 3000) = 3000
+0 > P. 1:3001(3000) ack 1
`;
  it('glues segments to match a longer line by default, as packetdrill does', async () => {
    expect((await runScript(tso)).status).toBe('pass');
  });
  it('asks for one line per segment with --strict_segments', async () => {
    const r = await runScript(tso, { options: ['--strict_segments'] });
    expect(r.status).toBe('fail');
    expect(r.reason).toMatch(/outbound packet mismatch/);
  });
});

describe('TCP_MAXSEG', () => {
  it('is 536 before a connection, takes 88..32767 (else EINVAL) before listen/connect, and clamps the MSS', async () => {
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 getsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [536], [4]) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [87], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [32768], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [600], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 20000 <mss 1460>
+0 > S. 0:0(0) ack 1 <mss 600>
`);
    expect(r.status, r.reason).toBe('pass');
  });
  it('after listen() applies to the connections to come (server.setMaxSegment); after connect() is unsupported', async () => {
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [600], 4) = 0
+0 < S 0:0(0) win 20000 <mss 1000>
+0 > S. 0:0(0) ack 1 <mss 600>
`);
    expect(r.status, r.reason).toBe('pass');
    const c = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, [600], 4) = 0
`);
    expect(c.status).toBe('unsupported');
    expect(c.reason).toMatch(/TCP_MAXSEG after connect/);
  });
});

describe('TCP_MAXSEG per socket', () => {
  it('clamps the SYN of the socket that set it only, not of the next one', async () => {
    const r = await runScript(`0 \`sysctl -q net.ipv4.tcp_timestamps=0\`
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_TCP, TCP_MAXSEG, [1000], 4) = 0
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1000,nop,nop,sackOK,nop,wscale 10>
+0 close(3) = 0
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4
+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(4, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 10>
`);
    expect(r.status, r.reason).toBe('pass');
  });
});

describe('NULL buffers', () => {
  it('answer EFAULT on write and on a read with data waiting, and consume nothing', async () => {
    const r = await runScript(PASSIVE + `+0 write(4, NULL, 1000) = -1 EFAULT (Bad address)
+0 send(4, 0, 1000, 0) = -1 EFAULT (Bad address)
+0 < P. 1:101(100) ack 1 win 20000
+0 read(4, NULL, 100) = -1 EFAULT (Bad address)
+0 read(4, ..., 100) = 100
`);
    expect(r.status, r.reason).toBe('pass');
  });
});

describe('ioctl', () => {
  it('answers SIOCINQ with the bytes waiting, SIOCOUTQ with the bytes not yet acknowledged, EINVAL on a listener', async () => {
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 ioctl(3, SIOCINQ, [0]) = -1 EINVAL (Invalid argument)
+0 < S 0:0(0) win 20000 <mss 1000>
+0 > S. 0:0(0) ack 1 <mss 1460>
+0.1 < . 1:1(0) ack 1 win 20000
+0 accept(3, ..., ...) = 4
+0 < P. 1:301(300) ack 1 win 20000
+0 ioctl(4, SIOCINQ, [300]) = 0
+0 write(4, ..., 500) = 500
+0 > P. 1:501(500) ack 301
+0 ioctl(4, SIOCOUTQ, [500]) = 0
+0.1 < . 301:301(0) ack 501 win 20000
+0 ioctl(4, SIOCOUTQ, [0]) = 0
`);
    expect(r.status, r.reason).toBe('pass');
  });
  it('reports other requests as unsupported', async () => {
    const r = await runScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 ioctl(3, SIOCGSTAMP, [0]) = 0\n');
    expect(r.status).toBe('unsupported');
    expect(r.reason).toMatch(/ioctl SIOCGSTAMP/);
  });
});
