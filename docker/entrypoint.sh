#!/bin/sh
# tunstack container entrypoint.
#
#   entrypoint.sh [tunstack up flags...]     checks, forwarding, then `exec tunstack up` (PID 1: signals reach it)
#   entrypoint.sh CMD [ARGS...]              runs CMD instead (e.g. sh), for debugging
#
# Configuration comes from the environment (TUNSTACK_TUN, TUNSTACK_ADDR,
# TUNSTACK_PEER, TUNSTACK_ROUTES, TUNSTACK_MTU, TUNSTACK_HTTP, TUNSTACK_PCAP,
# TUNSTACK_LOG_LEVEL, TUNSTACK_SERVICES, TUNSTACK_GRACE, TUNSTACK_CONFIG, ...;
# see README "Configuration") and from flags, which win. `tunstack up` creates
# the TUN device and configures its kernel side (TUNSTACK_PEER on the
# TUNSTACK_ADDR prefix, MTU, up, TUNSTACK_ROUTES), validating everything first.
#
# Entrypoint-only variables:
#   TUNSTACK_FORWARD=1|0     enable IPv4 forwarding in the container's namespace (default 1: the bridge-mode
#                            path, host -> container eth0 -> tun0 -> stack, needs it; set 0 with network_mode: host)
#   TUNSTACK_SKIP_CHECKS=1   skip the device and capability checks
set -eu

log() { printf 'entrypoint: %s\n' "$*" >&2; }
die() { printf 'entrypoint: ERROR: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
cli=${TUNSTACK_CLI_JS:-$here/../dist/cli.js}

case "${1:-}" in
  ''|-*) ;;
  up) shift ;;
  *) exec "$@" ;;
esac

[ -f "$cli" ] || die "tunstack is not built: $cli is missing"

if [ "${TUNSTACK_SKIP_CHECKS:-0}" != 1 ]; then
  hint="run the container with --privileged, or with --cap-add NET_ADMIN --device /dev/net/tun"
  [ -e /dev/net/tun ] || die "/dev/net/tun does not exist in the container: $hint"
  [ -c /dev/net/tun ] || die "/dev/net/tun is not a character device: $hint"
  # Opening it tells whether the device cgroup lets us use it (root passes the -r/-w tests regardless).
  if ! (exec 3<>/dev/net/tun) 2>/dev/null; then
    die "/dev/net/tun cannot be opened (not allowed by the container's device list): $hint"
  fi
  capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
  if [ -z "$capeff" ] || [ $(( (0x$capeff >> 12) & 1 )) -ne 1 ]; then
    die "missing capability CAP_NET_ADMIN (needed to create and configure the TUN device): $hint"
  fi
fi

# Bridge mode: packets from the host arrive on eth0 for the stack's subnet and must be forwarded to the TUN.
if [ "${TUNSTACK_FORWARD:-1}" = 1 ]; then
  fwd=/proc/sys/net/ipv4/ip_forward
  if [ "$(cat "$fwd" 2>/dev/null || echo '?')" != 1 ]; then
    if (echo 1 >"$fwd") 2>/dev/null; then
      log "IPv4 forwarding enabled in the container's network namespace"
    else
      log "WARNING: cannot enable IPv4 forwarding ($fwd is read-only): only the container itself reaches the stack;" \
        "run with --privileged or --sysctl net.ipv4.ip_forward=1 for the bridge-mode path"
    fi
  fi
fi

log "starting tunstack up on ${TUNSTACK_TUN:-tun0}: stack ${TUNSTACK_ADDR:-10.77.0.2/24}, kernel side ${TUNSTACK_PEER:-10.77.0.1}, http ${TUNSTACK_HTTP:-off}"
exec node "$cli" up "$@"
