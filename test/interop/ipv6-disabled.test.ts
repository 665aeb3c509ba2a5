/**
 * `tunstack up` where IPv6 is switched off for new devices (net.ipv6.conf.default.disable_ipv6 = 1, as Docker
 * leaves a container started without IPv6): the kernel refuses the TUN's IPv6 address with EACCES. The stack
 * turns IPv6 on for its own device and serves both families; where it may not (/proc/sys read-only, as in an
 * unprivileged container), it says why and serves IPv4 — it does not exit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NetNs, canRunInterop, which } from './netns.js';
import { STACK_ADDR, cliBuilt, startStack, type StackProcess } from './stack-process.js';

const can = canRunInterop();
const missing = ['curl', 'unshare', 'mount'].filter((t) => which(t) === null);
const ready = can.ok && cliBuilt() && missing.length === 0;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npm run build)' : `tools missing: ${missing.join(', ')}`;
if (!ready) console.warn(`\n*** interop IPv6-disabled tests SKIPPED: ${why} ***\n`);

const ARGS = ['--services', 'http', '--https', 'off', '--warmup', 'off', '--control', 'off'];

describe.skipIf(!ready)(`tunstack up with IPv6 disabled on the host side${ready ? '' : ` (skipped: ${why})`}`, () => {
  let ns: NetNs | null = null;
  let stack: StackProcess | null = null;

  afterEach(async () => {
    await stack?.stop();
    ns?.destroy();
    stack = null;
    ns = null;
  });

  function v6OffNamespace(): NetNs {
    NetNs.reapStale('v6off');
    const n = NetNs.create('v6off');
    n.run(['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    return n;
  }

  function get(n: NetNs, url: string): string {
    return n.exec(['curl', '-s', '-m', '5', '-o', '/dev/null', '-w', '%{http_code}', url], { timeoutMs: 8000 }).stdout;
  }

  it('turns IPv6 on for its own device and answers both families', async () => {
    ns = v6OffNamespace();
    stack = await startStack(ns, ARGS);
    expect(ns.run(['cat', '/proc/sys/net/ipv6/conf/tun0/disable_ipv6']).trim()).toBe('0');
    expect(ns.run(['cat', '/proc/sys/net/ipv6/conf/default/disable_ipv6']).trim()).toBe('1'); // only the device's own setting changed
    expect(get(ns, `http://${STACK_ADDR}/`)).toBe('200');
    expect(get(ns, 'http://[fd77::2]/')).toBe('200');
  }, 60_000);

  it('when /proc/sys is read-only: a warning naming the setting, and IPv4 served', async () => {
    ns = v6OffNamespace();
    const readOnlySysctl = ['unshare', '-m', 'sh', '-c', 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$0" "$@"'];
    stack = await startStack(ns, ARGS, 20_000, readOnlySysctl);
    const out = await stack.waitForOutput(/serving IPv4 only/, 10_000);
    expect(out).toMatch(/IPv6 is disabled on device tun0 \(net\.ipv6\.conf\.tun0\.disable_ipv6 = 1\) and could not be turned on: serving IPv4 only/);
    expect(get(ns, `http://${STACK_ADDR}/`)).toBe('200');
    expect(stack.child.exitCode).toBeNull();
  }, 60_000);
});
