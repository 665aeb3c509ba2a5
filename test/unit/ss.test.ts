/** `tunstack ss`: iproute2's filter grammar (subset) and its table / -i / -m layout. */
import { describe, expect, it } from 'vitest';
import { parseSsFilter, ssFilterMatches, tokenizeSsFilter, type SsFilter } from '../../src/control/ss-filter.js';
import { formatSocketTable, skmemLine, ssState, tcpInfoLine } from '../../src/control/ss-format.js';

function parse(...args: string[]): SsFilter {
  const f = parseSsFilter(args);
  if (f instanceof Error) throw f;
  return f;
}
const row = (state: string, local: string, peer: string) => ({ state, local, peer });
const est = row('ESTAB', '10.77.0.2:80', '10.77.0.1:40000');
const out = row('ESTAB', '10.77.0.2:51000', '10.77.0.1:443');
const listen = row('LISTEN', '0.0.0.0:80', '0.0.0.0:*');
const tw = row('TIME-WAIT', '10.77.0.2:80', '10.9.0.1:40001');

describe('ss filter: parsing', () => {
  it('tokenizes operators, parentheses and words (an IPv4 endpoint stays one word)', () => {
    expect(tokenizeSsFilter('( sport = :80 or dport != :443 )&& !dst 10.77.0.1:22')).toEqual(['(', 'sport', '=', ':80', 'or', 'dport', '!=', ':443', ')', '&&', '!', 'dst', '10.77.0.1:22']);
    expect(tokenizeSsFilter('sport>=:1024')).toEqual(['sport', '>=', ':1024']);
  });

  it('state names and groups as ss.c scan_state knows them; exclude alone starts from all', () => {
    expect([...parse('state', 'established').states]).toEqual(['ESTAB']);
    expect([...parse('state', 'listening', 'state', 'time-wait').states].sort()).toEqual(['LISTEN', 'TIME-WAIT']);
    expect(parse('state', 'connected').states.has('LISTEN')).toBe(false);
    expect(parse('state', 'connected').states.has('SYN-SENT')).toBe(true);
    expect(parse('state', 'synchronized').states.has('SYN-SENT')).toBe(false);
    expect([...parse('state', 'bucket').states].sort()).toEqual(['SYN-RECV', 'TIME-WAIT']);
    expect(parse('exclude', 'listening').states.size).toBe(10);
    expect(parse('state', 'ESTABLISHED').states.has('ESTAB')).toBe(true);
    expect(parse().statesGiven).toBe(false);
  });

  it('one clear line for what it does not parse', () => {
    const err = (...a: string[]) => (parseSsFilter(a) as Error).message;
    expect(err('state', 'listen')).toMatch(/^ss filter: wrong state name: listen \(known: established, /);
    expect(err('state')).toBe("ss filter: 'state' needs a state name");
    expect(err('foo')).toMatch(/^ss filter: unexpected "foo"/);
    expect(err('sport', '=', ':http')).toMatch(/port "http" is not a number \(port names like :http are not supported/);
    expect(err('dport', '=', ':70000')).toMatch(/out of range/);
    expect(err('dst', 'example.com')).toMatch(/an inet prefix is expected rather than "example.com"/);
    expect(err('dst', '10.0.0.0/33')).toMatch(/bad prefix length/);
    expect(err('dport', '=', ':443', 'or')).toBe('ss filter: an expression is missing at the end');
    expect(err('(', 'sport', ':80')).toBe("ss filter: ')' expected");
    expect(err('sport', ':80', ')')).toBe('ss filter: unexpected ")"');
    expect(err('dev', 'tun0')).toMatch(/'dev' is not supported/);
    expect(err('sport', ':80', 'state', 'established')).toMatch(/'state' goes before the expression/);
    expect(err('src', '>', '10.0.0.1')).toMatch(/src takes = or !=/);
    expect(err('dst', '[::1]:80')).toMatch(/IPv6 addresses are not supported/);
    for (const e of [err('foo'), err('state', 'x'), err('sport', ':x')]) expect(e).not.toContain('\n');
  });
});

describe('ss filter: matching', () => {
  const m = (f: SsFilter, r: { state: string; local: string; peer: string }) => ssFilterMatches(f, r);

  it('sport / dport with every comparison, the colon optional', () => {
    expect(m(parse('sport', '=', ':80'), est)).toBe(true);
    expect(m(parse('sport = :80'), out)).toBe(false);
    expect(m(parse('sport', ':80'), est)).toBe(true);
    expect(m(parse('sport', 'eq', '80'), est)).toBe(true);
    expect(m(parse('dport = :443'), out)).toBe(true);
    expect(m(parse('dport != :443'), out)).toBe(false);
    expect(m(parse('sport > :1024'), out)).toBe(true);
    expect(m(parse('sport gt :1024'), est)).toBe(false);
    expect(m(parse('sport <= :80'), est)).toBe(true);
    expect(m(parse('sport lt :80'), est)).toBe(false);
    expect(m(parse('dport ge :40000'), est)).toBe(true);
  });

  it('src / dst: an address, a prefix, a port, *:port, negation', () => {
    expect(m(parse('dst 10.77.0.1'), est)).toBe(true);
    expect(m(parse('dst 10.77.0.9'), est)).toBe(false);
    expect(m(parse('dst 10.77.0.0/24'), est)).toBe(true);
    expect(m(parse('dst 10.0.0.0/8'), tw)).toBe(true);
    expect(m(parse('dst 10.77.0.0/16'), tw)).toBe(false);
    expect(m(parse('dst 10.77.0.1:443'), out)).toBe(true);
    expect(m(parse('dst 10.77.0.1:443'), est)).toBe(false);
    expect(m(parse('src *:80'), est)).toBe(true);
    expect(m(parse('src :80'), listen)).toBe(true);
    expect(m(parse('src 10.77.0.2'), listen)).toBe(false);
    expect(m(parse('dst != 10.77.0.1'), tw)).toBe(true);
    expect(m(parse('dst 0.0.0.0/0'), est)).toBe(true);
  });

  it('and (implicit too) binds tighter than or; not; parentheses; state first', () => {
    expect(m(parse('sport = :80 dport = :40000'), est)).toBe(true);
    expect(m(parse('sport = :80 and dport = :1'), est)).toBe(false);
    expect(m(parse('sport = :1 or dport = :443'), out)).toBe(true);
    expect(m(parse('sport = :1 or sport = :80 and dport = :1'), est)).toBe(false);
    expect(m(parse('( sport = :1 or sport = :80 ) and dport = :40000'), est)).toBe(true);
    expect(m(parse('not sport = :80'), est)).toBe(false);
    expect(m(parse('! dst 10.77.0.1'), tw)).toBe(true);
    expect(m(parse('state', 'established', 'sport = :80'), est)).toBe(true);
    expect(m(parse('state', 'established', 'sport = :80'), tw)).toBe(false);
    expect(m(parse('state', 'established'), listen)).toBe(false);
    expect(m(parse('exclude', 'listening'), listen)).toBe(false);
  });
});

const estRow = {
  state: 'ESTAB',
  recvQ: 0,
  sendQ: 14480,
  local: '10.77.0.2:80',
  peer: '10.77.0.1:40000',
  cwnd: 10,
  ssthresh: 7,
  srtt: 0.5,
  rttvar: 0.25,
  rto: 204,
  mss: 1448,
  wscale: '7,7',
  bytesAcked: 100,
  bytesReceived: 7,
  retrans: 2,
  rcvBuf: 131072,
  sndBuf: 16384,
  internals: {
    congestionControl: 'cubic',
    timestamps: true,
    sack: true,
    backoff: 0,
    advMss: 1460,
    rcvMss: 536,
    pmtu: 1500,
    bytesSent: 14580,
    segsOut: 12,
    segsIn: 9,
    lastSnd: 4,
    lastRcv: 8,
    lastAck: 4,
    minRtt: 0.125,
    rcvRtt: 0,
    rcvSpace: 14600,
    sndWnd: 64000,
    rcvWnd: 65160,
    retransNow: 0,
    notSent: 0,
  },
};

describe('ss output', () => {
  it('state names like ss', () => {
    expect(ssState('ESTABLISHED')).toBe('ESTAB');
    expect(ssState('syn_received')).toBe('SYN-RECV');
    expect(ssState('TIME-WAIT')).toBe('TIME-WAIT');
    expect(ssState('CLOSED')).toBe('UNCONN');
  });

  it('-i: the fields in tcp_show_info order and names, zeros left out, send = cwnd·mss·8/srtt', () => {
    expect(tcpInfoLine(estRow)).toBe(
      'ts sack cubic wscale:7,7 rto:204 rtt:0.5/0.25 mss:1448 pmtu:1500 rcvmss:536 advmss:1460 cwnd:10 ssthresh:7 bytes_sent:14580 bytes_acked:100 bytes_received:7 ' +
        'segs_out:12 segs_in:9 send 231680000bps lastsnd:4 lastrcv:8 lastack:4 retrans:0/2 rcv_space:14600 minrtt:0.125 snd_wnd:64000 rcv_wnd:65160',
    );
    expect(tcpInfoLine({ state: 'ESTAB', rto: 1000, id: 3, shard: 1 })).toBe('rto:1000 id:3 shard:1');
  });

  it('-m: skmem like sock_diag (r, rb, t, tb, f, w, o, bl, d)', () => {
    expect(skmemLine(estRow)).toBe('skmem:(r0,rb131072,t0,tb16384,f0,w14480,o0,bl0,d0)');
    expect(skmemLine({ recvQueue: 3, drops: 2 }, true)).toBe('skmem:(r3,rb0,t0,tb0,f0,w0,o0,bl0,d2)');
    expect(skmemLine({ state: 'LISTEN', recvQ: 2, sendQ: 511, rcvBuf: 0, sndBuf: 0 })).toBe('skmem:(r0,rb0,t0,tb0,f0,w0,o0,bl0,d0)');
  });

  it('the table like ss -tuan: Netid with both tables, addresses right-aligned on the colon', () => {
    const t = formatSocketTable(
      [{ state: 'LISTEN', recvQ: 0, sendQ: 128, local: '0.0.0.0:80', peer: '0.0.0.0:*' }, estRow],
      [{ localAddress: '0.0.0.0', localPort: 53, remoteAddress: '', remotePort: 0, recvQueue: 0, drops: 0 }],
    );
    expect(t.split('\n')).toEqual([
      'Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port',
      'tcp   LISTEN 0      128          0.0.0.0:80        0.0.0.0:*',
      'tcp   ESTAB  0      14480      10.77.0.2:80      10.77.0.1:40000',
      'udp   UNCONN 0      0            0.0.0.0:53        0.0.0.0:*',
    ]);
  });

  it('-t without Netid; a one-state filter drops the State column (as ss does); -i and -m lines under the row', () => {
    const tcp = [{ state: 'LISTEN', recvQ: 0, sendQ: 128, local: '0.0.0.0:80', peer: '0.0.0.0:*' }, estRow];
    const t = formatSocketTable(tcp, [], { tcp: true, info: true, memory: true, filter: parse('state', 'established') }).split('\n');
    expect(t[0]).toBe('Recv-Q Send-Q Local Address:Port Peer Address:Port');
    expect(t[1]).toBe('0      14480      10.77.0.2:80      10.77.0.1:40000');
    expect(t[2]).toBe('\t skmem:(r0,rb131072,t0,tb16384,f0,w14480,o0,bl0,d0)');
    expect(t[3]).toMatch(/^\t ts sack cubic wscale:7,7 rto:204 /);
    expect(t).toHaveLength(4);
    const l = formatSocketTable(tcp, [], { tcp: true, info: true, filter: parse('sport = :80') }).split('\n');
    expect(l[0]).toMatch(/^State +Recv-Q/);
    expect(l[1]).toMatch(/^LISTEN /);
    expect(formatSocketTable(tcp, [], { filter: parse('dport = :9') }).split('\n')).toHaveLength(1);
    expect(formatSocketTable(null, [])).toMatch(/\(no TCP sockets: this build of tunstack has no TCP layer\)$/);
  });
});
