/**
 * A stack instance: interfaces (links + addresses), IPv4, ICMP and the
 * transports, one timer queue, counters. Wires link <-> ip <-> transports.
 *
 * Per batch from a link: every packet goes through `ip.input`, then the
 * egress hooks run (transports coalesce ACKs and window updates there), then
 * every interface flushes its queue as one batch.
 */
import pino, { type Logger } from 'pino';
import { RealClock, RealTimerDriver, TimerQueue, type Clock } from './clock.js';
import type { Link } from './link/link.js';
import { Stats } from './stats.js';
import { parseCidr } from './ip/address.js';
import { NetInterface } from './ip/interface.js';
import { Ipv4Layer } from './ip/ipv4.js';
import { Ipv6Layer } from './ip/ipv6.js';
import { IcmpType, UnreachCode } from './wire/icmp.js';
import { IcmpLayer, defaultIcmpOptions, type IcmpOptions } from './ip/icmp.js';
import { Reassembler, type ReassemblyOptions } from './ip/reassembler.js';
import { fragmentDatagram } from './ip/fragmenter.js';
import { Forwarder } from './ip/forward.js';
import { Forwarder6 } from './ip/forward6.js';
import { UdpLayer, defaultUdpOptions, type UdpOptions } from './udp/layer.js';
import { Udp6Layer } from './udp/layer6.js';
import { TcpLayer } from './tcp/layer.js';
import type { TcpConfig } from './tcp/config.js';
import { EventFeed } from './observe/feed.js';

/** Batches read from each link before the timers fire (see Stack.pollLinks). */
const POLL_BATCHES = 8;

export interface StackOptions {
  /** Time source; a VirtualClock in tests. Default: the real clock. */
  clock?: Clock;
  /** The one timer structure; created when not given. */
  timers?: TimerQueue;
  logger?: Logger;
  /** TTL of datagrams the stack originates (Linux ip_default_ttl = 64). */
  ttl?: number;
  icmp?: Partial<IcmpOptions>;
  /** Reassembly limits and timeout (defaults like Linux: 30 s, 4 MiB). */
  reassembly?: Partial<ReassemblyOptions>;
  /** UDP defaults (receive queue size, ephemeral range). */
  udp?: Partial<UdpOptions>;
  /** TCP settings (syncookies, buffers, RTO bounds, congestion control, ...); Linux-like defaults, see src/tcp/config.ts. */
  tcp?: Partial<TcpConfig>;
  /** Router mode: forward datagrams not addressed to us (Linux net.ipv4.ip_forward). Default false. */
  forwarding?: boolean;
  /**
   * Flush output queued outside a link batch (timers, application writes) on
   * a microtask. Default true; tests that drive everything by hand may turn it
   * off and call `flush()`.
   */
  autoFlush?: boolean;
}

export interface InterfaceOptions {
  /** Interface name for logs; the link's name by default. */
  name?: string;
  /** Also install a default route through this interface (a point-to-point link needs no gateway). */
  defaultRoute?: boolean;
}

export class Stack {
  readonly clock: Clock;
  readonly timers: TimerQueue;
  readonly stats = new Stats();
  readonly logger: Logger;
  readonly ip: Ipv4Layer;
  readonly ip6: Ipv6Layer;
  readonly icmp: IcmpLayer;
  readonly reassembler: Reassembler;
  readonly forwarder: Forwarder;
  readonly forwarder6: Forwarder6;
  readonly udp: UdpLayer;
  /** UDP over IPv6 (`udp6` sockets). */
  readonly udp6: Udp6Layer;
  readonly tcp: TcpLayer;
  readonly interfaces: NetInterface[] = [];
  /** The observatory's event feed (src/observe): inert until something subscribes. */
  readonly feed: EventFeed = new EventFeed(this);
  private readonly egressHooks: ((now: number) => void)[] = [];
  private readonly closeHooks: (() => void)[] = [];
  private inBatch = false;
  private flushScheduled = false;
  private readonly autoFlush: boolean;
  private driver: RealTimerDriver | null = null;
  private closed = false;
  /** Packets read from the links just before timers fired (they had arrived while the process was busy). */
  private linkPollPackets = 0;

  constructor(opts: StackOptions = {}) {
    this.clock = opts.clock ?? new RealClock();
    this.timers = opts.timers ?? new TimerQueue();
    this.logger = opts.logger ?? pino({ level: 'silent' });
    this.autoFlush = opts.autoFlush ?? true;
    this.ip = new Ipv4Layer(this.stats, { defaultTtl: opts.ttl ?? 64 });
    this.ip.onOutput = this.requestFlush;
    this.ip6 = new Ipv6Layer(this.stats, this.timers, opts.icmp, opts.reassembly);
    this.ip6.onOutput = this.requestFlush;
    // Software GSO pieces over IPv6 come from the same transmit slab as IPv4's (recycled after each flush).
    this.ip6.allocatePacket = (n) => this.ip.allocateUnzeroed(n - 20);
    this.icmp = new IcmpLayer(this.ip, this.stats, { ...defaultIcmpOptions, ...opts.icmp });
    // RFC 1122 §3.2.2.1: a host SHOULD answer a datagram for an unknown protocol with Protocol Unreachable.
    this.ip.onUnknownProtocol = (packet, h, _iface, now) => {
      this.icmp.sendError(IcmpType.DestUnreachable, UnreachCode.Protocol, 0, packet, h, now);
    };
    // Fragments addressed to us are reassembled; datagrams over an interface's MTU are fragmented.
    this.reassembler = new Reassembler(
      { deliver: (p, h, iface, now) => this.ip.deliver(p, h, iface, now), sendError: (t, c, r, o, h, now) => this.icmp.sendError(t, c, r, o, h, now) },
      this.timers,
      this.stats,
      opts.reassembly,
    );
    this.reassembler.feed = this.feed;
    this.ip.fragmentSink = (p, h, iface, now) => this.reassembler.input(p, h, iface, now);
    this.ip.fragmenter = (packet, iface) => {
      fragmentDatagram(packet, iface.mtu, this.stats, (piece) => iface.enqueue(piece));
    };
    this.forwarder = new Forwarder(this.ip, this.icmp, this.stats);
    this.forwarder6 = new Forwarder6(this.ip6, this.stats);
    if (opts.forwarding) {
      this.forwarder.enable();
      this.forwarder6.enable();
    }
    this.udp = new UdpLayer(this.ip, this.icmp, this.stats, opts.udp);
    this.udp6 = new Udp6Layer(this.ip6, this.stats, { ...defaultUdpOptions, ...opts.udp }, () => this.clock.now());
    this.tcp = new TcpLayer(
      {
        clock: this.clock,
        timers: this.timers,
        stats: this.stats,
        ip: this.ip,
        ip6: this.ip6,
        probe: this.feed,
        addEgressHook: (hook) => this.addEgressHook(hook),
        addCloseHook: (hook) => this.addCloseHook(hook),
        flush: () => this.flush(),
      },
      opts.tcp,
    );
    this.stats.gauges = () => ({
      Timers: this.timers.size,
      ReasmDatagrams: this.reassembler.pendingCount,
      ReasmBytes: this.reassembler.memory,
      Reasm6Datagrams: this.ip6.reassembler.pendingCount,
      Reasm6Bytes: this.ip6.reassembler.memory,
      TcpConnections: this.tcp.connectionCount,
      UdpSockets: this.udp.sockets().length,
      Udp6Sockets: this.udp6.sockets().length,
      PolledBeforeTimers: this.linkPollPackets,
    });
    this.closeHooks.push(() => {
      this.udp.closeAll();
      this.udp6.closeAll();
      this.reassembler.clear();
      this.ip6.reassembler.clear();
    });
  }

  /** Router mode on or off (forwarding of datagrams not addressed to this stack). */
  setForwarding(on: boolean): void {
    if (on) {
      this.forwarder.enable();
      this.forwarder6.enable();
    } else {
      this.forwarder.disable();
      this.forwarder6.disable();
    }
  }

  /** Attaches a link with the stack's address on it, e.g. `addInterface(tun, '10.77.0.2/24')`. */
  addInterface(link: Link, cidr: string, opts: InterfaceOptions = {}): NetInterface {
    const c = parseCidr(cidr);
    if (c instanceof Error) throw c;
    const iface = new NetInterface(opts.name ?? link.name, link, c.address, c.prefixLength, c.mask);
    this.interfaces.push(iface);
    this.ip.interfaces.push(iface);
    this.ip.routes.add({ network: c.network, mask: c.mask, prefixLength: c.prefixLength, iface, gateway: 0 });
    if (opts.defaultRoute) this.ip.routes.add({ network: 0, mask: 0, prefixLength: 0, iface, gateway: 0 });
    link.setReceiver((packets, count, meta) => this.receiveBatch(iface, packets, count, meta));
    this.logger.debug({ iface: iface.name, cidr, mtu: link.mtu }, 'interface up');
    return iface;
  }

  /** Puts an IPv6 address on an interface: `addAddress6(iface, 'fd77::2/64')`; `defaultRoute` adds `::/0` through it. */
  addAddress6(iface: NetInterface, cidr: string, opts: { defaultRoute?: boolean } = {}): void {
    const e = this.ip6.addAddress(iface, cidr) ?? (opts.defaultRoute ? this.ip6.addRoute('::/0', iface) : undefined);
    if (e) throw e;
    this.logger.debug({ iface: iface.name, cidr }, 'IPv6 address added');
  }

  /** Adds an IPv6 route: `addRoute6('fd77:9::/64', iface)`. */
  addRoute6(cidr: string, iface: NetInterface): void {
    const e = this.ip6.addRoute(cidr, iface);
    if (e) throw e;
  }

  /** Adds a route: `addRoute('10.77.9.0/24', iface)`; a gateway is recorded for forwarding decisions. */
  addRoute(cidr: string, iface: NetInterface, gateway = 0): void {
    const c = parseCidr(cidr);
    if (c instanceof Error) throw c;
    this.ip.routes.add({ network: c.network, mask: c.mask, prefixLength: c.prefixLength, iface, gateway });
  }

  /** Transports register a pass that runs after each input batch, before the flush. */
  addEgressHook(hook: (now: number) => void): void {
    this.egressHooks.push(hook);
  }

  /** Runs on close (transports stop their timers and sockets). */
  addCloseHook(hook: () => void): void {
    this.closeHooks.push(hook);
  }

  /** Processes one batch of received packets: input each, egress pass, one flush. `meta`: the link's offload words. */
  receiveBatch(iface: NetInterface, packets: readonly Uint8Array[], count: number, meta?: Uint32Array): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.inBatch = true;
    try {
      for (let i = 0; i < count; i++) {
        const p = packets[i]!;
        // The TUN carries both families (IFF_NO_PI): the version nibble tells them apart.
        if (p.length > 0 && p[0]! >> 4 === 6) this.ip6.input(p, iface, now, meta === undefined ? 0 : meta[i]!);
        else if (meta === undefined) this.ip.input(p, iface, now);
        else this.ip.input(p, iface, now, meta[i]!);
      }
      this.runEgress(now);
    } finally {
      this.inBatch = false;
    }
    this.flush();
  }

  /**
   * Reads the packets already waiting on every link (each batch through receiveBatch, as from the event loop),
   * at most POLL_BATCHES batches per link so a flood cannot hold the timers off. Libuv runs expired timers
   * before it polls for I/O: without this, an ACK that arrived while the process was busy (a large batch,
   * a capture write, a collection) was read only after the tail-loss-probe timer sent a spurious probe.
   */
  private pollLinks(): void {
    const ifs = this.interfaces;
    for (let i = 0; i < ifs.length; i++) {
      const link = ifs[i]!.link;
      if (link.pollReceive === undefined) continue;
      for (let b = 0; b < POLL_BATCHES && !this.closed; b++) {
        const n = link.pollReceive();
        if (n === 0) break;
        this.linkPollPackets += n;
      }
    }
  }

  private runEgress(now: number): void {
    const hooks = this.egressHooks;
    for (let i = 0; i < hooks.length; i++) hooks[i]!(now);
  }

  /**
   * Fires due timers at `now` (default: the clock's now, read after the links' waiting input), runs the egress
   * pass and flushes. Input already waiting on a link is handled first (`pollLinks`): a timer must not act
   * on the absence of an ACK that has arrived but not been read yet.
   */
  runTimers(now?: number): void {
    if (this.closed) return;
    this.pollLinks();
    if (this.closed) return;
    now ??= this.clock.now();
    this.inBatch = true;
    try {
      this.timers.runDue(now);
      this.runEgress(now);
    } finally {
      this.inBatch = false;
    }
    this.flush();
  }

  /** Sends every interface's queued packets, one batch per interface; then recycles the transmit slab when every link is done with its buffers. */
  flush(): void {
    this.flushScheduled = false;
    const ifs = this.interfaces;
    let sync = ifs.length > 0;
    for (let i = 0; i < ifs.length; i++) {
      const f = ifs[i]!;
      f.flush();
      if (f.link.sendsSynchronously !== true) sync = false;
    }
    if (sync) this.ip.recycleTx();
    else this.ip.forgetFilledTx();
  }

  private readonly requestFlush = (): void => {
    if (this.inBatch || this.flushScheduled || !this.autoFlush) return;
    this.flushScheduled = true;
    queueMicrotask(this.flushFromMicrotask);
  };

  private readonly flushFromMicrotask = (): void => {
    if (!this.flushScheduled || this.closed) return;
    this.runEgress(this.clock.now());
    this.flush();
  };

  /** Drives the timer queue from the real clock (for a running stack; tests use a VirtualClock instead). */
  startRealTime(): void {
    if (this.driver) return;
    this.driver = new RealTimerDriver(this.clock, this.timers, () => this.runTimers());
  }

  close(): void {
    if (this.closed) return;
    this.feed.close();
    for (const h of this.closeHooks) h();
    this.flush();
    this.closed = true;
    this.driver?.stop();
    this.driver = null;
    for (const f of this.interfaces) f.link.close();
  }
}
