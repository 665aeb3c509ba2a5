import { describe, expect, it } from 'vitest';
import { Vnet } from '../helpers/vnet.js';
import { encodeName, stackResponder } from '../../src/services/dns.js';
import { LengthPrefixedReader, startDnsOverTcp, withLengthPrefix } from '../../src/services/dns-tcp.js';

/** An A query for `name` with message id `id`. */
function aQuery(name: string, id: number): Uint8Array {
  const n = encodeName(name) as Uint8Array;
  const q = new Uint8Array(12 + n.length + 4);
  q[0] = id >> 8;
  q[1] = id & 0xff;
  q[2] = 0x01; // RD
  q[5] = 1; // one question
  q.set(n, 12);
  q.set([0, 1, 0, 1], 12 + n.length); // type A, class IN
  return q;
}

describe('length-prefixed DNS messages', () => {
  it('splits a stream into messages however the bytes arrive', () => {
    const a = withLengthPrefix(Uint8Array.of(1, 2, 3));
    const b = withLengthPrefix(Uint8Array.of(4, 5));
    const stream = Buffer.concat([a, b]);
    const r = new LengthPrefixedReader();
    expect(r.push(stream.subarray(0, 1))).toEqual([]);
    expect(r.push(stream.subarray(1, 4)).map((m) => [...m])).toEqual([]);
    expect(r.push(stream.subarray(4, 6)).map((m) => [...m])).toEqual([[1, 2, 3]]);
    expect(r.buffered).toBe(1);
    expect(r.push(stream.subarray(6)).map((m) => [...m])).toEqual([[4, 5]]);
    expect(r.buffered).toBe(0);
    expect(new LengthPrefixedReader().push(stream).map((m) => [...m])).toEqual([[1, 2, 3], [4, 5]]);
  });
});

describe('DNS over TCP (RFC 7766)', () => {
  it('answers pipelined queries in order on one connection, then closes it when idle', async () => {
    const net = new Vnet({ tcpA: { seed: 5 }, tcpB: { seed: 6 } });
    startDnsOverTcp(net.b, stackResponder(net.b, ['extra.test']), 53, 2000);
    const c = net.a.tcp.connect({ host: '10.0.0.2', port: 53 });
    const reader = new LengthPrefixedReader();
    const answers: Buffer[] = [];
    let closed = false;
    c.on('data', (d: Buffer) => answers.push(...reader.push(d)));
    c.on('close', () => (closed = true));
    // two queries in one write, the second one's prefix split from its body by a second write
    const second = withLengthPrefix(aQuery('extra.test', 2));
    c.write(Buffer.concat([withLengthPrefix(aQuery('tunstack.test', 1)), second.subarray(0, 1)]));
    c.write(second.subarray(1));
    await net.until(() => answers.length === 2, 10_000, 'two answers');
    expect(answers.map((a) => (a[0]! << 8) | a[1]!)).toEqual([1, 2]);
    for (const a of answers) {
      expect(a[3]! & 0x0f).toBe(0); // NOERROR
      expect([...a.subarray(a.length - 4)]).toEqual([10, 0, 0, 2]); // the A record: the stack's address
    }
    const before = net.clock.now();
    await net.until(() => closed, 30_000, 'idle close');
    expect(net.clock.now() - before).toBeGreaterThanOrEqual(2000);
    net.close();
  });

  it('closes the connection on a message that is not a query', async () => {
    const net = new Vnet({ tcpA: { seed: 7 }, tcpB: { seed: 8 } });
    startDnsOverTcp(net.b, stackResponder(net.b), 53);
    const c = net.a.tcp.connect({ host: '10.0.0.2', port: 53 });
    let closed = false;
    c.on('close', () => (closed = true));
    c.resume();
    c.write(withLengthPrefix(Uint8Array.of(1, 2, 3))); // shorter than a DNS header
    await net.until(() => closed, 10_000, 'close');
    expect(net.b.stats.drops['dns.short']).toBe(1);
    net.close();
  });
});
