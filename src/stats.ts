/**
 * Counters named like Linux /proc/net/snmp and netstat (TcpExt), plus a
 * drop-reason table. Plain objects with numeric fields: `stats.Ip.InReceives++`
 * costs nothing on the packet path.
 */
import type { DropReason } from './drop-reasons.js';

export function ipCounters() {
  return {
    InReceives: 0,
    InHdrErrors: 0,
    InAddrErrors: 0,
    ForwDatagrams: 0,
    InUnknownProtos: 0,
    InDiscards: 0,
    InDelivers: 0,
    OutRequests: 0,
    OutDiscards: 0,
    OutNoRoutes: 0,
    ReasmTimeout: 0,
    ReasmReqds: 0,
    ReasmOKs: 0,
    ReasmFails: 0,
    FragOKs: 0,
    FragFails: 0,
    FragCreates: 0,
    /** Linux IpExt ReasmOverlaps: datagrams discarded for an overlapping fragment. */
    ReasmOverlaps: 0,
    /** Linux IpExt InNoRoutes: datagrams to forward with no route. */
    InNoRoutes: 0,
  };
}

/** Linux /proc/net/snmp6 names (RFC 4293's ipSystemStats), without the Ip6 prefix. */
export function ip6Counters() {
  return {
    InReceives: 0,
    InHdrErrors: 0,
    InTooBigErrors: 0,
    InNoRoutes: 0,
    InAddrErrors: 0,
    InUnknownProtos: 0,
    InTruncatedPkts: 0,
    InDiscards: 0,
    InDelivers: 0,
    OutForwDatagrams: 0,
    OutRequests: 0,
    OutDiscards: 0,
    OutNoRoutes: 0,
    ReasmTimeout: 0,
    ReasmReqds: 0,
    ReasmOKs: 0,
    ReasmFails: 0,
    FragOKs: 0,
    FragFails: 0,
    FragCreates: 0,
    InMcastPkts: 0,
  };
}

/** Linux /proc/net/snmp6 Icmp6 names, without the prefix. */
export function icmp6Counters() {
  return {
    InMsgs: 0,
    InErrors: 0,
    InCsumErrors: 0,
    InDestUnreachs: 0,
    InPktTooBigs: 0,
    InTimeExcds: 0,
    InParmProblems: 0,
    InEchos: 0,
    InEchoReplies: 0,
    InRouterSolicits: 0,
    InRouterAdvertisements: 0,
    InNeighborSolicits: 0,
    InNeighborAdvertisements: 0,
    InMLDv2Reports: 0,
    OutMsgs: 0,
    OutErrors: 0,
    OutRateLimited: 0,
    OutDestUnreachs: 0,
    OutPktTooBigs: 0,
    OutTimeExcds: 0,
    OutParmProblems: 0,
    OutEchoReplies: 0,
  };
}

export function icmpCounters() {
  return {
    InMsgs: 0,
    InErrors: 0,
    InCsumErrors: 0,
    InDestUnreachs: 0,
    InTimeExcds: 0,
    InEchos: 0,
    InEchoReps: 0,
    OutMsgs: 0,
    OutErrors: 0,
    OutRateLimited: 0,
    OutDestUnreachs: 0,
    OutTimeExcds: 0,
    OutEchos: 0,
    OutEchoReps: 0,
  };
}

export function udpCounters() {
  return {
    InDatagrams: 0,
    NoPorts: 0,
    InErrors: 0,
    OutDatagrams: 0,
    RcvbufErrors: 0,
    SndbufErrors: 0,
    InCsumErrors: 0,
  };
}

export function tcpCounters() {
  return {
    ActiveOpens: 0,
    PassiveOpens: 0,
    AttemptFails: 0,
    EstabResets: 0,
    CurrEstab: 0,
    InSegs: 0,
    OutSegs: 0,
    RetransSegs: 0,
    InErrs: 0,
    OutRsts: 0,
    InCsumErrors: 0,
  };
}

export function tcpExtCounters() {
  return {
    SyncookiesSent: 0,
    SyncookiesRecv: 0,
    SyncookiesFailed: 0,
    ListenOverflows: 0,
    ListenDrops: 0,
    TCPChallengeACK: 0,
    TCPSACKRecovery: 0,
    TCPFastRetrans: 0,
    TCPTimeouts: 0,
    TCPAbortOnTimeout: 0,
    TCPAbortOnData: 0,
    TCPKeepAlive: 0,
    PAWSEstab: 0,
    // A SYN-ACK whose TS ecr is not one of our SYN's (Linux tcp_rcv_synsent_state_process): answered with RST.
    PAWSActive: 0,
    TCPOFOQueue: 0,
    TCPOFODrop: 0,
    TCPZeroWindowDrop: 0,
    TCPWinProbe: 0,
    TW: 0,
    TWRecycled: 0,
    TCPTimeWaitOverflow: 0,
    TCPLostRetransmit: 0,
    TCPSACKReorder: 0,
    TCPDSACKRecv: 0,
    TCPDSACKUndo: 0,
    TCPDSACKIgnoredDubious: 0,
    TCPFullUndo: 0,
    TCPLossUndo: 0,
    TCPSpuriousRTOs: 0,
    TCPSackRecoveryFail: 0,
    TCPLossProbes: 0,
    // Data units that waited for their departure time (src/tcp/pacing.ts; ours: Linux counts no such event).
    TCPPacingHold: 0,
    // Segments newly acknowledged or SACKed, and those of them whose ACK echoed congestion (ECE): tcp_newly_delivered.
    TCPDelivered: 0,
    TCPDeliveredCE: 0,
    TCPACKSkippedTimeWait: 0,
    IcmpForgedDrops: 0,
    // An ICMP error quoting a sequence number not in flight (Linux tcp_v4_err, LINUX_MIB_OUTOFWINDOWICMPS).
    OutOfWindowIcmps: 0,
    // Segments signed with a TCP MD5 option (RFC 2385) to a socket without a key (Linux tcp_inbound_md5_hash).
    TCPMD5Unexpected: 0,
    // TCP Fast Open (RFC 7413), as Linux's TcpExt names them.
    TCPFastOpenActive: 0,
    TCPFastOpenActiveFail: 0,
    TCPFastOpenPassive: 0,
    TCPFastOpenPassiveFail: 0,
    TCPFastOpenListenOverflow: 0,
    TCPFastOpenCookieReqd: 0,
    TCPFastOpenPassiveAltKey: 0,
  };
}

export class Stats {
  readonly Ip = ipCounters();
  readonly Icmp = icmpCounters();
  readonly Ip6 = ip6Counters();
  readonly Icmp6 = icmp6Counters();
  readonly Udp = udpCounters();
  /** Linux /proc/net/snmp6's Udp6 line (UDP over IPv6 is counted apart from UDP over IPv4). */
  readonly Udp6 = udpCounters();
  readonly Tcp = tcpCounters();
  readonly TcpExt = tcpExtCounters();
  /** Drops by reason, e.g. `ip.bad-checksum`: every packet the stack discards is counted once here (src/drop-reasons.ts). */
  readonly drops: Partial<Record<DropReason, number>> = Object.create(null) as Partial<Record<DropReason, number>>;

  /**
   * Current levels (not counters), set by the stack: timers armed, reassembly
   * memory and datagrams, connections, sockets. Reported as the `Gauges` group
   * so soak runs can watch resources through `tunstack stats` / the log.
   */
  gauges: (() => Record<string, number>) | null = null;
  /** The impairment stage's counters per direction (src/link/impair.ts) when `tunstack up --impair` runs one; reported as the `Impair` group. */
  impair: (() => Record<string, unknown>) | null = null;

  drop(reason: DropReason): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { Ip: this.Ip, Icmp: this.Icmp, Ip6: this.Ip6, Icmp6: this.Icmp6, Udp: this.Udp, Udp6: this.Udp6, Tcp: this.Tcp, TcpExt: this.TcpExt, drops: { ...this.drops } };
    if (this.gauges) out['Gauges'] = this.gauges();
    if (this.impair) out['Impair'] = this.impair();
    return out;
  }
}
