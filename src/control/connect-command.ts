/**
 * `tunstack connect HOST:PORT`: brings a stack up on a TUN device (like
 * `tunstack up`, without services), opens a TCP connection *from* the stack
 * and pipes stdin → socket and socket → stdout, like `nc`. Exits 0 once both
 * directions are finished (our FIN acknowledged after stdin's EOF, the peer's
 * FIN received), 1 on a connection error.
 *
 * With `--name NAME` (or `--socket PATH`) the connection is opened by the
 * running instance instead, through its control socket (connect-client.ts).
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { createLogger } from '../log.js';
import { startStack } from '../run.js';
import { resolveControlPath } from './client.js';
import { connectThroughInstance } from './connect-client.js';

export interface ConnectCommandDefaults {
  tun: string;
  addr: string;
  peer: string;
}

export function parseHostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  if (i <= 0) throw new InvalidArgumentError('expected HOST:PORT');
  const host = v.slice(0, i);
  const port = Number(v.slice(i + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`bad port in ${v}`);
  return { host, port };
}

export function addConnectCommand(program: Command, d: ConnectCommandDefaults): void {
  program
    .command('connect')
    .description('open a TCP connection from the stack to HOST:PORT and pipe stdin/stdout through it (like nc)')
    .argument('<target>', 'HOST:PORT, e.g. the kernel side 10.77.0.1:5000')
    .option('--local-port <n>', 'local port of the connection (default: an ephemeral port)')
    .option('--name <name>', 'open the connection from this running instance (through its control socket) instead of starting a stack')
    .option('--socket <path>', 'the same, by control socket path')
    .option('--tun <name>', `TUN device (default ${d.tun})`, d.tun)
    .option('--addr <cidr>', `the stack's address and prefix (default ${d.addr})`, d.addr)
    .option('--peer <addr>', `the kernel side of the TUN (default ${d.peer})`, d.peer)
    .option('--mtu <bytes>', 'link MTU')
    .option('--pcap <file>', 'record every packet in and out')
    .option('--impair <spec>', 'impairment stage, e.g. loss=5%,delay=10ms')
    .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'warn')
    .action(async (target: string, o: { localPort?: string; name?: string; socket?: string; tun: string; addr: string; peer: string; mtu?: string; pcap?: string; impair?: string; logLevel: string }) => {
      if (o.name === undefined && o.socket === undefined) {
        process.exitCode = await runConnect(target, o);
        return;
      }
      const { host, port } = parseHostPort(target);
      const localPort = o.localPort !== undefined ? Number(o.localPort) : undefined;
      if (localPort !== undefined && !(Number.isInteger(localPort) && localPort > 0 && localPort < 65536)) {
        process.stderr.write('tunstack: --local-port must be 1..65535\n');
        process.exitCode = 2;
        return;
      }
      try {
        process.exitCode = await connectThroughInstance(resolveControlPath({ ...(o.name !== undefined ? { name: o.name } : {}), ...(o.socket !== undefined ? { socket: o.socket } : {}) }), { host, port, ...(localPort !== undefined ? { localPort } : {}) });
      } catch (e) {
        process.stderr.write(`tunstack: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}

export async function runConnect(target: string, o: { localPort?: string; tun: string; addr: string; peer: string; mtu?: string; pcap?: string; impair?: string; logLevel: string }): Promise<number> {
  const { host, port } = parseHostPort(target);
  const logger = createLogger(o.logLevel);
  const localPort = o.localPort !== undefined ? Number(o.localPort) : undefined;
  if (localPort !== undefined && !(Number.isInteger(localPort) && localPort > 0 && localPort < 65536)) {
    process.stderr.write('tunstack: --local-port must be 1..65535\n');
    return 2;
  }
  let running;
  try {
    running = startStack(
      {
        tun: o.tun,
        addr: o.addr,
        peer: o.peer,
        services: 'none',
        hostnames: [],
        kernelRoutes: [],
        ...(o.mtu !== undefined ? { mtu: Number(o.mtu) } : {}),
        ...(o.pcap !== undefined ? { pcap: o.pcap } : {}),
        ...(o.impair !== undefined ? { impair: o.impair } : {}),
      },
      logger,
    );
  } catch (e) {
    const busy = (e as NodeJS.ErrnoException).code === 'EBUSY' ? ' (an instance already runs on it? `tunstack connect --name NAME HOST:PORT` opens the connection from it)' : '';
    process.stderr.write(`tunstack: ${(e as Error).message}${busy}\n`);
    return 1;
  }
  const r = running;
  return await new Promise<number>((resolve) => {
    let code = 0;
    const sock = r.stack.tcp.connect({ host, port, allowHalfOpen: true, ...(localPort !== undefined ? { localPort } : {}) });
    sock.on('connect', () => {
      logger.info({ local: `${sock.localAddress}:${sock.localPort}`, remote: `${host}:${port}` }, 'connected');
      process.stdin.pipe(sock);
    });
    sock.pipe(process.stdout, { end: false });
    sock.on('error', (e: Error) => {
      process.stderr.write(`tunstack: connect ${host}:${port}: ${(e as Error & { code?: string }).code ?? e.message}\n`);
      code = 1;
    });
    sock.on('close', () => {
      process.stdin.unpipe(sock);
      process.stdin.pause();
      // Let the last ACK/FIN leave, then take the stack down.
      setTimeout(() => {
        r.stop();
        resolve(code);
      }, 50);
    });
    const stop = () => {
      sock.destroy();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
