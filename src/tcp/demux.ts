/**
 * The 4-tuple demultiplexing table (like gVisor's transport demuxer): remote (addr·2^16 + port) →
 * the one connection with that remote end — the usual case, with no inner map, which cost ~0.7 KB per
 * connection (thousands of TIME-WAITs) — or a map local (addr·2^16 + port) → connection when several local
 * ends talk to the same remote end. Numeric keys: no allocation per lookup.
 */
import { TcpConnection } from './connection.js';
import type { Tcb } from './tcb.js';

export class ConnectionTable {
  private readonly byRemote = new Map<number, TcpConnection | Map<number, TcpConnection>>();
  private count = 0;

  /** Connections in the table. */
  get size(): number {
    return this.count;
  }

  /** The connection of a 4-tuple. */
  lookup(remoteAddr: number, remotePort: number, localAddr: number, localPort: number): TcpConnection | undefined {
    const v = this.byRemote.get(remoteAddr * 65536 + remotePort);
    if (v === undefined) return undefined;
    if (v instanceof TcpConnection) return v.localPort === localPort && v.localAddr === localAddr ? v : undefined;
    return v.get(localAddr * 65536 + localPort);
  }

  /** Adds `c` under its 4-tuple. */
  hash(c: TcpConnection): void {
    const rk = c.remoteAddr * 65536 + c.remotePort;
    const lk = c.localAddr * 65536 + c.localPort;
    const v = this.byRemote.get(rk);
    if (v === undefined || (v instanceof TcpConnection && v.localAddr * 65536 + v.localPort === lk)) {
      this.byRemote.set(rk, c);
    } else if (v instanceof TcpConnection) {
      const m = new Map<number, TcpConnection>();
      m.set(v.localAddr * 65536 + v.localPort, v);
      m.set(lk, c);
      this.byRemote.set(rk, m);
    } else {
      v.set(lk, c);
    }
    c.hashed = true;
    this.count++;
  }

  /** Removes `c` (if it is the one under its 4-tuple). */
  unhash(c: Tcb): void {
    if (!c.hashed) return;
    c.hashed = false;
    const rk = c.remoteAddr * 65536 + c.remotePort;
    const v = this.byRemote.get(rk);
    if (v === undefined) return;
    if (v instanceof TcpConnection) {
      if (v === c) {
        this.byRemote.delete(rk);
        this.count--;
      }
      return;
    }
    const lk = c.localAddr * 65536 + c.localPort;
    if (v.get(lk) === c) {
      v.delete(lk);
      this.count--;
    }
    if (v.size === 0) this.byRemote.delete(rk);
    else if (v.size === 1) this.byRemote.set(rk, v.values().next().value!);
  }

  /** Every connection (a snapshot: safe to close or reset while iterating). */
  all(): TcpConnection[] {
    const out: TcpConnection[] = [];
    for (const v of this.byRemote.values()) {
      if (v instanceof TcpConnection) out.push(v);
      else for (const c of v.values()) out.push(c);
    }
    return out;
  }
}
