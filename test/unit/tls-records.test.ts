import { describe, expect, it } from 'vitest';
import { joinLabels, PayloadLabeler } from '../../src/observe/tls-records.js';

// Hand-built TLS (RFC 8446 §4.1.2, §4.1.3, §5.1; RFC 5246 §7.4), HTTP/1.1 and HTTP/2 bytes.
const u16 = (n: number): number[] => [n >> 8, n & 255];
const u24 = (n: number): number[] => [n >> 16, (n >> 8) & 255, n & 255];
const vec2 = (b: number[]): number[] => [...u16(b.length), ...b];
const vec1 = (b: number[]): number[] => [b.length, ...b];
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));
const ext = (type: number, body: number[]): number[] => [...u16(type), ...vec2(body)];
const record = (type: number, body: number[]): number[] => [type, 3, 3, ...u16(body.length), ...body];
const hs = (type: number, body: number[]): number[] => [type, ...u24(body.length), ...body];
const random = new Array<number>(32).fill(7);

function clientHello(sni: string | null, alpn: string[]): number[] {
  const exts: number[] = [];
  if (sni !== null) exts.push(...ext(0, vec2([0, ...vec2(ascii(sni))])));
  if (alpn.length > 0) exts.push(...ext(16, vec2(alpn.flatMap((p) => vec1(ascii(p))))));
  exts.push(...ext(43, vec1([3, 4, 3, 3])));
  return hs(1, [...u16(0x0303), ...random, ...vec1([]), ...vec2([0x13, 0x01, 0xc0, 0x2f]), ...vec1([0]), ...vec2(exts)]);
}

function serverHello(version: number | null, rnd = random): number[] {
  const exts = version !== null ? ext(43, u16(version)) : [];
  return hs(2, [...u16(0x0303), ...rnd, ...vec1([]), 0x13, 0x01, 0, ...vec2(exts)]);
}

/** Feeds whole segments in order from two sides; returns the labels per segment. */
function run(segs: [boolean, number[]][]): { labels: string[][]; app: boolean[]; l: PayloadLabeler } {
  const l = new PayloadLabeler();
  const seq = [1000, 5000];
  l.feed(true, 999, true, new Uint8Array(0));
  l.feed(false, 4999, true, new Uint8Array(0));
  const labels: string[][] = [];
  const app: boolean[] = [];
  for (const [fromA, bytes] of segs) {
    const i = fromA ? 0 : 1;
    const n = l.feed(fromA, seq[i]!, false, new Uint8Array(bytes));
    seq[i] = seq[i]! + bytes.length;
    labels.push(n.labels);
    app.push(n.app);
  }
  return { labels, app, l };
}

describe('TLS records seen in the clear', () => {
  it('names a TLS 1.3 flow: ClientHello with SNI and ALPN, ServerHello by supported_versions, then only "encrypted"', () => {
    const r = run([
      [true, record(22, clientHello('example.test', ['h2', 'http/1.1']))],
      [false, [...record(22, serverHello(0x0304)), ...record(20, [1]), ...record(23, [1, 2, 3]), ...record(23, [4, 5])]],
      [true, [...record(20, [1]), ...record(23, [9, 9])]],
      [false, record(23, [8])],
    ]);
    expect(r.labels[0]).toEqual(['ClientHello (SNI example.test, ALPN h2,http/1.1)']);
    expect(r.labels[1]).toEqual(['ServerHello (TLS 1.3)', 'ChangeCipherSpec (compatibility)', 'encrypted', 'encrypted']);
    expect(r.labels[2]).toEqual(['ChangeCipherSpec (compatibility)', 'encrypted']);
    expect(r.app).toEqual([false, true, true, true]);
    expect(r.l.facts).toMatchObject({ version: 0x0304, sni: 'example.test', alpn: ['h2', 'http/1.1'], alpnChosen: false });
  });

  it('names a TLS 1.2 flow message by message, and the handshake after ChangeCipherSpec as encrypted', () => {
    const r = run([
      [true, record(22, clientHello(null, []))],
      [false, [...record(22, [...serverHello(null), ...hs(11, [0, 0, 0]), ...hs(12, [1, 2]), ...hs(14, [])])]],
      [true, [...record(22, hs(16, [1, 2, 3])), ...record(20, [1]), ...record(22, [0xde, 0xad, 0xbe, 0xef])]],
      [false, [...record(20, [1]), ...record(22, [1, 2, 3, 4, 5])]],
      [true, record(23, [1, 2, 3])],
    ]);
    expect(r.labels[0]).toEqual(['ClientHello']);
    expect(r.labels[1]).toEqual(['ServerHello (TLS 1.2)', 'Certificate', 'ServerKeyExchange', 'ServerHelloDone']);
    expect(r.labels[2]).toEqual(['ClientKeyExchange', 'ChangeCipherSpec', 'encrypted handshake']);
    expect(r.labels[3]).toEqual(['ChangeCipherSpec', 'encrypted handshake']);
    expect(r.labels[4]).toEqual(['application data (encrypted)']);
    // Only the application_data record counts as application data in TLS 1.2.
    expect(r.app).toEqual([false, false, false, false, true]);
    expect(r.l.facts.version).toBe(0x0303);
  });

  it('tells a HelloRetryRequest from a ServerHello by its random (RFC 8446 §4.1.3)', () => {
    const hrr = [0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c];
    const r = run([
      [true, record(22, clientHello(null, []))],
      [false, record(22, serverHello(0x0304, hrr))],
    ]);
    expect(r.labels[1]).toEqual(['HelloRetryRequest (TLS 1.3)']);
    expect(r.l.facts.version).toBeNull();
  });

  it('names a record split across segments on the segment that completes it, and a message split across records', () => {
    const ch = record(22, clientHello('split.test', []));
    const l = new PayloadLabeler();
    l.feed(true, 0, true, new Uint8Array(0));
    expect(l.feed(true, 1, false, new Uint8Array(ch.slice(0, 3))).labels).toEqual([]);
    expect(l.feed(true, 4, false, new Uint8Array(ch.slice(3, 40))).labels).toEqual([]);
    expect(l.feed(true, 41, false, new Uint8Array(ch.slice(40))).labels).toEqual(['ClientHello (SNI split.test)']);
    // A Certificate message (RFC 5246 §6.2.1: messages may span records) in two records.
    const cert = hs(11, new Array<number>(300).fill(1));
    const m = new PayloadLabeler();
    m.feed(false, 0, true, new Uint8Array(0));
    const two = [...record(22, cert.slice(0, 100)), ...record(22, cert.slice(100))];
    expect(m.feed(false, 1, false, new Uint8Array(two)).labels).toEqual(['Certificate']);
  });

  it('reassembles in sequence order: out-of-order segments wait, retransmitted bytes are trimmed', () => {
    const bytes = [...record(22, clientHello('ooo.test', [])), ...record(23, [1, 2, 3, 4])];
    const l = new PayloadLabeler();
    l.feed(true, 99, true, new Uint8Array(0));
    const a = bytes.slice(0, 30);
    const c = bytes.slice(60);
    expect(l.feed(true, 160, false, new Uint8Array(c)).labels).toEqual([]);
    expect(l.feed(true, 100, false, new Uint8Array(a)).labels).toEqual([]);
    // A retransmission overlapping what came already, then the hole filled: both records complete here.
    expect(l.feed(true, 100, false, new Uint8Array(a)).labels).toEqual([]);
    expect(l.feed(true, 120, false, new Uint8Array(bytes.slice(20, 60))).labels).toEqual(['ClientHello (SNI ooo.test)', 'application data (encrypted)']);
  });

  it('never throws on garbage: bytes that are no record turn the direction opaque, named once', () => {
    const l = new PayloadLabeler();
    l.feed(true, 0, true, new Uint8Array(0));
    expect(l.feed(true, 1, false, new Uint8Array([0x16, 3, 9, 0xff, 0xff, 1])).labels).toEqual(['(not a TLS record: not followed further)']);
    expect(l.feed(true, 7, false, new Uint8Array([1, 2, 3])).labels).toEqual([]);
    const g = new PayloadLabeler();
    expect(g.feed(false, 0, false, new Uint8Array([0, 1, 2, 3])).labels).toEqual(['4 bytes of no known format']);
    // Random bytes in every split never throw; truncated hellos are named malformed.
    let x = 12345;
    for (let t = 0; t < 200; t++) {
      const p = new PayloadLabeler();
      const n = 1 + (t % 97);
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (x = (x * 1103515245 + 12345) & 0x7fffffff) & 255;
      if (t % 2 === 0) b[0] = 0x16;
      if (t % 4 === 0) b[1] = 3;
      expect(() => p.feed(t % 3 === 0, 0, false, b)).not.toThrow();
    }
    const h = new PayloadLabeler();
    expect(h.feed(true, 0, false, new Uint8Array(record(22, hs(1, [3, 3, 1])))).labels).toEqual(['ClientHello (malformed)']);
  });

  it('bounds what it holds out of order', () => {
    const l = new PayloadLabeler();
    l.feed(true, 0, true, new Uint8Array(0));
    let last: string[] = [];
    for (let i = 0; i < 70; i++) last = l.feed(true, 1000 + i * 10, false, new Uint8Array([0x17])).labels;
    expect(last).toEqual([]);
    expect(l.feed(true, 5000, false, new Uint8Array([1])).labels).toEqual([]);
  });
});

describe('HTTP seen in the clear', () => {
  it('names HTTP/1.1 request and status lines, not the body', () => {
    const r = run([
      [true, ascii('GET /x HTTP/1.1\r\nHost: a\r\n\r\n')],
      [false, ascii('HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n0123456789')],
      [false, ascii('0123456789012345678901234567890')],
    ]);
    expect(r.labels).toEqual([['GET /x HTTP/1.1'], ['HTTP/1.1 200 OK'], []]);
    expect(r.app).toEqual([true, true, true]);
  });

  it('names the h2c upgrade, the 101, the connection preface and the HTTP/2 frames after it', () => {
    const settings = [...u24(0), 4, 0, 0, 0, 0, 0];
    const settingsAck = [...u24(0), 4, 1, 0, 0, 0, 0];
    const headers1 = [...u24(3), 1, 4, 0, 0, 0, 1, 0x82, 0x86, 0x84];
    const r = run([
      [true, ascii('GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n')],
      [false, [...ascii('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'), ...settings]],
      [true, [...ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), ...settings, ...settingsAck]],
      [false, headers1],
    ]);
    expect(r.labels[0]).toEqual(['GET / HTTP/1.1 (h2c upgrade)']);
    expect(r.labels[1]).toEqual(['HTTP/1.1 101 Switching Protocols', 'h2 SETTINGS']);
    expect(r.labels[2]).toEqual(['HTTP/2 connection preface', 'h2 SETTINGS', 'h2 SETTINGS ACK']);
    expect(r.labels[3]).toEqual(['h2 HEADERS stream 1']);
  });

  it('names HTTP/2 with prior knowledge on both sides', () => {
    const r = run([
      [true, [...ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), ...u24(0), 4, 0, 0, 0, 0, 0]],
      [false, [...u24(0), 4, 0, 0, 0, 0, 0, ...u24(8), 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]],
    ]);
    expect(r.labels).toEqual([['HTTP/2 connection preface', 'h2 SETTINGS'], ['h2 SETTINGS', 'h2 PING']]);
  });
});

describe('HTTP/2 frames larger than a segment', () => {
  it('are named on their header and passed without being held; the next frame is named where it starts', () => {
    const l = new PayloadLabeler();
    l.feed(false, 0, true, new Uint8Array(0));
    l.feed(true, 0, true, new Uint8Array(0));
    l.feed(true, 1, false, new Uint8Array(ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')));
    const big = 100_000;
    expect(l.feed(false, 1, false, new Uint8Array([...u24(big), 0, 0, 0, 0, 0, 3, 1, 2])).labels).toEqual(['h2 DATA stream 3']);
    let seq = 12;
    let left = big - 2;
    while (left > 1000) {
      expect(l.feed(false, seq, false, new Uint8Array(1000)).labels).toEqual([]);
      seq += 1000;
      left -= 1000;
    }
    expect(l.feed(false, seq, false, new Uint8Array([...new Array<number>(left).fill(0), ...u24(0), 4, 1, 0, 0, 0, 0])).labels).toEqual(['h2 SETTINGS ACK']);
  });
});

describe('labels joined for the ladder', () => {
  it('shows a run of the same label once with its count', () => {
    expect(joinLabels(['ServerHello (TLS 1.3)', 'encrypted', 'encrypted', 'encrypted', 'Alert'])).toBe('ServerHello (TLS 1.3); encrypted \u00d73; Alert');
  });
});
