#!/usr/bin/python3
"""Hostile traffic against a tunstack instance (raw sockets; packets built
by hand, scapy-free so floods are fast). Run inside the test's network
namespace only: every packet goes out tun0 to DST (or to the broadcast
addresses of that isolated link), every case is bounded in count and time.
Each case prints one JSON object.

  hostile.py DST rfc5961 PORT          RST/SYN/ACK injection on a live connection (RFC 5961)
  hostile.py DST options PORT          TCP segments with every option malformed (SYN and in-connection)
  hostile.py DST icmp-forged PORT      ICMP errors quoting forged and real connections
  hostile.py DST ack-flood PORT N      N ACKs with random seq/ack ("random cookies") from random ports
  hostile.py DST land PORT N           N SYNs with source = destination = DST
  hostile.py DST bcast N               UDP/ICMP/TCP to 10.77.0.255 and 255.255.255.255 (N each)
  hostile.py DST frag-flood N          N first fragments with distinct ids
  hostile.py DST frag-overlap N        N datagrams of overlapping fragments (teardrop-like)
  hostile.py DST trickle SECONDS RATE  a mix of the above at RATE packets/s for SECONDS (the soak's background)

The live-connection cases drive a TCP connection from user space: an
iptables rule inside the namespace (removed on exit) stops the kernel from
resetting it. Only the namespace's own iptables are touched.
"""
import json
import os
import random
import socket
import struct
import subprocess
import sys
import time

DST = sys.argv[1]
CASE = sys.argv[2]
ARGS = sys.argv[3:]
SRC = "10.77.0.1"
MAX_N = 200000


def bounded(n):
    n = int(n)
    if n < 0 or n > MAX_N:
        raise SystemExit("count out of range (0..%d)" % MAX_N)
    return n


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s >> 16) + (s & 0xFFFF)
    return ~s & 0xFFFF


def aton(a):
    return socket.inet_aton(a)


def ip_hdr(src, dst, proto, payload_len, ident=0, flags_frag=0, ttl=64, opts=b""):
    hl = 20 + len(opts)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | (hl // 4), 0, hl + payload_len, ident & 0xFFFF, flags_frag, ttl, proto, 0, aton(src), aton(dst)) + opts
    c = csum(h)
    return h[:10] + struct.pack("!H", c) + h[12:]


def tcp_seg(src, dst, sport, dport, seq, ack, flags, win=65535, opts=b"", payload=b"", urg=0):
    if len(opts) % 4:
        opts += b"\x01" * (4 - len(opts) % 4)
    off = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4, flags, win, 0, urg) + opts
    pseudo = aton(src) + aton(dst) + struct.pack("!BBH", 0, 6, len(h) + len(payload))
    c = csum(pseudo + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def tcp_pkt(src, dst, sport, dport, seq, ack, flags, **kw):
    t = tcp_seg(src, dst, sport, dport, seq, ack, flags, **kw)
    return ip_hdr(src, dst, 6, len(t)) + t


def udp_pkt(src, dst, sport, dport, payload):
    u = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    pseudo = aton(src) + aton(dst) + struct.pack("!BBH", 0, 17, len(u))
    c = csum(pseudo + u) or 0xFFFF
    u = u[:6] + struct.pack("!H", c) + u[8:]
    return ip_hdr(src, dst, 17, len(u)) + u


def icmp_pkt(src, dst, typ, code, rest, body):
    m = struct.pack("!BBHI", typ, code, 0, rest) + body
    m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
    return ip_hdr(src, dst, 1, len(m)) + m


F, S, R, P, A = 0x01, 0x02, 0x04, 0x08, 0x10

raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"tun0")
raw.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
# Our own packets carry a mark so that the rule suppressing the kernel's RSTs lets ours through.
MARK = 0x7757
raw.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_MARK", 36), MARK)


PPS = float(os.environ.get("HOSTILE_PPS", "0"))  # floods: packets per second (0 = as fast as possible)
_next = [time.time()]


def pace():
    if PPS <= 0:
        return
    _next[0] += 1.0 / PPS
    d = _next[0] - time.time()
    if d > 0:
        time.sleep(d)
    elif d < -0.5:
        _next[0] = time.time()


def send(pkt, dst=None):
    d = dst or socket.inet_ntoa(pkt[16:20])
    pace()
    try:
        raw.sendto(pkt, (d, 0))
        return True
    except OSError:
        return False


def out(obj):
    print(json.dumps(obj), flush=True)


# ------------------------------------------------------------------ a user-space TCP client


class Conn:
    """A TCP connection driven by hand (kernel RSTs for its port suppressed by iptables)."""

    def __init__(self, port, sport=None):
        self.port = port
        self.sport = sport or random.randint(20000, 30000)
        self.rule = ["OUTPUT", "-p", "tcp", "--sport", str(self.sport), "--tcp-flags", "RST", "RST", "-m", "mark", "!", "--mark", str(MARK), "-j", "DROP"]
        subprocess.run(["iptables", "-I"] + self.rule, check=True, timeout=10)
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.rx.settimeout(0.05)
        self.iss = random.randint(0, 2**32 - 1)
        self.snd_nxt = self.iss
        self.rcv_nxt = 0
        self.peer_una = 0  # the stack's SND.UNA as far as we acked
        self.peer_nxt = 0  # the stack's SND.NXT (highest seq it sent + len)

    def close_rule(self):
        subprocess.run(["iptables", "-D"] + self.rule, timeout=10)

    def pkt(self, flags, seq=None, ack=None, payload=b"", opts=b"", win=65535):
        return tcp_pkt(SRC, DST, self.sport, self.port, self.snd_nxt if seq is None else seq, self.rcv_nxt if ack is None else ack, flags, win=win, opts=opts, payload=payload)

    def recv_segs(self, seconds):
        """Segments from the stack for this connection within `seconds`: (flags, seq, ack, payload)."""
        end = time.time() + seconds
        segs = []
        while time.time() < end:
            try:
                b = self.rx.recv(70000)
            except socket.timeout:
                continue
            hl = (b[0] & 15) * 4
            if socket.inet_ntoa(b[12:16]) != DST:
                continue
            sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", b[hl:hl + 14])
            if sport != self.port or dport != self.sport:
                continue
            thl = (off >> 4) * 4
            total = struct.unpack("!H", b[2:4])[0]
            payload = b[hl + thl:total]
            segs.append((flags, seq, ack, payload))
            end = min(end, time.time() + 0.15)  # a burst: stop shortly after the last segment
        return segs

    def handshake(self):
        send(self.pkt(S, opts=b"\x02\x04\x05\xb4"))
        for f, seq, ack, _ in self.recv_segs(2.0):
            if f & (S | A) == (S | A) and ack == (self.iss + 1) & 0xFFFFFFFF:
                self.snd_nxt = (self.iss + 1) & 0xFFFFFFFF
                self.rcv_nxt = (seq + 1) & 0xFFFFFFFF
                self.peer_una = self.peer_nxt = self.rcv_nxt
                send(self.pkt(A))
                return True
        return False

    def echo(self, data, wait=4.0):
        """Sends data; True when the echo comes back whole (and ACKs it)."""
        send(self.pkt(P | A, payload=data))
        self.snd_nxt = (self.snd_nxt + len(data)) & 0xFFFFFFFF
        got = b""
        rst = False
        end = time.time() + wait
        while time.time() < end and len(got) < len(data):
            for f, seq, ack, pl in self.recv_segs(0.3):
                if f & R:
                    rst = True
                if pl and seq == self.rcv_nxt:
                    got += pl
                    self.rcv_nxt = (self.rcv_nxt + len(pl)) & 0xFFFFFFFF
                    self.peer_nxt = self.rcv_nxt
            if rst:
                break
        if got:
            send(self.pkt(A))
        return got == data and not rst

    def close(self):
        send(self.pkt(R | A))
        self.close_rule()


def probe(conn, pkt, wait=0.6):
    """Sends `pkt`; returns what came back: 'challenge-ack' (an ACK for our RCV state), 'rst', 'ack', 'none'."""
    send(pkt)
    segs = conn.recv_segs(wait)
    if not segs:
        return "none"
    if any(f & R for f, _, _, _ in segs):
        return "rst"
    if any(f & A and ack == conn.snd_nxt for f, _, ack, _ in segs):
        return "challenge-ack"
    return "ack"


def with_conn(port, body):
    c = Conn(port)
    try:
        if not c.handshake():
            return {"error": "handshake failed"}
        if not c.echo(b"hello"):
            return {"error": "echo before the test failed"}
        return body(c)
    finally:
        c.close()  # RST (the stack forgets it) and the iptables rule removed


# ------------------------------------------------------------------ cases


def rfc5961(port):
    def body(c):
        r = {}
        W = 1000
        # RST in window but not exact → challenge ACK, connection survives.
        r["rst_in_window"] = probe(c, c.pkt(R, seq=c.snd_nxt + W))
        r["alive_after_rst_in_window"] = c.echo(b"a1")
        # RST out of window → dropped silently, connection survives.
        r["rst_out_of_window"] = probe(c, c.pkt(R, seq=c.snd_nxt + 2**30))
        r["alive_after_rst_out_of_window"] = c.echo(b"a2")
        # RST+ACK in window, not exact.
        r["rstack_in_window"] = probe(c, c.pkt(R | A, seq=c.snd_nxt + 1))
        r["alive_after_rstack_in_window"] = c.echo(b"a3")
        # SYN in window and out of window → challenge ACK (RFC 5961 §4), survives.
        r["syn_in_window"] = probe(c, c.pkt(S, seq=c.snd_nxt + 10))
        r["alive_after_syn_in_window"] = c.echo(b"a4")
        r["syn_out_of_window"] = probe(c, c.pkt(S, seq=c.snd_nxt - 2**30))
        r["alive_after_syn_out_of_window"] = c.echo(b"a5")
        # ACK acknowledging data never sent (RFC 5961 §5) → challenge ACK / drop, survives.
        r["ack_too_new"] = probe(c, c.pkt(A, ack=c.rcv_nxt + 2**20, payload=b"zz"))
        r["alive_after_ack_too_new"] = c.echo(b"a6")
        r["ack_too_old"] = probe(c, c.pkt(A, ack=c.rcv_nxt - 2**30, payload=b"zz"))
        r["alive_after_ack_too_old"] = c.echo(b"a7")
        # Data out of window → an ACK, data not delivered, survives.
        r["data_out_of_window"] = probe(c, c.pkt(P | A, seq=c.snd_nxt + 2**29, payload=b"junk"))
        r["alive_after_data_out_of_window"] = c.echo(b"a8")
        # The exact RST kills it: afterwards data draws a RST (no connection). Patient probes: a loaded link is slow.
        send(c.pkt(R, seq=c.snd_nxt))
        time.sleep(0.3)
        r["after_exact_rst"] = "none"
        for _ in range(3):
            r["after_exact_rst"] = probe(c, c.pkt(P | A, payload=b"dead?"), wait=1.5)
            if r["after_exact_rst"] != "none":
                break
        return r

    return with_conn(port, body)


# Malformed option sets: length 0, length 1, beyond the header, repeated, bad lengths, unknown kinds, EOL then junk.
BAD_OPTIONS = {
    "len0": b"\x02\x00\x05\xb4",
    "len1": b"\x08\x01\x01\x01",
    "beyond_header": b"\x01\x01\x08\x20",
    "mss_len_beyond": b"\x02\x28\x05\xb4",
    "repeated_mss": b"\x02\x04\x05\xb4\x02\x04\x00\x40\x02\x04\xff\xff",
    "repeated_wscale": b"\x03\x03\x0e\x03\x03\xff\x01\x01",
    "wscale_255": b"\x01\x03\x03\xff",
    "mss_0": b"\x02\x04\x00\x00",
    "mss_1": b"\x02\x04\x00\x01",
    "ts_short": b"\x08\x06\x00\x00\x00\x01\x01\x01",
    "sack_bad_len": b"\x05\x07\x00\x00\x00\x01\x00\x01\x01\x01\x01\x01",
    "sack_len2": b"\x01\x01\x05\x02",
    "sackok_len3": b"\x04\x03\x00\x01",
    "unknown_kinds": b"\xfe\x04\xaa\xbb\x1e\x02\x01\x01",
    "eol_then_junk": b"\x00\xff\xff\xff",
    "all_nop_40": b"\x01" * 40,
    "len_255": b"\x22\xff\x00\x00",
}


def options(port):
    r = {"syn": {}, "in_connection": {}}
    # SYNs with each malformation: what the listener answers.
    for name, o in BAD_OPTIONS.items():
        sport = random.randint(10000, 19999)  # below the kernel's ephemeral range (legit clients)
        c = Conn(port, sport=sport)
        try:
            send(tcp_pkt(SRC, DST, sport, port, c.iss, 0, S, opts=o))
            segs = c.recv_segs(0.6)
            kind = "none"
            for f, seq, ack, _ in segs:
                if f & (S | A) == (S | A):
                    kind = "syn-ack"
                    send(tcp_pkt(SRC, DST, sport, port, c.iss + 1, 0, R))
                elif f & R:
                    kind = "rst"
            r["syn"][name] = kind
        finally:
            c.close_rule()

    def body(c):
        for name, o in BAD_OPTIONS.items():
            r["in_connection"][name] = probe(c, c.pkt(A, opts=o, payload=b""), wait=0.3)
        r["alive_after_all"] = c.echo(b"still here")
        return r

    res = with_conn(port, body)
    if "error" in res:
        r["error"] = res["error"]
    return r


def icmp_forged(port):
    def body(c):
        r = {}

        def quote(sport, dport, seq):
            t = tcp_seg(DST, SRC, sport, dport, seq, 0, A)
            return ip_hdr(DST, SRC, 6, len(t)) + t[:8]

        una = c.peer_una
        forged = [
            ("wrong_ports", quote(port, c.sport + 1, una)),
            ("wrong_local_port", quote(port + 1, c.sport, una)),
            ("seq_out_of_window", quote(port, c.sport, una - 2**30)),
            ("seq_far_ahead", quote(port, c.sport, una + 2**30)),
        ]
        for code in (0, 1, 3, 13):
            for name, q in forged:
                send(icmp_pkt(SRC, DST, 3, code, 0, q))
        send(icmp_pkt(SRC, DST, 11, 0, 0, forged[2][1]))
        send(icmp_pkt(SRC, DST, 3, 4, 68, forged[2][1]))  # frag needed, forged: must not shrink the MSS
        r["alive_after_forged"] = c.echo(b"x" * 100)
        # Exact quotes of a real outstanding segment: let the stack send data we leave unacknowledged.
        send(c.pkt(P | A, payload=b"y" * 1400))
        c.snd_nxt = (c.snd_nxt + 1400) & 0xFFFFFFFF
        segs = [s for s in c.recv_segs(1.0) if s[3]]
        if segs:
            seq0 = segs[0][1]
            for code in (1, 3):
                send(icmp_pkt(SRC, DST, 3, code, 0, quote(port, c.sport, seq0)))
            # Frag needed with MTU 576 for the outstanding segment: it should come again, smaller. Sent three
            # times (a loaded link may drop one); retransmissions already on their way may still be full-sized,
            # so the judge is the size of the last ones.
            again = []
            for _ in range(3):
                send(icmp_pkt(SRC, DST, 3, 4, 576, quote(port, c.sport, seq0)))
                again += c.recv_segs(1.0)
            sizes = [len(s[3]) for s in again if s[3]]
            r["exact_frag_needed_resent_sizes"] = sizes
            r["exact_frag_needed_resent_max_payload"] = max(sizes or [0])
            r["exact_frag_needed_last_payload"] = sizes[-1] if sizes else 0
            # Back in sync: wait until the 1400 echoed bytes from seq0 are all seen (any segmentation), then ACK them.
            start = c.rcv_nxt
            have = set()
            pool = segs + again
            end = time.time() + 8
            while True:
                for _, sq, _, pl in pool:
                    off = (sq - start) & 0xFFFFFFFF
                    for k in range(len(pl)):
                        if off + k < 1400:
                            have.add(off + k)
                if len(have) >= 1400 or time.time() > end:
                    break
                pool = c.recv_segs(0.5)
            r["exact_resync"] = len(have) >= 1400
            if len(have) >= 1400:
                c.rcv_nxt = (start + 1400) & 0xFFFFFFFF
            send(c.pkt(A))
        r["alive_after_exact"] = c.echo(b"z" * 100)
        return r

    return with_conn(port, body)


def ack_flood(port, n):
    t0 = time.time()
    sent = 0
    for i in range(n):
        if send(tcp_pkt(SRC, DST, random.randint(1024, 65535), port, random.getrandbits(32), random.getrandbits(32), A)):
            sent += 1
        if time.time() - t0 > 30:
            break
    return {"sent": sent, "seconds": round(time.time() - t0, 2)}


def land(port, n):
    sent = 0
    for i in range(n):
        sent += send(tcp_pkt(DST, DST, port, port, random.getrandbits(32), 0, S))
        sent += send(tcp_pkt(DST, DST, 40000 + i % 1000, port, random.getrandbits(32), 0, S))
    return {"sent": sent}


def bcast(n):
    sent = 0
    for dst in ("10.77.0.255", "255.255.255.255"):
        for i in range(n):
            sent += send(udp_pkt(SRC, dst, 5000 + i % 100, 7, b"broadcast?"), dst)
            sent += send(udp_pkt(SRC, dst, 5000 + i % 100, 4444, b"closed?"), dst)
            sent += send(icmp_pkt(SRC, dst, 8, 0, (0x77 << 16) | i, b"ping?" * 8), dst)
            sent += send(tcp_pkt(SRC, dst, 6000 + i % 100, 7, i, 0, S), dst)
    # And from a broadcast source to the stack.
    for i in range(n):
        sent += send(udp_pkt("10.77.0.255", DST, 5000, 7, b"from broadcast"))
        sent += send(icmp_pkt("255.255.255.255", DST, 8, 0, i, b"x" * 16))
    return {"sent": sent}


def frag_flood(n):
    sent = 0
    base = random.randint(0, 0xFFFF)
    for i in range(n):
        body = bytes(8) + bytes(1472)
        sent += send(ip_hdr(SRC, DST, 1, len(body), ident=base + i, flags_frag=0x2000) + body)
    return {"sent": sent}


def frag_overlap(n):
    sent = 0
    base = random.randint(0, 0xFFFF)
    for i in range(n):
        ident = base + i
        echo = struct.pack("!BBHHH", 8, 0, 0, 0x4243, i & 0xFFFF) + bytes(range(256)) * 2
        echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
        # Teardrop-like: second fragment starts inside the first and ends before it.
        a = echo[:256]
        b = echo[128:200]
        c = echo[256:]
        sent += send(ip_hdr(SRC, DST, 1, len(a), ident=ident, flags_frag=0x2000) + a)
        sent += send(ip_hdr(SRC, DST, 1, len(b), ident=ident, flags_frag=0x2000 | (128 // 8)) + b)
        sent += send(ip_hdr(SRC, DST, 1, len(c), ident=ident, flags_frag=(256 // 8)) + c)
    return {"sent": sent}


def trickle(seconds, rate):
    """A low background of hostile packets of every kind (the soak's)."""
    end = time.time() + seconds
    sent = 0
    kinds = [
        lambda: send(tcp_pkt(SRC, DST, random.randint(1024, 65535), 7, random.getrandbits(32), random.getrandbits(32), A)),
        lambda: send(tcp_pkt(SRC, DST, random.randint(1024, 65535), 7, random.getrandbits(32), 0, S, opts=random.choice(list(BAD_OPTIONS.values())))),
        lambda: send(tcp_pkt(SRC, DST, random.randint(1024, 65535), 7, random.getrandbits(32), 0, R)),
        lambda: send(tcp_pkt(DST, DST, 7, 7, random.getrandbits(32), 0, S)),
        lambda: send(udp_pkt(SRC, DST, random.randint(1024, 65535), 4444, b"closed")),
        lambda: send(ip_hdr(SRC, DST, 1, 1480, ident=random.getrandbits(16), flags_frag=0x2000) + bytes(1480)),
        lambda: send(icmp_pkt(SRC, DST, 3, 3, 0, ip_hdr(DST, SRC, 6, 20) + tcp_seg(DST, SRC, 7, random.randint(1024, 65535), random.getrandbits(32), 0, A)[:8])),
        lambda: send(ip_hdr(SRC, DST, random.randint(0, 255), 8) + os.urandom(8)),
        lambda: send(udp_pkt(SRC, "10.77.0.255", 5000, 7, b"bcast"), "10.77.0.255"),
    ]
    interval = 1.0 / max(1, rate)
    nxt = time.time()
    while time.time() < end and sent < MAX_N:
        random.choice(kinds)()
        sent += 1
        nxt += interval
        d = nxt - time.time()
        if d > 0:
            time.sleep(d)
    return {"sent": sent}


random.seed(int(os.environ.get("HOSTILE_SEED", "0")) or None)
if CASE == "rfc5961":
    out(rfc5961(int(ARGS[0])))
elif CASE == "options":
    out(options(int(ARGS[0])))
elif CASE == "icmp-forged":
    out(icmp_forged(int(ARGS[0])))
elif CASE == "ack-flood":
    out(ack_flood(int(ARGS[0]), bounded(ARGS[1])))
elif CASE == "land":
    out(land(int(ARGS[0]), bounded(ARGS[1])))
elif CASE == "bcast":
    out(bcast(bounded(ARGS[0])))
elif CASE == "frag-flood":
    out(frag_flood(bounded(ARGS[0])))
elif CASE == "frag-overlap":
    out(frag_overlap(bounded(ARGS[0])))
elif CASE == "trickle":
    secs = float(ARGS[0])
    if not 0 < secs <= 86400:
        raise SystemExit("seconds out of range")
    out(trickle(secs, int(ARGS[1])))
else:
    raise SystemExit("unknown case " + CASE)
