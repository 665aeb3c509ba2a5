/**
 * `tunstack connect --name NAME HOST:PORT`: the running instance opens the connection (connect-pipe.ts)
 * and the control connection carries its bytes (connect-client.ts). Two stacks on a memory link; a
 * driver moves the virtual clock 1 ms per event-loop turn so the Unix socket's I/O interleaves.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { memoryPair, startEcho, type MemoryPair } from '../../docs/library-example.js';
import { ControlServer } from '../../src/control/server.js';
import { connectFromStack } from '../../src/control/connect-pipe.js';
import { connectThroughInstance } from '../../src/control/connect-client.js';
import { parseRequest } from '../../src/control/protocol.js';

const quiet = pino({ level: 'silent' });
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tunstack-connect-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the pair in (virtual) real time until `work` settles. */
async function drive<T>(pair: MemoryPair, work: Promise<T>, maxTurns = 20_000): Promise<T> {
  let settled = false;
  const watched = work.finally(() => {
    settled = true;
  });
  for (let i = 0; i < maxTurns && !settled; i++) {
    for (const link of pair.links) link.deliver();
    pair.a.runTimers();
    pair.b.runTimers();
    await new Promise<void>((r) => setImmediate(r));
    pair.clock.set(pair.clock.now() + 1);
  }
  if (!settled) throw new Error('not settled');
  return watched;
}

function io(input: string | null) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  if (input !== null) stdin.end(input);
  return { streams: { stdin, stdout, stderr }, out: () => out, err: () => err };
}

describe('connect through a running instance', () => {
  let pair: MemoryPair | undefined;
  let server: ControlServer | undefined;
  afterEach(async () => {
    await server?.close();
    pair?.a.close();
    pair?.b.close();
    pair = undefined;
    server = undefined;
  });

  async function instance(name: string): Promise<string> {
    pair = memoryPair();
    const path = join(dir, `${name}.sock`);
    server = await ControlServer.claim(path, quiet);
    server.setHandler(() => ({ ok: true, pid: process.pid }));
    const stack = pair.a;
    server.setPipeHandler((req, pipe) => connectFromStack(stack, req, pipe, quiet));
    return path;
  }

  it('the request parses and is checked', () => {
    expect(parseRequest('{"cmd":"connect","host":"10.0.0.2","port":7}')).toEqual({ cmd: 'connect', host: '10.0.0.2', port: 7 });
    expect((parseRequest('{"cmd":"connect","host":"10.0.0.2"}') as Error).message).toBe('connect needs "port"');
    expect((parseRequest('{"cmd":"connect","host":"10.0.0.2","port":70000}') as Error).message).toMatch(/must be a port/);
  });

  it('stdin goes to the connection, its bytes to stdout; stdin EOF is our FIN; exit 0 after the peer closes', async () => {
    const path = await instance('echo');
    startEcho(pair!.b, 7);
    const t = io('hello through the control socket\n');
    const code = await drive(pair!, connectThroughInstance(path, { host: '10.0.0.2', port: 7 }, t.streams));
    expect(code).toBe(0);
    expect(t.out()).toBe('hello through the control socket\n');
    expect(t.err()).toMatch(/^tunstack: connected from 10\.0\.0\.1:\d+ to 10\.0\.0\.2:7 \(through the running instance\)\n$/);
    // The stack's connection finished cleanly (ours in TIME-WAIT or gone, never reset).
    expect(pair!.a.tcp.socketTable().filter((r) => r.state !== 'TIME-WAIT' && r.state !== 'LISTEN')).toEqual([]);
  });

  it('bytes both ways, larger than one segment, with the local port asked for', async () => {
    const path = await instance('big');
    startEcho(pair!.b, 9);
    const payload = 'x'.repeat(200_000);
    const t = io(payload);
    const code = await drive(pair!, connectThroughInstance(path, { host: '10.0.0.2', port: 9, localPort: 40123 }, t.streams), 200_000);
    expect(code).toBe(0);
    expect(t.out().length).toBe(payload.length);
    expect(t.err()).toMatch(/from 10\.0\.0\.1:40123 /);
  });

  it('a refused connection is one line with the errno name, exit 1', async () => {
    const path = await instance('refused');
    const t = io(null);
    const code = await drive(pair!, connectThroughInstance(path, { host: '10.0.0.2', port: 1 }, t.streams));
    expect(code).toBe(1);
    expect(t.err()).toBe('tunstack: connect 10.0.0.2:1: ECONNREFUSED\n');
    expect(t.out()).toBe('');
  });

  it('no instance: the control client\'s clear error, before anything is sent', async () => {
    const t = io(null);
    await expect(connectThroughInstance(join(dir, 'none.sock'), { host: '10.0.0.2', port: 7 }, t.streams)).rejects.toThrow(
      /no tunstack instance answers on .*none\.sock \(no such socket\): is `tunstack up` running/,
    );
  });

  it('an instance without a pipe handler says so', async () => {
    const path = join(dir, 'nopipe.sock');
    server = await ControlServer.claim(path, quiet);
    server.setHandler(() => ({ ok: true }));
    const t = io(null);
    expect(await connectThroughInstance(path, { host: '10.0.0.2', port: 7 }, t.streams)).toBe(1);
    expect(t.err()).toBe('tunstack: this instance cannot open connections for the control socket\n');
  });
});
