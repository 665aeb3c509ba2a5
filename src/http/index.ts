/** The bundled HTTP server: node:http on tunstack sockets, limits, built-in routes, WebSocket echo. */
export { createHttpServer, settleAsync, StackHttpServer, type HttpServerOptions, type HttpCounters } from './server.js';
export { defaultHttpLimits, resolveHttpLimits, parseHttpLimitSpec, type HttpLimits } from './limits.js';
export { builtinRoutes, streamBytes, parseBytesCount, BYTES_PATTERN, MAX_BYTES_N, type RouteOptions } from './routes.js';
export { readBody, guardBody, declaredLength } from './body.js';
export { createStaticHandler, contentTypeFor, parseRange, safeSegments } from './static.js';
export { attachWebSocketEcho, type WsEchoOptions } from './ws.js';
export { startBundledHttp, type BundledHttpOptions } from './bundled.js';
