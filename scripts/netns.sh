#!/usr/bin/env bash
# Network namespace set-up and tear-down for running tunstack by hand, in
# benchmarks or in demos. The stack lives inside the namespace on tun0 with
# 10.77.0.2; the kernel side of the TUN (inside the same namespace) is 10.77.0.1.
#
#   scripts/netns.sh up NAME [tunstack up args...]   start the stack in NAME (pid in /run/tunstack-NAME.pid)
#   scripts/netns.sh exec NAME CMD...               run a command in NAME (e.g. ping 10.77.0.2)
#   scripts/netns.sh down NAME                      stop the stack (by PID) and delete NAME
#
# Traffic stays inside the namespace. `down` is safe to run more than once.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-}; ns=${2:-}
[ -n "$cmd" ] && [ -n "$ns" ] || { sed -n '2,11p' "$0"; exit 2; }
pidfile=/run/tunstack-$ns.pid
case "$cmd" in
  up)
    shift 2
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    [ -f dist/cli.js ] || npm run -s build
    ip netns exec "$ns" node dist/cli.js up --tun tun0 --addr 10.77.0.2/24 --peer 10.77.0.1 "$@" &
    echo $! >"$pidfile"
    for _ in $(seq 1 40); do
      ip netns exec "$ns" ping -c1 -W1 10.77.0.2 >/dev/null 2>&1 && { echo "stack up in $ns (pid $(cat "$pidfile"))"; exit 0; }
      kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "stack exited" >&2; "$0" down "$ns"; exit 1; }
      sleep 0.25
    done
    echo "stack did not answer ping" >&2; "$0" down "$ns"; exit 1 ;;
  exec)
    shift 2; exec ip netns exec "$ns" "$@" ;;
  down)
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$pidfile"
    fi
    ip netns del "$ns" 2>/dev/null || true ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
