/**
 * Checks on an arriving segment that connections (rcv.ts) and TIME-WAIT records (time-wait.ts) share, so that
 * each rule is written once: PAWS (RFC 7323 §5) and the rate limit on duplicate ACKs answering out-of-window
 * segments (Linux tcp_oow_rate_limited).
 */

import { tsDiff } from './ts-clock.js';

/** RFC 7323 §5.5: a TS.Recent older than 24 days is no longer trusted for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;
/** Linux TCP_PAWS_WINDOW: a TSval one tick older than TS.Recent is tolerated (disorder, not a wrap). */
const PAWS_WINDOW = 1;
/** Linux TCP_PAWS_MSL: in TIME-WAIT an RST may pass PAWS once TS.Recent is older than this. */
const PAWS_MSL_MS = 60_000;
/** Linux sysctl_tcp_invalid_ratelimit: at most one duplicate ACK per this for out-of-window segments without data. */
const OOW_ACK_INTERVAL_MS = 500;

/**
 * RFC 7323 §5.3 R1: the segment's TSval is older than TS.Recent (beyond PAWS_WINDOW) while TS.Recent is still
 * trusted — a duplicate from an earlier wrap of the sequence space. What an RST does then differs: a
 * synchronized connection accepts it anyway (Linux tcp_validate_incoming), a TIME-WAIT pair only once
 * TS.Recent is older than TCP_PAWS_MSL (`timeWaitPawsRejects`).
 */
export function tsValTooOld(tsRecent: number, tsRecentStamp: number, tsVal: number, now: number): boolean {
  return tsDiff(tsRecent, tsVal) > PAWS_WINDOW && now - tsRecentStamp < PAWS_IDLE_MS;
}

/** PAWS for a TIME-WAIT pair (Linux tcp_paws_reject): an old TSval is rejected, an RST only while TS.Recent is recent. */
export function timeWaitPawsRejects(tsRecent: number, tsRecentStamp: number, tsVal: number, rst: boolean, now: number): boolean {
  return tsValTooOld(tsRecent, tsRecentStamp, tsVal, now) && !(rst && now - tsRecentStamp >= PAWS_MSL_MS);
}

/**
 * Linux tcp_oow_rate_limited: may a duplicate ACK answer an out-of-window segment without data now, the last
 * one having gone at `lastOowAck` (0: never)? The caller records `now` as the new last time when it sends.
 */
export function oowAckAllowed(lastOowAck: number, now: number): boolean {
  return lastOowAck === 0 || now - lastOowAck >= OOW_ACK_INTERVAL_MS;
}
