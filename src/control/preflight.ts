/**
 * Checks before touching the TUN device, each with a message that says what
 * to do: a device of that name that is not a TUN, and addresses the kernel
 * side already uses (the stack's own address on a host interface would make
 * the kernel answer for it itself; the peer address on another interface
 * would make the kernel route the TUN's subnet elsewhere).
 */
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { TunstackConfig } from '../config.js';

const IFF_TUN = 0x0001;
const IFF_TAP = 0x0002;
const IFF_MULTI_QUEUE = 0x0100;

const ARPHRD: Record<number, string> = { 1: 'an Ethernet device', 772: 'the loopback device', 776: 'an IPv6-in-IPv4 tunnel', 778: 'a GRE tunnel', 65534: 'a device without link layer' };

function readSys(dev: string, file: string): string | null {
  try {
    return readFileSync(`/sys/class/net/${dev}/${file}`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** What kind of device `name` is, from sysfs: 'missing', 'tun', or a description of something else. */
export function deviceKind(name: string): { kind: 'missing' } | { kind: 'tun' } | { kind: 'other'; what: string } {
  if (!existsSync(`/sys/class/net/${name}`)) return { kind: 'missing' };
  const flags = readSys(name, 'tun_flags');
  if (flags !== null) {
    const f = parseInt(flags, 16);
    if (f & IFF_TAP) return { kind: 'other', what: 'a TAP device (Ethernet frames), not a TUN' };
    if (f & IFF_MULTI_QUEUE) return { kind: 'other', what: 'a multi-queue TUN device (tunstack attaches to single-queue TUNs)' };
    if (f & IFF_TUN) return { kind: 'tun' };
  }
  const uevent = readSys(name, 'uevent') ?? '';
  const devtype = /^DEVTYPE=(.+)$/m.exec(uevent)?.[1];
  const type = Number(readSys(name, 'type'));
  const what = devtype ? `a ${devtype} device` : (ARPHRD[type] ?? `a device of link type ${type}`);
  return { kind: 'other', what };
}

function ipToNumber(text: string): number {
  const p = text.split('.').map(Number);
  return (((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0);
}

function prefixOf(cidr: string): { network: number; mask: number; prefixLength: number } {
  const [a, l] = cidr.split('/');
  const prefixLength = Number(l ?? 32);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return { network: (ipToNumber(a!) & mask) >>> 0, mask, prefixLength };
}

const CAP_NET_ADMIN = 12;

/** Whether the effective capability set (the `CapEff:` line of /proc/PID/status, in hex) holds CAP_NET_ADMIN. */
export function hasNetAdmin(procStatus: string): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/im.exec(procStatus)?.[1];
  if (hex === undefined) return true; // not Linux's /proc: let opening the device tell
  // CAP_NET_ADMIN is in the low 32 bits: the last eight hex digits.
  return ((parseInt(hex.slice(-8), 16) >>> CAP_NET_ADMIN) & 1) === 1;
}

/** What stops this process from creating a TUN device, as one line with the fix; null when nothing does. */
function tunCreationProblem(name: string): string | null {
  if (!existsSync('/dev/net/tun')) {
    return '/dev/net/tun does not exist: load the tun module (modprobe tun), or in a container pass --device /dev/net/tun';
  }
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return null;
  }
  if (!hasNetAdmin(status)) {
    return `creating the TUN device ${name} needs CAP_NET_ADMIN: run as root (sudo), or in a container with --cap-add NET_ADMIN`;
  }
  return null;
}

/** Throws an Error with a clear message when the configuration cannot work on this host. */
export function preflight(config: TunstackConfig): { exists: boolean } {
  const dev = deviceKind(config.tun);
  if (dev.kind === 'other') {
    // Deleting is a fix only for a virtual device somebody made (a veth, a dummy); never for the loopback or hardware (it has a device/ link).
    const disposable = config.tun !== 'lo' && !existsSync(`/sys/class/net/${config.tun}/device`);
    throw new Error(
      `a network device named ${config.tun} already exists and is ${dev.what}: pick another --tun name` +
        (disposable ? `, or delete it (ip link del ${config.tun})` : ` (e.g. --tun tun0); ${config.tun} is not one to delete`),
    );
  }
  const exists = dev.kind === 'tun';
  // Checked here, before the warm-up, so the one line comes at once.
  const problem = exists ? null : tunCreationProblem(config.tun);
  if (problem !== null) throw new Error(problem);
  const stackAddr = config.addr.split('/')[0]!;
  const ours = prefixOf(config.addr);
  const ifs = networkInterfaces();
  for (const [ifname, addrs] of Object.entries(ifs)) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      if (a.address === stackAddr) {
        throw new Error(
          `the stack's address ${stackAddr} is already an address of this host (on ${ifname}): the kernel would answer for it itself. ` +
            `Pick another --addr, or remove it (ip addr del ${a.cidr ?? stackAddr} dev ${ifname})`,
        );
      }
      if (ifname !== config.tun && a.cidr) {
        const theirs = prefixOf(a.cidr);
        const mask = (ours.mask & theirs.mask) >>> 0; // the shorter prefix
        if (((ours.network & mask) >>> 0) === ((theirs.network & mask) >>> 0)) {
          throw new Error(
            `the stack's subnet ${config.addr} overlaps ${a.cidr} on ${ifname}: the kernel could not tell which interface to use. ` +
              `Pick another --addr/--peer subnet`,
          );
        }
      }
      if (a.address === config.peer && ifname !== config.tun) {
        throw new Error(
          `the peer address ${config.peer} is already used on ${ifname}: the TUN's kernel side needs an address of its own. ` +
            `Pick another --peer (and --addr), or remove it (ip addr del ${a.cidr ?? config.peer} dev ${ifname})`,
        );
      }
    }
  }
  return { exists };
}

