import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/conform/runner.js';

const PASSIVE = `0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     bind(3, ..., ...) = 0
+0     listen(3, 4) = 0
+0     < S 0:0(0) win 20000 <mss 1000>
+0     > S. 0:0(0) ack 1 <mss 1460>
+0.1   < . 1:1(0) ack 1 win 20000
+0     accept(3, ..., ...) = 4
`;

async function expectPass(text: string): Promise<void> {
  const r = await runScript(text, { name: 't.pkt' });
  expect(r.reason ?? '').toBe('');
  expect(r.status).toBe('pass');
}

async function expectFail(text: string, reason: RegExp): Promise<void> {
  const r = await runScript(text, { name: 't.pkt' });
  expect(r.status).toBe('fail');
  expect(r.reason).toMatch(reason);
}

describe('runner: epoll_create / epoll_ctl / epoll_wait', () => {
  it('edge-triggered: reported once per wakeup, not while data just stays', async () => {
    await expectPass(
      PASSIVE +
        `+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLOUT|EPOLLET, fd=4}) = 0
+0 epoll_wait(5, {events=EPOLLOUT, fd=4}, 1, 0) = 1
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
+0 < P. 1:101(100) ack 1 win 20000
+0 epoll_wait(5, {events=EPOLLIN|EPOLLOUT, fd=4}, 1, 0) = 1
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
+0 read(4, ..., 50) = 50
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
+0 close(5) = 0
`,
    );
  });

  it('level-triggered: reported as long as the data stays', async () => {
    await expectPass(
      PASSIVE +
        `+0 epoll_create1(0) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
+0 < P. 1:101(100) ack 1 win 20000
+0 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1
+0 epoll_wait(5, {events=EPOLLIN, fd=4}, 1, 0) = 1
+0 read(4, ..., 100) = 100
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
`,
    );
  });

  it('a blocking epoll_wait returns when data arrives, or at its timeout', async () => {
    await expectPass(
      PASSIVE +
        `+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, u64=77}) = 0
+0...0.1 epoll_wait(5, {events=EPOLLIN, u64=77}, 1, -1) = 1
+.1 < P. 1:101(100) ack 1 win 20000
+0 read(4, ..., 100) = 100
+0...0.05 epoll_wait(5, {events=0, ptr=0}, 1, 50) = 0
`,
    );
  });

  it('checks the reported events and data', async () => {
    await expectFail(
      PASSIVE +
        `+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN|EPOLLOUT, fd=4}) = 0
+0 epoll_wait(5, {events=EPOLLIN|EPOLLOUT, fd=4}, 1, 0) = 1
`,
      /epoll_wait event 0: events EPOLLOUT, expected EPOLLIN\|EPOLLOUT/,
    );
  });

  it("answers bad arguments with Linux's errno", async () => {
    await expectPass(
      PASSIVE +
        `+0 epoll_create(0) = -1 EINVAL (Invalid argument)
+0 epoll_create1(1) = -1 EINVAL (Invalid argument)
+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 9, {events=EPOLLIN, fd=9}) = -1 EBADF (Bad file descriptor)
+0 epoll_ctl(4, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = -1 EINVAL (Invalid argument)
+0 epoll_ctl(5, EPOLL_CTL_ADD, 5, {events=EPOLLIN, fd=5}) = -1 EINVAL (Invalid argument)
+0 epoll_ctl(5, EPOLL_CTL_MOD, 4, {events=EPOLLIN, fd=4}) = -1 ENOENT (No such file or directory)
+0 epoll_ctl(5, EPOLL_CTL_DEL, 4, {events=EPOLLIN, fd=4}) = -1 ENOENT (No such file or directory)
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = 0
+0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, fd=4}) = -1 EEXIST (File exists)
+0 epoll_wait(5, {events=0, ptr=0}, 0, 0) = -1 EINVAL (Invalid argument)
+0 epoll_wait(4, {events=0, ptr=0}, 1, 0) = -1 EINVAL (Invalid argument)
+0 epoll_ctl(5, EPOLL_CTL_DEL, 4, {events=EPOLLIN, fd=4}) = 0
`,
    );
  });
});

describe('runner: TCP_INQ and recvmsg with TCP_CM_INQ', () => {
  it('reports the bytes left after each recvmsg, and 1 once the FIN is in', async () => {
    await expectPass(
      PASSIVE +
        `+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0
+0 getsockopt(4, SOL_TCP, TCP_INQ, [1], [4]) = 0
+0 < P. 1:3001(3000) ack 1 win 20000
+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 1000}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=2000}]}, 0) = 1000
+0 < F. 3001:3001(0) ack 1 win 20000
+0 recvmsg(4, {msg_name(...)=..., msg_iov(2)=[{..., 500}, {..., 1500}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=1}]}, 0) = 2000
+0 read(4, ..., 10) = 0
`,
    );
  });

  it('fails a wrong TCP_CM_INQ value', async () => {
    await expectFail(
      PASSIVE +
        `+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0
+0 < P. 1:3001(3000) ack 1 win 20000
+0 recvmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 1000}], msg_flags=0, msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=1000}]}, 0) = 1000
`,
      /TCP_CM_INQ: 2000, expected 1000/,
    );
  });

  it("answers bad values with Linux's errno", async () => {
    await expectPass(
      PASSIVE +
        `+0 setsockopt(4, SOL_TCP, TCP_INQ, [2], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 2) = -1 EINVAL (Invalid argument)
+0 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [-1], 4) = -1 EINVAL (Invalid argument)
+0 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [2500], 4) = 0
+0 getsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [2500], [4]) = 0
`,
    );
  });
});

describe('runner: TCP_MAXSEG on a listener', () => {
  it('applies to connections that arrive afterwards', async () => {
    await expectPass(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 setsockopt(3, SOL_TCP, TCP_MAXSEG, [1100], 4) = 0
+0 getsockopt(3, SOL_TCP, TCP_MAXSEG, [1100], [4]) = 0
+0 < S 0:0(0) win 20000 <mss 1300>
+0 > S. 0:0(0) ack 1 <mss 1100>
+0.1 < . 1:1(0) ack 1 win 20000
+0 accept(3, ..., ...) = 4
+0 getsockopt(4, SOL_TCP, TCP_MAXSEG, [1100], [4]) = 0
`);
  });
});

describe('runner: getsockopt TCP_INFO with a struct of tcpi_ fields', () => {
  it('compares each field written, with tcp_info symbols', async () => {
    await expectPass(
      PASSIVE +
        `+0 getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_state=TCP_ESTABLISHED, tcpi_ca_state=TCP_CA_Open, tcpi_snd_mss=1000, tcpi_advmss=1460, tcpi_snd_cwnd=10, tcpi_total_retrans=0, tcpi_rto=...}, [232]) = 0
+0 write(4, ..., 100) = 100
+0 > P. 1:101(100) ack 1
+.3 > P. 1:101(100) ack 1
+0 getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_ca_state=TCP_CA_Loss, tcpi_retransmits=1, tcpi_backoff=1, tcpi_total_retrans=1, tcpi_snd_cwnd=1}, [232]) = 0
`,
    );
  });

  it('fails a wrong field and reports a field the stack does not keep as unsupported', async () => {
    await expectFail(PASSIVE + `+0 getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_snd_cwnd=7}, [232]) = 0\n`, /TCP_INFO tcpi_snd_cwnd: 10, expected 7/);
    const r = await runScript(PASSIVE + `+0 getsockopt(4, SOL_TCP, TCP_INFO, {tcpi_pacing_rate=1}, [232]) = 0\n`, { name: 't.pkt' });
    expect(r.status).toBe('unsupported');
    expect(r.reason).toMatch(/TCP_INFO field tcpi_pacing_rate/);
  });
});

describe('runner: epoll on a socket that connects after it was added', () => {
  it('follows the new connection: EPOLLOUT once the handshake completes', async () => {
    await expectPass(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 epoll_create(1) = 5
+0 epoll_ctl(5, EPOLL_CTL_ADD, 3, {events=EPOLLOUT|EPOLLET, fd=3}) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
+.1 < S. 0:0(0) ack 1 win 20000 <mss 1000>
+0 > . 1:1(0) ack 1
+0 epoll_wait(5, {events=EPOLLOUT, fd=3}, 1, 0) = 1
+0 epoll_wait(5, {events=0, ptr=0}, 1, 0) = 0
`);
  });
});
