/**
 * The TUN shim and TunLink against the real kernel, inside network namespaces
 * created here (traffic never leaves them). The TUN-opening code runs in a
 * child `node` (test/interop/fixtures/tun-echo.mjs) started with
 * `ip netns exec`, so the device lives in the test's namespace.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canRunInterop, ChildOutput, NetNs, waitForExit, which } from './netns.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADDON = join(ROOT, 'build/Release/tunshim.node');
const FIXTURE = join(ROOT, 'test/interop/fixtures/tun-echo.mjs');

const can = canRunInterop();
if (!can.ok) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! TUN interop tests SKIPPED: ${can.reason}\n!! (they need root, /dev/net/tun and iproute2)\n${'!'.repeat(78)}\n`,
  );
}

interface Ready {
  event: 'ready';
  name: string;
  mtu: number;
}
interface OpenError {
  event: 'error';
  code: string;
  syscall: string;
  message: string;
}

describe.skipIf(!can.ok)(`TUN shim interop${can.ok ? '' : ` (SKIPPED: ${can.reason})`}`, () => {
  let tmp = '';
  let env: NodeJS.ProcessEnv = {};
  let ns: NetNs | null = null;
  let fixture = FIXTURE;

  beforeAll(() => {
    if (!existsSync(ADDON)) {
      throw new Error(`${ADDON} is missing: run \`npm ci\` (or \`npx node-gyp rebuild\`) before the interop tests`);
    }
    NetNs.reapStale('tuntest');
    // Run the current src/link/tun.ts under plain node: transpile it and the pure wire modules it imports
    // (virtio-header parsing) file by file into tmp/{link,wire}, an ES module tree of its own.
    tmp = mkdtempSync(join(tmpdir(), 'tunstack-tun-test-'));
    chmodSync(tmp, 0o755); // readable by the unprivileged-user case
    writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
    chmodSync(join(tmp, 'package.json'), 0o644);
    for (const rel of ['link/tun', 'wire/offload', 'wire/offload6', 'wire/gso-piece', 'wire/ipv4', 'wire/ipv6', 'wire/ip-protocols', 'wire/checksum', 'wire/bytes']) {
      const js = ts.transpileModule(readFileSync(join(ROOT, `src/${rel}.ts`), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
        fileName: `${rel}.ts`,
      }).outputText;
      const dir = join(tmp, rel.split('/')[0]!);
      if (!existsSync(dir)) {
        mkdirSync(dir);
        chmodSync(dir, 0o755);
      }
      writeFileSync(join(tmp, `${rel}.js`), js);
      chmodSync(join(tmp, `${rel}.js`), 0o644);
    }
    // The fixture and the addon too: the unprivileged-user case must read every file it runs, and a checkout
    // may sit in a directory only root can enter (a fresh clone under mktemp -d is mode 0700).
    for (const [from, to] of [[FIXTURE, 'tun-echo.mjs'], [ADDON, 'tunshim.node']] as const) {
      copyFileSync(from, join(tmp, to));
      chmodSync(join(tmp, to), 0o644);
    }
    fixture = join(tmp, 'tun-echo.mjs');
    const modulePath = join(tmp, 'link/tun.js');
    env = { TUNSTACK_TUN_MODULE: modulePath, TUNSTACK_TUNSHIM: join(tmp, 'tunshim.node') };
  });

  afterEach(() => {
    ns?.destroy();
    ns = null;
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const startFixture = async (n: NetNs, args: string[]): Promise<{ out: ChildOutput; ready: Ready }> => {
    const child = n.spawnNode(fixture, args, { env: { ...process.env, ...env } });
    const out = new ChildOutput(child);
    const first = await out.nextJson<Ready | OpenError>((o) => o['event'] === 'ready' || o['event'] === 'error', 15_000);
    if (first.event === 'error') throw new Error(`fixture could not open the TUN: ${first.code} ${first.message}`);
    return { out, ready: first };
  };

  const probe = (n: NetNs, name: string, prefix: string[] = []): { status: number | null; result: Ready | OpenError } => {
    const r = n.exec([...prefix, process.execPath, fixture, '--name', name, '--probe'], { env, timeoutMs: 15_000 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    if (!line) throw new Error(`probe printed nothing (status ${r.status}); stderr: ${r.stderr}`);
    return { status: r.status, result: JSON.parse(line) as Ready | OpenError };
  };

  const stopFixture = async (out: ChildOutput): Promise<Record<string, unknown>> => {
    out.child.stdin!.write('close\n');
    const closed = await out.nextJson((o) => o['event'] === 'closed', 10_000);
    const exit = await waitForExit(out.child, 10_000);
    // close() must release the uv_poll watcher: with stdin closed too, nothing keeps the process alive.
    expect(exit).toEqual({ code: 0, signal: null, timedOut: false });
    return closed;
  };

  it('creates and configures tun0, answers 20 pings with 0% loss, routes a subnet, and exits after close()', async () => {
    ns = NetNs.create('tuntest');
    const { out, ready } = await startFixture(ns, [
      '--name', 'tun0', '--addr', '10.77.0.1', '--prefix', '24', '--mtu', '1500', '--up', '--route', '10.77.9.0/24',
    ]);
    expect(ready).toEqual({ event: 'ready', name: 'tun0', mtu: 1500 });

    const addr = ns.run(['ip', 'addr', 'show', 'tun0']);
    expect(addr).toContain('inet 10.77.0.1/24');
    expect(addr).toMatch(/mtu 1500\b/);
    expect(addr).toMatch(/<[^>]*\bUP\b[^>]*>/);
    expect(ns.run(['ip', 'route', 'show'])).toMatch(/^10\.77\.9\.0\/24 dev tun0\b/m);

    const ping = ns.exec(['ping', '-n', '-c', '20', '-i', '0.01', '-W', '2', '10.77.0.2'], { timeoutMs: 20_000 });
    expect(ping.stdout).toMatch(/20 packets transmitted, 20 received, 0% packet loss/);
    expect(ping.status).toBe(0);

    const routed = ns.exec(['ping', '-n', '-c', '3', '-i', '0.05', '-W', '2', '10.77.9.5'], { timeoutMs: 15_000 });
    expect(routed.stdout).toMatch(/3 packets transmitted, 3 received, 0% packet loss/);

    // A second opener of a held single-queue TUN gets a clear EBUSY.
    const busy = probe(ns, 'tun0');
    expect(busy.status).toBe(2);
    expect(busy.result).toMatchObject({ event: 'error', code: 'EBUSY', syscall: 'ioctl' });
    expect((busy.result as OpenError).message).toMatch(/busy/);

    // Bad packets are counted as drops, never thrown; the good one in the same batch still goes out.
    out.child.stdin!.write('badsend\n');
    const sent = await out.nextJson((o) => o['event'] === 'sent', 10_000);
    expect(sent).toMatchObject({ txPackets: 1, txDrops: 2, txErrors: 2, lastTxError: { code: 'EINVAL', syscall: 'write' } });

    const closed = await stopFixture(out);
    expect(closed['echoes']).toBe(23);
    expect(closed['txDrops']).toBe(2);
    // A non-persistent device goes away with its last fd.
    expect(ns.exec(['ip', 'link', 'show', 'tun0']).status).not.toBe(0);
  }, 60_000);

  it('writes a packet handed over in two pieces (headers, then a tail) as one: large pings come back intact', async () => {
    ns = NetNs.create('tuntest');
    // Each echo reply goes out as its first 28 bytes (IP + ICMP headers) and the rest as a tail: one writev.
    const { out } = await startFixture(ns, ['--name', 'tun0', '--addr', '10.77.0.1', '--prefix', '24', '--up', '--split', '28']);
    const ping = ns.exec(['ping', '-n', '-c', '10', '-i', '0.01', '-W', '2', '-s', '1400', '-p', 'a5c3', '10.77.0.2'], { timeoutMs: 20_000 });
    expect(ping.stdout).toMatch(/10 packets transmitted, 10 received, 0% packet loss/);
    expect(ping.stdout).not.toMatch(/wrong data|BAD CHECKSUM|truncated/i);
    const closed = await stopFixture(out);
    expect(closed['echoes']).toBe(10);
    expect(closed['txDrops']).toBe(0);
  }, 60_000);

  it('attaches to an existing persistent device without reconfiguring it', async () => {
    ns = NetNs.create('tuntest');
    ns.run(['ip', 'tuntap', 'add', 'dev', 'tun1', 'mode', 'tun']);
    ns.run(['ip', 'addr', 'add', '10.78.0.1/24', 'dev', 'tun1']);
    ns.run(['ip', 'link', 'set', 'tun1', 'mtu', '1400', 'up']);

    const { out, ready } = await startFixture(ns, ['--name', 'tun1']);
    expect(ready).toEqual({ event: 'ready', name: 'tun1', mtu: 1400 });

    const ping = ns.exec(['ping', '-n', '-c', '5', '-i', '0.05', '-W', '2', '10.78.0.2'], { timeoutMs: 15_000 });
    expect(ping.stdout).toMatch(/5 packets transmitted, 5 received, 0% packet loss/);

    const closed = await stopFixture(out);
    expect(closed['echoes']).toBe(5);

    // Still there, exactly as `ip` left it.
    const addr = ns.run(['ip', 'addr', 'show', 'tun1']);
    expect(addr).toContain('inet 10.78.0.1/24');
    expect(addr).toMatch(/mtu 1400\b/);
    expect(addr).toMatch(/<[^>]*\bUP\b[^>]*>/);
    expect(addr.match(/inet /g)).toHaveLength(1);

    // And it can be attached again.
    const again = probe(ns, 'tun1');
    expect(again.result).toEqual({ event: 'ready', name: 'tun1', mtu: 1400 });
    expect(again.status).toBe(0);
  }, 60_000);

  it('lets the receiver close the link from inside its callback', async () => {
    ns = NetNs.create('tuntest');
    const { out } = await startFixture(ns, ['--name', 'tun0', '--addr', '10.77.0.1', '--mtu', '1500', '--close-after', '3']);
    // Bounded: stops after 6 probes whatever happens; the link goes away after the third reply.
    ns.exec(['ping', '-n', '-c', '6', '-i', '0.2', '-W', '1', '10.77.0.2'], { timeoutMs: 15_000 });
    const closed = await out.nextJson((o) => o['event'] === 'closed', 10_000);
    expect(closed['echoes']).toBe(3);
    const exit = await waitForExit(out.child, 10_000);
    expect(exit).toEqual({ code: 0, signal: null, timedOut: false });
  }, 60_000);

  it('reports a device deleted under it through onError, and stops', async () => {
    ns = NetNs.create('tuntest');
    ns.run(['ip', 'tuntap', 'add', 'dev', 'tun1', 'mode', 'tun']);
    const { out, ready } = await startFixture(ns, ['--name', 'tun1', '--mtu', '1280']);
    expect(ready).toEqual({ event: 'ready', name: 'tun1', mtu: 1280 });
    ns.run(['ip', 'link', 'del', 'tun1']);
    const err = await out.nextJson((o) => o['event'] === 'linkerror', 10_000);
    expect(err['message']).toMatch(/tun1 failed .*deleted or detached/);
    expect(typeof err['code']).toBe('string');
    const exit = await waitForExit(out.child, 10_000);
    expect(exit).toEqual({ code: 0, signal: null, timedOut: false });
  }, 60_000);

  const setpriv = which('setpriv');
  it.skipIf(!setpriv)(
    `without CAP_NET_ADMIN the error says so${setpriv ? '' : ' (SKIPPED: setpriv not installed)'}`,
    () => {
      ns = NetNs.create('tuntest');
      const r = probe(ns, 'tun2', [setpriv!, '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all']);
      expect(r.status).toBe(2);
      expect(r.result).toMatchObject({ event: 'error', code: 'EPERM', syscall: 'open' });
      const msg = (r.result as OpenError).message;
      expect(msg).toContain('CAP_NET_ADMIN');
      expect(msg).toContain('--cap-add NET_ADMIN --device /dev/net/tun');
    },
    30_000,
  );

  const unshare = which('unshare');
  it.skipIf(!unshare)(
    `without /dev/net/tun the error says how to get it${unshare ? '' : ' (SKIPPED: unshare not installed)'}`,
    () => {
      ns = NetNs.create('tuntest');
      // A private mount namespace with an empty /dev/net: nothing outside it changes.
      const r = probe(ns, 'tun3', [unshare!, '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$0" "$@"']);
      expect(r.status).toBe(2);
      expect(r.result).toMatchObject({ event: 'error', code: 'ENOENT', syscall: 'open' });
      const msg = (r.result as OpenError).message;
      expect(msg).toContain('/dev/net/tun does not exist');
      expect(msg).toContain('--device /dev/net/tun');
    },
    30_000,
  );
});
