/**
 * What the ladder can name of a connection's payload, seen in the clear:
 * TLS records (RFC 8446 §5.1, RFC 5246 §6.2) and the handshake messages in
 * them (RFC 8446 §4, RFC 5246 §7.4), HTTP/1.x request and status lines,
 * HTTP/2's connection preface and frames (RFC 9113 §3.4, §4.1) and the h2c
 * upgrade (RFC 7230 §6.7, "101 Switching Protocols").
 *
 * Each direction's bytes are reassembled in sequence order (retransmitted
 * bytes trimmed, out-of-order segments held, both bounded), so a record
 * split across segments is named on the segment that completes it. Never
 * throws: bytes that fit no format turn the direction "opaque" and are only
 * counted from then on.
 */

const TLS_CHANGE_CIPHER_SPEC = 20;
const TLS_ALERT = 21;
const TLS_HANDSHAKE = 22;
const TLS_APPLICATION_DATA = 23;
const TLS_HEARTBEAT = 24;
/** RFC 8446 §5.2: TLSCiphertext.length is at most 2^14 + 256; RFC 5246 §6.2.3 allows 2^14 + 2048. */
const TLS_MAX_RECORD = (1 << 14) + 2048;
const TLS_RECORD_HEADER = 5;
/** A handshake message spanning records is kept up to this size (certificate chains are the large ones). */
const MAX_HANDSHAKE_MESSAGE = 1 << 17;
/** Out-of-order segments held per direction before the direction gives up reassembling. */
const MAX_OUT_OF_ORDER = 64;

const HANDSHAKE_NAMES: Record<number, string> = {
  0: 'HelloRequest',
  1: 'ClientHello',
  2: 'ServerHello',
  4: 'NewSessionTicket',
  5: 'EndOfEarlyData',
  8: 'EncryptedExtensions',
  11: 'Certificate',
  12: 'ServerKeyExchange',
  13: 'CertificateRequest',
  14: 'ServerHelloDone',
  15: 'CertificateVerify',
  16: 'ClientKeyExchange',
  20: 'Finished',
  24: 'KeyUpdate',
};

const VERSION_NAMES: Record<number, string> = { 0x0300: 'SSL 3.0', 0x0301: 'TLS 1.0', 0x0302: 'TLS 1.1', 0x0303: 'TLS 1.2', 0x0304: 'TLS 1.3' };

const H2_FRAME_NAMES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
/** RFC 9113 §3.4. */
const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
const HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';

export function tlsVersionName(v: number): string {
  return VERSION_NAMES[v] ?? `0x${v.toString(16).padStart(4, '0')}`;
}

type Mode = 'unknown' | 'tls' | 'http1' | 'h2' | 'opaque';

/** What one segment's payload completed, for the ladder. */
export interface PayloadNote {
  /** Names of the records / messages / lines this segment completed, in order. */
  labels: string[];
  /**
   * The segment carried (or completed) application data: plaintext payload, an HTTP/2 frame, or a TLS
   * application_data record (in TLS 1.3 also the encrypted handshake, which no observer can tell apart).
   */
  app: boolean;
}

/** Facts learnt from the whole connection. */
export interface ConnTlsFacts {
  /** The version the ServerHello chose (supported_versions in TLS 1.3), or null. */
  version: number | null;
  sni: string | null;
  alpn: string[];
  /** `alpn` is the server's choice (TLS 1.2 ServerHello), not the client's offer (TLS 1.3 encrypts the choice). */
  alpnChosen: boolean;
}

class Direction {
  mode: Mode = 'unknown';
  /** Next expected sequence number, null until the first SYN or data segment. */
  next: number | null = null;
  buf: Uint8Array = new Uint8Array(0);
  readonly ooo = new Map<number, Uint8Array>();
  /** This side sent ChangeCipherSpec (TLS 1.2) or the keys changed (TLS 1.3, after the ServerHello). */
  encrypted = false;
  /** Handshake bytes of a message that spans records. */
  hs: Uint8Array = new Uint8Array(0);
  /** HTTP/1: after a 101 response / an Upgrade request, HTTP/2 follows the header block. */
  upgradeToH2 = false;
  /** Payload bytes still to pass unbuffered (the rest of an HTTP/2 frame already named). */
  skip = 0;
  /** HTTP/2 without preface expected (the server side, or after an h2c upgrade). */
  h2NoPreface = false;
  dropped = 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const r = new Uint8Array(a.length + b.length);
  r.set(a, 0);
  r.set(b, a.length);
  return r;
}

function ascii(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end && i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** A bounds-checked reader over a handshake message body: every read past the end yields -1 / null. */
class Reader {
  constructor(
    readonly b: Uint8Array,
    public p: number,
    readonly end: number,
  ) {}
  u8(): number {
    return this.p + 1 <= this.end ? this.b[this.p++]! : -1;
  }
  u16(): number {
    if (this.p + 2 > this.end) return -1;
    const v = (this.b[this.p]! << 8) | this.b[this.p + 1]!;
    this.p += 2;
    return v;
  }
  bytes(n: number): Uint8Array | null {
    if (n < 0 || this.p + n > this.end) return null;
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
  /** A vector with a 1- or 2-byte length prefix; null when it does not fit. */
  vec(lenBytes: 1 | 2): Uint8Array | null {
    const n = lenBytes === 1 ? this.u8() : this.u16();
    return n < 0 ? null : this.bytes(n);
  }
}

/** The extensions block of a hello: type → body. Null when malformed. */
function extensionsOf(r: Reader): Map<number, Uint8Array> | null {
  const m = new Map<number, Uint8Array>();
  if (r.p === r.end) return m; // RFC 5246 §7.4.1.2: extensions may be absent
  const all = r.vec(2);
  if (all === null) return null;
  const e = new Reader(all, 0, all.length);
  while (e.p < e.end) {
    const type = e.u16();
    const body = e.vec(2);
    if (type < 0 || body === null) return null;
    m.set(type, body);
  }
  return m;
}

/** RFC 6066 §3: the host_name in server_name. */
function sniOf(ext: Uint8Array): string | null {
  const r = new Reader(ext, 0, ext.length);
  const list = r.vec(2);
  if (list === null) return null;
  const l = new Reader(list, 0, list.length);
  while (l.p < l.end) {
    const type = l.u8();
    const name = l.vec(2);
    if (type < 0 || name === null) return null;
    if (type === 0) return ascii(name, 0, name.length);
  }
  return null;
}

/** RFC 7301 §3.1: the protocol names. */
function alpnOf(ext: Uint8Array): string[] {
  const r = new Reader(ext, 0, ext.length);
  const list = r.vec(2);
  if (list === null) return [];
  const l = new Reader(list, 0, list.length);
  const out: string[] = [];
  while (l.p < l.end) {
    const p = l.vec(1);
    if (p === null) break;
    out.push(ascii(p, 0, p.length));
  }
  return out;
}

/**
 * Names the payload of one TCP connection, segment by segment. `feed` is called for every segment in capture
 * order, with `fromA` telling the direction.
 */
export class PayloadLabeler {
  private readonly dirs: [Direction, Direction] = [new Direction(), new Direction()];
  readonly facts: ConnTlsFacts = { version: null, sni: null, alpn: [], alpnChosen: false };

  /** Feeds one segment: its sequence number, whether it carries SYN, and its payload. */
  feed(fromA: boolean, seq: number, syn: boolean, payload: Uint8Array): PayloadNote {
    const d = this.dirs[fromA ? 0 : 1];
    const note: PayloadNote = { labels: [], app: false };
    if (syn) {
      if (d.next === null) d.next = (seq + 1) >>> 0;
      seq = (seq + 1) >>> 0;
    }
    if (payload.length === 0) return note;
    if (d.next === null) d.next = seq;
    const off = (seq - d.next) | 0;
    if (off > 0) {
      // A hole before it: hold the segment until the hole fills (bounded).
      if (d.ooo.size < MAX_OUT_OF_ORDER) d.ooo.set(seq, payload);
      else this.giveUp(d, note, 'reassembly overflow');
      return note;
    }
    if (-off >= payload.length) return note; // all of it seen before: a retransmission
    this.append(d, payload.subarray(-off), fromA, note);
    // Drain held segments that now fit.
    for (let progressed = true; progressed && d.ooo.size > 0; ) {
      progressed = false;
      for (const [s, p] of d.ooo) {
        const o = (s - d.next!) | 0;
        if (o > 0) continue;
        d.ooo.delete(s);
        if (-o < p.length) this.append(d, p.subarray(-o), fromA, note);
        progressed = true;
      }
    }
    return note;
  }

  private giveUp(d: Direction, note: PayloadNote, why: string): void {
    if (d.mode === 'opaque') return;
    d.mode = 'opaque';
    d.buf = new Uint8Array(0);
    d.ooo.clear();
    note.labels.push(`(${why}: not followed further)`);
  }

  private append(d: Direction, bytes: Uint8Array, fromA: boolean, note: PayloadNote): void {
    d.next = (d.next! + bytes.length) >>> 0;
    if (d.skip > 0) {
      const n = Math.min(d.skip, bytes.length);
      d.skip -= n;
      bytes = bytes.subarray(n);
      note.app = true;
      if (bytes.length === 0) return;
    }
    if (d.mode === 'opaque') {
      d.dropped += bytes.length;
      note.app = true;
      return;
    }
    d.buf = concat(d.buf, bytes);
    this.parse(d, fromA, note);
  }

  private parse(d: Direction, fromA: boolean, note: PayloadNote): void {
    for (let guard = 0; guard < 10_000 && d.buf.length > 0; guard++) {
      if (d.mode === 'unknown' && !this.detect(d, fromA, note)) return;
      const before = d.buf.length;
      const mode = d.mode;
      switch (d.mode) {
        case 'tls':
          this.tlsRecord(d, fromA, note);
          break;
        case 'http1':
          this.httpHead(d, fromA, note);
          break;
        case 'h2':
          this.h2Frame(d, note);
          break;
        case 'opaque':
          d.dropped += d.buf.length;
          d.buf = new Uint8Array(0);
          note.app = true;
          return;
        default:
          return;
      }
      if (d.buf.length === before && d.mode === mode) return; // needs more bytes
    }
  }

  /** Chooses the format from the first bytes; false while too few bytes arrived to tell. */
  private detect(d: Direction, fromA: boolean, note: PayloadNote): boolean {
    const b = d.buf;
    const other = this.dirs[fromA ? 1 : 0];
    if (b[0] === TLS_HANDSHAKE || (other.mode === 'tls' && b[0]! >= TLS_CHANGE_CIPHER_SPEC && b[0]! <= TLS_HEARTBEAT)) {
      if (b.length < 2) return false;
      if (b[1] === 3) {
        d.mode = 'tls';
        return true;
      }
    }
    const pre = ascii(b, 0, Math.min(b.length, H2_PREFACE.length));
    if (H2_PREFACE.startsWith(pre)) {
      if (b.length < H2_PREFACE.length) return false;
      d.mode = 'h2';
      d.buf = b.subarray(H2_PREFACE.length);
      note.labels.push('HTTP/2 connection preface');
      note.app = true;
      return true;
    }
    if (other.mode === 'h2' || d.h2NoPreface) {
      d.mode = 'h2';
      return true;
    }
    if (/^[A-Z]{1,15}( |$)/.test(ascii(b, 0, 16)) || /^HTTP\/?\d?/.test(ascii(b, 0, 6))) {
      d.mode = 'http1';
      return true;
    }
    d.mode = 'opaque';
    note.labels.push(`${b.length} bytes of no known format`);
    return true;
  }

  private tlsRecord(d: Direction, fromA: boolean, note: PayloadNote): void {
    const b = d.buf;
    if (b.length < TLS_RECORD_HEADER) return;
    const type = b[0]!;
    const len = (b[3]! << 8) | b[4]!;
    if (type < TLS_CHANGE_CIPHER_SPEC || type > TLS_HEARTBEAT || b[1] !== 3 || b[2]! > 4 || len > TLS_MAX_RECORD) {
      this.giveUp(d, note, 'not a TLS record');
      return;
    }
    if (b.length < TLS_RECORD_HEADER + len) return;
    const body = b.subarray(TLS_RECORD_HEADER, TLS_RECORD_HEADER + len);
    d.buf = b.subarray(TLS_RECORD_HEADER + len);
    const tls13 = this.facts.version === 0x0304;
    switch (type) {
      case TLS_CHANGE_CIPHER_SPEC:
        // RFC 8446 §5: in TLS 1.3 a ChangeCipherSpec is only for middlebox compatibility; the keys change anyway.
        note.labels.push(tls13 ? 'ChangeCipherSpec (compatibility)' : 'ChangeCipherSpec');
        if (!tls13) d.encrypted = true;
        break;
      case TLS_ALERT:
        if (d.encrypted || tls13) note.labels.push('encrypted alert');
        else note.labels.push(body.length >= 2 ? `Alert ${body[0] === 2 ? 'fatal' : 'warning'} ${body[1]}` : 'Alert (malformed)');
        break;
      case TLS_HANDSHAKE:
        if (d.encrypted) note.labels.push('encrypted handshake');
        else this.handshake(d, fromA, body, note);
        break;
      case TLS_APPLICATION_DATA:
        note.labels.push(tls13 ? 'encrypted' : 'application data (encrypted)');
        note.app = true;
        break;
      default:
        note.labels.push('Heartbeat');
    }
  }

  /** Handshake messages in one plaintext record; a message split across records waits in `d.hs`. */
  private handshake(d: Direction, fromA: boolean, body: Uint8Array, note: PayloadNote): void {
    let hs = concat(d.hs, body);
    while (hs.length >= 4) {
      const type = hs[0]!;
      const len = (hs[1]! << 16) | (hs[2]! << 8) | hs[3]!;
      if (len > MAX_HANDSHAKE_MESSAGE) {
        d.hs = new Uint8Array(0);
        note.labels.push(`handshake message of ${len} bytes: not followed`);
        return;
      }
      if (hs.length < 4 + len) break;
      note.labels.push(this.message(type, new Reader(hs, 4, 4 + len), fromA));
      hs = hs.subarray(4 + len);
    }
    d.hs = hs.length > 0 ? hs.slice() : new Uint8Array(0);
  }

  private message(type: number, r: Reader, fromA: boolean): string {
    const name = HANDSHAKE_NAMES[type] ?? `handshake type ${type}`;
    if (type === 1) {
      // RFC 8446 §4.1.2: legacy_version, random, legacy_session_id, cipher_suites, compression, extensions.
      const ver = r.u16();
      if (ver < 0 || r.bytes(32) === null || r.vec(1) === null || r.vec(2) === null || r.vec(1) === null) return `${name} (malformed)`;
      const ext = extensionsOf(r);
      if (ext === null) return `${name} (malformed extensions)`;
      const parts: string[] = [];
      const sn = ext.get(0);
      const sni = sn ? sniOf(sn) : null;
      if (sni !== null) {
        parts.push(`SNI ${sni}`);
        if (fromA) this.facts.sni = sni;
      }
      const al = ext.get(16);
      if (al) {
        const alpn = alpnOf(al);
        if (alpn.length > 0) parts.push(`ALPN ${alpn.join(',')}`);
        if (this.facts.alpn.length === 0) this.facts.alpn = alpn;
      }
      if (ext.has(41)) parts.push('PSK');
      if (ext.has(42)) parts.push('early data');
      return parts.length > 0 ? `${name} (${parts.join(', ')})` : name;
    }
    if (type === 2) {
      const ver = r.u16();
      const random = r.bytes(32);
      if (ver < 0 || random === null || r.vec(1) === null || r.u16() < 0 || r.u8() < 0) return `${name} (malformed)`;
      const ext = extensionsOf(r);
      let chosen = ver;
      // RFC 8446 §4.2.1: the server's supported_versions carries the one version it chose.
      const sv = ext?.get(43);
      if (sv !== undefined && sv.length === 2) chosen = (sv[0]! << 8) | sv[1]!;
      const parts = [tlsVersionName(chosen)];
      const al = ext?.get(16);
      if (al) {
        // RFC 7301 §3.1: the server's extension names the one protocol it chose.
        const alpn = alpnOf(al);
        if (alpn.length > 0) parts.push(`ALPN ${alpn.join(',')}`);
        this.facts.alpn = alpn;
        this.facts.alpnChosen = true;
      }
      if (hex(random) === HRR_RANDOM) return `HelloRetryRequest (${parts.join(', ')})`;
      this.facts.version = chosen;
      if (chosen === 0x0304) {
        // RFC 8446 §2: everything after the ServerHello is encrypted, both ways.
        this.dirs[0].encrypted = true;
        this.dirs[1].encrypted = true;
      }
      return `${name} (${parts.join(', ')})`;
    }
    return name;
  }

  /** HTTP/1.x: the request or status line of a head; the body is not followed (no framing is parsed). */
  private httpHead(d: Direction, fromA: boolean, note: PayloadNote): void {
    const b = d.buf;
    note.app = true;
    if (d.upgradeToH2 && H2_PREFACE.startsWith(ascii(b, 0, Math.min(b.length, H2_PREFACE.length)))) {
      // The client of an h2c upgrade sends the preface after the 101 (RFC 7540 §3.2).
      d.mode = 'h2';
      return;
    }
    const start = ascii(b, 0, 16);
    if (b.length >= 16 && !/^(HTTP\/1\.[01] \d|[A-Z]{1,15} \S)/.test(start)) {
      // Body bytes (no framing is followed): consumed without a label.
      d.buf = new Uint8Array(0);
      return;
    }
    const eol = b.indexOf(0x0a);
    const line = ascii(b, 0, eol < 0 ? Math.min(b.length, 200) : eol).replace(/\r$/, '');
    const req = /^([A-Z]{1,15}) (\S+) (HTTP\/1\.[01])$/.exec(line);
    const status = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/.exec(line);
    if (eol < 0 && b.length < 200) return; // the line is not complete yet
    if (req === null && status === null) {
      // Body bytes (or something else): consumed without a label.
      d.buf = new Uint8Array(0);
      return;
    }
    const end = findHeadEnd(b);
    if (end < 0 && b.length < 16384) return; // wait for the whole head (bounded)
    const head = ascii(b, 0, end < 0 ? b.length : end).toLowerCase();
    if (req !== null) {
      const h2c = /\r?\nupgrade:\s*h2c/.test(head);
      note.labels.push(`${req[1]} ${req[2]} ${req[3]}${h2c ? ' (h2c upgrade)' : ''}`);
      if (h2c) d.upgradeToH2 = true;
    } else {
      note.labels.push(`${status![1]} ${status![2]}${status![3] ? ` ${status![3]}` : ''}`);
      // RFC 9113 §3.2 (RFC 7540 §3.2): after "101 Switching Protocols" both sides speak HTTP/2; the server
      // starts with SETTINGS, the client with the preface.
      if (status![2] === '101' && this.dirs[fromA ? 1 : 0].upgradeToH2) {
        d.buf = end < 0 ? new Uint8Array(0) : b.subarray(end);
        d.mode = 'h2';
        return;
      }
    }
    d.buf = end < 0 ? new Uint8Array(0) : b.subarray(end);
  }

  /** HTTP/2: one frame (RFC 9113 §4.1: 24-bit length, type, flags, 31-bit stream id). */
  private h2Frame(d: Direction, note: PayloadNote): void {
    const b = d.buf;
    if (b.length >= 3 && ascii(b, 0, 3) === 'PRI') {
      if (b.length < H2_PREFACE.length) return;
      if (ascii(b, 0, H2_PREFACE.length) === H2_PREFACE) {
        d.buf = b.subarray(H2_PREFACE.length);
        note.labels.push('HTTP/2 connection preface');
        note.app = true;
        return;
      }
    }
    if (b.length < 9) return;
    // Named on its header; the body passes without being held (a frame may be up to 2^24 - 1 bytes).
    const len = (b[0]! << 16) | (b[1]! << 8) | b[2]!;
    const type = b[3]!;
    const flags = b[4]!;
    const stream = ((b[5]! & 0x7f) << 24) | (b[6]! << 16) | (b[7]! << 8) | b[8]!;
    const have = Math.min(len, b.length - 9);
    d.buf = b.subarray(9 + have);
    d.skip = len - have;
    const name = H2_FRAME_NAMES[type] ?? `frame type ${type}`;
    const ack = (type === 4 || type === 6) && flags & 1 ? ' ACK' : '';
    note.labels.push(`h2 ${name}${ack}${stream !== 0 ? ` stream ${stream}` : ''}`);
    note.app = true;
  }
}

/** Runs of the same label shown once with a count: "encrypted ×4". */
export function joinLabels(labels: readonly string[]): string {
  const out: string[] = [];
  for (let i = 0; i < labels.length; ) {
    let j = i + 1;
    while (j < labels.length && labels[j] === labels[i]) j++;
    out.push(j - i > 1 ? `${labels[i]} \u00d7${j - i}` : labels[i]!);
    i = j;
  }
  return out.join('; ');
}

/** Offset just past the blank line ending an HTTP head, or -1. */
function findHeadEnd(b: Uint8Array): number {
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] === 0x0a && b[i + 1] === 0x0a) return i + 2;
    if (b[i] === 0x0a && b[i + 1] === 0x0d && i + 2 < b.length && b[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}
