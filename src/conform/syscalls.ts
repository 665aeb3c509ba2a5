/**
 * System calls of scripts (dialect section 5) mapped onto the stack's socket
 * API, with a table from script fds to sockets.
 *
 * TCP goes through `stack.tcp` the way an application uses it: a server
 * from `createServer()` + `listen({port, host, backlog})` for listen(2),
 * `connect({host, port, localPort})` for connect(2), and the TcpSocket
 * stream (`read(n)` in paused mode, `write`, `end` for shutdown(SHUT_WR),
 * `destroy` for close(2), `resetAndDestroy` for SO_LINGER 0, `getError` for
 * SO_ERROR). UDP goes through `stack.udp.createSocket()`.
 *
 * A call either completes (`CallOutcome`) or is `Blocked`; the runner
 * retries blocked calls written with `S...E` times.
 */
import type { Expr, SyscallLine } from './ast.js';
import { ERRNO, SYMBOLS, errnoName } from './constants.js';
import { Unsupported, bindAddress, connectAddress, type RunnerConfig } from './config.js';
import type { Ipv6Words } from '../wire/ipv6.js';
import { EpollCalls, WAKE_READABLE, WAKE_STATE, WAKE_WRITABLE, type PollableFds, type WakeKey } from './syscalls-epoll.js';
import { recvmsg } from './syscalls-recvmsg.js';
import { EXTRA_SOCKOPTS, applyExtraSockopts, checkTcpInfo, getExtraSockopt, optlenOf, setExtraSockopt, type SockoptTarget } from './sockopts.js';
import { ScriptFailure, type RunContext } from './run-context.js';
import type { UdpSocket } from '../udp/socket.js';
import type { TcpSocket } from '../tcp/socket.js';
import type { TcpServer, ServerOptions } from '../tcp/server.js';
import type { TcpLayer } from '../tcp/layer.js';
import { OpenFiles, SEND_CALLS, SEND_FLAGS, SEND_OPTS, applySendOpts, getSendOpt, iovLength, preflightSend, sendOptionsOf, setSendOpt, type SendOpts } from './syscalls-send.js';
import { applyFastOpenToServer, fastOpenConnectOptions, fastOpenConnectResult, FASTOPEN_SOCKOPTS, setFastOpenOption, type FastOpenFdOptions } from './syscalls-fastopen.js';

export interface CallOutcome {
  ret: number;
  errno?: number;
  /** Values written back through pointer arguments (getsockopt, poll revents). */
  out?: { optval?: number; revents?: number[] };
}

export interface Blocked {
  blocked: true;
  retry: () => Promise<CallOutcome | Blocked>;
  /** A time at which the call completes on its own (poll timeout). */
  wakeAt?: number;
}

const ok = (ret = 0, out?: CallOutcome['out']): CallOutcome => (out ? { ret, out } : { ret });
const err = (name: keyof typeof ERRNO | string): CallOutcome => ({ ret: -1, errno: ERRNO[name] ?? 22 });

type TcpSocketApi = TcpSocket;
type TcpServerApi = TcpServer;

/** Pending socket options applied when the socket exists. */
interface SockOpts extends SendOpts {
  nodelay?: boolean;
  keepalive?: boolean;
  keepIdle?: number;
  lingerZero?: boolean;
  rcvbuf?: number;
  sndbuf?: number;
  maxseg?: number;
  /** TCP_USER_TIMEOUT and TCP_INQ (sockopts.ts ExtraSockoptValues). */
  userTimeout?: number;
  inq?: boolean;
}

type TcpFdState =
  | { s: 'fresh' }
  | { s: 'listening'; server: TcpServerApi }
  | { s: 'conn'; sock: TcpSocketApi }
  | { s: 'closed' };

class Fd {
  nonblock = false;
  boundPort: number | undefined;
  /** SO_REUSEADDR (an accepted socket inherits it, as Linux's sk_clone copies sk_reuse). */
  reuseAddr = false;
  opts: SockOpts = {};
  tcp: TcpFdState = { s: 'fresh' };
  udp: UdpSocket<number> | UdpSocket<Ipv6Words> | undefined;
  udpRx: number[] = [];
  udpConnected = false;
  /** Errno of an asynchronous error not yet reported (SO_ERROR / next call). */
  pendingErrno = 0;
  /** TCP: the 'end' event was seen. */
  eof = false;
  /** TCP: the socket was destroyed with this errno. */
  deadErrno = 0;
  /** The socket's errorAfterData was taken as deadErrno already: its later 'error' event is the same one. */
  errorNoted = false;
  readShut = false;
  writeShut = false;
  connectStarted = false;
  /** TCP_FASTOPEN, TCP_FASTOPEN_KEY, TCP_FASTOPEN_NO_COOKIE, TCP_FASTOPEN_CONNECT (syscalls-fastopen.ts). */
  fastOpen: FastOpenFdOptions = {};
  constructor(
    readonly kind: 'tcp' | 'udp',
    readonly number: number,
  ) {}
}

const SUPPORTED_CALLS = new Set(['socket', 'bind', 'listen', 'accept', 'connect', 'read', 'recv', 'recvfrom', 'write', 'send', 'sendto', 'close', 'shutdown', 'fcntl', 'setsockopt', 'getsockopt', 'poll', 'ioctl', 'recvmsg', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait']);
/** ioctl requests the runner answers (Linux: SIOCINQ = FIONREAD, SIOCOUTQ = TIOCOUTQ). */
const IOCTLS = new Set(['SIOCINQ', 'FIONREAD', 'SIOCOUTQ', 'TIOCOUTQ']);

const SKIPPED_OPTS = new Set(['TCP_CONGESTION', 'TCP_NOTSENT_LOWAT', 'TCP_CORK', 'SO_ZEROCOPY', 'SO_TIMESTAMPING', 'IP_RECVERR', 'TCP_MD5SIG', 'TCP_REPAIR', 'TCP_SAVE_SYN', 'TCP_SAVED_SYN', 'TCP_ZEROCOPY_RECEIVE', 'TCP_TX_DELAY', 'TCP_QUICKACK', 'TCP_WINDOW_CLAMP', 'TCP_DEFER_ACCEPT', 'TCP_LINGER2', 'TCP_TIMESTAMP', 'TCP_CC_INFO', 'TCP_THIN_LINEAR_TIMEOUTS', 'SO_RCVLOWAT', 'SO_SNDLOWAT', 'SO_RCVTIMEO', 'SO_SNDTIMEO', 'IP_MTU_DISCOVER', 'IP_TOS', 'IP_TTL', 'SO_REUSEPORT', 'SO_OOBINLINE', 'SO_TIMESTAMP', 'TCP_NOPUSH']);
const HANDLED_OPTS = new Set(['SO_REUSEADDR', 'SO_RCVBUF', 'SO_SNDBUF', 'SO_LINGER', 'SO_ERROR', 'SO_KEEPALIVE', 'TCP_NODELAY', 'TCP_MAXSEG', 'TCP_KEEPIDLE', 'TCP_KEEPINTVL', 'TCP_KEEPCNT', 'SO_TYPE', 'SO_DEBUG', 'SO_BROADCAST', 'TCP_SYNCNT', 'SO_MAX_PACING_RATE', ...EXTRA_SOCKOPTS]);

function identOf(e: Expr | undefined): string | undefined {
  return e?.t === 'ident' ? e.name : undefined;
}

/** A NULL buffer argument (`NULL` or `0`): Linux answers EFAULT when bytes would be copied through it. */
function isNullBuffer(e: Expr | undefined): boolean {
  return (e?.t === 'ident' && e.name === 'NULL') || (e?.t === 'num' && e.v === 0);
}

export class SyscallAdapter {
  private readonly fds = new Map<number, Fd>();
  /** The stack's MSS clamp before any TCP_MAXSEG (applyBuffers). */
  private baseMssClamp: number | undefined;
  /** Sockets whose script fd number a later accept() took over (packetdrill leaves them open). */
  private readonly shadowed: Fd[] = [];
  /** Files open(2) opened (syscalls-send.ts). */
  private readonly files: OpenFiles;

  constructor(private readonly run: RunContext) {
    this.files = new OpenFiles(run.cfg.files, run.cfg.scriptDir);
  }

  /** Rejects calls and options the runner does not map (before the script runs). */
  static preflight(call: SyscallLine, line: number, ipVersion: RunnerConfig['ipVersion'] = 'ipv4'): void {
    if (SEND_CALLS.has(call.name)) return preflightSend(call, line);
    if (!SUPPORTED_CALLS.has(call.name)) throw new Unsupported(`system call ${call.name}()`, line);
    if (call.name === 'setsockopt' || call.name === 'getsockopt') {
      const name = identOf(call.args[2]);
      if (name === undefined) throw new Unsupported(`${call.name} with a numeric option name`, line);
      if (!SEND_OPTS.has(name) && (SKIPPED_OPTS.has(name) || (!HANDLED_OPTS.has(name) && !(call.name === 'setsockopt' && FASTOPEN_SOCKOPTS.has(name))))) throw new Unsupported(`socket option ${name}`, line);
    }
    if (call.name === 'ioctl') {
      const req = identOf(call.args[1]);
      if (req === undefined || !IOCTLS.has(req)) throw new Unsupported(`ioctl ${req ?? 'with a numeric request'}`, line);
    }
    if (call.name === 'send' || call.name === 'sendto' || call.name === 'recv' || call.name === 'recvfrom') {
      const flags = call.args[3];
      for (const f of flagNames(flags)) {
        if (SEND_FLAGS.has(f) && (call.name === 'send' || call.name === 'sendto')) continue;
        if (f === 'MSG_MORE' || (f === 'MSG_FASTOPEN' && call.name !== 'sendto') || f === 'MSG_ZEROCOPY' || f === 'MSG_EOR' || f === 'MSG_OOB' || f === 'MSG_ERRQUEUE' || f === 'MSG_WAITALL') {
          throw new Unsupported(`${call.name} flag ${f}`, line);
        }
      }
    }
    if (call.name === 'socket') {
      const dom = call.args[0];
      // With --ip_version=ipv6 or ipv4-mapped-ipv6 packetdrill makes every socket AF_INET6; an explicit
      // AF_INET6 socket in an IPv4 run is not modelled.
      if ((identOf(dom) === 'AF_INET6' || identOf(dom) === 'PF_INET6') && ipVersion === 'ipv4') throw new Unsupported('IPv6 sockets', line);
      const type = identOf(call.args[1]);
      if (type !== undefined && type !== 'SOCK_STREAM' && type !== 'SOCK_DGRAM') throw new Unsupported(`socket type ${type}`, line);
    }
  }

  /** epoll instances (syscalls-epoll.ts), made on first use. */
  private epollCalls: EpollCalls | undefined;
  private get epoll(): EpollCalls {
    return (this.epollCalls ??= new EpollCalls(this.run, this.pollable, (e, line) => this.value(e, line)));
  }

  private get tcpApi(): TcpLayer {
    return this.run.ensureStack().tcp;
  }

  dispose(): void {
    this.epollCalls?.dispose();
    for (const fd of [...this.fds.values(), ...this.shadowed]) {
      try {
        if (fd.udp && !fd.udp.isClosed) fd.udp.close();
        if (fd.tcp.s === 'listening') fd.tcp.server.close();
        if (fd.tcp.s === 'conn' && !fd.tcp.sock.destroyed) fd.tcp.sock.destroy();
      } catch {
        // discarded
      }
    }
  }

  // ------------------------------------------------------------ values

  value(e: Expr, line: number): number {
    switch (e.t) {
      case 'num':
        return e.v;
      case 'ident': {
        const v = SYMBOLS[e.name] ?? ERRNO[e.name];
        if (v === undefined) throw new Unsupported(`symbolic constant ${e.name}`, line);
        return v;
      }
      case 'or':
        return e.items.reduce((a, x) => a | this.value(x, line), 0);
      case 'list':
        if (e.items.length === 1) return this.value(e.items[0]!, line);
        break;
      default:
        break;
    }
    throw new ScriptFailure(`expected a number, got ${describeExpr(e)}`, line);
  }

  private fd(args: Expr[], line: number): Fd | undefined {
    const n = this.value(args[0] ?? { t: 'num', v: -1 }, line);
    return this.fds.get(n);
  }

  /** Compares a completed call with the script's expectation. */
  checkResult(call: SyscallLine, o: CallOutcome, line: number, text: string): void {
    const want = this.value(call.result, line);
    const wantErrno = call.errno !== undefined ? ERRNO[call.errno] : undefined;
    if (call.errno !== undefined && wantErrno === undefined) throw new Unsupported(`errno ${call.errno}`, line);
    const got = o.errno !== undefined ? `${o.ret} ${errnoName(o.errno)}` : String(o.ret);
    const exp = call.errno !== undefined ? `${want} ${call.errno}` : String(want);
    // socket()/accept() results name script fds; a successful one is checked by success.
    const fdResult = (call.name === 'socket' || call.name === 'accept') && want >= 0 && o.ret >= 0;
    if ((!fdResult && o.ret !== want) || (fdResult && o.errno !== undefined) || (wantErrno !== undefined && o.errno !== wantErrno) || (wantErrno === undefined && want === -1 && o.errno !== undefined && call.errno !== undefined)) {
      this.run.fail('syscall', `${call.name}() returned ${got}, expected ${exp}`, line, [`script: ${text}`]);
      return;
    }
    if (o.ret === -1 && wantErrno === undefined && want !== -1) {
      this.run.fail('syscall', `${call.name}() returned ${got}, expected ${exp}`, line, [`script: ${text}`]);
      return;
    }
    // Values through pointers.
    if ((call.name === 'getsockopt' || call.name === 'ioctl') && o.out?.optval !== undefined) {
      const getsockopt = call.name === 'getsockopt';
      const optArg = call.args[getsockopt ? 3 : 2];
      if (optArg && optArg.t !== 'ellipsis') {
        const wantVal = this.value(optArg, line);
        if (wantVal !== o.out.optval) this.run.fail('syscall', `${call.name} ${identOf(call.args[getsockopt ? 2 : 1]) ?? ''}: value ${o.out.optval}, expected ${wantVal}`, line, [`script: ${text}`]);
      }
    }
    if (call.name === 'poll' && o.out?.revents) {
      const fdsArg = call.args[0];
      if (fdsArg?.t === 'list') {
        fdsArg.items.forEach((item, i) => {
          if (item.t !== 'struct') return;
          const rf = item.fields.find((f) => f.name === 'revents');
          if (!rf) return;
          const wantR = this.value(rf.value, line);
          const gotR = o.out!.revents![i] ?? 0;
          if (wantR !== gotR) this.run.fail('syscall', `poll revents of entry ${i}: ${pollNames(gotR)}, expected ${pollNames(wantR)}`, line, [`script: ${text}`]);
        });
      }
    }
  }

  // ------------------------------------------------------------ dispatch

  async start(call: SyscallLine, line: number, blockingLine: boolean): Promise<CallOutcome | Blocked> {
    const a = call.args;
    switch (call.name) {
      case 'recvmsg':
        return recvmsg(this.run, this.recvmsgHost, a, line);
      case 'epoll_create':
        return this.epoll.create(a, call.result, line, (n) => this.fds.has(n));
      case 'epoll_create1':
        return this.epoll.create1(a, call.result, line, (n) => this.fds.has(n));
      case 'epoll_ctl':
        return this.epoll.ctl(a, line);
      case 'epoll_wait':
        return this.epoll.wait(a, line, describeExpr({ t: 'call', name: call.name, args: a }));
      case 'socket':
        return this.socket(call, line);
      case 'bind':
        return this.bind(a, line);
      case 'listen':
        return this.listen(a, line);
      case 'accept':
        return this.accept(call, line);
      case 'connect':
        return this.connect(a, line);
      case 'read':
        return this.read(a, line, 0);
      case 'recv':
      case 'recvfrom':
        return this.read(a, line, a[3] ? this.value(a[3], line) : 0);
      case 'write':
        return this.write(a, line, 0);
      case 'send':
      case 'sendto':
        return this.write(a, line, a[3] ? this.value(a[3], line) : 0);
      case 'close':
        return this.close(a, line);
      case 'shutdown':
        return this.shutdown(a, line);
      case 'fcntl':
        return this.fcntl(a, line);
      case 'ioctl':
        return this.ioctl(a, line);
      case 'setsockopt':
        return this.setsockopt(a, line);
      case 'getsockopt':
        return this.getsockopt(a, line);
      case 'poll':
        return this.poll(a, line, blockingLine);
      case 'sendmsg':
        return this.write([a[0]!, { t: 'ellipsis' }, { t: 'num', v: iovLength(a[1], (e) => this.value(e, line), line) }], line, a[2] ? this.value(a[2], line) : 0);
      case 'open':
        return this.open(call, line);
      case 'sendfile':
        return this.sendfile(a, line);
    }
    throw new Unsupported(`system call ${call.name}()`, line);
  }

  private socket(call: SyscallLine, line: number): CallOutcome {
    const type = this.value(call.args[1] ?? { t: 'num', v: 1 }, line);
    const want = this.value(call.result, line);
    if (want < 0) return err('EINVAL');
    if (this.fds.has(want) || this.epollCalls?.has(want)) throw new ScriptFailure(`socket() = ${want}: fd ${want} is already in use in the script`, line);
    const fd = new Fd(type === SYMBOLS['SOCK_DGRAM'] ? 'udp' : 'tcp', want);
    this.fds.set(want, fd);
    if (fd.kind === 'udp') {
      const stack = this.run.ensureStack();
      const s = this.run.cfg.ipVersion === 'ipv6' ? stack.udp6.createSocket() : stack.udp.createSocket();
      fd.udp = s;
      s.on('message', (msg: Buffer) => {
        fd.udpRx.push(msg.length);
      });
      s.on('error', (e: Error & { errno?: number; code?: string }) => {
        fd.pendingErrno = (e.code && ERRNO[e.code]) || Math.abs(e.errno ?? 0) || ERRNO['EIO']!;
      });
    }
    return ok(want);
  }

  private bind(a: Expr[], line: number): CallOutcome {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    if (fd.boundPort !== undefined) return err('EINVAL');
    const port = this.run.cfg.bindPort;
    for (const other of [...this.fds.values(), ...this.shadowed]) {
      if (other === fd || other.kind !== fd.kind || other.boundPort !== port || other.tcp.s === 'closed') continue;
      // Linux inet_bind_conflict: two sockets with SO_REUSEADDR share a port unless the other one listens.
      if (fd.kind === 'tcp' && fd.reuseAddr && other.reuseAddr && other.tcp.s !== 'listening') continue;
      return err('EADDRINUSE');
    }
    fd.boundPort = port;
    if (fd.udp) {
      fd.udp.bind(port, this.run.cfg.ipVersion === 'ipv6' ? bindAddress(this.run.cfg) : this.run.cfg.localIp);
      this.run.udpLocalPort = port;
    }
    return ok();
  }

  private async listen(a: Expr[], line: number): Promise<CallOutcome> {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    if (fd.kind !== 'tcp') return err('EOPNOTSUPP');
    if (fd.tcp.s === 'listening') return ok();
    if (fd.tcp.s !== 'fresh') return err('EINVAL');
    const backlog = a[1] ? this.value(a[1], line) : 0;
    const port = fd.boundPort ?? this.run.cfg.bindPort;
    fd.boundPort = port;
    this.applyBuffers(fd);
    const server = this.tcpApi.createServer(this.serverOptions(fd));
    let listenErr = 0;
    server.on('error', (e: Error & { code?: string }) => {
      listenErr = (e.code && ERRNO[e.code]) || ERRNO['EADDRINUSE']!;
    });
    server.listen({ port, host: bindAddress(this.run.cfg), backlog });
    await this.run.settle();
    if (listenErr) return { ret: -1, errno: listenErr };
    fd.tcp = { s: 'listening', server };
    if (fd.opts.maxseg !== undefined) server.setMaxSegment(fd.opts.maxseg);
    this.epollCalls?.rewatch(fd.number);
    applyFastOpenToServer(fd.fastOpen, server);
    this.run.sut = 'listener';
    return ok();
  }

  private serverOptions(fd: Fd): ServerOptions {
    // manualAccept: connections wait in the stack's accept queue until accept(2), so backlogs behave.
    const o: ServerOptions = { manualAccept: true, allowHalfOpen: true };
    if (fd.opts.nodelay) o.noDelay = true;
    return o;
  }

  /**
   * SO_RCVBUF/SO_SNDBUF/TCP_MAXSEG: the socket API has no per-socket sizes, so
   * the stack-wide defaults are set just before listen()/connect() (new
   * connections read them when they are created). A size set by hand is
   * fixed, as Linux locks it (SOCK_RCVBUF_LOCK/SOCK_SNDBUF_LOCK): no
   * autotuning, and the window scale is sized for it.
   */
  private applyBuffers(fd: Fd): void {
    const c = this.tcpApi.config;
    if (fd.opts.rcvbuf !== undefined) {
      c.rmem = fd.opts.rcvbuf;
      c.rmemMax = 0;
    }
    if (fd.opts.sndbuf !== undefined) {
      c.wmem = fd.opts.sndbuf;
      c.wmemMax = 0;
    }
    // TCP_MAXSEG is per socket in Linux; here the stack-wide MSS clamp, set as the buffers are, and put back
    // for a socket without it (a listener keeps its own through setMaxSegment).
    this.baseMssClamp ??= c.mssClamp;
    c.mssClamp = fd.opts.maxseg ?? this.baseMssClamp;
  }

  /** Error bookkeeping of a TCP socket, attached once. */
  private watchTcp(s: TcpSocketApi, fd: Fd | undefined): void {
    const state = { fd };
    const mark = (f: Fd | undefined): Fd | undefined => f ?? this.fdOf(s);
    const dead = (f: Fd | undefined, e: Error & { errno?: number; code?: string }): void => {
      const n = (e.code && ERRNO[e.code]) || Math.abs(e.errno ?? 0) || ERRNO['EIO']!;
      if (f) {
        f.deadErrno = n;
        f.pendingErrno = n;
      }
    };
    s.on('error', (e: Error & { errno?: number; code?: string }) => {
      const f = mark(state.fd);
      // An error already reported while data was left to read (errorAfterData) is not a second one.
      if (f?.errorNoted) return;
      dead(f, e);
    });
    // A reset with data still unread: Linux reports the error now (sk_err) and still reads the data.
    s.on('wakeup', () => {
      const e = s.errorAfterData;
      const f = mark(state.fd);
      if (e === null || f === undefined || f.errorNoted) return;
      f.errorNoted = true;
      dead(f, e);
    });
    s.on('end', () => {
      const f = mark(state.fd);
      if (f) f.eof = true;
    });
  }

  private fdOf(s: TcpSocketApi): Fd | undefined {
    for (const f of this.fds.values()) if (f.tcp.s === 'conn' && f.tcp.sock === s) return f;
    return undefined;
  }

  private applyOpts(fd: Fd, s: TcpSocketApi): void {
    applyExtraSockopts(fd.opts, s);
    if (fd.opts.nodelay) s.setNoDelay(true);
    if (fd.opts.keepalive) s.setKeepAlive(true, fd.opts.keepIdle ?? 0);
    applySendOpts(fd.opts, s);
  }

  private accept(call: SyscallLine, line: number): CallOutcome | Blocked {
    const a = call.args;
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    if (fd.tcp.s !== 'listening') return err('EINVAL');
    const st = fd.tcp;
    const want = this.value(call.result, line);
    const attempt = async (): Promise<CallOutcome | Blocked> => {
      await this.run.settle();
      const s = st.server.accept();
      if (!s) return fd.nonblock ? err('EAGAIN') : { blocked: true, retry: attempt };
      return this.accepted(fd, s, want, line);
    };
    const s = st.server.accept();
    if (s) return this.accepted(fd, s, want, line);
    return fd.nonblock ? err('EAGAIN') : { blocked: true, retry: attempt };
  }

  /** Binds an accepted socket to the script's fd number (the result written on the line). */
  private accepted(listener: Fd, s: TcpSocketApi, want: number, line: number): CallOutcome {
    const number = want >= 0 ? want : this.freeFd();
    // packetdrill (run_syscall_accept) does not check the number: the newest socket with it answers to it
    // from now on, the older one stays open unnamed.
    const older = this.fds.get(number);
    if (older !== undefined) this.shadowed.push(older);
    const fd = new Fd('tcp', number);
    fd.opts = { ...listener.opts };
    fd.reuseAddr = listener.reuseAddr;
    fd.tcp = { s: 'conn', sock: s };
    this.watchTcp(s, fd);
    fd.boundPort = listener.boundPort;
    this.fds.set(number, fd);
    this.applyOpts(fd, s);
    if (s.readableEnded) fd.eof = true;
    this.run.sut = 'socket';
    if (s.remotePort !== undefined) this.run.cut = this.run.tuple(s.localPort ?? this.run.cfg.bindPort, s.remotePort);
    return ok(number);
  }

  private freeFd(): number {
    let n = 3;
    while (this.fds.has(n)) n++;
    return n;
  }

  /** connect(2); with `fastOpen` a sendto(MSG_FASTOPEN) of `len` bytes (TCP_FASTOPEN_CONNECT needs none). */
  private connect(a: Expr[], line: number, fastOpen?: { len: number; dontwait: boolean }): CallOutcome | Blocked {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    const cfg = this.run.cfg;
    if (fd.kind === 'udp') {
      fd.udp!.connect(cfg.connectPort, cfg.ipVersion === 'ipv6' ? connectAddress(cfg) : cfg.remoteIp);
      fd.udpConnected = true;
      this.run.udpRemotePort = cfg.connectPort;
      if (fd.boundPort === undefined) this.run.udpLocalPort = 0;
      return ok();
    }
    if (fd.tcp.s === 'listening') return err('EISCONN');
    if (fd.tcp.s === 'conn') {
      const s = fd.tcp.sock;
      if (fd.deadErrno && fd.pendingErrno) return this.takeConnectError(fd);
      if (s.destroyed) {
        // A failed attempt whose error was collected: connect() starts a new one (Linux, socket back in CLOSE).
        fd.tcp = { s: 'fresh' };
        fd.deadErrno = 0;
        fd.eof = false;
        return this.connect(a, line);
      }
      if (s.connecting) return fd.nonblock ? err('EALREADY') : this.waitConnect(fd, s);
      return err('EISCONN');
    }
    if (fd.tcp.s === 'closed') return err('EBADF');
    const opts: { host: string; port: number; localPort?: number } = { host: connectAddress(cfg), port: cfg.connectPort };
    if (fd.boundPort !== undefined) opts.localPort = fd.boundPort;
    this.applyBuffers(fd);
    const fo = fastOpenConnectOptions(fd.fastOpen, fastOpen, fd.nonblock, this.tcpApi.config.fastOpen);
    if (typeof fo === 'number') return { ret: -1, errno: fo };
    const s = this.tcpApi.connect({ ...opts, ...fo, allowHalfOpen: true });
    fd.tcp = { s: 'conn', sock: s };
    fd.connectStarted = true;
    this.watchTcp(s, fd);
    this.epollCalls?.rewatch(fd.number);
    this.applyOpts(fd, s);
    this.run.sut = 'socket';
    // The SYN tells the runner the local port; until then the tuple is (unknown, connect_port).
    const lp = s.localPort ?? 0;
    this.run.cut = this.run.tuple(lp, cfg.connectPort);
    const done = fastOpenConnectResult(s, fastOpen, fd.nonblock);
    if (done !== null) return done;
    if (fastOpen !== undefined) {
      // A blocking sendto(MSG_FASTOPEN): returns with every byte queued once connected.
      const w = this.waitConnect(fd, s);
      const retry = w.retry;
      w.retry = async () => {
        const r = await retry();
        return 'blocked' in r || r.ret < 0 ? r : ok(fastOpen.len);
      };
      return w;
    }
    if (fd.nonblock) return err('EINPROGRESS');
    return this.waitConnect(fd, s);
  }

  private takeConnectError(fd: Fd): CallOutcome {
    const e = fd.deadErrno;
    fd.pendingErrno = 0;
    return { ret: -1, errno: e };
  }

  private waitConnect(fd: Fd, s: TcpSocketApi): Blocked {
    const attempt = async (): Promise<CallOutcome | Blocked> => {
      if (fd.deadErrno) return this.takeConnectError(fd);
      if (!s.connecting && !s.destroyed) return ok();
      if (s.destroyed) return err('ECONNREFUSED');
      return { blocked: true, retry: attempt };
    };
    return { blocked: true, retry: attempt };
  }

  private async read(a: Expr[], line: number, flags: number): Promise<CallOutcome | Blocked> {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    const len = a[2] ? this.value(a[2], line) : 0;
    const dontwait = fd.nonblock || (flags & SYMBOLS['MSG_DONTWAIT']!) !== 0;
    const peek = (flags & SYMBOLS['MSG_PEEK']!) !== 0;
    if (fd.kind === 'udp') {
      const attempt = async (): Promise<CallOutcome | Blocked> => {
        await this.run.settle();
        if (fd.pendingErrno) {
          const e = fd.pendingErrno;
          fd.pendingErrno = 0;
          return { ret: -1, errno: e };
        }
        const n = peek ? fd.udpRx[0] : fd.udpRx.shift();
        if (n !== undefined) return ok(Math.min(n, len));
        return dontwait ? err('EAGAIN') : { blocked: true, retry: attempt };
      };
      return attempt();
    }
    if (fd.tcp.s !== 'conn') return err(fd.tcp.s === 'listening' ? 'ENOTCONN' : 'ENOTCONN');
    const s = fd.tcp.sock;
    const attempt = async (): Promise<CallOutcome | Blocked> => {
      const avail = s.readableLength;
      // After shutdown(SHUT_RD) Linux still reads what is queued (tcp_recvmsg: RCV_SHUTDOWN ends only a read
      // that found nothing), and data arriving later is still ACKed and queued.
      if (avail > 0) {
        if (len > 0 && isNullBuffer(a[1])) return err('EFAULT');
        const n = Math.min(len, avail);
        if (peek) return ok(n);
        const b = s.read(n) as Buffer | null;
        return ok(b ? b.length : 0);
      }
      if (fd.deadErrno) {
        const e = fd.deadErrno;
        fd.pendingErrno = 0;
        // Linux reports the reset once, then EOF.
        fd.deadErrno = 0;
        fd.eof = true;
        return { ret: -1, errno: e };
      }
      if (!fd.eof) {
        // Trigger 'end' if the stream has seen the FIN.
        s.read(0);
        await this.run.settle();
      }
      if (fd.eof || s.readableEnded) return ok(0);
      if (s.readableLength > 0) return attempt();
      if (fd.readShut) return ok(0);
      if (s.destroyed) return ok(0);
      if (s.connecting && !dontwait) return { blocked: true, retry: attempt };
      return dontwait ? err('EAGAIN') : { blocked: true, retry: attempt };
    };
    return attempt();
  }

  private async write(a: Expr[], line: number, flags: number, data?: Uint8Array): Promise<CallOutcome | Blocked> {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    const len = a[2] ? this.value(a[2], line) : 0;
    const dontwait = fd.nonblock || (flags & SYMBOLS['MSG_DONTWAIT']!) !== 0;
    if (len > 0 && isNullBuffer(a[1])) return err('EFAULT');
    if (fd.kind === 'udp') {
      const u = fd.udp!;
      if (fd.pendingErrno) {
        const e = fd.pendingErrno;
        fd.pendingErrno = 0;
        return { ret: -1, errno: e };
      }
      if (!fd.udpConnected && a.length < 5) return err('EDESTADDRREQ');
      let sendErr = 0;
      const cb = (e: (Error & { code?: string }) | null): void => {
        if (e) sendErr = (e.code && ERRNO[e.code]) || ERRNO['EIO']!;
      };
      if (fd.udpConnected) u.send(Buffer.alloc(len), cb);
      else u.send(Buffer.alloc(len), this.run.cfg.connectPort, this.run.cfg.ipVersion === 'ipv6' ? connectAddress(this.run.cfg) : this.run.cfg.remoteIp, cb);
      await this.run.settle();
      if (this.run.udpLocalPort === 0) this.run.udpLocalPort = u.address().port;
      if (sendErr) return { ret: -1, errno: sendErr };
      return ok(len);
    }
    // sendto(MSG_FASTOPEN) on an unconnected socket: connect with the data in the SYN (syscalls-fastopen.ts).
    if (fd.tcp.s === 'fresh' && flags & SYMBOLS['MSG_FASTOPEN']!) {
      // Linux tcp_sendmsg_fastopen: an AF_UNSPEC address is EOPNOTSUPP.
      if (identOf(a[4]) === 'AF_UNSPEC') return err('EOPNOTSUPP');
      return this.connect(a, line, { len, dontwait });
    }
    if (fd.tcp.s !== 'conn') return err(fd.tcp.s === 'closed' ? 'EBADF' : 'EPIPE');
    const s = fd.tcp.sock;
    // Linux tcp_sendmsg_fastopen: another Fast Open while one is in progress.
    // (__inet_stream_connect on a socket already connecting; a deferred connect's first write is the SYN.)
    if (flags & SYMBOLS['MSG_FASTOPEN']! && s.tcpInfo()?.state === 'SYN-SENT' && s.fastOpenInfo()?.deferred !== true) return err('EALREADY');
    // A write of no bytes after a deferred Fast Open connect still connects (tcp_sendmsg_fastopen): the SYN
    // without data, then EINPROGRESS (non-blocking) or the wait for the handshake.
    if (len === 0 && s.fastOpenInfo()?.deferred === true && s.connectDeferred()) {
      await this.run.settle();
      if (dontwait) return err('EINPROGRESS');
      return this.waitConnect(fd, s);
    }
    // The first write after a deferred Fast Open connect sends the SYN; a blocking one waits for the handshake.
    if (!dontwait && s.fastOpenInfo()?.deferred === true) {
      s.write(Buffer.alloc(len));
      const attempt = async (): Promise<CallOutcome | Blocked> => {
        await this.run.settle();
        if (fd.deadErrno) return { ret: -1, errno: fd.deadErrno };
        return s.tcpInfo()?.state === 'SYN-SENT' ? { blocked: true, retry: attempt } : ok(len);
      };
      return { blocked: true, retry: attempt };
    }
    if (fd.deadErrno) {
      // Linux tcp_sendmsg → sk_stream_error: the pending socket error if there is one (reported once), else EPIPE.
      const e = fd.pendingErrno;
      fd.deadErrno = 0;
      fd.pendingErrno = 0;
      return { ret: -1, errno: e || ERRNO['EPIPE']! };
    }
    if (fd.writeShut || s.writableEnded || s.destroyed) return err('EPIPE');
    // Linux tcp_sendmsg → sk_stream_wait_connect: a non-blocking write before the handshake completes (a
    // deferred Fast Open connect's first write excepted: it is the SYN).
    const synSent = s.connecting || (s.tcpInfo()?.state === 'SYN-SENT' && s.fastOpenInfo()?.deferred !== true);
    if (synSent && dontwait) return err('EAGAIN');
    const room = dontwait ? s.deferredSynRoom : 0;
    if (room > 0 && len > room) {
      // A non-blocking first write after a deferred Fast Open connect: only what the SYN carries is taken
      // (tcp_sendmsg_fastopen returns the bytes copied into it).
      s.send(data ? data.subarray(0, room) : Buffer.alloc(room), sendOptionsOf(flags));
      await this.run.settle();
      return ok(room);
    }
    if (dontwait && !s.connecting) {
      // Linux's non-blocking tcp_sendmsg: what fits now, the rest is the caller's (EAGAIN when nothing fits).
      const n = s.trySend(data ?? Buffer.alloc(len), sendOptionsOf(flags));
      if (n >= 0) {
        await this.run.settle();
        if (fd.deadErrno) return err('EPIPE');
        return n === 0 && len > 0 ? err('EAGAIN') : ok(n);
      }
    }
    s.send(data ?? Buffer.alloc(len), sendOptionsOf(flags));
    await this.run.settle();
    if (fd.deadErrno) return err('EPIPE');
    if (s.writableLength === 0) return ok(len);
    // Part of the data is not in the send buffer yet.
    const attempt = async (): Promise<CallOutcome | Blocked> => {
      await this.run.settle();
      if (s.writableLength === 0) return ok(len);
      if (fd.deadErrno || s.destroyed) return err('EPIPE');
      return { blocked: true, retry: attempt };
    };
    if (dontwait) return ok(len - s.writableLength);
    return { blocked: true, retry: attempt };
  }

  /** open(PATH, O_RDONLY) = N: the file for sendfile() (syscalls-send.ts). */
  private open(call: SyscallLine, line: number): CallOutcome {
    const path = call.args[0];
    if (path?.t !== 'str') throw new ScriptFailure('open() needs a path "..."', line);
    const want = this.value(call.result, line);
    if (want >= 0 && (this.fds.has(want) || this.files.has(want))) throw new ScriptFailure(`open() = ${want}: fd ${want} is already in use in the script`, line);
    return this.files.open(path.v, want >= 0 ? want : this.freeFd());
  }

  /** sendfile(OUT, IN, [OFFSET], COUNT): the file's bytes written to the socket as write() would. */
  private sendfile(a: Expr[], line: number): Promise<CallOutcome | Blocked> | CallOutcome {
    const inFd = a[1] ? this.value(a[1], line) : -1;
    const off = a[2] && a[2].t !== 'ident' ? this.optValue(a[2], line) : 0;
    const count = a[3] ? this.value(a[3], line) : 0;
    const bytes = this.files.slice(inFd, off, count);
    if (bytes === undefined) return err('EBADF');
    return this.write([a[0]!, { t: 'ellipsis' }, { t: 'num', v: bytes.length }], line, 0, bytes);
  }

  private close(a: Expr[], line: number): CallOutcome {
    if (a[0] && this.epollCalls?.close(this.value(a[0], line))) return ok();
    const fd = this.fd(a, line);
    if (!fd && this.files.close(this.value(a[0]!, line))) return ok();
    if (!fd) return err('EBADF');
    this.fds.delete(fd.number);
    this.epollCalls?.forget(fd.number);
    if (fd.udp) {
      fd.udp.close();
      return ok();
    }
    const st = fd.tcp;
    fd.tcp = { s: 'closed' };
    if (st.s === 'listening') {
      st.server.close();
    } else if (st.s === 'conn') {
      if (fd.opts.lingerZero) st.sock.resetAndDestroy();
      else st.sock.destroy();
    }
    // The closed socket stays the socket under test (TIME_WAIT, RST checks); the fd number is free again.
    return ok();
  }

  private shutdown(a: Expr[], line: number): CallOutcome {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    const how = a[1] ? this.value(a[1], line) : 1;
    if (fd.kind === 'udp') return fd.udpConnected ? ok() : err('ENOTCONN');
    if (fd.tcp.s !== 'conn' || fd.tcp.sock.connecting) return err('ENOTCONN');
    if (how === 0 || how === 2) fd.readShut = true;
    if ((how === 1 || how === 2) && !fd.writeShut) {
      fd.writeShut = true;
      fd.tcp.sock.end();
    }
    return ok();
  }

  private fcntl(a: Expr[], line: number): CallOutcome {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    const cmd = a[1] ? this.value(a[1], line) : -1;
    if (cmd === SYMBOLS['F_GETFL']) return ok(SYMBOLS['O_RDWR']! | (fd.nonblock ? SYMBOLS['O_NONBLOCK']! : 0));
    if (cmd === SYMBOLS['F_SETFL']) {
      const v = a[2] ? this.value(a[2], line) : 0;
      fd.nonblock = (v & SYMBOLS['O_NONBLOCK']!) !== 0;
      return ok();
    }
    if (cmd === SYMBOLS['F_GETFD'] || cmd === SYMBOLS['F_SETFD']) return ok();
    throw new Unsupported(`fcntl command ${describeExpr(a[1]!)}`, line);
  }

  private optValue(e: Expr | undefined, line: number): number {
    if (!e) return 0;
    if (e.t === 'list' && e.items.length === 1) return this.value(e.items[0]!, line);
    return this.value(e, line);
  }

  private setsockopt(a: Expr[], line: number): CallOutcome {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    const name = identOf(a[2])!;
    const sock = fd.tcp.s === 'conn' ? fd.tcp.sock : undefined;
    if (EXTRA_SOCKOPTS.has(name)) return setExtraSockopt(this.sockoptTarget(fd), name, this.optValue(a[3], line), optlenOf(a[4]));
    if (FASTOPEN_SOCKOPTS.has(name)) return setFastOpenOption(name, fd.fastOpen, a[3], a[4] ? this.value(a[4], line) : 0, (e) => this.value(e, line), fd.tcp.s === 'listening' ? fd.tcp.server : undefined, fd.tcp.s === 'fresh' || fd.tcp.s === 'listening', this.tcpApi.config.fastOpen);
    switch (name) {
      case 'SO_REUSEADDR':
        fd.reuseAddr = this.optValue(a[3], line) !== 0;
        return ok();
      case 'SO_DEBUG':
      case 'SO_BROADCAST':
        return ok();
      case 'SO_RCVBUF':
      case 'SO_SNDBUF': {
        const v = this.optValue(a[3], line);
        if (name === 'SO_SNDBUF' && sock) {
          // On a connection: the buffer's size from now on (Linux: the value doubled, half of it for payload).
          fd.opts.sndbuf = Math.max(2048, v);
          sock.setSendBufferSize(fd.opts.sndbuf);
          return ok();
        }
        if (fd.tcp.s !== 'fresh' && fd.kind === 'tcp') throw new Unsupported(`${name} after listen()/connect()`, line);
        if (fd.kind === 'udp') {
          if (name === 'SO_RCVBUF') fd.udp!.setRecvBufferSize(v * 2);
          return ok();
        }
        // Linux doubles the value and keeps about half of the doubled buffer for bookkeeping, so the
        // window a script sees is about the value it set: the stack's buffer (its window cap) gets the
        // value itself; getsockopt reports the doubled value, as Linux does.
        if (name === 'SO_RCVBUF') fd.opts.rcvbuf = Math.max(2048, v);
        else fd.opts.sndbuf = Math.max(2048, v);
        return ok();
      }
      case 'SO_LINGER': {
        const st = a[3];
        let onoff = 0;
        let linger = 0;
        if (st?.t === 'struct') {
          for (const f of st.fields) {
            if (f.name === 'onoff' || f.name === 'l_onoff') onoff = this.value(f.value, line);
            if (f.name === 'linger' || f.name === 'l_linger') linger = this.value(f.value, line);
          }
        }
        if (onoff && linger !== 0) throw new Unsupported('SO_LINGER with a non-zero timeout', line);
        fd.opts.lingerZero = onoff !== 0;
        return ok();
      }
      case 'SO_KEEPALIVE': {
        fd.opts.keepalive = this.optValue(a[3], line) !== 0;
        if (sock) sock.setKeepAlive(fd.opts.keepalive, fd.opts.keepIdle ?? 0);
        return ok();
      }
      case 'TCP_KEEPIDLE': {
        fd.opts.keepIdle = this.optValue(a[3], line) * 1000;
        if (sock && fd.opts.keepalive) sock.setKeepAlive(true, fd.opts.keepIdle);
        return ok();
      }
      case 'TCP_KEEPINTVL':
      case 'TCP_KEEPCNT':
        throw new Unsupported(`${name} (the socket API has no per-socket ${name === 'TCP_KEEPINTVL' ? 'interval' : 'probe count'}; use --keepalive_intvl_ms / --keepalive_probes)`, line);
      case 'SO_MAX_PACING_RATE': {
        // Linux sk_setsockopt: any socket takes it; TCP paces by it (src/tcp/pacing.ts), UDP without fq ignores it.
        const v = this.optValue(a[3], line);
        if (fd.kind === 'udp') return ok();
        if (!sock) throw new Unsupported('SO_MAX_PACING_RATE before the connection exists', line);
        sock.setMaxPacingRate(v);
        return ok();
      }
      case 'TCP_SYNCNT': {
        // Linux: 1..MAX_TCP_SYNCNT (127). Per socket in Linux; here the stack-wide tcp_syn_retries, set at once
        // (connections read it when their SYN times out), as TCP_MAXSEG sets the stack-wide clamp.
        const v = this.optValue(a[3], line);
        if (v < 1 || v > 127) return err('EINVAL');
        this.tcpApi.config.synRetries = v;
        return ok();
      }
      case 'TCP_NODELAY': {
        fd.opts.nodelay = this.optValue(a[3], line) !== 0;
        if (sock) sock.setNoDelay(fd.opts.nodelay);
        return ok();
      }
      case 'TCP_MAXSEG': {
        // Linux: 0 clears it, else 88 (TCP_MIN_MSS) .. 32767 (MAX_TCP_WINDOW); it caps the MSS announced and used.
        const v = this.optValue(a[3], line);
        if (v !== 0 && (v < 88 || v > 32767)) return err('EINVAL');
        if (fd.kind !== 'tcp') return err('EOPNOTSUPP');
        if (fd.tcp.s === 'listening') {
          // On a listener it is for the connections still to come (TcpServer.setMaxSegment).
          fd.tcp.server.setMaxSegment(v);
          fd.opts.maxseg = v;
          return ok();
        }
        if (fd.tcp.s !== 'fresh') throw new Unsupported('setsockopt TCP_MAXSEG after connect()', line);
        fd.opts.maxseg = v;
        return ok();
      }
      default:
        if (SEND_OPTS.has(name)) return setSendOpt(name, this.optValue(a[3], line), fd.opts, fd.kind, sock);
        throw new Unsupported(`setsockopt ${name}`, line);
    }
  }

  /**
   * ioctl SIOCINQ (FIONREAD): bytes ready to read; SIOCOUTQ (TIOCOUTQ): bytes sent but not
   * acknowledged plus bytes not sent. A listening socket answers EINVAL, as in Linux.
   */
  private ioctl(a: Expr[], line: number): CallOutcome {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    const req = identOf(a[1])!;
    const inq = req === 'SIOCINQ' || req === 'FIONREAD';
    if (fd.kind === 'udp') {
      if (!inq) return ok(0, { optval: 0 });
      return ok(0, { optval: fd.udpRx[0] ?? 0 });
    }
    if (fd.tcp.s === 'listening') return err('EINVAL');
    if (fd.tcp.s !== 'conn') return ok(0, { optval: 0 });
    const s = fd.tcp.sock;
    // Bytes still in the connection's receive buffer plus those already handed to the stream.
    if (inq) return ok(0, { optval: fd.readShut ? 0 : (s.tcpInfo()?.recvQ ?? 0) + s.readableLength });
    return ok(0, { optval: (s.tcpInfo()?.sendQ ?? 0) + s.writableLength });
  }

  private getsockopt(a: Expr[], line: number): CallOutcome {
    const fd = this.fd(a, line);
    if (!fd) return err('EBADF');
    const name = identOf(a[2])!;
    const sock = fd.tcp.s === 'conn' ? fd.tcp.sock : undefined;
    if (name === 'TCP_INFO') return this.getTcpInfo(fd, a, line);
    if (EXTRA_SOCKOPTS.has(name)) return getExtraSockopt(this.sockoptTarget(fd), name);
    switch (name) {
      case 'SO_ERROR': {
        let e = fd.pendingErrno;
        fd.pendingErrno = 0;
        if (!e && sock) e = sock.getError();
        return ok(0, { optval: Math.abs(e) });
      }
      case 'SO_TYPE':
        return ok(0, { optval: fd.kind === 'udp' ? 2 : 1 });
      case 'TCP_NODELAY':
        return ok(0, { optval: fd.opts.nodelay ? 1 : 0 });
      case 'SO_MAX_PACING_RATE':
        return ok(0, { optval: sock?.maxPacingRate ?? 0xffffffff });
      case 'SO_KEEPALIVE':
        return ok(0, { optval: fd.opts.keepalive ? 1 : 0 });
      case 'TCP_MAXSEG': {
        const info = sock?.tcpInfo();
        // Before a connection Linux reports the value set, or TCP_MSS_DEFAULT (536).
        if (!info) return ok(0, { optval: fd.opts.maxseg || 536 });
        return ok(0, { optval: info.mss });
      }
      case 'SO_RCVBUF':
      case 'SO_SNDBUF': {
        const v = name === 'SO_RCVBUF' ? fd.opts.rcvbuf : fd.opts.sndbuf;
        if (v !== undefined) return ok(0, { optval: v * 2 });
        return ok(0, { optval: this.tcpApi.config[name === 'SO_RCVBUF' ? 'rmem' : 'wmem'] });
      }
      default:
        if (SEND_OPTS.has(name)) return getSendOpt(name, fd.opts, fd.kind, sock);
        throw new Unsupported(`getsockopt ${name}`, line);
    }
  }

  /** getsockopt TCP_INFO: the struct written is compared field by field with TcpSocket.getInfo() (sockopts.ts). */
  private getTcpInfo(fd: Fd, a: Expr[], line: number): CallOutcome {
    if (fd.kind !== 'tcp') return err('ENOPROTOOPT');
    const info = fd.tcp.s === 'conn' ? fd.tcp.sock.getInfo() : null;
    if (info === null) throw new Unsupported('TCP_INFO of a socket without a connection', line);
    const diff = checkTcpInfo(info, a[3], (e) => this.value(e, line), line);
    if (diff !== undefined) this.run.fail('syscall', diff, line);
    return ok();
  }

  private sockoptTarget(fd: Fd): SockoptTarget {
    return { kind: fd.kind, sock: fd.tcp.s === 'conn' ? fd.tcp.sock : undefined, server: fd.tcp.s === 'listening' ? fd.tcp.server : undefined, opts: fd.opts };
  }

  /** recvmsg(2): reads as recv(2) does; TCP_CM_INQ from TcpSocket.inq() when TCP_INQ is on. */
  private readonly recvmsgHost = {
    read: (fdE: Expr, len: number, flags: number, line: number) => this.read([fdE, { t: 'ellipsis' }, { t: 'num', v: len }], line, flags),
    inqHint: (fdE: Expr, line: number): number | undefined => {
      const fd = this.fds.get(this.value(fdE, line));
      if (!fd || !fd.opts.inq || fd.tcp.s !== 'conn') return undefined;
      return fd.readShut ? 0 : fd.tcp.sock.inq();
    },
    value: (e: Expr, line: number) => this.value(e, line),
  };

  /** The fd table as epoll sees it: open fds, their poll(2) readiness, their sockets' wakeups. */
  private readonly pollable: PollableFds = {
    has: (n) => this.fds.has(n),
    pollEvents: (n, events) => this.revents(this.fds.get(n), events),
    watch: (n, wake) => this.watchWakeups(n, wake),
  };

  /** Wakeups of the fd's socket: TcpSocket 'wakeup', a listener's 'acceptable', a UDP datagram. */
  private watchWakeups(n: number, wake: (key: WakeKey) => void): () => void {
    const fd = this.fds.get(n);
    if (!fd) return () => {};
    if (fd.udp) {
      const u = fd.udp;
      const onMsg = (): void => wake(WAKE_READABLE);
      u.on('message', onMsg);
      return () => u.removeListener('message', onMsg);
    }
    const st = fd.tcp;
    if (st.s === 'listening') {
      const onAcc = (): void => wake(WAKE_READABLE);
      st.server.on('acceptable', onAcc);
      return () => st.server.removeListener('acceptable', onAcc);
    }
    if (st.s === 'conn') {
      const onWake = (kind: 'readable' | 'writable' | 'state'): void => wake(kind === 'readable' ? WAKE_READABLE : kind === 'writable' ? WAKE_WRITABLE : WAKE_STATE);
      st.sock.on('wakeup', onWake);
      return () => st.sock.removeListener('wakeup', onWake);
    }
    return () => {};
  }

  private revents(fd: Fd | undefined, events: number): number {
    if (!fd) return SYMBOLS['POLLNVAL']!;
    let r = 0;
    const IN = SYMBOLS['POLLIN']!;
    const OUT = SYMBOLS['POLLOUT']!;
    const ERR = SYMBOLS['POLLERR']!;
    const HUP = SYMBOLS['POLLHUP']!;
    const RDHUP = SYMBOLS['POLLRDHUP']!;
    if (fd.kind === 'udp') {
      if (fd.udpRx.length > 0) r |= IN;
      r |= OUT;
      if (fd.pendingErrno) r |= ERR;
      return r & (events | ERR | HUP);
    }
    const st = fd.tcp;
    if (st.s === 'listening') return st.server.acceptQueueLength > 0 ? r | (IN & events) : r;
    if (st.s !== 'conn') return r;
    const s = st.sock;
    // The peer's FIN may not have reached the stream yet (nobody read): ask the connection too.
    const c = s.connection;
    const peerFin = fd.eof || s.readableEnded || (c !== null && c.finReceived);
    if (s.readableLength > 0 || (c !== null && c.readable > 0) || peerFin) r |= IN;
    if (peerFin) r |= RDHUP;
    if (!s.connecting && !s.destroyed && !fd.writeShut && s.writableLength === 0 && s.notSentBelowLowat) r |= OUT;
    // POLLERR while sk_err is set: SO_ERROR, read() or write() reporting the error clears it.
    if (fd.pendingErrno) r |= ERR;
    // Linux tcp_poll after tcp_done (sk_shutdown = SHUTDOWN_MASK): HUP, IN and RDHUP for RCV_SHUTDOWN, OUT for SEND_SHUTDOWN.
    if (s.destroyed && (fd.eof || fd.deadErrno)) r |= HUP | IN | OUT | RDHUP;
    if (peerFin && fd.writeShut) r |= HUP;
    return r & (events | ERR | HUP);
  }

  private poll(a: Expr[], line: number, _blockingLine: boolean): CallOutcome | Blocked {
    const list = a[0];
    if (list?.t !== 'list') throw new ScriptFailure('poll() needs a list of {fd=..., events=...}', line);
    const entries = list.items.map((item) => {
      if (item.t !== 'struct') throw new ScriptFailure('poll() entries are {fd=N, events=...}', line);
      const get = (n: string): Expr | undefined => item.fields.find((f) => f.name === n)?.value;
      const fdE = get('fd');
      const evE = get('events');
      return { fd: fdE ? this.value(fdE, line) : -1, events: evE ? this.value(evE, line) : 0 };
    });
    const timeout = a[2] ? this.value(a[2], line) : 0;
    const startMs = this.run.clock.now();
    const attempt = async (): Promise<CallOutcome | Blocked> => {
      await this.run.settle();
      const revents = entries.map((e) => this.revents(this.fds.get(e.fd), e.events));
      const n = revents.filter((r) => r !== 0).length;
      if (n > 0 || timeout === 0 || (timeout > 0 && this.run.clock.now() >= startMs + timeout)) return ok(n, { revents });
      const b: Blocked = { blocked: true, retry: attempt };
      if (timeout > 0) b.wakeAt = startMs + timeout;
      return b;
    };
    const revents = entries.map((e) => this.revents(this.fds.get(e.fd), e.events));
    const n = revents.filter((r) => r !== 0).length;
    if (n > 0 || timeout === 0) return ok(n, { revents });
    const b: Blocked = { blocked: true, retry: attempt };
    if (timeout > 0) b.wakeAt = startMs + timeout;
    return b;
  }
}

function flagNames(e: Expr | undefined): string[] {
  if (!e) return [];
  if (e.t === 'ident') return [e.name];
  if (e.t === 'or') return e.items.flatMap(flagNames);
  return [];
}

export function pollNames(v: number): string {
  if (v === 0) return '0';
  const names: string[] = [];
  for (const n of ['POLLIN', 'POLLPRI', 'POLLOUT', 'POLLERR', 'POLLHUP', 'POLLNVAL', 'POLLRDHUP']) {
    const b = SYMBOLS[n]!;
    if (v & b) {
      names.push(n);
      v &= ~b;
    }
  }
  if (v) names.push(`0x${v.toString(16)}`);
  return names.join('|');
}

export function describeExpr(e: Expr): string {
  switch (e.t) {
    case 'num':
      return String(e.v);
    case 'ident':
      return e.name;
    case 'ellipsis':
      return '...';
    case 'str':
      return `"${e.v}"`;
    case 'list':
      return `[${e.items.map(describeExpr).join(', ')}]`;
    case 'struct':
      return `{${e.fields.map((f) => (f.name ? `${f.name}=${describeExpr(f.value)}` : describeExpr(f.value))).join(', ')}}`;
    case 'or':
      return e.items.map(describeExpr).join('|');
    case 'call':
      return `${e.name}(${e.args.map(describeExpr).join(', ')})`;
  }
}
