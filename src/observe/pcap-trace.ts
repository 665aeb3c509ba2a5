/**
 * TCP connections out of a capture, for `tunstack trace --pcap FILE`: every
 * IPv4 TCP segment (raw, Ethernet, Linux cooked captures), grouped by
 * connection, the left end being the side that sent the first SYN (else the
 * first packet's sender). Never throws on bad input: errors are values with
 * a message for the user.
 */
import { ipPacketOf, readPcap } from '../wire/pcap.js';
import { decodeIpv4, Ipv4Header } from '../wire/ipv4.js';
import { parseTcp, TcpHeader } from '../wire/tcp.js';
import { ipToString } from '../wire/bytes.js';
import { RtxDetector, type TraceEnds, type TraceSeg } from './ladder.js';
import { joinLabels, PayloadLabeler, tlsVersionName, type ConnTlsFacts } from './tls-records.js';
import { roundTripsToFirstResponse, type RoundTrips } from './round-trips.js';
import { fastOpenNote, type SynSeen } from './fast-open-marks.js';

export interface CapturedConn {
  /** 1-based, in order of first appearance. */
  index: number;
  aAddr: number;
  aPort: number;
  bAddr: number;
  bPort: number;
  segs: TraceSeg[];
  /** `a` sent a SYN without ACK (it opened the connection). */
  handshake: boolean;
  /** What the payload showed of TLS (version chosen, SNI, ALPN). */
  tls: ConnTlsFacts;
  /** Round trips from the client's SYN to the first response byte; null when not in view. */
  rounds: RoundTrips | null;
  /** Segments whose payload the capture's snaplen cut: not named. */
  cut: number;
}

/** Connections being read: the payload labeler and the client's SYN, beside the connection. */
interface Reading {
  rtx: RtxDetector;
  labeler: PayloadLabeler;
  syn: SynSeen | null;
}

export interface CaptureSummary {
  packets: number;
  ipv4: number;
  tcp: number;
  conns: CapturedConn[];
}

export function endpoint(addr: number, port: number): string {
  return `${ipToString(addr)}:${port}`;
}

export function connEnds(c: CapturedConn): TraceEnds {
  return { a: endpoint(c.aAddr, c.aPort), b: endpoint(c.bAddr, c.bPort) };
}

export function connLabel(c: CapturedConn): string {
  const bytes = c.segs.reduce((n, s) => n + s.len, 0);
  const rtx = c.segs.filter((s) => s.rtx).length;
  const extra = connFacts(c);
  return `${String(c.index).padStart(3)}  ${endpoint(c.aAddr, c.aPort)} -> ${endpoint(c.bAddr, c.bPort)}  ${c.segs.length} segments, ${bytes} payload bytes${rtx ? `, ${rtx} retransmitted` : ''}${extra ? `; ${extra}` : ''}`;
}

/** "TLS 1.3 SNI x, 3 round trips to the first response byte": what the payload and the handshake showed. */
export function connFacts(c: CapturedConn): string {
  const parts: string[] = [];
  if (c.tls.version !== null) parts.push(`${tlsVersionName(c.tls.version)}${c.tls.sni !== null ? ` SNI ${c.tls.sni}` : ''}${c.tls.alpn.length > 0 ? ` ALPN ${c.tls.alpnChosen ? '' : 'offered '}${c.tls.alpn.join(',')}` : ''}`);
  if (c.segs.some((s) => s.fromA && s.flags & 0x02 && s.len > 0)) parts.push('Fast Open data on the SYN');
  if (c.cut > 0) parts.push(`${c.cut} payload${c.cut === 1 ? '' : 's'} cut by the snaplen (not named)`);
  if (c.rounds !== null) parts.push(`${c.rounds.rounds} round trip${c.rounds.rounds === 1 ? '' : 's'} to the first response byte`);
  return parts.join(', ');
}

/** Reads a capture's TCP connections; an Error with a readable message for a file that is not a capture. */
export function tcpConnectionsOf(bytes: Uint8Array, name = 'the capture'): CaptureSummary | Error {
  const f = readPcap(bytes);
  if (typeof f === 'string') {
    const why = f === 'bad-magic' ? 'not a pcap file (bad magic; pcapng is not supported: convert with `editcap -F pcap`)' : f === 'bad-version' ? 'unsupported pcap version' : 'truncated pcap header';
    return new Error(`${name}: ${why}`);
  }
  const ih = new Ipv4Header();
  const conns = new Map<string, CapturedConn>();
  const order: CapturedConn[] = [];
  const reading = new Map<CapturedConn, Reading>();
  let ipv4 = 0;
  let tcp = 0;
  for (const p of f.packets) {
    const ip = ipPacketOf(f.linktype, p.data);
    if (ip === undefined) continue;
    if (decodeIpv4(ip, ih, false) !== undefined) continue;
    ipv4++;
    if (ih.protocol !== 6 || ih.fragmentOffset !== 0) continue;
    const seg = ip.subarray(ih.headerLength, Math.min(ip.length, ih.totalLength));
    const h = parseTcp(seg);
    if (!(h instanceof TcpHeader)) continue;
    tcp++;
    const k1 = `${ih.src}:${h.srcPort}-${ih.dst}:${h.dstPort}`;
    const k2 = `${ih.dst}:${h.dstPort}-${ih.src}:${h.srcPort}`;
    let c = conns.get(k1) ?? conns.get(k2);
    const synOnly = (h.flags & 0x12) === 0x02;
    if (c !== undefined && synOnly && c.segs.length > 0 && c.segs.some((s) => s.flags & 0x01 || s.flags & 0x04) && !c.segs[c.segs.length - 1]!.rtx) {
      // A new connection on the same 4-tuple after the old one ended: a new entry.
      conns.delete(k1);
      conns.delete(k2);
      c = undefined;
    }
    if (c === undefined) {
      const labeler = new PayloadLabeler();
      c = { index: order.length + 1, aAddr: ih.src, aPort: h.srcPort, bAddr: ih.dst, bPort: h.dstPort, segs: [], handshake: synOnly, tls: labeler.facts, rounds: null, cut: 0 };
      conns.set(k1, c);
      order.push(c);
      reading.set(c, { rtx: new RtxDetector(), labeler, syn: null });
    }
    const r = reading.get(c)!;
    const fromA = ih.src === c.aAddr && h.srcPort === c.aPort;
    const payload = seg.subarray(Math.min(seg.length, h.headerLength));
    // Lengths from the IP header: a capture cut by its snaplen still counts the bytes that were sent.
    const len = Math.max(payload.length, ih.totalLength - ih.headerLength - h.headerLength);
    const isRtx = r.rtx.check(fromA, h.seq, len, h.flags);
    const notes: string[] = [];
    const fo = fastOpenNote(h, len, fromA, r.syn);
    if (fo.syn !== undefined) r.syn = fo.syn;
    if (fo.note !== null) notes.push(fo.note);
    // Bytes the snaplen cut cannot be named: only whole payloads go to the labeler (the listing counts the rest).
    const whole = payload.length === len;
    if (!whole) c.cut++;
    const seen = whole ? r.labeler.feed(fromA, h.seq, (h.flags & 0x02) !== 0, payload) : { labels: [], app: len > 0 };
    if (seen.labels.length > 0) notes.push(joinLabels(seen.labels));
    const ts: TraceSeg = { t: p.timestampMs, fromA, seq: h.seq, ack: h.flags & 0x10 ? h.ack : 0, flags: h.flags, len, win: h.window, rtx: isRtx };
    if (notes.length > 0) ts.note = notes.join('; ');
    if (seen.app) ts.app = true;
    c.segs.push(ts);
  }
  for (const c of order) c.rounds = roundTripsToFirstResponse(c.segs);
  return { packets: f.packets.length, ipv4, tcp, conns: order };
}

/**
 * The connection `--conn` names (an index from the listing, or `ADDR:PORT-ADDR:PORT` in either order) or the
 * first with `--port`; an Error that lists what the capture holds otherwise.
 */
export function pickConnection(s: CaptureSummary, sel: { conn?: string; port?: number }, name = 'the capture'): CapturedConn | Error {
  if (s.tcp === 0) return new Error(`${name}: no TCP segments (${s.packets} packets, ${s.ipv4} IPv4): nothing to draw`);
  const listing = `connections in ${name}:\n${s.conns.map(connLabel).join('\n')}`;
  if (sel.conn !== undefined) {
    const v = sel.conn.trim();
    if (/^\d+$/.test(v)) {
      const c = s.conns[Number(v) - 1];
      if (c === undefined) return new Error(`no connection ${v} in ${name} (it has ${s.conns.length})\n${listing}`);
      return c;
    }
    const m = /^([\d.]+):(\d+)-([\d.]+):(\d+)$/.exec(v);
    if (!m) return new Error(`--conn takes an index from the listing or ADDR:PORT-ADDR:PORT, got '${v}'\n${listing}`);
    const [x, y] = [`${m[1]}:${m[2]}`, `${m[3]}:${m[4]}`];
    const c = s.conns.find((c) => {
      const a = endpoint(c.aAddr, c.aPort);
      const b = endpoint(c.bAddr, c.bPort);
      return (a === x && b === y) || (a === y && b === x);
    });
    return c ?? new Error(`no connection ${v} in ${name}\n${listing}`);
  }
  if (sel.port !== undefined) {
    const c = s.conns.find((c) => c.aPort === sel.port || c.bPort === sel.port);
    return c ?? new Error(`no TCP connection with port ${sel.port} in ${name}\n${listing}`);
  }
  return new Error(`choose a connection with --conn N or --port N\n${listing}`);
}
