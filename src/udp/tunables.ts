/** UDP's tunables (src/udp/layer.ts UdpOptions); the port range is the IP layer's net.ipv4.ip_local_port_range. */
import { buildConstant, keyTunable, type Tunable } from '../tunable.js';
import { defaultUdpOptions, type UdpOptions } from './layer.js';
import { DATAGRAM_QUEUE_OVERHEAD } from './socket.js';

export const udpTunables: readonly Tunable<UdpOptions>[] = [
  keyTunable('recvBufferSize', {
    name: 'net.core.rmem_default',
    unit: 'bytes',
    kind: { type: 'int', min: 2048, max: 1 << 30 },
    default: defaultUdpOptions.recvBufferSize,
    when: 'run',
    text: 'receive queue of UDP sockets created after the change, accounted bytes (payload + overhead per datagram)',
  }),
];

export const udpConstants: readonly Tunable<unknown>[] = [
  buildConstant({ name: 'tunstack.udp.datagram_overhead', unit: 'bytes', default: DATAGRAM_QUEUE_OVERHEAD, text: "accounted cost of a queued datagram beyond its payload (like an skb's truesize)" }),
];
