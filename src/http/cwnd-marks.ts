/**
 * The dashboard's annotations on the cwnd chart: one vertical mark per `cwnd` event of the selected connection
 * (src/observe/events.ts), coloured by what kind of cause it was and labelled with the cause. These functions
 * run in the browser too: dashboard-page.ts embeds their source (so each is self-contained: no imports, no
 * closures over module state).
 */

/** A mark: the event's time and cause. */
export interface CwndMark {
  t: number;
  cause: string;
}

/** Colour and short label by cause: loss (red), congestion signal (orange), undo (green), housekeeping (grey). */
export function cwndMarkStyle(cause: string): { color: string; label: string } {
  switch (cause) {
    case 'rack':
      return { color: '#bf616a', label: 'RACK loss' };
    case 'dupack':
      return { color: '#bf616a', label: 'dupack loss' };
    case 'tlp':
      return { color: '#bf616a', label: 'TLP' };
    case 'rto':
      return { color: '#bf616a', label: 'RTO' };
    case 'ece':
      return { color: '#d08770', label: 'ECE' };
    case 'undo-dsack':
      return { color: '#a3be8c', label: 'undo (D-SACK)' };
    case 'undo-eifel':
      return { color: '#a3be8c', label: 'undo (Eifel)' };
    case 'recovery-end':
      return { color: '#4c566a', label: 'recovered' };
    case 'idle-restart':
      return { color: '#4c566a', label: 'idle restart' };
    default:
      return { color: '#4c566a', label: cause };
  }
}

/** The marks inside the chart's time range [t0, t1], oldest first, at most `max` (the newest kept). */
export function cwndMarksInRange(marks: readonly CwndMark[], t0: number, t1: number, max: number): CwndMark[] {
  const out: CwndMark[] = [];
  for (let i = 0; i < marks.length; i++) {
    const m = marks[i]!;
    if (m.t >= t0 && m.t <= t1) out.push(m);
  }
  return out.length > max ? out.slice(out.length - max) : out;
}
