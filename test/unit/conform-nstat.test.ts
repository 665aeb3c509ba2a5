import { describe, expect, it } from 'vitest';
import { Stats } from '../../src/stats.js';
import { NstatHistory } from '../../src/conform/nstat.js';

describe('nstat in shell lines', () => {
  it('prints the counters that moved since the last run under Linux names; grep sets the status', () => {
    const stats = new Stats();
    const n = new NstatHistory();
    expect(n.run('nstat > /dev/null', stats)).toEqual({ status: 0, output: '' });
    stats.TcpExt.OutOfWindowIcmps += 2;
    const r = n.run('nstat | grep TcpExtOutOfWindowIcmps > /dev/null', stats);
    expect(r?.status).toBe(0);
    expect(r?.output).toMatch(/^TcpExtOutOfWindowIcmps\s+2$/);
    // Remembered: nothing moved since.
    expect(n.run('nstat | grep TcpExtOutOfWindowIcmps', stats)?.status).toBe(1);
  });

  it('leaves other commands alone', () => {
    const n = new NstatHistory();
    expect(n.run('nstat -a', null)).toBeUndefined();
    expect(n.run('ss -ti', null)).toBeUndefined();
  });
});
