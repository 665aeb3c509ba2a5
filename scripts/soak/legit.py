#!/usr/bin/python3
"""Legitimate traffic against a tunstack instance, with integrity checks.

Run inside the test's network namespace only; every loop is bounded by
--duration (and each operation by its own timeout); it talks only to --dst.

  legit.py --dst 10.77.0.2 --duration 10 [--tcp-workers 4] [--tcp-bytes 65536]
           [--chargen-bytes 0] [--ping-interval 0.1] [--udp-interval 0.1]
           [--op-timeout 20] [--port 7]

TCP: each worker loops connect → send N random bytes to the echo service
while reading the echo → compare sha256 → close. Chargen (port 19): read N
bytes, compare with RFC 864's pattern. ICMP: echo requests with a random
payload over a raw socket, the reply's payload compared. UDP: datagrams to
the echo service, compared.

Prints one JSON object on stdout at the end:
  {"tcp": {"ok", "fail", "corrupt", "bytes", "errors": {...}},
   "chargen": {...}, "ping": {"sent", "recv", "bad"}, "udp": {"sent", "recv", "bad"},
   "ok": <all legitimate operations succeeded and nothing was corrupt>}
A transfer that completes with different bytes is "corrupt" (bytes lost or
altered); one that fails (timeout, reset, refused) is "fail" with its error.
"""
import argparse
import hashlib
import json
import os
import socket
import struct
import threading
import time

p = argparse.ArgumentParser()
p.add_argument("--dst", required=True)
p.add_argument("--duration", type=float, required=True)
p.add_argument("--tcp-workers", type=int, default=2)
p.add_argument("--tcp-bytes", type=int, default=65536)
p.add_argument("--chargen-bytes", type=int, default=0)
p.add_argument("--chargen-workers", type=int, default=1)
p.add_argument("--ping-interval", type=float, default=0.1)
p.add_argument("--udp-interval", type=float, default=0.1)
p.add_argument("--op-timeout", type=float, default=20.0)
p.add_argument("--port", type=int, default=7)
p.add_argument("--max-ops", type=int, default=100000, help="upper bound on operations per worker")
a = p.parse_args()

if a.duration <= 0 or a.duration > 24 * 3600:
    raise SystemExit("--duration must be in (0, 86400]")

END = time.time() + a.duration
lock = threading.Lock()
res = {
    "tcp": {"ok": 0, "fail": 0, "corrupt": 0, "bytes": 0, "errors": {}},
    "chargen": {"ok": 0, "fail": 0, "corrupt": 0, "bytes": 0, "errors": {}},
    "ping": {"sent": 0, "recv": 0, "bad": 0},
    "udp": {"sent": 0, "recv": 0, "bad": 0},
}


def err_name(e):
    if isinstance(e, socket.timeout):
        return "timeout"
    if isinstance(e, OSError) and e.errno is not None:
        import errno
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


def note_fail(kind, e):
    with lock:
        res[kind]["fail"] += 1
        n = err_name(e)
        res[kind]["errors"][n] = res[kind]["errors"].get(n, 0) + 1


def tcp_echo_once():
    data = os.urandom(a.tcp_bytes)
    want = hashlib.sha256(data).hexdigest()
    s = socket.create_connection((a.dst, a.port), timeout=a.op_timeout)
    try:
        s.settimeout(a.op_timeout)
        got = hashlib.sha256()
        received = [0]
        failure = []

        def reader():
            try:
                while received[0] < len(data):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got.update(chunk)
                    received[0] += len(chunk)
            except Exception as e:  # noqa: BLE001
                failure.append(e)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        view = memoryview(data)
        off = 0
        while off < len(data):
            off += s.send(view[off:off + 16384])
        t.join(a.op_timeout + 1)
        if t.is_alive():
            raise socket.timeout()
        if failure:
            raise failure[0]
        if received[0] != len(data):
            raise ConnectionError("short echo: %d of %d" % (received[0], len(data)))
        s.shutdown(socket.SHUT_WR)
        return got.hexdigest() == want, len(data)
    finally:
        s.close()


def chargen_pattern(n):
    line_len = 74
    out = bytearray()
    i = 0
    while len(out) < n:
        out += bytes(32 + ((i + k) % 95) for k in range(72)) + b"\r\n"
        i += 1
    return bytes(out[:n])


def chargen_once(expected):
    s = socket.create_connection((a.dst, 19), timeout=a.op_timeout)
    try:
        s.settimeout(a.op_timeout)
        buf = bytearray()
        while len(buf) < len(expected):
            chunk = s.recv(min(65536, len(expected) - len(buf)))
            if not chunk:
                raise ConnectionError("chargen closed early")
            buf += chunk
        return bytes(buf) == expected, len(buf)
    finally:
        s.close()


def tcp_worker():
    for _ in range(a.max_ops):
        if time.time() >= END:
            return
        try:
            same, n = tcp_echo_once()
            with lock:
                if same:
                    res["tcp"]["ok"] += 1
                    res["tcp"]["bytes"] += n
                else:
                    res["tcp"]["corrupt"] += 1
        except Exception as e:  # noqa: BLE001
            note_fail("tcp", e)
            time.sleep(0.2)


def chargen_worker():
    expected = chargen_pattern(a.chargen_bytes)
    for _ in range(a.max_ops):
        if time.time() >= END:
            return
        try:
            same, n = chargen_once(expected)
            with lock:
                if same:
                    res["chargen"]["ok"] += 1
                    res["chargen"]["bytes"] += n
                else:
                    res["chargen"]["corrupt"] += 1
        except Exception as e:  # noqa: BLE001
            note_fail("chargen", e)
            time.sleep(0.2)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping_worker():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(0.05)
    ident = os.getpid() & 0xFFFF
    outstanding = {}
    seq = 0
    next_send = time.time()
    while time.time() < END + 1.0:
        now = time.time()
        if now < END and now >= next_send and seq < a.max_ops:
            seq += 1
            payload = os.urandom(56)
            hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq & 0xFFFF)
            pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, seq & 0xFFFF) + payload
            s.sendto(pkt, (a.dst, 0))
            outstanding[seq & 0xFFFF] = payload
            with lock:
                res["ping"]["sent"] += 1
            next_send = now + a.ping_interval
        try:
            r = s.recv(2048)
        except socket.timeout:
            continue
        hl = (r[0] & 15) * 4
        if r[hl] != 0 or struct.unpack("!H", r[hl + 4:hl + 6])[0] != ident:
            continue
        if csum(r[hl:]) != 0:
            # Raw sockets see replies before the kernel checks their checksum: damaged in transit, not by the stack.
            with lock:
                res["ping"]["damaged"] = res["ping"].get("damaged", 0) + 1
            continue
        q = struct.unpack("!H", r[hl + 6:hl + 8])[0]
        if q in outstanding:
            ok = r[hl + 8:] == outstanding.pop(q)
            with lock:
                res["ping"]["recv" if ok else "bad"] += 1
    s.close()


def udp_worker():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    s.settimeout(0.05)
    outstanding = {}
    n = 0
    next_send = time.time()
    while time.time() < END + 1.0:
        now = time.time()
        if now < END and now >= next_send and n < a.max_ops:
            n += 1
            payload = struct.pack("!I", n) + os.urandom(60)
            s.sendto(payload, (a.dst, 7))
            outstanding[n] = payload
            with lock:
                res["udp"]["sent"] += 1
            next_send = now + a.udp_interval
        try:
            r = s.recv(2048)
        except (socket.timeout, ConnectionRefusedError):
            continue
        if len(r) >= 4:
            k = struct.unpack("!I", r[:4])[0]
            if k in outstanding:
                ok = r == outstanding.pop(k)
                with lock:
                    res["udp"]["recv" if ok else "bad"] += 1
    s.close()


threads = [threading.Thread(target=tcp_worker, daemon=True) for _ in range(a.tcp_workers)]
if a.chargen_bytes > 0:
    threads += [threading.Thread(target=chargen_worker, daemon=True) for _ in range(a.chargen_workers)]
if a.ping_interval > 0:
    threads.append(threading.Thread(target=ping_worker, daemon=True))
if a.udp_interval > 0:
    threads.append(threading.Thread(target=udp_worker, daemon=True))
for t in threads:
    t.start()
# One deadline for all: an operation started just before END may take op_timeout (plus a little) to finish.
DEADLINE = END + a.op_timeout + 5
for t in threads:
    t.join(max(0.0, DEADLINE - time.time()))

r = res
r["ok"] = (r["tcp"]["fail"] == 0 and r["tcp"]["corrupt"] == 0 and r["chargen"]["fail"] == 0 and r["chargen"]["corrupt"] == 0
           and r["ping"]["bad"] == 0 and r["udp"]["bad"] == 0 and r["ping"]["recv"] == r["ping"]["sent"] and r["udp"]["recv"] == r["udp"]["sent"])
print(json.dumps(r), flush=True)
