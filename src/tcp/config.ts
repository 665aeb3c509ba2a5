/**
 * TCP settings (`StackOptions.tcp`), every one with a Linux-like default.
 * Names follow the sysctls they mirror where there is one.
 */
import { EPHEMERAL_HIGH, EPHEMERAL_LOW } from '../ip/local-port-range.js';

import { parseFastOpenKeys, TFO_CLIENT_ENABLE, TFO_SERVER_ENABLE, TFO_SERVER_WO_SOCKOPT1 } from './fastopen.js';

export type CongestionControlName = 'newreno' | 'cubic';

export interface TcpConfig {
  /** net.ipv4.tcp_syncookies: 0 never, 1 when the SYN queue is full (default), 2 always. */
  syncookies: 0 | 1 | 2;
  /**
   * Receive buffer per connection in bytes (SO_RCVBUF); the advertised window never exceeds it. Default 64240:
   * the first window Linux offers (its tcp_rmem[1] = 131072 bytes of memory, half of it for payload, rounded
   * down to whole 1460-byte segments: 44 × 1460), so a SYN carries `win 64240` as a stock kernel's does. Linux
   * offers 65160 (45 × 1448) in a SYN-ACK with timestamps; ours says 64240 there (it is not rounded to the MSS).
   * Linux's buffer also keeps room beyond the window it offers (it counts memory, about twice the window);
   * ours counts payload bytes, so unread data shrinks the window sooner.
   */
  rmem: number;
  /** Send buffer per connection in bytes (SO_SNDBUF): unacknowledged + unsent data. */
  wmem: number;
  /**
   * net.ipv4.tcp_notsent_lowat: a socket is writable (poll's POLLOUT) only while its unsent bytes are below
   * this mark (halved for poll, as Linux's tcp_stream_memory_free with wake=1); a socket's own
   * TCP_NOTSENT_LOWAT (`TcpSocket.setNotSentLowat`) takes precedence. Default 0xffffffff: no limit.
   */
  notsentLowat: number;
  /**
   * Receive buffer autotuning ceiling (Linux tcp_moderate_rcvbuf with tcp_rmem[2]): when above `rmem`, a
   * connection's receive buffer grows from `rmem` toward it as the data the application reads per round trip
   * demands (tcp_rcv_space_adjust), so a long path is not window-bound. 0: the buffer stays at `rmem`.
   * Default 32 MiB, this kernel's tcp_rmem[2] (Linux 6.x): the window scale is sized for it, so the stack
   * offers wscale 10 as Linux does; `tunstack up` sets 6 MiB (wscale 7).
   */
  rmemMax: number;
  /**
   * Send buffer autotuning ceiling (Linux tcp_wmem[2]): when above `wmem`, the send buffer grows toward it to
   * hold twice the congestion window (tcp_sndbuf_expand). 0: it stays at `wmem`; `tunstack up` sets 4 MiB.
   */
  wmemMax: number;
  /** Upper bound on the MSS we announce and use (0 = only the interface MTU − 40 decides). */
  mssClamp: number;
  /** RTO before any RTT sample (RFC 6298 §2.1: 1 s). */
  initialRto: number;
  /** Lower bound on the RTO (Linux TCP_RTO_MIN = 200 ms, net.ipv4.tcp_rto_min_us = 200000 on this kernel). */
  minRto: number;
  /** Upper bound on the RTO (Linux TCP_RTO_MAX = 120 s). */
  maxRto: number;
  /**
   * Congestion controller: 'newreno' (RFC 5681/6582) or 'cubic' (RFC 9438). Differs from Linux on purpose: a
   * stock kernel runs cubic (this one runs bbr inside a fresh network namespace, which we do not have); the
   * library keeps NewReno, whose behaviour the dialogues pin down, and `tunstack up` runs CUBIC.
   */
  congestionControl: CongestionControlName;
  /** net.ipv4.tcp_timestamps (RFC 7323 timestamps + PAWS). */
  timestamps: boolean;
  /** net.ipv4.tcp_sack (RFC 2018). */
  sack: boolean;
  /**
   * Tail loss probes (RFC 8985 §7; Linux net.ipv4.tcp_early_retrans=3, its default). Off in the library, as
   * the conformance dialogues assume (tcp_early_retrans=0); `tunstack up` turns them on.
   */
  tailLossProbe: boolean;
  /**
   * net.ipv4.tcp_recovery, Linux's bit mask (default 1): bit 0x1 RACK loss detection (RFC 8985) replaces RFC
   * 6675's DupThresh marking on SACK connections; 0x2 a static reordering window (no D-SACK widening); 0x4 no
   * DupThresh shortcut (the window stays min_RTT/4 even with three segments SACKed). 0: DupThresh SACK recovery.
   */
  recovery: number;
  /**
   * Internal pacing (src/tcp/pacing.ts): data leaves at a rate derived from cwnd and SRTT instead of in bursts.
   * Linux paces so when something asks for it (SO_MAX_PACING_RATE, BBR) or fq paces for it; off in the library,
   * whose dialogues are Linux's without fq; `tunstack up` turns it on.
   */
  pacing: boolean;
  /** net.ipv4.tcp_pacing_ss_ratio: the pacing rate in percent of cwnd/SRTT while cwnd < ssthresh/2 (default 200). */
  pacingSsRatio: number;
  /** net.ipv4.tcp_pacing_ca_ratio: the pacing rate in percent of cwnd/SRTT after that (default 120). */
  pacingCaRatio: number;
  /** net.ipv4.tcp_window_scaling (RFC 7323). */
  windowScaling: boolean;
  /**
   * Linux's timer tick in ms (1000 / CONFIG_HZ): its TCP timers count in jiffies, so floors made of ticks
   * (TCP_TIMEOUT_MIN, two ticks, in the tail loss probe timeout) follow HZ. Default 4: HZ=250, as Debian's
   * kernels and this project's reference kernel are built (`zcat /proc/config.gz | grep CONFIG_HZ=`).
   */
  tickMs: number;
  /**
   * Delayed-ACK timeout in ms (Linux TCP_DELACK_MIN = 40; RFC 9293 allows up to 500, RFC 1122 asks < 500, we cap at
   * 200). Linux adapts its ACK timeout (ato) to the arrival pattern between 40 and 200 ms; ours is fixed.
   */
  delayedAckMs: number;
  /** Segments ACKed at once at the start of a connection (Linux TCP_MAX_QUICKACKS = 16). */
  quickAcks: number;
  /** TIME_WAIT length, 2·MSL (Linux TCP_TIMEWAIT_LEN = 60 s). */
  timeWaitMs: number;
  /** FIN_WAIT_2 timeout for closed sockets (net.ipv4.tcp_fin_timeout = 60 s). */
  finTimeoutMs: number;
  /** SYN retransmissions before ETIMEDOUT (net.ipv4.tcp_syn_retries = 6). */
  synRetries: number;
  /**
   * SYN retransmissions at the initial RTO before the timer backs off (net.ipv4.tcp_syn_linear_timeouts = 4,
   * Linux 6.x): the SYN goes at 0, 1, 2, 3, 4, 5 s, then 7, 11 … s. 0 gives RFC 6298's doubling from the first.
   */
  synLinearTimeouts: number;
  /**
   * ECN (net.ipv4.tcp_ecn), Linux's tcp_ecn_mode: 0 off, 1 ask for classic ECN (RFC 3168) on our SYNs and accept
   * it, 2 accept classic ECN when a peer's SYN asks (Linux's default); Accurate ECN (RFC 9768): 3 ask for AccECN
   * and accept it (or classic ECN), 4 ask for classic ECN and accept AccECN, 5 accept AccECN (or classic ECN) only.
   * Linux 6.18 carries the AccECN code but caps the sysctl at 2; mainline opens 3..5 (tcp_ecn_mode_max = 5).
   * The rules are in src/tcp/ecn.ts and src/tcp/accecn.ts.
   */
  ecn: number;
  /**
   * When an AccECN connection sends the AccECN option (net.ipv4.tcp_ecn_option, Linux 6.18): 0 never, 1 only
   * when demanded (handshake, CE or ECN-field changes, 2^22-byte counter steps) or by the beacon, 2 on every
   * segment it fits in (Linux's default). src/tcp/accecn-option.ts.
   */
  ecnOption: number;
  /** With tcp_ecn_option=1, also send the option when 1/N of an RTT passed since the last one (net.ipv4.tcp_ecn_option_beacon; 0 never). */
  ecnOptionBeacon: number;
  /** SYN-ACK retransmissions before a half-open entry expires (net.ipv4.tcp_synack_retries = 5). */
  synAckRetries: number;
  /** Data retransmissions before ETIMEDOUT (net.ipv4.tcp_retries2 = 15). */
  retries2: number;
  /** Idle time before the first keepalive probe (net.ipv4.tcp_keepalive_time = 7200 s). */
  keepaliveTimeMs: number;
  /** Interval between keepalive probes (net.ipv4.tcp_keepalive_intvl = 75 s). */
  keepaliveIntervalMs: number;
  /** Unanswered probes before the connection is dropped (net.ipv4.tcp_keepalive_probes = 9). */
  keepaliveProbes: number;
  /** Emit Linux's exact option layouts (packetdrill scripts written against Linux then run unmodified). */
  linuxOptionLayout: boolean;
  /** Seed for the ISN, cookie and timestamp secrets (deterministic tests); random when undefined. */
  seed: number | undefined;
  /** Cap on listen() backlogs (net.core.somaxconn = 4096). */
  somaxconn: number;
  /** Backlog of `listen()` without one (Node's and nginx's 511). */
  defaultBacklog: number;
  /** Challenge ACKs per second, stack-wide (net.ipv4.tcp_challenge_ack_limit = 1000). */
  challengeAckLimit: number;
  /** Initial congestion window in segments (RFC 6928: 10). */
  initialCwnd: number;
  /** Out-of-order ranges kept per connection; a segment that would need more is dropped (TCPOFODrop). */
  maxOooRanges: number;
  /** How often the SYN-cookie secret rotates (the previous one stays valid). */
  cookieSecretRotationMs: number;
  /** Ephemeral port range for connect() (net.ipv4.ip_local_port_range = 32768 60999). */
  ephemeralPortLow: number;
  ephemeralPortHigh: number;
  /**
   * Most TIME_WAIT connections kept (net.ipv4.tcp_max_tw_buckets); beyond, closing sockets skip TIME_WAIT.
   * Default 8192, what Linux sizes for a small machine: a TIME-WAIT connection here costs ~2.5 KB of heap and a
   * server closing 5,000 connections a second would otherwise hold 300,000 of them (60 s), ~750 MB.
   */
  maxTimeWait: number;
  /**
   * Most connections at once, TIME-WAIT not counted (a userspace stack has no
   * tcp_mem to fall back on: each connection holds buffers). At the cap a
   * listener drops new SYNs and cookie ACKs (ListenDrops, drop reason
   * `tcp.max-connections`); the peers retry and get in once others close.
   */
  maxConnections: number;
  /**
   * Segmentation offload (Linux's TSO/GSO): consecutive full segments of one transmit pass leave as one
   * super-segment of up to 64 KiB with a partial checksum; a link with TSO (TUN with IFF_VNET_HDR) has the
   * kernel cut it, otherwise the IP output path cuts it (software GSO) — the wire segments are the same.
   */
  tso: boolean;
  /**
   * net.ipv4.tcp_fastopen (RFC 7413; bits in src/tcp/fastopen.ts): 0x1 client, 0x2 server (a listener still
   * needs `fastOpen` on listen, or 0x400), 0x4 client data without a cookie, 0x200 server takes data without
   * a cookie, 0x400 every listener takes Fast Open. Linux's default 1.
   */
  fastOpen: number;
  /** net.ipv4.tcp_fastopen_key ("xxxxxxxx-xxxxxxxx-xxxxxxxx-xxxxxxxx[,backup]"); undefined = a key from the seed or random. */
  fastOpenKey: string | undefined;
}

export const defaultTcpConfig: Readonly<TcpConfig> = {
  syncookies: 1,
  rmem: 64240,
  wmem: 1 << 20,
  notsentLowat: 0xffffffff,
  rmemMax: 32 << 20,
  wmemMax: 0,
  mssClamp: 0,
  initialRto: 1000,
  minRto: 200,
  maxRto: 120_000,
  congestionControl: 'newreno',
  timestamps: true,
  sack: true,
  tailLossProbe: false,
  recovery: 1,
  pacing: false,
  pacingSsRatio: 200,
  pacingCaRatio: 120,
  windowScaling: true,
  tickMs: 4,
  delayedAckMs: 40,
  quickAcks: 16,
  timeWaitMs: 60_000,
  finTimeoutMs: 60_000,
  synRetries: 6,
  synLinearTimeouts: 4,
  ecn: 2,
  ecnOption: 2,
  ecnOptionBeacon: 3,
  synAckRetries: 5,
  retries2: 15,
  keepaliveTimeMs: 7_200_000,
  keepaliveIntervalMs: 75_000,
  keepaliveProbes: 9,
  linuxOptionLayout: true,
  seed: undefined,
  somaxconn: 4096,
  defaultBacklog: 511,
  challengeAckLimit: 1000,
  initialCwnd: 10,
  maxOooRanges: 64,
  cookieSecretRotationMs: 128_000,
  ephemeralPortLow: EPHEMERAL_LOW,
  ephemeralPortHigh: EPHEMERAL_HIGH,
  maxTimeWait: 8192,
  maxConnections: 16_384,
  tso: true,
  fastOpen: 1,
  fastOpenKey: undefined,
};

export function resolveTcpConfig(o: Partial<TcpConfig> | undefined): TcpConfig {
  const c: TcpConfig = { ...defaultTcpConfig, ...o };
  if (![0, 1, 2].includes(c.syncookies)) throw new RangeError(`tcp.syncookies must be 0, 1 or 2 (got ${c.syncookies})`);
  if (c.congestionControl !== 'newreno' && c.congestionControl !== 'cubic') throw new RangeError(`tcp.congestionControl: unknown '${String(c.congestionControl)}'`);
  for (const k of ['rmem', 'wmem'] as const) if (!(c[k] >= 2048 && c[k] <= 1 << 30)) throw new RangeError(`tcp.${k} must be between 2048 and 2^30`);
  for (const k of ['rmemMax', 'wmemMax'] as const) if (!(c[k] === 0 || (c[k] >= 2048 && c[k] <= 1 << 30))) throw new RangeError(`tcp.${k} must be 0 or between 2048 and 2^30`);
  if (!(c.tickMs >= 1 && c.tickMs <= 10)) throw new RangeError(`tcp.tickMs must be between 1 (HZ=1000) and 10 (HZ=100) (got ${c.tickMs})`);
  if (!(Number.isInteger(c.recovery) && c.recovery >= 0 && c.recovery <= 7)) throw new RangeError(`tcp.recovery must be an integer 0..7 (got ${c.recovery})`);
  if (c.delayedAckMs > 200) c.delayedAckMs = 200;
  if (!(Number.isInteger(c.fastOpen) && c.fastOpen >= 0)) throw new RangeError(`tcp.fastOpen must be a non-negative integer of net.ipv4.tcp_fastopen bits (got ${c.fastOpen})`);
  if (c.fastOpenKey !== undefined && parseFastOpenKeys(c.fastOpenKey) === null) throw new RangeError(`tcp.fastOpenKey must be xxxxxxxx-xxxxxxxx-xxxxxxxx-xxxxxxxx[,backup] (got '${c.fastOpenKey}')`);
  return c;
}

/**
 * The TCP settings of a live stack (`tunstack up`, and its warm-up): tail loss probes, buffer autotuning and
 * CUBIC on, as Linux has them by default (Linux: tcp_rmem 4096 131072 6291456 on older kernels, tcp_wmem 4096 16384 4194304; both buffers start
 * at 1 MiB). CUBIC's gentler cut (β 0.7): ten 20 MB downloads with 1% loss
 * each way, consumer-bound at ~430 MB/s (curl | sha256sum on one core), reached the cap in 7 of 10 against 4–5
 * of 10 with NewReno.
 */
export const liveTcpConfig: Readonly<Partial<TcpConfig>> = {
  // Differs from Linux on purpose: a live stack starts its receive buffer at 1 MiB (SYN window 65535) rather
  // than the library's Linux-like 64240. Starting at 64240 and autotuning from there made the JIT warm-up's
  // uploads (real clock, 5 s budget) and the first transfers of a fresh stack slower: `tunstack up` then took
  // longer to answer than the operations test allows (30 s, 25.5 s before).
  rmem: 1 << 20,
  tailLossProbe: true,
  pacing: true,
  congestionControl: 'cubic',
  rmemMax: 6 * 1024 * 1024,
  wmemMax: 4 * 1024 * 1024,
  // Differs from Linux on purpose: `tunstack up` is the host people send their first Fast Open SYN to, so it
  // serves Fast Open on every listener (net.ipv4.tcp_fastopen=0x403, each listener's queue its backlog) where
  // Linux's default (1) is client only. `--fast-open off` gives Linux's default.
  fastOpen: TFO_CLIENT_ENABLE | TFO_SERVER_ENABLE | TFO_SERVER_WO_SOCKOPT1,
};

/** The largest receive buffer a connection may reach: what its window scale must be able to express. */
export function receiveBufferCeiling(c: Pick<TcpConfig, 'rmem' | 'rmemMax'>): number {
  return Math.max(c.rmem, c.rmemMax);
}

/**
 * Window scale shift we announce for a receive buffer of up to `rmem` bytes (RFC 7323 §2.3: at most 14; Linux
 * tcp_select_initial_window sizes it for tcp_rmem[2], the most the buffer can grow to).
 */
export function windowScaleFor(rmem: number): number {
  let s = 0;
  while (s < 14 && rmem >> s > 0xffff) s++;
  return s;
}
