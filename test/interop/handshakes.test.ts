/**
 * `tunstack demo --handshakes` once, for real: curl from the kernel side to the stack in a namespace of its
 * own, HTTP and HTTPS (TLS 1.2, 1.3), each with and without Fast Open. The round trips to the first
 * response byte, read from the stack's capture, come in the order the protocols promise: HTTP (2) < HTTPS
 * TLS 1.3 (3, RFC 8446 §2) < HTTPS TLS 1.2 (4, RFC 5246 §7.3), and Fast Open saves one each (RFC 7413 §3).
 */
import { describe, expect, it } from 'vitest';
import { canRunInterop, which } from './netns.js';
import { CLI, cliBuilt } from './stack-process.js';
import { handshakeTable, measureHandshakes } from '../../src/demo-handshakes.js';

const can = canRunInterop();
const missing = ['curl'].filter((t) => which(t) === null);
const ready = can.ok && cliBuilt() && missing.length === 0;
const why = !can.ok ? can.reason : !cliBuilt() ? 'dist/cli.js not built (run npm run build)' : `tools missing: ${missing.join(', ')}`;
if (!ready) console.warn(`\n*** interop handshake table SKIPPED: ${why} ***\n`);

describe.skipIf(!ready)(`round trips to the first byte, curl from the kernel${ready ? '' : ` (skipped: ${why})`}`, () => {
  it('HTTP < HTTPS TLS 1.3 < HTTPS TLS 1.2, and Fast Open saves one round trip on each', async () => {
    const rows = await measureHandshakes({ cli: CLI });
    if (rows instanceof Error) throw rows;
    const table = handshakeTable(rows);
    const rounds = (name: string, fo: boolean): number | null => rows.find((r) => r.name === name && r.fastOpen === fo)?.rounds ?? null;
    expect(rows.map((r) => r.tls), table).toEqual([null, null, 'TLS 1.2', 'TLS 1.2', 'TLS 1.3', 'TLS 1.3']);
    expect([rounds('HTTP', false), rounds('HTTPS TLS 1.3', false), rounds('HTTPS TLS 1.2', false)], table).toEqual([2, 3, 4]);
    for (const name of ['HTTP', 'HTTPS TLS 1.3', 'HTTPS TLS 1.2']) expect(rounds(name, true), `${name}\n${table}`).toBe(rounds(name, false)! - 1);
  }, 120_000);
});
