#!/usr/bin/env bash
# Records the Linux reference captures the tests replay against the stack
# (test/conformance/suite.test.ts, test/unit/pcap.test.ts): this machine's
# kernel playing both ends, inside network namespaces made here and deleted
# on every exit path. No packet leaves them.
#
#   bash scripts/record-captures.sh             all scenarios
#   bash scripts/record-captures.sh http-get    some of them (names as below)
#   OUT=/tmp/caps bash scripts/record-captures.sh
#
# Needs root and: iproute2 tcpdump iputils-ping traceroute curl netcat-openbsd
# hping3 ethtool python3 python3-scapy node (scripts/setup.sh installs them).
# Each scenario writes OUT/NAME/NAME.pcap (default OUT: test/fixtures/captures).
#
# Topologies: "pair" is client 10.88.0.1 (rc-cli) — server 10.88.0.2 (rc-srv)
# on a veth; "routed" is client 10.88.1.1 — router (rc-rtr) — server 10.88.2.1.
# The capture is taken on the client's veth (so frames are Ethernet, ARP
# included), with offloads off so segments look as on a wire.
#
# After recording, run the replays: `npx vitest run test/conformance/suite.test.ts -t replay`.
# The 1 MiB transfer depends on how fast the kernel's own run went: when its
# client ACKed data faster than a replay can clock out (seen once in three
# recordings here), the replay diverges; record that scenario again.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/test/fixtures/captures}
PY=/usr/bin/python3   # Debian's python3, the one with scapy
CLI=rc-cli SRV=rc-srv RTR=rc-rtr
ALL="icmp-echo icmp-echo-fragmented udp-port-unreachable icmp-time-exceeded tcp-http-get tcp-http11-keepalive tcp-rst-closed-port tcp-1mb-transfer tcp-zero-window tcp-syn-cookies ip-fragments-ooo-overlap"

[ "$(id -u)" -eq 0 ] || { echo "record-captures: needs root (network namespaces)" >&2; exit 1; }
for t in ip tcpdump ping traceroute curl nc hping3 ethtool node "$PY"; do
  command -v "$t" >/dev/null || { echo "record-captures: $t is missing (bash scripts/setup.sh installs it)" >&2; exit 1; }
done
"$PY" -c 'import scapy' 2>/dev/null || { echo "record-captures: $PY has no scapy (apt-get install python3-scapy)" >&2; exit 1; }

PIDS=()
teardown() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  PIDS=()
  for ns in $CLI $SRV $RTR; do ip netns del "$ns" 2>/dev/null; done
  return 0
}
trap teardown EXIT INT TERM
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# a namespace with loopback up and IPv6 off (no router solicitations in the captures)
new_ns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}
# veth NS1 IF1 ADDR1 NS2 IF2 ADDR2: a cable between two namespaces, offloads off at both ends
veth() {
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3" dev "$2"; ip -n "$1" link set "$2" up
  ip -n "$4" addr add "$6" dev "$5"; ip -n "$4" link set "$5" up
  in_ns "$1" ethtool -K "$2" tso off gso off gro off tx off >/dev/null
  in_ns "$4" ethtool -K "$5" tso off gso off gro off tx off >/dev/null
}
pair() {
  teardown
  new_ns $CLI; new_ns $SRV
  veth $CLI c0 10.88.0.1/24 $SRV s0 10.88.0.2/24
}
routed() {
  teardown
  new_ns $CLI; new_ns $RTR; new_ns $SRV
  veth $CLI c0 10.88.1.1/24 $RTR r1 10.88.1.254/24
  veth $SRV s0 10.88.2.1/24 $RTR r2 10.88.2.254/24
  ip -n $CLI route add default via 10.88.1.254
  ip -n $SRV route add default via 10.88.2.254
  in_ns $RTR sysctl -qw net.ipv4.ip_forward=1
}
# background NS CMD...: a server in NS, stopped by teardown
# (ip netns exec execs the command: $! is the server itself)
background() { local ns=$1; shift; ip netns exec "$ns" "$@" >/dev/null 2>&1 & PIDS+=($!); }
# wait_port NS PORT: until something listens on PORT in NS (at most 5 s)
wait_port() {
  for _ in $(seq 50); do in_ns "$1" ss -Htln "sport = :$2" | grep -q . && return 0; sleep 0.1; done
  echo "record-captures: nothing listens on port $2" >&2; return 1
}

# record NAME SNAPLEN FILTER: tcpdump on the client's veth into OUT/NAME/NAME.pcap
record() {
  local dir=$OUT/$1 log; mkdir -p "$dir"; log=$(mktemp)
  ip netns exec $CLI tcpdump -i c0 -n -U --immediate-mode -s "$2" -w "$dir/$1.pcap" $3 >"$log" 2>&1 &
  DUMP=$!
  for _ in $(seq 50); do grep -q 'listening on' "$log" && break; sleep 0.1; done
  rm -f "$log"; sleep 0.3
}
finish() { sleep 1; kill -INT "$DUMP" 2>/dev/null; wait "$DUMP" 2>/dev/null; }

scenario_icmp-echo() {
  pair; record icmp-echo 256 ''
  in_ns $CLI ping -c 2 -i 0.2 10.88.0.2 >/dev/null; finish
}
scenario_icmp-echo-fragmented() {
  pair; record icmp-echo-fragmented 256 ''
  in_ns $CLI ping -c 1 -s 4000 10.88.0.2 >/dev/null; finish
}
scenario_udp-port-unreachable() {
  pair; record udp-port-unreachable 256 ''
  echo hello | in_ns $CLI nc -u -w 1 -p 40000 10.88.0.2 9999; finish
}
scenario_icmp-time-exceeded() {
  routed; record icmp-time-exceeded 256 ''
  in_ns $CLI traceroute -n -q 1 -w 1 -m 2 10.88.2.1 >/dev/null
  in_ns $CLI ping -c 1 -t 1 -W 1 10.88.2.1 >/dev/null; finish
}
scenario_tcp-http-get() {
  pair
  local www; www=$(mktemp -d); echo "hello from the reference server" >"$www/hello.txt"
  background $SRV "$PY" -m http.server 8080 --bind 10.88.0.2 --directory "$www"; wait_port $SRV 8080
  record tcp-http-get 256 'tcp port 8080'
  in_ns $CLI curl -s --http1.1 -o /dev/null http://10.88.0.2:8080/hello.txt; sleep 0.5; finish
  rm -rf "$www"
}
scenario_tcp-http11-keepalive() {
  pair
  background $SRV node -e '
    const srv = require("node:http").createServer((req, res) => {
      const body = `hello ${req.url}\n`;
      res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(body) });
      res.end(body);
    });
    srv.keepAliveTimeout = 2000;
    srv.listen(8080, "10.88.0.2");
    setTimeout(() => process.exit(0), 10000);'
  wait_port $SRV 8080
  record tcp-http11-keepalive 256 'tcp port 8080'
  # two requests on one connection (curl closes it), then one the server closes after 2 s idle
  in_ns $CLI curl -s --http1.1 -o /dev/null -o /dev/null http://10.88.0.2:8080/one http://10.88.0.2:8080/two
  sleep 0.5
  in_ns $CLI "$PY" -c '
import socket
s = socket.create_connection(("10.88.0.2", 8080)); s.settimeout(5)
s.sendall(b"GET /idle HTTP/1.1\r\nHost: 10.88.0.2\r\n\r\n")
while s.recv(4096): pass
s.close()'
  finish
}
scenario_tcp-rst-closed-port() {
  pair; record tcp-rst-closed-port 256 'tcp'
  in_ns $CLI curl -s -m 2 http://10.88.0.2:8081/ >/dev/null; finish
}
scenario_tcp-1mb-transfer() {
  pair
  local www; www=$(mktemp -d); head -c 1048576 /dev/zero | tr '\0' x >"$www/1mb.bin"
  background $SRV "$PY" -m http.server 8080 --bind 10.88.0.2 --directory "$www"; wait_port $SRV 8080
  record tcp-1mb-transfer 96 'tcp port 8080'
  in_ns $CLI curl -s --http1.1 -o /dev/null http://10.88.0.2:8080/1mb.bin; sleep 0.5; finish
  rm -rf "$www"
}
scenario_tcp-zero-window() {
  pair
  # the server's application stops reading for 4 s with a 4 KiB receive buffer: its window closes
  background $SRV "$PY" -c '
import socket, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
l.bind(("10.88.0.2", 9000)); l.listen(1)
c, _ = l.accept(); time.sleep(4)
while c.recv(65536): pass
c.close()'
  wait_port $SRV 9000
  record tcp-zero-window 96 'tcp port 9000'
  in_ns $CLI "$PY" -c '
import socket
s = socket.create_connection(("10.88.0.2", 9000))
s.sendall(b"z" * 100000); s.shutdown(socket.SHUT_WR); s.recv(1); s.close()'
  sleep 0.5; finish
}
scenario_tcp-syn-cookies() {
  pair
  in_ns $SRV sysctl -qw net.ipv4.tcp_syncookies=2   # cookies for every SYN (this namespace only)
  background $SRV "$PY" -c '
import socket
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.88.0.2", 8080)); l.listen(4); l.settimeout(8)
c, _ = l.accept(); c.sendall(c.recv(100).upper()); c.close()'
  wait_port $SRV 8080
  record tcp-syn-cookies 256 'tcp port 8080'
  # five bare SYNs (the client has no socket for them: its kernel resets the SYN-ACKs), then one real connection
  in_ns $CLI hping3 -q -S -p 8080 -c 5 -i u100000 10.88.0.2 >/dev/null 2>&1
  echo ping | in_ns $CLI nc -N -w 2 10.88.0.2 8080 >/dev/null
  sleep 0.5; finish
}
scenario_ip-fragments-ooo-overlap() {
  pair
  in_ns $SRV sysctl -qw net.ipv4.ipfrag_time=3   # a short reassembly timeout (this namespace only)
  record ip-fragments-ooo-overlap 256 ''
  in_ns $CLI "$PY" -c '
from scapy.all import IP, ICMP, Raw, send, conf
import time
conf.verb = 0
SRC, DST = "10.88.0.1", "10.88.0.2"
DATA = bytes(range(48)) * 4   # an ICMP echo of 200 bytes in all

def fragments(ident, seq, pieces):
    # pieces: (offset, length, more-fragments) over the ICMP message, checksum computed on the whole
    icmp = bytes(IP(src=SRC, dst=DST, id=ident) / ICMP(id=0x4242, seq=seq) / Raw(DATA))[20:]
    return [IP(src=SRC, dst=DST, id=ident, proto=1, flags="MF" if mf else 0, frag=off // 8) / Raw(icmp[off:off + n])
            for off, n, mf in pieces]

whole = [(0, 64, True), (64, 64, True), (128, 72, False)]
send(fragments(0x1001, 1, whole)[::-1])                                            # out of order: reassembled
time.sleep(0.5)
send(fragments(0x1002, 2, [(0, 64, True), (48, 80, True), (128, 72, False)]))      # overlap: dropped
time.sleep(0.5)
send(fragments(0x1003, 3, [(0, 64, True)] + whole))                                # exact duplicate: tolerated
time.sleep(0.5)
send(fragments(0x1004, 4, [(0, 64, True)]))                                        # incomplete: time exceeded
time.sleep(0.5)'
  sleep 4; finish   # the 3 s reassembly timer fires: ICMP time exceeded, code 1
}

names=${*:-$ALL}
for n in $names; do
  case " $ALL " in *" $n "*) ;; *) echo "record-captures: no scenario $n (known: $ALL)" >&2; exit 2 ;; esac
done
for n in $names; do
  echo "recording $n"
  "scenario_$n"
  teardown
  [ -s "$OUT/$n/$n.pcap" ] || { echo "record-captures: $n recorded nothing" >&2; exit 1; }
done
echo "captures in $OUT"
