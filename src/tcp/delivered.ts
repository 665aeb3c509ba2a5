/**
 * Delivery accounting as Linux keeps it for netstat (net/ipv4/tcp_input.c tcp_newly_delivered): per ACK, the
 * segments newly acknowledged or SACKed count in TcpExt.TCPDelivered, and when the ACK echoes congestion (ECE on
 * a classic ECN connection, FLAG_ECE) the same segments count in TcpExt.TCPDeliveredCE — the sender's measure
 * of deliveries the network marked Congestion Experienced (RFC 3168 §6.1.2).
 *
 * Linux counts packets (tcp_skb_pcount); bytes become segments of the current MSS, a partial one counting whole.
 */
import type { Tcb } from './tcb.js';

/** One ACK delivered `bytes` (newly acknowledged + newly SACKed); `ece`: it carried a congestion echo. */
export function countDelivered(c: Tcb, bytes: number, ece: boolean): void {
  if (bytes <= 0) return;
  const segs = Math.ceil(bytes / Math.max(1, c.smss));
  const x = c.layer.stats.TcpExt;
  x.TCPDelivered += segs;
  if (ece) {
    x.TCPDeliveredCE += segs;
    c.deliveredCe += segs;
  }
}
