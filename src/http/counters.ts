/**
 * What the built-in routes and body guards see of the server that runs them — node:http's (StackHttpServer)
 * or node:tls + node:http2's (StackHttpsServer): its counters, its limits, its open connections.
 */
import type { HttpLimits } from './limits.js';

/** Counters of one HTTP server, shown by `/_stack/stats` beside the stack's. */
export interface HttpCounters {
  ConnectionsAccepted: number;
  /** Times a connection had to wait in the accept queue because the cap was reached. */
  ConnectionsDeferred: number;
  Requests: number;
  Responses1xx: number;
  Responses2xx: number;
  Responses3xx: number;
  Responses4xx: number;
  Responses5xx: number;
  /** Requests answered 413 by our handlers (body over maxBodyBytes). */
  BodyTooLarge: number;
  /** Connections closed by node:http for a parse error or a timeout, by code (HPE_*, ERR_HTTP_REQUEST_TIMEOUT). */
  ClientErrors: Record<string, number>;
  /** Other socket errors (ECONNRESET, EPIPE, ...), by code. */
  SocketErrors: Record<string, number>;
  /** Keep-alive or idle connections closed by the socket timeout. */
  IdleTimeouts: number;
  Upgrades: number;
}

export function newCounters(): HttpCounters {
  return {
    ConnectionsAccepted: 0,
    ConnectionsDeferred: 0,
    Requests: 0,
    Responses1xx: 0,
    Responses2xx: 0,
    Responses3xx: 0,
    Responses4xx: 0,
    Responses5xx: 0,
    BodyTooLarge: 0,
    ClientErrors: Object.create(null) as Record<string, number>,
    SocketErrors: Object.create(null) as Record<string, number>,
    IdleTimeouts: 0,
    Upgrades: 0,
  };
}

/** Counts one finished response by its status class. */
export function countStatus(c: HttpCounters, status: number): void {
  if (status < 200) c.Responses1xx++;
  else if (status < 300) c.Responses2xx++;
  else if (status < 400) c.Responses3xx++;
  else if (status < 500) c.Responses4xx++;
  else c.Responses5xx++;
}

export interface HttpServerView {
  readonly counters: HttpCounters;
  readonly limits: HttpLimits;
  /** Connections being served now. */
  readonly activeConnections: number;
  /** Counts a finished response by its status class. */
  countResponse(status: number): void;
}
