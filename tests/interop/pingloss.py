#!/usr/bin/env python3
"""Loss per pinger between two instants, from `ping -n -D -O -i INTERVAL` output files.

    pingloss.py DIR T0 T1 [--pairs "SRC.DST ..."] [--interval 0.2] [--json]
    pingloss.py DIR T0 now --quiet     seconds since the last lost request (any pair)

DIR holds one file per pinger, named SRC.DST (interop.bash: pingers_start). T0 and T1 are
Unix times ("now" = the current time). A request counts when it was sent in [T0, T1] and
at least 1.5 s before the end of its file (later ones may still be in flight). It is lost
when no reply ("bytes from ... icmp_seq=N") came for it at all: -O prints "no answer yet
for icmp_seq=N" one interval after an unanswered request, and a late reply still counts.
Requests absent from the file (ping could not send them) are lost too; their send time
is interpolated between their neighbours.

Output, one line per pair: SRC.DST sent lost longest-outage-seconds first-loss last-loss
(seconds after T0, "-" when nothing was lost); --json prints the same as a JSON object.
"""
import json
import os
import re
import sys
import time

LINE = re.compile(r"^\[(\d+\.\d+)\] (.*)$")
SEQ = re.compile(r"icmp_seq=(\d+)")
RTT = re.compile(r"time=([\d.]+) ms")


def parse(path, interval):
    """Returns ({seq: send time}, {seq answered}, time of the last line)."""
    sent, answered, last = {}, set(), 0.0
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line.strip())
            if not m:
                continue
            ts, rest = float(m.group(1)), m.group(2)
            last = max(last, ts)
            s = SEQ.search(rest)
            if not s:
                continue
            seq = int(s.group(1))
            if "bytes from" in rest:
                answered.add(seq)
                r = RTT.search(rest)
                t = ts - (float(r.group(1)) / 1000.0 if r else 0.0)
            elif rest.startswith("no answer yet"):
                t = ts - interval
            else:  # an ICMP error ("From ... icmp_seq=N Destination Host Unreachable")
                t = ts - interval
            sent[seq] = min(sent.get(seq, t), t)
    if sent:
        # Requests ping never reported (e.g. sendmsg failed): between their neighbours.
        known = sorted(sent)
        for a, b in zip(known, known[1:]):
            for k in range(a + 1, b):
                sent[k] = sent[a] + (sent[b] - sent[a]) * (k - a) / (b - a)
    return sent, answered, last


def analyse(path, t0, t1, interval):
    sent, answered, last = parse(path, interval)
    cutoff = min(t1, last - 1.5)
    window = sorted(k for k, t in sent.items() if t0 <= t <= cutoff)
    lost = [k for k in window if k not in answered]
    longest = run = 0
    prev = None
    for k in lost:
        run = run + 1 if prev is not None and k == prev + 1 else 1
        longest = max(longest, run)
        prev = k
    return {
        "sent": len(window),
        "lost": len(lost),
        "longest_s": round(longest * interval, 1),
        "first_loss": round(sent[lost[0]] - t0, 1) if lost else None,
        "last_loss": round(sent[lost[-1]] - t0, 1) if lost else None,
        "last_loss_time": sent[lost[-1]] if lost else None,
    }


def main(argv):
    args, opts = [], {"pairs": None, "interval": 0.2, "json": False, "quiet": False}
    it = iter(argv[1:])
    for a in it:
        if a == "--pairs":
            opts["pairs"] = next(it).split()
        elif a == "--interval":
            opts["interval"] = float(next(it))
        elif a == "--json":
            opts["json"] = True
        elif a == "--quiet":
            opts["quiet"] = True
        else:
            args.append(a)
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    d = args[0]
    t0, t1 = (time.time() if a == "now" else float(a) for a in args[1:3])
    pairs = opts["pairs"] or sorted(f for f in os.listdir(d) if "." in f and not f.startswith("."))
    res = {p: analyse(os.path.join(d, p), t0, t1, opts["interval"]) for p in pairs if os.path.exists(os.path.join(d, p))}
    if opts["quiet"]:
        last = max([r["last_loss_time"] for r in res.values() if r["last_loss_time"]] or [t0])
        print("%.1f" % (time.time() - last))
        return 0
    if opts["json"]:
        print(json.dumps(res, sort_keys=True))
        return 0
    for p, r in res.items():
        print("%-13s sent %4d lost %3d longest %5.1fs first %5s last %5s" % (
            p, r["sent"], r["lost"], r["longest_s"],
            "-" if r["first_loss"] is None else "%.1f" % r["first_loss"],
            "-" if r["last_loss"] is None else "%.1f" % r["last_loss"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
