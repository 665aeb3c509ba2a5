/*
 * tunshim — a raw N-API addon that gives JavaScript a Linux TUN device.
 *
 *   open(name, batchSize, onReceive[, { vnetHdr, offload }]) -> TunDevice
 *       TUNSETIFF(IFF_TUN | IFF_NO_PI) on /dev/net/tun: creates the device, or
 *       attaches to an existing one of that name (including a persistent
 *       device made by `ip tuntap add dev X mode tun`) without touching its
 *       configuration. The fd is non-blocking and watched by uv_poll; on every
 *       readable wake-up up to batchSize packets are read into one receive
 *       area (device.rxBuffer, slots of SLOT_SIZE bytes, lengths in
 *       device.rxLengths) and onReceive(count) is called once (`this` is the
 *       device). A read/poll error other than EAGAIN (the device was deleted)
 *       stops the watcher and calls onReceive(count, error).
 *       With vnetHdr: true the device is attached with IFF_VNET_HDR (falling
 *       back to plain when the kernel refuses), TUNSETVNETHDRSZ 10, and
 *       TUNSETOFFLOAD(offload) (TUN_F_* bits; device.offloadFlags says what
 *       the kernel took, 0 when it refused). Each packet is then read with
 *       readv into its 10-byte virtio_net_hdr (device.rxVnet, VNET_SLOT bytes
 *       per packet, raw, for JS to validate) and the packet itself at the
 *       start of its slot (so IP headers stay aligned). Without vnetHdr (or
 *       when it was refused) TUNSETOFFLOAD(0) is issued, so a device left with
 *       offloads on by an earlier owner never hands over unsegmented frames.
 *   device.write(packets, start, count[, meta[, tails]]) -> number written
 *       Writes packets[start .. start+count) (Uint8Array/Buffer each). tails,
 *       an array indexed like packets, may hold the rest of packet i
 *       (tails[i], a Uint8Array, empty when none): the packet is then
 *       packets[i] followed by tails[i], written with one writev (the TCP
 *       payload straight from its send buffer, no copy in JS). Stops at
 *       EAGAIN/ENOBUFS and returns the number written; other errors throw, the
 *       error's `.written` says how many of the batch went out before it.
 *       On a vnetHdr device every packet goes out with writev behind a
 *       virtio_net_hdr built from meta[i] (a Uint32Array indexed like packets:
 *       bits 0-15 gso_size for a TCP super-segment over IPv4 or IPv6, bit 16 the TCP/UDP
 *       checksum holds only the pseudo-header sum, NEEDS_CSUM) and the
 *       packet's own IP/TCP header lengths; without meta, an all-zero header.
 *   device.close()          idempotent; stops the watcher, resets the offloads it set, closes the fd.
 *   configure(name, { address, prefixLength, mtu, up })   ioctls on an AF_INET socket
 *   addRoute(name, cidr) -> boolean (false when the route already existed)
 *   getMtu(name) -> number
 *
 * Every thrown error has .code (e.g. 'ENOENT'), .errno, .syscall and, where a
 * device is involved, .device.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#define SLOT_SIZE 65536u
#define DEFAULT_BATCH 64u
#define MAX_BATCH 1024u

/* struct virtio_net_hdr (legacy, 10 bytes; little-endian fields on the hosts we run on). */
#define VNET_HDR_LEN 10u
#define VNET_SLOT 12u /* bytes per packet in device.rxVnet */
#define VNET_F_NEEDS_CSUM 1u
#define VNET_GSO_TCPV4 1u
#define VNET_GSO_TCPV6 4u
#define META_GSO_MASK 0xffffu
#define META_CSUM_PARTIAL 0x10000u
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif

/* ------------------------------------------------------------------------ */
/* errors                                                                    */

static const char *errno_code(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOSPC: return "ENOSPC";
    case ERANGE: return "ERANGE";
    case ENOSYS: return "ENOSYS";
    case ENOTSUP: return "ENOTSUP";
    case EMSGSIZE: return "EMSGSIZE";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENETDOWN: return "ENETDOWN";
    case ENETUNREACH: return "ENETUNREACH";
    case ENOBUFS: return "ENOBUFS";
    case EBADFD: return "EBADFD";
    case ENOTTY: return "ENOTTY";
    default: return NULL;
  }
}

/* Throws Error(message) with .code, .errno, .syscall and optionally .device. */
static void throw_errno(napi_env env, int err, const char *code_override, const char *syscall,
                        const char *device, const char *message) {
  char codebuf[16];
  const char *code = code_override ? code_override : errno_code(err);
  if (!code) {
    snprintf(codebuf, sizeof codebuf, "E%d", err);
    code = codebuf;
  }
  napi_value msg, code_v, error, v;
  if (napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok) return;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v) != napi_ok) return;
  if (napi_create_error(env, code_v, msg, &error) != napi_ok) return;
  if (napi_create_int32(env, -err, &v) == napi_ok) napi_set_named_property(env, error, "errno", v);
  if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, error, "syscall", v);
  if (device && napi_create_string_utf8(env, device, NAPI_AUTO_LENGTH, &v) == napi_ok)
    napi_set_named_property(env, error, "device", v);
  napi_throw(env, error);
}

static void throw_sys(napi_env env, int err, const char *syscall, const char *device, const char *what) {
  char message[512];
  const char *code = NULL;
  if (err == EPERM || err == EACCES) {
    code = "EPERM";
    snprintf(message, sizeof message,
             "%s%s%s: permission denied (%s): needs CAP_NET_ADMIN - run as root, or in Docker use "
             "--privileged or --cap-add NET_ADMIN --device /dev/net/tun",
             what, device ? " " : "", device ? device : "", strerror(err));
  } else {
    snprintf(message, sizeof message, "%s%s%s: %s", what, device ? " " : "", device ? device : "",
             strerror(err));
  }
  throw_errno(env, err, code, syscall, device, message);
}

static void throw_type(napi_env env, const char *message) { napi_throw_type_error(env, NULL, message); }

#define NAPI_CALL(env, call)                                                  \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      bool pending_ = false;                                                  \
      napi_is_exception_pending((env), &pending_);                            \
      if (!pending_) napi_throw_error((env), "EINTERNAL", "N-API call failed: " #call); \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

/* ------------------------------------------------------------------------ */
/* argument helpers                                                          */

/* Reads a device name into buf (IFNAMSIZ bytes). Returns 0 on success (exception thrown otherwise). */
static int get_ifname(napi_env env, napi_value v, char *buf) {
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    throw_type(env, "device name must be a string");
    return -1;
  }
  char tmp[64];
  if (napi_get_value_string_utf8(env, v, tmp, sizeof tmp, &len) != napi_ok) return -1;
  if (len == 0 || len >= IFNAMSIZ || strchr(tmp, '/') || strchr(tmp, ' ')) {
    char message[160];
    snprintf(message, sizeof message,
             "invalid device name '%s': 1 to %d characters, no '/' or spaces", tmp, IFNAMSIZ - 1);
    throw_errno(env, EINVAL, NULL, "ioctl", NULL, message);
    return -1;
  }
  memcpy(buf, tmp, len + 1);
  return 0;
}

/* Reads an optional property; *present is false when missing or undefined. */
static int get_opt(napi_env env, napi_value obj, const char *key, napi_value *out, bool *present) {
  bool has = false;
  *present = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok) return -1;
  if (!has) return 0;
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return -1;
  napi_valuetype t;
  if (napi_typeof(env, *out, &t) != napi_ok) return -1;
  *present = t != napi_undefined && t != napi_null;
  return 0;
}

/* Parses "a.b.c.d/n" into a network-order address and prefix length. */
static int parse_cidr(const char *s, struct in_addr *addr, int *prefix) {
  char buf[40];
  size_t len = strlen(s);
  if (len >= sizeof buf) return -1;
  memcpy(buf, s, len + 1);
  char *slash = strchr(buf, '/');
  *prefix = 32;
  if (slash) {
    *slash = '\0';
    char *end = NULL;
    long p = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end != '\0' || p < 0 || p > 32) return -1;
    *prefix = (int)p;
  }
  if (inet_pton(AF_INET, buf, addr) != 1) return -1;
  return 0;
}

static uint32_t prefix_mask(int prefix) {
  return prefix <= 0 ? 0 : htonl(0xffffffffu << (32 - prefix));
}

/* ------------------------------------------------------------------------ */
/* the device                                                                */

typedef struct tun_dev {
  napi_env env;
  int fd;
  char name[IFNAMSIZ];
  uint32_t batch;
  uint8_t *rx;       /* batch * SLOT_SIZE bytes, owned by rxbuf_ref's ArrayBuffer */
  uint32_t *lens;    /* batch lengths, owned by rxlen_ref's ArrayBuffer */
  uint8_t *vnet;     /* batch * VNET_SLOT raw virtio headers (vnet devices), owned by rxvnet_ref's ArrayBuffer */
  bool vnet_hdr;     /* attached with IFF_VNET_HDR: every read and write carries a virtio_net_hdr */
  uint64_t busy_poll_ns; /* after a batch, keep reading this long before going back to epoll (0: never) */
  unsigned offload;  /* TUN_F_* accepted by TUNSETOFFLOAD (reset to 0 at close) */
  uv_poll_t poll;
  napi_ref self_ref; /* strong while open: an open device is never collected */
  napi_ref cb_ref;
  napi_ref rxbuf_ref;
  napi_ref rxlen_ref;
  napi_ref rxvnet_ref;
  napi_async_context async_ctx;
  napi_async_cleanup_hook_handle cleanup;
  bool closed;
  bool in_callback;  /* inside deliver(): JS may close(); refs are released after it returns */
  bool handle_closed;
  bool finalized;
} tun_dev;

static void maybe_free(tun_dev *d) {
  if (d->handle_closed && d->finalized) free(d);
}

static void on_poll_closed(uv_handle_t *h) {
  tun_dev *d = (tun_dev *)h->data;
  d->handle_closed = true;
  if (d->cleanup) {
    napi_async_cleanup_hook_handle c = d->cleanup;
    d->cleanup = NULL;
    napi_remove_async_cleanup_hook(c);
  }
  maybe_free(d);
}

static void release_refs(tun_dev *d) {
  napi_env env = d->env;
  if (d->cb_ref) { napi_delete_reference(env, d->cb_ref); d->cb_ref = NULL; }
  if (d->rxbuf_ref) { napi_delete_reference(env, d->rxbuf_ref); d->rxbuf_ref = NULL; }
  if (d->rxlen_ref) { napi_delete_reference(env, d->rxlen_ref); d->rxlen_ref = NULL; }
  if (d->rxvnet_ref) { napi_delete_reference(env, d->rxvnet_ref); d->rxvnet_ref = NULL; }
  if (d->self_ref) { napi_delete_reference(env, d->self_ref); d->self_ref = NULL; }
  if (d->async_ctx) { napi_async_destroy(env, d->async_ctx); d->async_ctx = NULL; }
}

/* Stops the watcher (asynchronously), closes the fd. Safe to call more than once. */
static void dev_close(tun_dev *d) {
  if (d->closed) return;
  d->closed = true;
  uv_poll_stop(&d->poll);
  uv_close((uv_handle_t *)&d->poll, on_poll_closed);
  if (d->fd >= 0) {
    /* Leave a persistent device as it was found: no offloads for the next (plain) reader. */
    if (d->offload) (void)ioctl(d->fd, TUNSETOFFLOAD, 0u);
    close(d->fd);
    d->fd = -1;
  }
  d->rx = NULL;
  d->lens = NULL;
  d->vnet = NULL;
  if (!d->in_callback) release_refs(d);
}

/* Env teardown (process exit, worker exit): close so the loop can finish. */
static void on_env_cleanup(napi_async_cleanup_hook_handle handle, void *arg) {
  (void)handle;
  tun_dev *d = (tun_dev *)arg;
  if (!d->closed) {
    d->closed = true;
    uv_poll_stop(&d->poll);
    if (d->fd >= 0) {
      if (d->offload) (void)ioctl(d->fd, TUNSETOFFLOAD, 0u);
      close(d->fd);
      d->fd = -1;
    }
    uv_close((uv_handle_t *)&d->poll, on_poll_closed); /* removes the hook when done */
  }
  /* else: a close is already under way and on_poll_closed removes the hook. */
}

static void on_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tun_dev *d = (tun_dev *)data;
  d->finalized = true;
  if (!d->closed) {
    /* Only reachable at env teardown (an open device holds a strong self reference). */
    d->closed = true;
    uv_poll_stop(&d->poll);
    if (d->fd >= 0) {
      if (d->offload) (void)ioctl(d->fd, TUNSETOFFLOAD, 0u);
      close(d->fd);
      d->fd = -1;
    }
    uv_close((uv_handle_t *)&d->poll, on_poll_closed);
    return;
  }
  maybe_free(d);
}

/* Calls onReceive(count[, error]) once, surfacing any exception it throws. */
static void deliver(tun_dev *d, uint32_t count, int err, const char *syscall) {
  napi_env env = d->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[2];
  size_t argc = 1;
  /* napi_make_callback needs an object receiver: the device object itself. */
  if (d->cb_ref && napi_get_reference_value(env, d->cb_ref, &cb) == napi_ok && cb && d->self_ref &&
      napi_get_reference_value(env, d->self_ref, &recv) == napi_ok && recv &&
      napi_create_uint32(env, count, &argv[0]) == napi_ok) {
    if (err) {
      char message[256];
      snprintf(message, sizeof message,
               "TUN device %s failed (%s: %s): it was probably deleted or detached; the link stopped receiving",
               d->name, syscall, strerror(err));
      napi_value code_v, msg, v;
      const char *code = errno_code(err);
      char codebuf[16];
      if (!code) {
        snprintf(codebuf, sizeof codebuf, "E%d", err);
        code = codebuf;
      }
      if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v) == napi_ok &&
          napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg) == napi_ok &&
          napi_create_error(env, code_v, msg, &argv[1]) == napi_ok) {
        if (napi_create_int32(env, -err, &v) == napi_ok) napi_set_named_property(env, argv[1], "errno", v);
        if (napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v) == napi_ok)
          napi_set_named_property(env, argv[1], "syscall", v);
        if (napi_create_string_utf8(env, d->name, NAPI_AUTO_LENGTH, &v) == napi_ok)
          napi_set_named_property(env, argv[1], "device", v);
        argc = 2;
      }
    }
    napi_value result;
    d->in_callback = true;
    napi_status st = napi_make_callback(env, d->async_ctx, recv, cb, argc, argv, &result);
    d->in_callback = false;
    if (d->closed) release_refs(d); /* closed from inside the callback */
    if (st != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
      }
    }
  }
  napi_close_handle_scope(env, scope);
}

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reads every ready packet, up to a batch, into the receive area; sets *err on a hard error. */
static uint32_t read_batch(tun_dev *d, int *err) {
  uint32_t n = 0;
  while (n < d->batch) {
    ssize_t r;
    if (d->vnet_hdr) {
      /* Header into its own small slot, the packet at the start of its (aligned) slot. */
      struct iovec iov[2];
      uint8_t *h = d->vnet + (size_t)n * VNET_SLOT;
      memset(h, 0, VNET_SLOT);
      iov[0].iov_base = h;
      iov[0].iov_len = VNET_HDR_LEN;
      iov[1].iov_base = d->rx + (size_t)n * SLOT_SIZE;
      iov[1].iov_len = SLOT_SIZE;
      r = readv(d->fd, iov, 2);
      if (r > 0) {
        /* A read shorter than the header is handed up as length 0 (JS counts it as truncated). */
        d->lens[n++] = r >= (ssize_t)VNET_HDR_LEN ? (uint32_t)(r - VNET_HDR_LEN) : 0u;
        continue;
      }
    } else {
      r = read(d->fd, d->rx + (size_t)n * SLOT_SIZE, SLOT_SIZE);
      if (r > 0) {
        d->lens[n++] = (uint32_t)r;
        continue;
      }
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
    break; /* EAGAIN, EOF (0) or a hard error */
  }
  return n;
}

/* Longest stretch one wake-up may keep the event loop from its timers and other handles. */
#define BUSY_POLL_MAX_NS 2000000u

/*
 * One wake-up: deliver what is ready; then, with busy polling, keep reading
 * for busy_poll_ns after the last packet before going back to epoll. A
 * sender's packet that finds nobody asleep on the TUN's wait queue costs the
 * sender no wake-up (in a VM an inter-processor interrupt, a VM exit: under a
 * bulk upload that was 40% of the sending core), and the reply leaves without
 * a scheduler round trip.
 */
static void on_poll(uv_poll_t *h, int status, int events) {
  (void)events;
  tun_dev *d = (tun_dev *)h->data;
  if (d->closed) return;
  if (status < 0) {
    uv_poll_stop(&d->poll);
    deliver(d, 0, -status, "poll"); /* libuv reports POLLERR as UV_EBADF */
    return;
  }
  uint64_t start = 0, last = 0;
  for (;;) {
    int err = 0;
    uint32_t n = read_batch(d, &err);
    if (err) uv_poll_stop(&d->poll); /* level-triggered: a dead fd would spin */
    if (n > 0 || err) deliver(d, n, err, "read");
    if (err || d->closed || d->busy_poll_ns == 0) return;
    uint64_t t = monotonic_ns();
    if (start == 0) start = last = t;
    if (n > 0) last = t;
    else if (t - last >= d->busy_poll_ns) return;
    if (t - start >= BUSY_POLL_MAX_NS) return; /* level-triggered: back at once if more is ready */
    if (n == 0) sched_yield(); /* spinning gives way to anything else runnable on this core */
  }
}

static tun_dev *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || !data) {
    throw_type(env, "not a TunDevice");
    return NULL;
  }
  return (tun_dev *)data;
}

static void put16le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v & 0xff);
  p[1] = (uint8_t)((v >> 8) & 0xff);
}

/*
 * The virtio_net_hdr for one outgoing packet from its meta word and its own
 * headers. NEEDS_CSUM: csum_start = the IP header length (40 for IPv6: the
 * stack offloads only TCP/UDP right after a bare IPv6 header), csum_offset 16
 * (TCP) or 6 (UDP). GSO TCPV4 / TCPV6: hdr_len = IP + TCP header lengths,
 * gso_size from meta. Anything inconsistent (not TCP for GSO, a header running
 * past the packet) leaves the header all zero: the kernel then takes the
 * packet as it is (and drops a super-segment larger than the MTU), never a
 * wrong offload.
 */
static void build_vnet_hdr(uint8_t *h, const uint8_t *p, size_t len, uint32_t meta) {
  memset(h, 0, VNET_HDR_LEN);
  if (meta == 0 || len < 20) return;
  uint32_t ihl;
  uint8_t proto;
  uint8_t gso_type;
  if ((p[0] >> 4) == 4) {
    ihl = (uint32_t)(p[0] & 0x0f) * 4u;
    proto = p[9];
    gso_type = VNET_GSO_TCPV4;
  } else if ((p[0] >> 4) == 6 && len >= 40) {
    ihl = 40u;
    proto = p[6];
    gso_type = VNET_GSO_TCPV6;
  } else {
    return;
  }
  if (ihl < 20 || ihl + 8 > len) return;
  if (meta & META_CSUM_PARTIAL) {
    uint32_t off = proto == 6 ? 16u : proto == 17 ? 6u : 0u;
    if (off == 0 || ihl + off + 2 > len) return;
    h[0] = VNET_F_NEEDS_CSUM;
    put16le(h + 6, ihl);
    put16le(h + 8, off);
  }
  uint32_t gso = meta & META_GSO_MASK;
  if (gso != 0 && proto == 6 && ihl + 20 <= len) {
    uint32_t thl = (uint32_t)(p[ihl + 12] >> 4) * 4u;
    if (thl >= 20 && ihl + thl < len && len - ihl - thl > gso) {
      h[1] = gso_type;
      put16le(h + 2, ihl + thl);
      put16le(h + 4, gso);
    }
  }
}

/* tails[idx] as bytes (data, len), or 0 bytes when absent or empty; false (an exception pending) when it is not a Uint8Array. */
static bool get_tail(napi_env env, napi_value tails, uint32_t idx, uint32_t tails_len, void **data, size_t *len) {
  *data = NULL;
  *len = 0;
  if (tails == NULL || idx >= tails_len) return true;
  napi_value el;
  bool is_ta = false;
  if (napi_get_element(env, tails, idx, &el) != napi_ok || napi_is_typedarray(env, el, &is_ta) != napi_ok) return false;
  napi_typedarray_type type = napi_int8_array;
  if (is_ta && napi_get_typedarray_info(env, el, &type, len, data, NULL, NULL) != napi_ok) return false;
  if (!is_ta || type != napi_uint8_array) {
    *len = 0;
    throw_type(env, "write(packets, start, count, meta, tails): every tail must be a Uint8Array");
    return false;
  }
  return true;
}

/* device.write(packets, start, count[, meta[, tails]]) -> number */
static napi_value dev_write(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  tun_dev *d = unwrap_this(env, info, &argc, argv);
  if (!d) return NULL;
  bool is_array = false;
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array) {
    throw_type(env, "write(packets, start, count): packets must be an array");
    return NULL;
  }
  uint32_t length = 0, start = 0, count;
  NAPI_CALL(env, napi_get_array_length(env, argv[0], &length));
  if (argc >= 2) {
    napi_valuetype t;
    NAPI_CALL(env, napi_typeof(env, argv[1], &t));
    if (t != napi_undefined) NAPI_CALL(env, napi_get_value_uint32(env, argv[1], &start));
  }
  count = length > start ? length - start : 0;
  if (argc >= 3) {
    napi_valuetype t;
    uint32_t c;
    NAPI_CALL(env, napi_typeof(env, argv[2], &t));
    if (t != napi_undefined) {
      NAPI_CALL(env, napi_get_value_uint32(env, argv[2], &c));
      if (c > count) {
        throw_type(env, "write(packets, start, count): start + count exceeds packets.length");
        return NULL;
      }
      count = c;
    }
  }
  if (d->closed) {
    throw_errno(env, EBADF, NULL, "write", d->name, "write to a closed TUN device");
    return NULL;
  }
  /* meta: a Uint32Array indexed like packets (optional; only read on a vnet device). */
  const uint32_t *meta = NULL;
  size_t meta_len = 0;
  if (argc >= 4) {
    napi_valuetype t;
    NAPI_CALL(env, napi_typeof(env, argv[3], &t));
    if (t != napi_undefined && t != napi_null) {
      bool is_ta = false;
      napi_typedarray_type type;
      void *data = NULL;
      NAPI_CALL(env, napi_is_typedarray(env, argv[3], &is_ta));
      if (is_ta) NAPI_CALL(env, napi_get_typedarray_info(env, argv[3], &type, &meta_len, &data, NULL, NULL));
      if (!is_ta || type != napi_uint32_array) {
        throw_type(env, "write(packets, start, count, meta): meta must be a Uint32Array");
        return NULL;
      }
      meta = (const uint32_t *)data;
    }
  }
  /* tails: an array indexed like packets (optional): packet i continues with tails[i]. */
  napi_value tails = NULL;
  uint32_t tails_len = 0;
  if (argc >= 5) {
    napi_valuetype t;
    NAPI_CALL(env, napi_typeof(env, argv[4], &t));
    if (t != napi_undefined && t != napi_null) {
      bool is_arr = false;
      NAPI_CALL(env, napi_is_array(env, argv[4], &is_arr));
      if (!is_arr) {
        throw_type(env, "write(packets, start, count, meta, tails): tails must be an array");
        return NULL;
      }
      tails = argv[4];
      NAPI_CALL(env, napi_get_array_length(env, tails, &tails_len));
    }
  }
  uint32_t written = 0;
  for (; written < count; written++) {
    napi_value el;
    bool is_ta = false;
    NAPI_CALL(env, napi_get_element(env, argv[0], start + written, &el));
    NAPI_CALL(env, napi_is_typedarray(env, el, &is_ta));
    if (!is_ta) {
      throw_type(env, "write(packets): every packet must be a Uint8Array or Buffer");
      return NULL;
    }
    napi_typedarray_type type;
    size_t len;
    void *data;
    NAPI_CALL(env, napi_get_typedarray_info(env, el, &type, &len, &data, NULL, NULL));
    if (type != napi_uint8_array && type != napi_uint8_clamped_array) {
      throw_type(env, "write(packets): every packet must be a Uint8Array or Buffer");
      return NULL;
    }
    ssize_t r;
    uint32_t idx = start + written;
    void *tail;
    size_t tail_len;
    if (!get_tail(env, tails, idx, tails_len, &tail, &tail_len)) return NULL;
    /* [virtio header,] the packet [, its tail]: one writev. */
    uint8_t h[VNET_HDR_LEN];
    struct iovec iov[3];
    int n = 0;
    if (d->vnet_hdr) {
      build_vnet_hdr(h, (const uint8_t *)data, len + tail_len, meta && idx < meta_len ? meta[idx] : 0u);
      iov[n].iov_base = h;
      iov[n++].iov_len = VNET_HDR_LEN;
    }
    iov[n].iov_base = data;
    iov[n++].iov_len = len;
    if (tail_len > 0) {
      iov[n].iov_base = tail;
      iov[n++].iov_len = tail_len;
    }
    do {
      r = writev(d->fd, iov, n);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS) break;
      char message[256];
      snprintf(message, sizeof message, "write of a %zu-byte packet to TUN device %s failed: %s", len + tail_len,
               d->name, strerror(err));
      throw_errno(env, err, NULL, "write", d->name, message);
      /* tell the caller where the batch stopped */
      napi_value exc, v;
      if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) {
        if (napi_create_uint32(env, written, &v) == napi_ok) napi_set_named_property(env, exc, "written", v);
        napi_throw(env, exc);
      }
      return NULL;
    }
  }
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, written, &out));
  return out;
}

/* device.close() */
/*
 * device.readPending() -> number: reads what is already waiting on the device (non-blocking, one batch)
 * and delivers it through onReceive at once, before returning the count. The stack calls it before it
 * fires its timers: libuv runs expired timers before it polls for I/O, so an ACK that arrived while the
 * process was busy would otherwise be read only after a retransmission timer decided it was missing.
 * Never from inside onReceive (the batch being handled lives in the same receive area): returns 0 there.
 */
static napi_value dev_read_pending(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tun_dev *d = unwrap_this(env, info, &argc, NULL);
  if (!d) return NULL;
  uint32_t n = 0;
  if (!d->closed && !d->in_callback && d->fd >= 0) {
    int err = 0;
    n = read_batch(d, &err);
    if (err) uv_poll_stop(&d->poll); /* level-triggered: a dead fd would spin */
    if (n > 0 || err) deliver(d, n, err, "read");
  }
  napi_value v;
  NAPI_CALL(env, napi_create_uint32(env, n, &v));
  return v;
}

static napi_value dev_close_js(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  tun_dev *d = unwrap_this(env, info, &argc, NULL);
  if (!d) return NULL;
  dev_close(d);
  return NULL;
}

/*
 * Opens /dev/net/tun and binds it to `name` (with IFF_VNET_HDR when *vnet;
 * on EINVAL it tries once more without and clears *vnet). Returns the fd or
 * -1 with an exception thrown.
 */
static int tun_attach(napi_env env, char *name, bool *vnet, bool multi) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENXIO || err == ENODEV) {
      throw_errno(env, err, "ENOENT", "open", name,
                  "/dev/net/tun does not exist: load the tun module (modprobe tun), or in Docker pass "
                  "--device /dev/net/tun");
    } else {
      throw_sys(env, err, "open", NULL, "cannot open /dev/net/tun for device");
    }
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  const short mq = multi ? IFF_MULTI_QUEUE : 0;
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | mq | (*vnet ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, strlen(name) + 1);
  int rc = ioctl(fd, TUNSETIFF, &ifr);
  if (rc < 0 && *vnet && errno == EINVAL) {
    *vnet = false;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | mq;
    memcpy(ifr.ifr_name, name, strlen(name) + 1);
    rc = ioctl(fd, TUNSETIFF, &ifr);
  }
  if (rc < 0) {
    int err = errno;
    close(fd);
    char message[400];
    if (err == EBUSY && multi) {
      snprintf(message, sizeof message,
               "TUN device %s is busy: it is a single-queue TUN open in another process, or has no queue "
               "left (at most 256); --workers needs a multi_queue TUN (`ip tuntap add dev %s mode tun multi_queue`) "
               "or one tunstack creates",
               name, name);
      throw_errno(env, err, NULL, "ioctl", name, message);
    } else if (err == EINVAL && multi) {
      snprintf(message, sizeof message,
               "cannot attach to %s as one queue of several: it exists as a single-queue TUN (or is not a "
               "TUN); --workers needs a multi_queue TUN (`ip tuntap add dev %s mode tun multi_queue`) or one "
               "tunstack creates",
               name, name);
      throw_errno(env, err, NULL, "ioctl", name, message);
    } else if (err == EBUSY) {
      snprintf(message, sizeof message,
               "TUN device %s is busy: another process has it open (a single-queue TUN has one "
               "reader); close that process, or create the device persistent with "
               "`ip tuntap add dev %s mode tun` and attach when it is free",
               name, name);
      throw_errno(env, err, NULL, "ioctl", name, message);
    } else if (err == EINVAL) {
      snprintf(message, sizeof message,
               "cannot attach to %s: a network device of that name exists but is not a "
               "single-queue TUN device (a TAP, a multi_queue TUN, or another kind of link)",
               name);
      throw_errno(env, err, NULL, "ioctl", name, message);
    } else {
      throw_sys(env, err, "ioctl", name, "TUNSETIFF failed for device");
    }
    return -1;
  }
  memcpy(name, ifr.ifr_name, IFNAMSIZ);
  name[IFNAMSIZ - 1] = '\0';
  /* O_NONBLOCK was given to open(), but make sure (older kernels honour only fcntl). */
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    int err = errno;
    close(fd);
    throw_sys(env, err, "fcntl", name, "cannot make the TUN fd non-blocking for device");
    return -1;
  }
  return fd;
}

static napi_value set_fn(napi_env env, napi_value obj, const char *name, napi_callback fn) {
  napi_value f;
  NAPI_CALL(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f));
  NAPI_CALL(env, napi_set_named_property(env, obj, name, f));
  return obj;
}

/* open(name, batchSize, onReceive[, { vnetHdr, offload, busyPollUs, multiQueue }]) -> TunDevice */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) {
    throw_type(env, "open(name, batchSize, onReceive): three arguments expected");
    return NULL;
  }
  char name[IFNAMSIZ];
  if (get_ifname(env, argv[0], name) < 0) return NULL;
  uint32_t batch = DEFAULT_BATCH;
  napi_valuetype t;
  NAPI_CALL(env, napi_typeof(env, argv[1], &t));
  if (t != napi_undefined) {
    if (t != napi_number) {
      throw_type(env, "open(): batchSize must be a number");
      return NULL;
    }
    NAPI_CALL(env, napi_get_value_uint32(env, argv[1], &batch));
    if (batch < 1 || batch > MAX_BATCH) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "open(): batchSize must be 1 to 1024");
      return NULL;
    }
  }
  NAPI_CALL(env, napi_typeof(env, argv[2], &t));
  if (t != napi_function) {
    throw_type(env, "open(): onReceive must be a function");
    return NULL;
  }
  bool want_vnet = false;
  bool multi = false;
  uint32_t want_offload = 0;
  uint32_t busy_poll_us = 0;
  if (argc >= 4) {
    NAPI_CALL(env, napi_typeof(env, argv[3], &t));
    if (t == napi_object) {
      napi_value v;
      bool present;
      if (get_opt(env, argv[3], "vnetHdr", &v, &present) < 0) return NULL;
      if (present) NAPI_CALL(env, napi_get_value_bool(env, v, &want_vnet));
      if (get_opt(env, argv[3], "multiQueue", &v, &present) < 0) return NULL;
      if (present) NAPI_CALL(env, napi_get_value_bool(env, v, &multi));
      if (get_opt(env, argv[3], "offload", &v, &present) < 0) return NULL;
      if (present) NAPI_CALL(env, napi_get_value_uint32(env, v, &want_offload));
      if (get_opt(env, argv[3], "busyPollUs", &v, &present) < 0) return NULL;
      if (present) NAPI_CALL(env, napi_get_value_uint32(env, v, &busy_poll_us));
      if (busy_poll_us > 1000000u) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "open(): busyPollUs must be 0 to 1000000");
        return NULL;
      }
    } else if (t != napi_undefined) {
      throw_type(env, "open(): options must be an object");
      return NULL;
    }
  }

  /* JS-owned receive area, allocated once for the life of the device. */
  napi_value rxbuf, lenbuf, lens_arr;
  void *rx_data = NULL, *len_data = NULL;
  NAPI_CALL(env, napi_create_arraybuffer(env, (size_t)batch * SLOT_SIZE, &rx_data, &rxbuf));
  NAPI_CALL(env, napi_create_arraybuffer(env, (size_t)batch * sizeof(uint32_t), &len_data, &lenbuf));
  NAPI_CALL(env, napi_create_typedarray(env, napi_uint32_array, batch, lenbuf, 0, &lens_arr));
  napi_value vnetbuf, vnet_arr;
  void *vnet_data = NULL;
  NAPI_CALL(env, napi_create_arraybuffer(env, (size_t)batch * VNET_SLOT, &vnet_data, &vnetbuf));
  NAPI_CALL(env, napi_create_typedarray(env, napi_uint8_array, (size_t)batch * VNET_SLOT, vnetbuf, 0, &vnet_arr));

  bool vnet = want_vnet;
  int fd = tun_attach(env, name, &vnet, multi);
  if (fd < 0) return NULL;
  unsigned offload = 0;
  if (vnet) {
    int hsz = (int)VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hsz) < 0) {
      /* Cannot pin the header size: go on without the header rather than misparse. */
      close(fd);
      vnet = false;
      fd = tun_attach(env, name, &vnet, multi);
      if (fd < 0) return NULL;
    }
  }
  if (vnet && want_offload) {
    /* USO4 is newer than the rest: when the kernel refuses the set, try without it. */
    unsigned o = want_offload & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4);
    if (ioctl(fd, TUNSETOFFLOAD, o) == 0) offload = o;
    else if ((o & TUN_F_USO4) && ioctl(fd, TUNSETOFFLOAD, o & ~(unsigned)TUN_F_USO4) == 0) offload = o & ~(unsigned)TUN_F_USO4;
  }
  /* A plain reader (or a vnet one without offloads) must never be handed unsegmented or unchecksummed frames. */
  if (!offload) (void)ioctl(fd, TUNSETOFFLOAD, 0u);

  tun_dev *d = (tun_dev *)calloc(1, sizeof *d);
  if (!d) {
    close(fd);
    throw_errno(env, ENOMEM, NULL, "open", name, "out of memory");
    return NULL;
  }
  d->env = env;
  d->fd = fd;
  d->batch = batch;
  d->rx = (uint8_t *)rx_data;
  d->lens = (uint32_t *)len_data;
  d->vnet = (uint8_t *)vnet_data;
  d->vnet_hdr = vnet;
  d->busy_poll_ns = (uint64_t)busy_poll_us * 1000u;
  d->offload = offload;
  memcpy(d->name, name, IFNAMSIZ);
  d->handle_closed = true; /* until uv_poll_init succeeds */

  napi_value self, v, resource_name;
  if (napi_create_object(env, &self) != napi_ok ||
      napi_wrap(env, self, d, on_finalize, NULL, NULL) != napi_ok) {
    close(fd);
    free(d);
    napi_throw_error(env, "EINTERNAL", "napi_wrap failed");
    return NULL;
  }
  /* From here on d is owned by the wrapper (freed by on_finalize + on_poll_closed). */
  d->closed = true; /* until the poll handle is live, finalize must not uv_close */

  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) {
    close(fd);
    d->fd = -1;
    napi_throw_error(env, "EINTERNAL", "napi_get_uv_event_loop failed");
    return NULL;
  }
  int rc = uv_poll_init(loop, &d->poll, fd);
  if (rc != 0) {
    close(fd);
    d->fd = -1;
    throw_sys(env, -rc, "uv_poll_init", name, "cannot watch TUN device");
    return NULL;
  }
  d->poll.data = d;
  d->handle_closed = false;
  d->closed = false;

  if (napi_create_reference(env, argv[2], 1, &d->cb_ref) != napi_ok ||
      napi_create_reference(env, rxbuf, 1, &d->rxbuf_ref) != napi_ok ||
      napi_create_reference(env, lens_arr, 1, &d->rxlen_ref) != napi_ok ||
      napi_create_reference(env, vnet_arr, 1, &d->rxvnet_ref) != napi_ok ||
      napi_create_reference(env, self, 1, &d->self_ref) != napi_ok ||
      napi_create_string_utf8(env, "tunshim:receive", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, NULL, resource_name, &d->async_ctx) != napi_ok ||
      napi_add_async_cleanup_hook(env, on_env_cleanup, d, &d->cleanup) != napi_ok) {
    dev_close(d);
    napi_throw_error(env, "EINTERNAL", "N-API set-up of the TUN device failed");
    return NULL;
  }
  rc = uv_poll_start(&d->poll, UV_READABLE, on_poll);
  if (rc != 0) {
    dev_close(d);
    throw_sys(env, -rc, "uv_poll_start", name, "cannot watch TUN device");
    return NULL;
  }

  NAPI_CALL(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v));
  NAPI_CALL(env, napi_set_named_property(env, self, "name", v));
  NAPI_CALL(env, napi_create_int32(env, fd, &v));
  NAPI_CALL(env, napi_set_named_property(env, self, "fd", v));
  NAPI_CALL(env, napi_create_uint32(env, batch, &v));
  NAPI_CALL(env, napi_set_named_property(env, self, "batchSize", v));
  NAPI_CALL(env, napi_create_uint32(env, SLOT_SIZE, &v));
  NAPI_CALL(env, napi_set_named_property(env, self, "slotSize", v));
  NAPI_CALL(env, napi_set_named_property(env, self, "rxBuffer", rxbuf));
  NAPI_CALL(env, napi_set_named_property(env, self, "rxLengths", lens_arr));
  NAPI_CALL(env, napi_set_named_property(env, self, "rxVnet", vnet_arr));
  NAPI_CALL(env, napi_get_boolean(env, vnet, &v));
  NAPI_CALL(env, napi_set_named_property(env, self, "vnetHdr", v));
  NAPI_CALL(env, napi_create_uint32(env, offload, &v));
  NAPI_CALL(env, napi_set_named_property(env, self, "offloadFlags", v));
  if (!set_fn(env, self, "write", dev_write)) return NULL;
  if (!set_fn(env, self, "close", dev_close_js)) return NULL;
  if (!set_fn(env, self, "readPending", dev_read_pending)) return NULL;
  return self;
}

/* ------------------------------------------------------------------------ */
/* kernel-side configuration                                                 */

static int inet_socket(napi_env env, const char *name) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) throw_sys(env, errno, "socket", name, "cannot open an AF_INET socket to configure device");
  return s;
}

static int if_ioctl(napi_env env, int s, unsigned long req, const char *reqname, struct ifreq *ifr,
                    const char *name) {
  if (ioctl(s, req, ifr) == 0) return 0;
  int err = errno;
  char what[64];
  snprintf(what, sizeof what, "%s failed for device", reqname);
  if (err == ENODEV) {
    char message[200];
    snprintf(message, sizeof message, "%s: no such network device %s", reqname, name);
    throw_errno(env, err, NULL, "ioctl", name, message);
  } else {
    throw_sys(env, err, "ioctl", name, what);
  }
  return -1;
}

static void set_sin(struct sockaddr *sa, uint32_t addr_be) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = addr_be;
  memcpy(sa, &sin, sizeof sin);
}

/* linux/ipv6.h's struct in6_ifreq (a stable ABI; that header clashes with netinet/in.h). */
struct tun_in6_ifreq {
  struct in6_addr ifr6_addr;
  uint32_t ifr6_prefixlen;
  int ifr6_ifindex;
};

/* /proc/sys/net/ipv6/conf/<name>/disable_ipv6 of the device: 1 when it reads "1". */
static int ipv6_disabled_on(const char *name) {
  char path[96];
  snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char c = '0';
  ssize_t n = read(fd, &c, 1);
  close(fd);
  return n == 1 && c == '1';
}

/* Writes disable_ipv6 of the device: 0 when written. */
static int set_ipv6_disabled(const char *name, int value) {
  char path[96];
  snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char c = value ? '1' : '0';
  ssize_t n = write(fd, &c, 1);
  close(fd);
  return n == 1 ? 0 : -1;
}

/* Adds addr/prefix to the device (SIOCSIFADDR on an AF_INET6 socket); an address already there is fine. */
static int add_address6(napi_env env, const char *name, const struct in6_addr *addr, uint32_t prefix) {
  int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s6 < 0) {
    throw_sys(env, errno, "socket", name, "cannot open an AF_INET6 socket to configure device (IPv6 disabled?)");
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  if (if_ioctl(env, s6, SIOCGIFINDEX, "SIOCGIFINDEX", &ifr, name) < 0) {
    close(s6);
    return -1;
  }
  struct tun_in6_ifreq r;
  memset(&r, 0, sizeof r);
  r.ifr6_addr = *addr;
  r.ifr6_prefixlen = prefix;
  r.ifr6_ifindex = ifr.ifr_ifindex;
  int rc = ioctl(s6, SIOCSIFADDR, &r);
  int err = errno;
  /* EACCES here means IPv6 is off on the device (addrconf's disable_ipv6; Docker's default for containers):
   * the device is ours, so turn it on for this device alone and try again. */
  int disabled = rc != 0 && err == EACCES && ipv6_disabled_on(name);
  if (disabled && set_ipv6_disabled(name, 0) == 0) {
    rc = ioctl(s6, SIOCSIFADDR, &r);
    err = errno;
    disabled = rc != 0 && err == EACCES && ipv6_disabled_on(name);
  }
  close(s6);
  if (rc == 0 || err == EEXIST) return 0;
  if (disabled) {
    char message[256];
    snprintf(message, sizeof message,
             "IPv6 is disabled on device %s (net.ipv6.conf.%s.disable_ipv6 = 1) and could not be turned on", name, name);
    throw_errno(env, err, "EIPV6DISABLED", "ioctl", name, message);
    return -1;
  }
  throw_sys(env, err, "ioctl", name, "SIOCSIFADDR (IPv6) failed for device");
  return -1;
}

/* An IPv6 route to `cidr` (`fd77:9::/64`) through the device (SIOCADDRT with an in6_rtmsg on an AF_INET6
 * socket): 1 added, 0 already there, -1 with an exception thrown. */
static int add_route6(napi_env env, const char *name, const char *cidr) {
  char text[64];
  snprintf(text, sizeof text, "%s", cidr);
  char *slash = strchr(text, '/');
  int prefix = 128;
  if (slash != NULL) {
    *slash = '\0';
    char *end = NULL;
    long p = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end != '\0' || p < 0 || p > 128) {
      throw_type(env, "addRoute(): route must be an IPv6 CIDR like 'fd77:9::/64'");
      return -1;
    }
    prefix = (int)p;
  }
  struct in6_addr addr;
  if (inet_pton(AF_INET6, text, &addr) != 1) {
    throw_type(env, "addRoute(): route must be an IPv6 CIDR like 'fd77:9::/64'");
    return -1;
  }
  int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s6 < 0) {
    throw_sys(env, errno, "socket", name, "cannot open an AF_INET6 socket to add a route (IPv6 disabled?)");
    return -1;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  if (if_ioctl(env, s6, SIOCGIFINDEX, "SIOCGIFINDEX", &ifr, name) < 0) {
    close(s6);
    return -1;
  }
  struct in6_rtmsg rt;
  memset(&rt, 0, sizeof rt);
  rt.rtmsg_dst = addr;
  rt.rtmsg_dst_len = (unsigned short)prefix;
  rt.rtmsg_metric = 1;
  rt.rtmsg_flags = RTF_UP | (prefix == 128 ? RTF_HOST : 0);
  rt.rtmsg_ifindex = ifr.ifr_ifindex;
  int rc = ioctl(s6, SIOCADDRT, &rt);
  int err = errno;
  close(s6);
  if (rc == 0) return 1;
  if (err == EEXIST) return 0;
  throw_sys(env, err, "ioctl", name, "SIOCADDRT (IPv6) failed for device");
  return -1;
}

/* configure(name, { address?, prefixLength?, mtu?, up?, address6?, prefixLength6? }) */
static napi_value js_configure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ];
  if (argc < 2) {
    throw_type(env, "configure(name, options): two arguments expected");
    return NULL;
  }
  if (get_ifname(env, argv[0], name) < 0) return NULL;
  napi_valuetype t;
  NAPI_CALL(env, napi_typeof(env, argv[1], &t));
  if (t != napi_object) {
    throw_type(env, "configure(name, options): options must be an object");
    return NULL;
  }
  napi_value v;
  bool has_addr, has_prefix, has_mtu, has_up;
  struct in_addr addr = {0};
  uint32_t prefix = 24, mtu = 0;
  bool up = false;
  if (get_opt(env, argv[1], "address", &v, &has_addr) < 0) return NULL;
  if (has_addr) {
    char buf[40];
    size_t len;
    NAPI_CALL(env, napi_typeof(env, v, &t));
    if (t != napi_string || napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok ||
        inet_pton(AF_INET, buf, &addr) != 1) {
      throw_type(env, "configure(): address must be a dotted-quad IPv4 address");
      return NULL;
    }
  }
  if (get_opt(env, argv[1], "prefixLength", &v, &has_prefix) < 0) return NULL;
  if (has_prefix) {
    NAPI_CALL(env, napi_typeof(env, v, &t));
    if (t != napi_number || napi_get_value_uint32(env, v, &prefix) != napi_ok || prefix > 32) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "configure(): prefixLength must be 0 to 32");
      return NULL;
    }
  }
  if (get_opt(env, argv[1], "mtu", &v, &has_mtu) < 0) return NULL;
  if (has_mtu) {
    NAPI_CALL(env, napi_typeof(env, v, &t));
    if (t != napi_number || napi_get_value_uint32(env, v, &mtu) != napi_ok || mtu < 68 || mtu > 65535) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "configure(): mtu must be 68 to 65535");
      return NULL;
    }
  }
  if (get_opt(env, argv[1], "up", &v, &has_up) < 0) return NULL;
  if (has_up) NAPI_CALL(env, napi_get_value_bool(env, v, &up));
  bool has_addr6, has_prefix6;
  struct in6_addr addr6;
  uint32_t prefix6 = 64;
  memset(&addr6, 0, sizeof addr6);
  if (get_opt(env, argv[1], "address6", &v, &has_addr6) < 0) return NULL;
  if (has_addr6) {
    char buf[64];
    size_t len;
    NAPI_CALL(env, napi_typeof(env, v, &t));
    if (t != napi_string || napi_get_value_string_utf8(env, v, buf, sizeof buf, &len) != napi_ok ||
        inet_pton(AF_INET6, buf, &addr6) != 1) {
      throw_type(env, "configure(): address6 must be an IPv6 address");
      return NULL;
    }
  }
  if (get_opt(env, argv[1], "prefixLength6", &v, &has_prefix6) < 0) return NULL;
  if (has_prefix6) {
    NAPI_CALL(env, napi_typeof(env, v, &t));
    if (t != napi_number || napi_get_value_uint32(env, v, &prefix6) != napi_ok || prefix6 > 128) {
      napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "configure(): prefixLength6 must be 0 to 128");
      return NULL;
    }
  }

  int s = inet_socket(env, name);
  if (s < 0) return NULL;
  struct ifreq ifr;
  int fail = 0;
  if (has_addr) {
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, IFNAMSIZ);
    set_sin(&ifr.ifr_addr, addr.s_addr);
    fail = if_ioctl(env, s, SIOCSIFADDR, "SIOCSIFADDR", &ifr, name);
    if (!fail) {
      memset(&ifr, 0, sizeof ifr);
      memcpy(ifr.ifr_name, name, IFNAMSIZ);
      set_sin(&ifr.ifr_netmask, prefix_mask((int)prefix));
      fail = if_ioctl(env, s, SIOCSIFNETMASK, "SIOCSIFNETMASK", &ifr, name);
    }
  }
  if (!fail && has_mtu) {
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, IFNAMSIZ);
    ifr.ifr_mtu = (int)mtu;
    fail = if_ioctl(env, s, SIOCSIFMTU, "SIOCSIFMTU", &ifr, name);
  }
  if (!fail && has_up) {
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, IFNAMSIZ);
    fail = if_ioctl(env, s, SIOCGIFFLAGS, "SIOCGIFFLAGS", &ifr, name);
    if (!fail) {
      if (up)
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
      else
        ifr.ifr_flags &= ~IFF_UP;
      fail = if_ioctl(env, s, SIOCSIFFLAGS, "SIOCSIFFLAGS", &ifr, name);
    }
  }
  close(s);
  /* After up: a TUN is IFF_NOARP, so the kernel runs no duplicate address detection and the address works at once. */
  if (!fail && has_addr6) add_address6(env, name, &addr6, prefix6);
  return NULL;
}

/* addRoute(name, cidr) -> true when added, false when it already existed */
static napi_value js_add_route(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ];
  if (argc < 2) {
    throw_type(env, "addRoute(name, cidr): two arguments expected");
    return NULL;
  }
  if (get_ifname(env, argv[0], name) < 0) return NULL;
  char cidr[64];
  size_t len;
  napi_valuetype t;
  struct in_addr dst;
  int prefix;
  NAPI_CALL(env, napi_typeof(env, argv[1], &t));
  if (t == napi_string && napi_get_value_string_utf8(env, argv[1], cidr, sizeof cidr, &len) == napi_ok &&
      strchr(cidr, ':') != NULL) {
    int r6 = add_route6(env, name, cidr);
    if (r6 < 0) return NULL;
    napi_value out6;
    NAPI_CALL(env, napi_get_boolean(env, r6 == 1, &out6));
    return out6;
  }
  if (t != napi_string || napi_get_value_string_utf8(env, argv[1], cidr, sizeof cidr, &len) != napi_ok ||
      parse_cidr(cidr, &dst, &prefix) < 0) {
    throw_type(env, "addRoute(): route must be an IPv4 CIDR like '10.77.9.0/24'");
    return NULL;
  }
  uint32_t mask = prefix_mask(prefix);
  struct rtentry rt;
  memset(&rt, 0, sizeof rt);
  set_sin(&rt.rt_dst, dst.s_addr & mask);
  set_sin(&rt.rt_genmask, mask);
  set_sin(&rt.rt_gateway, 0);
  rt.rt_flags = RTF_UP | (prefix == 32 ? RTF_HOST : 0);
  rt.rt_dev = name;
  int s = inet_socket(env, name);
  if (s < 0) return NULL;
  bool added = true;
  if (ioctl(s, SIOCADDRT, &rt) < 0) {
    int err = errno;
    if (err == EEXIST) {
      added = false;
    } else {
      close(s);
      char what[96];
      snprintf(what, sizeof what, "SIOCADDRT %s failed for device", cidr);
      if (err == ENETDOWN || err == ENETUNREACH) {
        char message[200];
        snprintf(message, sizeof message, "%s %s: the device is down (bring it up before adding routes)",
                 what, name);
        throw_errno(env, err, NULL, "ioctl", name, message);
      } else {
        throw_sys(env, err, "ioctl", name, what);
      }
      return NULL;
    }
  }
  close(s);
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, added, &out));
  return out;
}

/* getMtu(name) -> number */
static napi_value js_get_mtu(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ];
  if (argc < 1) {
    throw_type(env, "getMtu(name): one argument expected");
    return NULL;
  }
  if (get_ifname(env, argv[0], name) < 0) return NULL;
  int s = inet_socket(env, name);
  if (s < 0) return NULL;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, IFNAMSIZ);
  int fail = if_ioctl(env, s, SIOCGIFMTU, "SIOCGIFMTU", &ifr, name);
  close(s);
  if (fail) return NULL;
  napi_value out;
  NAPI_CALL(env, napi_create_int32(env, ifr.ifr_mtu, &out));
  return out;
}

/* releaseFreeMemory() -> bool: hands the C heap's free pages back to the kernel (glibc malloc_trim). */
static napi_value js_release_free_memory(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  NAPI_CALL(env, napi_get_boolean(env, malloc_trim(0) != 0, &out));
  return out;
}

/* ------------------------------------------------------------------------ */

static napi_value init(napi_env env, napi_value exports) {
  napi_value v;
  if (!set_fn(env, exports, "open", js_open)) return NULL;
  if (!set_fn(env, exports, "configure", js_configure)) return NULL;
  if (!set_fn(env, exports, "addRoute", js_add_route)) return NULL;
  if (!set_fn(env, exports, "getMtu", js_get_mtu)) return NULL;
  if (!set_fn(env, exports, "releaseFreeMemory", js_release_free_memory)) return NULL;
  NAPI_CALL(env, napi_create_uint32(env, SLOT_SIZE, &v));
  NAPI_CALL(env, napi_set_named_property(env, exports, "SLOT_SIZE", v));
  NAPI_CALL(env, napi_create_uint32(env, DEFAULT_BATCH, &v));
  NAPI_CALL(env, napi_set_named_property(env, exports, "DEFAULT_BATCH", v));
  NAPI_CALL(env, napi_create_uint32(env, MAX_BATCH, &v));
  NAPI_CALL(env, napi_set_named_property(env, exports, "MAX_BATCH", v));
  NAPI_CALL(env, napi_create_uint32(env, VNET_SLOT, &v));
  NAPI_CALL(env, napi_set_named_property(env, exports, "VNET_SLOT", v));
  NAPI_CALL(env, napi_create_uint32(env, TUN_F_CSUM, &v));
  NAPI_CALL(env, napi_set_named_property(env, exports, "TUN_F_CSUM", v));
  NAPI_CALL(env, napi_create_uint32(env, TUN_F_TSO4, &v));
  NAPI_CALL(env, napi_set_named_property(env, exports, "TUN_F_TSO4", v));
  NAPI_CALL(env, napi_create_uint32(env, TUN_F_TSO6, &v));
  NAPI_CALL(env, napi_set_named_property(env, exports, "TUN_F_TSO6", v));
  NAPI_CALL(env, napi_create_uint32(env, TUN_F_USO4, &v));
  NAPI_CALL(env, napi_set_named_property(env, exports, "TUN_F_USO4", v));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
