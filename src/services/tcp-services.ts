/**
 * TCP small services: echo (RFC 862, port 7), discard (RFC 863, port 9) and
 * chargen (RFC 864, port 19: an endless stream of the rotating 72-character
 * line pattern, written as fast as the peer takes it — backpressure through
 * write()/'drain' — until the peer goes away).
 */
import type { Stack } from '../stack.js';
import { registerAlias, registerService } from '../services.js';
import type { TcpSocket } from '../tcp/socket.js';

function serve(stack: Stack, port: number, name: string, onSocket: (s: TcpSocket) => void): () => void {
  const server = stack.tcp.createServer((s) => {
    s.on('error', (err: Error) => stack.logger.debug({ service: name, err: err.message }, 'connection error'));
    onSocket(s);
  });
  server.on('error', (err: Error) => stack.logger.warn({ service: name, err: err.message }, 'listen failed'));
  server.listen({ port });
  return () => {
    server.close();
  };
}

export function startTcpEcho(stack: Stack, port = 7): () => void {
  return serve(stack, port, 'echo-tcp', (s) => {
    s.pipe(s);
  });
}

export function startTcpDiscard(stack: Stack, port = 9): () => void {
  return serve(stack, port, 'discard-tcp', (s) => {
    // Dropped inside the connection, never copied into Buffers (recv with MSG_TRUNC); flowing, so 'end' comes.
    s.discard().resume();
    s.on('close', () => stack.logger.debug({ service: 'discard-tcp', total: s.bytesRead }, 'connection closed'));
  });
}

/** RFC 864's pattern: line i is 72 printable characters starting at character i mod 95, then CR LF; it repeats every 95 lines. */
export function chargenPattern(lines = 95): Buffer {
  const b = Buffer.allocUnsafe(lines * 74);
  let p = 0;
  for (let i = 0; i < lines; i++) {
    for (let k = 0; k < 72; k++) b[p++] = 32 + ((i + k) % 95);
    b[p++] = 13;
    b[p++] = 10;
  }
  return b;
}

export function startTcpChargen(stack: Stack, port = 19): () => void {
  // Ten periods of the pattern: a seamless 70,300-byte block written again and again.
  const block = chargenPattern(950);
  return serve(stack, port, 'chargen', (s) => {
    let stopped = false;
    const stop = () => {
      stopped = true;
    };
    s.on('end', stop);
    s.on('close', stop);
    s.on('error', stop);
    s.resume(); // whatever the peer sends is ignored
    const pump = () => {
      while (!stopped && s.writable) {
        if (!s.write(block)) return; // 'drain' resumes
      }
    };
    s.on('drain', pump);
    pump();
  });
}

registerService({ name: 'echo-tcp', description: 'TCP echo on port 7 (RFC 862)', start: (stack) => startTcpEcho(stack) });
registerService({ name: 'discard-tcp', description: 'TCP discard on port 9 (RFC 863)', start: (stack) => startTcpDiscard(stack) });
registerService({ name: 'chargen', description: 'TCP character generator on port 19 (RFC 864): a source as fast as the peer reads', start: (stack) => startTcpChargen(stack) });
registerAlias('echo', 'echo-tcp');
registerAlias('discard', 'discard-tcp');
