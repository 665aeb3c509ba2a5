/**
 * The runner's --ip_version (packetdrill's: ipv4, ipv4-mapped-ipv6, ipv6): over IPv6 the script's packets
 * cross an IPv6 wire (src/conform/ip-translate.ts), so the stack's IPv6 TCP is what answers — its MSS is the
 * MTU − 60 — and a checksum the script spoiled on purpose stays spoiled.
 */
import { describe, expect, it } from 'vitest';
import { runScript } from '../../src/conform/runner.js';
import { Ipv6Translation, DEFAULT_LOCAL_IP6, DEFAULT_REMOTE_IP6 } from '../../src/conform/ip-translate.js';
import { parseIpv6, pseudoHeaderSum6, type Ipv6Words } from '../../src/wire/ipv6.js';
import { emitTcp, decodeTcp, TcpHeader, TCP_SYN } from '../../src/wire/tcp.js';
import { emitIpv4 } from '../../src/wire/ipv4.js';
import { pseudoHeaderSum } from '../../src/wire/checksum.js';

const PASSIVE = `0      socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0     bind(3, ..., ...) = 0
+0     listen(3, 4) = 0
+0     < S 0:0(0) win 20000 <mss 1000>
+0     > S. 0:0(0) ack 1 <mss MSS>
+0.1   < . 1:1(0) ack 1 win 20000
+0     accept(3, ..., ...) = 4
+0     write(4, ..., 10) = 10
+0     > P. 1:11(10) ack 1
`;

const L4 = 0xc0a80002; // 192.168.0.2
const R4 = 0xc0000201; // 192.0.2.1
const L6 = parseIpv6(DEFAULT_LOCAL_IP6) as Ipv6Words;
const R6 = parseIpv6(DEFAULT_REMOTE_IP6) as Ipv6Words;

function syn4(badChecksum = false): Uint8Array {
  const p = new Uint8Array(40);
  emitTcp(p, 20, { srcPort: 40000, dstPort: 8080, seq: 1, ack: 0, flags: TCP_SYN, window: 1000 }, 0, R4, L4);
  if (badChecksum) p[37]! ^= 1;
  emitIpv4(p, 0, { totalLength: 40, id: 0, dontFragment: true, ttl: 64, protocol: 6, src: R4, dst: L4, tos: 0 });
  return p;
}

describe('conform --ip_version', () => {
  it('ipv6: the handshake and data run over IPv6, the MSS is MTU − 60 (1460 at --mtu=1520, 1440 at 1500)', async () => {
    const ok = await runScript(PASSIVE.replace('MSS', '1460'), { options: ['--ip_version=ipv6', '--mtu=1520'] });
    expect(ok.status, ok.reason).toBe('pass');
    const at1500 = await runScript(PASSIVE.replace('MSS', '1460'), { options: ['--ip_version=ipv6'] });
    expect(at1500.status).toBe('fail');
    expect(at1500.reason).toMatch(/1440/);
  });

  it('ipv4-mapped-ipv6: AF_INET6 sockets on mapped addresses, IPv4 on the wire (MSS 1460 at 1500)', async () => {
    const r = await runScript(PASSIVE.replace('MSS', '1460'), { options: ['--ip_version=ipv4-mapped-ipv6'] });
    expect(r.status, r.reason).toBe('pass');
  });

  it('ipv6: an injected ICMP is unsupported; an unknown --ip_version is an option error', async () => {
    const icmp = await runScript(PASSIVE.replace('MSS', '1460') + '+0 < icmp unreachable frag_needed mtu 1200 [1:11(10)]\n', { options: ['--ip_version=ipv6', '--mtu=1520'] });
    expect(icmp.status).toBe('unsupported');
    const bad = await runScript(PASSIVE, { options: ['--ip_version=ipv5'] });
    expect(bad.status).toBe('fail');
  });

  it('the translation moves the checksum to the IPv6 pseudo-header and back; a spoiled one stays spoiled', () => {
    const t = new Ipv6Translation(L4, R4, L6, R6);
    for (const bad of [false, true]) {
      const v6 = t.inbound(syn4(bad)) as Uint8Array;
      expect(v6[0]! >> 4).toBe(6);
      const h = new TcpHeader();
      const err = decodeTcp(v6, 40, 20, h, pseudoHeaderSum6(R6, L6, 6, 20));
      expect(err).toBe(bad ? 'bad-checksum' : undefined);
      // back again (as if the stack had sent it from the remote's view): a valid IPv4 checksum when it was valid
      const swapped = v6.slice();
      swapped.set(v6.subarray(24, 40), 8);
      swapped.set(v6.subarray(8, 24), 24);
      const v4 = t.outbound(swapped)!;
      expect(decodeTcp(v4, 20, 20, h, pseudoHeaderSum(L4, R4, 6, 20))).toBe(bad ? 'bad-checksum' : undefined);
    }
    expect(t.inbound(new Uint8Array(28).fill(0x45, 0, 1))).toMatch(/IP protocol 0/);
  });
});
