/** Node-style errors for TCP sockets: `err.code` like net.Socket's, `err.errno` negative like libuv's. */

export type TcpErrorCode = 'ECONNRESET' | 'ECONNREFUSED' | 'ETIMEDOUT' | 'EADDRINUSE' | 'EPIPE' | 'EHOSTUNREACH' | 'ENETUNREACH' | 'ENOPROTOOPT' | 'EADDRNOTAVAIL' | 'ECONNABORTED' | 'EINVAL' | 'EACCES';

/** Linux errno values (SO_ERROR reports them positive). */
export const ERRNO: Record<TcpErrorCode, number> = {
  EACCES: 13,
  EPIPE: 32,
  EINVAL: 22,
  ENOPROTOOPT: 92,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
};

const MESSAGES: Record<TcpErrorCode, string> = {
  EACCES: 'Permission denied',
  EPIPE: 'This socket has been ended by the other party',
  EINVAL: 'Invalid argument',
  ENOPROTOOPT: 'Protocol not available',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENETUNREACH: 'Network is unreachable',
  ECONNABORTED: 'Software caused connection abort',
  ECONNRESET: 'Connection reset by peer',
  ETIMEDOUT: 'Connection timed out',
  ECONNREFUSED: 'Connection refused',
  EHOSTUNREACH: 'No route to host',
};

export class TcpError extends Error {
  readonly code: TcpErrorCode;
  readonly errno: number;
  readonly syscall: string;
  address?: string;
  port?: number;
  constructor(code: TcpErrorCode, syscall: string, detail?: string) {
    super(`${syscall} ${code}${detail ? ' ' + detail : ''}`);
    this.name = 'Error';
    this.code = code;
    this.errno = -ERRNO[code];
    this.syscall = syscall;
  }
  /** A short human description of the code. */
  get description(): string {
    return MESSAGES[this.code];
  }
}
