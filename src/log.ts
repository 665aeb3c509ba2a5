/** The process logger: pino JSON on stderr, pretty when stderr is a terminal. */
import pino, { type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export function createLogger(level: LevelWithSilent | string = 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({ level }, pretty({ destination: 2, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino({ level }, pino.destination({ dest: 2, sync: true }));
}
