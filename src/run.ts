/**
 * `tunstack up`: a stack on a TUN device (optionally behind the impairment
 * stage and a pcap tap), built-in services, real time, clean shutdown on
 * SIGINT/SIGTERM with the capture flushed.
 */
import type { Logger } from 'pino';
import { RealClock, TimerQueue } from './clock.js';
import { Stack } from './stack.js';
import { defaultTcpConfig, liveTcpConfig } from './tcp/config.js';
import { TunLink } from './link/tun.js';
import type { Link } from './link/link.js';
import { ImpairedLink } from './link/impair.js';
import { parseImpairSpec, formatImpairSpec } from './link/impair-spec.js';
import { PcapTap } from './link/pcap-tap.js';
import { CaptureController, type CaptureSettings } from './control/capture.js';
import { drainConnections } from './control/shutdown.js';
import { applySysctls, stageSysctls } from './control/sysctl.js';
import { parseAddress, parseCidr } from './ip/address.js';
import { resolveServices, type ServiceContext, type ShardView } from './services.js';
import type { HttpLimits } from './http/limits.js';
import { buildTopology, loadTopology, topologyKernelRoutes, type VirtualNetwork } from './topology.js';
import { existsSync } from 'node:fs';
import { parseIpv6, parseIpv6Cidr } from './wire/ipv6.js';

export interface UpOptions {
  tun: string;
  addr: string;
  peer: string;
  /** The stack's IPv6 address and prefix (`--addr6`, default fd77::2/64); 'off': IPv4 only. */
  addr6?: string;
  /** The kernel side's IPv6 address (`--peer6`, default fd77::1), inside `addr6`'s prefix. */
  peer6?: string;
  mtu?: number;
  pcap?: string;
  /** What the `pcap` capture keeps: snap length and filter (tcpdump's -s and expression). */
  pcapSettings?: CaptureSettings;
  impair?: string;
  services: string;
  hostnames: string[];
  /** Extra CIDRs routed by the kernel through the TUN (virtual networks behind the stack). */
  kernelRoutes: string[];
  /** A virtual network behind the TUN: a preset name (`router`) or a JSON file (see src/topology.ts). */
  topology?: string;
  /** Reassembly timeout, ms (Linux ipfrag_time; default 30 s). */
  reasmTimeoutMs?: number;
  /** Router mode for the TUN stack (also set by a topology whose `tun` node forwards). */
  forward?: boolean;
  /**
   * TUN offloads (`--offload on|off`): virtio-net header, checksum offload and TSO both ways, used when the
   * kernel accepts them. Default on, except behind `--impair` (the impairment stage works on wire packets).
   */
  offload?: boolean;
  /**
   * Busy polling (`--busy-poll µs`, default 50): after a batch the TUN is read again for this long before the
   * process sleeps in epoll. A packet that finds the reader awake costs its sender no wake-up (in a VM, an
   * inter-processor interrupt); 0 sleeps at once (no spinning, a little more latency).
   */
  busyPollUs?: number;
  /** Tunables set at start (`--sysctl NAME=VALUE`, repeatable): see src/control/sysctl.ts and docs/sysctl.md. */
  sysctl?: readonly string[];
  /** JIT warm-up before taking traffic (`--warmup on|off`, default on): see src/warmup.ts. */
  warmup?: boolean;
  /** TCP Fast Open on every listener (`--fast-open on`, the default): net.ipv4.tcp_fastopen = 0x403, each listener's queue its backlog; off: Linux's default 1 (client only). */
  fastOpen?: boolean;
  /**
   * The bundled HTTP server (`--http PORT`, `--static DIR`, `--http-limit`): given, it runs even when
   * `--services` does not name `http`; 'off' keeps it off even under `all`. Absent: as `--services` says, on port 80.
   */
  http?: { port?: number; staticDir?: string; limits?: Partial<HttpLimits> } | 'off';
  /** The HTTPS server (`--https PORT|off`, `--tls-cert`, `--tls-key`): like `http`; absent: as `--services` says, on port 443. */
  https?: { port?: number; certFile?: string; keyFile?: string } | 'off';
  /** The observatory: samples per second (default 10) and the dashboard's token (`--sample-rate`, `--dashboard-token`). */
  observe?: { sampleRate?: number; dashboardToken?: string | null };
  /**
   * One shard of `--workers N`: the TUN is opened as one queue of a multi-queue device (IFF_MULTI_QUEUE).
   * Queue 0 creates and configures the device as a single stack would; the others attach to it as it is.
   */
  queue?: { index: number; shards: ShardView };
}

export interface RunningStack {
  stack: Stack;
  /** Starts and stops captures on the running stack (`--pcap`, `tunstack capture`). */
  capture: CaptureController;
  /** True when this process created the TUN device (it disappears when the stack closes it). */
  createdTun: boolean;
  /**
   * Graceful stop (SIGTERM): stops the services (no new connections), gives
   * open connections `graceMs` to close with FIN, resets the rest, then stop().
   */
  shutdown(graceMs: number): Promise<void>;
  /** Stops services, closes the stack (flushing the capture); idempotent. */
  stop(): void;
}

/** Validates options and brings the stack up; throws an Error with a clear message on bad options. */
/** Default `--busy-poll`: covers a request/response turn-around on the kernel side of the TUN. */
export const DEFAULT_BUSY_POLL_US = 50;

/** IPv6 on the TUN by default: the stack at fd77::2/64, the kernel side fd77::1 (a ULA prefix, RFC 4193). */
export const DEFAULT_ADDR6 = 'fd77::2/64';
export const DEFAULT_PEER6 = 'fd77::1';

/** `--addr6`: an IPv6 CIDR, or 'off' (null). */
function ipv6Setting(v: string): { text: string; prefixLength: number } | null | Error {
  if (v === 'off') return null;
  const c = parseIpv6Cidr(v, 64);
  if (c instanceof Error) return new Error(`--addr6: '${v}' is not an IPv6 address with a prefix of 1..128 (e.g. fd77::2/64), nor off`);
  return { text: `${v.split('/')[0]}/${c.prefixLength}`, prefixLength: c.prefixLength };
}

export function startStack(opts: UpOptions, logger: Logger): RunningStack {
  const addr = parseCidr(opts.addr);
  if (addr instanceof Error) throw new Error(`--addr: ${addr.message}`);
  const peer = parseAddress(opts.peer);
  if (peer instanceof Error) throw new Error(`--peer: ${peer.message}`);
  if (((peer & addr.mask) >>> 0) !== addr.network) throw new Error(`--peer ${opts.peer} is not inside ${opts.addr}`);
  if (peer === addr.address) throw new Error(`--peer and --addr are the same address`);
  const resolved = resolveServices(opts.services);
  if (resolved instanceof Error) throw new Error(`--services: ${resolved.message}`);
  let services = resolved;
  if (opts.http === 'off') services = services.filter((s) => s.name !== 'http');
  else if (opts.http !== undefined && !services.some((s) => s.name === 'http')) {
    const all = resolveServices('http');
    if (!(all instanceof Error)) services = [...services, ...all];
  }
  if (opts.https === 'off') services = services.filter((s) => s.name !== 'https');
  else if (opts.https !== undefined && !services.some((s) => s.name === 'https')) {
    const one = resolveServices('https');
    if (!(one instanceof Error)) services = [...services, ...one];
  }
  const spec = opts.impair ? parseImpairSpec(opts.impair) : undefined;
  if (spec && 'error' in spec) throw new Error(spec.error);
  const topo = opts.topology !== undefined ? loadTopology(opts.topology) : undefined;
  if (topo instanceof Error) throw topo;
  const kernelRoutes = [...opts.kernelRoutes, ...(topo ? topologyKernelRoutes(topo, opts.addr) : [])];
  for (const r of kernelRoutes) {
    const c = r.includes(':') ? parseIpv6Cidr(r, 128) : parseCidr(r);
    if (c instanceof Error) throw new Error(`route ${r}: ${c.message}`);
  }

  const sysctls = stageSysctls(opts.sysctl ?? []);
  if (sysctls instanceof Error) throw new Error(`--sysctl: ${sysctls.message}`);

  const addr6 = ipv6Setting(opts.addr6 ?? DEFAULT_ADDR6);
  if (addr6 instanceof Error) throw addr6;
  const peer6 = opts.peer6 ?? DEFAULT_PEER6;
  if (addr6 !== null && parseIpv6(peer6) instanceof Error) throw new Error(`--peer6: '${peer6}' is not an IPv6 address`);
  const clock = new RealClock();
  const timers = new TimerQueue();
  const exists = existsSync(`/sys/class/net/${opts.tun}`);
  const offload = opts.offload ?? spec === undefined;
  const busyPollUs = opts.busyPollUs ?? DEFAULT_BUSY_POLL_US;
  const multiQueue = opts.queue !== undefined;
  const tun = opts.queue !== undefined && opts.queue.index > 0
    ? TunLink.open({ name: opts.tun, offload, busyPollUs, multiQueue })
    : exists
    ? TunLink.open({ name: opts.tun, ...(opts.mtu ? { mtu: opts.mtu } : {}), routes: kernelRoutes, offload, busyPollUs, multiQueue })
    : TunLink.open({
        name: opts.tun,
        mtu: opts.mtu ?? 1500,
        kernelAddress: opts.peer,
        prefixLength: addr.prefixLength,
        ...(addr6 !== null ? { kernelAddress6: peer6, prefixLength6: addr6.prefixLength } : {}),
        up: true,
        routes: kernelRoutes,
        offload,
        busyPollUs,
        multiQueue,
      });
  logger.info(
    { tun: opts.tun, attached: exists, mtu: tun.mtu, offload: tun.vnetHdr ? `vnet_hdr, TUN_F 0x${tun.offloadFlags.toString(16)}` : 'off' },
    exists ? 'attached to existing TUN device' : 'created TUN device',
  );
  if (offload && !tun.vnetHdr) logger.warn({ tun: opts.tun }, 'the kernel refused IFF_VNET_HDR: TUN offloads off (software segmentation and checksums)');

  let link: Link = tun;
  let impaired: ImpairedLink | null = null;
  if (spec && !('error' in spec)) {
    link = impaired = new ImpairedLink(link, spec, clock, timers);
    logger.info({ impair: formatImpairSpec(spec) }, 'impairment stage on');
  }
  // The tap is always in the chain so that `tunstack capture --start` can begin a capture on a running stack.
  const tap = new PcapTap(link, null, clock);
  link = tap;
  const capture = new CaptureController(tap, logger);
  if (opts.pcap) capture.start(opts.pcap, opts.pcapSettings);

  const reassembly = opts.reasmTimeoutMs !== undefined ? { timeoutMs: opts.reasmTimeoutMs } : undefined;
  // Tail loss probes and buffer autotuning on, as Linux has them by default (the library's defaults are off: see TcpConfig).
  const stack = new Stack(applySysctls({ clock, timers, logger, forwarding: opts.forward ?? false, tcp: opts.fastOpen === false ? { ...liveTcpConfig, fastOpen: defaultTcpConfig.fastOpen } : liveTcpConfig, ...(reassembly ? { reassembly } : {}) }, sysctls));
  const tunIface = stack.addInterface(link, opts.addr, { defaultRoute: true, name: opts.tun });
  if (addr6 !== null && tun.ipv6Unavailable !== null) {
    logger.warn({ tun: opts.tun }, `${tun.ipv6Unavailable}: serving IPv4 only (--addr6 off says so and silences this)`);
  } else if (addr6 !== null) {
    stack.addAddress6(tunIface, `${addr6.text}`, { defaultRoute: true });
  }
  tun.onDrop = (reason) => stack.stats.drop(`link.${reason}`);
  if (impaired !== null) {
    const st = impaired.stats;
    stack.stats.impair = () => ({ in: { ...st.in }, out: { ...st.out } });
  }
  if (opts.observe?.sampleRate !== undefined) stack.feed.sampleMs = 1000 / opts.observe.sampleRate;
  let net: VirtualNetwork | undefined;
  if (topo) {
    net = buildTopology(topo, stack, { clock, logger, ...(reassembly ? { stackOptions: { reassembly } } : {}) });
    logger.info({ topology: opts.topology, nodes: [...net.stacks.keys()], kernelRoutes }, 'virtual network up');
  }
  const ctx: ServiceContext = {
    hostnames: opts.hostnames,
    ...(opts.http !== undefined && opts.http !== 'off' ? { http: opts.http } : {}),
    ...(opts.https !== undefined && opts.https !== 'off' ? { https: opts.https } : {}),
    dashboard: { token: opts.observe?.dashboardToken ?? null },
    ...(opts.queue !== undefined ? { shards: opts.queue.shards } : {}),
  };
  const stops = services.map((s) => {
    const stop = s.start(stack, ctx);
    logger.info({ service: s.name }, `service ${s.name} up`);
    return stop;
  });
  stack.startRealTime();
  logger.info({ addr: opts.addr, peer: opts.peer, services: services.map((s) => s.name) }, 'stack up');

  let stopped = false;
  let servicesStopped = false;
  const stopServices = (): void => {
    if (servicesStopped) return;
    servicesStopped = true;
    for (const s of stops) s();
  };
  return {
    stack,
    capture,
    createdTun: !exists,
    async shutdown(graceMs: number) {
      if (stopped) return;
      stopServices();
      await drainConnections(stack, graceMs, logger);
      this.stop();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      stopServices();
      net?.stop();
      stack.close();
      capture.stop();
      logger.info({ stats: stack.stats.toJSON() }, 'stack down');
      logger.info(
        { tx: tun.txPackets, txGso: tun.txGsoPackets, txDrops: tun.txDrops, rx: tun.rxPackets, rxBatches: tun.rxBatches, rxGso: tun.rxGsoPackets, rxPartialCsum: tun.rxPartialCsum, vnetDrops: tun.vnetDrops, gsoSoftware: stack.ip.gsoFallbackPackets, gsoSoftware6: stack.ip6.gsoFallbackPackets },
        'tun counters',
      );
    },
  };
}
