import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ControlServer } from '../../src/control/server.js';
import { controlPathFor } from '../../src/control/paths.js';
import { instanceOnTun, netnsId, refuseSecondInstance } from '../../src/control/tun-owner.js';

const quiet = pino({ level: 'silent' });

describe('the instance that has a TUN device', () => {
  it('is found through its control socket when it runs on that TUN in this namespace, and named in the refusal', async () => {
    const name = `unit-owner-${process.pid}`;
    const tun = `tu${process.pid % 100000}`;
    const srv = await ControlServer.claim(controlPathFor(name), quiet);
    let netns: string | null = netnsId();
    srv.setHandler(() => ({ ok: true, name, pid: 4242, tun, netns }));
    try {
      expect(await instanceOnTun(tun)).toEqual({ name, pid: 4242 });
      await expect(refuseSecondInstance(tun)).rejects.toThrow(`another tunstack instance (pid 4242, named ${name}) is already running on TUN ${tun}: stop it (kill 4242)`);
      expect(await instanceOnTun(`${tun}x`)).toBeNull(); // another device
      netns = 'net:[1]'; // the same TUN name in another namespace is another device
      expect(await instanceOnTun(tun)).toBeNull();
      await expect(refuseSecondInstance(tun)).resolves.toBeUndefined();
    } finally {
      await srv.close();
    }
  });
});
