/**
 * `tunstack connect --name NAME HOST:PORT`: a TCP connection opened by a *running* instance (through its
 * control socket, src/control/connect-pipe.ts), used like `nc`: stdin goes to the connection, the
 * connection's bytes to stdout, nothing else on stdout (messages go to stderr).
 *
 * It ends like nc: stdin's EOF sends our FIN and we keep reading until the peer's FIN; when stdin is a
 * terminal, the peer's FIN ends it too. Exit status 0 once the connection is finished, 1 when it could
 * not be opened (the errno name: ECONNREFUSED, ETIMEDOUT, ...) or the instance does not answer.
 */
import { createConnection } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { controlCall } from './client.js';

export interface PipeStreams {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

export async function connectThroughInstance(
  path: string,
  target: { host: string; port: number; localPort?: number },
  io: PipeStreams = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  // First an `info` request: a missing or stale instance is the control client's one clear line (thrown).
  await controlCall(path, { cmd: 'info' });
  return await new Promise<number>((resolve) => {
    const sock = createConnection({ path, allowHalfOpen: true });
    let head: Buffer = Buffer.alloc(0);
    let answered = false;
    let code = 0;
    const finish = (c: number): void => {
      io.stdin.unpipe(sock);
      io.stdin.pause();
      resolve(c);
    };
    sock.once('connect', () => sock.write(`${JSON.stringify({ cmd: 'connect', host: target.host, port: target.port, ...(target.localPort !== undefined ? { localPort: target.localPort } : {}) })}\n`));
    const onHead = (d: Buffer): void => {
      head = head.length === 0 ? d : Buffer.concat([head, d]);
      const nl = head.indexOf(0x0a);
      if (nl < 0) return;
      sock.off('data', onHead);
      answered = true;
      let res: { ok?: boolean; error?: string; local?: string };
      try {
        res = JSON.parse(head.subarray(0, nl).toString('utf8')) as typeof res;
      } catch {
        res = { ok: false, error: 'the instance answered something that is not JSON' };
      }
      if (!res.ok) {
        io.stderr.write(`tunstack: ${res.error ?? 'connect failed'}\n`);
        code = 1;
        sock.destroy();
        return;
      }
      io.stderr.write(`tunstack: connected from ${res.local ?? '?'} to ${target.host}:${target.port} (through the running instance)\n`);
      const rest = head.subarray(nl + 1);
      if (rest.length > 0) io.stdout.write(rest);
      sock.pipe(io.stdout, { end: false });
      io.stdin.pipe(sock);
    };
    sock.on('data', onHead);
    // The peer's FIN: with a terminal on stdin nobody will type an EOF for us, so finish our side too (as nc).
    sock.on('end', () => {
      if (io.stdin.isTTY && !sock.writableEnded) sock.end();
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      io.stderr.write(`tunstack: the control connection failed: ${e.code ?? e.message}\n`);
      code = 1;
    });
    sock.on('close', () => {
      if (!answered && code === 0) {
        io.stderr.write('tunstack: the instance closed the control connection without an answer\n');
        code = 1;
      }
      finish(code);
    });
  });
}
