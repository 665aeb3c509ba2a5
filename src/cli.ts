#!/usr/bin/env node
/** The `tunstack` command line (commander). */
import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from './log.js';
import { startStack } from './run.js';
import { runDemo } from './demo.js';
import './services-all.js';

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

/** `2s`, `500ms`, `1.5s`, `1m`, or a bare number of seconds → milliseconds. */
function duration(name: string) {
  return (v: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
    if (!m) throw new InvalidArgumentError(`${name} must be a duration like 2s, 500ms or 1m`);
    const n = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000);
    if (!(n > 0) || n > 3_600_000) throw new InvalidArgumentError(`${name} must be between 1ms and 1h`);
    return n;
  };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

const program = new Command();
program.name('tunstack').description('A userspace TCP/IP stack on a Linux TUN device').version('0.1.0');

program
  .command('up')
  .description('bring the stack up on a TUN device and run until SIGINT/SIGTERM')
  .requiredOption('--tun <name>', 'TUN device (created and configured if it does not exist)')
  .requiredOption('--addr <cidr>', "the stack's address and prefix, e.g. 10.77.0.2/24")
  .requiredOption('--peer <addr>', 'the kernel side of the TUN, e.g. 10.77.0.1')
  .option('--mtu <bytes>', 'link MTU', positiveInt('--mtu'))
  .option('--pcap <file>', 'record every packet in and out (libpcap, LINKTYPE_RAW)')
  .option('--impair <spec>', 'impairment stage, e.g. loss=5%,delay=10ms,jitter=2ms,reorder=25%,seed=7 (in:/out: prefixes)')
  .option('--services <list>', 'built-in services: all, none, or a comma-separated list', 'all')
  .option('--hostname <name>', 'an extra name the DNS service answers for (repeatable)', collect, [])
  .option('--kernel-route <cidr>', 'a subnet the kernel routes through the TUN (repeatable)', collect, [])
  .option('--topology <preset|file>', 'a virtual network behind the TUN: a preset (router, router-small-mtu) or a JSON file')
  .option('--forward', 'router mode: forward datagrams not addressed to the stack')
  .option('--reasm-timeout <duration>', 'IP reassembly timeout (Linux ipfrag_time), e.g. 2s', duration('--reasm-timeout'))
  .option('--log-level <level>', 'trace, debug, info, warn, error, silent', 'info')
  .action((o: { tun: string; addr: string; peer: string; mtu?: number; pcap?: string; impair?: string; services: string; hostname: string[]; kernelRoute: string[]; logLevel: string; topology?: string; forward?: boolean; reasmTimeout?: number }) => {
    const logger = createLogger(o.logLevel);
    let running;
    try {
      running = startStack(
        {
          tun: o.tun,
          addr: o.addr,
          peer: o.peer,
          services: o.services,
          hostnames: o.hostname,
          kernelRoutes: o.kernelRoute,
          ...(o.mtu !== undefined ? { mtu: o.mtu } : {}),
          ...(o.pcap !== undefined ? { pcap: o.pcap } : {}),
          ...(o.impair !== undefined ? { impair: o.impair } : {}),
          ...(o.topology !== undefined ? { topology: o.topology } : {}),
          ...(o.forward ? { forward: true } : {}),
          ...(o.reasmTimeout !== undefined ? { reasmTimeoutMs: o.reasmTimeout } : {}),
        },
        logger,
      );
    } catch (e) {
      logger.error((e as Error).message);
      process.stderr.write(`tunstack: ${(e as Error).message}\n`);
      process.exit(1);
    }
    const r = running;
    const shutdown = (sig: string) => {
      logger.info({ signal: sig }, 'shutting down');
      r.stop();
      process.exit(0);
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });

program
  .command('demo')
  .description('the main job: a network namespace, the stack inside it, pinged (and curled) from the kernel; prints a report')
  .option('--keep-pcap <file>', 'keep the capture of the demo at this path')
  .action(async (o: { keepPcap?: string }) => {
    const code = await runDemo({ ...(o.keepPcap ? { keepPcap: o.keepPcap } : {}) });
    process.exit(code);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`tunstack: ${(e as Error).message}\n`);
  process.exit(2);
});
