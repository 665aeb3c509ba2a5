/**
 * `nstat` for a script's shell lines: Linux scripts check a counter with `nstat > /dev/null` (remember the
 * counters) then `nstat | grep NAME > /dev/null` (did NAME move since?), and packetdrill fails the script when
 * the command's exit status is not 0. Like iproute2's nstat, each run prints the counters that changed since the
 * previous run as `GroupName value` (Linux's names: TcpExtOutOfWindowIcmps, TcpAttemptFails...) and remembers
 * the new values. Only `nstat`, optionally piped through `grep PATTERN` (a literal), with output to /dev/null or
 * not, is understood; anything else is not an nstat command.
 */
import type { Stats } from '../stats.js';

/** The counter groups nstat reads (/proc/net/snmp, /proc/net/netstat), under Linux's prefixes. */
const GROUPS = ['Ip', 'Icmp', 'Tcp', 'Udp', 'TcpExt'] as const;

/** Every counter as nstat names it. */
export function nstatCounters(stats: Stats): Map<string, number> {
  const m = new Map<string, number>();
  for (const g of GROUPS) {
    const group = stats[g] as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(group)) if (typeof v === 'number') m.set(g + k, v);
  }
  return m;
}

export interface NstatOutcome {
  status: number;
  output: string;
}

/** The history nstat keeps between runs (its ~/.nstat file). */
export class NstatHistory {
  private last = new Map<string, number>();

  /**
   * Runs `command` if it is an nstat pipeline: undefined otherwise. `stats` null (no stack yet) reads as all zero.
   */
  run(command: string, stats: Stats | null): NstatOutcome | undefined {
    const m = /^\s*nstat\s*(?:\|\s*grep\s+([A-Za-z0-9_]+)\s*)?(?:>\s*\/dev\/null\s*)?$/.exec(command);
    if (!m) return undefined;
    const now = stats ? nstatCounters(stats) : new Map<string, number>();
    const lines: string[] = [];
    for (const [k, v] of now) if (v !== (this.last.get(k) ?? 0)) lines.push(`${k.padEnd(32)}${v - (this.last.get(k) ?? 0)}`);
    this.last = now;
    const pattern = m[1];
    if (pattern === undefined) return { status: 0, output: lines.join('\n') };
    const hits = lines.filter((l) => l.includes(pattern));
    return { status: hits.length > 0 ? 0 : 1, output: hits.join('\n') };
  }
}
