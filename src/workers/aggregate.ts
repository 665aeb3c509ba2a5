/**
 * One view of a sharded stack (`tunstack up --workers N`): the shards' counters summed and their socket tables
 * joined, for `tunstack stats`, `tunstack ss`, `/_stack/stats` and `/_stack/sockets`. Pure functions over the
 * JSON each shard reports.
 */
import type { SocketTable } from '../control/sockets.js';

/** Counter groups as `Stats.toJSON()` gives them: `{ Tcp: { InSegs: 3 }, drops: { 'ip.bad-checksum': 1 } }`. */
export type StatsJson = Record<string, unknown>;

/**
 * Sums the shards' counters group by group (a counter one shard does not have counts as 0); gauges (`Gauges`:
 * connections, timers, reassembly bytes) are sums too — each shard holds its own. Groups and counters keep the
 * order of their first appearance.
 */
export function sumStats(shards: readonly StatsJson[]): StatsJson {
  const out: Record<string, Record<string, number>> = {};
  for (const s of shards) {
    for (const [group, counters] of Object.entries(s)) {
      if (counters === null || typeof counters !== 'object' || Array.isArray(counters)) continue;
      const g = (out[group] ??= {});
      for (const [k, v] of Object.entries(counters as Record<string, unknown>)) {
        if (typeof v === 'number') g[k] = (g[k] ?? 0) + v;
      }
    }
  }
  return out;
}

/**
 * The shards' socket tables as one, each row marked with its shard. A listener appears once per shard (every
 * shard listens on the same port, as sockets bound with SO_REUSEPORT do in Linux's `ss`). null stays null only
 * when every shard has no such layer.
 */
export function joinSocketTables(shards: readonly SocketTable[]): SocketTable {
  let tcp: Record<string, unknown>[] | null = null;
  let udp: Record<string, unknown>[] | null = null;
  shards.forEach((t, shard) => {
    if (t.tcp !== null) (tcp ??= []).push(...t.tcp.map((r) => ({ ...r, shard })));
    if (t.udp !== null) (udp ??= []).push(...t.udp.map((r) => ({ ...r, shard })));
  });
  return { tcp, udp };
}
