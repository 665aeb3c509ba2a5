/**
 * A Link over a Linux TUN device (IFF_TUN | IFF_NO_PI), through the native
 * shim in native-shims/tun.c (built by node-gyp into build/Release/tunshim.node).
 *
 * Receive: the shim reads every ready packet (up to `batchSize`) per wake-up
 * into one preallocated area and calls us once; the receiver gets views into
 * that area, valid only during the call. Send: one native call per batch; a
 * full device queue (EAGAIN/ENOBUFS) or a packet the kernel rejects counts as
 * a drop — the packet path never throws.
 *
 * Offloads (`offload: true`, the default): the device is attached with
 * IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6), so every packet
 * crosses with a virtio_net_hdr. Inbound, the kernel hands over TCP
 * super-segments (IPv4 and IPv6) of up to 64 KiB (its own TSO, no longer cut) and TCP/UDP
 * with partial checksums; each header is validated (src/wire/offload.ts
 * vnetMeta: lies are dropped and counted as `link.vnet-*`) and becomes the
 * packet's meta word for the stack. Outbound, the link declares
 * `offloads = { txChecksum, tso4, tso6 }`: the stack hands down super-segments
 * with partial checksums and the shim writes the matching header — the kernel
 * cuts and checksums them. When the kernel refuses IFF_VNET_HDR the link
 * runs plain (`offloads` undefined) and the stack does that work itself.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Link, LinkOffloads, LinkReceiver } from './link.js';
import { META_CSUM_PARTIAL, META_GSO_MASK, vnetMeta, type VnetError } from '../wire/offload.js';

/** TUN_F_TSO6 (linux/if_tun.h): the reader takes and writes TCP/IPv6 super-segments. */
const TUN_F_TSO6 = 0x04;

export interface TunOptions {
  /** Device name (`tun0`). Created if missing; an existing TUN of that name (also a persistent one) is attached as is. */
  name: string;
  /** Sets the device MTU (SIOCSIFMTU). Without it the link uses the device's current MTU. */
  mtu?: number;
  /** Kernel-side address of the device (dotted quad, e.g. `10.77.0.1`). */
  kernelAddress?: string;
  /** Prefix length for `kernelAddress` (default 24). */
  prefixLength?: number;
  /** IPv6 address for the kernel side of the device (e.g. `fd77::1`), put on after it is up. */
  kernelAddress6?: string;
  /** Prefix length for `kernelAddress6` (default 64). */
  prefixLength6?: number;
  /**
   * true: bring the device up; false: take it down. Unset: up when `kernelAddress`
   * or `routes` are given, otherwise the device's state is left alone.
   */
  up?: boolean;
  /** IPv4 CIDRs (`10.77.9.0/24`) routed through the device; an existing route is fine. */
  routes?: string[];
  /** Most packets read per wake-up (1..1024, default 64). */
  batchSize?: number;
  /**
   * TUN offloads (virtio-net header, checksum offload, TSO both ways). Default true: used when the kernel
   * accepts them, plain otherwise (see `vnetHdr` / `offloadFlags` on the link). false: a plain TUN.
   */
  offload?: boolean;
  /**
   * After a batch, keep reading the device for this many microseconds before sleeping in epoll (0: sleep at
   * once). Default 0 here; `tunstack up` sets it (--busy-poll).
   */
  busyPollUs?: number;
  /**
   * Open one queue of a multi-queue TUN (IFF_MULTI_QUEUE): the device is created as one, or must exist as one;
   * each open is another queue, and the kernel keeps each flow on the queue it was last written from.
   */
  multiQueue?: boolean;
}

/** A system error from the shim. */
export interface TunError extends Error {
  code: string;
  errno?: number;
  syscall: string;
  device?: string;
  /** For a failed batch write: packets written before the failing one. */
  written?: number;
}

/** The device under a TunLink: the native shim's, or the in-process loopback of tun-loopback.ts. */
export interface TunDevice {
  readonly name: string;
  readonly fd: number;
  readonly batchSize: number;
  readonly slotSize: number;
  readonly rxBuffer: ArrayBuffer;
  readonly rxLengths: Uint32Array;
  /** Raw virtio headers of the batch (VNET_SLOT bytes per packet), for a vnet device. Older shims lack it. */
  readonly rxVnet?: Uint8Array;
  readonly vnetHdr?: boolean;
  readonly offloadFlags?: number;
  write(packets: readonly Uint8Array[], start: number, count: number, meta?: Uint32Array, tails?: readonly Uint8Array[]): number;
  /** Reads what is waiting (one batch, non-blocking) and delivers it through onReceive before returning the count; older shims lack it. */
  readPending?(): number;
  close(): void;
}

interface NativeShim {
  open(name: string, batchSize: number | undefined, onReceive: (count: number, error?: TunError) => void, opts?: { vnetHdr: boolean; offload: number; busyPollUs?: number; multiQueue?: boolean }): TunDevice;
  configure(name: string, opts: { address?: string; prefixLength?: number; mtu?: number; up?: boolean; address6?: string; prefixLength6?: number }): void;
  addRoute(name: string, cidr: string): boolean;
  getMtu(name: string): number;
  /** glibc malloc_trim(0); older shims lack it. */
  releaseFreeMemory?(): boolean;
  readonly SLOT_SIZE: number;
  readonly DEFAULT_BATCH: number;
  readonly MAX_BATCH: number;
  readonly VNET_SLOT?: number;
  readonly TUN_F_CSUM?: number;
  readonly TUN_F_TSO4?: number;
  readonly TUN_F_TSO6?: number;
}

/** Where the addon lives: `$TUNSTACK_TUNSHIM`, else build/Release two levels above this module (src/link, dist/link). */
function addonPath(): string {
  const fromEnv = process.env['TUNSTACK_TUNSHIM'];
  if (fromEnv) return fromEnv;
  return fileURLToPath(new URL('../../build/Release/tunshim.node', import.meta.url));
}

let shim: NativeShim | null = null;
let shimError: Error | null = null;

/** Hands the C heap's free pages back to the kernel (glibc malloc_trim); false when nothing was released or the shim cannot. */
export function releaseFreeMemory(): boolean {
  try {
    return loadShim().releaseFreeMemory?.() ?? false;
  } catch {
    return false;
  }
}

function loadShim(): NativeShim {
  if (shim) return shim;
  if (shimError) throw shimError;
  const path = addonPath();
  try {
    shim = createRequire(import.meta.url)(path) as NativeShim;
    return shim;
  } catch (e) {
    const cause = e as NodeJS.ErrnoException;
    const err = new Error(
      `the native TUN shim is not built or cannot be loaded (${path}): run \`npm ci\` (or \`npx node-gyp rebuild\`)` +
        ` in the tunstack directory — ${cause.message}`,
      { cause },
    ) as Error & { code: string };
    err.code = 'ERR_TUNSHIM_MISSING';
    shimError = err;
    throw err;
  }
}

function noReceiver(): void {}

export class TunLink implements Link {
  readonly name: string;
  readonly mtu: number;
  /** Packets handed to `send` that did not reach the device (queue full, rejected by the kernel, or link closed). */
  txDrops = 0;
  /** Of `txDrops`, those the kernel rejected with an error other than a full queue. */
  txErrors = 0;
  /** The last such error, for diagnostics. */
  lastTxError: TunError | null = null;
  /** Packets written / received. */
  txPackets = 0;
  rxPackets = 0;
  /** Read batches delivered (rxPackets / rxBatches is the mean batch size). */
  rxBatches = 0;
  /** Attached with IFF_VNET_HDR (offloads on). */
  readonly vnetHdr: boolean;
  /** TUN_F_* flags the kernel accepted (TUNSETOFFLOAD); 0 without offloads. */
  readonly offloadFlags: number;
  /** What the link finishes for the stack: with a virtio header the kernel checksums and cuts super-segments. */
  readonly offloads: LinkOffloads | undefined;
  /**
   * Why the kernel side got no IPv6 address (IPv6 disabled for the device and not ours to turn on, as in a
   * container started without IPv6), or null. The stack then serves IPv4 only.
   */
  ipv6Unavailable: string | null = null;
  /** Every packet is written (copied by the kernel) inside `send`. */
  readonly sendsSynchronously = true;
  /** A packet in two pieces (headers, then its payload in the send buffer) goes out with one writev. */
  readonly takesTails = true;
  /** Super-segments written (cut by the kernel) / received (the kernel's own, left whole). */
  txGsoPackets = 0;
  rxGsoPackets = 0;
  /** Received packets whose checksum the kernel left partial (trusted, not verified). */
  rxPartialCsum = 0;
  /** Received packets dropped because their virtio header lied, by reason (`vnet-bad-gso-size`, ...). */
  readonly vnetDrops: Record<string, number> = {};
  /** Told about each such drop (the stack counts it as `link.<reason>`). */
  onDrop: ((reason: VnetError) => void) | null = null;
  /**
   * Called when the device fails while reading (e.g. it was deleted): the link stops
   * receiving. Without a handler the error is thrown as an uncaught exception.
   */
  onError: ((err: TunError) => void) | null = null;

  private receiver: LinkReceiver = noReceiver;
  private readonly dev: TunDevice;
  private readonly rx: Uint8Array;
  private readonly lengths: Uint32Array;
  private readonly slot: number;
  private readonly views: Uint8Array[] = [];
  private readonly rxVnet: Uint8Array | null;
  private readonly vnetSlot: number;
  private readonly rxMeta: Uint32Array;
  private closed = false;

  private constructor(dev: TunDevice, mtu: number, vnetSlot: number) {
    this.dev = dev;
    this.name = dev.name;
    this.mtu = mtu;
    this.rx = new Uint8Array(dev.rxBuffer);
    this.lengths = dev.rxLengths;
    this.slot = dev.slotSize;
    this.vnetHdr = dev.vnetHdr === true && dev.rxVnet !== undefined;
    this.offloadFlags = this.vnetHdr ? (dev.offloadFlags ?? 0) : 0;
    this.rxVnet = this.vnetHdr ? dev.rxVnet! : null;
    this.vnetSlot = vnetSlot;
    this.rxMeta = new Uint32Array(dev.batchSize);
    // Writing with a virtio header is all it takes for the kernel to cut and checksum what we send.
    // TSO6 when the kernel took TUN_F_TSO6 (it then also hands us TCPV6 super-segments).
    this.offloads = this.vnetHdr ? { txChecksum: true, tso4: true, tso6: (this.offloadFlags & TUN_F_TSO6) !== 0 } : undefined;
  }

  /**
   * Opens (creating if needed) the TUN device `opts.name`. Configuration options,
   * when given, are applied to the kernel side; without them an existing device is
   * used exactly as it is.
   */
  static open(opts: TunOptions): TunLink {
    const native = loadShim();
    const name = opts.name;
    let link: TunLink | null = null;
    const offload = opts.offload ?? true;
    const flags = (native.TUN_F_CSUM ?? 1) | (native.TUN_F_TSO4 ?? 2) | (native.TUN_F_TSO6 ?? TUN_F_TSO6);
    const dev = native.open(
      name,
      opts.batchSize,
      (count, error) => {
        if (link) link.onBatch(count, error);
      },
      { vnetHdr: offload, offload: offload ? flags : 0, busyPollUs: opts.busyPollUs ?? 0, multiQueue: opts.multiQueue ?? false },
    );
    try {
      const wantUp = opts.up ?? (opts.kernelAddress !== undefined || (opts.routes?.length ?? 0) > 0 ? true : undefined);
      const conf: { address?: string; prefixLength?: number; mtu?: number; up?: boolean } = {};
      if (opts.kernelAddress !== undefined) {
        conf.address = opts.kernelAddress;
        conf.prefixLength = opts.prefixLength ?? 24;
      }
      if (opts.mtu !== undefined) conf.mtu = opts.mtu;
      if (wantUp !== undefined) conf.up = wantUp;
      if (Object.keys(conf).length > 0) native.configure(dev.name, conf);
      const ipv6Off = opts.kernelAddress6 !== undefined ? addKernelAddress6(native, dev.name, opts.kernelAddress6, opts.prefixLength6 ?? 64) : null;
      for (const cidr of opts.routes ?? []) native.addRoute(dev.name, cidr);
      const mtu = opts.mtu ?? native.getMtu(dev.name);
      link = new TunLink(dev, mtu > 0 ? mtu : 1500, native.VNET_SLOT ?? 12);
      link.ipv6Unavailable = ipv6Off;
      return link;
    } catch (e) {
      dev.close();
      throw e;
    }
  }

  /**
   * A TunLink over a device that is not a kernel TUN (the in-process loopback pair of tun-loopback.ts, which the
   * JIT warm-up runs traffic through): `listen` is handed the callback the device calls with each batch it filled.
   */
  static attach(dev: TunDevice, mtu: number, vnetSlot: number, listen: (onReceive: (count: number, error?: TunError) => void) => void): TunLink {
    const link = new TunLink(dev, mtu, vnetSlot);
    listen((count, error) => link.onBatch(count, error));
    return link;
  }

  setReceiver(receiver: LinkReceiver): void {
    this.receiver = receiver;
  }

  send(packets: readonly Uint8Array[], count: number, meta?: Uint32Array, tails?: readonly Uint8Array[]): void {
    if (count <= 0) return;
    if (this.closed) {
      this.txDrops += count;
      return;
    }
    if (meta !== undefined && this.vnetHdr) {
      for (let k = 0; k < count; k++) if ((meta[k]! & META_GSO_MASK) !== 0) this.txGsoPackets++;
    }
    const m = this.vnetHdr ? meta : undefined;
    let i = 0;
    while (i < count) {
      try {
        const n = this.dev.write(packets, i, count - i, m, tails);
        this.txPackets += n;
        i += n;
        // A short count means the device queue is full: the rest is dropped.
        this.txDrops += count - i;
        return;
      } catch (e) {
        // The kernel refused one packet (malformed, too big, device gone): drop it, carry on.
        const err = e as TunError;
        const done = typeof err.written === 'number' ? err.written : 0;
        this.txPackets += done;
        i += done + 1;
        this.txDrops++;
        this.txErrors++;
        this.lastTxError = err;
        if (typeof err.written !== 'number') {
          // Not a per-packet failure (bad argument): drop the whole remainder.
          this.txDrops += count - i;
          return;
        }
      }
    }
  }

  /** See Link.pollReceive: the device reads what is waiting and calls back into onBatch before this returns. */
  pollReceive(): number {
    if (this.closed) return 0;
    return this.dev.readPending?.() ?? 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.receiver = noReceiver;
    this.dev.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private onBatch(count: number, error: TunError | undefined): void {
    if (count > 0) {
      const views = this.views;
      const rx = this.rx;
      const lengths = this.lengths;
      const slot = this.slot;
      const hdrs = this.rxVnet;
      if (hdrs === null) {
        for (let i = 0; i < count; i++) {
          const off = i * slot;
          views[i] = rx.subarray(off, off + lengths[i]!);
        }
        this.rxPackets += count;
        this.rxBatches++;
        this.receiver(views, count);
      } else {
        const meta = this.rxMeta;
        const vs = this.vnetSlot;
        let n = 0;
        for (let i = 0; i < count; i++) {
          const off = i * slot;
          const len = lengths[i]!;
          const view = rx.subarray(off, off + len);
          const m = len === 0 ? 'vnet-truncated' : vnetMeta(hdrs, i * vs, view);
          if (typeof m === 'string') {
            this.vnetDrops[m] = (this.vnetDrops[m] ?? 0) + 1;
            this.onDrop?.(m);
            continue;
          }
          if ((m & META_GSO_MASK) !== 0) this.rxGsoPackets++;
          if ((m & META_CSUM_PARTIAL) !== 0) this.rxPartialCsum++;
          views[n] = view;
          meta[n] = m;
          n++;
        }
        this.rxPackets += count;
        this.rxBatches++;
        if (n > 0) this.receiver(views, n, meta);
      }
    }
    if (error) {
      if (this.onError) this.onError(error);
      else throw error;
    }
  }
}

/**
 * Gives the kernel side of the device its IPv6 address (after the device is up: a TUN is IFF_NOARP, so no
 * duplicate address detection delays it). IPv6 may be off for the device (net.ipv6.conf.NAME.disable_ipv6,
 * Docker's default in containers): the shim turns it on for this device when it may, and when it may not,
 * the reason is returned rather than thrown, so that the stack still serves IPv4.
 */
function addKernelAddress6(native: NativeShim, name: string, address6: string, prefixLength6: number): string | null {
  try {
    native.configure(name, { address6, prefixLength6 });
    return null;
  } catch (e) {
    if ((e as { code?: unknown }).code === 'EIPV6DISABLED') return (e as Error).message;
    throw e;
  }
}
