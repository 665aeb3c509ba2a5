/**
 * Users' own handlers on the same mounting: a small Express-style app
 * (routes, a JSON body, a streaming response, an error) and WebSocket
 * through `ws` on the 'upgrade' event — both over tunstack sockets.
 */
import { describe, it, expect, afterEach } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocket } from 'ws';
import { Vnet, B_ADDR } from '../helpers/vnet.js';
import { request, pattern, waitUntil } from '../helpers/http-client.js';
import { createHttpServer } from '../../src/http/server.js';
import { readBody } from '../../src/http/body.js';
import { startBundledHttp } from '../../src/http/bundled.js';
import type { Socket } from 'node:net';

let net: Vnet | null = null;
afterEach(() => {
  net?.close();
  net = null;
});

type Next = (err?: unknown) => void;
type Handler = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/** A minimal Express-style app: app.use/get/post, handlers in order, next(), an error handler. */
function miniApp() {
  const stack: { method: string | null; path: string | null; fn: Handler }[] = [];
  const app = (req: IncomingMessage, res: ServerResponse): void => {
    let i = 0;
    const next: Next = (err) => {
      if (err !== undefined) {
        res.statusCode = (err as { statusCode?: number }).statusCode ?? 500;
        res.end(`error: ${(err as Error).message}`);
        return;
      }
      const path = (req.url ?? '/').split('?')[0];
      while (i < stack.length) {
        const l = stack[i++]!;
        if ((l.method === null || l.method === req.method) && (l.path === null || l.path === path)) {
          try {
            l.fn(req, res, next);
          } catch (e) {
            next(e);
          }
          return;
        }
      }
      res.statusCode = 404;
      res.end('no route');
    };
    next();
  };
  app.use = (fn: Handler) => stack.push({ method: null, path: null, fn });
  app.get = (path: string, fn: Handler) => stack.push({ method: 'GET', path, fn });
  app.post = (path: string, fn: Handler) => stack.push({ method: 'POST', path, fn });
  return app;
}

describe("users' own handlers on the stack", () => {
  it('serves an Express-style app: routes, middleware, JSON body, streaming, errors', async () => {
    net = new Vnet();
    const app = miniApp();
    const seen: string[] = [];
    app.use((req, res, next) => {
      seen.push(`${req.method} ${req.url}`);
      res.setHeader('X-Powered-By', 'tunstack');
      next();
    });
    app.get('/hello', (_req, res) => res.end('hi'));
    app.post('/sum', (req, res, next) => {
      readBody(req, 1024).then((b) => {
        const nums = JSON.parse(b.toString()) as number[];
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ sum: nums.reduce((a, x) => a + x, 0) }));
      }, next);
    });
    app.get('/stream', (_req, res) => {
      let i = 0;
      const more = (): void => {
        while (i < 200) {
          if (!res.write(`line ${i++}\n`)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    app.get('/boom', () => {
      throw new Error('kaput');
    });
    createHttpServer(net.b, { port: 3000 }, app);
    const h = await request(net, { port: 3000, path: '/hello' });
    expect([h.status, h.body.toString(), h.headers['x-powered-by']]).toEqual([200, 'hi', 'tunstack']);
    const s = await request(net, { port: 3000, method: 'POST', path: '/sum', body: '[1,2,3,4]', headers: { 'Content-Type': 'application/json' } });
    expect(JSON.parse(s.body.toString())).toEqual({ sum: 10 });
    const big = await request(net, { port: 3000, method: 'POST', path: '/sum', body: `[${'1,'.repeat(1000)}1]` });
    expect(big.status).toBe(413);
    const st = await request(net, { port: 3000, path: '/stream' });
    expect(st.headers['transfer-encoding']).toBe('chunked');
    expect(st.body.toString().split('\n').length).toBe(201);
    const b = await request(net, { port: 3000, path: '/boom' });
    expect([b.status, b.body.toString()]).toEqual([500, 'error: kaput']);
    expect((await request(net, { port: 3000, path: '/nothing' })).status).toBe(404);
    expect(seen).toEqual(['GET /hello', 'POST /sum', 'POST /sum', 'GET /stream', 'GET /boom', 'GET /nothing']);
  });
});

describe('WebSocket /ws echo through ws on the upgrade event', () => {
  it('echoes text and a 10 MiB binary message, then closes cleanly', async () => {
    net = new Vnet({ tcpA: { seed: 7 }, tcpB: { seed: 8 } });
    const server = startBundledHttp(net.b, { port: 80 });
    const v = net;
    const ws = new WebSocket(`ws://${B_ADDR}/ws`, { createConnection: () => v.a.tcp.connect({ host: B_ADDR, port: 80 }) as unknown as Socket });
    const got: { data: Buffer; binary: boolean }[] = [];
    let open = false;
    let closeCode = 0;
    ws.on('open', () => (open = true));
    ws.on('message', (data: Buffer, binary: boolean) => got.push({ data, binary }));
    ws.on('close', (code: number) => (closeCode = code));
    await waitUntil(net, () => open, 10_000, 'ws open');
    ws.send('hello over tunstack');
    await waitUntil(net, () => got.length === 1, 10_000, 'text echo');
    expect(got[0]!.binary).toBe(false);
    expect(got[0]!.data.toString()).toBe('hello over tunstack');
    const blob = pattern(10 * 1024 * 1024, 11);
    ws.send(blob);
    await waitUntil(net, () => got.length === 2, 120_000, 'binary echo');
    expect(got[1]!.binary).toBe(true);
    expect(got[1]!.data.equals(blob)).toBe(true);
    ws.close(1000, 'bye');
    await waitUntil(net, () => closeCode !== 0, 10_000, 'ws close');
    expect(closeCode).toBe(1000);
    expect(server.counters.Upgrades).toBe(1);
  });

  it('an upgrade to another path gets 404', async () => {
    net = new Vnet();
    startBundledHttp(net.b, { port: 80 });
    const v = net;
    const ws = new WebSocket(`ws://${B_ADDR}/not-ws`, { createConnection: () => v.a.tcp.connect({ host: B_ADDR, port: 80 }) as unknown as Socket });
    let status = 0;
    ws.on('unexpected-response', (_req, res) => {
      status = res.statusCode ?? 0;
    });
    ws.on('error', () => undefined);
    await waitUntil(net, () => status !== 0, 10_000, '404');
    expect(status).toBe(404);
  });
});
