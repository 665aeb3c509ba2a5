/**
 * `tunstack ss` filters: the subset of iproute2's grammar (ss(8), "FILTER"; misc/ss.c scan_state and
 * misc/ssfilter.y) that a socket table row can answer:
 *
 *   FILTER     := [ state STATE-FILTER | exclude STATE-FILTER ]... [ EXPRESSION ]
 *   EXPRESSION := TERM [ [and|&&|&|or|'||'|'|'] TERM ]...     (juxtaposition is `and`; `and` binds tighter than `or`)
 *   TERM       := ( EXPRESSION ) | not TERM | ! TERM
 *              |  {sport|dport} [OP] :PORT                     OP := = == eq != ne neq > gt < lt >= ge <= le
 *              |  {src|dst} [=|==|eq|!=|ne|neq] HOST           HOST := ADDR[/LEN][:PORT] | *:PORT | :PORT
 *
 * State names are iproute2's (established, syn-sent, ..., listening, closed) and its groups (all, connected,
 * synchronized, bucket, big). Anything else is one clear error line (an Error), never a silent "match all".
 */

/** `ss` state names as the table prints them (Linux's tcp_state order, ss.c sstate_name). */
export const SS_STATES = ['ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'UNCONN', 'CLOSE-WAIT', 'LAST-ACK', 'LISTEN', 'CLOSING'] as const;
export type SsStateName = (typeof SS_STATES)[number];

/** The words `state`/`exclude` take (ss.c sstate_namel and scan_state's groups). */
const STATE_WORDS: Record<string, readonly SsStateName[]> = {
  established: ['ESTAB'],
  'syn-sent': ['SYN-SENT'],
  'syn-recv': ['SYN-RECV'],
  'fin-wait-1': ['FIN-WAIT-1'],
  'fin-wait-2': ['FIN-WAIT-2'],
  'time-wait': ['TIME-WAIT'],
  closed: ['UNCONN'],
  unconnected: ['UNCONN'],
  'close-wait': ['CLOSE-WAIT'],
  'last-ack': ['LAST-ACK'],
  listening: ['LISTEN'],
  closing: ['CLOSING'],
  all: SS_STATES,
  connected: SS_STATES.filter((s) => s !== 'UNCONN' && s !== 'LISTEN'),
  synchronized: SS_STATES.filter((s) => s !== 'UNCONN' && s !== 'LISTEN' && s !== 'SYN-SENT'),
  bucket: ['SYN-RECV', 'TIME-WAIT'],
  big: SS_STATES.filter((s) => s !== 'SYN-RECV' && s !== 'TIME-WAIT'),
};

export type SsCompare = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

export type SsExpr =
  | { kind: 'and' | 'or'; left: SsExpr; right: SsExpr }
  | { kind: 'not'; expr: SsExpr }
  | { kind: 'port'; side: 'src' | 'dst'; op: SsCompare; port: number }
  | { kind: 'host'; side: 'src' | 'dst'; negate: boolean; addr: number | null; prefix: number; port: number | null };

export interface SsFilter {
  /** The states shown (all of them when the filter names none). */
  states: ReadonlySet<SsStateName>;
  /** True when `state`/`exclude` were given. */
  statesGiven: boolean;
  expr: SsExpr | null;
}

/** What a filter looks at in one row: its state and both endpoints (`addr:port`, `*`/`0.0.0.0` for unbound). */
export interface SsEndpoints {
  state: string;
  local: string;
  peer: string;
}

const OPS: Record<string, SsCompare> = {
  '=': 'eq', '==': 'eq', eq: 'eq',
  '!=': 'ne', ne: 'ne', neq: 'ne',
  '<': 'lt', lt: 'lt', '<=': 'le', le: 'le',
  '>': 'gt', gt: 'gt', '>=': 'ge', ge: 'ge',
};
const AND = new Set(['and', '&&', '&']);
const OR = new Set(['or', '||', '|']);

/** Words, parentheses and operators; `!` alone is `not`, `!=` a comparison. */
export function tokenizeSsFilter(text: string): string[] {
  const out: string[] = [];
  const re = /\s*(\(|\)|==|!=|>=|<=|&&|\|\||[=<>&|!]|[^\s()=<>&|!]+)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null && m[1] !== undefined) out.push(m[1]);
  return out;
}

function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return null;
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

function parsePort(s: string, what: string): number | Error {
  if (!/^\d+$/.test(s)) return new Error(`ss filter: ${what}: port ${JSON.stringify(s)} is not a number (port names like :http are not supported; give :80)`);
  const n = Number(s);
  if (n > 65535) return new Error(`ss filter: ${what}: port ${s} is out of range (0..65535)`);
  return n;
}

/** HOST := ADDR[/LEN][:PORT] | *:PORT | :PORT | * (ssfilter.y's HOSTCOND for inet). */
function parseHost(word: string, side: 'src' | 'dst', negate: boolean): SsExpr | Error {
  let addrPart = word;
  let port: number | null = null;
  const colon = word.lastIndexOf(':');
  if (colon >= 0) {
    if (word.indexOf(':') !== colon || word.startsWith('[')) return new Error(`ss filter: ${side} ${word}: IPv6 addresses are not supported in filters here`);
    const p = parsePort(word.slice(colon + 1), side);
    if (p instanceof Error) return p;
    port = p;
    addrPart = word.slice(0, colon);
  }
  if (addrPart === '' || addrPart === '*') return { kind: 'host', side, negate, addr: null, prefix: 0, port };
  const [a, len] = addrPart.split('/');
  const addr = parseIpv4(a ?? '');
  if (addr === null) return new Error(`ss filter: ${side}: an inet prefix is expected rather than ${JSON.stringify(addrPart)}`);
  let prefix = 32;
  if (len !== undefined) {
    if (!/^\d+$/.test(len) || Number(len) > 32) return new Error(`ss filter: ${side} ${addrPart}: bad prefix length`);
    prefix = Number(len);
  }
  return { kind: 'host', side, negate, addr, prefix, port };
}

class Parser {
  private i = 0;
  constructor(private readonly t: string[]) {}

  peek(): string | undefined {
    return this.t[this.i];
  }
  next(): string | undefined {
    return this.t[this.i++];
  }
  atEnd(): boolean {
    return this.i >= this.t.length;
  }

  /** or-list of and-lists. */
  expr(): SsExpr | Error {
    let left = this.andList();
    if (left instanceof Error) return left;
    while (this.peek() !== undefined && OR.has(this.peek()!)) {
      this.next();
      const right = this.andList();
      if (right instanceof Error) return right;
      left = { kind: 'or', left, right };
    }
    return left;
  }

  private andList(): SsExpr | Error {
    let left = this.term();
    if (left instanceof Error) return left;
    for (;;) {
      const w = this.peek();
      if (w === undefined || w === ')' || OR.has(w)) return left;
      if (AND.has(w)) this.next();
      const right = this.term();
      if (right instanceof Error) return right;
      left = { kind: 'and', left, right };
    }
  }

  private term(): SsExpr | Error {
    const w = this.next();
    if (w === undefined) return new Error('ss filter: an expression is missing at the end');
    if (w === '(') {
      const e = this.expr();
      if (e instanceof Error) return e;
      if (this.next() !== ')') return new Error("ss filter: ')' expected");
      return e;
    }
    if (w === 'not' || w === '!') {
      const e = this.term();
      return e instanceof Error ? e : { kind: 'not', expr: e };
    }
    if (w === 'sport' || w === 'dport') {
      const side = w === 'sport' ? 'src' : 'dst';
      let op: SsCompare = 'eq';
      const o = this.peek();
      if (o !== undefined && OPS[o] !== undefined) {
        op = OPS[o];
        this.next();
      }
      const v = this.next();
      if (v === undefined) return new Error(`ss filter: ${w} needs a port, e.g. ${w} = :80`);
      const p = parsePort(v.startsWith(':') ? v.slice(1) : v, w);
      return p instanceof Error ? p : { kind: 'port', side, op, port: p };
    }
    if (w === 'src' || w === 'dst') {
      let negate = false;
      const o = this.peek();
      if (o !== undefined && OPS[o] !== undefined) {
        if (OPS[o] !== 'eq' && OPS[o] !== 'ne') return new Error(`ss filter: ${w} takes = or != (not ${o})`);
        negate = OPS[o] === 'ne';
        this.next();
      }
      const v = this.next();
      if (v === undefined) return new Error(`ss filter: ${w} needs an address, e.g. ${w} 10.77.0.1`);
      return parseHost(v, w, negate);
    }
    if (w === 'state' || w === 'exclude') return new Error(`ss filter: '${w}' goes before the expression`);
    if (['dev', 'fwmark', 'cgroup', 'autobound'].includes(w)) return new Error(`ss filter: '${w}' is not supported (tunstack filters on sport, dport, src, dst and state)`);
    return new Error(`ss filter: unexpected ${JSON.stringify(w)} (expected sport, dport, src, dst, not or '(')`);
  }
}

/** Parses `ss`'s FILTER (its arguments as given); an Error is one line saying what it does not parse. */
export function parseSsFilter(args: readonly string[]): SsFilter | Error {
  const tokens = tokenizeSsFilter(args.join(' '));
  let i = 0;
  let states: Set<SsStateName> | null = null;
  const excluded = new Set<SsStateName>();
  // ss.c: `state` and `exclude` come first; the first `state` starts from none, `exclude` alone from all.
  while (tokens[i] === 'state' || tokens[i] === 'exclude') {
    const kw = tokens[i]!;
    const name = tokens[i + 1];
    if (name === undefined) return new Error(`ss filter: '${kw}' needs a state name`);
    const set = STATE_WORDS[name.toLowerCase()];
    if (set === undefined) return new Error(`ss filter: wrong state name: ${name} (known: ${Object.keys(STATE_WORDS).join(', ')})`);
    if (kw === 'state') {
      states ??= new Set();
      for (const s of set) states.add(s);
    } else for (const s of set) excluded.add(s);
    i += 2;
  }
  const shown = new Set<SsStateName>(states ?? SS_STATES);
  for (const s of excluded) shown.delete(s);
  const rest = tokens.slice(i);
  let expr: SsExpr | null = null;
  if (rest.length > 0) {
    const p = new Parser(rest);
    const e = p.expr();
    if (e instanceof Error) return e;
    if (!p.atEnd()) return new Error(`ss filter: unexpected ${JSON.stringify(p.peek())}`);
    expr = e;
  }
  return { states: shown, statesGiven: states !== null || excluded.size > 0, expr };
}

/** `addr:port` (or `addr:*`) → numbers; addr null for an IPv6 or unparsable address, port 0 for `*`. */
function splitEndpoint(ep: string): { addr: number | null; port: number } {
  const c = ep.lastIndexOf(':');
  const a = c >= 0 ? ep.slice(0, c) : ep;
  const p = c >= 0 ? ep.slice(c + 1) : '*';
  return { addr: a === '*' ? 0 : parseIpv4(a), port: p === '*' ? 0 : Number(p) };
}

function compare(op: SsCompare, a: number, b: number): boolean {
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
  }
}

function matchesExpr(e: SsExpr, row: SsEndpoints): boolean {
  switch (e.kind) {
    case 'and':
      return matchesExpr(e.left, row) && matchesExpr(e.right, row);
    case 'or':
      return matchesExpr(e.left, row) || matchesExpr(e.right, row);
    case 'not':
      return !matchesExpr(e.expr, row);
    case 'port': {
      const ep = splitEndpoint(e.side === 'src' ? row.local : row.peer);
      return compare(e.op, ep.port, e.port);
    }
    case 'host': {
      const ep = splitEndpoint(e.side === 'src' ? row.local : row.peer);
      let hit = true;
      if (e.addr !== null) {
        const mask = e.prefix === 0 ? 0 : (0xffffffff << (32 - e.prefix)) >>> 0;
        hit = ep.addr !== null && ((ep.addr & mask) >>> 0) === ((e.addr & mask) >>> 0);
      }
      if (hit && e.port !== null && e.port !== 0) hit = ep.port === e.port;
      return e.negate ? !hit : hit;
    }
  }
}

/** Whether a row passes the filter: its state is shown and the expression holds. */
export function ssFilterMatches(f: SsFilter, row: SsEndpoints): boolean {
  if (!f.states.has(row.state as SsStateName)) return false;
  return f.expr === null || matchesExpr(f.expr, row);
}
