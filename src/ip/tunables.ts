/**
 * The IP layer's tunables: IPv4 output and forwarding, the ephemeral port range the transports share, ICMP
 * rate limits (src/ip/icmp.ts), fragment reassembly limits (src/ip/reassembler.ts) and the transmit slab.
 */
import { buildConstant, keyTunable, scaledTunable, type Tunable } from '../tunable.js';
import { defaultIcmpOptions as icmp, type IcmpOptions } from './icmp.js';
import { defaultReassemblyOptions as reasm, type ReassemblyOptions } from './reassembler.js';
import { EPHEMERAL_HIGH, EPHEMERAL_LOW } from './local-port-range.js';
import { TX_SLAB_BYTES, TX_SLAB_MAX_PACKET } from './ipv4.js';

/** The stack-wide IP settings as one options shape (StackOptions.ttl, .forwarding and the transports' port ranges). */
export interface IpSettings {
  /** TTL of datagrams the stack originates. */
  defaultTtl: number;
  /** Router mode. */
  forwarding: boolean;
  /** "LOW HIGH": the ephemeral ports connect() and unbound sends pick from. */
  localPortRange: string;
}

export const ipTunables: readonly Tunable<IpSettings>[] = [
  keyTunable('defaultTtl', { name: 'net.ipv4.ip_default_ttl', unit: 'hops', kind: { type: 'int', min: 1, max: 255 }, default: 64, when: 'run', text: 'TTL of the datagrams the stack originates' }),
  keyTunable('forwarding', { name: 'net.ipv4.ip_forward', unit: '', kind: { type: 'bool' }, default: false, when: 'run', text: 'router mode: forward datagrams not addressed to the stack (`--forward` at start)' }),
  keyTunable('localPortRange', {
    name: 'net.ipv4.ip_local_port_range',
    unit: 'ports',
    kind: { type: 'range', min: 1, max: 65535 },
    default: `${EPHEMERAL_LOW} ${EPHEMERAL_HIGH}`,
    when: 'start',
    text: 'ephemeral ports for connect() and unbound UDP sends, "LOW HIGH"',
  }),
];

export const icmpTunables: readonly Tunable<IcmpOptions>[] = [
  keyTunable('msgsPerSec', { name: 'net.ipv4.icmp_msgs_per_sec', unit: 'per second', kind: { type: 'int', min: 1, max: 1_000_000 }, default: icmp.msgsPerSec, when: 'start', text: 'ICMP errors sent per second, stack-wide' }),
  keyTunable('msgsBurst', { name: 'net.ipv4.icmp_msgs_burst', unit: 'count', kind: { type: 'int', min: 1, max: 1_000_000 }, default: icmp.msgsBurst, when: 'start', text: 'burst of the stack-wide ICMP error limit' }),
  keyTunable('perDestIntervalMs', { name: 'net.ipv4.icmp_ratelimit', unit: 'ms', kind: { type: 'int', min: 0, max: 3_600_000 }, default: icmp.perDestIntervalMs, when: 'start', text: 'least interval between ICMP errors to one destination, burst 6 (0: no per-destination limit)' }),
  {
    name: 'net.ipv4.icmp_echo_ignore_all',
    unit: '',
    kind: { type: 'bool' },
    default: !icmp.answerEcho,
    when: 'run',
    text: 'ignore echo requests (no ping replies)',
    get: (o) => !o.answerEcho,
    put: (o, v) => {
      o.answerEcho = v !== true;
    },
  },
];

export const reassemblyTunables: readonly Tunable<ReassemblyOptions>[] = [
  scaledTunable('timeoutMs', 1000, { name: 'net.ipv4.ipfrag_time', unit: 's', kind: { type: 'int', min: 1, max: 3600 }, default: reasm.timeoutMs / 1000, when: 'run', text: 'time a datagram may wait for its missing fragments' }),
  keyTunable('maxTotalBytes', { name: 'net.ipv4.ipfrag_high_thresh', unit: 'bytes', kind: { type: 'int', min: 65536, max: 1 << 30 }, default: reasm.maxTotalBytes, when: 'run', text: 'accounted bytes of all datagrams being reassembled; beyond, the oldest is dropped' }),
  keyTunable('maxDatagramBytes', { name: 'tunstack.ip.frag_max_datagram_bytes', unit: 'bytes', kind: { type: 'int', min: 1024, max: 1 << 30 }, default: reasm.maxDatagramBytes, when: 'run', text: 'accounted bytes (payload plus per-fragment overhead) one datagram may hold' }),
  keyTunable('maxDatagrams', { name: 'tunstack.ip.frag_max_datagrams', unit: 'count', kind: { type: 'int', min: 1, max: 1 << 20 }, default: reasm.maxDatagrams, when: 'run', text: 'datagrams being reassembled at once; beyond, the oldest is dropped' }),
];

export const ipConstants: readonly Tunable<unknown>[] = [
  buildConstant({ name: 'tunstack.ip.tx_slab_bytes', unit: 'bytes', default: TX_SLAB_BYTES, text: 'slab the IP output path cuts outgoing packets from' }),
  buildConstant({ name: 'tunstack.ip.tx_slab_max_packet', unit: 'bytes', default: TX_SLAB_MAX_PACKET, text: 'largest packet cut from the transmit slab; larger ones get their own buffer' }),
];
