/**
 * The socket table of a stack, for `tunstack ss` and the control channel:
 * TCP rows when the stack has a TCP layer (`stack.tcp.socketTable()`), UDP
 * rows from `stack.udp.sockets()` and then `stack.udp6.sockets()` (IPv6 addresses in the same columns).
 */
import type { Stack } from '../stack.js';

export interface SocketTable {
  /** null: this build has no TCP layer. */
  tcp: Record<string, unknown>[] | null;
  udp: Record<string, unknown>[] | null;
}

export function socketTable(stack: Stack): SocketTable {
  const s = stack as unknown as {
    tcp?: { socketTable?: () => unknown[] };
    udp?: { sockets?: () => unknown[] };
    udp6?: { sockets?: () => unknown[] };
  };
  const tcp = s.tcp && typeof s.tcp.socketTable === 'function' ? (s.tcp.socketTable() as Record<string, unknown>[]) : null;
  const udp4 = s.udp && typeof s.udp.sockets === 'function' ? (s.udp.sockets() as Record<string, unknown>[]) : null;
  const udp6 = s.udp6 && typeof s.udp6.sockets === 'function' ? (s.udp6.sockets() as Record<string, unknown>[]) : [];
  const udp = udp4 === null ? null : [...udp4, ...udp6];
  return { tcp, udp };
}
