/**
 * TCP's tunables: every TcpConfig setting (src/tcp/config.ts, the meaning in full) under a sysctl name, and
 * the layer's constants of the build. Settings marked `run` apply to connections opened after the change,
 * as Linux's net.ipv4.tcp_* do; the others size structures made when the stack starts.
 */
import { buildConstant, keyTunable, scaledTunable, type Tunable } from '../tunable.js';
import { defaultTcpConfig as d, type TcpConfig } from './config.js';

/** Most bytes of free rings kept for reuse (src/tcp/ring-pool.ts). */
export const RING_POOL_BYTES = 16 * 1024 * 1024;
/**
 * A segment with at least this many payload bytes leaves them in the send buffer: the link writes its headers
 * and a view of the payload with one writev (src/link/link.ts `tails`). Smaller ones are copied next to their
 * headers, which costs less than a second piece.
 */
export const TAIL_MIN_BYTES = 4096;

/** Largest chunk handed to the application in one push. */
export const READ_CHUNK = 256 * 1024;

/**
 * Buffers grow only on paths whose smallest round trip (the path's own delay, not the queueing and processing
 * a busy moment adds to the smoothed RTT) is at least this. Below it the starting buffers (1 MiB) already hold
 * more than a round trip at any rate the stack reaches (1 MiB per 0.25 ms is 4 GB/s), and growing them only
 * made the rings outgrow the CPU caches: over a local TUN, send-buffer growth to 4 MiB took a 200 MB download
 * from 3.5 to 1.5 GB/s and peak RSS from 139 to 186 MiB (peers harness, measured). Gating on the smoothed RTT
 * was not enough: on a saturated core it passes 4 ms now and then.
 */
export const AUTOTUNE_MIN_RTT_MS = 4;

const BUF = { type: 'int', min: 2048, max: 1 << 30 } as const;
const BUF_OR_0 = { type: 'int', min: 0, max: 1 << 30 } as const;
const MS = (max: number) => ({ type: 'int', min: 1, max }) as const;
const COUNT = (min: number, max: number) => ({ type: 'int', min, max }) as const;
const BOOL = { type: 'bool' } as const;

/** The settings of TcpConfig that are tunables (`seed` is for deterministic tests, not an operator's knob). */
export const tcpTunables: readonly Tunable<TcpConfig>[] = [
  keyTunable('syncookies', { name: 'net.ipv4.tcp_syncookies', unit: '', kind: COUNT(0, 2), default: d.syncookies, when: 'run', text: 'SYN cookies: 0 never, 1 when the SYN queue is full, 2 always' }),
  keyTunable('rmem', {
    name: 'tunstack.tcp.rmem',
    linux: 'tcp_rmem[1]',
    unit: 'bytes',
    kind: BUF,
    default: d.rmem,
    when: 'start',
    text: 'receive buffer a connection starts with (SO_RCVBUF); the window never exceeds it',
    differs: 'counts payload bytes, not memory: 64240 is the window Linux offers in a SYN with its 131072-byte tcp_rmem[1]',
  }),
  keyTunable('rmemMax', { name: 'tunstack.tcp.rmem_max', linux: 'tcp_rmem[2]', unit: 'bytes', kind: BUF_OR_0, default: d.rmemMax, when: 'start', text: 'receive buffer autotuning ceiling (0: no autotuning); the window scale is sized for it' }),
  keyTunable('wmem', {
    name: 'tunstack.tcp.wmem',
    linux: 'tcp_wmem[1]',
    unit: 'bytes',
    kind: BUF,
    default: d.wmem,
    when: 'start',
    text: 'send buffer a connection starts with (SO_SNDBUF): unacknowledged plus unsent data',
    differs: 'Linux starts at 16384 and grows it; a fixed 1 MiB keeps a fast local path from being send-buffer bound',
  }),
  keyTunable('wmemMax', { name: 'tunstack.tcp.wmem_max', linux: 'tcp_wmem[2]', unit: 'bytes', kind: BUF_OR_0, default: d.wmemMax, when: 'start', text: 'send buffer autotuning ceiling, twice the congestion window (0: no autotuning)', differs: 'off in the library (Linux 4194304); `tunstack up` sets 4 MiB' }),
  keyTunable('mssClamp', { name: 'tunstack.tcp.mss_clamp', linux: 'TCP_MAXSEG / iptables TCPMSS', unit: 'bytes', kind: COUNT(0, 65495), default: d.mssClamp, when: 'run', text: 'upper bound on the MSS announced and used (0: only the interface MTU − 40 decides)' }),
  keyTunable('initialRto', { name: 'tunstack.tcp.rto_initial_ms', linux: 'TCP_TIMEOUT_INIT', unit: 'ms', kind: MS(60_000), default: d.initialRto, when: 'start', text: 'retransmission timeout before any RTT sample (RFC 6298 §2.1)' }),
  keyTunable('minRto', { name: 'tunstack.tcp.rto_min_ms', linux: 'tcp_rto_min_us / 1000', unit: 'ms', kind: MS(60_000), default: d.minRto, when: 'start', text: 'lower bound on the retransmission timeout' }),
  keyTunable('maxRto', { name: 'net.ipv4.tcp_rto_max_ms', unit: 'ms', kind: MS(120_000), default: d.maxRto, when: 'start', text: 'upper bound on the retransmission timeout' }),
  keyTunable('congestionControl', {
    name: 'net.ipv4.tcp_congestion_control',
    unit: '',
    kind: { type: 'enum', values: ['newreno', 'cubic'] },
    default: d.congestionControl,
    when: 'run',
    text: 'congestion controller of new connections: newreno (RFC 5681/6582) or cubic (RFC 9438)',
    differs: 'Linux runs cubic (bbr in a fresh netns here); the library keeps NewReno, which the dialogues pin down; `tunstack up` runs cubic',
  }),
  keyTunable('timestamps', { name: 'net.ipv4.tcp_timestamps', unit: '', kind: BOOL, default: d.timestamps, when: 'run', text: 'RFC 7323 timestamps and PAWS on new connections' }),
  keyTunable('sack', { name: 'net.ipv4.tcp_sack', unit: '', kind: BOOL, default: d.sack, when: 'run', text: 'selective acknowledgements (RFC 2018) on new connections' }),
  keyTunable('tailLossProbe', {
    name: 'tunstack.tcp.tail_loss_probe',
    linux: 'tcp_early_retrans=3',
    unit: '',
    kind: BOOL,
    default: d.tailLossProbe,
    when: 'run',
    text: 'tail loss probes (RFC 8985 §7)',
    differs: 'off in the library, as the conformance dialogues assume (tcp_early_retrans=0); `tunstack up` turns them on',
  }),
  keyTunable('windowScaling', { name: 'net.ipv4.tcp_window_scaling', unit: '', kind: BOOL, default: d.windowScaling, when: 'run', text: 'window scaling (RFC 7323) on new connections' }),
  keyTunable('tickMs', { name: 'tunstack.tcp.tick_ms', linux: '1000 / CONFIG_HZ', unit: 'ms', kind: COUNT(1, 10), default: d.tickMs, when: 'start', text: "Linux's timer tick, which floors made of ticks (the TLP timeout) follow" }),
  keyTunable('delayedAckMs', { name: 'tunstack.tcp.delack_ms', linux: 'TCP_DELACK_MIN', unit: 'ms', kind: COUNT(1, 200), default: d.delayedAckMs, when: 'run', text: 'delayed-ACK timeout (fixed; Linux adapts it between 40 and 200 ms)' }),
  keyTunable('quickAcks', { name: 'tunstack.tcp.quickacks', linux: 'TCP_MAX_QUICKACKS', unit: 'segments', kind: COUNT(0, 1000), default: d.quickAcks, when: 'run', text: 'segments ACKed at once at the start of a connection' }),
  keyTunable('timeWaitMs', { name: 'tunstack.tcp.time_wait_ms', linux: 'TCP_TIMEWAIT_LEN', unit: 'ms', kind: MS(600_000), default: d.timeWaitMs, when: 'run', text: 'TIME_WAIT length, 2·MSL' }),
  scaledTunable('finTimeoutMs', 1000, { name: 'net.ipv4.tcp_fin_timeout', unit: 's', kind: COUNT(1, 3600), default: d.finTimeoutMs / 1000, when: 'run', text: 'FIN_WAIT_2 timeout of connections the application closed' }),
  keyTunable('synRetries', {
    name: 'net.ipv4.tcp_syn_retries',
    unit: 'count',
    kind: COUNT(1, 127),
    default: d.synRetries,
    when: 'run',
    text: 'SYN retransmissions before connect() fails with ETIMEDOUT',
    differs: 'backs off exponentially from the first retry (Linux 6.x retries its first 4 at a linear 1 s: tcp_syn_linear_timeouts)',
  }),
  keyTunable('synAckRetries', { name: 'net.ipv4.tcp_synack_retries', unit: 'count', kind: COUNT(1, 255), default: d.synAckRetries, when: 'run', text: 'SYN-ACK retransmissions before a half-open entry expires' }),
  keyTunable('retries2', { name: 'net.ipv4.tcp_retries2', unit: 'count', kind: COUNT(1, 255), default: d.retries2, when: 'run', text: 'data retransmissions before the connection fails with ETIMEDOUT' }),
  scaledTunable('keepaliveTimeMs', 1000, { name: 'net.ipv4.tcp_keepalive_time', unit: 's', kind: COUNT(1, 32767), default: d.keepaliveTimeMs / 1000, when: 'run', text: 'idle time before the first keepalive probe (SO_KEEPALIVE sockets)' }),
  scaledTunable('keepaliveIntervalMs', 1000, { name: 'net.ipv4.tcp_keepalive_intvl', unit: 's', kind: COUNT(1, 32767), default: d.keepaliveIntervalMs / 1000, when: 'run', text: 'interval between keepalive probes' }),
  keyTunable('keepaliveProbes', { name: 'net.ipv4.tcp_keepalive_probes', unit: 'count', kind: COUNT(1, 127), default: d.keepaliveProbes, when: 'run', text: 'unanswered keepalive probes before the connection is dropped' }),
  keyTunable('notsentLowat', { name: 'net.ipv4.tcp_notsent_lowat', unit: 'bytes', kind: COUNT(0, 0xffffffff), default: d.notsentLowat, when: 'run', text: 'unsent bytes under which a socket polls writable (TCP_NOTSENT_LOWAT per socket overrides it)' }),
  keyTunable('recovery', { name: 'net.ipv4.tcp_recovery', unit: 'bit mask', kind: COUNT(0, 7), default: d.recovery, when: 'run', text: 'loss detection: 0x1 RACK (RFC 8985) instead of DupThresh, 0x2 static reordering window, 0x4 no DupThresh shortcut; 0 DupThresh SACK recovery' }),
  keyTunable('pacing', {
    name: 'tunstack.tcp.pacing',
    linux: 'SK_PACING_NEEDED (SO_MAX_PACING_RATE, bbr) or the fq qdisc',
    unit: '',
    kind: BOOL,
    default: d.pacing,
    when: 'run',
    text: 'internal pacing: data units leave at tcp_pacing_ss_ratio / tcp_pacing_ca_ratio percent of cwnd per SRTT instead of in bursts',
    differs: 'off in the library, as the conformance dialogues assume (Linux CUBIC without fq); `tunstack up` turns it on',
  }),
  keyTunable('pacingSsRatio', { name: 'net.ipv4.tcp_pacing_ss_ratio', unit: 'percent', kind: COUNT(0, 1000), default: d.pacingSsRatio, when: 'run', text: 'pacing rate in slow start (cwnd < ssthresh/2), percent of cwnd per SRTT' }),
  keyTunable('pacingCaRatio', { name: 'net.ipv4.tcp_pacing_ca_ratio', unit: 'percent', kind: COUNT(0, 1000), default: d.pacingCaRatio, when: 'run', text: 'pacing rate after that, percent of cwnd per SRTT' }),
  keyTunable('synLinearTimeouts', { name: 'net.ipv4.tcp_syn_linear_timeouts', unit: 'count', kind: COUNT(0, 127), default: d.synLinearTimeouts, when: 'run', text: 'SYN retransmissions at a steady initial RTO before the exponential backoff (Linux 6.x)' }),
  keyTunable('ecn', { name: 'net.ipv4.tcp_ecn', unit: 'mode', kind: COUNT(0, 5), default: d.ecn, when: 'run', text: 'ECN: 0 off, 1 request classic ECN (RFC 3168) on outgoing connections and accept it, 2 accept it only when the peer requests it; 3 request Accurate ECN (RFC 9768) and accept it, 4 request classic and accept AccECN, 5 accept AccECN only when requested (Linux 6.18 caps it at 2; 3..5 as mainline, tcp_ecn_mode_max = 5)' }),
  keyTunable('ecnOption', { name: 'net.ipv4.tcp_ecn_option', unit: 'mode', kind: COUNT(0, 2), default: d.ecnOption, when: 'run', text: 'AccECN option on an AccECN connection: 0 never, 1 when demanded (handshake, CE or ECN-field change) or by the beacon, 2 on every segment it fits in' }),
  keyTunable('ecnOptionBeacon', { name: 'net.ipv4.tcp_ecn_option_beacon', unit: 'per RTT', kind: COUNT(0, 3), default: d.ecnOptionBeacon, when: 'run', text: 'with tcp_ecn_option=1, send the AccECN option at least this many times per RTT (0 never)' }),
  keyTunable('fastOpen', { name: 'net.ipv4.tcp_fastopen', unit: 'bit mask', kind: COUNT(0, 0xfff), default: d.fastOpen, when: 'run', text: 'TCP Fast Open (RFC 7413): 0x1 client, 0x2 server (a listener needs TCP_FASTOPEN, or 0x400), 0x4 client data without a cookie, 0x200 server takes data without a cookie' }),
  keyTunable('linuxOptionLayout', { name: 'tunstack.tcp.linux_option_layout', unit: '', kind: BOOL, default: d.linuxOptionLayout, when: 'start', text: "emit Linux's exact TCP option layouts (packetdrill scripts run unmodified)" }),
  keyTunable('somaxconn', { name: 'net.core.somaxconn', unit: 'count', kind: COUNT(1, 65535), default: d.somaxconn, when: 'run', text: 'cap on listen() backlogs (listeners opened after the change)' }),
  keyTunable('defaultBacklog', { name: 'tunstack.tcp.default_backlog', linux: "Node's and nginx's 511", unit: 'count', kind: COUNT(1, 65535), default: d.defaultBacklog, when: 'run', text: 'backlog of a listen() that gives none' }),
  keyTunable('challengeAckLimit', {
    name: 'net.ipv4.tcp_challenge_ack_limit',
    unit: 'per second',
    kind: COUNT(0, 0x7fffffff),
    default: d.challengeAckLimit,
    when: 'run',
    text: 'challenge ACKs sent per second, stack-wide (RFC 5961 §7)',
    differs: 'Linux ≥ 6.0 defaults to INT_MAX (no limit); 1000, its old default, keeps a forged-segment flood from turning into an ACK flood',
  }),
  keyTunable('initialCwnd', { name: 'tunstack.tcp.initial_cwnd', linux: 'ip route … initcwnd', unit: 'segments', kind: COUNT(1, 1000), default: d.initialCwnd, when: 'run', text: 'initial congestion window (RFC 6928)' }),
  keyTunable('maxOooRanges', { name: 'tunstack.tcp.max_ooo_ranges', unit: 'count', kind: COUNT(1, 65535), default: d.maxOooRanges, when: 'start', text: 'out-of-order ranges kept per connection; a segment needing more is dropped (TCPOFODrop)' }),
  keyTunable('cookieSecretRotationMs', { name: 'tunstack.tcp.cookie_secret_rotation_ms', unit: 'ms', kind: MS(86_400_000), default: d.cookieSecretRotationMs, when: 'start', text: 'how often the SYN-cookie secret rotates (the previous one stays valid)' }),
  keyTunable('maxTimeWait', {
    name: 'net.ipv4.tcp_max_tw_buckets',
    unit: 'count',
    kind: COUNT(0, 1 << 24),
    default: d.maxTimeWait,
    when: 'run',
    text: 'most TIME_WAIT connections kept; beyond, closing sockets skip TIME_WAIT',
    differs: 'Linux sizes it from memory (131072 here); a TIME-WAIT entry costs ~2.5 KB of heap, so 8192 bounds it at ~20 MB',
  }),
  keyTunable('maxConnections', { name: 'tunstack.tcp.max_connections', unit: 'count', kind: COUNT(1, 1 << 24), default: d.maxConnections, when: 'run', text: 'most connections at once, TIME_WAIT not counted; at the cap listeners drop new SYNs' }),
  keyTunable('tso', { name: 'tunstack.tcp.tso', linux: 'ethtool -K tso/gso', unit: '', kind: BOOL, default: d.tso, when: 'run', text: 'segmentation offload: full segments of one pass leave as one super-segment of up to 64 KiB' }),
];

export const tcpConstants: readonly Tunable<unknown>[] = [
  buildConstant({ name: 'tunstack.tcp.zero_copy_min_bytes', unit: 'bytes', default: TAIL_MIN_BYTES, text: 'a segment with this much payload or more is written from the send buffer without a copy (headers and payload as two pieces of one writev)' }),
  buildConstant({ name: 'tunstack.tcp.ring_pool_bytes', unit: 'bytes', default: RING_POOL_BYTES, text: 'most bytes of free buffer rings kept for reuse by new connections' }),
  buildConstant({ name: 'tunstack.tcp.read_chunk_bytes', unit: 'bytes', default: READ_CHUNK, text: "largest chunk handed to the application in one 'data' event" }),
  buildConstant({ name: 'tunstack.tcp.autotune_min_rtt_ms', unit: 'ms', default: AUTOTUNE_MIN_RTT_MS, text: 'buffers autotune only on paths whose smallest RTT is at least this', differs: 'Linux autotunes on any path; below 4 ms growth only made rings outgrow the CPU caches (measured)' }),
];
