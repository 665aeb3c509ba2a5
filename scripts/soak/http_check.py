#!/usr/bin/python3
"""HTTP checks against the stack's bundled server with a new connection per
request (the soak's "new connections" half; wrk does keep-alive): GET
/bytes?n=N compared with the server's pattern, POST /echo compared byte for
byte. Bounded by --duration; talks only to --dst. Prints one JSON object.
"""
import argparse
import http.client
import json
import os
import random
import time

p = argparse.ArgumentParser()
p.add_argument("--dst", required=True)
p.add_argument("--port", type=int, default=80)
p.add_argument("--duration", type=float, required=True)
p.add_argument("--interval", type=float, default=0.2)
p.add_argument("--timeout", type=float, default=20)
a = p.parse_args()
if not 0 < a.duration <= 86400:
    raise SystemExit("--duration out of range")

PATTERN = bytes(range(251))  # /bytes: byte i = i mod 251 (the peers' benchmark pattern)


def expected(n):
    return (PATTERN * (n // 251 + 1))[:n]


res = {"ok": 0, "fail": 0, "corrupt": 0, "bytes": 0, "errors": {}}
end = time.time() + a.duration
i = 0
while time.time() < end and i < 1_000_000:
    i += 1
    try:
        c = http.client.HTTPConnection(a.dst, a.port, timeout=a.timeout)
        if i % 2:
            n = random.choice([0, 1, 63, 64, 1000, 65536, 300000])
            c.request("GET", "/bytes?n=%d" % n, headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read()
            good = r.status == 200 and body == expected(n)
        else:
            body_out = os.urandom(random.choice([1, 100, 20000, 200000]))
            c.request("POST", "/echo", body=body_out, headers={"Connection": "close", "Content-Type": "application/octet-stream"})
            r = c.getresponse()
            body = r.read()
            good = r.status == 200 and body == body_out
        c.close()
        if good:
            res["ok"] += 1
            res["bytes"] += len(body)
        else:
            res["corrupt"] += 1
            res["errors"]["status-%d" % r.status] = res["errors"].get("status-%d" % r.status, 0) + 1
    except Exception as e:  # noqa: BLE001
        res["fail"] += 1
        k = type(e).__name__
        res["errors"][k] = res["errors"].get(k, 0) + 1
        time.sleep(0.2)
    time.sleep(a.interval)
print(json.dumps(res), flush=True)
