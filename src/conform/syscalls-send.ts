/**
 * The send side of scripts' system calls, on the TcpSocket API (syscalls.ts dispatches here):
 *   - sendmsg(fd, {msg_iov(N)=[{..., LEN}, ...], ...}, FLAGS): the iovec's lengths summed into one write;
 *     MSG_MORE → `send(buf, {more: true})`, MSG_EOR → `{eor: true}`; MSG_ZEROCOPY sends a copy (with
 *     SO_ZEROCOPY on Linux would pin the pages and queue a completion on the error queue, which we do not
 *     model: MSG_ERRQUEUE stays unsupported).
 *   - send()/write() flags MSG_MORE and MSG_EOR (`sendOptionsOf`).
 *   - open(PATH, O_RDONLY) and sendfile(OUT, IN, [OFFSET], COUNT): the file's bytes from OFFSET written to the
 *     socket (script-files.ts: a file the script's shell made, else the disk's).
 *   - setsockopt/getsockopt TCP_CORK (`setCork`), TCP_NOTSENT_LOWAT (`setNotSentLowat`), SO_ZEROCOPY (a flag,
 *     with Linux's EINVAL for values other than 0 and 1), SO_SNDBUF on a connected socket
 *     (`setSendBufferSize`).
 *   - poll's POLLOUT also asks `notSentBelowLowat` (Linux tcp_poll → __sk_stream_is_writeable).
 */
import type { Expr, SyscallLine } from './ast.js';
import { SYMBOLS } from './constants.js';
import { Unsupported } from './config.js';
import { ScriptFailure } from './run-context.js';
import { readScriptFile, type ScriptFiles } from './script-files.js';
import type { SendOptions, TcpSocket } from '../tcp/socket.js';

/** What a completed call returns (syscalls.ts's CallOutcome). */
export interface SendOutcome {
  ret: number;
  errno?: number;
  out?: { optval?: number };
}

/** Calls this module answers. */
export const SEND_CALLS: ReadonlySet<string> = new Set(['sendmsg', 'open', 'sendfile']);
/** Socket options this module answers. */
export const SEND_OPTS: ReadonlySet<string> = new Set(['TCP_CORK', 'TCP_NOTSENT_LOWAT', 'SO_ZEROCOPY']);
/** send()/sendmsg() flags the socket API carries (others stay unsupported in the preflight). */
export const SEND_FLAGS: ReadonlySet<string> = new Set(['MSG_MORE', 'MSG_EOR', 'MSG_ZEROCOPY', 'MSG_DONTWAIT', 'MSG_NOSIGNAL']);

/** The send-side options of one script fd, kept until the socket exists and inherited by accept(). */
export interface SendOpts {
  cork?: boolean;
  notsentLowat?: number;
  zerocopy?: boolean;
}

/** sendmsg()/send() flags as the socket API's write options. */
export function sendOptionsOf(flags: number): SendOptions {
  const o: SendOptions = {};
  if (flags & SYMBOLS['MSG_MORE']!) o.more = true;
  if (flags & SYMBOLS['MSG_EOR']!) o.eor = true;
  return o;
}

/** Applies an fd's send options to its socket (after connect() or accept()). */
export function applySendOpts(o: SendOpts, s: TcpSocket): void {
  if (o.cork) s.setCork(true);
  if (o.notsentLowat !== undefined) s.setNotSentLowat(o.notsentLowat);
}

/** setsockopt of a SEND_OPTS option (value `v`), for an fd of `kind` whose socket is `sock` once connected. */
export function setSendOpt(name: string, v: number, o: SendOpts, kind: 'tcp' | 'udp', sock: TcpSocket | undefined): SendOutcome {
  switch (name) {
    case 'SO_ZEROCOPY':
      // Linux sk_setsockopt: TCP and UDP sockets only, the value a boolean 0 or 1.
      if (v < 0 || v > 1) return { ret: -1, errno: 22 };
      o.zerocopy = v === 1;
      return { ret: 0 };
    case 'TCP_CORK':
      if (kind !== 'tcp') return { ret: -1, errno: 95 };
      o.cork = v !== 0;
      sock?.setCork(o.cork);
      return { ret: 0 };
    case 'TCP_NOTSENT_LOWAT': {
      if (kind !== 'tcp') return { ret: -1, errno: 95 };
      // Linux stores the int in a u32 (tp->notsent_lowat): -1 is "no limit".
      const u = v >>> 0;
      o.notsentLowat = u;
      sock?.setNotSentLowat(u);
      return { ret: 0 };
    }
  }
  throw new Error(`not a send option: ${name}`);
}

/** getsockopt of a SEND_OPTS option. */
export function getSendOpt(name: string, o: SendOpts, kind: 'tcp' | 'udp', sock: TcpSocket | undefined): SendOutcome {
  switch (name) {
    case 'SO_ZEROCOPY':
      return { ret: 0, out: { optval: o.zerocopy ? 1 : 0 } };
    case 'TCP_CORK':
      if (kind !== 'tcp') return { ret: -1, errno: 95 };
      return { ret: 0, out: { optval: (sock?.tcpCorked ?? o.cork) ? 1 : 0 } };
    case 'TCP_NOTSENT_LOWAT':
      if (kind !== 'tcp') return { ret: -1, errno: 95 };
      return { ret: 0, out: { optval: sock?.notSentLowat ?? o.notsentLowat ?? 0 } };
  }
  throw new Error(`not a send option: ${name}`);
}

/** The byte count of sendmsg's msghdr argument: the sum of its iovec lengths (msg_iov(N)=[{..., LEN}, ...]). */
export function iovLength(msg: Expr | undefined, value: (e: Expr) => number, line: number): number {
  if (msg?.t !== 'struct') throw new ScriptFailure('sendmsg() needs a msghdr {msg_iov(N)=[...], ...}', line);
  let total = 0;
  for (const f of msg.fields) {
    if (f.name === undefined) continue;
    if (f.name.startsWith('msg_iov')) {
      if (f.value.t !== 'list') throw new ScriptFailure('msg_iov must be a list of {..., LEN}', line);
      for (const iov of f.value.items) {
        if (iov.t !== 'struct') throw new ScriptFailure('an iovec is {..., LEN}', line);
        const len = iov.fields[iov.fields.length - 1];
        if (len === undefined) throw new ScriptFailure('an iovec is {..., LEN}', line);
        total += value(len.value);
      }
    } else if (f.name.startsWith('msg_control')) {
      throw new Unsupported('sendmsg with ancillary data (msg_control)', line);
    }
  }
  return total;
}

/** Preflight of a SEND_CALLS call: the flags it may carry. */
export function preflightSend(call: SyscallLine, line: number): void {
  if (call.name === 'sendmsg') {
    // MSG_FASTOPEN: sendmsg connects with its data in the SYN as sendto does (tcp_sendmsg_fastopen).
    for (const f of flagNames(call.args[2])) if (f.startsWith('MSG_') && !SEND_FLAGS.has(f) && f !== 'MSG_FASTOPEN') throw new Unsupported(`sendmsg flag ${f}`, line);
  }
  if (call.name === 'open') {
    const flags = flagNames(call.args[1]);
    if (flags.some((f) => f !== 'O_RDONLY')) throw new Unsupported(`open() flags other than O_RDONLY`, line);
  }
}

/** The files open(2) opened in one run: script fd → contents. */
export class OpenFiles {
  private readonly byFd = new Map<number, Uint8Array>();

  constructor(
    private readonly files: ScriptFiles,
    private readonly dir: string | undefined,
  ) {}

  has(fd: number): boolean {
    return this.byFd.has(fd);
  }

  /** open(PATH, O_RDONLY) = `want`: ENOENT when there is no such file (Linux). */
  open(path: string, want: number): SendOutcome {
    const data = readScriptFile(this.files, path, this.dir);
    if (data === undefined) return { ret: -1, errno: 2 };
    this.byFd.set(want, data);
    return { ret: want };
  }

  /** The bytes sendfile(2) sends from `fd`: COUNT from OFFSET, fewer at the end of the file; EBADF for no such fd. */
  slice(fd: number, offset: number, count: number): Uint8Array | undefined {
    const d = this.byFd.get(fd);
    if (d === undefined) return undefined;
    const from = Math.min(Math.max(0, offset), d.length);
    return d.subarray(from, Math.min(d.length, from + Math.max(0, count)));
  }

  close(fd: number): boolean {
    return this.byFd.delete(fd);
  }
}

function flagNames(e: Expr | undefined): string[] {
  if (!e) return [];
  if (e.t === 'ident') return [e.name];
  if (e.t === 'or') return e.items.flatMap(flagNames);
  return [];
}
