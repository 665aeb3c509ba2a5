import { describe, expect, it } from 'vitest';
import { parseScript, stripComments } from '../../src/conform/parse.js';
import { ScriptSyntaxError } from '../../src/conform/ast.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';

function syntaxError(text: string): ScriptSyntaxError {
  try {
    parseScript(text);
  } catch (e) {
    if (e instanceof ScriptSyntaxError) return e;
    throw e;
  }
  throw new Error('expected a syntax error');
}

describe('conform parser', () => {
  it('reads options, comments and the four time forms', () => {
    const s = parseScript(`// header comment
--tolerance_usecs=10000
--strict_time
/* block
   comment */
0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0.1   < S 0:0(0) win 100
*      > S. 0:0(0) ack 1 <...>
0.5~0.7 > . 1:1(0) ack 1
+0.2~+1.2 > . 1:1(0) ack 1
+0...0.25 read(3, ..., 10) = 10
`);
    expect(s.options).toEqual([
      { line: 2, name: 'tolerance_usecs', value: '10000' },
      { line: 3, name: 'strict_time', value: undefined },
    ]);
    expect(s.events.map((e) => e.line)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(s.events[1]!.time).toEqual({ kind: 'point', at: { relative: true, seconds: 0.1 } });
    expect(s.events[2]!.time).toEqual({ kind: 'any' });
    expect(s.events[3]!.time).toEqual({ kind: 'range', from: { relative: false, seconds: 0.5 }, to: { relative: false, seconds: 0.7 } });
    expect(s.events[4]!.time).toEqual({ kind: 'range', from: { relative: true, seconds: 0.2 }, to: { relative: true, seconds: 1.2 } });
    expect(s.events[5]!.time).toEqual({ kind: 'blocking', start: { relative: true, seconds: 0 }, end: { relative: true, seconds: 0.25 } });
  });

  it('parses TCP packet lines: flags, seq, ack, win, urg, options, ports, ip info', () => {
    const s = parseScript(`0 < [ttl 32, tos 0x10] 40001>8080 FP. 1:101(100) ack 7 win 512 urg 3 <mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7,nop,nop,sack 1:2 3:4>
+0 > - 0:0(0)`);
    const a = s.events[0]!.action;
    if (a.kind !== 'packet' || a.packet.proto !== 'tcp') throw new Error('not a TCP packet');
    const p = a.packet;
    expect(p.flags).toBe(TCP_FIN | TCP_PSH | TCP_ACK);
    expect([p.start, p.end, p.len, p.ack, p.win, p.urg]).toEqual([1, 101, 100, 7, 512, 3]);
    expect(p.ports).toEqual({ src: 40001, dst: 8080 });
    expect(p.ip).toEqual({ ttl: 32, tos: 0x10 });
    expect(p.options).toEqual([
      { kind: 'mss', value: 1460 },
      { kind: 'sackOK' },
      { kind: 'ts', val: 1, ecr: 2 },
      { kind: 'nop' },
      { kind: 'wscale', value: 7 },
      { kind: 'nop' },
      { kind: 'nop' },
      { kind: 'sack', blocks: [[1, 2], [3, 4]] },
    ]);
    const b = s.events[1]!.action;
    if (b.kind !== 'packet' || b.packet.proto !== 'tcp') throw new Error('not a TCP packet');
    expect(b.packet.flags).toBe(0);
    expect(b.packet.options).toBeUndefined();
  });

  it('parses syscalls with the expression forms of section 5.1', () => {
    const s = parseScript(`0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 accept(3, ..., ...) = -1 EAGAIN (Resource temporarily unavailable)
+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1
+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0`);
    const calls = s.events.map((e) => (e.action.kind === 'syscall' ? e.action.call : undefined));
    expect(calls[0]!.args[3]).toEqual({ t: 'struct', fields: [{ name: 'onoff', value: { t: 'num', v: 1 } }, { name: 'linger', value: { t: 'num', v: 0 } }] });
    expect(calls[1]!.args[2]).toEqual({ t: 'or', items: [{ t: 'ident', name: 'O_RDWR' }, { t: 'ident', name: 'O_NONBLOCK' }] });
    expect(calls[2]).toMatchObject({ name: 'accept', result: { t: 'num', v: -1 }, errno: 'EAGAIN' });
    expect(calls[3]!.args[0]!.t).toBe('list');
    expect(calls[4]!.args[3]).toEqual({ t: 'list', items: [{ t: 'num', v: 0 }] });
  });

  it('parses UDP and ICMP lines, backquoted commands and code blocks', () => {
    const s = parseScript(`0 \`sysctl -q net.ipv4.tcp_sack=0\`
+0 < udp (100)
+0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]
+0 < [id 7, frag 0:24 mf] icmp echo_request id 1 seq 2 (40)
+0 %{
assert tcpi_snd_cwnd == 10   // python, untouched
}%`);
    expect(s.events[0]!.action).toEqual({ kind: 'shell', command: 'sysctl -q net.ipv4.tcp_sack=0' });
    expect(s.events[1]!.action).toMatchObject({ kind: 'packet', packet: { proto: 'udp', dir: 'in', len: 100 } });
    expect(s.events[2]!.action).toMatchObject({ kind: 'packet', packet: { proto: 'icmp', type: 3, code: 4, mtu: 1200, quote: { proto: 'tcp', start: 1, end: 1461, len: 1460 } } });
    expect(s.events[3]!.action).toMatchObject({ kind: 'packet', packet: { proto: 'icmp', type: 8, echo: { id: 1, seq: 2, len: 40 }, ip: { id: 7, frag: { offset: 0, length: 24, more: true } } } });
    const code = s.events[4]!.action;
    expect(code.kind).toBe('code');
    if (code.kind === 'code') expect(code.code).toContain('// python, untouched');
  });

  it('continues events over lines while brackets are open', () => {
    const s = parseScript(`0 setsockopt(3, SOL_SOCKET, SO_LINGER,
     {onoff=1, linger=0}, 8) = 0
+0 write(3, ..., 1) = 1`);
    expect(s.events.length).toBe(2);
    expect(s.events[1]!.line).toBe(3);
  });

  it('keeps // inside backquotes and strings', () => {
    expect(stripComments('0 `a // b` // c')).toBe('0 `a // b`     ');
  });

  it('reports syntax errors with the line', () => {
    expect(syntaxError('0 < S 0:0(0) win 1\n+0 > S. 0:5(0) ack 1').line).toBe(2);
    expect(syntaxError('0 < S 0:0(0) win 1\n+0 > S. 0:5(0) ack 1').message).toMatch(/END must equal START \+ LEN/);
    expect(syntaxError('0 < S 0:0(0)').message).toMatch(/inbound TCP packet needs win/);
    expect(syntaxError('0 < S 0:0(0) win 1 <...>').message).toMatch(/<\.\.\.> is not allowed on an inbound/);
    expect(syntaxError('0 < S 0:0(0) win 1 <mss 1460,sackOK>').message).toMatch(/not a multiple of 4/);
    expect(syntaxError('+1 < S 0:0(0) win 1').message).toMatch(/first event must be at time 0/);
    expect(syntaxError('0 read(3, ..., 1) = 1\n* write(3, ..., 1) = 1').line).toBe(2);
    expect(syntaxError('0 < Q 0:0(0) win 1').message).toMatch(/expected TCP flags .* but found 'Q 0:0\(0\) win 1'/);
    expect(syntaxError('0 < SX 0:0(0) win 1').message).toMatch(/expected a start sequence number but found 'X/);
    expect(syntaxError('0 < S 0:0(0) win 1\n--late_option').message).toMatch(/after the first event/);
    expect(syntaxError('bogus\n0 < S 0:0(0) win 1').message).toMatch(/line 1: expected an event starting with a time/);
    // A continuation line that does not fit the event is reported at its own line.
    expect(syntaxError('0 < S 0:0(0) win 1\nbogus').message).toMatch(/line 2: unexpected 'bogus' in a TCP packet/);
    expect(syntaxError('0 < S 0:0(0) win 70000').message).toMatch(/16-bit window/);
    expect(syntaxError('0 < icmp unreachable nonsense').message).toMatch(/unknown ICMP code/);
  });

  it('parses unsupported options instead of failing (the runner reports them)', () => {
    const s = parseScript('0 < S 0:0(0) win 1 <mss 1460,frob 0102,nop,nop>');
    const a = s.events[0]!.action;
    if (a.kind !== 'packet' || a.packet.proto !== 'tcp' || !Array.isArray(a.packet.options)) throw new Error('bad parse');
    expect(a.packet.options[1]).toEqual({ kind: 'unsupported', what: "TCP option 'frob'" });
    expect(a.packet.flags).toBe(TCP_SYN);
  });

  it('parses Fast Open options: FO and FOEXP, with a hex cookie or none (a request)', () => {
    const s = parseScript('0 < S 0:0(0) win 1 <mss 1460,FO 0102abcd,FOEXP,nop,nop>');
    const a = s.events[0]!.action;
    if (a.kind !== 'packet' || a.packet.proto !== 'tcp' || !Array.isArray(a.packet.options)) throw new Error('bad parse');
    expect(a.packet.options[1]).toEqual({ kind: 'fastopen', exp: false, cookie: Uint8Array.of(1, 2, 0xab, 0xcd) });
    expect(a.packet.options[2]).toEqual({ kind: 'fastopen', exp: true, cookie: new Uint8Array(0) });
    expect(() => parseScript('0 < S 0:0(0) win 1 <FO 012,nop>')).toThrow(/odd number of hex digits/);
  });
});

describe("packetdrill's struct syntax", () => {
  it('reads name(N)=value and name(...)=... fields', () => {
    const s = parseScript(`0 recvmsg(4, {msg_name(...)=...,
                 msg_iov(1)=[{iov_base=..., iov_len=1000}],
                 msg_control=[{cmsg_len=20, cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=0}],
                 msg_flags=0}, 0) = 1000
`);
    const a = s.events[0]!.action;
    expect(a.kind).toBe('syscall');
    if (a.kind !== 'syscall') return;
    const st = a.call.args[1]!;
    expect(st.t).toBe('struct');
    if (st.t !== 'struct') return;
    expect(st.fields.map((f) => f.name)).toEqual(['msg_name(...)', 'msg_iov(1)', 'msg_control', 'msg_flags']);
    expect(st.fields[0]!.value).toEqual({ t: 'ellipsis' });
  });
});
