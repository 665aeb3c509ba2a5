/**
 * The runner's send-side calls (src/conform/syscalls-send.ts, script-files.ts): sendmsg's iovec sum, the
 * run-local files of `dd`/`rm` for open()/sendfile(), send flags, and the send-side socket options.
 */
import { describe, it, expect } from 'vitest';
import { runScript } from '../../src/conform/runner.js';
import { applyFileCommand, readScriptFile, type ScriptFiles } from '../../src/conform/script-files.js';
import { iovLength, sendOptionsOf } from '../../src/conform/syscalls-send.js';
import { SYMBOLS } from '../../src/conform/constants.js';
import type { Expr } from '../../src/conform/ast.js';

const ACCEPTED = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 20000 <mss 1000>
+0 > S. 0:0(0) ack 1 <mss 1460>
+0.01 < . 1:1(0) ack 1 win 20000
+0 accept(3, ..., ...) = 4
`;

describe('script files (dd / rm / open)', () => {
  it('dd if=/dev/zero makes a run-local file of zeros; rm removes it; other commands are not files', () => {
    const files: ScriptFiles = new Map();
    expect(applyFileCommand(files, '/bin/dd bs=1 count=5 if=/dev/zero of=/tmp/x status=none')).toMatch(/5 zero bytes/);
    expect(readScriptFile(files, '/tmp/x', undefined)).toEqual(new Uint8Array(5));
    expect(applyFileCommand(files, '/bin/rm -f /tmp/x')).toMatch(/removed/);
    expect(readScriptFile(files, '/tmp/x', undefined)).toBeUndefined();
    expect(applyFileCommand(files, 'dd if=/dev/urandom of=/tmp/y bs=1 count=1')).toBeUndefined();
    expect(applyFileCommand(files, 'tc qdisc add dev tun0 root netem')).toBeUndefined();
  });

  it('open() of a missing file answers ENOENT; sendfile() on a file fd sends its bytes', async () => {
    const r = await runScript(`${ACCEPTED}+0 open("/nonexistent/tunstack-none", O_RDONLY) = -1 ENOENT (No such file or directory)
0 \`dd if=/dev/zero of=/tmp/f bs=10 count=2\`
+0 open("/tmp/f", O_RDONLY) = 5
+0 sendfile(4, 5, [5], 100) = 15
+0 > P. 1:16(15) ack 1
+0 sendfile(4, 7, [0], 1) = -1 EBADF (Bad file descriptor)
`);
    expect(r.status, r.reason).toBe('pass');
  });
});

describe('sendmsg and send flags', () => {
  it('sums the iovec lengths of a msghdr', () => {
    const iov = (n: number): Expr => ({ t: 'struct', fields: [{ name: undefined, value: { t: 'ellipsis' } }, { name: undefined, value: { t: 'num', v: n } }] });
    const msg: Expr = { t: 'struct', fields: [{ name: 'msg_iov(3)', value: { t: 'list', items: [iov(0), iov(40), iov(7)] } }, { name: 'msg_flags', value: { t: 'num', v: 0 } }] };
    expect(iovLength(msg, (e) => (e.t === 'num' ? e.v : 0), 1)).toBe(47);
  });

  it('maps MSG_MORE and MSG_EOR onto the socket API, ignoring other flags', () => {
    expect(sendOptionsOf(SYMBOLS['MSG_MORE']!)).toEqual({ more: true });
    expect(sendOptionsOf(SYMBOLS['MSG_EOR']! | SYMBOLS['MSG_DONTWAIT']!)).toEqual({ eor: true });
    expect(sendOptionsOf(0)).toEqual({});
  });

  it('sendmsg with ancillary data is unsupported, MSG_OOB too', async () => {
    const anc = await runScript(`${ACCEPTED}+0 sendmsg(4, {msg_iov(1)=[{..., 1}], msg_control(1)=[{...}]}, 0) = 1\n`);
    expect(anc.status).toBe('unsupported');
    expect(anc.reason).toMatch(/ancillary/);
    const oob = await runScript(`${ACCEPTED}+0 send(4, ..., 1, MSG_OOB) = 1\n`);
    expect(oob.status).toBe('unsupported');
  });
});

describe('send-side socket options', () => {
  it('TCP_CORK and TCP_NOTSENT_LOWAT set before accept() are inherited and read back', async () => {
    const r = await runScript(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 setsockopt(3, SOL_TCP, TCP_CORK, [1], 4) = 0
+0 setsockopt(3, SOL_TCP, TCP_NOTSENT_LOWAT, [1234], 4) = 0
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 20000 <mss 1000>
+0 > S. 0:0(0) ack 1 <mss 1460>
+0.01 < . 1:1(0) ack 1 win 20000
+0 accept(3, ..., ...) = 4
+0 getsockopt(4, SOL_TCP, TCP_CORK, [1], [4]) = 0
+0 getsockopt(4, SOL_TCP, TCP_NOTSENT_LOWAT, [1234], [4]) = 0
+0 write(4, ..., 10) = 10
+0.1 setsockopt(4, SOL_TCP, TCP_CORK, [0], 4) = 0
+0 > P. 1:11(10) ack 1
`);
    expect(r.status, r.reason).toBe('pass');
  });

  it('net.ipv4.tcp_notsent_lowat=-1 is "no limit"; a number sets the stack default', async () => {
    const r = await runScript('0 `sysctl -q net.ipv4.tcp_notsent_lowat=-1`\n0 `sysctl -q net.ipv4.tcp_notsent_lowat=9000`\n');
    expect(r.status).toBe('pass');
    const bad = await runScript('0 `sysctl -q net.ipv4.tcp_notsent_lowat=lots`\n');
    expect(bad.status).not.toBe('pass');
  });
});
