/**
 * HTTP/2 with prior knowledge on the HTTP port (RFC 9113 §3.3, "h2c"): a client that knows the server speaks
 * HTTP/2 opens with the connection preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, which no HTTP/1.1 request can
 * begin with. Each new connection is read until its first bytes either match the preface (node:http2 serves
 * it) or stop matching (node:http serves it, bytes put back first). We parse nothing else: node's engines do.
 */
import http2 from 'node:http2';
import type { RequestListener } from 'node:http';
import type { TcpSocket } from '../tcp/socket.js';
import type { HttpLimits } from './limits.js';
import { countedHttp2Handler, type HttpServerCounting } from './http2-handler.js';

/** RFC 9113 §3.4: the client connection preface. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Whether `head` can still be the start of the preface, and whether it already holds all of it. */
export function matchPreface(head: Buffer): 'h2' | 'http1' | 'more' {
  const n = Math.min(head.length, H2_PREFACE.length);
  if (!head.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return 'http1';
  return head.length >= H2_PREFACE.length ? 'h2' : 'more';
}

/** The HTTP/1 server the other connections go to: it serves a socket emitted as 'connection'. */
interface ConnectionSink {
  emit(event: 'connection', socket: TcpSocket): boolean;
}

export class PriorKnowledgeH2 {
  private readonly h2: http2.Http2Server;

  constructor(
    private readonly http1: ConnectionSink & HttpServerCounting,
    handler: RequestListener,
    private readonly limits: HttpLimits,
  ) {
    this.h2 = http2.createServer({ maxHeaderListPairs: limits.maxHeadersCount, maxSendHeaderBlockLength: limits.maxHeaderSize }, countedHttp2Handler(http1, handler));
    // A session's socket errors end the session; nothing to throw.
    this.h2.on('sessionError', () => undefined);
  }

  /** Reads the first bytes of `s` and hands it to node:http2 or node:http. A client silent for headersTimeout is closed. */
  dispatch(s: TcpSocket): void {
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => s.destroy(), this.limits.headersTimeout);
    const done = (to: 'h2' | 'http1'): void => {
      clearTimeout(timer);
      s.off('readable', onReadable);
      s.off('end', onEnd);
      if (head.length > 0) s.unshift(head);
      if (to === 'h2') this.h2.emit('connection', s);
      else this.http1.emit('connection', s);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = s.read() as Buffer | null) !== null) {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        const m = matchPreface(head);
        if (m !== 'more') {
          done(m);
          return;
        }
      }
    };
    // A client that closes before saying enough (a FIN with no request, or part of a preface): we close too,
    // as node:http does with a client that ends without a request.
    const onEnd = (): void => {
      clearTimeout(timer);
      s.off('readable', onReadable);
      s.end();
    };
    s.on('readable', onReadable);
    s.once('end', onEnd);
    s.once('close', () => clearTimeout(timer));
  }

  close(): void {
    this.h2.close();
  }
}
