/**
 * Shell files a script runs for its settings (packetdrill suites start with
 * `../common/defaults.sh`): their sysctl lines are what the script's kernel runs with, so the
 * runner reads them. Only the plain shell those files use is understood: comments, `sysctl
 * [-q] [-w] name=value …` (values quoted or not, with `$((integer arithmetic))`), and
 * housekeeping that changes nothing a script sees on our stack (flushing TCP metrics, a
 * pfifo qdisc on the TUN). Anything else is reported.
 */

/** One command line of a shell file, with its comments and redirections removed. */
export interface ShellLine {
  line: number;
  text: string;
}

/** The command lines of a shell file: comments, blank lines and `> /dev/null 2>&1` dropped. */
export function shellLines(text: string): ShellLine[] {
  const out: ShellLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const noComment = raw.replace(/(^|\s)#.*$/, '');
    const cmd = noComment
      .replace(/\s\d?>\s*\/dev\/null/g, '')
      .replace(/\s\d>&\d/g, '')
      .trim();
    if (cmd !== '') out.push({ line: i + 1, text: cmd });
  });
  return out;
}

/** Housekeeping for a kernel that equals doing nothing on a fresh stack: said so, not run. */
const HOUSEKEEPING: readonly RegExp[] = [/^ip\s+(-\d\s+)?tcp_metrics\s+flush\b/, /^tc\s+qdisc\s+(add|replace)\s+dev\s+\S+\s+root\s+pfifo\s*$/, /^(true|:)$/];

export function isHousekeeping(cmd: string): boolean {
  return HOUSEKEEPING.some((re) => re.test(cmd));
}

/**
 * Replaces every `$((EXPR))` by its value; EXPR is integer arithmetic on decimal numbers with
 * + - * / % and parentheses. Returns undefined when an expression is anything else.
 */
export function expandArithmetic(text: string): string | undefined {
  let failed = false;
  const out = text.replace(/\$\(\(([^()]*(?:\([^()]*\)[^()]*)*)\)\)/g, (_m, expr: string) => {
    const v = evaluate(expr);
    if (v === undefined) {
      failed = true;
      return '';
    }
    return String(v);
  });
  return failed ? undefined : out;
}

function evaluate(expr: string): number | undefined {
  const tokens = expr.match(/\d+|[-+*/%()]|\S/g) ?? [];
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const primary = (): number | undefined => {
    const t = tokens[pos++];
    if (t === undefined) return undefined;
    if (/^\d+$/.test(t)) return Number(t);
    if (t === '-') {
      const v = primary();
      return v === undefined ? undefined : -v;
    }
    if (t === '(') {
      const v = sum();
      if (tokens[pos++] !== ')') return undefined;
      return v;
    }
    return undefined;
  };
  const product = (): number | undefined => {
    let v = primary();
    while (v !== undefined && (peek() === '*' || peek() === '/' || peek() === '%')) {
      const op = tokens[pos++];
      const r = primary();
      if (r === undefined || (op !== '*' && r === 0)) return undefined;
      v = op === '*' ? v * r : op === '/' ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number | undefined => {
    let v = product();
    while (v !== undefined && (peek() === '+' || peek() === '-')) {
      const op = tokens[pos++];
      const r = product();
      if (r === undefined) return undefined;
      v = op === '+' ? v + r : v - r;
    }
    return v;
  };
  const v = sum();
  return pos === tokens.length && v !== undefined && Number.isSafeInteger(v) ? v : undefined;
}
