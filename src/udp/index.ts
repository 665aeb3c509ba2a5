/** UDP: the layer (port table, demux, ICMP errors) and the dgram-shaped socket. */
export { UdpLayer, defaultUdpOptions, type UdpOptions, type UdpSocketRow } from './layer.js';
export { UdpSocket, MAX_UDP_PAYLOAD, type RemoteInfo, type AddressInfo, type UdpSocketOptions, type BindOptions, type IcmpErrorInfo, type SendCallback } from './socket.js';
export { UdpPortTable, EPHEMERAL_LOW, EPHEMERAL_HIGH, type UdpEndpoint } from './ports.js';
export { systemError, type SystemError, type UdpErrorCode } from './errors.js';
