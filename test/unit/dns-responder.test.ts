import { describe, it, expect } from 'vitest';
import { DnsResponder, encodeName, reverseName, startDns, type DnsZone } from '../../src/services/dns.js';
import { Stack } from '../../src/stack.js';
import { VirtualClock } from '../../src/clock.js';
import { MemoryLink, pumpAll } from '../../src/link/memory.js';
import { ip } from '../helpers/packets.js';

const zone: DnsZone = {
  names: [encodeName('tunstack.test') as Uint8Array, encodeName('box.example') as Uint8Array],
  reverse: [reverseName(ip('10.77.0.2'))],
  addressFor: () => ip('10.77.0.2'),
};

function query(name: string, type: number, opts: { id?: number; edns?: number; flags?: number; qd?: number; cls?: number } = {}): Uint8Array {
  const n = encodeName(name) as Uint8Array;
  const edns = opts.edns !== undefined;
  const q = new Uint8Array(12 + n.length + 4 + (edns ? 11 : 0));
  const id = opts.id ?? 0x1234;
  q[0] = id >> 8;
  q[1] = id & 0xff;
  const flags = opts.flags ?? 0x0100; // RD
  q[2] = flags >> 8;
  q[3] = flags & 0xff;
  q[5] = opts.qd ?? 1;
  q[11] = edns ? 1 : 0;
  q.set(n, 12);
  let o = 12 + n.length;
  q[o++] = type >> 8;
  q[o++] = type & 0xff;
  const cls = opts.cls ?? 1;
  q[o++] = cls >> 8;
  q[o++] = cls & 0xff;
  if (edns) q.set([0, 0, 41, 0x10, 0x00, 0, opts.edns!, 0, 0, 0, 0], o);
  return q;
}

function parse(r: Uint8Array) {
  return {
    id: (r[0]! << 8) | r[1]!,
    qr: (r[2]! & 0x80) !== 0,
    aa: (r[2]! & 0x04) !== 0,
    tc: (r[2]! & 0x02) !== 0,
    rd: (r[2]! & 0x01) !== 0,
    rcode: r[3]! & 0x0f,
    qd: (r[4]! << 8) | r[5]!,
    an: (r[6]! << 8) | r[7]!,
    ar: (r[10]! << 8) | r[11]!,
  };
}

const responder = () => new DnsResponder(zone);

describe('DNS responder', () => {
  it('answers A for its names, case-insensitively, authoritative', () => {
    const r = responder().respond(query('TunStack.Test', 1), 0);
    if (typeof r === 'string') throw new Error(r);
    const h = parse(r);
    expect(h).toMatchObject({ id: 0x1234, qr: true, aa: true, rd: true, rcode: 0, qd: 1, an: 1, ar: 0 });
    // the answer: pointer to the question name, A, IN, TTL 300, 4 bytes, 10.77.0.2
    expect([...r.subarray(r.length - 16)]).toEqual([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 10, 77, 0, 2]);
    const r2 = responder().respond(query('box.example', 1), 0) as Uint8Array;
    expect(parse(r2).an).toBe(1);
  });

  it('answers PTR for its address with every name', () => {
    const r = responder().respond(query('2.0.77.10.in-addr.arpa', 12), 0);
    if (typeof r === 'string') throw new Error(r);
    expect(parse(r)).toMatchObject({ rcode: 0, an: 2, aa: true });
    const text = Buffer.from(r).toString('latin1');
    expect(text).toContain('\x08tunstack\x04test\x00');
    expect(text).toContain('\x03box\x07example\x00');
  });

  it('NXDOMAIN for other names; NODATA for other types of ours; REFUSED for other classes', () => {
    expect(parse(responder().respond(query('example.com', 1), 0) as Uint8Array)).toMatchObject({ rcode: 3, an: 0, aa: false });
    expect(parse(responder().respond(query('tunstack.test', 28), 0) as Uint8Array)).toMatchObject({ rcode: 0, an: 0, aa: true });
    expect(parse(responder().respond(query('tunstack.test', 1, { cls: 3 }), 0) as Uint8Array)).toMatchObject({ rcode: 5 });
  });

  it('EDNS: an OPT in gets an OPT back; unknown version → BADVERS', () => {
    const r = responder().respond(query('tunstack.test', 1, { edns: 0 }), 0) as Uint8Array;
    expect(parse(r)).toMatchObject({ rcode: 0, an: 1, ar: 1 });
    expect([...r.subarray(r.length - 11)]).toEqual([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    const bad = responder().respond(query('tunstack.test', 1, { edns: 1 }), 0) as Uint8Array;
    expect(parse(bad)).toMatchObject({ rcode: 0, an: 0, ar: 1 });
    expect(bad[bad.length - 6]).toBe(1); // extended rcode 1 → BADVERS (16)
  });

  describe('malformed input: FORMERR or a counted drop, never a throw', () => {
    it('responses and runts are dropped', () => {
      expect(responder().respond(query('tunstack.test', 1, { flags: 0x8100 }), 0)).toBe('dns.response');
      expect(responder().respond(new Uint8Array(5), 0)).toBe('dns.short');
    });

    it('QDCOUNT other than 1, and unknown opcodes', () => {
      expect(parse(responder().respond(query('tunstack.test', 1, { qd: 2 }), 0) as Uint8Array).rcode).toBe(1);
      expect(parse(responder().respond(query('tunstack.test', 1, { qd: 0 }), 0) as Uint8Array).rcode).toBe(1);
      expect(parse(responder().respond(query('tunstack.test', 1, { flags: 0x2000 }), 0) as Uint8Array).rcode).toBe(4);
    });

    it('compression loops: a pointer to itself, two pointers to each other, a forward pointer', () => {
      const self = query('tunstack.test', 1);
      self[12] = 0xc0;
      self[13] = 12;
      expect(parse(responder().respond(self, 0) as Uint8Array).rcode).toBe(1);
      // name at 12: label "a", then a pointer to 12 → loop
      const loop = Uint8Array.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xc0, 12, 0, 1, 0, 1]);
      expect(parse(responder().respond(loop, 0) as Uint8Array).rcode).toBe(1);
      const fwd = Uint8Array.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0, 0, 1, 0, 1]);
      expect(parse(responder().respond(fwd, 0) as Uint8Array).rcode).toBe(1);
    });

    it('a valid backward pointer is followed (a query whose name points into the header region is bounded)', () => {
      // pointer to offset 4: bytes 00 01 00 00 ... read as labels; terminates without a loop (root at offset 4)
      const q = Uint8Array.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 4, 0, 1, 0, 1]);
      const r = responder().respond(q, 0);
      expect(typeof r).not.toBe('string');
    });

    it('truncated names, labels past the end, overlong names, reserved label types', () => {
      const full = query('tunstack.test', 1);
      for (let cut = 13; cut < full.length; cut++) {
        const r = responder().respond(full.subarray(0, cut), 0);
        expect(typeof r === 'string' ? r : parse(r).rcode).toBe(1);
      }
      const long = new Uint8Array(12 + 300 + 4);
      long[5] = 1;
      for (let o = 12; o < 12 + 296; o += 37) long[o] = 36;
      expect(parse(responder().respond(long, 0) as Uint8Array).rcode).toBe(1);
      const reserved = Uint8Array.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41, 0, 0, 1, 0, 1]);
      expect(parse(responder().respond(reserved, 0) as Uint8Array).rcode).toBe(1);
    });

    it('random bytes never throw', () => {
      let seed = 5;
      const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
      const r = responder();
      for (let i = 0; i < 5000; i++) {
        const n = Math.floor(rnd() * 80);
        const q = new Uint8Array(n).map(() => Math.floor(rnd() * 256));
        if (n > 5 && rnd() < 0.7) {
          q[2] = 1;
          q[4] = 0;
          q[5] = 1;
        }
        const out = r.respond(q, 0);
        if (typeof out !== 'string') expect(out.length).toBeLessThanOrEqual(512);
      }
    });
  });

  it('runs as a service on UDP 53 of a stack: dig-like query over a memory link', async () => {
    const clock = new VirtualClock(0);
    const server = new Stack({ clock });
    const client = new Stack({ clock });
    const [la, lb] = MemoryLink.pair();
    server.addInterface(la, '10.77.0.2/24', { defaultRoute: true });
    client.addInterface(lb, '10.77.0.1/24', { defaultRoute: true });
    const stop = startDns(server, ['extra.test']);
    const c = client.udp.createSocket();
    const answers: Buffer[] = [];
    c.on('message', (m) => answers.push(m));
    c.send(query('extra.test', 1), 53, '10.77.0.2');
    c.send(Uint8Array.from([1, 2, 3]), 53, '10.77.0.2'); // runt: a counted drop
    for (let i = 0; i < 6; i++) {
      await new Promise<void>((r) => setImmediate(r));
      server.flush();
      client.flush();
      pumpAll([la, lb]);
    }
    expect(answers).toHaveLength(1);
    expect([...answers[0]!.subarray(answers[0]!.length - 4)]).toEqual([10, 77, 0, 2]);
    expect(server.stats.drops['dns.short']).toBe(1);
    stop();
    expect(() => startDns(server, ['bad name!'])).toThrow(/bad characters/);
  });
});
