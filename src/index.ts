/**
 * tunstack as a library (`import { Stack, TunLink } from 'tunstack'`): a stack on a TUN device or on an
 * in-process memory link, its TCP and UDP sockets and servers, Node's HTTP and HTTPS/HTTP/2 servers mounted on
 * them, the clocks, and the configuration types. docs/architecture.md shows the layers; docs/library-example.ts
 * is a short program that uses this entry point (test/unit/library-example.test.ts runs it).
 */

// The stack and its options.
export { Stack, type StackOptions, type InterfaceOptions } from './stack.js';
export type { Stats } from './stats.js';
export type { NetInterface } from './ip/interface.js';
export type { IcmpOptions } from './ip/icmp.js';
export type { ReassemblyOptions } from './ip/reassembler.js';

// Time: the real clock for running, a virtual clock (with its own timer queue) for tests and simulations.
export { RealClock, VirtualClock, TimerQueue, type Clock } from './clock.js';

// Links: a TUN device (the native shim), an in-process pair, an impairment stage, a pcap tap.
export type { Link, LinkReceiver, LinkOffloads } from './link/link.js';
export { TunLink, type TunOptions } from './link/tun.js';
export { MemoryLink, type MemoryLinkOptions } from './link/memory.js';
export { ImpairedLink } from './link/impair.js';
export { parseImpairSpec, formatImpairSpec } from './link/impair-spec.js';
export { PcapTap } from './link/pcap-tap.js';

// TCP: `stack.tcp.createServer()`, `stack.tcp.connect()`; sockets shaped like net.Socket, servers like net.Server.
export type { TcpLayer } from './tcp/layer.js';
export type { TcpSocketRow } from './tcp/socket-table.js';
export { TcpSocket, type ConnectOptions } from './tcp/socket.js';
export { TcpServer, type ServerOptions, type ListenOptions } from './tcp/server.js';
export { TcpError, type TcpErrorCode } from './tcp/errors.js';
export { defaultTcpConfig, type TcpConfig, type CongestionControlName } from './tcp/config.js';
export type { TcpInfo } from './tcp/state.js';

// UDP: `stack.udp.createSocket()`, shaped like dgram.
export { UdpSocket, type UdpSocketOptions, type RemoteInfo, type BindOptions } from './udp/socket.js';
export type { UdpOptions } from './udp/layer.js';

// HTTP: Node's own http.Server on tunstack sockets, with limits and the built-in routes.
export { createHttpServer, StackHttpServer, type HttpServerOptions } from './http/server.js';
export { defaultHttpLimits, type HttpLimits } from './http/limits.js';
// HTTPS and HTTP/2 (node:tls and node:http2 on tunstack sockets), with a certificate from files or self-signed.
export { StackHttpsServer, type HttpsServerOptions } from './http/https.js';
export { loadTlsIdentity, selfSignedIdentity, type TlsIdentity } from './http/tls-identity.js';
