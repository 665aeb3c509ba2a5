#!/usr/bin/python3
"""Hand-made IPv4 fragment cases against the stack (scapy), like the
reference capture ip-fragments-ooo-overlap. Run inside the test's network
namespace only; every case sends a bounded number of packets to DST.

  frag-attacks.py DST first-only WAIT   first fragment only; wait up to WAIT s for
                                        ICMP time exceeded code 1; prints "te1 <seconds>" or "none"
  frag-attacks.py DST ooo               last-first fragments of an echo; prints "reply" or "none"
  frag-attacks.py DST overlap           overlapping fragments (teardrop-like); prints "reply" or "none"
  frag-attacks.py DST flood N           N first fragments with distinct ids (bounded N); prints "sent N"
  frag-attacks.py DST pod               ping of death (offset + length > 65535); prints "sent"
  frag-attacks.py DST tiny              8-byte fragments of an echo; prints "reply" or "none"
  frag-attacks.py DST zero              a zero-length middle fragment; prints "sent"
"""
import socket
import sys
import time

from scapy.all import ICMP, IP, Raw, conf, send  # type: ignore

conf.verb = 0
DST = sys.argv[1]
CASE = sys.argv[2]
ECHO_ID = 0x4242


def frags(ident, seq, payload, pieces):
    whole = bytes(IP(dst=DST, id=ident) / ICMP(id=ECHO_ID, seq=seq) / Raw(payload))
    l4 = whole[20:]
    return [IP(dst=DST, id=ident, proto=1, flags="MF" if mf else 0, frag=off // 8) / Raw(l4[off:off + ln])
            for off, ln, mf in pieces]


def icmp_listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.2)
    return s


def wait_for(s, pred, seconds):
    end = time.time() + seconds
    while time.time() < end:
        try:
            pkt = s.recv(65535)
        except socket.timeout:
            continue
        hl = (pkt[0] & 0x0f) * 4
        if pred(pkt[hl], pkt[hl + 1], pkt):
            return True
    return False


def is_reply(seq):
    return lambda t, c, p: t == 0 and int.from_bytes(p[(p[0] & 15) * 4 + 6:(p[0] & 15) * 4 + 8], "big") == seq


DATA = bytes(range(48)) * 4  # 192 bytes -> a 200-byte ICMP message

if CASE == "first-only":
    wait = float(sys.argv[3])
    s = icmp_listener()
    t0 = time.time()
    send(frags(0x1004, 4, DATA, [(0, 64, True)]))
    ok = wait_for(s, lambda t, c, p: t == 11 and c == 1, wait)
    print(f"te1 {time.time() - t0:.2f}" if ok else "none")
elif CASE == "ooo":
    s = icmp_listener()
    send(frags(0x1001, 1, DATA, [(0, 64, True), (64, 64, True), (128, 72, False)])[::-1])
    print("reply" if wait_for(s, is_reply(1), 2) else "none")
elif CASE == "overlap":
    s = icmp_listener()
    send(frags(0x1002, 2, DATA, [(0, 64, True), (48, 80, True), (128, 72, False)]))
    # teardrop: the second piece starts inside the first and ends before its end
    send(frags(0x1005, 5, DATA, [(0, 64, True), (8, 16, False)]))
    print("reply" if wait_for(s, lambda t, c, p: t == 0, 1.5) else "none")
elif CASE == "flood":
    n = min(int(sys.argv[3]), 20000)
    pkts = [IP(dst=DST, id=i & 0xffff, proto=1, flags="MF", frag=0) / Raw(b"\x08\x00" + bytes(510)) for i in range(n)]
    send(pkts)
    print(f"sent {n}")
elif CASE == "pod":
    send(IP(dst=DST, id=0xdead, proto=1, flags=0, frag=65528 // 8) / Raw(bytes(64)))
    print("sent")
elif CASE == "tiny":
    s = icmp_listener()
    send(frags(0x1006, 6, DATA, [(o, 8, True) for o in range(0, 192, 8)] + [(192, 8, False)]))
    print("reply" if wait_for(s, is_reply(6), 2) else "none")
elif CASE == "zero":
    send(frags(0x1007, 7, DATA, [(0, 64, True), (64, 0, True), (64, 136, False)]))
    print("sent")
else:
    sys.exit(f"unknown case {CASE}")
