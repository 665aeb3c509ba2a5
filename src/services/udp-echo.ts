/**
 * UDP echo (RFC 862, port 7) and discard (RFC 863, port 9), over IPv4 and IPv6. The echo never
 * answers datagrams from the well-known small-service ports (echo, discard,
 * daytime, chargen, time, and port 0), so two echo services cannot be made
 * to ping-pong forever and a spoofed source cannot turn it into a reflector
 * loop.
 */
import type { Stack } from '../stack.js';
import type { UdpSocket } from '../udp/socket.js';
import { registerService, registerAlias } from '../services.js';

const LOOP_PORTS = new Set([0, 7, 9, 13, 19, 37]);

export function startUdpEcho(stack: Stack, port = 7): () => void {
  const stops = [echoOn(stack, stack.udp.createSocket(), port), echoOn(stack, stack.udp6.createSocket(), port)];
  return () => {
    for (const stop of stops) stop();
  };
}

/** The echo on one socket (udp4 or udp6). */
function echoOn<A>(stack: Stack, sock: UdpSocket<A>, port: number): () => void {
  sock.on('message', (msg, rinfo) => {
    if (LOOP_PORTS.has(rinfo.port)) {
      stack.stats.drop('udp-echo.loop-port');
      return;
    }
    sock.send(msg, rinfo.port, rinfo.address, (err: Error | null) => {
      if (err) stack.logger.debug({ err: err.message }, 'udp echo: send failed');
    });
  });
  sock.on('error', (err) => stack.logger.warn({ err: err.message }, 'udp echo'));
  sock.bind(port);
  return () => {
    if (!sock.isClosed) sock.close();
  };
}

export function startUdpDiscard(stack: Stack, port = 9): () => void {
  const stops = [discardOn(stack, stack.udp.createSocket(), port), discardOn(stack, stack.udp6.createSocket(), port)];
  return () => {
    for (const stop of stops) stop();
  };
}

function discardOn<A>(stack: Stack, sock: UdpSocket<A>, port: number): () => void {
  sock.on('message', () => {});
  sock.on('error', (err) => stack.logger.warn({ err: err.message }, 'udp discard'));
  sock.bind(port);
  return () => {
    if (!sock.isClosed) sock.close();
  };
}

registerService({ name: 'echo-udp', description: 'UDP echo on port 7 (RFC 862)', start: (stack) => startUdpEcho(stack) });
registerService({ name: 'discard-udp', description: 'UDP discard on port 9 (RFC 863)', start: (stack) => startUdpDiscard(stack) });
registerAlias('echo', 'echo-udp');
registerAlias('discard', 'discard-udp');
