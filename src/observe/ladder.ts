/**
 * Segment diagrams for people without a browser, and for captures:
 *
 *   - `LadderText`: one line per segment, an arrow between the two ends
 *     (`tunstack trace --conn ID`, live, and `trace --pcap`):
 *
 *         +12.345 ms  |------- SYN seq 0 win 64240 -------->|
 *
 *   - `traceSvg`: a time-sequence graph (like tcptrace: data segments as
 *     bars, the ACK line, retransmissions in red) above a ladder diagram of
 *     the segments, as one self-contained SVG document.
 *
 * Sequence numbers are shown relative to each side's first sequence number
 * (its ISN when the handshake is in view), like tcpdump -S off / Wireshark.
 */

/** One segment, from either end. `a` is the left end of the diagram, `b` the right. */
export interface TraceSeg {
  /** Milliseconds (any origin). */
  t: number;
  /** Sent by the left end (a → b). */
  fromA: boolean;
  seq: number;
  ack: number;
  flags: number;
  len: number;
  win: number;
  /** A retransmission (data or SYN/FIN below the highest sequence sent by that end). */
  rtx: boolean;
  /** What the payload and options were seen to carry (TLS records, HTTP lines, Fast Open), for the reader. */
  note?: string;
  /** The payload carried application data (for the round-trip count; see round-trips.ts). */
  app?: boolean;
}

export interface TraceEnds {
  /** Labels of the two ends, e.g. `stack 10.77.0.2:80` and `peer 10.77.0.1:41234`. */
  a: string;
  b: string;
}

export function flagNames(f: number): string {
  const a: string[] = [];
  if (f & 0x02) a.push('SYN');
  if (f & 0x01) a.push('FIN');
  if (f & 0x04) a.push('RST');
  if (f & 0x08) a.push('PSH');
  if (f & 0x20) a.push('URG');
  if (f & 0x10) a.push('ACK');
  return a.length > 0 ? a.join(',') : 'none';
}

/** Relative sequence numbers per direction (first seq seen = 0, or the SYN's). */
export class SeqBase {
  private baseA: number | null = null;
  private baseB: number | null = null;

  /** Pins the ISNs when they are known (a connection row from the stack). */
  set(isnA: number | null, isnB: number | null): void {
    if (isnA !== null) this.baseA = isnA;
    if (isnB !== null) this.baseB = isnB;
  }

  rel(s: TraceSeg): { seq: number; ack: number } {
    if (s.fromA) {
      if (this.baseA === null) this.baseA = s.seq;
      if (this.baseB === null && s.flags & 0x10) this.baseB = (s.ack - 1) >>> 0;
    } else {
      if (this.baseB === null) this.baseB = s.seq;
      if (this.baseA === null && s.flags & 0x10) this.baseA = (s.ack - 1) >>> 0;
    }
    const mine = s.fromA ? this.baseA! : this.baseB!;
    const theirs = s.fromA ? this.baseB : this.baseA;
    return { seq: (s.seq - mine) >>> 0, ack: theirs === null ? s.ack : (s.ack - theirs) >>> 0 };
  }
}

/** Detects retransmissions per direction from the highest sequence number seen (for captures). */
export class RtxDetector {
  private hiA: number | null = null;
  private hiB: number | null = null;

  check(fromA: boolean, seq: number, len: number, flags: number): boolean {
    const span = len + (flags & 0x02 ? 1 : 0) + (flags & 0x01 ? 1 : 0);
    if (span === 0) return false;
    const end = (seq + span) >>> 0;
    const hi = fromA ? this.hiA : this.hiB;
    const rtx = hi !== null && ((seq - hi) | 0) < 0;
    if (hi === null || ((end - hi) | 0) > 0) {
      if (fromA) this.hiA = end;
      else this.hiB = end;
    }
    return rtx;
  }
}

/** Text ladder: a header naming both ends, then one line per segment. */
export class LadderText {
  readonly width: number;
  private t0: number | null = null;
  readonly base = new SeqBase();

  constructor(
    readonly ends: TraceEnds,
    width = 78,
  ) {
    this.width = Math.max(50, width);
  }

  header(): string {
    const inner = this.width - 14;
    const a = this.ends.a;
    const b = this.ends.b;
    const gap = Math.max(1, inner - a.length - b.length + 2);
    return `${'time (ms)'.padStart(11)}   ${a}${' '.repeat(gap)}${b}`;
  }

  line(s: TraceSeg): string {
    if (this.t0 === null) this.t0 = s.t;
    const r = this.base.rel(s);
    let label = `${s.rtx ? 'RETRANS ' : ''}${flagNames(s.flags)} seq ${r.seq}`;
    if (s.flags & 0x10) label += ` ack ${r.ack}`;
    if (s.len > 0) label += ` len ${s.len}`;
    label += ` win ${s.win}`;
    const inner = this.width - 16;
    const body = ` ${label} `;
    const dashes = Math.max(2, inner - body.length);
    const left = Math.floor(dashes / 2);
    const right = dashes - left;
    const arrow = s.fromA ? `|${'-'.repeat(left)}${body}${'-'.repeat(right)}>|` : `|<${'-'.repeat(left)}${body}${'-'.repeat(right)}|`;
    const t = `+${(s.t - this.t0).toFixed(3)}`;
    // What the payload carried goes to the right of the arrow, where it does not shift the ladder.
    return `${t.padStart(11)}   ${arrow}${s.note !== undefined ? `  ${s.note}` : ''}`;
  }
}

function xml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmtBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

export interface SvgOptions {
  title?: string;
  /** A second line under the title (e.g. the TLS version and the round trips to the first response byte). */
  subtitle?: string;
  /** Segments in the ladder (the first N; default 60). */
  ladderRows?: number;
  width?: number;
}

/**
 * One SVG document: a time-sequence graph of the side that sends more data
 * (bars: data segments, red with an R: retransmissions, green step line:
 * the other side's ACKs, yellow: ACK + window), and a ladder of the first
 * `ladderRows` segments with both ends labelled.
 */
export function traceSvg(segs: readonly TraceSeg[], ends: TraceEnds, o: SvgOptions = {}): string {
  const W = o.width ?? 1000;
  const rows = Math.min(segs.length, o.ladderRows ?? 60);
  const TS_H = 360;
  const RH = 20;
  const LAD_T = TS_H + 70;
  const H = LAD_T + 30 + rows * RH + 20;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="monospace" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="10" y="18" font-size="14" font-weight="bold">${xml(o.title ?? `${ends.a}  \u21c4  ${ends.b}`)}</text>`);
  if (o.subtitle !== undefined) out.push(`<text x="${W - 10}" y="18" text-anchor="end" class="subtitle">${xml(o.subtitle)}</text>`);

  // ---- time-sequence
  const bytesA = segs.reduce((n, s) => n + (s.fromA ? s.len : 0), 0);
  const bytesB = segs.reduce((n, s) => n + (s.fromA ? 0 : s.len), 0);
  const senderIsA = bytesA >= bytesB;
  const base = new SeqBase();
  const rels = segs.map((s) => base.rel(s));
  const L = 80;
  const R = 20;
  const T = 50;
  const B = 30;
  const plotH = TS_H - T - B;
  out.push(`<text x="10" y="38">time-sequence: ${xml(senderIsA ? ends.a : ends.b)} sends ${fmtBytes(Math.max(bytesA, bytesB))}; blue: data, red R: retransmission, green: ACK, yellow: ACK + window (raw field)</text>`);
  if (segs.length > 0) {
    const t0 = segs[0]!.t;
    const t1 = Math.max(t0 + 1e-3, segs[segs.length - 1]!.t);
    let lo = Infinity;
    let hi = -Infinity;
    segs.forEach((s, i) => {
      const r = rels[i]!;
      if (s.fromA === senderIsA) {
        lo = Math.min(lo, r.seq);
        hi = Math.max(hi, r.seq + Math.max(1, s.len));
      } else if (s.flags & 0x10) {
        lo = Math.min(lo, r.ack);
        hi = Math.max(hi, r.ack);
      }
    });
    if (!(hi > lo)) hi = lo + 1;
    const x = (t: number): number => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v: number): number => T + plotH - ((v - lo) / (hi - lo)) * plotH;
    out.push(`<line x1="${L}" y1="${T + plotH}" x2="${W - R}" y2="${T + plotH}" stroke="#888"/><line x1="${L}" y1="${T}" x2="${L}" y2="${T + plotH}" stroke="#888"/>`);
    out.push(`<text x="4" y="${T + 8}">${xml(fmtBytes(hi))}</text><text x="4" y="${T + plotH}">${xml(fmtBytes(lo))}</text>`);
    out.push(`<text x="${L}" y="${TS_H - 8}">0 ms</text><text x="${W - R - 90}" y="${TS_H - 8}">${(t1 - t0).toFixed(1)} ms</text>`);
    let data = '';
    let rtx = '';
    let ackPath = '';
    let winPath = '';
    const marks: string[] = [];
    segs.forEach((s, i) => {
      const r = rels[i]!;
      const px = x(s.t).toFixed(1);
      if (s.fromA === senderIsA && (s.len > 0 || s.flags & 0x03)) {
        const e = r.seq + Math.max(1, s.len);
        const d = `M${px} ${y(r.seq).toFixed(1)}V${y(e).toFixed(1)}M${(Number(px) - 2).toFixed(1)} ${y(e).toFixed(1)}h4`;
        if (s.rtx) {
          rtx += d;
          if (marks.length < 300) marks.push(`<text x="${(Number(px) + 3).toFixed(1)}" y="${(y(r.seq) - 2).toFixed(1)}" fill="#c0392b" class="rtx">R</text>`);
        } else data += d;
      } else if (s.fromA !== senderIsA && s.flags & 0x10) {
        const ay = y(r.ack).toFixed(1);
        ackPath += ackPath === '' ? `M${px} ${ay}` : `H${px}V${ay}`;
        const wy = y(Math.min(hi, r.ack + s.win)).toFixed(1);
        winPath += winPath === '' ? `M${px} ${wy}` : `H${px}V${wy}`;
      }
    });
    out.push(`<path d="${winPath}" fill="none" stroke="#d4a017" stroke-width="1"/>`);
    out.push(`<path d="${ackPath}" fill="none" stroke="#27ae60" stroke-width="1.2" class="ack"/>`);
    out.push(`<path d="${data}" fill="none" stroke="#2c6fbb" stroke-width="1" class="data"/>`);
    out.push(`<path d="${rtx}" fill="none" stroke="#c0392b" stroke-width="2" class="rtx"/>`);
    out.push(...marks);
  }

  // ---- ladder
  const LX = 170;
  const RX = W - 170;
  out.push(`<text x="10" y="${LAD_T - 20}" font-size="13" font-weight="bold">ladder: the first ${rows} of ${segs.length} segments</text>`);
  out.push(`<text x="${LX - 80}" y="${LAD_T}" font-weight="bold">${xml(ends.a)}</text><text x="${RX - 80}" y="${LAD_T}" font-weight="bold">${xml(ends.b)}</text>`);
  out.push(`<line x1="${LX}" y1="${LAD_T + 8}" x2="${LX}" y2="${H - 10}" stroke="#34495e" stroke-width="2"/><line x1="${RX}" y1="${LAD_T + 8}" x2="${RX}" y2="${H - 10}" stroke="#34495e" stroke-width="2"/>`);
  const lb = new SeqBase();
  const t0 = segs.length > 0 ? segs[0]!.t : 0;
  for (let i = 0; i < rows; i++) {
    const s = segs[i]!;
    const r = lb.rel(s);
    const y0 = LAD_T + 20 + i * RH;
    const y1 = y0 + RH - 6;
    const color = s.rtx ? '#c0392b' : s.flags & 0x04 ? '#d35400' : s.flags & 0x03 ? '#8e44ad' : s.len > 0 ? '#2c6fbb' : '#27ae60';
    const xa = s.fromA ? LX : RX;
    const xb = s.fromA ? RX : LX;
    const dir = s.fromA ? -1 : 1;
    let label = `${s.rtx ? 'RETRANS ' : ''}${flagNames(s.flags)} seq ${r.seq}`;
    if (s.flags & 0x10) label += ` ack ${r.ack}`;
    label += ` len ${s.len} win ${s.win}`;
    out.push(`<line x1="${xa}" y1="${y0}" x2="${xb}" y2="${y1}" stroke="${color}" stroke-width="1.3"/>`);
    out.push(`<path d="M${xb} ${y1}l${dir * 8} -5l0 7z" fill="${color}"/>`);
    out.push(`<text x="${((LX + RX) / 2 - label.length * 3.2).toFixed(1)}" y="${((y0 + y1) / 2 - 2).toFixed(1)}" fill="${color}">${xml(label)}</text>`);
    out.push(`<text x="6" y="${y0 + 8}" fill="#555">+${(s.t - t0).toFixed(3)} ms</text>`);
    if (s.note !== undefined) out.push(`<text x="${RX + 6}" y="${y0 + 8}" fill="#6c3483" class="note">${xml(s.note.length > 60 ? `${s.note.slice(0, 59)}\u2026` : s.note)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
