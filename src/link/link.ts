/**
 * A link moves whole IPv4 packets (no link-layer header: TUN with IFF_NO_PI).
 *
 * Ownership: packets handed to `send` belong to the link from then on (it may
 * queue them; the caller must not reuse the buffer). The array holding them
 * stays the caller's: a link that queues packets copies the references out. Packets delivered to the
 * receiver are views valid only during the call (a link may reuse its receive
 * buffers); a receiver that keeps bytes must copy them.
 */
export interface Link {
  /** Largest IP packet the link carries, in bytes. */
  readonly mtu: number;
  /** A short name for logs and the socket table (`tun0`, `mem0`). */
  readonly name: string;
  /** Installs the receiver; each call hands one batch of `count` packets (`packets[0..count)`). */
  setReceiver(receiver: LinkReceiver): void;
  /** Sends `count` packets (`packets[0..count)`) as one batch. */
  send(packets: readonly Uint8Array[], count: number): void;
  /** Releases the link; idempotent. Pending delayed packets are discarded. */
  close(): void;
}

export type LinkReceiver = (packets: readonly Uint8Array[], count: number) => void;
