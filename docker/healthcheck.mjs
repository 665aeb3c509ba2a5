// HEALTHCHECK: the stack's own GET /_stack/stats through the TUN when the
// HTTP server is on (TUNSTACK_HTTP), else a `stats` request on the control
// socket. Exit 0 healthy, 1 not.
import { controlCall, resolveControlPath } from '../dist/control/client.js';

const env = process.env;
const http = env.TUNSTACK_HTTP && env.TUNSTACK_HTTP !== 'off' && env.TUNSTACK_HTTP !== '0' ? env.TUNSTACK_HTTP : null;
const addr = (env.TUNSTACK_ADDR || '10.77.0.2/24').split('/')[0];

async function main() {
  if (http) {
    const res = await fetch(`http://${addr}:${http}/_stack/stats`, { signal: AbortSignal.timeout(4000) });
    if (res.status !== 200) throw new Error(`GET /_stack/stats: HTTP ${res.status}`);
    const body = await res.json();
    if (!body || typeof body !== 'object' || !('Ip' in body)) throw new Error('GET /_stack/stats: no counters in the answer');
    return `http ${res.status}, IpInReceives ${body.Ip?.InReceives}`;
  }
  const r = await controlCall(resolveControlPath({}), { cmd: 'stats' }, 4000);
  return `control socket ok, IpInReceives ${r.stats?.Ip?.InReceives}`;
}

main().then(
  (msg) => {
    console.log(`healthy: ${msg}`);
    process.exit(0);
  },
  (e) => {
    console.log(`unhealthy: ${e.message}`);
    process.exit(1);
  },
);
