/**
 * TCP Fast Open (RFC 7413): the cookie (SipHash-2-4 of the addresses, checked against Linux's own cookies),
 * the option's parse and emit, the passive path (cookie request, valid cookie, forged cookie, the queue bound
 * under a flood) and the active path (cookie request, SYN with data, data the SYN-ACK did not cover, SYN
 * retransmission without data) on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { RawHarness } from '../helpers/vnet.js';
import { FastOpenCookieCache, FastOpenKeys, fastOpenCookie, parseFastOpenKeys, formatFastOpenKey, fastOpenKeyFromBytes } from '../../src/tcp/fastopen.js';
import { TCP_ACK, TCP_SYN, TcpHeader, decodeTcp, emitTcp, formatTcpOptionBytes, tcpHeaderLength, type TcpEmit } from '../../src/wire/tcp.js';
import type { TcpSocket } from '../../src/tcp/socket.js';

const ipv4 = (s: string): number => s.split('.').reduce((a, b) => ((a << 8) | Number(b)) >>> 0, 0);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const PEER = '10.77.0.1';
const LOCAL = '10.77.0.2';

describe('Fast Open cookie (Linux __tcp_fastopen_cookie_gen_cipher)', () => {
  it('is the SipHash-2-4 of peer and local address under the sysctl key, as Linux 6.18 makes it', () => {
    // Cookies Linux sent in the packetdrill oracle runs (server/simple1.pkt and the suite's default key).
    const out = new Uint8Array(8);
    fastOpenCookie(parseFastOpenKeys('a0bf63f7-ed803d81-cd641d30-cebc4a90')!.primary, ipv4('10.248.0.2'), ipv4('192.168.0.2'), out);
    expect(hex(out)).toBe('00abaaabe8e954c2');
    fastOpenCookie(parseFastOpenKeys('a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4')!.primary, ipv4('192.0.2.1'), ipv4('192.168.0.1'), out);
    expect(hex(out)).toBe('3021b9d889017eeb');
  });

  it('takes the key as 16 raw bytes (TCP_FASTOPEN_KEY) the same as its text form', () => {
    const bytes = Uint8Array.from([0xf7, 0x63, 0xbf, 0xa0, 0x81, 0x3d, 0x80, 0xed, 0x30, 0x1d, 0x64, 0xcd, 0x90, 0x4a, 0xbc, 0xce]);
    expect(formatFastOpenKey(fastOpenKeyFromBytes(bytes))).toBe('a0bf63f7-ed803d81-cd641d30-cebc4a90');
  });

  it('validates under the primary key (1), the backup key (2), and rejects others and other lengths (0)', () => {
    const a = parseFastOpenKeys('00000001-00000002-00000003-00000004')!.primary;
    const b = parseFastOpenKeys('0000000a-0000000b-0000000c-0000000d')!.primary;
    const keys = new FastOpenKeys(a, b);
    const c = new Uint8Array(8);
    fastOpenCookie(a, 1, 2, c);
    expect(keys.check(1, 2, c, 8)).toBe(1);
    expect(keys.check(1, 3, c, 8)).toBe(0); // another address pair
    expect(keys.check(1, 2, c, 4)).toBe(0); // Linux's cookie is 8 bytes
    fastOpenCookie(b, 1, 2, c);
    expect(keys.check(1, 2, c, 8)).toBe(2);
    c[0] ^= 1;
    expect(keys.check(1, 2, c, 8)).toBe(0);
  });

  it('refuses key text that is not four hex words', () => {
    expect(parseFastOpenKeys('a-b-c')).toBeNull();
    expect(parseFastOpenKeys('xyz-00000000-00000000-00000000')).toBeNull();
    expect(parseFastOpenKeys('1-2-3-4,5-6-7-8')!.backup).not.toBeNull();
  });
});

describe('Fast Open option (RFC 7413 §4.1.1, experimental 254/0xF989)', () => {
  function roundTrip(fields: TcpEmit, syn = true): TcpHeader {
    const b = new Uint8Array(tcpHeaderLength(fields));
    emitTcp(b, 0, { ...fields, flags: syn ? TCP_SYN : TCP_ACK }, 0, 1, 2);
    const h = new TcpHeader();
    expect(decodeTcp(b, 0, b.length, h)).toBeUndefined();
    return h;
  }
  const base = { srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_SYN, window: 1000 };

  it('emits a request as FO,nop,nop after the other options and parses it back as length 0', () => {
    const fields: TcpEmit = { ...base, options: { mss: 1460, sackPermitted: true, wscale: 7, fastOpen: { cookie: new Uint8Array(16), len: 0, exp: false } } };
    const b = new Uint8Array(tcpHeaderLength(fields));
    emitTcp(b, 0, fields, 0, 1, 2);
    expect(formatTcpOptionBytes(b, 20, b.length)).toBe('mss 1460,nop,nop,sackOK,nop,wscale 7,FO,nop,nop');
    const h = roundTrip(fields);
    expect(h.foLen).toBe(0);
    expect(h.foExp).toBe(false);
  });

  it('carries an 8-byte cookie in kind 34 and in the experimental form', () => {
    const cookie = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    for (const exp of [false, true]) {
      const h = roundTrip({ ...base, options: { mss: 1460, fastOpen: { cookie, len: 8, exp } } });
      expect(h.foLen).toBe(8);
      expect(h.foExp).toBe(exp);
      expect(hex(h.foCookie.subarray(0, 8))).toBe('0102030405060708');
    }
  });

  it('ignores the option outside SYNs and marks bad lengths invalid (-1), as tcp_parse_fastopen_option', () => {
    const cookie = new Uint8Array(16);
    expect(roundTrip({ ...base, options: { fastOpen: { cookie, len: 8, exp: false } } }, false).foLen).toBe(-1);
    // A 2-byte cookie is below the minimum of 4; an odd length is not even looked at.
    expect(roundTrip({ ...base, rawOptions: Uint8Array.from([34, 4, 0xaa, 0xbb]) }).foLen).toBe(-1);
    expect(roundTrip({ ...base, rawOptions: Uint8Array.from([34, 5, 1, 2, 3, 1, 1, 1]) }).foLen).toBe(-1);
    // An experimental option with another magic is not Fast Open.
    expect(roundTrip({ ...base, rawOptions: Uint8Array.from([254, 4, 0x12, 0x34]) }).foLen).toBe(-1);
  });
});

/** A listener with Fast Open (qlen), the stack's key fixed so the test knows the valid cookie. */
async function fastOpenServer(qlen: number, tcp: Record<string, unknown> = {}) {
  const key = '01020304-05060708-090a0b0c-0d0e0f10';
  const h = new RawHarness({ fastOpen: 0x3, fastOpenKey: key, timestamps: false, ...tcp });
  const accepted: TcpSocket[] = [];
  const server = h.stack.tcp.createServer({ manualAccept: true }, () => undefined);
  server.listen({ port: 8080, backlog: 128, fastOpen: qlen });
  await h.settle();
  const cookie = new Uint8Array(16);
  fastOpenCookie(parseFastOpenKeys(key)!.primary, ipv4(PEER), ipv4(LOCAL), cookie);
  const accept = (): TcpSocket | null => {
    const s = server.accept();
    if (s) accepted.push(s);
    return s;
  };
  return { h, server, cookie, accept };
}

describe('passive Fast Open (RFC 7413 §4.2.2)', () => {
  it('answers a cookie request with the cookie, and takes the SYN data of a valid cookie before the handshake completes', async () => {
    const { h, cookie, accept } = await fastOpenServer(16);
    await h.inject({ srcPort: 40000, dstPort: 8080, seq: 1000, flags: TCP_SYN, options: { mss: 1460, fastOpen: { cookie, len: 0, exp: false } } });
    const [sa] = h.take();
    expect(formatTcpOptionBytes(sa!.bytes, 20, sa!.tcp.headerLength)).toBe(`mss 1460,FO ${hex(cookie.subarray(0, 8))},nop,nop`);
    expect(h.stack.stats.TcpExt.TCPFastOpenCookieReqd).toBe(1);

    const data = new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n');
    await h.inject({ srcPort: 40001, dstPort: 8080, seq: 5000, flags: TCP_SYN, options: { mss: 1460, fastOpen: { cookie, len: 8, exp: false } }, payload: data });
    const [sa2] = h.take();
    expect(sa2!.tcp.flags).toBe(TCP_SYN | TCP_ACK);
    expect(sa2!.tcp.ack).toBe(5001 + data.length); // the data is acknowledged
    expect(sa2!.tcp.headerLength).toBe(24); // no cookie when it was valid
    const s = accept();
    expect(s).not.toBeNull(); // in the accept queue before the final ACK
    expect(s!.read()?.toString()).toBe('GET / HTTP/1.0\r\n\r\n');
    expect(h.stack.stats.TcpExt.TCPFastOpenPassive).toBe(1);
    // The child may answer before the handshake completes.
    s!.write('HTTP/1.0 200 OK\r\n\r\n');
    await h.settle();
    const [reply] = h.take();
    expect(reply!.tcp.seq).toBe(sa2!.tcp.seq + 1);
    expect(reply!.payload.length).toBe(19);
  });

  it('ignores the data of a forged cookie, counts it, and sends the valid cookie', async () => {
    const { h, cookie, accept } = await fastOpenServer(16);
    const forged = cookie.slice();
    forged[3] ^= 0x55;
    await h.inject({ srcPort: 40002, dstPort: 8080, seq: 7000, flags: TCP_SYN, options: { mss: 1460, fastOpen: { cookie: forged, len: 8, exp: true } }, payload: new Uint8Array(100) });
    const [sa] = h.take();
    expect(sa!.tcp.ack).toBe(7001); // the SYN only
    expect(formatTcpOptionBytes(sa!.bytes, 20, sa!.tcp.headerLength)).toBe(`mss 1460,FOEXP ${hex(cookie.subarray(0, 8))}`);
    expect(accept()).toBeNull();
    expect(h.stack.stats.TcpExt.TCPFastOpenPassiveFail).toBe(1);
    expect(h.stack.stats.drops['tcp.fastopen-bad-cookie']).toBe(1);
  });

  it('under a flood of valid-cookie SYNs holds at most qlen pending children; the rest fall back to the 3WHS and other connections get through', async () => {
    const { h, cookie, accept } = await fastOpenServer(4);
    for (let i = 0; i < 50; i++) {
      await h.inject({ srcPort: 41000 + i, dstPort: 8080, seq: 100 * i, flags: TCP_SYN, options: { mss: 1460, fastOpen: { cookie, len: 8, exp: false } }, payload: new Uint8Array(500) });
    }
    const sent = h.take();
    expect(sent).toHaveLength(50);
    const dataAcked = sent.filter((p, i) => p.tcp.ack === 100 * i + 501).length;
    expect(dataAcked).toBe(4);
    expect(h.stack.stats.TcpExt.TCPFastOpenPassive).toBe(4);
    expect(h.stack.stats.TcpExt.TCPFastOpenListenOverflow).toBe(46);
    expect(h.stack.stats.drops['tcp.fastopen-queue-full']).toBe(46);
    // An ordinary client completes its handshake alongside.
    await h.inject({ srcPort: 42000, dstPort: 8080, seq: 9, flags: TCP_SYN, options: { mss: 1460 } });
    const [sa] = h.take();
    await h.inject({ srcPort: 42000, dstPort: 8080, seq: 10, ack: sa!.tcp.seq + 1, flags: TCP_ACK });
    let n = 0;
    while (accept() !== null) n++;
    expect(n).toBe(5);
    // Completing a pending child's handshake frees its place in the queue.
    await h.inject({ srcPort: 41000, dstPort: 8080, seq: 501, ack: sent[0]!.tcp.seq + 1, flags: TCP_ACK });
    await h.inject({ srcPort: 43000, dstPort: 8080, seq: 0, flags: TCP_SYN, options: { mss: 1460, fastOpen: { cookie, len: 8, exp: false } }, payload: new Uint8Array(10) });
    expect(h.take().at(-1)!.tcp.ack).toBe(11);
  });

  it('is off on a listener without a Fast Open queue: the SYN data waits for the handshake', async () => {
    const { h, cookie, accept } = await fastOpenServer(0);
    await h.inject({ srcPort: 40003, dstPort: 8080, seq: 0, flags: TCP_SYN, options: { mss: 1460, fastOpen: { cookie, len: 8, exp: false } }, payload: new Uint8Array(10) });
    const [sa] = h.take();
    expect(sa!.tcp.ack).toBe(1);
    expect(sa!.tcp.headerLength).toBe(24);
    expect(accept()).toBeNull();
  });
});

describe('active Fast Open (RFC 7413 §4.1)', () => {
  it('asks for a cookie, caches it with the MSS, then sends data in the SYN; the SYN-ACK covering it counts as TCPFastOpenActive', async () => {
    const h = new RawHarness({ timestamps: false, sack: false, windowScaling: false });
    const s1 = h.stack.tcp.connect({ host: PEER, port: 80, fastOpen: true, data: new Uint8Array(100) });
    await h.settle();
    const [syn1] = h.take();
    expect(syn1!.payload.length).toBe(0);
    expect(formatTcpOptionBytes(syn1!.bytes, 20, syn1!.tcp.headerLength)).toBe('mss 1460,FO,nop,nop');
    const cookie = Uint8Array.from([9, 8, 7, 6, 5, 4, 3, 2]);
    await h.inject({ srcPort: 80, dstPort: syn1!.tcp.srcPort, seq: 500, ack: syn1!.tcp.seq + 1, flags: TCP_SYN | TCP_ACK, options: { mss: 1000, fastOpen: { cookie, len: 8, exp: false } } });
    const after = h.take();
    expect(after[0]!.payload.length).toBe(100); // the data follows the handshake
    expect(s1.fastOpenInfo()!.synData).toBe(0);
    expect(h.stack.tcp.fastOpen.cache.get(ipv4(PEER))!.mss).toBe(1000);

    const s2 = h.stack.tcp.connect({ host: PEER, port: 80, fastOpen: true, data: new Uint8Array(2000), synDataOnly: true });
    await h.settle();
    const [syn2] = h.take();
    expect(syn2!.payload.length).toBe(960); // cached MSS 1000 less 40 option bytes (tcp_send_syn_data)
    expect(formatTcpOptionBytes(syn2!.bytes, 20, syn2!.tcp.headerLength)).toBe('mss 1460,FO 0908070605040302,nop,nop');
    expect(s2.fastOpenInfo()!.synData).toBe(960);
    await h.inject({ srcPort: 80, dstPort: syn2!.tcp.srcPort, seq: 900, ack: syn2!.tcp.seq + 961, flags: TCP_SYN | TCP_ACK, options: { mss: 1000 } });
    expect(s2.fastOpenInfo()!.synDataAcked).toBe(true);
    expect(h.stack.stats.TcpExt.TCPFastOpenActive).toBe(1);
    const [ack] = h.take();
    expect(ack!.tcp.seq).toBe(syn2!.tcp.seq + 961);
    expect(ack!.payload.length).toBe(0);
  });

  it('sends again at once the SYN data the SYN-ACK did not cover (TCPFastOpenActiveFail)', async () => {
    const h = new RawHarness({ timestamps: false, sack: false, windowScaling: false });
    h.stack.tcp.fastOpen.cache.set(ipv4(PEER), 0, Uint8Array.from([1, 2, 3, 4]), 4, false, false, 0, 0);
    const s = h.stack.tcp.connect({ host: PEER, port: 80, fastOpen: true, data: new Uint8Array(300) });
    await h.settle();
    const [syn] = h.take();
    expect(syn!.payload.length).toBe(300);
    await h.inject({ srcPort: 80, dstPort: syn!.tcp.srcPort, seq: 0, ack: syn!.tcp.seq + 1, flags: TCP_SYN | TCP_ACK, options: { mss: 1460 } });
    const [again] = h.take();
    expect(again!.tcp.seq).toBe(syn!.tcp.seq + 1);
    expect(again!.payload.length).toBe(300);
    expect(h.stack.stats.TcpExt.TCPFastOpenActiveFail).toBe(1);
    expect(s.fastOpenInfo()!.synDataAcked).toBe(false);
  });

  it('retransmits a timed-out SYN without data or option, as Linux', async () => {
    const h = new RawHarness({ timestamps: false, sack: false, windowScaling: false });
    h.stack.tcp.fastOpen.cache.set(ipv4(PEER), 0, Uint8Array.from([1, 2, 3, 4]), 4, false, false, 0, 0);
    h.stack.tcp.connect({ host: PEER, port: 80, fastOpen: true, data: new Uint8Array(50) });
    await h.settle();
    expect(h.take()[0]!.payload.length).toBe(50);
    await h.advance(1000);
    const [rtx] = h.take();
    expect(rtx!.tcp.flags).toBe(TCP_SYN);
    expect(rtx!.payload.length).toBe(0);
    expect(formatTcpOptionBytes(rtx!.bytes, 20, rtx!.tcp.headerLength)).toBe('mss 1460');
  });

  it('defers the SYN of a Fast Open connect() with a cookie to the first write (TCP_FASTOPEN_CONNECT)', async () => {
    const h = new RawHarness({ timestamps: false, sack: false, windowScaling: false });
    h.stack.tcp.fastOpen.cache.set(ipv4(PEER), 0, Uint8Array.from([1, 2, 3, 4]), 4, false, false, 0, 0);
    const s = h.stack.tcp.connect({ host: PEER, port: 80, fastOpen: true });
    await h.settle();
    expect(h.take()).toHaveLength(0);
    expect(s.fastOpenInfo()!.deferred).toBe(true);
    s.write(new Uint8Array(10));
    await h.settle();
    const [syn] = h.take();
    expect(syn!.tcp.flags).toBe(TCP_SYN);
    expect(syn!.payload.length).toBe(10);
  });

  it('bounds the cookie cache', () => {
    const cache = new FastOpenCookieCache();
    for (let i = 0; i < 5000; i++) cache.set(i, 1000, Uint8Array.of(1, 2, 3, 4), 4, false, false, 0, 0);
    expect(cache.size).toBeLessThanOrEqual(1024);
    expect(cache.get(4999)!.cookieLen).toBe(4);
  });
});
