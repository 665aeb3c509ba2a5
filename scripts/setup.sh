#!/usr/bin/env bash
# Installs everything tunstack's demo, tests and benchmarks use on Debian 12
# (run as root), then the npm dependencies and the native TUN shim (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if command -v apt-get >/dev/null; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    iproute2 iputils-ping traceroute curl netcat-openbsd socat tcpdump tshark hping3 \
    python3 python3-scapy bind9-dnsutils wrk iperf3 apache2-utils iptables g++ make ca-certificates \
    jq bc procps tmux chromium >/dev/null
else
  echo "setup: not a Debian system; install iproute2, ping, tshark, curl, nc, hping3, dig, wrk, scapy yourself" >&2
fi
npm ci --no-audit --no-fund
