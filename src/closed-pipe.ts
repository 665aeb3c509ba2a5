/**
 * `tunstack trace --pcap FILE | head`: when the reader of stdout goes away,
 * the next write fails with EPIPE. Like any Unix filter, the command then
 * stops quietly with status 0 instead of dying with a stack trace.
 */
import type { EventEmitter } from 'node:events';

export function exitQuietlyWhenStdoutCloses(stream: EventEmitter = process.stdout, exit: (code: number) => void = (c) => process.exit(c)): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') exit(0);
    else throw e;
  });
}
