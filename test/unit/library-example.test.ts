/** docs/library-example.ts, run as the documentation shows it: on a memory link with the virtual clock. */
import { afterEach, describe, expect, it } from 'vitest';
import { echoOnce, memoryPair, simulate, startEcho, type MemoryPair } from '../../docs/library-example.js';
import * as tunstack from '../../src/index.js';

describe('the library entry point and its example', () => {
  let pair: MemoryPair | undefined;
  afterEach(() => {
    pair?.a.close();
    pair?.b.close();
    pair = undefined;
  });

  it('src/index.ts exports the public API', () => {
    for (const name of ['Stack', 'TunLink', 'MemoryLink', 'VirtualClock', 'TimerQueue', 'TcpSocket', 'TcpServer', 'UdpSocket', 'TcpError', 'createHttpServer', 'defaultTcpConfig']) {
      expect(tunstack, name).toHaveProperty(name);
    }
  });

  it('echoes a message over TCP between two stacks, and both ends close', async () => {
    pair = memoryPair();
    const server = startEcho(pair.b, 7);
    const reply = await simulate(pair, echoOnce(pair.a, '10.0.0.2', 7, 'hello, tunstack'));
    expect(reply).toBe('hello, tunstack');
    // The active closer's TIME-WAIT (2·MSL = 60 s) passes on the virtual clock in no time.
    await simulate(pair, new Promise<void>((resolve) => server.close(() => resolve())));
    const before = pair.clock.now();
    await simulate(
      pair,
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (pair!.a.tcp.connectionCount === 0 && pair!.b.tcp.connectionCount === 0) resolve();
          else setImmediate(check);
        };
        check();
      }),
      120_000,
    );
    expect(pair.clock.now() - before).toBeLessThanOrEqual(120_000);
  });
});
