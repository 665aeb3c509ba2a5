/**
 * The ephemeral port range, one constant for UDP and TCP (Linux net.ipv4.ip_local_port_range = 32768 60999,
 * shared by every transport as inet_get_local_port_range does). Each layer's options start from it.
 */
export const EPHEMERAL_LOW = 32768;
export const EPHEMERAL_HIGH = 60999;
