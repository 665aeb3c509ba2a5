#!/usr/bin/python3
"""Judges a soak run from its samples and results (scripts/soak.sh writes
them). Usage: analyze.py DIR WARMUP_S IMPAIRED(0|1). Prints a JSON summary
line and exits 1 when the run failed:

- any transfer's bytes differ (TCP echo, chargen, HTTP /bytes and /echo, pings, UDP);
- a legitimate operation failed and no impairment explains it;
- wrk saw socket errors or non-2xx responses;
- memory keeps growing after the warm-up: the least-squares RSS slope over
  the samples after WARMUP_S is > 2 MB/min and the median of the last third
  is above the median of the first third by more than max(16 MB, 20 %);
- timers or reassembly memory grow the same way;
- connections were left in a state other than LISTEN/TIME-WAIT after load stopped;
- the stack died or did not exit 0 on SIGTERM.
"""
import json
import os
import statistics
import sys

d, warm, impaired = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"


def load(name, default=None):
    try:
        with open(os.path.join(d, name)) as f:
            t = f.read().strip()
        return json.loads(t.splitlines()[-1]) if t else default
    except (OSError, ValueError, IndexError):
        return default


samples = []
with open(os.path.join(d, "samples.csv")) as f:
    next(f)
    for line in f:
        parts = line.strip().split(",")
        if len(parts) == 6 and parts[1]:
            # A gauge the control socket did not answer in time is missing (None), not zero.
            samples.append([float(x) if x else None for x in parts])

problems = []
legit = load("legit.json")
http = load("http.json")
wrk_txt = open(os.path.join(d, "wrk.txt")).read() if os.path.exists(os.path.join(d, "wrk.txt")) else ""
hostile = load("hostile.json", {})
left = load("left.json", {"left": -1})
stop = load("stop.json", {})
tun = load("tun.json", {}) or {}
tun_dropped = int(tun.get("to_stack_dropped", 0)) + int(tun.get("from_stack_dropped", 0))

if legit is None:
    problems.append("legit.py gave no result")
else:
    for k in ("tcp", "chargen"):
        if legit[k]["corrupt"]:
            problems.append("%s: %d transfers differed" % (k, legit[k]["corrupt"]))
    if legit["ping"]["bad"] or legit["udp"]["bad"]:
        problems.append("echo replies altered")
    if not impaired:
        lost = (legit["ping"]["sent"] - legit["ping"]["recv"] - legit["ping"].get("damaged", 0)) + (legit["udp"]["sent"] - legit["udp"]["recv"])
        failed = legit["tcp"]["fail"] + legit["chargen"]["fail"]
        # Echoes lost are explained only by packets the kernel's TUN queue dropped (counted by the kernel, not the stack).
        if failed or lost > tun_dropped:
            problems.append("legitimate operations failed without an impairment (%d transfers failed, %d echoes lost, TUN dropped %d): %s" % (failed, lost, tun_dropped, json.dumps(legit)))
if http is not None:
    if http["corrupt"]:
        problems.append("HTTP: %d responses differed" % http["corrupt"])
    if not impaired and http["fail"]:
        problems.append("HTTP: %d requests failed: %s" % (http["fail"], http["errors"]))
wrk = {}
if wrk_txt:
    import re
    m = re.search(r"(\d+) requests in", wrk_txt)
    wrk["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", wrk_txt)
    wrk["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk_txt)
    wrk["non2xx"] = int(m.group(1)) if m else 0
    if wrk["requests"] == 0:
        problems.append("wrk made no request")
    if not impaired and (wrk["socket_errors"] or wrk["non2xx"]):
        problems.append("wrk: %d socket errors, %d non-2xx" % (wrk["socket_errors"], wrk["non2xx"]))


def slope_mb_per_min(xs):
    if len(xs) < 3:
        return 0.0
    t = [x[0] for x in xs]
    y = [x[1] / 1024.0 for x in xs]
    mt, my = statistics.fmean(t), statistics.fmean(y)
    den = sum((a - mt) ** 2 for a in t)
    return 0.0 if den == 0 else sum((a - mt) * (b - my) for a, b in zip(t, y)) / den * 60.0


after = [s for s in samples if s[0] >= warm]
growth = {}
# Bounded by objects at every sample: a few timers per connection, one per datagram in reassembly, some global ones.
for s_ in samples:
    if s_[2] is None or s_[3] is None or s_[4] is None:
        continue
    if s_[2] > 8 * s_[4] + 1024 + 64:
        problems.append("timers (%d) beyond what %d connections explain at t=%ds" % (s_[2], s_[4], s_[0]))
        break
    if s_[3] > 4 * 1024 * 1024:
        problems.append("reassembly memory %d over its 4 MiB cap at t=%ds" % (s_[3], s_[0]))
        break
if len(after) >= 6:
    third = len(after) // 3
    # Connection-driven levels (TIME-WAIT lasts 60 s, reassembly 30 s) only settle after a warm-up of 90 s or more.
    cols = [(1, "rss", 16 * 1024)] + ([(2, "timers", 64), (3, "reasm_bytes", 512 * 1024), (4, "tcp_conns", 32)] if warm >= 90 else [])
    for col, name, floor in cols:
        firsts = [s[col] for s in after[:third] if s[col] is not None]
        lasts = [s[col] for s in after[-third:] if s[col] is not None]
        if not firsts or not lasts:
            continue
        first = statistics.median(firsts)
        last = statistics.median(lasts)
        growth[name] = {"first": first, "last": last}
        grew = last - first > max(floor, 0.2 * first)
        if col == 1:
            sl = slope_mb_per_min([(s[0], s[1]) for s in after if s[1] is not None])
            growth["rss"]["slope_mb_per_min"] = round(sl, 2)
            if grew and sl > 2.0:
                problems.append("RSS keeps growing after warm-up: %.0f → %.0f MB (%.2f MB/min)" % (first / 1024, last / 1024, sl))
        elif grew:
            problems.append("%s keeps growing after warm-up: %s → %s" % (name, first, last))
else:
    problems.append("too few samples after the warm-up (%d): run longer than the warm-up" % len(after))

if left.get("left", -1) != 0:
    problems.append("connections left after load stopped: %s" % json.dumps(left))
if stop.get("code") != 0:
    problems.append("the stack did not exit 0 on SIGTERM: %s" % json.dumps(stop))

rss = [s[1] for s in samples if s[1] is not None]
summary = {
    "ok": not problems,
    "problems": problems,
    "samples": len(samples),
    "rss_mb": {"first": round(rss[0] / 1024, 1) if rss else 0, "peak": round(max(rss) / 1024, 1) if rss else 0, "last": round(rss[-1] / 1024, 1) if rss else 0},
    "growth_after_warmup": growth,
    "legit": legit,
    "http": http,
    "wrk": wrk,
    "hostile": hostile,
    "left": left,
    "stop": stop,
    "tun": tun,
}
print(json.dumps(summary), flush=True)
sys.exit(0 if not problems else 1)
