/**
 * The `https` service: the built-in routes over TLS 1.2/1.3 on TCP port 443 — HTTP/2 or HTTP/1.1 as ALPN
 * chooses — with the certificate and key of `--tls-cert`/`--tls-key`, or a self-signed certificate made at
 * start for the stack's addresses and DNS names (clients then need `curl -k`). The port and limits follow
 * `--https PORT` and `--http-limit`.
 */
import { registerService } from '../services.js';
import { startBundledHttps } from '../http/bundled.js';
import { DEFAULT_HTTPS_PORT, type StackHttpsServer } from '../http/https.js';
import { loadTlsIdentity, selfSignedIdentity, type TlsIdentity } from '../http/tls-identity.js';
import { DEFAULT_NAME } from './dns.js';
import { ipToString } from '../wire/bytes.js';

registerService({
  name: 'https',
  description: 'HTTPS on TCP port 443 (TLS 1.2/1.3; HTTP/2 and HTTP/1.1 by ALPN; node:tls + node:http2): the same routes as http',
  start: (stack, ctx) => {
    const o = ctx.https ?? {};
    let server: StackHttpsServer | null = null;
    let stopped = false;
    const made: Promise<TlsIdentity | Error> =
      o.certFile !== undefined && o.keyFile !== undefined
        ? Promise.resolve(loadTlsIdentity(o.certFile, o.keyFile))
        : selfSignedIdentity([DEFAULT_NAME, ...ctx.hostnames], stack.interfaces.map((i) => ipToString(i.address)));
    made.then(
      (identity) => {
        if (identity instanceof Error) {
          stack.logger.error({ service: 'https', err: identity.message }, 'https: no certificate');
          return;
        }
        if (stopped) return;
        server = startBundledHttps(stack, {
          port: o.port ?? DEFAULT_HTTPS_PORT,
          identity,
          ...(ctx.http?.limits !== undefined ? { limits: ctx.http.limits } : {}),
          ...(ctx.http?.staticDir !== undefined ? { staticDir: ctx.http.staticDir } : {}),
          ...(ctx.shards !== undefined ? { shards: ctx.shards } : {}),
        });
        server.on('error', (e: Error) => stack.logger.warn({ service: 'https', err: e.message }, 'https server error'));
        server.on('listening', () =>
          stack.logger.info({ service: 'https', address: server?.address(), selfSigned: identity.selfSigned, sha256: identity.fingerprint }, 'https server listening'),
        );
      },
      (e: unknown) => stack.logger.error({ service: 'https', err: (e as Error).message }, 'https: could not make a certificate'),
    );
    return () => {
      stopped = true;
      server?.close();
    };
  },
});
