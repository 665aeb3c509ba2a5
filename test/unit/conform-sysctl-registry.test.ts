/**
 * The conformance runner sets TCP sysctls through the tunables registry (src/tcp/tunables.ts): one place says
 * what each sysctl means, its range and where it is stored; the runner keeps only its own spellings and the
 * features it accepts at one value.
 */
import { describe, it, expect } from 'vitest';
import { applyShellCommand, defaultRunnerConfig, RUNNER_OVERRIDES, SYSCTLS } from '../../src/conform/config.js';
import { tcpTunables } from '../../src/tcp/tunables.js';
import { defaultTcpConfig, type TcpConfig } from '../../src/tcp/config.js';
import { formatTunableValue, type TunableValue } from '../../src/tunable.js';

/** A value of `t`'s kind other than its default, as `sysctl` writes it. */
function otherValue(kind: (typeof tcpTunables)[number]['kind'], def: TunableValue): string {
  switch (kind.type) {
    case 'bool':
      return def === true ? '0' : '1';
    case 'enum':
      return kind.values.find((v) => v !== def) ?? String(def);
    case 'int':
      return String(def === kind.min ? kind.max : kind.min);
    case 'range':
      return `${kind.min} ${kind.max}`;
  }
}

const linuxNamed = tcpTunables.filter((t) => t.name.startsWith('net.') && t.put !== undefined);

describe('conformance runner sysctls come from the tunables registry', () => {
  it('knows every TCP tunable that has a Linux sysctl name', () => {
    for (const t of linuxNamed) expect(SYSCTLS[t.name], t.name).toBeDefined();
  });

  it('stores a value where the registry stores it, in the registry unit', () => {
    for (const t of linuxNamed) {
      if (RUNNER_OVERRIDES.includes(t.name)) continue;
      const c = defaultRunnerConfig();
      const text = otherValue(t.kind, t.default);
      applyShellCommand(c, `sysctl -q ${t.name}=${text}`, 1);
      const seen = { ...defaultTcpConfig, ...c.tcp } as TcpConfig;
      expect(formatTunableValue(t.get(seen)), t.name).toBe(text);
    }
  });

  it('scales seconds as the registry does (tcp_fin_timeout is stored in ms)', () => {
    const c = defaultRunnerConfig();
    applyShellCommand(c, 'sysctl -q net.ipv4.tcp_fin_timeout=7', 1);
    expect(c.tcp['finTimeoutMs']).toBe(7000);
  });

  it("takes Linux's hexadecimal integers", () => {
    const c = defaultRunnerConfig();
    applyShellCommand(c, 'sysctl -q net.ipv4.tcp_recovery=0x4', 1);
    expect(c.tcp['recovery']).toBe(4);
  });

  it('a number beyond what we model is unsupported; text that is no number is an error', () => {
    const c = defaultRunnerConfig();
    expect(() => applyShellCommand(c, 'sysctl -q net.ipv4.tcp_ecn=6', 1)).toThrow(/unsupported: sysctl net.ipv4.tcp_ecn=6/);
    expect(() => applyShellCommand(c, 'sysctl -q net.ipv4.tcp_syn_retries=lots', 1)).toThrow(/net.ipv4.tcp_syn_retries: expected an integer/);
    expect(() => applyShellCommand(c, 'sysctl -q net.ipv4.tcp_sack=maybe', 1)).toThrow(/net.ipv4.tcp_sack: expected 0 or 1/);
  });

  it("keeps the runner's own spellings: reno, -1, FreeBSD names, flag bits beyond ours", () => {
    const c = defaultRunnerConfig();
    applyShellCommand(c, 'sysctl -q net.ipv4.tcp_congestion_control=reno net.ipv4.tcp_notsent_lowat=-1 net.ipv4.tcp_fastopen=0x30403', 1);
    expect(c.tcp['congestionControl']).toBe('newreno');
    expect(c.tcp['notsentLowat']).toBe(0xffffffff);
    expect(c.tcp['fastOpen']).toBe(0x30403);
    applyShellCommand(c, 'sysctl -q net.inet.tcp.rfc1323=0 net.inet.tcp.syncookies_only=1', 1);
    expect(c.tcp['timestamps']).toBe(false);
    expect(c.tcp['windowScaling']).toBe(false);
    expect(c.tcp['syncookies']).toBe(2);
    expect(() => applyShellCommand(c, 'sysctl -q net.ipv4.tcp_congestion_control=bbr', 1)).toThrow(/unsupported: congestion control 'bbr'/);
  });

  it('overrides only the registry names it must (each justified in src/conform/config.ts)', () => {
    expect([...RUNNER_OVERRIDES].sort()).toEqual(['net.ipv4.tcp_congestion_control', 'net.ipv4.tcp_fastopen', 'net.ipv4.tcp_notsent_lowat']);
  });
});
