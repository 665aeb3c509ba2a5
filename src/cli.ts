#!/usr/bin/env node
/** The `tunstack` command line (commander). */
import './gc-tuning.js';
import { Command, InvalidArgumentError } from 'commander';
import { createLogger } from './log.js';
import { loadConfig, DEFAULTS, type TunstackConfig } from './config.js';
import type { UpOptions } from './run.js';
import { parseHttpLimitSpec } from './http/limits.js';
import { runInstance } from './control/instance.js';
import { captureSettingsOf, checkCaptureSettings } from './control/capture.js';
import { runSupervisor } from './workers/supervisor.js';
import { captureCommand, ssCommand, statsCommand } from './control/commands.js';
import { sysctlCommand } from './control/sysctl-command.js';
import { sysctlMarkdown } from './control/sysctl-doc.js';
import { dropReasonsMarkdown, formatDropReasons } from './control/drop-reasons-doc.js';
import { runDemo } from './demo.js';
import { runHandshakeDemo } from './demo-handshakes.js';
import { topCommand } from './observe/top.js';
import { traceCommand } from './observe/trace.js';
import './services-all.js';
import { addConnectCommand } from './control/connect-command.js';
import { addConformCommands } from './conform/commands.js';
import { exitQuietlyWhenStdoutCloses } from './closed-pipe.js';

exitQuietlyWhenStdoutCloses();

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

/** Millions of bytes (tcpdump's -C unit), e.g. `100` or `0.5` → bytes. */
function megabytes(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+(\.\d+)?$/.test(v.trim()) || !(n > 0) || n > 1_000_000) throw new InvalidArgumentError(`${name} takes a size in millions of bytes, e.g. 100 or 0.5`);
    return Math.max(1, Math.round(n * 1_000_000));
  };
}

function busyPoll(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n > 1_000_000) throw new InvalidArgumentError('--busy-poll must be 0 to 1000000 microseconds');
  return n;
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

function onOff(name: string) {
  return (v: string): boolean => {
    if (v === 'on') return true;
    if (v === 'off') return false;
    throw new InvalidArgumentError(`${name} takes on or off`);
  };
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

const program = new Command();
program.name('tunstack').description('A userspace TCP/IP stack on a Linux TUN device').version('0.1.0');

program
  .command('up')
  .description('bring the stack up on a TUN device and run until SIGINT/SIGTERM')
  .option('--tun <name>', `TUN device, created and configured if it does not exist (default ${DEFAULTS.tun})`)
  .option('--addr <cidr>', `the stack's address and prefix (default ${DEFAULTS.addr})`)
  .option('--peer <addr>', `the kernel side of the TUN (default ${DEFAULTS.peer})`)
  .option('--mtu <bytes>', `link MTU, 68..65535 (default ${DEFAULTS.mtu} for a new device; an existing one keeps its own)`, positiveInt('--mtu'))
  .option('--pcap <file>', 'record every packet in and out (libpcap, LINKTYPE_RAW)')
  .option('--pcap-snaplen <bytes>', 'with --pcap: keep at most this many bytes of each packet (like tcpdump -s)', positiveInt('--pcap-snaplen'))
  .option('--pcap-filter <expr>', "with --pcap: keep only matching packets, e.g. 'tcp port 80' (like tcpdump's expression)")
  .option('--pcap-rotate-size <MB>', 'with --pcap: a new file once one holds this many millions of bytes (like tcpdump -C)', megabytes('--pcap-rotate-size'))
  .option('--pcap-rotate-count <n>', 'with --pcap-rotate-size: keep this many files (like tcpdump -W)', positiveInt('--pcap-rotate-count'))
  .option('--impair <spec>', 'impairment stage, e.g. loss=5%,delay=10ms,jitter=2ms,reorder=25%,seed=7 or out:ce=2% (CE marks), out:ce-queue=20 (in:/out: prefixes)')
  .option('--services <list>', 'built-in services: all, none, or a comma-separated list (default all)')
  .option('--hostname <name>', 'an extra name the DNS service answers for (repeatable)', collect)
  .option('--kernel-route <cidr>', 'a subnet the kernel routes through the TUN (repeatable)', collect)
  .option('--topology <preset|file>', 'a virtual network behind the TUN: a preset (router, router-small-mtu) or a JSON file')
  .option('--forward', 'router mode: forward datagrams not addressed to the stack')
  .option('--reasm-timeout <duration>', 'IP reassembly timeout (Linux ipfrag_time), e.g. 2s', duration('--reasm-timeout'))
  .option('--log-level <level>', 'trace, debug, info, warn, error, silent (default info)')
  .option('--http <port>', 'port of the bundled HTTP server on the stack, or off (default 80: the `http` service, part of --services all)')
  .option('--static <dir>', 'the HTTP server also serves the files in DIR (GET/HEAD, Range, If-Modified-Since)')
  .option('--addr6 <cidr>', "the stack's IPv6 address and prefix on the TUN, or off (default fd77::2/64)")
  .option('--peer6 <addr>', 'the kernel side of the TUN, IPv6 (default fd77::1)')
  .option('--https <port>', 'port of the HTTPS server (HTTP/2 and HTTP/1.1 over TLS), or off (default 443: the `https` service, part of --services all)')
  .option('--tls-cert <file>', 'PEM certificate for HTTPS (default: a self-signed one made at start; curl then needs -k)')
  .option('--tls-key <file>', 'PEM private key for HTTPS')
  .option('--http-limit <spec>', 'HTTP limits, e.g. maxBodyBytes=10485760,headersTimeout=5000,maxConnections=256 (see src/http/limits.ts)')
  .option('--name <name>', 'instance name for the control socket (default: the TUN name)')
  .option('--control <path|off>', 'control socket path, or off (default /run/tunstack/NAME.sock)')
  .option('--grace <duration>', 'graceful-shutdown budget: FIN, then RST after it (default 5s)')
  .option('--offload <on|off>', 'TUN offloads: virtio-net header, checksum offload, TSO both ways (default on when the kernel accepts them; off with --impair)', onOff('--offload'))
  .option('--busy-poll <us>', 'after a batch, keep reading the TUN this many microseconds before sleeping (0 = never spin; default 50)', busyPoll)
  .option('--fast-open <on|off>', 'TCP Fast Open (RFC 7413) for every listener and client, as Linux net.ipv4.tcp_fastopen=0x403 (default on; off: client only, Linux\'s default 1)', onOff('--fast-open'))
  .option('--warmup <on|off>', 'JIT warm-up before taking traffic: a 32 MiB transfer each way between two in-process stacks, no packets (default on)', onOff('--warmup'))
  .option('--dashboard-token <token>', 'the dashboard (/_stack/ on the HTTP server) requires this token (?token=, Bearer, or its cookie)')
  .option('--sample-rate <n>', `observatory samples per second, 1..100 (default ${DEFAULTS.sampleRate})`)
  .option('--workers <n>', `stack shards, 1..64: worker threads, one queue each of a multi-queue TUN; flows stay on their shard (default ${DEFAULTS.workers})`)
  .option('--sysctl <name=value>', 'set a tunable at start, e.g. net.ipv4.tcp_sack=0 (repeatable; `tunstack sysctl -a` and docs/sysctl.md list them)', collect)
  .option('--config <file>', 'JSON file with any of these options (also TUNSTACK_CONFIG); flags beat TUNSTACK_* variables beat the file')
  .action(async (o: { tun?: string; addr?: string; peer?: string; addr6?: string; peer6?: string; mtu?: number; pcap?: string; pcapSnaplen?: number; pcapFilter?: string; pcapRotateSize?: number; pcapRotateCount?: number; impair?: string; services?: string; hostname?: string[]; kernelRoute?: string[]; logLevel?: string; topology?: string; forward?: boolean; reasmTimeout?: number; http?: string; https?: string; tlsCert?: string; tlsKey?: string; static?: string; httpLimit?: string; name?: string; control?: string; grace?: string; offload?: boolean; busyPoll?: number; warmup?: boolean; fastOpen?: boolean; dashboardToken?: string; sampleRate?: string; workers?: string; sysctl?: string[]; config?: string }) => {
    let loaded;
    try {
      loaded = loadConfig({
        flags: { tun: o.tun, addr: o.addr, peer: o.peer, addr6: o.addr6, peer6: o.peer6, mtu: o.mtu, pcap: o.pcap, impair: o.impair, services: o.services, hostnames: o.hostname, routes: o.kernelRoute, logLevel: o.logLevel, http: o.http, https: o.https, tlsCert: o.tlsCert, tlsKey: o.tlsKey, static: o.static, httpLimits: o.httpLimit, name: o.name, control: o.control, graceMs: o.grace, dashboardToken: o.dashboardToken, sampleRate: o.sampleRate, workers: o.workers, sysctl: o.sysctl },
        env: process.env,
        ...(o.config !== undefined ? { file: o.config } : {}),
      });
    } catch (e) {
      process.stderr.write(`tunstack: ${(e as Error).message}\n`);
      process.exit(1);
    }
    const c = loaded.config;
    const pcapSettings = captureSettingsOf({ snaplen: o.pcapSnaplen, filter: o.pcapFilter, rotateBytes: o.pcapRotateSize, rotateCount: o.pcapRotateCount });
    try {
      if (c.pcap === null && Object.keys(pcapSettings).length > 0) throw new Error('--pcap-snaplen, --pcap-filter and --pcap-rotate-* go with --pcap FILE');
      checkCaptureSettings(pcapSettings);
    } catch (e) {
      process.stderr.write(`tunstack: ${(e as Error).message}\n`);
      process.exit(1);
    }
    const logger = createLogger(c.logLevel);
    const run = c.workers > 1 ? runSupervisor : runInstance;
    try {
      await run(
        c,
        {
          tun: c.tun,
          addr: c.addr,
          peer: c.peer,
          addr6: c.addr6,
          peer6: c.peer6,
          services: c.services,
          hostnames: c.hostnames,
          kernelRoutes: c.routes,
          // An existing device keeps its MTU unless one was asked for.
          ...(loaded.sources.mtu !== 'default' ? { mtu: c.mtu } : {}),
          ...(c.impair !== null ? { impair: c.impair } : {}),
          ...(c.pcap !== null ? { pcap: c.pcap, pcapSettings } : {}),
          ...(o.topology !== undefined ? { topology: o.topology } : {}),
          ...(o.forward ? { forward: true } : {}),
          ...(o.reasmTimeout !== undefined ? { reasmTimeoutMs: o.reasmTimeout } : {}),
          ...(o.offload !== undefined ? { offload: o.offload } : {}),
          ...(o.busyPoll !== undefined ? { busyPollUs: o.busyPoll } : {}),
          ...(o.warmup !== undefined ? { warmup: o.warmup } : {}),
          ...(o.fastOpen !== undefined ? { fastOpen: o.fastOpen } : {}),
          ...httpUpOptions(c),
          ...httpsUpOptions(c),
          observe: { sampleRate: c.sampleRate, dashboardToken: c.dashboardToken },
          ...(c.sysctl.length > 0 ? { sysctl: c.sysctl } : {}),
        },
        logger,
      );
    } catch (e) {
      // One line, once: the logger writes to stderr too, so it is not told as well.
      process.stderr.write(`tunstack: ${(e as Error).message}\n`);
      process.exit(1);
    }
  });

/** The HTTP part of UpOptions from a validated config: `--http off` → off; a port, static dir or limits given → on with them. */
function httpUpOptions(c: TunstackConfig): Pick<UpOptions, 'http'> {
  if (c.http === 'off') return { http: 'off' };
  if (c.http === null && c.static === null && c.httpLimits === null) return {};
  const limits = c.httpLimits !== null ? parseHttpLimitSpec(c.httpLimits) : {};
  return {
    http: {
      ...(c.http !== null ? { port: c.http } : {}),
      ...(c.static !== null ? { staticDir: c.static } : {}),
      ...(limits instanceof Error ? {} : { limits }),
    },
  };
}

/** The HTTPS part of UpOptions: `--https off` → off; a port or certificate files given → on with them. */
function httpsUpOptions(c: TunstackConfig): Pick<UpOptions, 'https'> {
  if (c.https === 'off') return { https: 'off' };
  if (c.https === null && c.tlsCert === null) return {};
  return {
    https: {
      ...(c.https !== null ? { port: c.https } : {}),
      ...(c.tlsCert !== null && c.tlsKey !== null ? { certFile: c.tlsCert, keyFile: c.tlsKey } : {}),
    },
  };
}

/** --watch [SECS]: true (no value) means every second. */
function watchSecs(v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v === true) return 1;
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError('--watch takes a number of seconds > 0');
  return n;
}

async function operatorCommand(run: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await run();
  } catch (e) {
    process.stderr.write(`tunstack: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}

program
  .command('stats')
  .description("a running stack's counters, like nstat: the non-zero ones; with --watch the deltas every interval")
  .option('--name <name>', 'instance name (default: the TUN name, $TUNSTACK_NAME or tun0; inside a named netns NETNS.tun0)')
  .option('--socket <path>', 'control socket path (instead of --name)')
  .option('--watch [secs]', 'print deltas every SECS seconds (default 1)')
  .option('--count <n>', 'with --watch: stop after N intervals', positiveInt('--count'))
  .option('-a, --all', 'include counters that are zero')
  .option('--json', 'JSON instead of text')
  .option('--reasons', 'print every drop reason with its meaning (with --markdown: docs/drop-reasons.md) and exit; needs no running stack')
  .option('--markdown', 'with --reasons: as a Markdown table')
  .action((o: { name?: string; socket?: string; watch?: string | boolean; count?: number; all?: boolean; json?: boolean; reasons?: boolean; markdown?: boolean }) =>
    operatorCommand(async () => {
      if (o.reasons) {
        process.stdout.write(o.markdown ? dropReasonsMarkdown() : formatDropReasons());
        return 0;
      }
      const watch = watchSecs(o.watch);
      return statsCommand({ ...o, watch });
    }),
  );

program
  .command('ss')
  .description("a running stack's socket table, like iproute2's ss -tuan: state, queues, addresses; -i internals, -m memory; FILTER like ss's")
  .argument('[filter...]', "iproute2's filter: [state STATE]... [EXPRESSION], e.g. state established '( dport = :443 or sport = :80 )' dst 10.77.0.1")
  .option('-t, --tcp', 'only TCP sockets')
  .option('-u, --udp', 'only UDP sockets')
  .option('-i, --info', 'internal TCP information (cwnd, rtt, rto, mss, wscale, bytes, retrans, ...) as ss -i prints it')
  .option('-m, --memory', 'socket memory as ss -m prints it: skmem:(r,rb,t,tb,f,w,o,bl,d)')
  .option('-n, --numeric', 'accepted for ss habits: addresses and ports are always numeric')
  .option('--name <name>', 'instance name (default: as for stats)')
  .option('--socket <path>', 'control socket path (instead of --name)')
  .option('--json', 'JSON instead of text (the whole table, unfiltered)')
  .action((filter: string[], o: { name?: string; socket?: string; info?: boolean; memory?: boolean; tcp?: boolean; udp?: boolean; json?: boolean }) =>
    operatorCommand(() => ssCommand({ ...o, filter })),
  );

program
  .command('sysctl')
  .description("a running stack's tunables, like sysctl: -a every one, NAME reads, NAME=VALUE writes (the ones safe at run time)")
  .argument('[names...]', 'NAME or NAME=VALUE, e.g. net.ipv4.tcp_sack or net.ipv4.tcp_keepalive_time=600')
  .option('-a, --all', 'every tunable')
  .option('-n, --values', 'print values only')
  .option('-d, --describe', 'with each: unit, whether it is writable at run time, meaning')
  .option('--json', 'JSON instead of text')
  .option('--markdown', 'print the reference of every tunable (docs/sysctl.md) and exit; needs no running stack')
  .option('--name <name>', 'instance name (default: as for stats)')
  .option('--socket <path>', 'control socket path (instead of --name)')
  .action((names: string[], o: { all?: boolean; values?: boolean; describe?: boolean; json?: boolean; markdown?: boolean; name?: string; socket?: string }) =>
    operatorCommand(async () => {
      if (o.markdown) {
        process.stdout.write(sysctlMarkdown());
        return 0;
      }
      return sysctlCommand(names, o);
    }),
  );

program
  .command('capture')
  .description('start or stop a capture (pcap or pcapng) on a running stack')
  .option('--start <file>', 'start recording every packet in and out into FILE (truncated)')
  .option('-s, --snaplen <bytes>', 'with --start: keep at most this many bytes of each packet (like tcpdump -s)', positiveInt('--snaplen'))
  .option('--filter <expr>', "with --start: keep only matching packets, e.g. 'tcp port 80', 'host 10.77.0.1 and not icmp' (see docs/operations.md)")
  .option('-C, --rotate-size <MB>', 'with --start: go on in a new file (FILE.1.pcap, ...) once one holds this many millions of bytes (like tcpdump -C)', megabytes('-C'))
  .option('-W, --rotate-count <n>', 'with -C: keep this many files, overwriting the oldest (like tcpdump -W)', positiveInt('-W'))
  .option('--format <pcap|pcapng>', 'with --start: the file format (default: pcapng for a FILE ending in .pcapng, else pcap)')
  .option('--time-stamp-precision <micro|nano>', 'with --start, pcapng: time stamps in microseconds (default) or nanoseconds (like tcpdump)')
  .option('--stop', 'stop the capture (the file is flushed and closed)')
  .option('--status', 'whether a capture is running')
  .option('--name <name>', 'instance name (default: as for stats)')
  .option('--socket <path>', 'control socket path (instead of --name)')
  .action((o: { start?: string; snaplen?: number; filter?: string; rotateSize?: number; rotateCount?: number; format?: 'pcap' | 'pcapng'; timeStampPrecision?: 'micro' | 'nano'; stop?: boolean; status?: boolean; name?: string; socket?: string }) =>
    operatorCommand(() => {
      const { rotateSize, timeStampPrecision, ...rest } = o;
      return captureCommand({ ...rest, ...(rotateSize !== undefined ? { rotateBytes: rotateSize } : {}), ...(timeStampPrecision !== undefined ? { precision: timeStampPrecision } : {}) });
    }),
  );

program
  .command('top')
  .description("a running stack, refreshing: counters with rates, listeners' SYN/accept queues, the busiest connections (q quits)")
  .option('--name <name>', 'instance name (default: as for stats)')
  .option('--socket <path>', 'control socket path (instead of --name)')
  .option('--interval <secs>', 'seconds between refreshes (default 1)', Number)
  .option('--count <n>', 'stop after N refreshes', positiveInt('--count'))
  .option('--conns <n>', 'connections shown (default: what fits)', positiveInt('--conns'))
  .action((o: { name?: string; socket?: string; interval?: number; count?: number; conns?: number }) => operatorCommand(() => topCommand(o)));

program
  .command('trace')
  .description('segments as a ladder diagram: live from a running stack (--conn ID | --port N), or from a capture (--pcap FILE, --svg OUT)')
  .option('--conn <id>', 'live: a connection id (from `tunstack top` or the dashboard); with --pcap: an index from the listing or ADDR:PORT-ADDR:PORT')
  .option('--port <n>', 'every connection with this port (live), or the first one in the capture', positiveInt('--port'))
  .option('--pcap <file>', 'draw from a capture instead of a running stack (without --conn/--port: list its connections)')
  .option('--svg <file>', 'with --pcap: also write a time-sequence graph and the ladder as SVG')
  .option('--count <n>', 'live: stop after N segments; capture: print at most N (default 2000)', positiveInt('--count'))
  .option('--duration <secs>', 'live: stop after this many seconds', Number)
  .option('--width <cols>', 'width of the ladder (default: the terminal)', positiveInt('--width'))
  .option('--name <name>', 'instance name (default: as for stats)')
  .option('--socket <path>', 'control socket path (instead of --name)')
  .action((o: { conn?: string; port?: number; pcap?: string; svg?: string; count?: number; duration?: number; width?: number; name?: string; socket?: string }) =>
    operatorCommand(() => traceCommand(o)),
  );

program
  .command('demo')
  .description('the main job: a network namespace, the stack inside it, pinged (and curled) from the kernel; prints a report')
  .option('--keep-pcap <file>', 'keep the capture of the demo at this path')
  .option('--handshakes', 'instead: a table of round trips and time to the first byte for HTTP, HTTPS (TLS 1.2, 1.3), each with and without Fast Open, curled from the kernel side')
  .action(async (o: { keepPcap?: string; handshakes?: boolean }) => {
    const code = o.handshakes ? await runHandshakeDemo() : await runDemo({ ...(o.keepPcap ? { keepPcap: o.keepPcap } : {}) });
    process.exit(code);
  });

addConnectCommand(program, { tun: DEFAULTS.tun, addr: DEFAULTS.addr, peer: DEFAULTS.peer });
addConformCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`tunstack: ${(e as Error).message}\n`);
  process.exit(2);
});
