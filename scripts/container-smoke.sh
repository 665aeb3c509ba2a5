#!/usr/bin/env bash
# Container smoke test (CI): the user's path — the stack in a container,
# pinged and curled from the host side through a veth pair and a route (the
# bridge-mode path), operated with `tunstack stats`/`ss`, stopped with SIGTERM.
#
#   scripts/container-smoke.sh [--mode auto|netns|docker] [--no-build]
#
#   netns   docker/entrypoint.sh with the container's environment inside a
#           fresh network namespace (the container's stand-in)
#   docker  the real image: docker build (on a local base image when one is
#           there, e.g. from ../shared/tools/docker-check.sh setup), docker run
#           --privileged --network none, a veth moved into its namespace
#   auto    docker when a Docker engine answers (`docker info`), else netns
#
# The "host" is a second namespace of our own (the client): it gets a /30 on
# the veth pair and `ip route add 10.77.0.0/24 via <container side>`, exactly
# the one route README's bridge mode asks users to add. Traffic stays inside
# these namespaces; every wait is bounded; everything is torn down on every
# exit path (processes by PID, containers by name, namespaces by name).
# Exit 0 only when every check passed; the last line says which failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MODE=auto
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) MODE=${2:?--mode needs a value}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "container-smoke: unknown option $1" >&2; exit 2 ;;
  esac
done

STACK=10.77.0.2
TAG=${SMOKE_TAG:-local/tunstack:smoke}
ID=$$
CLIENT=tsmk-c-$ID            # the host's stand-in
CTR=tsmk-k-$ID               # the container's stand-in (netns mode)
VC=vsc$ID                    # veth, client end
VK=vsk$ID                    # veth, container end
NET_C=172.30.77.1            # a private /30 on the veth pair, inside our namespaces only
NET_K=172.30.77.2
CNAME=tunstack-smoke-$ID
LOGDIR=$(mktemp -d /tmp/container-smoke.XXXXXX)
STACK_PID=
CONTAINER=
FAILS=()
DOCKER=$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker || true )

# The container's environment, the same in both modes.
SMOKE_ENV=(TUNSTACK_TUN=tun0 TUNSTACK_ADDR=$STACK/24 TUNSTACK_PEER=10.77.0.1 TUNSTACK_HTTP=80
  TUNSTACK_FORWARD=1 TUNSTACK_LOG_LEVEL=info TUNSTACK_GRACE=5s)

say() { printf '[smoke] %s\n' "$*"; }
pass() { printf '[smoke] ok    %s\n' "$*"; }
failc() { printf '[smoke] FAIL  %s\n' "$*"; FAILS+=("$1"); }
inc() { ip netns exec "$CLIENT" "$@"; }

cleanup() {
  set +e
  if [ -n "$STACK_PID" ] && kill -0 "$STACK_PID" 2>/dev/null; then
    kill -TERM "$STACK_PID" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$STACK_PID" 2>/dev/null
  fi
  [ -n "$CONTAINER" ] && "$DOCKER" rm -f "$CONTAINER" >/dev/null 2>&1
  ip netns del "$CLIENT" 2>/dev/null
  ip netns del "$CTR" 2>/dev/null
  rm -rf "$LOGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() { for t in "$@"; do command -v "$t" >/dev/null || { echo "container-smoke: FAIL: tool missing: $t"; exit 1; }; done; }
need ip ping curl node
[ "$(id -u)" = 0 ] || { echo "container-smoke: FAIL: needs root (network namespaces, TUN devices)"; exit 1; }

# Leftovers of a run that was SIGKILLed (its PID is gone): our namespaces and containers only, by name.
for ns in $(ip netns list 2>/dev/null | grep -oE '^tsmk-[ck]-[0-9]+'); do
  pid=${ns##*-}
  kill -0 "$pid" 2>/dev/null && continue
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null && say "removed stale namespace $ns"
done
if [ -n "$DOCKER" ] && timeout 10 "$DOCKER" info >/dev/null 2>&1; then
  for c in $("$DOCKER" ps -a --format '{{.Names}}' --filter name=tunstack-smoke- 2>/dev/null); do
    kill -0 "${c##*-}" 2>/dev/null || { "$DOCKER" rm -f "$c" >/dev/null 2>&1 && say "removed stale container $c"; }
  done
fi

if [ "$MODE" = auto ]; then
  if [ -n "$DOCKER" ] && timeout 10 "$DOCKER" info >/dev/null 2>&1; then MODE=docker; else MODE=netns; fi
fi
case "$MODE" in netns|docker) ;; *) echo "container-smoke: --mode must be auto, netns or docker"; exit 2 ;; esac
say "mode $MODE"

# The client ("host") namespace with its veth end; the other end goes to the container's namespace.
ip netns add "$CLIENT" || { echo "container-smoke: FAIL: cannot create a network namespace"; exit 1; }
ip -n "$CLIENT" link set lo up

start_netns() {
  [ -f dist/cli.js ] || { say "building"; npm run -s build >"$LOGDIR/build.log" 2>&1 || { tail -5 "$LOGDIR/build.log"; return 1; }; }
  ip netns add "$CTR" || return 1
  ip -n "$CTR" link set lo up
  ip link add "$VC" netns "$CLIENT" type veth peer name "$VK" netns "$CTR" || return 1
  ip -n "$CTR" addr add "$NET_K/30" dev "$VK" && ip -n "$CTR" link set "$VK" up || return 1
  # `ip netns exec` execs the entrypoint, which execs node: $! is the stack itself.
  ip netns exec "$CTR" env -i PATH="$PATH" HOME=/root "${SMOKE_ENV[@]}" docker/entrypoint.sh >"$LOGDIR/stack.log" 2>&1 &
  STACK_PID=$!
  ctl() { ip netns exec "$CTR" node dist/cli.js "$@"; }
}

start_docker() {
  if [ "$BUILD" = 1 ]; then
    local base_args=()
    if "$DOCKER" image inspect local/node-base:bookworm >/dev/null 2>&1; then base_args=(--build-arg BASE_IMAGE=local/node-base:bookworm); fi
    say "docker build ${base_args[*]} -t $TAG (log $LOGDIR/build.log)"
    local t0=$SECONDS
    DOCKER_BUILDKIT=1 timeout 240 "$DOCKER" build --network host "${base_args[@]}" -t "$TAG" . >"$LOGDIR/build.log" 2>&1 \
      || { tail -15 "$LOGDIR/build.log"; say "docker build failed"; return 1; }
    say "built in $((SECONDS - t0)) s"
  fi
  local envargs=() e
  for e in "${SMOKE_ENV[@]}"; do envargs+=(-e "$e"); done
  CONTAINER=$CNAME
  "$DOCKER" run -d --name "$CONTAINER" --privileged --network none "${envargs[@]}" "$TAG" >/dev/null || return 1
  local pid=0
  for _ in $(seq 1 50); do
    pid=$("$DOCKER" inspect -f '{{.State.Pid}}' "$CONTAINER" 2>/dev/null || echo 0)
    [ "$pid" != 0 ] && break; sleep 0.1
  done
  [ "$pid" != 0 ] || { "$DOCKER" logs "$CONTAINER" 2>&1 | tail -5; return 1; }
  STACK_PID=
  # The bridge-mode path: a veth from the client namespace into the container's namespace.
  ip link add "$VC" netns "$CLIENT" type veth peer name "$VK" netns "$pid" || return 1
  nsenter -t "$pid" -n ip addr add "$NET_K/30" dev "$VK" && nsenter -t "$pid" -n ip link set "$VK" up || return 1
  ctl() { "$DOCKER" exec "$CONTAINER" tunstack "$@"; }
}

stack_alive() {
  if [ "$MODE" = netns ]; then kill -0 "$STACK_PID" 2>/dev/null
  else [ "$("$DOCKER" inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" = true ]; fi
}
stack_log() {
  if [ "$MODE" = netns ]; then cat "$LOGDIR/stack.log"; else "$DOCKER" logs "$CONTAINER" 2>&1; fi
}

if [ "$MODE" = netns ]; then start_netns; else start_docker; fi || {
  stack_log 2>/dev/null | tail -5
  echo "container-smoke: FAIL: could not start the $MODE container"; exit 1
}
ip -n "$CLIENT" addr add "$NET_C/30" dev "$VC" && ip -n "$CLIENT" link set "$VC" up
# The one route a user adds on the host in bridge mode:
ip -n "$CLIENT" route add 10.77.0.0/24 via "$NET_K"
say "client $NET_C -> route 10.77.0.0/24 via $NET_K -> container -> tun0 -> stack $STACK"

# Wait (bounded) for the stack to answer through the route.
up=0
for _ in $(seq 1 60); do
  if inc ping -c1 -W1 "$STACK" >/dev/null 2>&1; then up=1; break; fi
  stack_alive || break
  sleep 0.5
done
if [ $up = 0 ]; then
  stack_log | tail -8
  echo "container-smoke: FAIL: the stack never answered ping through the route (mode $MODE)"; exit 1
fi

# 1. ping through the route
out=$(inc ping -q -c 20 -i 0.05 -W 2 "$STACK" 2>&1)
loss=$(grep -o '[0-9.]*% packet loss' <<<"$out")
[ "$loss" = "0% packet loss" ] && pass "ping x20 through the route: $loss" || failc "ping" "ping x20: ${loss:-no answer}"

# 2. curl / and /bytes?n=10000000 (the bundled HTTP server on TUNSTACK_HTTP=80)
curl_check() {
  local label=$1 url=$2 want_size=${3:-} r rc
  r=$(inc curl -sS -o /dev/null -m 60 -w '%{http_code} %{size_download}' "$url" 2>"$LOGDIR/curl.err"); rc=$?
  if [ $rc -ne 0 ]; then
    failc "$label" "curl $url: curl exit $rc ($(head -c 200 "$LOGDIR/curl.err" | tr '\n' ' ')): is the HTTP server in this build and on port 80?"
  elif [ "${r%% *}" != 200 ]; then
    failc "$label" "curl $url: HTTP ${r%% *}"
  elif [ -n "$want_size" ] && [ "${r##* }" != "$want_size" ]; then
    failc "$label" "curl $url: ${r##* } bytes, want $want_size"
  else
    pass "curl $url: HTTP ${r%% *}, ${r##* } bytes"
  fi
}
curl_check "curl-root" "http://$STACK/"
curl_check "curl-bytes" "http://$STACK/bytes?n=10000000" 10000000

# 3. operating it: counters and socket table through the control socket
if st=$(ctl stats 2>&1) && grep -q '^IcmpInEchos ' <<<"$st"; then
  pass "tunstack stats: $(grep '^IcmpInEchos ' <<<"$st" | tr -s ' ')"
else
  failc "stats" "tunstack stats: $(tail -2 <<<"$st" | tr '\n' ' ')"
fi
if ss=$(ctl ss 2>&1) && grep -q '^Netid' <<<"$ss"; then
  pass "tunstack ss: $(( $(wc -l <<<"$ss") - 1 )) lines"
else
  failc "ss" "tunstack ss: $(tail -2 <<<"$ss" | tr '\n' ' ')"
fi

# 4. SIGTERM: a clean stop with exit status 0
if [ "$MODE" = netns ]; then
  kill -TERM "$STACK_PID"; code=timeout
  for _ in $(seq 1 100); do kill -0 "$STACK_PID" 2>/dev/null || break; sleep 0.1; done
  if ! kill -0 "$STACK_PID" 2>/dev/null; then wait "$STACK_PID"; code=$?; fi
  STACK_PID=
  tun_left=$(ip -n "$CTR" link show tun0 2>/dev/null | head -1)
else
  "$DOCKER" stop -t 10 "$CONTAINER" >/dev/null 2>&1
  code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$CONTAINER" 2>/dev/null || echo '?')
  tun_left=
fi
[ "$code" = 0 ] && pass "SIGTERM: exit status 0" || { failc "sigterm" "SIGTERM: exit status $code"; stack_log | tail -5; }
if [ "$MODE" = netns ]; then
  [ -z "$tun_left" ] && pass "TUN device removed on shutdown" || failc "tun-left" "tun0 still exists after shutdown: $tun_left"
fi

if [ ${#FAILS[@]} -gt 0 ]; then
  echo "container-smoke: FAIL ($MODE): ${FAILS[*]}"
  exit 1
fi
echo "container-smoke: PASS ($MODE): ping, curl / and /bytes?n=10000000 through the route, stats, ss, SIGTERM exit 0"
