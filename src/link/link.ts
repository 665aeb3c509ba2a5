/**
 * A link moves whole IPv4 packets (no link-layer header: TUN with IFF_NO_PI).
 *
 * Ownership: packets handed to `send` belong to the link from then on (it may
 * queue them; the caller must not reuse the buffer). The array holding them
 * stays the caller's: a link that queues packets copies the references out. Packets delivered to the
 * receiver are views valid only during the call (a link may reuse its receive
 * buffers); a receiver that keeps bytes must copy them.
 */
/**
 * What a link can finish for the stack (see src/wire/offload.ts for the meta
 * words that ride with packets). A link without `offloads` takes only
 * complete wire packets: the IP output path segments and checksums for it.
 */
export interface LinkOffloads {
  /** Takes TCP/UDP packets with CSUM_PARTIAL (the pseudo-header sum only) and completes them. */
  readonly txChecksum: boolean;
  /** Takes TCP/IPv4 super-segments (up to 64 KiB, gso_size in the meta word) and cuts them itself (TSO). */
  readonly tso4: boolean;
  /** Takes TCP/IPv6 super-segments (a bare 40-byte header, gso_size in the meta word) and cuts them itself. */
  readonly tso6?: boolean;
}

export interface Link {
  /** Largest IP packet the link carries, in bytes. */
  readonly mtu: number;
  /** A short name for logs and the socket table (`tun0`, `mem0`). */
  readonly name: string;
  /** Installs the receiver; each call hands one batch of `count` packets (`packets[0..count)`). */
  setReceiver(receiver: LinkReceiver): void;
  /**
   * Sends `count` packets (`packets[0..count)`) as one batch. `meta`, when
   * given, holds one offload word per packet (same index); the stack passes
   * non-zero words only to a link whose `offloads` asks for them. `tails`, when given (only to a link with
   * `takesTails`), holds the rest of each packet (same index; empty when none): packet i is `packets[i]`
   * followed by `tails[i]`, a view of a TCP send buffer that the link must be done with when `send` returns.
   */
  send(packets: readonly Uint8Array[], count: number, meta?: Uint32Array, tails?: readonly Uint8Array[]): void;
  /**
   * True when `send` takes `tails`: a packet in two pieces, its headers and its payload still in the TCP send
   * buffer, written with one writev and no copy (only with `sendsSynchronously`). Absent = false: the stack
   * joins the pieces before it hands the packet over.
   */
  readonly takesTails?: boolean | undefined;
  /** Offloads this link performs; absent = none. */
  readonly offloads?: LinkOffloads | undefined;
  /**
   * True when `send` is done with the packet buffers by the time it returns (it wrote or copied them, like
   * the TUN link): the stack may then reuse its transmit buffers after each flush. Absent = false (the link
   * may keep them, like the memory link's queue or the impairment stage's delay line).
   */
  readonly sendsSynchronously?: boolean | undefined;
  /**
   * Delivers to the receiver, before returning, the packets already waiting on the link (a non-blocking read
   * of one batch); returns how many were read. The stack calls it before it fires its timers: an event loop
   * runs expired timers before it polls for input, so an ACK that arrived while the process was busy would
   * otherwise be read only after a retransmission timer decided it was missing. Absent = the link has no
   * queue of its own to read (the memory link delivers as it sends). Never called from inside the receiver.
   */
  pollReceive?(): number;
  /** Releases the link; idempotent. Pending delayed packets are discarded. */
  close(): void;
}

/**
 * One received batch. `meta`, when given, holds an offload word per packet
 * (src/wire/offload.ts: gso_size of a super-segment from the kernel,
 * CSUM_PARTIAL, CSUM_TRUSTED); like the packets it is valid only during the call.
 */
/**
 * Packet `head` followed by its `tail` (see `Link.send`'s `tails`) in one buffer, written into `dst` (a fresh
 * one by default): where the two pieces must become one — a link or a capture that keeps them, software GSO,
 * checksum completion, fragmentation.
 */
export function joinTail(head: Uint8Array, tail: Uint8Array, dst: Uint8Array = new Uint8Array(head.length + tail.length)): Uint8Array {
  dst.set(head);
  dst.set(tail, head.length);
  return dst;
}

export type LinkReceiver = (packets: readonly Uint8Array[], count: number, meta?: Uint32Array) => void;
