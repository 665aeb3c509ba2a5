/**
 * Graceful shutdown of the transports: what SIGTERM does between "stop
 * accepting" and "close the link".
 *
 *   1. every TCP server stops accepting (the services' own stop functions ran
 *      before us; whatever server is left is closed here);
 *   2. until the grace period ends, every connection that is idle — nothing
 *      unsent, nothing unread, no progress for IDLE_MS — is closed with a
 *      FIN (a download in progress is left to finish first: its response
 *      ends, the connection goes idle, then it gets its FIN);
 *   3. we return as soon as no connection is open any more (TIME-WAIT does
 *      not count), or at the end of the grace period, when whatever is still
 *      open gets a RST.
 * UDP and ICMP hold no connections; their sockets close with the stack.
 */
import type { Logger } from 'pino';
import type { Stack } from '../stack.js';
import type { TcpConnection } from '../tcp/connection.js';

/** The parts of a TCP connection the drain uses. */
type DrainableConnection = Pick<TcpConnection, 'stateName' | 'sendQueue' | 'readable' | 'localPort' | 'remotePort' | 'shutdownWrite' | 'reset' | 'info'>;

const POLL_MS = 50;
const IDLE_MS = 100;
const DONE = new Set(['TIME-WAIT', 'CLOSED', 'LISTEN']);
const FIN_NOW = new Set(['ESTAB', 'CLOSE-WAIT']);

/** Every connection of the stack's TCP layer. */
export function tcpConnections(stack: Stack): DrainableConnection[] {
  return stack.tcp.connections();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface DrainResult {
  /** Connections we closed with a FIN. */
  fin: number;
  /** Connections still open at the end of the grace period, reset. */
  reset: number;
  waitedMs: number;
}

export async function drainConnections(stack: Stack, graceMs: number, logger: Logger): Promise<DrainResult> {
  const t0 = Date.now();
  const result: DrainResult = { fin: 0, reset: 0, waitedMs: 0 };
  for (const s of [...stack.tcp.servers]) s.close();

  const finned = new WeakSet<DrainableConnection>();
  const seen = new WeakMap<DrainableConnection, { key: string; since: number }>();
  const id = (c: DrainableConnection) => `${c.localPort}>${c.remotePort}`;
  const deadline = t0 + graceMs;
  for (;;) {
    const open = tcpConnections(stack).filter((c) => !DONE.has(c.stateName));
    if (open.length === 0) break;
    const now = Date.now();
    if (now >= deadline) {
      const clockNow = stack.clock.now();
      for (const c of open) {
        logger.debug({ conn: id(c), state: c.stateName }, 'grace period over: reset');
        c.reset(clockNow);
        result.reset++;
      }
      stack.flush();
      break;
    }
    for (const c of open) {
      if (finned.has(c) || !FIN_NOW.has(c.stateName)) continue;
      const i = c.info();
      const key = `${c.sendQueue}/${c.readable}/${i?.bytesAcked ?? 0}/${i?.bytesReceived ?? 0}`;
      const prev = seen.get(c);
      if (!prev || prev.key !== key) {
        seen.set(c, { key, since: now });
        continue;
      }
      if (c.sendQueue === 0 && c.readable === 0 && now - prev.since >= IDLE_MS) {
        logger.debug({ conn: id(c), state: c.stateName }, 'idle: closing with FIN');
        c.shutdownWrite();
        finned.add(c);
        result.fin++;
      }
    }
    await sleep(Math.min(POLL_MS, Math.max(1, deadline - now)));
  }
  result.waitedMs = Date.now() - t0;
  if (result.fin + result.reset > 0 || result.waitedMs > POLL_MS) logger.info({ ...result, graceMs }, 'TCP connections drained');
  return result;
}
