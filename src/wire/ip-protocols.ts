/**
 * IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), one constant each: the IPv4 Protocol field
 * and the IPv6 Next Header field share the space (RFC 8200 §3).
 */
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
