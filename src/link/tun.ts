/**
 * A Link over a Linux TUN device (IFF_TUN | IFF_NO_PI), through the native
 * shim in native-shims/tun.c (built by node-gyp into build/Release/tunshim.node).
 *
 * Receive: the shim reads every ready packet (up to `batchSize`) per wake-up
 * into one preallocated area and calls us once; the receiver gets views into
 * that area, valid only during the call. Send: one native call per batch; a
 * full device queue (EAGAIN/ENOBUFS) or a packet the kernel rejects counts as
 * a drop — the packet path never throws.
 */
import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Link, LinkReceiver } from './link.js';

export interface TunOptions {
  /** Device name (`tun0`). Created if missing; an existing TUN of that name (also a persistent one) is attached as is. */
  name: string;
  /** Sets the device MTU (SIOCSIFMTU). Without it the link uses the device's current MTU. */
  mtu?: number;
  /** Kernel-side address of the device (dotted quad, e.g. `10.77.0.1`). */
  kernelAddress?: string;
  /** Prefix length for `kernelAddress` (default 24). */
  prefixLength?: number;
  /**
   * true: bring the device up; false: take it down. Unset: up when `kernelAddress`
   * or `routes` are given, otherwise the device's state is left alone.
   */
  up?: boolean;
  /** IPv4 CIDRs (`10.77.9.0/24`) routed through the device; an existing route is fine. */
  routes?: string[];
  /** Most packets read per wake-up (1..1024, default 64). */
  batchSize?: number;
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

interface NativeDevice {
  readonly name: string;
  readonly fd: number;
  readonly batchSize: number;
  readonly slotSize: number;
  readonly rxBuffer: ArrayBuffer;
  readonly rxLengths: Uint32Array;
  write(packets: readonly Uint8Array[], start: number, count: number): number;
  close(): void;
}

interface NativeShim {
  open(name: string, batchSize: number | undefined, onReceive: (count: number, error?: TunError) => void): NativeDevice;
  configure(name: string, opts: { address?: string; prefixLength?: number; mtu?: number; up?: boolean }): void;
  addRoute(name: string, cidr: string): boolean;
  getMtu(name: string): number;
  readonly SLOT_SIZE: number;
  readonly DEFAULT_BATCH: number;
  readonly MAX_BATCH: number;
}

/** Where the addon lives: `$TUNSTACK_TUNSHIM`, else build/Release two levels above this module (src/link, dist/link). */
function addonPath(): string {
  const fromEnv = process.env['TUNSTACK_TUNSHIM'];
  if (fromEnv) return fromEnv;
  return fileURLToPath(new URL('../../build/Release/tunshim.node', import.meta.url));
}

let shim: NativeShim | null = null;
let shimError: Error | null = null;

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

const CAP_NET_ADMIN = 12;

function hasCapNetAdmin(): boolean {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) return false;
    const low = parseInt(m[1]!.slice(-8), 16); // capability bits 0..31
    return (low & (1 << CAP_NET_ADMIN)) !== 0;
  } catch {
    return false;
  }
}

/** Whether this process can open TUN devices: /dev/net/tun present and usable, CAP_NET_ADMIN, shim built. */
export function tunAvailable(): { ok: true } | { ok: false; reason: string } {
  if (!existsSync('/dev/net/tun')) {
    return {
      ok: false,
      reason: '/dev/net/tun does not exist: load the tun module (modprobe tun), or in Docker pass --device /dev/net/tun',
    };
  }
  try {
    accessSync('/dev/net/tun', fsConstants.R_OK | fsConstants.W_OK);
  } catch {
    return {
      ok: false,
      reason:
        '/dev/net/tun is not readable and writable by this user: run as root, or in Docker use --privileged or ' +
        '--cap-add NET_ADMIN --device /dev/net/tun',
    };
  }
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root && !hasCapNetAdmin()) {
    return {
      ok: false,
      reason:
        'creating or configuring a TUN device needs CAP_NET_ADMIN: run as root, or in Docker use --privileged or ' +
        '--cap-add NET_ADMIN --device /dev/net/tun',
    };
  }
  try {
    loadShim();
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  return { ok: true };
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
  /**
   * Called when the device fails while reading (e.g. it was deleted): the link stops
   * receiving. Without a handler the error is thrown as an uncaught exception.
   */
  onError: ((err: TunError) => void) | null = null;

  private receiver: LinkReceiver = noReceiver;
  private readonly dev: NativeDevice;
  private readonly rx: Uint8Array;
  private readonly lengths: Uint32Array;
  private readonly slot: number;
  private readonly views: Uint8Array[] = [];
  private closed = false;

  private constructor(dev: NativeDevice, mtu: number) {
    this.dev = dev;
    this.name = dev.name;
    this.mtu = mtu;
    this.rx = new Uint8Array(dev.rxBuffer);
    this.lengths = dev.rxLengths;
    this.slot = dev.slotSize;
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
    const dev = native.open(name, opts.batchSize, (count, error) => {
      if (link) link.onBatch(count, error);
    });
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
      for (const cidr of opts.routes ?? []) native.addRoute(dev.name, cidr);
      const mtu = opts.mtu ?? native.getMtu(dev.name);
      link = new TunLink(dev, mtu > 0 ? mtu : 1500);
      return link;
    } catch (e) {
      dev.close();
      throw e;
    }
  }

  setReceiver(receiver: LinkReceiver): void {
    this.receiver = receiver;
  }

  send(packets: readonly Uint8Array[], count: number): void {
    if (count <= 0) return;
    if (this.closed) {
      this.txDrops += count;
      return;
    }
    let i = 0;
    while (i < count) {
      try {
        const n = this.dev.write(packets, i, count - i);
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
      for (let i = 0; i < count; i++) {
        const off = i * slot;
        views[i] = rx.subarray(off, off + lengths[i]!);
      }
      this.rxPackets += count;
      this.rxBatches++;
      this.receiver(views, count);
    }
    if (error) {
      if (this.onError) this.onError(error);
      else throw error;
    }
  }
}
