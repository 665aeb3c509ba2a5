/** `--workers N`: one view of the shards (counters summed, sockets joined), per-shard capture files, option checks. */
import { describe, expect, it } from 'vitest';
import { joinSocketTables, sumStats } from '../../src/workers/aggregate.js';
import { shardFile, workersConflict } from '../../src/workers/supervisor.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { formatSocketTable } from '../../src/control/commands.js';
import '../../src/services-all.js';

describe('sumStats', () => {
  it('sums every counter group by group, a counter one shard lacks counting as 0, and ignores what is not a counter', () => {
    const a = { Tcp: { InSegs: 10, CurrEstab: 2 }, drops: { 'ip.bad-checksum': 1 }, Gauges: { TcpConnections: 2 } };
    const b = { Tcp: { InSegs: 5, CurrEstab: 1 }, drops: { 'tcp.duplicate-data': 4 }, Gauges: { TcpConnections: 1 }, Http: { Requests: 7 }, note: 'x' };
    expect(sumStats([a, b])).toEqual({
      Tcp: { InSegs: 15, CurrEstab: 3 },
      drops: { 'ip.bad-checksum': 1, 'tcp.duplicate-data': 4 },
      Gauges: { TcpConnections: 3 },
      Http: { Requests: 7 },
    });
    expect(sumStats([])).toEqual({});
  });
});

describe('joinSocketTables', () => {
  it('joins the rows, each marked with its shard; a listener shows once per shard', () => {
    const listen = { state: 'LISTEN', local: '0.0.0.0:80', peer: '0.0.0.0:*' };
    const t = joinSocketTables([
      { tcp: [listen, { state: 'ESTABLISHED', local: '10.77.0.2:80', peer: '10.77.0.1:40000', id: 1 }], udp: [] },
      { tcp: [listen], udp: [{ localAddress: '0.0.0.0', localPort: 53 }] },
    ]);
    expect(t.tcp!.map((r) => [r['state'], r['shard']])).toEqual([
      ['LISTEN', 0],
      ['ESTABLISHED', 0],
      ['LISTEN', 1],
    ]);
    expect(t.udp).toEqual([{ localAddress: '0.0.0.0', localPort: 53, shard: 1 }]);
    expect(formatSocketTable(t.tcp, t.udp, { info: true })).toMatch(/ESTAB .*\n\t .*id:1 shard:0/);
  });

  it('null only when no shard has the layer', () => {
    expect(joinSocketTables([{ tcp: null, udp: null }])).toEqual({ tcp: null, udp: null });
  });
});

describe('shard capture files and option checks', () => {
  it('x.pcap → x.N.pcap; no extension → x.N; a dot in a directory name is not an extension', () => {
    expect(shardFile('/tmp/run.pcap', 1)).toBe('/tmp/run.1.pcap');
    expect(shardFile('/tmp/run', 0)).toBe('/tmp/run.0');
    expect(shardFile('/tmp/a.b/run', 2)).toBe('/tmp/a.b/run.2');
  });

  it('--topology and --forward cannot be sharded', () => {
    expect(workersConflict({})).toBeNull();
    expect(workersConflict({ topology: 'router' })).toMatch(/--workers cannot be combined with --topology/);
    expect(workersConflict({ forward: true })).toMatch(/--forward/);
  });

  it('--workers / TUNSTACK_WORKERS: an integer 1..64', () => {
    expect(loadConfig({}).config.workers).toBe(1);
    expect(loadConfig({ env: { TUNSTACK_WORKERS: '4' } }).config.workers).toBe(4);
    for (const bad of ['0', '65', '1.5', 'two']) {
      try {
        loadConfig({ flags: { workers: bad } });
        throw new Error(`accepted ${bad}`);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).problems.join('\n')).toMatch(/workers must be an integer 1\.\.64/);
      }
    }
  });
});
