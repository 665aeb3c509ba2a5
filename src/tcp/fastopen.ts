/**
 * TCP Fast Open (RFC 7413) as Linux does it: the server's cookie — SipHash-2-4 of the peer's and our IPv4
 * address under a 128-bit key (Linux __tcp_fastopen_cookie_gen_cipher), checked against the primary and the
 * backup key (tcp_fastopen_cookie_gen_check) — the sysctl bits of net.ipv4.tcp_fastopen, the key's text form
 * (proc_tcp_fastopen_key), and the client's per-destination cookie cache (Linux keeps it in tcp_metrics:
 * tcp_fastopen_cache_get/set). Pure arithmetic on 32-bit halves: no allocation when a cookie is made or checked.
 */
import { HashKey } from './hash.js';

/** net.ipv4.tcp_fastopen bits (include/net/tcp.h). */
export const TFO_CLIENT_ENABLE = 0x1;
export const TFO_SERVER_ENABLE = 0x2;
/** Data in SYN without a cookie option (client). */
export const TFO_CLIENT_NO_COOKIE = 0x4;
/** Accept SYN data without any cookie option (server). */
export const TFO_SERVER_COOKIE_NOT_REQD = 0x200;
/** Every listener takes Fast Open without the TCP_FASTOPEN socket option (its queue = the listen backlog). */
export const TFO_SERVER_WO_SOCKOPT1 = 0x400;
/** Linux's default: client on. */
export const TFO_DEFAULT = TFO_CLIENT_ENABLE;

/** Linux TCP_FASTOPEN_COOKIE_SIZE: the server's cookie is one 64-bit SipHash. */
export const FASTOPEN_COOKIE_SIZE = 8;
/** Linux MAX_TCP_OPTION_SPACE: the SYN's data leaves room for 40 option bytes (tcp_send_syn_data). */
export const SYN_DATA_OPTION_RESERVE = 40;

/** A 128-bit SipHash key as four little-endian 32-bit words (k0 = w1:w0, k1 = w3:w2). */
export type FastOpenKey = Uint32Array;

// SipHash state, 64-bit words as (lo, hi) 32-bit halves: v0 v1 v2 v3.
const v = new Uint32Array(8);

function add(a: number, b: number): void {
  const lo = v[a]! + v[b]!;
  v[a + 1] = v[a + 1]! + v[b + 1]! + (lo > 0xffffffff ? 1 : 0);
  v[a] = lo;
}

function rotl(a: number, n: number): void {
  const lo = v[a]!;
  const hi = v[a + 1]!;
  if (n === 32) {
    v[a] = hi;
    v[a + 1] = lo;
  } else {
    v[a + 1] = (hi << n) | (lo >>> (32 - n));
    v[a] = (lo << n) | (hi >>> (32 - n));
  }
}

function xorInto(a: number, b: number): void {
  v[a] = v[a]! ^ v[b]!;
  v[a + 1] = v[a + 1]! ^ v[b + 1]!;
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function sipRound(): void {
  add(V0, V1);
  rotl(V1, 13);
  xorInto(V1, V0);
  rotl(V0, 32);
  add(V2, V3);
  rotl(V3, 16);
  xorInto(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xorInto(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xorInto(V1, V2);
  rotl(V2, 32);
}

function absorb(mLo: number, mHi: number): void {
  v[V3] = v[V3]! ^ mLo;
  v[V3 + 1] = v[V3 + 1]! ^ mHi;
  sipRound();
  sipRound();
  v[V0] = v[V0]! ^ mLo;
  v[V0 + 1] = v[V0 + 1]! ^ mHi;
}

/**
 * SipHash-2-4 of one 8-byte message — the words `mLo`, `mHi` as read little-endian from the bytes — under
 * `key`; the 64-bit result goes to out[at, at+8) little-endian (Linux stores cpu_to_le64(siphash(...))).
 */
export function sipHash24Of8(key: FastOpenKey, mLo: number, mHi: number, out: Uint8Array, at: number): void {
  v[V0] = key[0]! ^ 0x70736575;
  v[V0 + 1] = key[1]! ^ 0x736f6d65;
  v[V1] = key[2]! ^ 0x6e646f6d;
  v[V1 + 1] = key[3]! ^ 0x646f7261;
  v[V2] = key[0]! ^ 0x6e657261;
  v[V2 + 1] = key[1]! ^ 0x6c796765;
  v[V3] = key[2]! ^ 0x79746573;
  v[V3 + 1] = key[3]! ^ 0x74656462;
  absorb(mLo, mHi);
  // The last block: the length (8) in the top byte, no bytes left over.
  absorb(0, 8 << 24);
  v[V2] = v[V2]! ^ 0xff;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  const lo = (v[V0]! ^ v[V1]! ^ v[V2]! ^ v[V3]!) >>> 0;
  const hi = (v[V0 + 1]! ^ v[V1 + 1]! ^ v[V2 + 1]! ^ v[V3 + 1]!) >>> 0;
  out[at] = lo & 0xff;
  out[at + 1] = (lo >>> 8) & 0xff;
  out[at + 2] = (lo >>> 16) & 0xff;
  out[at + 3] = lo >>> 24;
  out[at + 4] = hi & 0xff;
  out[at + 5] = (hi >>> 8) & 0xff;
  out[at + 6] = (hi >>> 16) & 0xff;
  out[at + 7] = hi >>> 24;
}

/** An IPv4 address (host order, a.b.c.d = a<<24|…) as the 32-bit word little-endian bytes a.b.c.d read to. */
function leWordOfAddress(addr: number): number {
  return (((addr >>> 24) & 0xff) | (((addr >>> 16) & 0xff) << 8) | (((addr >>> 8) & 0xff) << 16) | ((addr & 0xff) << 24)) >>> 0;
}

/**
 * The Fast Open cookie of a SYN from `remote` to `local` (Linux __tcp_fastopen_cookie_gen_cipher: siphash over
 * iph->saddr, iph->daddr — the peer's address first), 8 bytes into out[at, at+8).
 */
export function fastOpenCookie(key: FastOpenKey, remote: number, local: number, out: Uint8Array, at = 0): void {
  sipHash24Of8(key, leWordOfAddress(remote), leWordOfAddress(local), out, at);
}

/**
 * The key's text form, as /proc/sys/net/ipv4/tcp_fastopen_key reads and writes it: four 32-bit hex words
 * joined by '-' (proc_tcp_fastopen_key: each word stored little-endian, so the SipHash key k0 = w1:w0,
 * k1 = w3:w2). A second key after ',' is the backup. Null when the text is not that form.
 */
export function parseFastOpenKeys(text: string): { primary: FastOpenKey; backup: FastOpenKey | null } | null {
  const parts = text.trim().split(',');
  if (parts.length > 2) return null;
  const keys: FastOpenKey[] = [];
  for (const p of parts) {
    const m = /^([0-9a-fA-F]{1,8})-([0-9a-fA-F]{1,8})-([0-9a-fA-F]{1,8})-([0-9a-fA-F]{1,8})$/.exec(p.trim());
    if (m === null) return null;
    keys.push(Uint32Array.of(parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16), parseInt(m[4]!, 16)));
  }
  return { primary: keys[0]!, backup: keys[1] ?? null };
}

/** A key as the text form (zero-padded words, as Linux prints it). */
export function formatFastOpenKey(k: FastOpenKey): string {
  return Array.from(k, (w) => w.toString(16).padStart(8, '0')).join('-');
}

/** A key from 16 raw bytes, as TCP_FASTOPEN_KEY's setsockopt takes it (each 4 bytes one little-endian word). */
export function fastOpenKeyFromBytes(b: Uint8Array): FastOpenKey {
  const k = new Uint32Array(4);
  for (let i = 0; i < 4; i++) k[i] = (b[4 * i]! | (b[4 * i + 1]! << 8) | (b[4 * i + 2]! << 16) | (b[4 * i + 3]! << 24)) >>> 0;
  return k;
}

/** A deterministic key (from the stack's seed) or a random one: Linux makes a random key on first use (tcp_fastopen_init_key_once). */
export function initialFastOpenKey(seed: number | undefined): FastOpenKey {
  const a = seed !== undefined ? HashKey.fromSeed(seed, 31) : HashKey.random();
  const b = seed !== undefined ? HashKey.fromSeed(seed, 32) : HashKey.random();
  return Uint32Array.of(a.k0, a.k1, b.k0, b.k1);
}

/** The server's keys and its cookie check (Linux tcp_fastopen_cookie_gen_check). */
export class FastOpenKeys {
  private readonly scratch = new Uint8Array(FASTOPEN_COOKIE_SIZE);
  constructor(
    public primary: FastOpenKey,
    public backup: FastOpenKey | null = null,
  ) {}

  /** The valid cookie for remote → local, 8 bytes into out[at..]. */
  make(remote: number, local: number, out: Uint8Array, at = 0): void {
    fastOpenCookie(this.primary, remote, local, out, at);
  }

  /** 1 when `cookie[0, len)` is valid under the primary key, 2 under the backup key, 0 when it is not valid. */
  check(remote: number, local: number, cookie: Uint8Array, len: number): 0 | 1 | 2 {
    if (len !== FASTOPEN_COOKIE_SIZE) return 0;
    fastOpenCookie(this.primary, remote, local, this.scratch);
    if (sameBytes(this.scratch, cookie, len)) return 1;
    if (this.backup === null) return 0;
    fastOpenCookie(this.backup, remote, local, this.scratch);
    return sameBytes(this.scratch, cookie, len) ? 2 : 0;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, len: number): boolean {
  let d = 0;
  for (let i = 0; i < len; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** What the client remembers of one server (Linux struct tcp_fastopen_metrics). */
export interface FastOpenCacheEntry {
  /** The server's MSS from its last SYN-ACK (0 = not known). */
  mss: number;
  /** The cookie, `cookieLen` bytes (0 = none yet). */
  cookie: Uint8Array;
  cookieLen: number;
  /** The cookie came in the experimental option, so we answer in it too. */
  exp: boolean;
  /** 1: the server did not answer a kind-34 request, ask with the experimental option next; 2: back to 34. */
  tryExp: number;
  /** SYNs (with data) lost in a row, and when the last was (Linux syn_loss, last_syn_loss). */
  synLoss: number;
  lastSynLoss: number;
}

/** Linux's tcp_metrics holds at most this many destinations per hash bucket; we bound the whole cache. */
export const FASTOPEN_CACHE_MAX = 1024;

/** The client's cookie cache, per destination address (Linux keys tcp_metrics by the peer's address). */
export class FastOpenCookieCache {
  private readonly entries = new Map<number, FastOpenCacheEntry>();

  get size(): number {
    return this.entries.size;
  }

  get(remote: number): FastOpenCacheEntry | undefined {
    return this.entries.get(remote);
  }

  /**
   * Linux tcp_fastopen_cache_set: the MSS when known, the cookie when one came, otherwise a move to the
   * experimental option (tryExp); a lost SYN counts, a SYN-ACK that did not lose it clears the count.
   */
  set(remote: number, mss: number, cookie: Uint8Array | null, cookieLen: number, exp: boolean, synLost: boolean, tryExp: number, now: number): void {
    let e = this.entries.get(remote);
    if (e === undefined) {
      if (this.entries.size >= FASTOPEN_CACHE_MAX) {
        // The oldest destination goes (Map keeps insertion order), as tcp_metrics recycles its oldest entry.
        const first = this.entries.keys().next();
        if (!first.done) this.entries.delete(first.value);
      }
      e = { mss: 0, cookie: new Uint8Array(16), cookieLen: 0, exp: false, tryExp: 0, synLoss: 0, lastSynLoss: 0 };
      this.entries.set(remote, e);
    }
    if (mss > 0) e.mss = mss;
    if (cookie !== null && cookieLen > 0) {
      e.cookie.set(cookie.subarray(0, cookieLen));
      e.cookieLen = cookieLen;
      e.exp = exp;
    } else if (tryExp > e.tryExp && e.cookieLen <= 0 && !e.exp) e.tryExp = tryExp;
    if (synLost) {
      e.synLoss++;
      e.lastSynLoss = now;
    } else e.synLoss = 0;
  }

  /** `ip tcp_metrics flush` / net.ipv4.tcp_fastopen_cookies reset. */
  clear(): void {
    this.entries.clear();
  }
}

/** The stack-wide Fast Open state a TCP layer keeps: the server key (from net.ipv4.tcp_fastopen_key, re-read when it changes) and the client's cookie cache. */
export class FastOpenContext {
  private keyText: string | undefined = undefined;
  private current: FastOpenKeys | null = null;
  readonly cache = new FastOpenCookieCache();

  constructor(private readonly settings: { readonly fastOpenKey: string | undefined; readonly seed: number | undefined }) {}

  /** The stack's keys: the sysctl's when set, else one made once (Linux tcp_fastopen_init_key_once). */
  keys(): FastOpenKeys {
    const text = this.settings.fastOpenKey;
    if (this.current === null || text !== this.keyText) {
      const parsed = text !== undefined ? parseFastOpenKeys(text) : null;
      if (parsed !== null) this.current = new FastOpenKeys(parsed.primary, parsed.backup);
      else if (this.current === null || this.keyText !== undefined) this.current = new FastOpenKeys(initialFastOpenKey(this.settings.seed));
      this.keyText = text;
    }
    return this.current;
  }
}
