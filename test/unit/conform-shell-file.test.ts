/**
 * Shell files a script runs (`../common/defaults.sh`): their sysctls configure the stack,
 * what we do not model is reported, housekeeping is ignored; `$((…))` arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandArithmetic, isHousekeeping, shellLines } from '../../src/conform/shell-file.js';
import { applyShellCommand, defaultRunnerConfig } from '../../src/conform/config.js';
import { runScript } from '../../src/conform/runner.js';

const DEFAULTS = `#!/bin/bash
# Set standard values.
ip tcp_metrics flush all > /dev/null 2>&1

sysctl -q net.ipv4.tcp_rmem="4096 540000 $((15*1024*1024))"
sysctl -q net.ipv4.tcp_wmem="4096 $((256*1024)) 4194304"
sysctl -q net.ipv4.tcp_timestamps=1   # on
sysctl -q net.ipv4.tcp_syn_retries=5
sysctl -q net.ipv4.tcp_frto=2
sysctl -q net.ipv4.tcp_early_retrans=4 net.ipv4.tcp_recovery=1
sysctl -q net.ipv4.tcp_pacing_ss_ratio=200
tc qdisc add dev tun0 root pfifo
nstat -n
`;

function suiteFolder(): string {
  const root = mkdtempSync(join(tmpdir(), 'conform-shell-'));
  mkdirSync(join(root, 'common'));
  mkdirSync(join(root, 'tcp'));
  writeFileSync(join(root, 'common', 'defaults.sh'), DEFAULTS);
  return join(root, 'tcp');
}

describe('shell file reading', () => {
  it('evaluates integer arithmetic and refuses anything else', () => {
    expect(expandArithmetic('"4096 540000 $((15*1024*1024))"')).toBe('"4096 540000 15728640"');
    expect(expandArithmetic('$(( (2+3)*4 - 6/4 ))')).toBe('19');
    expect(expandArithmetic('$((1/0))')).toBeUndefined();
    expect(expandArithmetic('$((x+1))')).toBeUndefined();
    expect(expandArithmetic('no arithmetic')).toBe('no arithmetic');
  });

  it('drops comments, blank lines and redirections', () => {
    expect(shellLines('# c\n\nip tcp_metrics flush all > /dev/null 2>&1\nsysctl -q a=1 # x\n')).toEqual([
      { line: 3, text: 'ip tcp_metrics flush all' },
      { line: 4, text: 'sysctl -q a=1' },
    ]);
  });

  it('knows housekeeping that changes nothing for a fresh stack', () => {
    expect(isHousekeeping('ip tcp_metrics flush all')).toBe(true);
    expect(isHousekeeping('tc qdisc add dev tun0 root pfifo')).toBe(true);
    expect(isHousekeeping('tc qdisc replace dev tun0 root pfifo limit 0')).toBe(false);
  });
});

describe('a defaults file the script runs', () => {
  it('applies its sysctls, reports what is not modelled, ignores housekeeping', () => {
    const c = defaultRunnerConfig();
    c.scriptDir = suiteFolder();
    const o = applyShellCommand(c, '../common/defaults.sh', 1);
    expect(c.tcp).toMatchObject({ rmem: 540000, rmemMax: 15 * 1024 * 1024, wmem: 256 * 1024, wmemMax: 4194304, timestamps: true, synRetries: 5, tailLossProbe: true, recovery: 1, pacingSsRatio: 200 });
    expect(o.warnings).toEqual([
      'defaults.sh:9: not modelled: sysctl net.ipv4.tcp_frto=2 (F-RTO)',
      'defaults.sh:13: not run: nstat -n',
    ]);
    expect(o.done).toContain('ran ../common/defaults.sh');
  });

  it("keeps the script's own sysctls strict, and ignores a defaults file that is not there", () => {
    const c = defaultRunnerConfig();
    expect(() => applyShellCommand(c, 'sysctl -q net.ipv4.tcp_frto=2', 1)).toThrow(/unsupported: sysctl net.ipv4.tcp_frto=2/);
    expect(applyShellCommand(c, '../common/defaults.sh', 1).done).toEqual(['ignored ../common/defaults.sh (not found)']);
  });

  it('reads set_sysctls.py arguments as sysctls', () => {
    const c = defaultRunnerConfig();
    applyShellCommand(c, '../common/set_sysctls.py /proc/sys/net/ipv4/tcp_syn_retries=3', 1);
    expect(c.tcp['synRetries']).toBe(3);
  });

  it("gives a script the suite's window scale (tcp_rmem max 15 MiB: wscale 8, as Linux)", async () => {
    const dir = suiteFolder();
    const r = await runScript(
      `0 \`../common/defaults.sh\`
+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>
`,
      { dir },
    );
    expect(r.status, r.reason).toBe('pass');
    expect(r.warnings.some((w) => w.includes('tcp_frto=2'))).toBe(true);
  });
});

describe('offloads turned off', () => {
  it('takes ethtool -K DEV tso off gso off as our behaviour, nothing else', () => {
    const c = defaultRunnerConfig();
    expect(applyShellCommand(c, 'ethtool -K tun0 tso off gso off', 1).done).toEqual(['ignored ethtool -K tun0 tso off gso off (segments at MSS size are our behaviour)']);
    expect(() => applyShellCommand(c, 'ethtool -K tun0 tso on', 1)).toThrow(/unsupported: shell command 'ethtool -K tun0 tso on'/);
  });
});
