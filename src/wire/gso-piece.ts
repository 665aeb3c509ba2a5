/**
 * The TCP header of one piece cut from a super-segment, the same for IPv4 and IPv6 (Linux tcp_gso_segment):
 * its own sequence number, FIN and PSH on the last piece only, CWR on the first only, and its checksum.
 */
import { foldSum, sumWords } from './checksum.js';
import { write16, write32 } from './bytes.js';

/**
 * Piece `k` of `n` in `p`: the TCP header at `tcpOff`, `l4` bytes of TCP header and payload, `pseudo` the
 * pseudo-header sum for that length, `seq` the piece's sequence number and `flags0` the super-segment's flags.
 */
export function finishTcpPiece(p: Uint8Array, tcpOff: number, l4: number, pseudo: number, seq: number, flags0: number, k: number, n: number): void {
  write32(p, tcpOff + 4, seq >>> 0);
  let f = flags0;
  if (k !== n - 1) f &= ~0x09; // FIN, PSH on the last segment only
  if (k !== 0) f &= ~0x80; // CWR on the first only
  p[tcpOff + 13] = f;
  p[tcpOff + 16] = 0;
  p[tcpOff + 17] = 0;
  write16(p, tcpOff + 16, ~foldSum(sumWords(p, tcpOff, l4, pseudo)) & 0xffff);
}
