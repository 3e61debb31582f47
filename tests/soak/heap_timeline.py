#!/usr/bin/env python3
"""Heap in use over time, from a heaptrack recording of a kg.

    heaptrack_print -f heaptrack.kg.PID.zst -M kg.massif >/dev/null
    tests/soak/heap_timeline.py kg.massif [MINUTES_PER_ROW] [--until=SECONDS]

Prints, for each MINUTES_PER_ROW (default 5) of the recording, the lowest and
the highest heap in use of that interval (bytes the program holds from
malloc/new, heaptrack's count, not RSS; the lowest is the heap between two
reconciles), and the least-squares slope of the lowest values after the first
interval. Attached to a
running process (heaptrack -p), heaptrack counts only what was allocated after
the attach: the heap rises while the state from before the attach is replaced,
then levels off unless something accumulates. The last snapshots of a recording that ends with the agent's exit
show its teardown: pass --until=SECONDS to stop before it.
"""
import re
import sys


def snapshots(path):
    t = None
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith("time="):
            t = float(line[5:])
        elif line.startswith("mem_heap_B=") and t is not None:
            yield t, int(line[11:])
            t = None


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    until = None
    for a in argv[1:]:
        if a.startswith("--"):
            m = re.fullmatch(r"--until=(\d+(?:\.\d+)?)", a)
            if not m:
                print(f"unknown option {a} (only --until=SECONDS)", file=sys.stderr)
                return 2
            until = float(m.group(1))
    if not args or len(args) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    step = float(args[1]) * 60 if len(args) > 1 else 300.0
    points = [(t, b) for t, b in snapshots(args[0]) if until is None or t <= until]
    if len(points) < 2:
        print(f"{args[0]}: fewer than 2 snapshots", file=sys.stderr)
        return 1
    rows = {}
    for t, b in points:
        k = int(t // step)
        lo, hi = rows.get(k, (None, None))
        rows[k] = (b if lo is None else min(lo, b), b if hi is None else max(hi, b))
    print(f"{'minutes':>11} {'lowest heap (B)':>16} {'change (B)':>11} {'highest (B)':>12}")
    prev = None
    for k in sorted(rows):
        lo, hi = rows[k]
        span = f"{k * step / 60:g}-{(k + 1) * step / 60:g}"
        print(f"{span:>11} {lo:16,d} {'' if prev is None else f'{lo - prev:+,d}':>11} {hi:12,d}")
        prev = lo
    # The first interval holds the attach (the heap rising from 0): left out.
    keys = sorted(rows)[1:] if len(rows) > 2 else sorted(rows)
    xs = [(k + 0.5) * step for k in keys]
    ys = [rows[k][0] for k in keys]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var if var else 0.0
    print(f"snapshots {len(points)}, intervals {len(rows)}, slope of the lowest heap after the first "
          f"{slope * 600:+,.0f} B per 10 min")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
