/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766) beside the UDP responder, on the
 * same port: each message carries a two-byte length prefix; a client may
 * send several queries without waiting (pipelining), and they are answered
 * in order, each as soon as it is whole; a connection idle for
 * `idleTimeoutMs` is closed by us (RFC 7766 §6.2.3), as is one that sends
 * something that is not a query.
 *
 * The answers come from the same `DnsResponder` as over UDP.
 */
import { parseIpv6, type Ipv6Words } from '../wire/ipv6.js';
import type { Stack } from '../stack.js';
import type { TcpSocket } from '../tcp/socket.js';
import { isFormatError, type DnsResponder } from './dns.js';

/** How long a connection may stay without a query before we close it (RFC 7766 §6.2.3 leaves it to us; seconds are usual). */
export const DNS_TCP_IDLE_MS = 10_000;

/**
 * Splits a byte stream into length-prefixed DNS messages. `push` takes the
 * next bytes and returns the messages they complete (in order).
 */
export class LengthPrefixedReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Buffer[] = [];
    let o = 0;
    while (this.pending.length - o >= 2) {
      const n = this.pending.readUInt16BE(o);
      if (this.pending.length - o - 2 < n) break;
      out.push(this.pending.subarray(o + 2, o + 2 + n));
      o += 2 + n;
    }
    this.pending = this.pending.subarray(o);
    return out;
  }

  /** Bytes of an incomplete message waiting for the rest. */
  get buffered(): number {
    return this.pending.length;
  }
}

/** The message with its two-byte length prefix. */
export function withLengthPrefix(message: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(2 + message.length);
  b.writeUInt16BE(message.length, 0);
  b.set(message, 2);
  return b;
}

/** The querier of a connection: an IPv4 address (an IPv4-mapped one too, as a `::` listener shows it), or an IPv6 one. */
function querierOf(s: string | undefined): { v4: number; v6: Ipv6Words | null } {
  const text = s ?? '0.0.0.0';
  const v4 = text.startsWith('::ffff:') && text.includes('.') ? text.slice(7) : text;
  if (!v4.includes(':')) {
    const p = v4.split('.');
    return { v4: ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0, v6: null };
  }
  const w = parseIpv6(v4);
  return { v4: 0, v6: w instanceof Error ? null : w };
}

/** Serves `responder` over TCP on `port`; returns a function that stops listening. */
export function startDnsOverTcp(stack: Stack, responder: DnsResponder, port: number, idleTimeoutMs = DNS_TCP_IDLE_MS): () => void {
  const server = stack.tcp.createServer((s: TcpSocket) => {
    const querier = querierOf(s.remoteAddress);
    const reader = new LengthPrefixedReader();
    s.setTimeout(idleTimeoutMs, () => s.end());
    s.on('error', (err: Error) => stack.logger.debug({ service: 'dns-tcp', err: err.message }, 'connection error'));
    s.on('data', (chunk: Buffer) => {
      for (const q of reader.push(chunk)) {
        const r = responder.respond(q, querier.v4, querier.v6);
        if (typeof r === 'string') {
          // Not a query we can answer: count it and close, as the RFC lets a server do with a misbehaving client.
          stack.stats.drop(r);
          s.end();
          return;
        }
        if (isFormatError(r)) stack.stats.drop('dns.formerr');
        s.write(withLengthPrefix(r));
      }
    });
  });
  server.on('error', (err: Error) => stack.logger.warn({ service: 'dns-tcp', err: err.message }, 'listen failed'));
  server.listen({ port });
  return () => {
    server.close();
  };
}
