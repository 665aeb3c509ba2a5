/** Errors shaped like Node's system errors (`err.code`, `err.errno`, `err.syscall`) and its dgram ERR_* errors. */
import { constants } from 'node:os';

export type UdpErrorCode =
  | 'EADDRINUSE'
  | 'EADDRNOTAVAIL'
  | 'EINVAL'
  | 'EMSGSIZE'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'ECONNREFUSED'
  | 'ENOPROTOOPT'
  | 'EACCES';

export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

export function systemError(code: UdpErrorCode, syscall: string, address?: string, port?: number): SystemError {
  const errnos = constants.errno as Record<string, number | undefined>;
  const where = address !== undefined ? ` ${address}${port !== undefined ? `:${port}` : ''}` : '';
  const e = new Error(`${syscall} ${code}${where}`) as SystemError;
  e.code = code;
  e.errno = -(errnos[code] ?? 0);
  e.syscall = syscall;
  if (address !== undefined) e.address = address;
  if (port !== undefined) e.port = port;
  return e;
}

export interface NodeStyleError extends Error {
  code: string;
}

export function nodeError(code: string, message: string): NodeStyleError {
  const e = new Error(message) as NodeStyleError;
  e.code = code;
  return e;
}
