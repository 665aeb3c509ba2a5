/**
 * What a script's syscalls see of the run executing it (runner.ts's Run implements it): the configuration,
 * the virtual clock, the stack, the 4-tuples and the failure to report. Kept apart from the runner so that
 * the syscall adapter and the runner do not import each other.
 */
import type { VirtualClock } from '../clock.js';
import type { Stack } from '../stack.js';
import type { RunnerConfig } from './config.js';

/** A failure of the script (mismatch, timing, syscall result). */
export class ScriptFailure extends Error {
  constructor(
    message: string,
    readonly line: number | undefined,
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'ScriptFailure';
  }
}

/** Sequence mapping and timestamps of one TCP 4-tuple (section 3.4/3.5). */
export interface TupleState {
  localPort: number;
  remotePort: number;
  /** ISN_real - ISN_script of the stack; 0 until its SYN/SYN-ACK was matched. */
  off: number;
  synSeen: boolean;
  /** A new SYN arrived on a tuple whose connection is over (TIME_WAIT reuse): the next SYN-ACK sets a new offset. */
  relearn: boolean;
  /** script TS val -> real TS val of matched outbound packets. */
  tsMap: Map<number, number>;
  tsFirst: { script: number; real: number } | undefined;
  /**
   * The peer's ISN as the script wrote it in its SYN (or SYN-ACK): later inbound sequence numbers, and the
   * acknowledgement numbers of our segments other than SYNs, count from it (packetdrill's remote_isn offset).
   */
  remoteIsn?: number;
  /** The stack's live ISN, from its SYN or SYN-ACK: our non-SYN segments count from it (packetdrill's local_isn). */
  localIsn?: number;
}

/**
 * packetdrill local_seq_script_to_live_offset: a SYN's sequence number (and the ack of an inbound SYN) maps
 * through live ISN - script ISN; every other one counts from the live ISN, whatever ISN the script wrote.
 */
export function localSeqOffset(t: TupleState, isSyn: boolean): number {
  return isSyn ? t.off : (t.localIsn ?? t.off);
}

export type SocketUnderTest = 'none' | 'listener' | 'child' | 'socket';

export interface RunContext {
  readonly cfg: RunnerConfig;
  readonly clock: VirtualClock;
  /** The 4-tuple of the connection under test. */
  cut: TupleState;
  sut: SocketUnderTest;
  udpLocalPort: number;
  udpRemotePort: number;
  ensureStack(): Stack;
  fail(kind: 'packet' | 'syscall' | 'other', message: string, line: number | undefined, details?: string[]): void;
  settle(): Promise<void>;
  tuple(localPort: number, remotePort: number): TupleState;
}
