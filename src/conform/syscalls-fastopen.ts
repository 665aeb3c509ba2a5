/**
 * The Fast Open socket options of scripts (Linux do_tcp_setsockopt): TCP_FASTOPEN (a listener's Fast Open
 * queue length), TCP_FASTOPEN_KEY (a listener's own key, 16 or 32 bytes), TCP_FASTOPEN_NO_COOKIE and
 * TCP_FASTOPEN_CONNECT (a client's connect() deferred to the first write). Values set before listen() or
 * connect() are kept with the fd and applied when the server or connection exists.
 */
import type { Expr } from './ast.js';
import { ERRNO } from './constants.js';
import { fastOpenKeyFromBytes, FastOpenKeys } from '../tcp/fastopen.js';
import type { TcpServer } from '../tcp/server.js';
import type { TcpSocket } from '../tcp/socket.js';

/** The socket options this module answers. */
export const FASTOPEN_SOCKOPTS: ReadonlySet<string> = new Set(['TCP_FASTOPEN', 'TCP_FASTOPEN_KEY', 'TCP_FASTOPEN_NO_COOKIE', 'TCP_FASTOPEN_CONNECT']);

/** Fast Open settings of one script fd. */
export interface FastOpenFdOptions {
  /** TCP_FASTOPEN's queue length. */
  qlen?: number;
  keys?: FastOpenKeys;
  noCookie?: boolean;
  /** TCP_FASTOPEN_CONNECT. */
  connect?: boolean;
}

export interface FastOpenSetResult {
  ret: number;
  errno?: number;
}

/** Bytes of a script string with C escapes (`"\xf7\x63…"`, as packetdrill passes a key). */
export function scriptStringBytes(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else out.push(s.charCodeAt(i) & 0xff);
  }
  return Uint8Array.from(out);
}

/**
 * setsockopt(fd, SOL_TCP, NAME, optval, optlen) for the Fast Open options. `value` reads a number argument;
 * `server` is the fd's server once it listens. Linux's errnos: EINVAL for a bad length or value.
 */
export function setFastOpenOption(name: string, o: FastOpenFdOptions, optval: Expr | undefined, optlen: number, value: (e: Expr) => number, server: TcpServer | undefined, closedOrListening: boolean, sysctl: number): FastOpenSetResult {
  const einval = { ret: -1, errno: ERRNO['EINVAL']! };
  // Linux do_tcp_setsockopt: TCP_FASTOPEN and TCP_FASTOPEN_NO_COOKIE only in CLOSE or LISTEN.
  if ((name === 'TCP_FASTOPEN' || name === 'TCP_FASTOPEN_NO_COOKIE' || name === 'TCP_FASTOPEN_CONNECT') && !closedOrListening) return einval;
  switch (name) {
    case 'TCP_FASTOPEN': {
      const v = optval === undefined ? 0 : optval.t === 'list' && optval.items.length === 1 ? value(optval.items[0]!) : value(optval);
      if (v < 0) return einval;
      o.qlen = v;
      if (server !== undefined) server.setFastOpen(v);
      return { ret: 0 };
    }
    case 'TCP_FASTOPEN_KEY': {
      // Linux: 16 bytes (a primary key) or 32 (primary and backup).
      if (optval?.t !== 'str' || (optlen !== 16 && optlen !== 32)) return einval;
      const b = scriptStringBytes(optval.v);
      if (b.length < optlen) return { ret: -1, errno: ERRNO['EFAULT']! };
      o.keys = new FastOpenKeys(fastOpenKeyFromBytes(b.subarray(0, 16)), optlen === 32 ? fastOpenKeyFromBytes(b.subarray(16, 32)) : null);
      if (server !== undefined) server.setFastOpenKeys(o.keys);
      return { ret: 0 };
    }
    case 'TCP_FASTOPEN_NO_COOKIE':
    case 'TCP_FASTOPEN_CONNECT': {
      const v = optval === undefined ? 0 : optval.t === 'list' && optval.items.length === 1 ? value(optval.items[0]!) : value(optval);
      // Linux: only 0 or 1.
      if (v !== 0 && v !== 1) return einval;
      // TCP_FASTOPEN_CONNECT needs the client bit of net.ipv4.tcp_fastopen.
      if (name === 'TCP_FASTOPEN_CONNECT' && !(sysctl & 1)) return { ret: -1, errno: ERRNO['EOPNOTSUPP']! };
      if (name === 'TCP_FASTOPEN_NO_COOKIE') {
        o.noCookie = v === 1;
        if (server !== undefined) server.setFastOpenNoCookie(v === 1);
      } else o.connect = v === 1;
      return { ret: 0 };
    }
  }
  return einval;
}

/** After listen(): what was set on the fd before goes to the new server. */
export function applyFastOpenToServer(o: FastOpenFdOptions, server: TcpServer): void {
  if (o.qlen !== undefined) server.setFastOpen(o.qlen);
  if (o.keys !== undefined) server.setFastOpenKeys(o.keys);
  if (o.noCookie !== undefined) server.setFastOpenNoCookie(o.noCookie);
}

/**
 * What connect() passes to the stack for Fast Open: a sendto(MSG_FASTOPEN) of `len` bytes (the non-blocking
 * one takes only what fits the SYN), or TCP_FASTOPEN_CONNECT. An errno when Linux refuses: EOPNOTSUPP for
 * MSG_FASTOPEN while the client bit of tcp_fastopen is off (tcp_sendmsg_fastopen).
 */
export function fastOpenConnectOptions(o: FastOpenFdOptions, send: { len: number; dontwait: boolean } | undefined, nonblock: boolean, sysctl: number): { fastOpen?: boolean; data?: Uint8Array; synDataOnly?: boolean } | number {
  if (send !== undefined) {
    if (!(sysctl & 1)) return ERRNO['EOPNOTSUPP']!;
    return { fastOpen: true, data: new Uint8Array(send.len), synDataOnly: send.dontwait || nonblock };
  }
  return o.connect === true ? { fastOpen: true } : {};
}

/**
 * The result of a Fast Open connect() or sendto() that does not wait: a deferred connect returns 0; a
 * non-blocking sendto the bytes the SYN carried, or EINPROGRESS when it carried none. Null: wait as usual.
 */
export function fastOpenConnectResult(s: TcpSocket, send: { len: number; dontwait: boolean } | undefined, nonblock: boolean): FastOpenSetResult | null {
  const info = s.fastOpenInfo();
  if (info?.deferred === true) return { ret: 0 };
  if (send === undefined || !(nonblock || send.dontwait)) return null;
  if (info !== null && info.synData > 0) return { ret: info.synData };
  return { ret: -1, errno: ERRNO['EINPROGRESS']! };
}
