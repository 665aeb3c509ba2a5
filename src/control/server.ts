/**
 * The control channel server: a Unix stream socket (mode 0600, so only the
 * user running the stack — root — can use it) speaking JSON lines (see
 * protocol.ts).
 *
 * Claiming the path handles the two ways it can already exist: a stale
 * socket from an instance that crashed (connecting is refused: the file is
 * removed and re-created, with a warning) and a live instance (it answers:
 * we refuse to start, naming its pid, rather than steal its socket).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { MAX_LINE, parseRequest, type ConnectRequest, type ControlRequest, type ControlResponse } from './protocol.js';

export type ControlHandler = (req: ControlRequest) => ControlResponse | Promise<ControlResponse>;

/** A streaming answer (the `subscribe` request): lines after the response, until either side ends it. */
export interface ControlStream {
  /** Writes one JSON line; false when the socket is full (wait for onDrain). */
  write(obj: unknown): boolean;
  end(): void;
  onDrain(cb: () => void): void;
  onClose(cb: () => void): void;
}
export type ControlStreamHandler = (req: Extract<ControlRequest, { cmd: 'subscribe' }>, stream: ControlStream) => ControlResponse;

/** A connection handed over (the `connect` request): the handler answers on `socket` and then owns it. */
export interface ControlPipe {
  socket: Socket;
  /** Bytes the client sent after the request line, before the answer (the connection's first bytes). */
  early: Buffer;
}
export type ControlPipeHandler = (req: ConnectRequest, pipe: ControlPipe) => void;

/** Another live instance owns the control socket. */
export class InstanceRunningError extends Error {
  readonly code = 'EINSTANCE';
  constructor(
    message: string,
    readonly pid: number | null,
  ) {
    super(message);
    this.name = 'InstanceRunningError';
  }
}

const MAX_CONNECTIONS = 32;
const PROBE_TIMEOUT_MS = 1000;

type Probe = { state: 'none' } | { state: 'stale' } | { state: 'live'; info: Record<string, unknown> | null };

/** Connects to an existing socket path to tell a live instance from a stale file. */
export function probeSocket(path: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Probe> {
  return new Promise((resolve) => {
    const sock = createConnection(path);
    let buf = '';
    let connected = false;
    const done = (p: Probe): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(p);
    };
    const timer = setTimeout(() => done(connected ? { state: 'live', info: null } : { state: 'stale' }), timeoutMs);
    sock.once('connect', () => {
      connected = true;
      sock.write('{"cmd":"info"}\n');
    });
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        done({ state: 'live', info: JSON.parse(buf.slice(0, nl)) as Record<string, unknown> });
      } catch {
        done({ state: 'live', info: null });
      }
    });
    sock.once('error', (e: NodeJS.ErrnoException) => {
      if (connected) return done({ state: 'live', info: null });
      done(e.code === 'ENOENT' ? { state: 'none' } : { state: 'stale' });
    });
    sock.once('close', () => {
      if (connected) done({ state: 'live', info: null });
    });
  });
}

export class ControlServer {
  private handler: ControlHandler = () => ({ ok: false, error: 'the stack is still starting' });
  private streamHandler: ControlStreamHandler | null = null;
  private pipeHandler: ControlPipeHandler | null = null;
  private readonly conns = new Set<Socket>();
  private closed = false;
  private ino: number | null = null;

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly logger: Logger,
  ) {}

  /**
   * Takes the control socket path: removes a stale socket, refuses when a live
   * instance answers on it, listens. Requests get "still starting" until
   * `setHandler`.
   */
  static async claim(path: string, logger: Logger): Promise<ControlServer> {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new Error(`cannot create the control socket directory ${dirname(path)}: ${(e as Error).message} (use --control PATH or --control off)`);
    }
    let st;
    try {
      st = lstatSync(path);
    } catch {
      st = null;
    }
    if (st) {
      if (!st.isSocket()) throw new Error(`control socket path ${path} exists and is not a socket: remove it, or use --control PATH`);
      const p = await probeSocket(path);
      if (p.state === 'live') {
        const pid = typeof p.info?.['pid'] === 'number' ? (p.info['pid'] as number) : null;
        const tun = typeof p.info?.['tun'] === 'string' ? ` on TUN ${p.info['tun'] as string}` : '';
        throw new InstanceRunningError(
          `another tunstack instance${pid !== null ? ` (pid ${pid})` : ''} is already running${tun}: its control socket ${path} answers. ` +
            `Stop it first (kill ${pid ?? '<pid>'}), or start this one with another --tun / --name`,
          pid,
        );
      }
      if (p.state === 'stale') {
        unlinkSync(path);
        logger.warn({ control: path }, 'removed a stale control socket left by an instance that did not shut down cleanly');
      }
    }
    // Half-open: a `connect` pipe's client ends its side (stdin's EOF) and still reads the answer.
    const server = createServer({ allowHalfOpen: true });
    const cs = new ControlServer(path, server, logger);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE' ? new Error(`control socket ${path} was created by another process while we started`) : e),
      );
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    cs.ino = lstatSync(path).ino;
    server.on('connection', (s) => cs.accept(s));
    server.on('error', (e) => logger.error({ err: e }, 'control socket error'));
    return cs;
  }

  setHandler(h: ControlHandler): void {
    this.handler = h;
  }

  setStreamHandler(h: ControlStreamHandler): void {
    this.streamHandler = h;
  }

  setPipeHandler(h: ControlPipeHandler): void {
    this.pipeHandler = h;
  }

  private accept(sock: Socket): void {
    if (this.closed || this.conns.size >= MAX_CONNECTIONS) {
      sock.destroy();
      return;
    }
    this.conns.add(sock);
    // Bytes, not text: after a `connect` request the rest of the stream is the connection's, raw.
    let buf: Buffer = Buffer.alloc(0);
    let chain: Promise<void> = Promise.resolve();
    const streaming = { on: false };
    let piped = false;
    sock.on('data', (d: Buffer) => {
      // A connection that subscribed sends nothing more that we read; a handed-over one is read by its pipe.
      if (streaming.on) return;
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      let nl: number;
      while ((nl = buf.indexOf(0x0a)) >= 0) {
        const line = buf.subarray(0, nl).toString('utf8').trim();
        buf = buf.subarray(nl + 1);
        if (line.length > MAX_LINE) {
          chain = chain.then(() => this.tooLong(sock));
          return;
        }
        if (!line) continue;
        const req = parseRequest(line);
        if (!(req instanceof Error) && req.cmd === 'connect') {
          // The socket is the pipe's from here: stop reading lines, keep what came after this one.
          streaming.on = true;
          piped = true;
          sock.pause();
          const early = buf;
          buf = Buffer.alloc(0);
          chain = chain.then(() => this.handOver(sock, req, early));
          return;
        }
        chain = chain.then(() => (streaming.on ? undefined : this.answer(sock, line, streaming)));
      }
      if (buf.length > MAX_LINE) {
        chain = chain.then(() => this.tooLong(sock));
        buf = Buffer.alloc(0);
      }
    });
    // The client finished its requests (allowHalfOpen keeps our side open): finish ours once answered.
    sock.on('end', () => {
      if (!piped) void chain.then(() => sock.end());
    });
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.conns.delete(sock));
  }

  /** A `connect` request: the pipe handler answers and owns the socket; without one, an error line. */
  private handOver(sock: Socket, req: ConnectRequest, early: Buffer): void {
    this.logger.debug({ control: req.cmd, host: req.host, port: req.port }, 'control request');
    if (sock.destroyed) return;
    if (this.pipeHandler === null) {
      sock.end(`${JSON.stringify({ ok: false, error: 'this instance cannot open connections for the control socket' })}\n`);
      return;
    }
    this.pipeHandler(req, { socket: sock, early });
  }

  /** A line over MAX_LINE: answer once and close the connection. */
  private tooLong(sock: Socket): void {
    if (!sock.destroyed) sock.end(`${JSON.stringify({ ok: false, error: 'request line too long' })}\n`);
  }

  private async answer(sock: Socket, line: string, streaming: { on: boolean } = { on: false }): Promise<void> {
    const req = parseRequest(line);
    let res: ControlResponse;
    if (req instanceof Error) res = { ok: false, error: req.message };
    else if (req.cmd === 'subscribe') {
      if (this.streamHandler === null) res = { ok: false, error: 'this instance has no event feed' };
      else {
        const stream: ControlStream = {
          write: (obj) => !sock.destroyed && sock.write(`${JSON.stringify(obj)}\n`),
          end: () => sock.end(),
          onDrain: (cb) => sock.on('drain', cb),
          onClose: (cb) => sock.once('close', cb),
        };
        res = this.streamHandler(req, stream);
        if (res.ok) streaming.on = true;
      }
      this.logger.debug({ control: req.cmd, ok: res.ok }, 'control request');
    } else {
      try {
        res = await this.handler(req);
      } catch (e) {
        res = { ok: false, error: (e as Error).message };
      }
      this.logger.debug({ control: req.cmd, ok: res.ok }, 'control request');
    }
    if (!sock.destroyed) sock.write(`${JSON.stringify(res)}\n`);
  }

  /** Stops accepting, closes open connections, removes the socket file (if it is still ours). Idempotent. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    const p = new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      if (this.ino !== null && lstatSync(this.path).ino === this.ino) unlinkSync(this.path);
    } catch {
      /* already gone */
    }
    return p;
  }
}
