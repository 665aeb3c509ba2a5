import type { Socket } from 'node:net';

/**
 * Newline-delimited reading of a control-socket stream (UTF-8): `onLine` gets every complete line, in order,
 * without its newline; returning false stops the lines of the current chunk (the reader is done with them).
 */
export function onLines(sock: Socket, onLine: (line: string) => boolean | void): void {
  let buf = '';
  sock.setEncoding('utf8');
  sock.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (onLine(line) === false) return;
    }
  });
}
