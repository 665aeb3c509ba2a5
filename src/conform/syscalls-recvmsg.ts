/**
 * recvmsg(2) for scripts: `recvmsg(fd, {msg_name(...)=..., msg_iov(N)=[{..., LEN}, ...], msg_flags=F,
 * msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=N}]}, flags) = R`. The bytes are read
 * as read(2)/recv(2) reads them (the adapter's read with the iovecs' total length); with TCP_INQ on, the
 * message carries the TCP_CM_INQ hint (TcpSocket.inq(), Linux tcp_recvmsg → tcp_inq_hint), checked against
 * the script's control message after the call returns.
 */
import type { Expr } from './ast.js';
import { Unsupported } from './config.js';
import { SYMBOLS } from './constants.js';
import { ScriptFailure, type RunContext } from './run-context.js';

/** Linux uapi/linux/tcp.h: TCP_CM_INQ = TCP_INQ. */
export const TCP_CM_INQ = 36;

export interface RecvmsgOutcome {
  ret: number;
  errno?: number;
}
export interface RecvmsgBlocked {
  blocked: true;
  retry: () => Promise<RecvmsgOutcome | RecvmsgBlocked>;
  wakeAt?: number;
}

/** What recvmsg needs of the adapter. */
export interface RecvmsgHost {
  /** read(2)/recv(2) of `len` bytes on the script fd `fd` with `flags`. */
  read(fd: Expr, len: number, flags: number, line: number): Promise<RecvmsgOutcome | RecvmsgBlocked>;
  /** The TCP_CM_INQ value of `fd` after the read, or undefined when TCP_INQ is off (no control message). */
  inqHint(fd: Expr, line: number): number | undefined;
  value(e: Expr, line: number): number;
}

interface ExpectedCmsg {
  level: number;
  type: number;
  data: number | undefined;
}

/** The parts of the msghdr a script writes. */
interface MsgSpec {
  len: number;
  flags: number | undefined;
  control: ExpectedCmsg[] | undefined;
}

function field(e: Expr, name: string): Expr | undefined {
  if (e.t !== 'struct') return undefined;
  return e.fields.find((f) => f.name === name || f.name?.startsWith(`${name}(`))?.value;
}

/** The iovecs' total length: `[{..., 1000}, {iov_base=..., iov_len=20}]`. */
function iovLength(e: Expr | undefined, host: RecvmsgHost, line: number): number {
  if (!e || e.t !== 'list') throw new ScriptFailure('recvmsg: msg_iov must be a list of {..., LEN}', line);
  let n = 0;
  for (const v of e.items) {
    if (v.t !== 'struct') throw new ScriptFailure('recvmsg: an iovec is {..., LEN}', line);
    const named = v.fields.find((f) => f.name === 'iov_len');
    const len = named?.value ?? v.fields[1]?.value;
    if (!len) throw new ScriptFailure('recvmsg: an iovec needs a length', line);
    n += host.value(len, line);
  }
  return n;
}

function parseMsg(e: Expr | undefined, host: RecvmsgHost, line: number): MsgSpec {
  if (!e || e.t !== 'struct') throw new ScriptFailure('recvmsg: the message is {msg_name(...)=..., msg_iov(N)=[...], msg_flags=...}', line);
  const len = iovLength(field(e, 'msg_iov'), host, line);
  const flagsE = field(e, 'msg_flags');
  const flags = flagsE && flagsE.t !== 'ellipsis' ? host.value(flagsE, line) : undefined;
  const ctlE = field(e, 'msg_control');
  let control: ExpectedCmsg[] | undefined;
  if (ctlE && ctlE.t === 'list') {
    control = ctlE.items.map((c) => {
      const lv = field(c, 'cmsg_level');
      const ty = field(c, 'cmsg_type');
      const da = field(c, 'cmsg_data');
      if (!lv || !ty) throw new ScriptFailure('recvmsg: a control message is {cmsg_level=..., cmsg_type=..., cmsg_data=...}', line);
      const level = host.value(lv, line);
      const type = ty.t === 'ident' && ty.name === 'TCP_CM_INQ' ? TCP_CM_INQ : host.value(ty, line);
      if (level !== SYMBOLS['SOL_TCP'] || type !== TCP_CM_INQ) throw new Unsupported(`recvmsg control message ${describe(lv)}/${describe(ty)}`, line);
      return { level, type, data: da && da.t !== 'ellipsis' ? host.value(da, line) : undefined };
    });
  }
  return { len, flags, control };
}

function describe(e: Expr): string {
  return e.t === 'ident' ? e.name : e.t === 'num' ? String(e.v) : e.t;
}

/** recvmsg(fd, msg, flags): the read, then the message's flags and control data compared. */
export async function recvmsg(run: RunContext, host: RecvmsgHost, args: Expr[], line: number): Promise<RecvmsgOutcome | RecvmsgBlocked> {
  const fdE = args[0] ?? { t: 'num', v: -1 };
  const msg = parseMsg(args[1], host, line);
  const flags = args[2] ? host.value(args[2], line) : 0;
  // What recv(2) maps (MSG_PEEK, MSG_DONTWAIT); the error queue, OOB data and MSG_WAITALL are not modelled.
  const known = (SYMBOLS['MSG_PEEK'] ?? 0) | (SYMBOLS['MSG_DONTWAIT'] ?? 0);
  if ((flags & ~known) !== 0) throw new Unsupported(`recvmsg flags 0x${flags.toString(16)}`, line);
  const finish = (o: RecvmsgOutcome): RecvmsgOutcome => {
    if (o.ret < 0) return o;
    if (msg.flags !== undefined && msg.flags !== 0) run.fail('syscall', `recvmsg msg_flags: 0, expected ${msg.flags}`, line);
    const inq = host.inqHint(fdE, line);
    if (msg.control !== undefined) {
      const want = msg.control[0];
      if (want !== undefined && inq === undefined) run.fail('syscall', 'recvmsg: no TCP_CM_INQ control message (TCP_INQ is off), expected one', line);
      else if (want !== undefined && want.data !== undefined && inq !== want.data) run.fail('syscall', `recvmsg TCP_CM_INQ: ${inq}, expected ${want.data}`, line);
    }
    return o;
  };
  const follow = async (p: Promise<RecvmsgOutcome | RecvmsgBlocked>): Promise<RecvmsgOutcome | RecvmsgBlocked> => {
    const o = await p;
    if ('blocked' in o) return { blocked: true, retry: () => follow(o.retry()), ...(o.wakeAt !== undefined ? { wakeAt: o.wakeAt } : {}) };
    return finish(o);
  };
  return follow(host.read(fdE, msg.len, flags, line));
}
