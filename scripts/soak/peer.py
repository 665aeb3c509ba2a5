#!/usr/bin/python3
"""Misbehaving (but legitimate) peers for the fault suite. Run inside the
test's network namespace only; every case is bounded in time. Each prints
one JSON object.

  peer.py DST never-reads SECONDS BYTES   connect to chargen (19), read nothing for SECONDS
                                          (the stack meets a zero window), then read BYTES and
                                          check them against RFC 864's pattern
  peer.py DST app-stops SECONDS BYTES     send BYTES to echo (7) without reading for SECONDS:
                                          the echo application blocks on its writes, stops
                                          reading, the stack's receive window closes; then read
                                          everything back and compare sha256
  peer.py DST vanish BYTES PORTFILE       read BYTES of chargen, write the local port to PORTFILE,
                                          keep reading until killed (the test makes the host vanish)
  peer.py DST transfer BYTES TIMEOUT [SPREAD]  one echo transfer of BYTES with a long timeout, writes
                                          paced over SPREAD seconds (to span an outage); prints
                                          sha256 match and seconds
"""
import hashlib
import json
import os
import socket
import sys
import threading
import time

DST = sys.argv[1]
CASE = sys.argv[2]
A = sys.argv[3:]


def chargen_pattern(n):
    out = bytearray()
    i = 0
    while len(out) < n:
        out += bytes(32 + ((i + k) % 95) for k in range(72)) + b"\r\n"
        i += 1
    return bytes(out[:n])


def read_exact(s, n, timeout):
    s.settimeout(timeout)
    buf = bytearray()
    while len(buf) < n:
        c = s.recv(min(1 << 20, n - len(buf)))
        if not c:
            break
        buf += c
    return bytes(buf)


def never_reads(secs, n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect((DST, 19))
    time.sleep(secs)
    data = read_exact(s, n, 30)
    s.close()
    return {"read": len(data), "pattern_ok": data == chargen_pattern(n)}


def app_stops(secs, n):
    data = os.urandom(n)
    # Small kernel buffers on our side (set before connect), so what the stall lets through is mostly the stack's own queues.
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    s.settimeout(30)
    s.connect((DST, 7))
    sent = [0]
    err = []

    def writer():
        try:
            s.settimeout(secs + 60)
            v = memoryview(data)
            while sent[0] < n:
                sent[0] += s.send(v[sent[0]:sent[0] + 65536])
        except Exception as e:  # noqa: BLE001
            err.append(repr(e))

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    time.sleep(secs)
    sent_while_stalled = sent[0]
    got = read_exact(s, n, 60)
    t.join(5)
    s.close()
    return {"sent_while_stalled": sent_while_stalled, "sent": sent[0], "read": len(got), "sha256_ok": hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), "errors": err}


def vanish(n, portfile):
    """Reads chargen (the stack sending flat out) until n bytes arrived, writes its port, keeps reading until killed."""
    s = socket.create_connection((DST, 19), timeout=10)
    s.settimeout(3600)
    got = 0
    while got < n:
        c = s.recv(65536)
        if not c:
            break
        got += len(c)
    with open(portfile, "w") as f:
        f.write(str(s.getsockname()[1]))
    print(json.dumps({"read": got}), flush=True)
    end = time.time() + 3600
    while time.time() < end:
        if not s.recv(65536):
            break


def transfer(n, timeout, spread=0.0):
    """One echo transfer; with `spread` > 0 the writes are paced over that many seconds (to span an outage)."""
    data = os.urandom(n)
    t0 = time.time()
    s = socket.create_connection((DST, 7), timeout=timeout)
    got = [b""]
    err = []

    def reader():
        try:
            got[0] = read_exact(s, n, timeout)
        except Exception as e:  # noqa: BLE001
            err.append(repr(e))

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    s.settimeout(timeout)
    try:
        if spread > 0:
            step = 64 * 1024
            chunks = max(1, n // step)
            for i in range(0, n, step):
                s.sendall(data[i:i + step])
                time.sleep(spread / chunks)
        else:
            s.sendall(data)
    except Exception as e:  # noqa: BLE001
        err.append(repr(e))
    t.join(timeout + 1)
    s.close()
    return {"read": len(got[0]), "sha256_ok": hashlib.sha256(got[0]).digest() == hashlib.sha256(data).digest(), "seconds": round(time.time() - t0, 2), "errors": err}


def bounded_secs(x):
    x = float(x)
    if not 0 <= x <= 3600:
        raise SystemExit("seconds out of range")
    return x


def bounded_bytes(x):
    x = int(x)
    if not 0 < x <= 1 << 30:
        raise SystemExit("bytes out of range")
    return x


if CASE == "never-reads":
    print(json.dumps(never_reads(bounded_secs(A[0]), bounded_bytes(A[1]))), flush=True)
elif CASE == "app-stops":
    print(json.dumps(app_stops(bounded_secs(A[0]), bounded_bytes(A[1]))), flush=True)
elif CASE == "vanish":
    vanish(bounded_bytes(A[0]), A[1])
elif CASE == "transfer":
    print(json.dumps(transfer(bounded_bytes(A[0]), bounded_secs(A[1]), bounded_secs(A[2]) if len(A) > 2 else 0.0)), flush=True)
else:
    raise SystemExit("unknown case " + CASE)
