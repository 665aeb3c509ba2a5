/**
 * Capture replay: the client's packets of a recorded conversation are
 * re-played against a fresh stack (on a VirtualClock, at their recorded
 * times) that takes the reference server's address, and what the stack
 * sends is compared with what the reference sent.
 *
 * Re-basing: addresses and ports stay as captured (the stack *is* the
 * server address); the client's acknowledgement numbers and SACK blocks are
 * moved from the reference server's ISN onto the stack's; the client's TS
 * ecr is moved onto the stack's timestamp clock (by the pairs seen, else
 * linearly from the first timestamps of both). Payloads cut by the
 * capture's snap length are filled with zeros up to the original length,
 * and transport checksums are recomputed (captures on the sending host
 * carry offloaded, partial checksums).
 *
 * The server side on the stack (documented in src/conform/README.md):
 * for TCP a listener on the server port whose application is inferred from
 * the reference: each run of server data ending with PSH is one write of
 * the same length, issued once the client has sent as many bytes (and its
 * FIN, if the reference wrote after it) as when the reference wrote, plus
 * the reference's own delay; the server's FIN is a close at the matching
 * point; a zero window in the reference means the application did not read
 * until the reference opened the window again. ICMP echo, UDP (port
 * unreachable) and fragments need no application.
 *
 * Comparison per conversation, aligned by a longest common subsequence on
 * the strict fields (flags, relative seq/ack, payload length, option kinds;
 * ICMP type/code/id/seq/length; fragment offset/MF/length): unmatched
 * reference packets are "missing", unmatched stack packets "extra";
 * windows and timestamps are compared loosely (a zero against a non-zero
 * window is a divergence, other differences are notes).
 */
import { readFileSync } from 'node:fs';
import { VirtualClock, TimerQueue } from '../clock.js';
import { Stack } from '../stack.js';
import { readPcap, ipPacketOf, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 } from '../wire/pcap.js';
import { decodeIpv4, Ipv4Header, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, emitIpv4 } from '../wire/ipv4.js';
import { decodeTcp, TcpHeader, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TcpOptionKind, formatTcpFlags } from '../wire/tcp.js';
import { internetChecksum, pseudoHeaderSum } from '../wire/checksum.js';
import { ipToString, read16, read32, write16, write32 } from '../wire/bytes.js';
import { ScriptLink } from './link.js';
import type { TcpSocket } from '../tcp/socket.js';
import type { TcpConfig } from '../tcp/config.js';

export interface ReplayOptions {
  /** The reference server; inferred when absent. */
  server?: { address: string; port?: number | undefined };
  /** Stack TCP settings (e.g. { syncookies: 2 }). */
  tcp?: Partial<TcpConfig>;
  /** IP reassembly timeout in ms; inferred from a reassembly time-exceeded in the capture when absent. */
  reassemblyTimeoutMs?: number;
}

export type DivergenceKind = 'missing' | 'extra' | 'mismatch';

export interface Divergence {
  kind: DivergenceKind;
  /** Frame number (1-based, as tshark counts) of the reference packet, when there is one. */
  frame: number | undefined;
  /** Index (0-based) of the stack's packet in its output, when there is one. */
  stackIndex: number | undefined;
  conversation: string;
  expected: string | undefined;
  actual: string | undefined;
  message: string;
}

export interface ReplayResult {
  file: string;
  linktype: number;
  frames: number;
  /** Frames replayed (client to server) and compared (server to client). */
  replayed: number;
  referencePackets: number;
  stackPackets: number;
  ipv6Skipped: number;
  nonIpSkipped: number;
  otherHostsSkipped: number;
  truncated: boolean;
  server: string | undefined;
  client: string | undefined;
  conversations: string[];
  divergences: Divergence[];
  /** Loose-field differences and remarks (not failures). */
  notes: string[];
  /** Things the stack cannot take part in (third-host answers, active opens by the server, ...). */
  notApplicable: string[];
  /** The app model per TCP conversation (for the report). */
  apps: string[];
  /** A reason the capture could not be replayed at all. */
  fatal: string | undefined;
  /** The fatal reason is a usage error (file missing). */
  usage: boolean;
  ok: boolean;
}

interface Frame {
  /** 1-based frame number. */
  n: number;
  /** ms relative to the first frame. */
  t: number;
  /** IPv4 packet as captured (possibly cut by the snap length). */
  ip: Uint8Array;
  h: Ipv4Header;
  /** IP packet length on the wire (total length). */
  wireLen: number;
}

/** A packet reduced to what is compared. */
interface Desc {
  key: string;
  text: string;
  conv: string;
  window: number | undefined;
  ts: number | undefined;
  frame: number | undefined;
  stackIndex: number | undefined;
}

function emptyResult(file: string): ReplayResult {
  return {
    file,
    linktype: -1,
    frames: 0,
    replayed: 0,
    referencePackets: 0,
    stackPackets: 0,
    ipv6Skipped: 0,
    nonIpSkipped: 0,
    otherHostsSkipped: 0,
    truncated: false,
    server: undefined,
    client: undefined,
    conversations: [],
    divergences: [],
    notes: [],
    notApplicable: [],
    apps: [],
    fatal: undefined,
    usage: false,
    ok: false,
  };
}

const SUPPORTED_LINKTYPES = new Set([LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2]);

function isIpv6Frame(linktype: number, d: Uint8Array): boolean {
  if (linktype === LINKTYPE_RAW) return d.length > 0 && d[0]! >> 4 === 6;
  if (linktype === LINKTYPE_ETHERNET) {
    if (d.length < 14) return false;
    let type = (d[12]! << 8) | d[13]!;
    if (type === 0x8100 && d.length >= 18) type = (d[16]! << 8) | d[17]!;
    return type === 0x86dd;
  }
  if (linktype === LINKTYPE_LINUX_SLL) return d.length >= 16 && ((d[14]! << 8) | d[15]!) === 0x86dd;
  if (linktype === LINKTYPE_LINUX_SLL2) return d.length >= 2 && ((d[0]! << 8) | d[1]!) === 0x86dd;
  return false;
}

export async function replayCapture(file: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const r = emptyResult(file);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    r.fatal = `cannot read ${file}: ${(e as Error).message}`;
    r.usage = true;
    return r;
  }
  try {
    return await replayBytes(bytes, opts, r);
  } catch (e) {
    // Never a crash: an internal problem is reported as the replay's failure.
    r.fatal = `internal error: ${(e as Error).message}`;
    r.ok = false;
    return r;
  }
}

export async function replayBytes(bytes: Uint8Array, opts: ReplayOptions, r: ReplayResult = emptyResult('<memory>')): Promise<ReplayResult> {
  const pcap = readPcap(bytes);
  if (typeof pcap === 'string') {
    r.fatal = `not a pcap file (${pcap})${pcap === 'bad-magic' ? '; pcapng is not read: convert with `editcap -F pcap`' : ''}`;
    return r;
  }
  r.linktype = pcap.linktype;
  r.truncated = pcap.truncated;
  r.frames = pcap.packets.length;
  if (!SUPPORTED_LINKTYPES.has(pcap.linktype)) {
    r.fatal = `link type ${pcap.linktype} is not supported (Ethernet 1, raw IP 101/228, Linux cooked 113/276 are)`;
    return r;
  }
  if (pcap.truncated) r.notes.push('the capture file is truncated: the last record is incomplete and was left out');
  const frames: Frame[] = [];
  const capturedShort = new Set<number>();
  const t0 = pcap.packets[0]?.timestampMs ?? 0;
  pcap.packets.forEach((p, i) => {
    const ip = ipPacketOf(pcap.linktype, p.data);
    if (!ip) {
      if (isIpv6Frame(pcap.linktype, p.data)) r.ipv6Skipped++;
      else r.nonIpSkipped++;
      return;
    }
    const h = new Ipv4Header();
    // Checksums of a capture cut by the snap length cannot be verified; headers are still usable.
    if (ip.length < 20) {
      r.nonIpSkipped++;
      return;
    }
    const wireLen = read16(ip, 2);
    const full = new Uint8Array(Math.max(wireLen, ip.length));
    full.set(ip);
    if (decodeIpv4(full.subarray(0, Math.max(wireLen, 20)), h, false) !== undefined) {
      r.nonIpSkipped++;
      r.notes.push(`frame ${i + 1}: malformed IPv4 header, skipped`);
      return;
    }
    frames.push({ n: i + 1, t: p.timestampMs - t0, ip: full.subarray(0, wireLen), h, wireLen });
    if (ip.length < wireLen) capturedShort.add(i + 1);
  });
  fixShortFragments(frames, capturedShort, r);
  if (frames.length === 0) {
    r.fatal = 'no IPv4 packets in the capture';
    return r;
  }
  // ---------------------------------------------------------- roles
  let server: number | undefined;
  let port: number | undefined = opts.server?.port;
  if (opts.server) {
    const a = opts.server.address.split('.').reduce((v, o) => v * 256 + Number(o), 0) >>> 0;
    server = a;
  } else {
    for (const f of frames) {
      const h = f.h;
      if (h.protocol === IPPROTO_TCP && !h.isFragment) {
        const flags = f.ip[h.headerLength + 13]!;
        if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
          server = h.dst;
          port = read16(f.ip, h.headerLength + 2);
          break;
        }
      }
    }
    if (server === undefined) {
      const first = frames[0]!;
      server = first.h.dst;
    }
  }
  const client = frames.find((f) => f.h.dst === server)?.h.src;
  if (client === undefined) {
    r.fatal = `no packet is addressed to the server ${ipToString(server)}`;
    return r;
  }
  r.server = ipToString(server) + (port !== undefined ? `:${port}` : '');
  r.client = ipToString(client);
  const toServer = frames.filter((f) => f.h.src === client && f.h.dst === server);
  const fromServer = frames.filter((f) => f.h.src === server && f.h.dst === client);
  const others = frames.filter((f) => !(f.h.src === client && f.h.dst === server) && !(f.h.src === server && f.h.dst === client));
  r.otherHostsSkipped = others.length;
  const neverArrived = new Set<string>();
  for (const o of others) {
    if (o.h.dst !== client) continue;
    let what = '';
    if (o.h.protocol === IPPROTO_ICMP && o.ip.length >= o.h.headerLength + 28) {
      const q = o.h.headerLength + 8;
      neverArrived.add(`${read16(o.ip, q + 4)}/${o.ip[q + 9]!}`);
      what = ` about the client's packet with IP id 0x${read16(o.ip, q + 4).toString(16)}, which therefore never reached the server and is not replayed`;
    }
    r.notApplicable.push(`frame ${o.n}: an answer from ${ipToString(o.h.src)}, a third host (e.g. a router) the stack cannot stand in for${what}`);
  }
  // A TCP conversation opened by the server (active open) cannot be driven from its client's packets.
  for (const f of fromServer) {
    if (f.h.protocol === IPPROTO_TCP && !f.h.isFragment && (f.ip[f.h.headerLength + 13]! & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      r.notApplicable.push(`frame ${f.n}: the server opens a TCP connection itself (active open); replay drives passive opens only`);
    }
  }
  // ---------------------------------------------------------- stack
  const clock = new VirtualClock(0);
  const timers = new TimerQueue();
  const link = new ScriptLink(65535, clock);
  const reasmTimeout = opts.reassemblyTimeoutMs ?? inferReassemblyTimeout(frames, server, client);
  const tcpConfig: Partial<TcpConfig> = { seed: 1, ...inferTcpConfig(fromServer), ...opts.tcp };
  const stack = new Stack({
    clock,
    timers,
    autoFlush: false,
    tcp: tcpConfig,
    icmp: { perDestIntervalMs: 0, msgsPerSec: 1e9, msgsBurst: 1e9 },
    ...(reasmTimeout !== undefined ? { reassembly: { timeoutMs: reasmTimeout } } : {}),
  });
  const mtu = inferMtu(frames);
  const link2 = mtu !== 65535 ? new ScriptLink(mtu, clock) : link;
  stack.addInterface(link2, `${ipToString(server)}/24`, { defaultRoute: true });
  if (tcpConfig.rmem !== undefined) r.notes.push(`stack receive buffer set to ${tcpConfig.rmem} bytes to match the reference's (its initial window, or the bytes it held unread when it closed the window)`);
  // ---------------------------------------------------------- TCP applications
  const apps = new Map<number, AppModel>();
  const tcpConvs = new Set<number>();
  for (const f of toServer) if (f.h.protocol === IPPROTO_TCP && !f.h.isFragment) tcpConvs.add(read16(f.ip, f.h.headerLength));
  for (const cport of tcpConvs) {
    const app = inferApp(frames, client, server, cport);
    if (app) {
      apps.set(cport, app);
      r.apps.push(`conversation ${cport}: ${describeApp(app)}`);
    }
  }
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 3; i++) await new Promise<void>((res) => setImmediate(res));
    stack.runTimers(clock.now());
  };
  const running = new Map<number, AppRun>();
  const serverPorts = new Set<number>();
  const serverPortsOpen = new Set<number>();
  for (const f of toServer) if (f.h.protocol === IPPROTO_TCP && !f.h.isFragment) serverPorts.add(read16(f.ip, f.h.headerLength + 2));
  // A port the reference answered with RST to a SYN is closed: no listener there.
  for (const f of fromServer) {
    if (f.h.protocol !== IPPROTO_TCP || f.h.isFragment) continue;
    const flags = f.ip[f.h.headerLength + 13]!;
    if (flags & TCP_SYN) serverPortsOpen.add(read16(f.ip, f.h.headerLength));
  }
  for (const sp of [...serverPorts]) {
    if (!serverPortsOpen.has(sp)) {
      serverPorts.delete(sp);
      r.notes.push(`port ${sp}: the reference never answered a SYN with SYN-ACK there, so nothing listens on it in the replay`);
    }
  }
  for (const sp of serverPorts) {
    const srv = stack.tcp.createServer({ allowHalfOpen: true }, (sock: TcpSocket) => {
      const cp = sock.remotePort ?? 0;
      const model = apps.get(cp);
      if (!model) {
        sock.resume();
        return;
      }
      const run = new AppRun(model, sock, clock);
      running.set(cp, run);
      run.start();
    });
    srv.on('error', (e: Error) => r.notes.push(`listener on port ${sp}: ${e.message}`));
    srv.listen({ port: sp, host: ipToString(server), backlog: 128 });
  }
  await settle();
  // ---------------------------------------------------------- re-play
  const seqMap = new Map<number, { refIsn: number | undefined; stackIsn: number | undefined; tsPairs: Map<number, number>; tsRef: number | undefined; tsStack: number | undefined }>();
  const conv = (cp: number) => {
    let m = seqMap.get(cp);
    if (!m) {
      m = { refIsn: undefined, stackIsn: undefined, tsPairs: new Map(), tsRef: undefined, tsStack: undefined };
      seqMap.set(cp, m);
    }
    return m;
  };
  const clientIsns = new Map<number, number>();
  for (const f of toServer) {
    if (f.h.protocol !== IPPROTO_TCP || f.h.isFragment) continue;
    const th = parseTcpLoose(f);
    if (th && (th.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) clientIsns.set(th.srcPort, th.seq);
  }
  // Reference server ISNs and first TS vals.
  for (const f of fromServer) {
    if (f.h.protocol !== IPPROTO_TCP || f.h.isFragment) continue;
    const th = parseTcpLoose(f);
    if (!th) continue;
    const m = conv(th.dstPort);
    if (th.flags & TCP_SYN && m.refIsn === undefined) m.refIsn = th.seq;
    if (th.tsPresent && m.tsRef === undefined) m.tsRef = th.tsVal;
  }
  const stackOut: { bytes: Uint8Array; time: number; index: number }[] = [];
  let outIndex = 0;
  const drain = (): void => {
    for (const q of [link.queue, link2.queue]) {
      while (q.length > 0) {
        const p = q.shift()!;
        const d = { bytes: p.bytes, time: p.time, index: outIndex++ };
        stackOut.push(d);
        learnStack(d.bytes);
      }
    }
  };
  const learnStack = (b: Uint8Array): void => {
    const h = new Ipv4Header();
    if (decodeIpv4(b, h, false) !== undefined || h.protocol !== IPPROTO_TCP || h.isFragment) return;
    const th = new TcpHeader();
    if (decodeTcp(b, h.headerLength, h.totalLength - h.headerLength, th) !== undefined) return;
    const m = conv(th.dstPort);
    if (th.flags & TCP_SYN && m.stackIsn === undefined) m.stackIsn = th.seq;
    if (th.tsPresent && m.tsStack === undefined) m.tsStack = th.tsVal;
  };
  const advance = async (t: number): Promise<void> => {
    for (;;) {
      const next = Math.min(timers.nextDeadline(), ...[...running.values()].map((a) => a.nextWake()));
      if (next > t) break;
      if (next > clock.now()) clock.set(next);
      stack.runTimers(clock.now());
      for (const a of running.values()) a.poll();
      await settle();
      drain();
    }
    if (t > clock.now()) clock.set(t);
    stack.runTimers(clock.now());
    for (const a of running.values()) a.poll();
    await settle();
    drain();
  };
  for (const f of toServer) {
    if (neverArrived.has(`${f.h.id}/${f.h.protocol}`)) continue;
    await advance(f.t);
    const pkt = rebase(f, (cp) => conv(cp), capturedShort);
    if (!pkt) {
      r.notes.push(`frame ${f.n}: could not be rebuilt for replay, skipped`);
      continue;
    }
    link2.inject(pkt);
    r.replayed++;
    await settle();
    for (const a of running.values()) a.poll();
    await settle();
    drain();
  }
  // Let timers run out a while after the last packet (retransmissions, delayed ACKs, time-outs).
  const lastRef = frames[frames.length - 1]!.t;
  await advance(Math.max(lastRef, clock.now()) + 1000);
  for (const a of running.values()) r.notes.push(...a.notes);
  stack.close();
  // ---------------------------------------------------------- compare
  const refDescs = fromServer.map((f) => describeFrame(f, conv, clientIsns));
  const stackDescs = stackOut.map((o) => describeStack(o.bytes, o.index, conv, clientIsns)).filter((d): d is Desc => d !== undefined);
  r.referencePackets = refDescs.length;
  r.stackPackets = stackDescs.length;
  const convs = [...new Set([...refDescs.map((d) => d.conv), ...stackDescs.map((d) => d.conv)])];
  r.conversations = convs;
  for (const c of convs) compareConversation(refDescs.filter((d) => d.conv === c), stackDescs.filter((d) => d.conv === c), c, r);
  r.divergences.sort((a, b) => (a.frame ?? Infinity) - (b.frame ?? Infinity) || (a.stackIndex ?? 0) - (b.stackIndex ?? 0));
  // What the stack cannot take part in is reported, not counted as a divergence.
  r.ok = r.divergences.length === 0 && r.fatal === undefined && r.replayed > 0;
  return r;
}

// ---------------------------------------------------------------- inference

/**
 * Fragments whose payload the snap length cut are zero-filled; the
 * transport checksum in the first fragment is then recomputed over the
 * zero-filled datagram (ICMP) or cleared (UDP), so that the reassembled
 * datagram is accepted.
 */
function fixShortFragments(frames: Frame[], short: Set<number>, r: ReplayResult): void {
  const groups = new Map<string, Frame[]>();
  for (const f of frames) {
    if (!f.h.isFragment) continue;
    const k = `${f.h.src}/${f.h.dst}/${f.h.id}/${f.h.protocol}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(f);
  }
  for (const g of groups.values()) {
    if (!g.some((f) => short.has(f.n))) continue;
    const first = g.find((f) => f.h.fragmentOffset === 0);
    const last = g.find((f) => !f.h.moreFragments);
    if (!first || !last) continue;
    const total = last.h.fragmentOffset + (last.wireLen - last.h.headerLength);
    const data = new Uint8Array(total);
    for (const f of g) data.set(f.ip.subarray(f.h.headerLength, f.wireLen).subarray(0, Math.max(0, Math.min(f.wireLen - f.h.headerLength, total - f.h.fragmentOffset))), f.h.fragmentOffset);
    const o = first.h.headerLength;
    if (first.h.protocol === IPPROTO_ICMP && total >= 8) {
      data[2] = 0;
      data[3] = 0;
      const c = internetChecksum(data, 0, total);
      write16(first.ip, o + 2, c);
    } else if (first.h.protocol === IPPROTO_UDP) {
      first.ip[o + 6] = 0;
      first.ip[o + 7] = 0;
    }
    r.notes.push(`fragments of IP id 0x${first.h.id.toString(16)} were cut by the snap length: zero-filled, transport checksum recomputed`);
  }
}

function parseTcpLoose(f: Frame): TcpHeader | undefined {
  const th = new TcpHeader();
  const off = f.h.headerLength;
  // Payload may be cut by the snap length: decode the header over what the IP header says.
  if (decodeTcp(f.ip, off, f.wireLen - off, th) !== undefined) return undefined;
  return th;
}

function inferMtu(frames: Frame[]): number {
  // The largest IP packet seen bounds the MTU of the link (1500 on the reference veths).
  let m = 0;
  for (const f of frames) m = Math.max(m, f.wireLen);
  return m <= 1500 ? 1500 : 65535;
}

function inferReassemblyTimeout(frames: Frame[], server: number, client: number): number | undefined {
  for (const f of frames) {
    if (f.h.src !== server || f.h.dst !== client || f.h.protocol !== IPPROTO_ICMP) continue;
    const o = f.h.headerLength;
    if (f.ip[o] !== 11 || f.ip[o + 1] !== 1) continue;
    // Quoted IP header: id at +8+4.
    const qid = read16(f.ip, o + 8 + 4);
    const first = frames.find((g) => g.h.src === client && g.h.id === qid && g.h.isFragment);
    if (first) return Math.max(1, Math.floor((f.t - first.t) / 1000)) * 1000;
  }
  return undefined;
}

function inferTcpConfig(fromServer: Frame[]): Partial<TcpConfig> {
  for (const f of fromServer) {
    if (f.h.protocol !== IPPROTO_TCP || f.h.isFragment) continue;
    const th = parseTcpLoose(f);
    if (!th || (th.flags & (TCP_SYN | TCP_ACK)) !== (TCP_SYN | TCP_ACK)) continue;
    // A small initial window means a small receive buffer (SO_RCVBUF); Linux offers about half of it.
    if (th.window < 16384 && th.wscale <= 0) {
      // Linux counts its buffer in memory (truesize), about twice the window it offers, so it can hold more
      // unread bytes than its initial window; the stack's buffer counts payload bytes. When the reference
      // closed its window, its ACK says how many bytes it held unread then: that is the buffer to play.
      const held = heldAtZeroWindow(fromServer, th.dstPort, (th.ack - 1) >>> 0);
      // A buffer set by hand (SO_RCVBUF) is fixed in Linux: no autotuning, a window scale sized for it.
      return { rmem: Math.max(2048, th.window, held), rmemMax: 0 };
    }
    return {};
  }
  return {};
}

/** Client bytes acknowledged by the reference server's first zero-window ACK in conversation `cport` (0 when none). */
function heldAtZeroWindow(fromServer: Frame[], cport: number, clientIsn: number): number {
  for (const f of fromServer) {
    if (f.h.protocol !== IPPROTO_TCP || f.h.isFragment) continue;
    const th = parseTcpLoose(f);
    if (!th || th.dstPort !== cport || th.flags & (TCP_SYN | TCP_RST) || !(th.flags & TCP_ACK) || th.window !== 0) continue;
    const held = ((th.ack - clientIsn - 1) | 0);
    return held > 0 && held < 1 << 24 ? held : 0;
  }
  return 0;
}

interface AppAction {
  kind: 'write' | 'close';
  len: number;
  /** Client payload bytes received before the reference acted. */
  afterBytes: number;
  afterFin: boolean;
  /** Reference delay after the trigger (ms). */
  delay: number;
  frame: number;
}

interface AppModel {
  actions: AppAction[];
  /** Reading: paused from the start until this time (ms from the first frame), when the reference showed a zero window. */
  readPausedUntil: number | undefined;
}

function inferApp(frames: Frame[], client: number, server: number, cport: number): AppModel | undefined {
  let clientEnd = 0;
  let clientIsn: number | undefined;
  let clientFin = false;
  let triggerTime = 0;
  let serverIsn: number | undefined;
  let serverEnd = 0;
  let prevActionTime = -Infinity;
  let open: AppAction | undefined;
  let finDone = false;
  let zeroAt: number | undefined;
  let reopenAt: number | undefined;
  const actions: AppAction[] = [];
  for (const f of frames) {
    if (f.h.protocol !== IPPROTO_TCP || f.h.isFragment) continue;
    const th = parseTcpLoose(f);
    if (!th) continue;
    const fromClient = f.h.src === client && f.h.dst === server && th.srcPort === cport;
    const fromServer = f.h.src === server && f.h.dst === client && th.dstPort === cport;
    if (fromClient) {
      if (th.flags & TCP_SYN) clientIsn = th.seq;
      if (clientIsn === undefined) continue;
      const end = ((th.seq - clientIsn - 1) >>> 0) + th.payloadLength;
      if (th.payloadLength > 0 && end > clientEnd && end < 0x7fffffff) {
        clientEnd = end;
        triggerTime = f.t;
      }
      if (th.flags & TCP_FIN && !clientFin) {
        clientFin = true;
        triggerTime = f.t;
      }
    } else if (fromServer) {
      if (th.flags & TCP_SYN) {
        serverIsn = th.seq;
        continue;
      }
      if (serverIsn === undefined) continue;
      if (th.flags & TCP_RST) continue;
      if (th.window === 0 && zeroAt === undefined) zeroAt = f.t;
      if (zeroAt !== undefined && reopenAt === undefined && th.window > 0 && f.t > zeroAt) reopenAt = f.t;
      const rel = (th.seq - serverIsn - 1) >>> 0;
      const end = rel + th.payloadLength;
      if (th.payloadLength > 0 && end > serverEnd && rel < 0x7fffffff) {
        const fresh = end - Math.max(rel, serverEnd);
        serverEnd = end;
        if (open) open.len += fresh;
        else {
          open = { kind: 'write', len: fresh, afterBytes: clientEnd, afterFin: clientFin, delay: Math.max(0, f.t - Math.max(triggerTime, prevActionTime)), frame: f.n };
          actions.push(open);
          prevActionTime = f.t;
        }
        if (th.flags & TCP_PSH) open = undefined;
      }
      if (th.flags & TCP_FIN && !finDone) {
        finDone = true;
        open = undefined;
        actions.push({ kind: 'close', len: 0, afterBytes: clientEnd, afterFin: clientFin, delay: Math.max(0, f.t - Math.max(triggerTime, prevActionTime)), frame: f.n });
        prevActionTime = f.t;
      }
    }
  }
  if (serverIsn === undefined) return undefined;
  return { actions, readPausedUntil: zeroAt !== undefined ? (reopenAt ?? Infinity) : undefined };
}

function describeApp(m: AppModel): string {
  const parts = m.actions.map((a) => {
    const when = `after ${a.afterBytes} bytes${a.afterFin ? ' and FIN' : ''} +${a.delay.toFixed(1)} ms`;
    return a.kind === 'write' ? `write ${a.len} (${when})` : `close (${when})`;
  });
  if (m.readPausedUntil !== undefined) parts.unshift(`does not read until ${m.readPausedUntil === Infinity ? 'the end' : (m.readPausedUntil / 1000).toFixed(3) + ' s'}`);
  return parts.join(', ') || 'reads only';
}

/** Executes an AppModel on an accepted socket as time passes. */
class AppRun {
  private next = 0;
  private received = 0;
  private finSeen = false;
  private readyAt: number | undefined;
  private lastActionAt = -Infinity;
  readonly notes: string[] = [];
  private paused: boolean;

  constructor(
    private readonly m: AppModel,
    private readonly sock: TcpSocket,
    private readonly clock: VirtualClock,
  ) {
    this.paused = m.readPausedUntil !== undefined;
  }

  start(): void {
    this.sock.on('data', (b: Buffer) => {
      this.received += b.length;
    });
    this.sock.on('end', () => {
      this.finSeen = true;
    });
    this.sock.on('error', (e: Error) => this.notes.push(`server socket: ${e.message}`));
    if (this.paused) this.sock.pause();
    this.poll();
  }

  nextWake(): number {
    const w = this.readyAt ?? Infinity;
    const r = this.paused && this.m.readPausedUntil !== undefined ? this.m.readPausedUntil : Infinity;
    return Math.min(w, r);
  }

  poll(): void {
    const now = this.clock.now();
    if (this.paused && this.m.readPausedUntil !== undefined && now >= this.m.readPausedUntil) {
      this.paused = false;
      this.sock.resume();
    }
    for (;;) {
      const a = this.m.actions[this.next];
      if (!a) return;
      const triggered = this.received >= a.afterBytes && (!a.afterFin || this.finSeen);
      if (!triggered) {
        this.readyAt = undefined;
        return;
      }
      if (this.readyAt === undefined) this.readyAt = Math.max(now, this.lastActionAt) + a.delay;
      if (now < this.readyAt) return;
      this.readyAt = undefined;
      this.lastActionAt = now;
      this.next++;
      if (this.sock.destroyed) {
        this.notes.push(`frame ${a.frame}: the server socket is already closed; the reference still ${a.kind === 'write' ? `wrote ${a.len} bytes` : 'closed'}`);
        continue;
      }
      if (a.kind === 'write') this.sock.write(Buffer.alloc(a.len, 0x61));
      else this.sock.end();
    }
  }
}

// ---------------------------------------------------------------- re-basing the client's packets

type ConvMap = (cp: number) => { refIsn: number | undefined; stackIsn: number | undefined; tsPairs: Map<number, number>; tsRef: number | undefined; tsStack: number | undefined };

function rebase(f: Frame, conv: ConvMap, capturedShort: Set<number>): Uint8Array | undefined {
  const out = new Uint8Array(f.wireLen);
  out.set(f.ip.subarray(0, f.wireLen));
  const h = f.h;
  const off = h.headerLength;
  if (h.protocol === IPPROTO_TCP && !h.isFragment) {
    if (f.wireLen < off + 20) return undefined;
    const th = new TcpHeader();
    if (decodeTcp(out, off, f.wireLen - off, th) !== undefined) return undefined;
    const m = conv(th.srcPort);
    const delta = m.refIsn !== undefined && m.stackIsn !== undefined ? (m.stackIsn - m.refIsn) >>> 0 : 0;
    if (th.flags & TCP_ACK) write32(out, off + 8, (th.ack + delta) >>> 0);
    // Options: SACK blocks and TS ecr.
    let i = off + 20;
    const end = off + th.headerLength;
    while (i < end) {
      const k = out[i]!;
      if (k === TcpOptionKind.Eol) break;
      if (k === TcpOptionKind.Nop) {
        i++;
        continue;
      }
      const l = out[i + 1]!;
      if (l < 2 || i + l > end) break;
      if (k === TcpOptionKind.Sack) for (let j = i + 2; j + 8 <= i + l; j += 4) write32(out, j, (read32(out, j) + delta) >>> 0);
      if (k === TcpOptionKind.Timestamps && l === 10) {
        const ecr = read32(out, i + 6);
        if (ecr !== 0) {
          let mapped = m.tsPairs.get(ecr);
          if (mapped === undefined && m.tsRef !== undefined && m.tsStack !== undefined) mapped = (ecr - m.tsRef + m.tsStack) >>> 0;
          write32(out, i + 6, mapped ?? ecr);
        }
      }
      i += l;
    }
    const segLen = f.wireLen - off;
    out[off + 16] = 0;
    out[off + 17] = 0;
    write16(out, off + 16, internetChecksum(out, off, segLen, pseudoHeaderSum(h.src, h.dst, IPPROTO_TCP, segLen)));
  } else if (h.protocol === IPPROTO_UDP && !h.isFragment && f.wireLen >= off + 8) {
    // Captures taken on the sending host carry offloaded (partial) checksums: recompute.
    const ulen = read16(out, off + 4);
    if (capturedShort.has(f.n)) {
      out[off + 6] = 0;
      out[off + 7] = 0;
    } else if (ulen >= 8 && off + ulen <= f.wireLen && read16(out, off + 6) !== 0) {
      out[off + 6] = 0;
      out[off + 7] = 0;
      const c = internetChecksum(out, off, ulen, pseudoHeaderSum(h.src, h.dst, IPPROTO_UDP, ulen));
      write16(out, off + 6, c === 0 ? 0xffff : c);
    }
  } else if (h.protocol === IPPROTO_ICMP && !h.isFragment && f.wireLen >= off + 8) {
    out[off + 2] = 0;
    out[off + 3] = 0;
    write16(out, off + 2, internetChecksum(out, off, f.wireLen - off));
  }
  // IP header checksum (unchanged fields, but a cut capture may have lost nothing here; recompute anyway).
  emitIpv4(out, 0, { totalLength: f.wireLen, id: h.id, dontFragment: h.dontFragment, moreFragments: h.moreFragments, fragmentOffset: h.fragmentOffset, ttl: h.ttl, protocol: h.protocol, src: h.src, dst: h.dst, tos: h.tos, ...(h.headerLength > 20 ? { options: f.ip.slice(20, h.headerLength) } : {}) });
  return out;
}

// ---------------------------------------------------------------- descriptions

function optionKinds(b: Uint8Array, start: number, end: number): string {
  const kinds: string[] = [];
  let i = start;
  while (i < end) {
    const k = b[i]!;
    if (k === TcpOptionKind.Eol) break;
    if (k === TcpOptionKind.Nop) {
      i++;
      continue;
    }
    const l = b[i + 1] ?? 0;
    if (l < 2) break;
    kinds.push(k === 2 ? 'mss' : k === 3 ? 'wscale' : k === 4 ? 'sackOK' : k === 5 ? 'sack' : k === 8 ? 'TS' : `kind${k}`);
    i += l;
  }
  return kinds.join(',');
}

function describeTcp(b: Uint8Array, h: Ipv4Header, th: TcpHeader, isn: number | undefined, clientIsn: number | undefined, frame: number | undefined, stackIndex: number | undefined): Desc {
  const off = h.headerLength;
  const seq = isn !== undefined ? (th.seq - isn) >>> 0 : th.seq;
  const ack = clientIsn !== undefined ? (th.ack - clientIsn) >>> 0 : th.ack;
  const kinds = optionKinds(b, off + 20, Math.min(b.length, off + th.headerLength));
  const base = `${formatTcpFlags(th.flags)} ${seq}:${(seq + th.payloadLength) >>> 0}(${th.payloadLength})${th.flags & TCP_ACK ? ` ack ${ack}` : ''}`;
  return {
    key: `${base} <${kinds}>`,
    text: `${th.srcPort}>${th.dstPort} ${base} win ${th.window}${kinds ? ` <${kinds}>` : ''}`,
    conv: `tcp ${th.dstPort}`,
    window: th.window,
    ts: th.tsPresent ? th.tsVal : undefined,
    frame,
    stackIndex,
  };
}

function describeOther(b: Uint8Array, h: Ipv4Header, frame: number | undefined, stackIndex: number | undefined, len: number): Desc {
  const off = h.headerLength;
  const pl = len - off;
  if (h.isFragment && h.fragmentOffset > 0) {
    const k = `fragment proto ${h.protocol} off ${h.fragmentOffset}${h.moreFragments ? ' MF' : ''} (${pl})`;
    return { key: k, text: k, conv: h.protocol === IPPROTO_ICMP ? 'icmp' : `ip proto ${h.protocol}`, window: undefined, ts: undefined, frame, stackIndex };
  }
  const frag = h.moreFragments ? ` [first fragment MF (${pl})]` : '';
  if (h.protocol === IPPROTO_ICMP && b.length >= off + 8) {
    const type = b[off]!;
    const code = b[off + 1]!;
    let k: string;
    if (type === 0 || type === 8) k = `icmp ${type === 0 ? 'echo_reply' : 'echo_request'} id ${read16(b, off + 4)} seq ${read16(b, off + 6)}${h.moreFragments ? '' : ` (${pl - 8})`}`;
    else {
      let quoted = '';
      if (b.length >= off + 8 + 20) {
        const qh = off + 8;
        const qproto = b[qh + 9]!;
        const qid = read16(b, qh + 4);
        quoted = ` quoting proto ${qproto}${type === 11 && code === 1 ? ` id 0x${qid.toString(16)}` : ''}`;
      }
      k = `icmp type ${type} code ${code}${quoted}`;
    }
    return { key: k + frag, text: k + frag, conv: 'icmp', window: undefined, ts: undefined, frame, stackIndex };
  }
  if (h.protocol === IPPROTO_UDP && b.length >= off + 8) {
    const k = `udp ${read16(b, off)}>${read16(b, off + 2)} (${read16(b, off + 4) - 8})${frag}`;
    return { key: k, text: k, conv: `udp ${read16(b, off + 2)}`, window: undefined, ts: undefined, frame, stackIndex };
  }
  const k = `ip proto ${h.protocol} (${pl})${frag}`;
  return { key: k, text: k, conv: `ip proto ${h.protocol}`, window: undefined, ts: undefined, frame, stackIndex };
}

function describeFrame(f: Frame, conv: ConvMap, clientIsns: Map<number, number>): Desc {
  if (f.h.protocol === IPPROTO_TCP && !f.h.isFragment) {
    const th = parseTcpLoose(f);
    if (th) return describeTcp(f.ip, f.h, th, conv(th.dstPort).refIsn, clientIsns.get(th.dstPort), f.n, undefined);
  }
  return describeOther(f.ip, f.h, f.n, undefined, f.wireLen);
}

function describeStack(b: Uint8Array, index: number, conv: ConvMap, clientIsns: Map<number, number>): Desc | undefined {
  const h = new Ipv4Header();
  if (decodeIpv4(b, h, true) !== undefined) return { key: 'invalid IP', text: 'invalid IP header (bad checksum or length)', conv: 'ip', window: undefined, ts: undefined, frame: undefined, stackIndex: index };
  if (h.protocol === IPPROTO_TCP && !h.isFragment) {
    const th = new TcpHeader();
    const len = h.totalLength - h.headerLength;
    if (decodeTcp(b, h.headerLength, len, th, pseudoHeaderSum(h.src, h.dst, IPPROTO_TCP, len)) !== undefined) {
      return { key: 'invalid TCP', text: 'TCP segment with a bad checksum or header', conv: 'tcp ?', window: undefined, ts: undefined, frame: undefined, stackIndex: index };
    }
    return describeTcp(b, h, th, conv(th.dstPort).stackIsn, clientIsns.get(th.dstPort), undefined, index);
  }
  return describeOther(b, h, undefined, index, h.totalLength);
}

// ---------------------------------------------------------------- alignment

function compareConversation(ref: Desc[], act: Desc[], conv: string, r: ReplayResult): void {
  const n = ref.length;
  const m = act.length;
  // LCS table (lengths), bounded: conversations in captures are at most a few thousand packets.
  const w = m + 1;
  const L = new Uint32Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      L[i * w + j] = ref[i]!.key === act[j]!.key ? L[(i + 1) * w + j + 1]! + 1 : Math.max(L[(i + 1) * w + j]!, L[i * w + j + 1]!);
    }
  }
  let i = 0;
  let j = 0;
  const pend: Divergence[] = [];
  while (i < n || j < m) {
    if (i < n && j < m && ref[i]!.key === act[j]!.key) {
      loose(ref[i]!, act[j]!, conv, r);
      i++;
      j++;
    } else if (j < m && (i >= n || L[i * w + j + 1]! >= L[(i + 1) * w + j]!)) {
      const a = act[j]!;
      pend.push({ kind: 'extra', frame: undefined, stackIndex: a.stackIndex, conversation: conv, expected: undefined, actual: a.text, message: `the stack sent ${a.text}; the reference sent nothing like it here` });
      j++;
    } else {
      const e = ref[i]!;
      pend.push({ kind: 'missing', frame: e.frame, stackIndex: undefined, conversation: conv, expected: e.text, actual: undefined, message: `the reference sent ${e.text}; the stack did not` });
      i++;
    }
  }
  // A missing and an extra side by side are one mismatch.
  for (let k = 0; k < pend.length; k++) {
    const a = pend[k]!;
    const b = pend[k + 1];
    if (b && a.kind !== b.kind && a.kind !== 'mismatch' && b.kind !== 'mismatch') {
      const miss = a.kind === 'missing' ? a : b;
      const extra = a.kind === 'missing' ? b : a;
      r.divergences.push({
        kind: 'mismatch',
        frame: miss.frame,
        stackIndex: extra.stackIndex,
        conversation: conv,
        expected: miss.expected,
        actual: extra.actual,
        message: `reference ${miss.expected}, stack ${extra.actual}`,
      });
      k++;
      continue;
    }
    r.divergences.push(a);
  }
}

function loose(e: Desc, a: Desc, conv: string, r: ReplayResult): void {
  if (e.window !== undefined && a.window !== undefined) {
    if ((e.window === 0) !== (a.window === 0)) {
      r.divergences.push({ kind: 'mismatch', frame: e.frame, stackIndex: a.stackIndex, conversation: conv, expected: e.text, actual: a.text, message: `window ${e.window === 0 ? 'closed' : 'open'} in the reference (win ${e.window}), ${a.window === 0 ? 'closed' : 'open'} in the stack (win ${a.window})` });
    } else if (e.window !== a.window) {
      r.notes.push(`frame ${e.frame} ~ stack #${a.stackIndex}: win ${e.window} vs ${a.window} (loose)`);
    }
  }
}

// ---------------------------------------------------------------- report

export function formatReplay(r: ReplayResult, verbose = false): string[] {
  const out: string[] = [];
  out.push(`capture ${r.file}: link type ${r.linktype}, ${r.frames} frames${r.truncated ? ' (TRUNCATED)' : ''}`);
  if (r.fatal) {
    out.push(`cannot replay: ${r.fatal}`);
    return out;
  }
  out.push(`server ${r.server ?? '?'} (played by the stack), client ${r.client ?? '?'}; ${r.replayed} client packets replayed; reference sent ${r.referencePackets}, stack sent ${r.stackPackets}`);
  const skipped: string[] = [];
  if (r.ipv6Skipped) skipped.push(`${r.ipv6Skipped} IPv6`);
  if (r.nonIpSkipped) skipped.push(`${r.nonIpSkipped} non-IP (ARP, ...)`);
  if (r.otherHostsSkipped) skipped.push(`${r.otherHostsSkipped} between other hosts`);
  if (skipped.length) out.push(`skipped frames: ${skipped.join(', ')}`);
  for (const a of r.apps) out.push(`server application: ${a}`);
  for (const n of r.notApplicable) out.push(`cannot take part: ${n}`);
  const shown = verbose ? r.divergences : r.divergences.slice(0, 30);
  for (const d of shown) {
    const where = d.frame !== undefined ? `frame ${d.frame}` : `stack packet #${d.stackIndex}`;
    out.push(`DIVERGENCE ${where} [${d.conversation}] ${d.kind}: ${d.message}`);
  }
  if (shown.length < r.divergences.length) out.push(`... ${r.divergences.length - shown.length} more divergence(s); -v lists them all`);
  if (verbose) for (const n of r.notes) out.push(`note: ${n}`);
  else {
    const loose = r.notes.filter((n) => n.endsWith('(loose)')).length;
    for (const n of r.notes.filter((x) => !x.endsWith('(loose)'))) out.push(`note: ${n}`);
    if (loose) out.push(`note: ${loose} loose-field difference(s) (windows); -v lists them`);
  }
  out.push(r.ok ? `replay: no divergence (${r.referencePackets} reference packets)` : `replay: ${r.divergences.length} divergence(s)${r.notApplicable.length ? `, ${r.notApplicable.length} thing(s) the stack cannot take part in` : ''}`);
  return out;
}

