/**
 * Stable object shapes for V8.
 *
 * V8 gives an object field the representation of the first value stored in it: a small integer (31 bits), a
 * double, or a tagged pointer. When a small-integer field later receives a value outside that range — a uint32
 * sequence number above 2^30, a fractional millisecond time, a byte counter past 1 GiB — the field is widened,
 * every hidden class that has it is deprecated, and all optimized code that was specialised on those classes is
 * thrown away ("wrong map" deoptimizations). On the TCP connection that happened mid-transfer, the first time a
 * FIN or a tail loss probe stored a large sequence number (41 and 33 hidden classes deprecated at once), and a
 * fresh process's first 200 MB download ran at 1.1 GB/s against 4–5 GB/s later.
 *
 * Fields that will hold such values therefore start as a double: `-0` is not a small integer, equals `0` in every
 * comparison and arithmetic, and prints as `0` in templates and JSON.
 */
export const DOUBLE_ZERO = -0;
