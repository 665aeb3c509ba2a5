import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitQuietlyWhenStdoutCloses } from '../../src/closed-pipe.js';

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`write ${code}`), { code });
}

describe('a closed stdout', () => {
  it('exits 0 on EPIPE', () => {
    const stream = new EventEmitter();
    const codes: number[] = [];
    exitQuietlyWhenStdoutCloses(stream, (c) => codes.push(c));
    stream.emit('error', errnoError('EPIPE'));
    expect(codes).toEqual([0]);
  });

  it('rethrows any other error', () => {
    const stream = new EventEmitter();
    exitQuietlyWhenStdoutCloses(stream, () => undefined);
    expect(() => stream.emit('error', errnoError('EIO'))).toThrow('write EIO');
  });

  const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
  const capture = fileURLToPath(new URL('../fixtures/captures/tcp-1mb-transfer/tcp-1mb-transfer.pcap', import.meta.url));
  it('`tunstack trace --pcap FILE | head -1` ends with status 0 and no stack trace', async () => {
    const child = spawn(process.execPath, [cli, 'trace', '--pcap', capture, '--port', '8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy()); // the reader goes away after its first line, as head does
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  }, 30_000);
});
