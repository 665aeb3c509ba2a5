/** The dashboard's routes on the bundled server (virtual network), the pcap trace, the ladder and `top` rendering. */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vnet } from '../helpers/vnet.js';
import { RawClient, request } from '../helpers/http-client.js';
import { startBundledHttp } from '../../src/http/bundled.js';
import { tokenMatches } from '../../src/http/dashboard.js';
import { LadderText, traceSvg } from '../../src/observe/ladder.js';
import { pickConnection, tcpConnectionsOf } from '../../src/observe/pcap-trace.js';
import { tracePcap } from '../../src/observe/trace.js';
import { renderTop, type TopSnapshot } from '../../src/observe/top.js';
import { PcapWriter, type PcapSink } from '../../src/wire/pcap.js';
import { Writable } from 'node:stream';

let net: Vnet | null = null;
afterEach(() => {
  net?.close();
  net = null;
});

function sink(): { out: Writable; text: () => string } {
  let s = '';
  const out = new Writable({
    write(c: Buffer, _e, cb) {
      s += c.toString();
      cb();
    },
  });
  return { out, text: () => s };
}

describe('observe: dashboard routes', () => {
  it('serves the page, a snapshot, connection rows; 404 for unknown ids; read-only', async () => {
    net = new Vnet();
    startBundledHttp(net.b, { port: 80 });
    const page = await request(net, { path: '/_stack/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body.length).toBeGreaterThan(2000);
    const html = page.body.toString();
    expect(html).toContain('"/_stack/events"');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org)/); // self-contained, no CDN
    // A connection that stays open across the requests below (each request's own connection is gone after it:
    // its TIME-WAIT is a small record without a connection row).
    const idle = new RawClient(net);
    await idle.until((c) => c.connected);
    const snap = JSON.parse((await request(net, { path: '/_stack/snapshot' })).body.toString()) as { conns: { id: number; state: string }[]; listeners: { port: number; backlog: number }[] };
    expect(snap.listeners.some((l) => l.port === 80)).toBe(true);
    const own = snap.conns.filter((c) => c.state === 'ESTAB').sort((x, y) => x.id - y.id)[0];
    expect(own).toBeDefined();
    const row = await request(net, { path: `/_stack/conn/${own!.id}` });
    expect(row.status).toBe(200);
    expect(JSON.parse(row.body.toString()).id).toBe(own!.id);
    const missing = await request(net, { path: '/_stack/conn/987654' });
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toMatch(/unknown connection id '987654'/);
    const ev404 = await request(net, { path: '/_stack/events?conn=987654' });
    expect(ev404.status).toBe(404);
    expect((await request(net, { path: '/_stack/events?port=99999' })).status).toBe(400);
    expect((await request(net, { path: '/_stack/events', method: 'POST', body: 'x' })).status).toBe(405);
    expect((await request(net, { path: '/_stack/snapshot', method: 'DELETE' })).status).toBe(405);
  });

  it('streams events over SSE: data lines with a hello, then counters at the sample rate', async () => {
    net = new Vnet();
    net.b.feed.sampleMs = 50;
    startBundledHttp(net.b, { port: 80 });
    const c = new RawClient(net);
    c.send('GET /_stack/events HTTP/1.1\r\nHost: 10.0.0.2\r\nAccept: text/event-stream\r\n\r\n');
    await c.until((x) => (x.text().match(/^data: /gm) ?? []).length >= 6, 10_000, 'six events');
    const t = c.text();
    expect(t).toMatch(/^HTTP\/1\.1 200 /);
    expect(t).toMatch(/content-type: text\/event-stream/i);
    const events = [...t.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!) as { type: string });
    expect(events[0]!.type).toBe('hello');
    expect(events.some((e) => e.type === 'counters')).toBe(true);
    expect(net.b.feed.subscriberCount).toBe(1);
    c.sock.destroy();
    await net.run(200);
    expect(net.b.feed.subscriberCount).toBe(0);
    expect(net.b.feed.active).toBe(false);
  });

  it('with a token: missing or wrong → 401, right (query, Bearer, cookie) → 200; /_stack/stats stays open', async () => {
    net = new Vnet();
    startBundledHttp(net.b, { port: 80, dashboard: { token: 's3cret-token' } });
    const none = await request(net, { path: '/_stack/' });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/Bearer/);
    expect((await request(net, { path: '/_stack/?token=wrong-token1' })).status).toBe(401);
    expect((await request(net, { path: '/_stack/events?token=s3cret-tokeN' })).status).toBe(401);
    const ok = await request(net, { path: '/_stack/?token=s3cret-token' });
    expect(ok.status).toBe(200);
    const cookie = String(ok.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^tunstack_dashboard=/);
    expect((await request(net, { path: '/_stack/snapshot', headers: { Cookie: cookie } })).status).toBe(200);
    expect((await request(net, { path: '/_stack/snapshot', headers: { Authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await request(net, { path: '/_stack/snapshot', headers: { Authorization: 'Bearer s3cret' } })).status).toBe(401);
    expect((await request(net, { path: '/_stack/stats' })).status).toBe(200);
    // WebSocket upgrade without the token: refused before any handshake.
    const c = new RawClient(net);
    c.send('GET /_stack/ws HTTP/1.1\r\nHost: 10.0.0.2\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await c.untilResponses(1);
    expect(c.statusCodes()).toEqual([401]);
  });

  it('tokenMatches: equal strings only', () => {
    expect(tokenMatches('abcdefgh', 'abcdefgh')).toBe(true);
    expect(tokenMatches('abcdefgi', 'abcdefgh')).toBe(false);
    expect(tokenMatches('abcdefghi', 'abcdefgh')).toBe(false);
    expect(tokenMatches(null, 'abcdefgh')).toBe(false);
    expect(tokenMatches('', 'abcdefgh')).toBe(false);
  });
});

/** A capture of the download in a Vnet, through B's link (raw IPv4 records). */
function captureOf(n: number, drop?: (p: Uint8Array, k: number) => boolean): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const file: PcapSink = { write: (b: Uint8Array) => void chunks.push(b.slice()) };
  const v = new Vnet(drop ? { dropB: drop } : {});
  net = v;
  const w = new PcapWriter(file, {});
  const orig = v.linkA.send.bind(v.linkA);
  const origB = v.linkB.send.bind(v.linkB);
  v.linkA.send = (p, c) => {
    for (let i = 0; i < c; i++) w.writePacket(p[i]!, v.clock.now());
    orig(p, c);
  };
  v.linkB.send = (p, c) => {
    for (let i = 0; i < c; i++) w.writePacket(p[i]!, v.clock.now());
    origB(p, c);
  };
  const server = v.b.tcp.createServer((s) => s.end(Buffer.alloc(n, 0x62)));
  server.listen({ port: 80 });
  let got = 0;
  const cl = v.a.tcp.connect({ host: '10.0.0.2', port: 80 });
  cl.on('data', (d: Buffer) => (got += d.length));
  return v.until(() => got === n, 60_000, 'download').then(async () => {
    await v.run(500);
    w.flush();
    const total = chunks.reduce((k, c) => k + c.length, 0);
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  });
}

describe('observe: traces from captures', () => {
  it('finds the connection, marks retransmissions, draws ladder and SVG', async () => {
    const bytes = await captureOf(100_000, (_p, k) => k === 12);
    const s = tcpConnectionsOf(bytes);
    expect(s).not.toBeInstanceOf(Error);
    const sum = s as Exclude<typeof s, Error>;
    expect(sum.conns).toHaveLength(1);
    const c = pickConnection(sum, { port: 80 });
    expect(c).not.toBeInstanceOf(Error);
    const conn = c as Exclude<typeof c, Error>;
    expect(conn.handshake).toBe(true);
    expect(conn.segs[0]!.flags & 0x02).toBe(2);
    expect(conn.segs.filter((x) => x.rtx).length).toBeGreaterThanOrEqual(1);
    const svg = traceSvg(conn.segs, { a: 'client', b: 'server' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('class="rtx"');
    expect(svg).toContain('client');
    const lad = new LadderText({ a: 'client', b: 'server' }, 80);
    const first = lad.line(conn.segs[0]!);
    expect(first).toMatch(/\|-+ SYN seq 0 win \d+ -+>\|/);
    expect(lad.line(conn.segs[1]!)).toMatch(/\|<-+ SYN,ACK seq 0 ack 1 /);
    expect(pickConnection(sum, { conn: '7' })).toBeInstanceOf(Error);
    expect((pickConnection(sum, { port: 9 }) as Error).message).toMatch(/no TCP connection with port 9/);
  });

  it('a capture with no TCP, and a file that is not a capture: clear messages', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-'));
    try {
      const noTcp = join(dir, 'udp.pcap');
      const chunks: Uint8Array[] = [];
      const w = new PcapWriter({ write: (b: Uint8Array) => void chunks.push(b.slice()) }, {});
      // one UDP datagram 10.0.0.1:1 -> 10.0.0.2:2
      const udp = Uint8Array.from([0x45, 0, 0, 29, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2, 0, 9, 0, 0, 0x41]);
      w.writePacket(udp, 0);
      w.flush();
      const total = chunks.reduce((k, c) => k + c.length, 0);
      const buf = Buffer.alloc(total);
      let o = 0;
      for (const c of chunks) {
        buf.set(c, o);
        o += c.length;
      }
      writeFileSync(noTcp, buf);
      const e = sink();
      const out = sink();
      expect(tracePcap({ pcap: noTcp, port: 80 }, out.out, e.out)).toBe(1);
      expect(e.text()).toMatch(/no TCP segments \(1 packets, 1 IPv4\): nothing to draw/);
      const junk = join(dir, 'junk.pcap');
      writeFileSync(junk, 'hello, not a capture at all');
      const e2 = sink();
      expect(tracePcap({ pcap: junk }, sink().out, e2.out)).toBe(1);
      expect(e2.text()).toMatch(/not a pcap file/);
      const e3 = sink();
      expect(tracePcap({ pcap: join(dir, 'nope.pcap') }, sink().out, e3.out)).toBe(1);
      expect(e3.text()).toMatch(/no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('observe: top', () => {
  it('renders counters with rates, listener gauges, the busiest connections first', () => {
    const mk = (bytesA: number, bytesB: number, segs: number): TopSnapshot => ({
      name: 'ns.tun0',
      at: 'now',
      stats: { Tcp: { CurrEstab: 2, InSegs: segs, OutSegs: segs * 2 }, TcpExt: { SyncookiesSent: segs }, drops: { 'tcp.no-socket': segs / 10 } },
      listeners: [{ local: '0.0.0.0:80', port: 80, synQ: 128, acceptQ: 0, backlog: 256 }],
      conns: [
        { id: 1, state: 'ESTAB', local: '10.77.0.2:80', peer: '10.77.0.1:1000', bytesAcked: bytesA, bytesReceived: 0, cwnd: 14480, ssthresh: -1, mss: 1448, srtt: 1.5, rto: 201, retrans: 0, sendQ: 0, recvQ: 0 },
        { id: 2, state: 'ESTAB', local: '10.77.0.2:80', peer: '10.77.0.1:1001', bytesAcked: bytesB, bytesReceived: 0, cwnd: 2896, ssthresh: 2896, mss: 1448, srtt: 9, rto: 210, retrans: 3, sendQ: 5, recvQ: 0 },
      ] as TopSnapshot['conns'],
    });
    const a = mk(1000, 1000, 100);
    const b = mk(2000, 501_000, 1100);
    const text = renderTop(b, a, 2, { width: 160 });
    expect(text).toMatch(/segs in 500\/s out 1000\/s/);
    expect(text).toMatch(/SYN cookies sent 500\/s/);
    expect(text).toMatch(/tcp\.no-socket 50\/s/);
    expect(text).toMatch(/0\.0\.0\.0:80 +128\/256 +0\/256 +\[######\.\.\.\.\.\.\]/);
    const lines = text.split('\n');
    const i2 = lines.findIndex((l) => /^ +2 ESTAB/.test(l));
    const i1 = lines.findIndex((l) => /^ +1 ESTAB/.test(l));
    expect(i2).toBeGreaterThan(0);
    expect(i2).toBeLessThan(i1);
    expect(lines[i2]).toMatch(/250\.0k/);
  });
});
