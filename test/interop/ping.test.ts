/**
 * The foundation end to end: the real CLI on a TUN in a namespace of the
 * test's own, pinged by the kernel (paced, large, flood), its capture clean
 * in tshark.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { NetNs, canRunInterop, which } from './netns.js';
import { STACK_ADDR, cliBuilt, startStack, type StackProcess } from './stack-process.js';

const can = canRunInterop();
const ready = can.ok && cliBuilt() && which('ping') !== null;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npm run build)' : 'ping not installed';
if (!ready) console.warn(`\n*** interop ping tests SKIPPED: ${why} ***\n`);

function loss(out: string): string | undefined {
  return /([\d.]+)% packet loss/.exec(out)?.[1];
}

describe.skipIf(!ready)(`ping the stack on a real TUN${ready ? '' : ` (skipped: ${why})`}`, () => {
  let ns: NetNs;
  let stack: StackProcess;
  let dir: string;

  beforeAll(async () => {
    ns = NetNs.create('ping');
    dir = mkdtempSync(join(tmpdir(), 'tunstack-ping-'));
    stack = await startStack(ns, ['--pcap', join(dir, 'cap.pcap'), '--services', 'none']);
  });

  afterAll(async () => {
    await stack?.stop();
    ns?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('200 paced pings, 0% loss', () => {
    const r = ns.exec(['ping', '-q', '-c', '200', '-i', '0.01', STACK_ADDR], { timeoutMs: 30_000 });
    expect(loss(r.stdout)).toBe('0');
  });

  it('1400-byte pings, 0% loss', () => {
    const r = ns.exec(['ping', '-q', '-c', '20', '-i', '0.01', '-s', '1400', STACK_ADDR], { timeoutMs: 30_000 });
    expect(loss(r.stdout)).toBe('0');
  });

  it('a bounded flood ping (20,000), 0% loss', () => {
    const r = ns.exec(['ping', '-q', '-f', '-c', '20000', '-w', '30', STACK_ADDR], { timeoutMs: 40_000 });
    expect(loss(r.stdout)).toBe('0');
  });

  it('stops on SIGTERM with exit 0, and the capture is clean in tshark', async () => {
    expect(await stack.stop()).toBe(0);
    if (!which('tshark')) {
      console.warn('*** tshark missing: capture lint skipped ***');
      return;
    }
    const pcap = join(dir, 'cap.pcap');
    const all = spawnSync('tshark', ['-r', pcap], { encoding: 'utf8', maxBuffer: 256 << 20 }).stdout.trim().split('\n').filter(Boolean);
    const warn = spawnSync('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'icmp.check_checksum:TRUE', '-Y', '_ws.expert.severity >= warning'], { encoding: 'utf8' }).stdout.trim();
    expect(all.length).toBeGreaterThan(40_000);
    expect(warn).toBe('');
  });
});
