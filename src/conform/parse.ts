/**
 * Lexer and parser for scripts in the packetdrill dialect
 * (../shared/conformance/packetdrill-dialect.md, sections 1–3, 5, 6).
 *
 * Three passes:
 *  1. comments (`//`, `/* *\/`) are blanked out, keeping line numbers
 *     (not inside backquotes, strings or `%{ }%` blocks);
 *  2. the text is cut into option lines and events: an event starts on a
 *     line that begins with a time while no bracket is open, and runs over
 *     any continuation lines;
 *  3. each event is scanned by a small recursive-descent parser.
 *
 * Errors are `ScriptSyntaxError` with the line. Constructs the runner does
 * not support are parsed and left for the runner to report `unsupported`.
 */
import {
  ScriptSyntaxError,
  type Action,
  type EventTime,
  type Expr,
  type IcmpPacketLine,
  type IcmpQuote,
  type IpInfo,
  type PacketLine,
  type Script,
  type ScriptEvent,
  type ScriptOption,
  type SyscallLine,
  type TcpOptionSpec,
  type TimePoint,
} from './ast.js';
import { ICMP_TIME_EXCEEDED_CODES, ICMP_TYPES, ICMP_UNREACH_CODES } from './constants.js';
import { TCP_ACK, TCP_AE, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../wire/tcp.js';

/** Replaces comments by spaces (newlines kept), outside backquotes, strings and code blocks. */
export function stripComments(text: string): string {
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    const d = text[i + 1];
    if (c === '%' && d === '{') {
      const end = text.indexOf('}%', i + 2);
      const stop = end < 0 ? n : end + 2;
      out.push(text.slice(i, stop));
      i = stop;
    } else if (c === '`' || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end < 0 ? n : end + 1;
      out.push(text.slice(i, stop));
      i = stop;
    } else if (c === '/' && d === '/') {
      while (i < n && text[i] !== '\n') {
        out.push(' ');
        i++;
      }
    } else if (c === '/' && d === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      for (let k = i; k < stop; k++) out.push(text[k] === '\n' ? '\n' : ' ');
      i = stop;
    } else {
      out.push(c);
      i++;
    }
  }
  return out.join('');
}

const TIME_START = /^(\+?\d|\+?\.\d|\*)/;

interface Chunk {
  line: number;
  text: string;
}

/** Bracket depth change of a line (outside backquotes/strings), and whether a `%{` block stays open. */
function scanDepth(line: string, state: { depth: number; inCode: boolean; inTick: boolean }): void {
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (state.inCode) {
      if (c === '}' && line[i + 1] === '%') {
        state.inCode = false;
        i++;
      }
      continue;
    }
    if (state.inTick) {
      if (c === '`') state.inTick = false;
      continue;
    }
    if (c === '%' && line[i + 1] === '{') {
      state.inCode = true;
      i++;
    } else if (c === '`') state.inTick = true;
    else if (c === '"') {
      const end = line.indexOf('"', i + 1);
      i = end < 0 ? line.length : end;
    } else if (c === '(' || c === '[' || c === '{') state.depth++;
    else if (c === ')' || c === ']' || c === '}') state.depth--;
  }
}

export function parseScript(text: string): Script {
  const lines = stripComments(text.replace(/\r\n?/g, '\n')).split('\n');
  const options: ScriptOption[] = [];
  const chunks: Chunk[] = [];
  const state = { depth: 0, inCode: false, inTick: false };
  let current: Chunk | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const t = raw.trim();
    const lineNo = i + 1;
    const open = state.depth > 0 || state.inCode || state.inTick;
    if (!open) {
      if (t === '') {
        if (current) chunks.push(current);
        current = null;
        continue;
      }
      if (t.startsWith('-') && !current && chunks.length === 0) {
        for (const opt of splitOptionLine(t, lineNo)) options.push(opt);
        continue;
      }
      if (t.startsWith('--')) throw new ScriptSyntaxError(`option '${t}' after the first event (options go at the top)`, lineNo);
      if (TIME_START.test(t)) {
        if (current) chunks.push(current);
        current = { line: lineNo, text: raw };
        scanDepth(raw, state);
        continue;
      }
      // packetdrill accepts a backquoted command without a time (e.g. `../common/defaults.sh` at the
      // top of Linux scripts): it runs right after the previous event, as if written "+0".
      if (t.startsWith('`')) {
        if (current) chunks.push(current);
        current = { line: lineNo, text: '+0 ' + raw };
        scanDepth(raw, state);
        continue;
      }
      if (!current) {
        if (t.startsWith('-')) throw new ScriptSyntaxError(`option '${t}' after the first event (options go at the top)`, lineNo);
        throw new ScriptSyntaxError(`expected an event starting with a time, got '${clip(t)}'`, lineNo);
      }
    }
    if (!current) throw new ScriptSyntaxError(`unexpected text '${clip(t)}'`, lineNo);
    current.text += '\n' + raw;
    scanDepth(raw, state);
  }
  if (current) chunks.push(current);
  if (state.inCode) throw new ScriptSyntaxError('unterminated %{ code block', chunks[chunks.length - 1]?.line ?? lines.length);
  if (state.inTick) throw new ScriptSyntaxError('unterminated backquoted command', chunks[chunks.length - 1]?.line ?? lines.length);
  if (state.depth > 0) throw new ScriptSyntaxError('unbalanced brackets at end of script', chunks[chunks.length - 1]?.line ?? lines.length);

  const events = chunks.map((c) => parseEvent(c));
  if (events.length === 0) throw new ScriptSyntaxError('the script has no events', Math.max(1, options[options.length - 1]?.line ?? 1));
  if (events.length > 0) {
    const first = events[0]!;
    const t = first.time;
    const ok = t.kind === 'point' ? t.at.seconds === 0 : t.kind === 'blocking' ? t.start.seconds === 0 : false;
    if (!ok) throw new ScriptSyntaxError('the first event must be at time 0 (0 or +0)', first.line);
  }
  return { options, events };
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}

/** `--a=1 --b` on one line (packetdrill allows several). */
function splitOptionLine(t: string, line: number): ScriptOption[] {
  const out: ScriptOption[] = [];
  for (const word of t.split(/\s+/)) {
    if (word === '') continue;
    if (!word.startsWith('-')) throw new ScriptSyntaxError(`bad option '${word}' (expected --name=value or --name)`, line);
    const body = word.replace(/^--?/, '');
    const eq = body.indexOf('=');
    if (body === '' || eq === 0) throw new ScriptSyntaxError(`bad option '${word}'`, line);
    out.push(eq < 0 ? { line, name: body, value: undefined } : { line, name: body.slice(0, eq), value: body.slice(eq + 1) });
  }
  return out;
}

/** A cursor over one event's text. */
class Scanner {
  pos = 0;
  private readonly lineStarts: number[] = [0];
  constructor(
    readonly text: string,
    readonly firstLine: number,
  ) {
    for (let i = 0; i < text.length; i++) if (text[i] === '\n') this.lineStarts.push(i + 1);
  }

  line(at = this.pos): number {
    let l = 0;
    while (l + 1 < this.lineStarts.length && this.lineStarts[l + 1]! <= at) l++;
    return this.firstLine + l;
  }

  fail(msg: string): never {
    throw new ScriptSyntaxError(msg, this.line());
  }

  ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  atEnd(): boolean {
    this.ws();
    return this.pos >= this.text.length;
  }

  peek(s: string): boolean {
    this.ws();
    return this.text.startsWith(s, this.pos);
  }

  eat(s: string): boolean {
    if (this.peek(s)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  expect(s: string, what?: string): void {
    if (!this.eat(s)) this.fail(`expected ${what ?? `'${s}'`} but found ${this.near()}`);
  }

  near(): string {
    this.ws();
    if (this.pos >= this.text.length) return 'end of line';
    const rest = this.text.slice(this.pos).split('\n')[0]!;
    return `'${clip(rest)}'`;
  }

  /** Matches a regex anchored at the cursor (after whitespace). */
  match(re: RegExp): string | undefined {
    this.ws();
    const r = new RegExp(re.source, 'y');
    r.lastIndex = this.pos;
    const m = r.exec(this.text);
    if (!m) return undefined;
    this.pos += m[0].length;
    return m[0];
  }

  peekRe(re: RegExp): boolean {
    this.ws();
    const r = new RegExp(re.source, 'y');
    r.lastIndex = this.pos;
    return r.test(this.text);
  }

  ident(): string | undefined {
    return this.match(/[A-Za-z_][A-Za-z0-9_.]*/);
  }

  /** Unsigned integer, decimal or 0x hex. */
  integer(what: string): number {
    const s = this.match(/0[xX][0-9a-fA-F]+|\d+/);
    if (s === undefined) this.fail(`expected ${what} but found ${this.near()}`);
    return Number(s);
  }

  /** u32 sequence-like number. */
  u32(what: string): number {
    const v = this.integer(what);
    if (v > 0xffffffff) this.fail(`${what} ${v} does not fit in 32 bits`);
    return v;
  }
}

function parseTimePoint(s: Scanner): TimePoint {
  const rel = s.eat('+');
  const num = s.match(/\d+(\.\d+)?|\.\d+/);
  if (num === undefined) s.fail(`expected a time but found ${s.near()}`);
  return { relative: rel, seconds: Number(num) };
}

function parseTime(s: Scanner): EventTime {
  if (s.eat('*')) return { kind: 'any' };
  const a = parseTimePoint(s);
  if (s.eat('...')) {
    const b = parseTimePoint(s);
    // "+0.1...0.2": with a relative start the end is relative too, to the same base as the start
    // (packetdrill run.c adds the previous event's time to both), i.e. 0.2 s after the previous event.
    return { kind: 'blocking', start: a, end: { relative: a.relative || b.relative, seconds: b.seconds } };
  }
  if (s.eat('~')) {
    const b = parseTimePoint(s);
    if (a.relative !== b.relative) s.fail('a time range must be both absolute or both relative');
    if (b.seconds < a.seconds) s.fail('a time range must not end before it starts');
    return { kind: 'range', from: a, to: b };
  }
  return { kind: 'point', at: a };
}

function parseEvent(c: Chunk): ScriptEvent {
  const s: Scanner = new Scanner(c.text, c.line);
  const time = parseTime(s);
  let action: Action;
  if (s.peek('<') || s.peek('>')) {
    const dir = s.eat('<') ? 'in' : (s.expect('>'), 'out');
    action = { kind: 'packet', packet: parsePacket(s, dir) };
  } else if (s.peek('`')) {
    s.expect('`');
    const end = s.text.indexOf('`', s.pos);
    if (end < 0) s.fail('unterminated backquoted command');
    const command = s.text.slice(s.pos, end).trim();
    s.pos = end + 1;
    action = { kind: 'shell', command };
  } else if (s.peek('%{')) {
    s.expect('%{');
    const end = s.text.indexOf('}%', s.pos);
    if (end < 0) s.fail('unterminated %{ code block');
    action = { kind: 'code', code: s.text.slice(s.pos, end) };
    s.pos = end + 2;
  } else if (s.peekRe(/[A-Za-z_]\w*\s*\(/)) {
    action = { kind: 'syscall', call: parseSyscall(s) };
  } else {
    s.fail(`expected a packet (< or >), a system call, a \`command\` or a %{ block after the time, found ${s.near()}`);
  }
  if (!s.atEnd()) s.fail(`unexpected ${s.near()} at end of event`);
  if (time.kind === 'any' || time.kind === 'range') {
    if (action.kind !== 'packet' || action.packet.dir !== 'out') s.fail(`the time forms '*' and 'A~B' are only allowed on outbound packets`);
  }
  if (time.kind === 'blocking' && action.kind !== 'syscall') s.fail(`a blocking time 'S...E' is only allowed on system calls`);
  return { line: c.line, time, action, text: c.text.trim().replace(/\s*\n\s*/g, ' ') };
}

const FLAG_BITS: Readonly<Record<string, number>> = {
  F: TCP_FIN,
  S: TCP_SYN,
  R: TCP_RST,
  P: TCP_PSH,
  '.': TCP_ACK,
  U: TCP_URG,
  E: TCP_ECE,
  W: TCP_CWR,
  A: TCP_AE,
};

function parseFlags(s: Scanner, word: string): number {
  if (word === '-') return 0;
  let f = 0;
  for (const ch of word) {
    if (ch >= '0' && ch <= '7') {
      // AccECN: three bits AE|CWR|ECE as a number.
      const v = Number(ch);
      if (v & 4) f |= TCP_AE;
      if (v & 2) f |= TCP_CWR;
      if (v & 1) f |= TCP_ECE;
      continue;
    }
    const b = FLAG_BITS[ch];
    if (b === undefined) s.fail(`unknown TCP flag '${ch}' in '${word}' (flags are F S R P . U E W A, or -)`);
    f |= b;
  }
  return f;
}

function parseIpInfo(s: Scanner): IpInfo | undefined {
  let close: string;
  if (s.eat('[')) close = ']';
  else if (s.peek('(') && !s.peekRe(/\(\s*\d/)) {
    s.expect('(');
    close = ')';
  } else return undefined;
  const info: IpInfo = {};
  while (!s.eat(close)) {
    s.eat(',');
    if (s.eat(close)) break;
    const w = s.ident();
    if (w === undefined) s.fail(`expected an IP field (ttl, tos, ect0, ...) but found ${s.near()}`);
    switch (w) {
      case 'ttl':
        info.ttl = s.integer('a TTL');
        break;
      case 'tos':
        info.tos = s.integer('a TOS value');
        break;
      case 'id':
        info.id = s.integer('an IP id');
        break;
      case 'df':
        info.df = true;
        break;
      case 'frag': {
        const offset = s.integer('a fragment offset');
        s.expect(':', "':' in frag OFFSET:LENGTH");
        const length = s.integer('a fragment length');
        if (offset % 8 !== 0) s.fail(`fragment offset ${offset} is not a multiple of 8`);
        info.frag = { offset, length, more: false };
        break;
      }
      case 'mf':
        if (!info.frag) s.fail("'mf' goes after 'frag OFFSET:LENGTH'");
        info.frag.more = true;
        break;
      case 'noecn':
        info.ecn = 0;
        break;
      case 'ect1':
        info.ecn = 1;
        break;
      case 'ect0':
        info.ecn = 2;
        break;
      case 'ce':
        info.ecn = 3;
        break;
      case 'ect01':
        info.ecn = 'either';
        break;
      case 'flowlabel':
        s.fail('flowlabel is an IPv6 field');
        break;
      default:
        s.fail(`unknown IP field '${w}'`);
    }
  }
  return info;
}

function parsePorts(s: Scanner): { src: number; dst: number } | undefined {
  const m = s.match(/\d+\s*>\s*\d+/);
  if (m === undefined) return undefined;
  const [a, b] = m.split('>').map((x) => Number(x.trim()));
  if (a! > 65535 || b! > 65535) s.fail(`port out of range in '${m}'`);
  return { src: a!, dst: b! };
}

function parsePacket(s: Scanner, dir: 'in' | 'out'): PacketLine {
  const ip = parseIpInfo(s);
  const ports = parsePorts(s);
  if (s.peekRe(/udp\b/)) {
    s.ident();
    s.expect('(', "'(' after udp");
    const len = s.integer('a UDP payload length');
    s.expect(')');
    return { proto: 'udp', dir, ip, ports, len };
  }
  if (s.peekRe(/icmp\b/)) {
    s.ident();
    return parseIcmp(s, dir, ip);
  }
  const flagsText = s.match(/[-.FSRPUEWA0-7]+/);
  if (flagsText === undefined) s.fail(`expected TCP flags (S, S., ., P., F., R, -, ...), 'udp' or 'icmp' but found ${s.near()}`);
  const flags = parseFlags(s, flagsText);
  const start = s.u32('a start sequence number');
  s.expect(':', "':' in START:END(LEN)");
  const end = s.u32('an end sequence number');
  s.expect('(', "'(' in START:END(LEN)");
  const len = s.integer('a payload length');
  s.expect(')');
  if (((start + len) >>> 0) !== end) s.fail(`END must equal START + LEN (${start}:${end}(${len}))`);
  let ack: number | undefined;
  let win: number | undefined;
  let urg: number | undefined;
  let options: TcpOptionSpec[] | 'any' | undefined;
  for (;;) {
    if (s.atEnd()) break;
    if (s.eat('<')) {
      if (options !== undefined) s.fail('two option lists');
      options = parseOptions(s);
      continue;
    }
    const w = s.ident();
    if (w === 'ack') ack = s.u32('an ack number');
    else if (w === 'win') {
      win = s.integer('a window');
      if (win > 0xffff) s.fail(`win ${win} does not fit the 16-bit window field`);
    } else if (w === 'urg') urg = s.integer('an urgent pointer');
    else s.fail(`unexpected ${w !== undefined ? `'${w}'` : s.near()} in a TCP packet (expected ack, win, urg or <options>)`);
  }
  if (dir === 'in') {
    if (win === undefined) s.fail('an inbound TCP packet needs win N');
    if (options === 'any') s.fail('<...> is not allowed on an inbound packet');
  }
  return { proto: 'tcp', dir, ip, ports, flags, flagsText, start, end, len, ack, win, urg, options };
}

function parseOptions(s: Scanner): TcpOptionSpec[] | 'any' {
  if (s.eat('...')) {
    s.expect('>', "'>' after <...");
    return 'any';
  }
  const out: TcpOptionSpec[] = [];
  if (s.eat('>')) return out;
  for (;;) {
    const w = s.ident();
    if (w === undefined) s.fail(`expected a TCP option but found ${s.near()}`);
    switch (w) {
      case 'nop':
        out.push({ kind: 'nop' });
        break;
      case 'eol':
        out.push({ kind: 'eol' });
        break;
      case 'mss':
        out.push({ kind: 'mss', value: s.integer('an MSS value') });
        break;
      case 'wscale':
        out.push({ kind: 'wscale', value: s.integer('a window scale') });
        break;
      case 'sackOK':
        out.push({ kind: 'sackOK' });
        break;
      case 'sack': {
        const blocks: [number, number][] = [];
        while (s.peekRe(/\d/)) {
          const a = s.u32('a SACK left edge');
          s.expect(':', "':' in a SACK block");
          blocks.push([a, s.u32('a SACK right edge')]);
        }
        if (blocks.length === 0) s.fail('sack needs at least one block A:B');
        if (blocks.length > 4) s.fail('at most 4 SACK blocks');
        out.push({ kind: 'sack', blocks });
        break;
      }
      case 'TS': {
        const v = s.ident();
        if (v !== 'val') s.fail(`expected 'TS val X ecr Y' but found ${s.near()}`);
        const val = s.u32('a TS val');
        if (s.ident() !== 'ecr') s.fail(`expected 'ecr' in TS option`);
        out.push({ kind: 'ts', val, ecr: s.u32('a TS ecr') });
        break;
      }
      case 'FO':
      case 'FOEXP': {
        // packetdrill: the cookie as hex digits, none for a cookie request.
        const hex = s.match(/[0-9a-fA-F]*/) ?? '';
        if (hex.length % 2 !== 0) s.fail(`Fast Open cookie '${hex}' has an odd number of hex digits`);
        const cookie = new Uint8Array(hex.length / 2);
        for (let i = 0; i < cookie.length; i++) cookie[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
        out.push({ kind: 'fastopen', exp: w === 'FOEXP', cookie });
        break;
      }
      case 'ECN': {
        // packetdrill's AccECN option: the first label picks the order (e0b: kind 172, e1b: kind 174), then ceb, then the other.
        const labels: string[] = [];
        const fields: number[] = [];
        while (s.peekRe(/[ec][0-9a-z]*b\b/)) {
          labels.push(s.ident() ?? '');
          const v = s.u32('an AccECN field value');
          if (v > 0xffffff) s.fail('TCP AccECN field value out of range');
          fields.push(v);
        }
        const order = labels[0] === 'e1b' ? 1 : 0;
        const want = order === 1 ? ['e1b', 'ceb', 'e0b'] : ['e0b', 'ceb', 'e1b'];
        if (fields.length === 0 || labels.some((l, i) => l !== want[i])) s.fail(`expected 'ECN e0b N [ceb N [e1b N]]' or 'ECN e1b N [ceb N [e0b N]]' but found ${s.near()}`);
        out.push({ kind: 'accecn', order, fields });
        break;
      }
      case 'md5': {
        // packetdrill new_md5_option: the digest as hex, up to 16 bytes; a shorter one makes a shorter
        // (invalid) option, which a receiver ignores (only length 18 counts).
        const hex = s.match(/[0-9a-fA-F]*/) ?? '';
        if (hex.length > 32) s.fail('TCP MD5 digest longer than 16 bytes');
        if (hex.length % 2 !== 0) s.fail(`TCP MD5 digest '${hex}' is not a valid hex string`);
        const digest = new Uint8Array(hex.length / 2);
        for (let i = 0; i < digest.length; i++) digest[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
        out.push({ kind: 'md5', digest });
        break;
      }
      default: {
        // exp / unknown: skip to the next option and report unsupported.
        s.match(/[^,>]*/);
        out.push({ kind: 'unsupported', what: `TCP option '${w}'` });
      }
    }
    if (s.eat('>')) break;
    s.expect(',', "',' or '>' in an option list");
  }
  let bytes = 0;
  for (const o of out) bytes += optionLength(o);
  if (bytes % 4 !== 0 && !out.some((o) => o.kind === 'unsupported')) s.fail(`TCP options take ${bytes} bytes, not a multiple of 4 (pad with nop)`);
  if (bytes > 40) s.fail(`TCP options take ${bytes} bytes, more than 40`);
  return out;
}

export function optionLength(o: TcpOptionSpec): number {
  switch (o.kind) {
    case 'nop':
    case 'eol':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sackOK':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'ts':
      return 10;
    case 'fastopen':
      return (o.exp ? 4 : 2) + o.cookie.length;
    case 'md5':
      return 2 + o.digest.length;
    case 'accecn':
      return 2 + 3 * o.fields.length;
    case 'unsupported':
      return 0;
  }
}

function parseIcmp(s: Scanner, dir: 'in' | 'out', ip: IpInfo | undefined): IcmpPacketLine {
  const typeWord = s.ident();
  if (typeWord === undefined) s.fail(`expected an ICMP type word (unreachable, time_exceeded, echo_request, ...) but found ${s.near()}`);
  const type = ICMP_TYPES[typeWord];
  if (type === undefined) s.fail(`unknown ICMP type '${typeWord}'`);
  let codeWord: string | undefined;
  let code = 0;
  let mtu: number | undefined;
  let echo: IcmpPacketLine['echo'];
  let quote: IcmpQuote | undefined;
  if (type === 0 || type === 8) {
    let id = 0;
    let seq = 0;
    for (;;) {
      if (s.peekRe(/id\b/)) {
        s.ident();
        id = s.integer('an echo id');
      } else if (s.peekRe(/seq\b/)) {
        s.ident();
        seq = s.integer('an echo sequence number');
      } else break;
    }
    s.expect('(', "'(LEN)' after an echo message");
    const len = s.integer('an echo payload length');
    s.expect(')');
    echo = { id, seq, len };
  } else {
    if (s.peekRe(/[a-z_]+/)) {
      codeWord = s.ident()!;
      const table = type === 3 ? ICMP_UNREACH_CODES : type === 11 ? ICMP_TIME_EXCEEDED_CODES : undefined;
      const c = table?.[codeWord];
      if (c === undefined) {
        if (codeWord === 'mtu') s.fail('mtu goes after the code word frag_needed');
        s.fail(`unknown ICMP code '${codeWord}' for type ${typeWord}`);
      }
      code = c;
    } else if (s.peekRe(/\d/)) code = s.integer('an ICMP code');
    if (s.peekRe(/mtu\b/)) {
      s.ident();
      mtu = s.integer('an MTU');
    }
    if (s.eat('[')) {
      if (s.peekRe(/udp\b/)) {
        s.ident();
        s.expect('(');
        const len = s.integer('a UDP length');
        s.expect(')');
        quote = { proto: 'udp', len };
      } else {
        let flags: number | undefined;
        const fl = s.match(/[-.FSRPUEWA]+(?=\s)/);
        if (fl !== undefined) flags = parseFlags(s, fl);
        const start = s.u32('a quoted start sequence');
        s.expect(':');
        const end = s.u32('a quoted end sequence');
        s.expect('(');
        const len = s.integer('a quoted length');
        s.expect(')');
        if (((start + len) >>> 0) !== end) s.fail(`END must equal START + LEN in the quoted segment`);
        quote = { proto: 'tcp', start, end, len, flags };
      }
      s.expect(']');
    }
  }
  return { proto: 'icmp', dir, ip, typeWord, codeWord, type, code, mtu, echo, quote };
}

function parseSyscall(s: Scanner): SyscallLine {
  const name = s.ident()!;
  s.expect('(');
  const args: Expr[] = [];
  if (!s.eat(')')) {
    for (;;) {
      args.push(parseExpr(s));
      if (s.eat(')')) break;
      s.expect(',', "',' or ')' in the argument list");
    }
  }
  s.expect('=', "'= RESULT' after a system call");
  const result = parseExpr(s);
  let errno: string | undefined;
  if (s.peekRe(/E[A-Z0-9]+\b/)) errno = s.ident();
  // Free text in parentheses to the end, e.g. "(Resource temporarily unavailable)".
  if (s.peek('(')) {
    let depth = 0;
    for (; s.pos < s.text.length; s.pos++) {
      const c = s.text[s.pos];
      if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        s.pos++;
        break;
      }
    }
  }
  return { name, args, result, errno };
}

function parseExpr(s: Scanner): Expr {
  const first = parseTerm(s);
  if (!s.peek('|')) return first;
  const items = [first];
  while (s.eat('|')) items.push(parseTerm(s));
  return { t: 'or', items };
}

function parseTerm(s: Scanner): Expr {
  if (s.eat('...')) return { t: 'ellipsis' };
  if (s.eat('[')) {
    const items: Expr[] = [];
    if (!s.eat(']')) {
      for (;;) {
        items.push(parseExpr(s));
        if (s.eat(']')) break;
        s.expect(',', "',' or ']'");
      }
    }
    return { t: 'list', items };
  }
  if (s.eat('{')) {
    const fields: { name: string | undefined; value: Expr }[] = [];
    if (!s.eat('}')) {
      for (;;) {
        // `name=value`, or packetdrill's `name(N)=value` / `name(...)=value` (msg_iov(1)=[...], msg_name(...)=...).
        if (s.peekRe(/[A-Za-z_]\w*\s*(\([^()]*\))?\s*=/)) {
          let name = s.ident()!;
          if (s.eat('(')) {
            const close = s.text.indexOf(')', s.pos);
            name += `(${s.text.slice(s.pos, close).trim()})`;
            s.pos = close + 1;
          }
          s.expect('=');
          fields.push({ name, value: parseExpr(s) });
        } else fields.push({ name: undefined, value: parseExpr(s) });
        if (s.eat('}')) break;
        s.expect(',', "',' or '}'");
      }
    }
    return { t: 'struct', fields };
  }
  if (s.peek('"')) {
    const m = s.match(/"[^"]*"/);
    if (m === undefined) s.fail('unterminated string');
    return { t: 'str', v: m.slice(1, -1) };
  }
  const neg = s.eat('-');
  if (s.peekRe(/\d/)) {
    const v = s.integer('a number');
    return { t: 'num', v: neg ? -v : v };
  }
  if (neg) s.fail(`expected a number after '-' but found ${s.near()}`);
  const id = s.ident();
  if (id === undefined) s.fail(`expected an argument but found ${s.near()}`);
  if (s.eat('(')) {
    const args: Expr[] = [];
    if (!s.eat(')')) {
      for (;;) {
        args.push(parseExpr(s));
        if (s.eat(')')) break;
        s.expect(',');
      }
    }
    return { t: 'call', name: id, args };
  }
  return { t: 'ident', name: id };
}
