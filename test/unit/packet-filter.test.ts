import { describe, expect, it } from 'vitest';
import { compileFilter } from '../../src/wire/packet-filter.js';

const TCP = 6, UDP = 17, ICMP = 1;

/** A bare IPv4 packet: 20-byte header, then 8 transport bytes (ports first for TCP/UDP). */
function ipv4(proto: number, src: string, dst: string, sport = 0, dport = 0, fragOffset8 = 0): Uint8Array {
  const p = new Uint8Array(28);
  p[0] = 0x45;
  p[3] = 28;
  p[6] = (fragOffset8 >> 8) & 0x1f;
  p[7] = fragOffset8 & 0xff;
  p[8] = 64;
  p[9] = proto;
  p.set(src.split('.').map(Number), 12);
  p.set(dst.split('.').map(Number), 16);
  p[20] = sport >> 8; p[21] = sport & 0xff; p[22] = dport >> 8; p[23] = dport & 0xff;
  return p;
}

function ipv6(nextHeader: number, sport: number, dport: number): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = 0x60;
  p[6] = nextHeader;
  p[40] = sport >> 8; p[41] = sport & 0xff; p[42] = dport >> 8; p[43] = dport & 0xff;
  return p;
}

const web = ipv4(TCP, '10.77.0.1', '10.77.0.2', 40000, 80);
const webReply = ipv4(TCP, '10.77.0.2', '10.77.0.1', 80, 40000);
const ssh = ipv4(TCP, '10.77.0.1', '10.77.0.2', 40001, 22);
const dns = ipv4(UDP, '10.77.0.1', '10.77.0.2', 5353, 53);
const udp80 = ipv4(UDP, '10.77.0.1', '10.77.0.2', 5000, 80);
const ping = ipv4(ICMP, '10.77.0.1', '10.77.0.2');
const other = ipv4(TCP, '10.9.9.9', '10.77.0.2', 1234, 80);
const laterFragment = ipv4(TCP, '10.77.0.1', '10.77.0.2', 0, 80, 185);
const v6web = ipv6(TCP, 40000, 80);

function passes(filter: string, packets: Uint8Array[]): boolean[] {
  const f = compileFilter(filter);
  return packets.map((p) => f(p));
}

describe('capture filters', () => {
  it('tcp port 80 keeps both directions of web traffic and nothing else', () => {
    expect(passes('tcp port 80', [web, webReply, ssh, dns, udp80, ping, laterFragment, v6web])).toEqual([true, true, false, false, false, false, false, true]);
  });

  it('port without a protocol matches TCP and UDP', () => {
    expect(passes('port 80', [web, udp80, ping])).toEqual([true, true, false]);
  });

  it('src and dst qualify ports and hosts', () => {
    expect(passes('dst port 80', [web, webReply])).toEqual([true, false]);
    expect(passes('tcp src port 80', [web, webReply])).toEqual([false, true]);
    expect(passes('src host 10.77.0.1', [web, webReply])).toEqual([true, false]);
    expect(passes('host 10.77.0.1', [web, webReply, other])).toEqual([true, true, false]);
  });

  it('protocols alone', () => {
    expect(passes('udp', [web, dns, ping])).toEqual([false, true, false]);
    expect(passes('icmp', [web, dns, ping])).toEqual([false, false, true]);
    expect(passes('ip', [web, v6web])).toEqual([true, false]);
    expect(passes('ip6', [web, v6web])).toEqual([false, true]);
  });

  it('net matches a prefix', () => {
    expect(passes('src net 10.9.0.0/16', [web, other])).toEqual([false, true]);
    expect(passes('net 0.0.0.0/0', [web])).toEqual([true]);
  });

  it('not binds tighter than and, and than or; parentheses group', () => {
    expect(passes('not port 22', [web, ssh])).toEqual([true, false]);
    expect(passes('icmp or tcp and port 22', [ping, ssh, web])).toEqual([true, true, false]);
    expect(passes('(icmp or tcp) and not port 22', [ping, ssh, web, dns])).toEqual([true, false, true, false]);
    expect(passes('! udp && ! icmp', [web, dns, ping])).toEqual([true, false, false]);
    expect(passes('udp || icmp', [web, dns, ping])).toEqual([false, true, true]);
    expect(passes('TCP PORT 80', [web, ssh])).toEqual([true, false]);
  });

  it('never throws on short or odd packets', () => {
    const f = compileFilter('tcp port 80 or host 10.77.0.1 or icmp6');
    for (const p of [new Uint8Array(0), Uint8Array.of(0x45), new Uint8Array(20).fill(0x45), Uint8Array.of(0x60, 0, 0)]) expect(() => f(p)).not.toThrow();
  });

  it('rejects bad expressions with one line that names the problem', () => {
    const cases: [string, RegExp][] = [
      ['', /empty filter/],
      ['tcp port', /a value expected after 'port'/],
      ['port 70000', /'70000' is not a port number/],
      ['host 10.77.0.300', /not an IPv4 address/],
      ['net 10.0.0.0/33', /not an IPv4 prefix/],
      ['tcp and', /filter ends/],
      ['(tcp or udp', /missing '\)'/],
      ['tcp udp', /unexpected 'udp'/],
      ['sctp', /unknown word 'sctp'/],
      ['src 80', /'host', 'net' or 'port' expected after 'src'/],
      ['tcp & udp', /unexpected '&'/],
    ];
    for (const [text, re] of cases) {
      let message = '';
      try {
        compileFilter(text);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, text).toMatch(re);
      expect(message).not.toContain('\n');
    }
  });
});
