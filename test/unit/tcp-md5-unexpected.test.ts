import { describe, expect, it } from 'vitest';
import { TcpHeader, decodeTcp, TCP_ACK, TCP_SYN } from '../../src/wire/tcp.js';
import { runScript } from '../../src/conform/runner.js';
import { parseScript } from '../../src/conform/parse.js';
import { encodeOptions } from '../../src/conform/packets.js';
import { runProcGrep } from '../../src/conform/proc-net-tcp.js';

/** A bare TCP header (no checksum check) with `opts` as its options. */
function segmentWith(opts: number[], flags = TCP_ACK): Uint8Array {
  const hlen = 20 + opts.length;
  const b = new Uint8Array(hlen);
  b[0] = 0x9c;
  b[1] = 0x40;
  b[2] = 0x1f;
  b[3] = 0x90;
  b[12] = (hlen / 4) << 4;
  b[13] = flags;
  b.set(opts, 20);
  return b;
}

const DIGEST = Array.from({ length: 16 }, (_, i) => i);

describe('TCP MD5 signature option (RFC 2385) on the wire', () => {
  it('is seen when kind 19 has length 18', () => {
    const h = new TcpHeader();
    expect(decodeTcp(segmentWith([19, 18, ...DIGEST, 1, 1]), 0, 40, h)).toBeUndefined();
    expect(h.md5Present).toBe(true);
  });
  it('is not seen with another length (Linux tcp_parse_md5sig_option), nor carried over to the next segment', () => {
    const h = new TcpHeader();
    expect(decodeTcp(segmentWith([19, 18, ...DIGEST, 1, 1]), 0, 40, h)).toBeUndefined();
    expect(decodeTcp(segmentWith([19, 6, 0, 0, 0, 0, 1, 1]), 0, 28, h)).toBeUndefined();
    expect(h.md5Present).toBe(false);
    expect(decodeTcp(segmentWith([19, 18, ...DIGEST, 1, 1]), 0, 40, h)).toBeUndefined();
    expect(decodeTcp(segmentWith([], TCP_SYN), 0, 20, h)).toBeUndefined();
    expect(h.md5Present).toBe(false);
  });
});

describe('md5 in script packet lines', () => {
  it('parses `md5 HEX` and encodes kind 19, length 18, the digest', () => {
    const s = parseScript('0 < . 1:1(0) ack 1 win 514 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>\n');
    const a = s.events[0]!.action;
    if (a.kind !== 'packet' || a.packet.proto !== 'tcp' || !Array.isArray(a.packet.options)) throw new Error('not a TCP packet line');
    expect(Array.from(encodeOptions(a.packet.options))).toEqual([19, 18, ...DIGEST, 1, 1]);
  });
  it('takes a shorter digest as packetdrill does (a shorter option), and rejects a longer or odd one', () => {
    const s = parseScript('0 < . 1:1(0) ack 1 win 514 <md5 0102>\n');
    const a = s.events[0]!.action;
    if (a.kind !== 'packet' || a.packet.proto !== 'tcp' || !Array.isArray(a.packet.options)) throw new Error('not a TCP packet line');
    expect(Array.from(encodeOptions(a.packet.options))).toEqual([19, 4, 1, 2]);
    expect(() => parseScript(`0 < . 1:1(0) ack 1 win 514 <md5 ${'00'.repeat(17)},nop,nop>\n`)).toThrow(/longer than 16 bytes/);
    expect(() => parseScript('0 < . 1:1(0) ack 1 win 514 <md5 012,nop,nop>\n')).toThrow(/not a valid hex string/);
  });
});

const LISTEN = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 4) = 0
+0 < S 0:0(0) win 20000 <mss 1000>
+0 > S. 0:0(0) ack 1 <mss 1460>
`;

describe('a signed segment to a socket without a key is dropped', () => {
  it('an MD5-signed ACK does not complete the handshake: the SYN-ACK is retransmitted', async () => {
    const r = await runScript(LISTEN + '+0.1 < . 1:1(0) ack 1 win 20000 <md5 000102030405060708090a0b0c0d0e0f,nop,nop>\n+0.9 > S. 0:0(0) ack 1 <mss 1460>\n');
    expect(r.status, r.reason).toBe('pass');
  });
  it('without the option the same ACK completes it', async () => {
    const r = await runScript(LISTEN + '+0.1 < . 1:1(0) ack 1 win 20000\n+0 accept(3, ..., ...) = 4\n');
    expect(r.status, r.reason).toBe('pass');
  });
});

describe('grep over /proc/net/tcp in shell lines', () => {
  const files = (path: string): string | undefined =>
    path === '/proc/net/tcp' ? 'header\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000\n' : path === '/proc/net/tcp6' ? 'header6\n' : undefined;
  it('prefixes file names with several files and pipes into the next grep', () => {
    expect(runProcGrep('grep " 0A " /proc/net/tcp /proc/net/tcp6 | grep ":1F90"', files)).toEqual({ status: 0, output: '/proc/net/tcp:   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000' });
    expect(runProcGrep("grep ' 0A ' /proc/net/tcp", files)?.output).toBe('   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000');
  });
  it('exits 1 when no line matches', () => {
    expect(runProcGrep('grep " 0A " /proc/net/tcp | grep ":0050"', files)).toEqual({ status: 1, output: '' });
  });
  it('takes nothing else: flags, regular expressions, other files, other commands', () => {
    for (const c of ['grep -c " 0A " /proc/net/tcp', 'grep "0A.*" /proc/net/tcp', 'grep x /etc/passwd', 'cat /proc/net/tcp | grep x', 'grep x'])
      expect(runProcGrep(c, files), c).toBeUndefined();
  });
  it("shows the stack's listener (192.0.2.1 order-swapped, port 8080, LISTEN) and fails the script on status 1", async () => {
    const ok = await runScript(LISTEN + '+0 `grep " 0A " /proc/net/tcp /proc/net/tcp6 | grep ":1F90"`\n');
    expect(ok.status, ok.reason).toBe('pass');
    const bad = await runScript(LISTEN + '+0 `grep " 0A " /proc/net/tcp | grep ":1F91"`\n');
    expect(bad.status).toBe('fail');
    expect(bad.reason).toMatch(/exited with status 1/);
    // The half-open connection is a SYN_RECV (03) line.
    const half = await runScript(LISTEN + '+0 `grep " 03 " /proc/net/tcp | grep ":1F90"`\n');
    expect(half.status, half.reason).toBe('pass');
  });
});
