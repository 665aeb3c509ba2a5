import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { ControlServer, InstanceRunningError, probeSocket } from '../../src/control/server.js';
import { ControlUnavailableError, controlCall, controlRequest } from '../../src/control/client.js';
import { parseRequest } from '../../src/control/protocol.js';
import { deltas, flattenStats, formatCounters, statsCommand, captureCommand } from '../../src/control/commands.js';
import { CaptureController } from '../../src/control/capture.js';
import { PcapTap } from '../../src/link/pcap-tap.js';
import { readPcap } from '../../src/wire/pcap.js';
import { VirtualClock } from '../../src/clock.js';
import type { Link, LinkReceiver } from '../../src/link/link.js';

const quiet = pino({ level: 'silent' });
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tunstack-control-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('protocol', () => {
  it('parses the known requests and rejects the rest clearly', () => {
    expect(parseRequest('{"cmd":"stats"}')).toEqual({ cmd: 'stats' });
    expect(parseRequest('{"cmd":"capture","action":"start","file":"/tmp/a.pcap"}')).toEqual({ cmd: 'capture', action: 'start', file: '/tmp/a.pcap' });
    expect(parseRequest('{"cmd":"capture","action":"stop"}')).toEqual({ cmd: 'capture', action: 'stop' });
    expect((parseRequest('nope') as Error).message).toBe('request is not JSON');
    expect((parseRequest('[1]') as Error).message).toBe('request must be a JSON object');
    expect((parseRequest('{"cmd":"reboot"}') as Error).message).toMatch(/unknown command "reboot"/);
    expect((parseRequest('{"cmd":"capture","action":"start"}') as Error).message).toMatch(/needs "file"/);
    expect((parseRequest('{"cmd":"capture","action":"pause"}') as Error).message).toMatch(/start, stop or status/);
  });
});

describe('ControlServer and client', () => {
  it('answers requests in order over one connection; errors come back as ok:false', async () => {
    const path = join(dir, 'a.sock');
    const srv = await ControlServer.claim(path, quiet);
    try {
      expect(lstatSync(path).mode & 0o777).toBe(0o600);
      // Before a handler is set: still starting.
      await expect(controlCall(path, { cmd: 'stats' })).rejects.toThrow(/still starting/);
      let n = 0;
      srv.setHandler((req) => {
        if (req.cmd === 'stats') return { ok: true, n: ++n };
        if (req.cmd === 'sockets') throw new Error('boom');
        return { ok: true, pid: 42 };
      });
      const res = await controlRequest(path, [{ cmd: 'stats' }, { cmd: 'sockets' }, { cmd: 'stats' }]);
      expect(res).toEqual([{ ok: true, n: 1 }, { ok: false, error: 'boom' }, { ok: true, n: 2 }]);
    } finally {
      await srv.close();
    }
    expect(existsSync(path)).toBe(false);
  });

  it('a second instance on the same path fails clearly, naming the first one', async () => {
    const path = join(dir, 'b.sock');
    const first = await ControlServer.claim(path, quiet);
    first.setHandler(() => ({ ok: true, pid: 4242, tun: 'tun0' }));
    try {
      const err = await ControlServer.claim(path, quiet).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InstanceRunningError);
      expect((err as InstanceRunningError).pid).toBe(4242);
      expect((err as Error).message).toMatch(/another tunstack instance \(pid 4242\) is already running on TUN tun0: its control socket .*b\.sock answers/);
      // The first one still works.
      expect(await controlCall(path, { cmd: 'info' })).toMatchObject({ pid: 4242 });
    } finally {
      await first.close();
    }
  });

  it('a stale socket left by a SIGKILLed process is detected, removed and re-created', async () => {
    const path = join(dir, 'stale.sock');
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', () => reject(new Error('child exited')));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(lstatSync(path).isSocket()).toBe(true);
    expect((await probeSocket(path)).state).toBe('stale');
    await expect(controlCall(path, { cmd: 'stats' })).rejects.toThrow(/stale socket left by a crashed instance/);

    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => warnings.push(s) });
    const srv = await ControlServer.claim(path, logger);
    srv.setHandler(() => ({ ok: true, fresh: true }));
    try {
      expect(warnings.join('')).toMatch(/removed a stale control socket/);
      expect(await controlCall(path, { cmd: 'info' })).toMatchObject({ fresh: true });
    } finally {
      await srv.close();
    }
  });

  it('refuses a path that is not a socket; the client explains a missing instance', async () => {
    const path = join(dir, 'file.sock');
    writeFileSync(path, 'x');
    await expect(ControlServer.claim(path, quiet)).rejects.toThrow(/exists and is not a socket/);
    expect(readFileSync(path, 'utf8')).toBe('x');
    const err = await controlCall(join(dir, 'none.sock'), { cmd: 'stats' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlUnavailableError);
    expect((err as Error).message).toMatch(/no tunstack instance answers on .*none\.sock \(no such socket\): is `tunstack up` running/);
  });

  it('bounds request lines', async () => {
    const path = join(dir, 'long.sock');
    const srv = await ControlServer.claim(path, quiet);
    srv.setHandler(() => ({ ok: true }));
    try {
      const res = await controlRequest(path, [{ cmd: 'capture', action: 'start', file: 'x'.repeat(70_000) }]);
      expect(res[0]).toEqual({ ok: false, error: 'request line too long' });
    } finally {
      await srv.close();
    }
  });
});

describe('formatting like nstat and ss', () => {
  const stats = { Ip: { InReceives: 5, InHdrErrors: 0 }, Icmp: { InEchos: 3 }, drops: { 'ip.bad-checksum': 2 } };

  it('flattens counters with Linux names and prints the non-zero ones', () => {
    const rows = flattenStats(stats);
    expect(rows).toEqual([
      ['IpInReceives', 5],
      ['IpInHdrErrors', 0],
      ['IcmpInEchos', 3],
      ['Drop:ip.bad-checksum', 2],
    ]);
    const text = formatCounters(rows);
    expect(text.split('\n')).toEqual([
      `${'IpInReceives'.padEnd(32)}${'5'.padStart(18)}`,
      `${'IcmpInEchos'.padEnd(32)}${'3'.padStart(18)}`,
      `${'Drop:ip.bad-checksum'.padEnd(32)}${'2'.padStart(18)}`,
    ]);
    expect(formatCounters(rows, { all: true }).split('\n')).toHaveLength(4);
  });

  it('computes deltas (new counters count from zero) and rates', () => {
    const d = deltas([['A', 5], ['B', 1]], [['A', 9], ['B', 1], ['C', 4]]);
    expect(d).toEqual([['A', 4], ['B', 0], ['C', 4]]);
    const text = formatCounters(d, { rates: new Map([['A', 8], ['C', 2]]) });
    expect(text).toBe(`${'A'.padEnd(32)}${'4'.padStart(18)}${'8.0'.padStart(16)}\n${'C'.padEnd(32)}${'4'.padStart(18)}${'2.0'.padStart(16)}`);
  });
});

describe('stats and capture commands against a control socket', () => {
  it('stats --watch prints the counters, then bounded deltas', async () => {
    const path = join(dir, 'w.sock');
    const srv = await ControlServer.claim(path, quiet);
    let n = 0;
    srv.setHandler(() => {
      n++;
      return { ok: true, name: 'tun0', at: `t${n}`, stats: { Ip: { InReceives: n * 10, InDiscards: 0 } } };
    });
    try {
      const out = new PassThrough();
      let text = '';
      out.on('data', (d: Buffer) => (text += d.toString()));
      expect(await statsCommand({ socket: path, watch: 0.1, count: 2 }, out)).toBe(0);
      expect(n).toBe(3);
      expect(text).toBe(
        `#tunstack tun0 (every 0.1s, deltas)\n${'#counter'.padEnd(32)}${'total'.padStart(18)}\n${'IpInReceives'.padEnd(32)}${'10'.padStart(18)}\n` +
          `#t2\n${'#counter'.padEnd(32)}${'delta'.padStart(18)}${'per second'.padStart(16)}\n${'IpInReceives'.padEnd(32)}${'10'.padStart(18)}${'100.0'.padStart(16)}\n` +
          `#t3\n${'#counter'.padEnd(32)}${'delta'.padStart(18)}${'per second'.padStart(16)}\n${'IpInReceives'.padEnd(32)}${'10'.padStart(18)}${'100.0'.padStart(16)}\n`,
      );
      await expect(captureCommand({ socket: path, start: 'a', stop: true })).rejects.toThrow(/exactly one of/);
    } finally {
      await srv.close();
    }
  });
});

class FakeLink implements Link {
  readonly mtu = 1500;
  readonly name = 'fake0';
  receiver: LinkReceiver | null = null;
  setReceiver(r: LinkReceiver): void {
    this.receiver = r;
  }
  send(): void {}
  close(): void {}
}

function packet(i: number): Uint8Array {
  const p = new Uint8Array(60);
  p[0] = 0x45;
  p[3] = 60;
  p[19] = i & 255;
  return p;
}

describe('CaptureController', () => {
  it('starts and stops captures on a running link; the file is complete after stop', () => {
    const link = new FakeLink();
    const tap = new PcapTap(link, null, new VirtualClock());
    tap.setReceiver(() => {});
    const cap = new CaptureController(tap, quiet, 10_000);
    link.receiver!([packet(1)], 1); // before any capture: not recorded
    const file = join(dir, 'c1.pcap');
    expect(cap.start(file)).toMatchObject({ capturing: true, file, packets: 0 });
    expect(() => cap.start(join(dir, 'c2.pcap'))).toThrow(/a capture is already running/);
    tap.send([packet(2), packet(3)], 2);
    link.receiver!([packet(4)], 1);
    const st = cap.stop()!;
    expect(st).toMatchObject({ capturing: false, file, packets: 3, bytes: 24 + 3 * (16 + 60) });
    expect(cap.stop()).toBeNull();
    tap.send([packet(5)], 1); // after stop: not recorded
    const r = readPcap(readFileSync(file));
    if (typeof r === 'string') throw new Error(r);
    expect(r.truncated).toBe(false);
    expect(r.packets.map((p) => p.data[19])).toEqual([2, 3, 4]);
    expect(() => cap.start('/nonexistent-dir-xyz/x.pcap')).toThrow(/cannot open capture file \/nonexistent-dir-xyz\/x\.pcap/);
  });

  it('keeps only packets matching the filter, each cut to the snap length with its original length kept', () => {
    const link = new FakeLink();
    const tap = new PcapTap(link, null, new VirtualClock());
    tap.setReceiver(() => {});
    const cap = new CaptureController(tap, quiet, 10_000);
    const file = join(dir, 'cut.pcap');
    // packet(i) is IPv4 protocol 0 to 0.0.0.i: `host 0.0.0.2 or host 0.0.0.4` keeps two of four
    expect(cap.start(file, { snaplen: 32, filter: 'host 0.0.0.2 or host 0.0.0.4' })).toMatchObject({ capturing: true, snaplen: 32, filter: 'host 0.0.0.2 or host 0.0.0.4' });
    tap.send([packet(1), packet(2), packet(3)], 3);
    link.receiver!([packet(4)], 1);
    expect(cap.stop()).toMatchObject({ packets: 2, bytes: 24 + 2 * (16 + 32) });
    const r = readPcap(readFileSync(file));
    if (typeof r === 'string') throw new Error(r);
    expect(r.snaplen).toBe(32);
    expect(r.packets.map((p) => [p.data[19], p.data.length, p.originalLength])).toEqual([[2, 32, 60], [4, 32, 60]]);
  });

  it('refuses bad settings with one line before opening anything', () => {
    const cap = new CaptureController(new PcapTap(new FakeLink(), null, new VirtualClock()), quiet, 10_000);
    const file = join(dir, 'never.pcap');
    expect(() => cap.start(file, { snaplen: 0 })).toThrow(/snaplen must be an integer from 1 to 262144/);
    expect(() => cap.start(file, { filter: 'tcp prot 80' })).toThrow(/capture filter "tcp prot 80": unexpected 'prot'/);
    expect(() => cap.start(file, { rotateCount: 3 })).toThrow(/a rotation count \(-W\) needs a rotation size/);
    expect(() => cap.start(file, { rotateBytes: 0.5 })).toThrow(/rotation size must be a positive number of bytes/);
    expect(existsSync(file)).toBe(false);
    expect(cap.status().capturing).toBe(false);
  });

  it('carries snaplen and filter in the control request', () => {
    expect(parseRequest('{"cmd":"capture","action":"start","file":"/tmp/a.pcap","snaplen":96,"filter":"tcp port 80"}')).toEqual({ cmd: 'capture', action: 'start', file: '/tmp/a.pcap', snaplen: 96, filter: 'tcp port 80' });
    expect((parseRequest('{"cmd":"capture","action":"start","file":"/a","snaplen":"96"}') as Error).message).toMatch(/snaplen" must be a positive integer/);
    expect((parseRequest('{"cmd":"capture","action":"start","file":"/a","filter":80}') as Error).message).toMatch(/filter" must be a string/);
    expect(parseRequest('{"cmd":"capture","action":"start","file":"/a","rotateBytes":1000000,"rotateCount":3}')).toEqual({ cmd: 'capture', action: 'start', file: '/a', rotateBytes: 1000000, rotateCount: 3 });
    expect((parseRequest('{"cmd":"capture","action":"start","file":"/a","rotateCount":0}') as Error).message).toMatch(/rotateCount" must be a positive integer/);
  });

  it('flushes on a short timer: without stop (as after SIGKILL) the file holds whole records', async () => {
    const link = new FakeLink();
    const tap = new PcapTap(link, null, new VirtualClock());
    const cap = new CaptureController(tap, quiet, 20);
    const file = join(dir, 'timer.pcap');
    cap.start(file);
    for (let i = 0; i < 10; i++) tap.send([packet(i)], 1);
    expect(readFileSync(file).length).toBe(24); // only the header so far: records wait in the chunk
    await new Promise((r) => setTimeout(r, 80));
    const r = readPcap(readFileSync(file));
    if (typeof r === 'string') throw new Error(r);
    expect(r.truncated).toBe(false);
    expect(r.packets).toHaveLength(10);
    cap.stop();
  });
});
