import { describe, expect, it } from 'vitest';
import { hasNetAdmin } from '../../src/control/preflight.js';

describe('preflight: the capability to create a TUN device', () => {
  it('reads CAP_NET_ADMIN (bit 12) from the CapEff line of /proc/self/status', () => {
    expect(hasNetAdmin('Name:\tnode\nCapEff:\t000001ffffffffff\n')).toBe(true); // root
    expect(hasNetAdmin('CapEff:\t0000000000000000\n')).toBe(false); // an ordinary user
    expect(hasNetAdmin('CapEff:\t0000000000001000\n')).toBe(true); // CAP_NET_ADMIN alone
    expect(hasNetAdmin('CapEff:\t00000000a80425fb\n')).toBe(false); // Docker's default set: no NET_ADMIN
    expect(hasNetAdmin('no such line')).toBe(true); // not Linux's /proc: opening the device will tell
  });
});
