#!/usr/bin/env python3
"""Summary of a soak run (tests/soak/soak.sh): summary.py STATE "STABLE NODES" "SRC:DST ..."

Reads STATE/{samples,churn,crashes,loadavg}.csv, STATE/ping/SRC.DST, STATE/final-mesh and
prints the report; the exit status is 1 when a bound is exceeded (see README.md).
"""
import collections
import csv
import os
import re
import sys

MAX_RSS_GROWTH_KIB = float(os.environ.get("SOAK_MAX_RSS_GROWTH_KIB", "1024"))
MAX_LOSS_PCT = float(os.environ.get("SOAK_MAX_LOSS_PCT", "1"))
MAX_TOTAL_LOSS_PCT = float(os.environ.get("SOAK_MAX_TOTAL_LOSS_PCT", "5"))
LEADER_WINDOW_S = 10.0  # loss this long after a leader move is attributed to the move

state, stable, pairs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
t0 = float(open(os.path.join(state, "t0")).read())
failures = []


def rows(name):
    path = os.path.join(state, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def slope_per_10min(pts):
    """Least-squares slope of (t s, rss KiB), in KiB per 10 minutes."""
    if len(pts) < 3:
        return 0.0
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mr = sum(r for _, r in pts) / n
    den = sum((t - mt) ** 2 for t, _ in pts)
    if den == 0:
        return 0.0
    return sum((t - mt) * (r - mr) for t, r in pts) / den * 600


samples = rows("samples.csv")
churn = rows("churn.csv")
crashes = rows("crashes.csv")
t_end = max([float(r["ts"]) for r in samples] + [t0])
duration = t_end - t0
print(f"soak summary ({duration / 60:.1f} min of churn, state {state})")
la = rows("loadavg.csv")
try:
    la_start = open(os.path.join(state, "loadavg.start")).read().split()
    la_end = open(os.path.join(state, "loadavg.end")).read().split()
except OSError:
    la_start = la_end = ["?"] * 3
if la:
    l1 = [float(r["load1"]) for r in la]
    print(f"load average (1 min): start {la_start[0]}, during min {min(l1):.2f} / "
          f"mean {sum(l1) / len(l1):.2f} / max {max(l1):.2f}, end {la_end[0]} (2 cores, shared machine)")

# ------------------------------------------------------------------ RSS, per kg process
print("\n== kg RSS (VmRSS, KiB), sampled every 10 s ==")
procs = collections.OrderedDict()  # (node, pid) -> [(t, rss, row)]
for r in samples:
    if r["pid"] == "-" or r["rss_kib"] in ("-", ""):
        continue
    procs.setdefault((r["node"], r["pid"]), []).append((float(r["ts"]) - t0, int(r["rss_kib"]), r))
warm = max(60.0, 0.1 * duration)  # warm-up excluded from the growth check


def half_growth(points):
    """Max of the second half minus max of the first half of [(t, value)] (0 if < 4)."""
    if len(points) < 4:
        return 0
    mid = (points[0][0] + points[-1][0]) / 2
    return max(v for t, v in points if t > mid) - max(v for t, v in points if t <= mid)


def stable_procs():
    """(node, pid, points) of the stable agents, in the order of `stable`."""
    for n in stable:
        for (node, pid), pts in procs.items():
            if node == n:
                yield n, pid, pts


print(f"{'node':7} {'pid':>8} {'samples':>7} {'first':>7} {'last':>7} {'max':>7} "
      f"{'slope/10min':>11} {'growth':>7}  (growth = max of 2nd half - max of 1st half after {warm:.0f} s warm-up)")
for n, pid, pts in stable_procs():
    rs = [p[1] for p in pts]
    after = [(t, r) for t, r, _ in pts if t >= warm]
    growth = half_growth(after)
    sl = slope_per_10min(after if len(after) >= 3 else [(t, r) for t, r, _ in pts])
    flag = ""
    if growth > MAX_RSS_GROWTH_KIB:
        flag = "  <-- exceeds bound"
        failures.append(f"kg RSS on {n} grew {growth:.0f} KiB (> {MAX_RSS_GROWTH_KIB:.0f})")
    print(f"{n:7} {pid:>8} {len(pts):7} {rs[0]:7} {rs[-1]:7} {max(rs):7} {sl:+11.0f} {growth:+7.0f}{flag}")
# The two parts of VmRSS: anonymous memory (heap, stacks) and file pages (the
# binary's and the libraries' code and data, resident as they are used).
if samples and "rss_anon_kib" in samples[0]:
    print(f"\nparts of VmRSS after the warm-up, KiB: anonymous (heap, stacks) / file (code of kg and its libraries)")
    print(f"{'node':7} {'anon first':>10} {'anon last':>9} {'anon min':>8} {'anon max':>8} {'anon growth':>11} "
          f"{'file first':>10} {'file last':>9}")
    for n, pid, pts in stable_procs():
        part = [(t, int(r["rss_anon_kib"]), int(r["rss_file_kib"])) for t, _, r in pts
                if t >= warm and r.get("rss_anon_kib", "-") not in ("-", "", None)
                and r.get("rss_file_kib", "-") not in ("-", "", None)]
        if len(part) < 4:
            continue
        an = [a for _, a, _ in part]
        g = half_growth([(t, a) for t, a, _ in part])
        print(f"{n:7} {an[0]:10} {an[-1]:9} {min(an):8} {max(an):8} {g:+11} {part[0][2]:10} {part[-1][2]:9}")
churned = collections.defaultdict(list)
for (node, pid), pts in procs.items():
    if node not in stable:
        churned[node].append(pts)
for n, lives in sorted(churned.items()):
    allr = [p[1] for pts in lives for p in pts]
    longest = max(lives, key=len)
    print(f"{n:7} {len(lives)} kg processes (churned): RSS min {min(allr)} max {max(allr)}; longest life "
          f"{longest[-1][0] - longest[0][0]:.0f} s: first {longest[0][1]} last {longest[-1][1]}")

# ------------------------------------------------------------------ reconciles, errors
print("\n== reconciles and kilo_errors_total (sum over every kg process, last value of each) ==")
reconciles = 0
errors = collections.Counter()
per_node_err = collections.Counter()
for (node, pid), pts in procs.items():
    last = None
    for _, _, r in pts:
        if r["reconciles"] not in ("-", ""):
            last = r
    if last is None:
        continue
    reconciles += int(float(last["reconciles"]))
    for kv in filter(None, last["errors_by_event"].split(";")):
        k, v = kv.split("=")
        errors[k] += int(float(v))
        per_node_err[node] += int(float(v))
print(f"reconciles: {reconciles}")
print("errors by event: " + (", ".join(f"{k}={v}" for k, v in sorted(errors.items())) or "none"))
if per_node_err:
    print("errors by node: " + ", ".join(f"{k}={v}" for k, v in sorted(per_node_err.items())))
# error-level log lines
logdir = os.path.join(state, "cluster", "logs")
levels = collections.Counter()
msgs = collections.Counter()
for f in sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []:
    if not f.endswith(".kg.log"):
        continue
    for line in open(os.path.join(logdir, f), errors="replace"):
        m = re.search(r"\blevel=(\w+)", line)
        if not m or m.group(1) not in ("error", "warn", "warning"):
            continue
        levels[m.group(1)] += 1
        mm = re.search(r'\bmsg=("(?:[^"\\]|\\.)*"|\S+)', line)
        msgs[(m.group(1), mm.group(1)[:90] if mm else line[:90])] += 1
print("kg log lines: " + (", ".join(f"level={k}: {v}" for k, v in sorted(levels.items())) or "no warn/error"))
for (lvl, msg), c in msgs.most_common(12):
    print(f"  {c:6}  {lvl:5} {msg}")

# ------------------------------------------------------------------ crashes
print("\n== kg crashes / restarts not done by the soak ==")
if crashes:
    for c in crashes:
        print(f"  {float(c['ts']) - t0:7.0f} s  {c['node']}: pid {c['expected_pid']} gone")
    failures.append(f"{len(crashes)} kg crash(es)")
else:
    print("  none (every stable kg kept its PID; every churned kg lived until the soak stopped it)")
for n in stable:
    pids = {pid for (node, pid) in procs if node == n}
    if len(pids) > 1:
        print(f"  {n}: {len(pids)} different PIDs: {sorted(pids)}")

# ------------------------------------------------------------------ churn
print("\n== churn actions ==")
kinds = collections.Counter(c["action"] for c in churn)
bad = [c for c in churn if "FAILED" in c["result"]]
print(f"total {len(churn)} in {duration / 60:.1f} min: " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
if bad:
    print(f"  {len(bad)} actions whose kubectl failed:")
    for c in bad[:10]:
        print(f"    {float(c['ts']) - t0:7.0f} s {c['action']} {c['target']}: {c['result']}")
leader_moves = [float(c["ts"]) for c in churn if c["action"] in ("leader_on", "leader_off")]

# ------------------------------------------------------------------ ping
print(f"\n== ping between stable pods (5/s, -W 1); 'outside' = not within {LEADER_WINDOW_S:.0f} s after a leader move ==")
print(f"{'pair':14} {'sent':>6} {'lost':>5} {'loss%':>6} {'lost outside':>12} {'outside%':>8}  bursts")
all_bursts = []
for p in pairs:
    s, d = p.split(":")
    path = os.path.join(state, "ping", f"{s}.{d}")
    if not os.path.exists(path):
        print(f"{s}->{d}: no ping output")
        failures.append(f"no ping output for {s}->{d}")
        continue
    replied, noans_t, seq_t = set(), {}, {}
    sent = None
    for line in open(path, errors="replace"):
        m = re.match(r"\[(\d+\.\d+)\] .*icmp_seq=(\d+)", line)
        if m:
            t, q = float(m.group(1)), int(m.group(2))
            if "no answer yet" in line:
                noans_t.setdefault(q, t)
            elif "bytes from" in line:
                replied.add(q)
                seq_t.setdefault(q, t)
        m = re.match(r"(\d+) packets transmitted", line)
        if m:
            sent = int(m.group(1))
    seqs = set(replied) | set(noans_t)
    if sent is None:
        sent = max(seqs) if seqs else 0
    lost = [q for q in range(1, sent + 1) if q not in replied]
    # the last packet may have been in flight when ping was stopped
    if lost and lost[-1] == sent and sent not in noans_t:
        lost.pop()
        sent -= 1
    first_t = min(list(seq_t.values()) + list(noans_t.values()) or [t0])
    first_q = min(seqs) if seqs else 1

    def when(q):
        return noans_t.get(q, first_t + (q - first_q) * 0.2)
    outside = [q for q in lost if not any(0 <= when(q) - lt <= LEADER_WINDOW_S for lt in leader_moves)]
    bursts = []
    for q in lost:
        if bursts and q == bursts[-1][1] + 1:
            bursts[-1][1] = q
        else:
            bursts.append([q, q])
    loss = 100.0 * len(lost) / sent if sent else 100.0
    out_pct = 100.0 * len(outside) / sent if sent else 100.0
    bs = " ".join(f"{when(a) - t0:.0f}s:{b - a + 1}" for a, b in bursts[:8]) + (" ..." if len(bursts) > 8 else "")
    flag = ""
    if out_pct > MAX_LOSS_PCT or loss > MAX_TOTAL_LOSS_PCT or sent == 0:
        flag = "  <-- exceeds bound"
        failures.append(f"ping {s}->{d}: loss {loss:.2f}% (outside leader moves {out_pct:.2f}%)")
    print(f"{s + '->' + d:14} {sent:6} {len(lost):5} {loss:6.2f} {len(outside):12} {out_pct:8.2f}  {bs}{flag}")
    for a, b in bursts:
        all_bursts.append((when(a), b - a + 1, f"{s}->{d}"))

if all_bursts:
    print("\nloss bursts and the churn actions in the 10 s before each (first 15):")
    for t, n, pair in sorted(all_bursts)[:15]:
        near = [f"{c['action']} {c['target']} ({t - float(c['ts']):.1f} s before)" for c in churn
                if 0 <= t - float(c["ts"]) <= 10]
        print(f"  {t - t0:7.1f} s {pair:14} {n:3} packets; " + ("; ".join(near) or "no churn action in the 10 s before"))

# ------------------------------------------------------------------ final state
try:
    fm = open(os.path.join(state, "final-mesh")).read().strip()
except OSError:
    fm = "not checked"
print(f"\nfinal convergence (initial shape restored, all 8 nodes, every pod pair): {fm}" +
      (" s" if fm.startswith("converged") else ""))
if not fm.startswith("converged"):
    failures.append("the mesh did not converge after the churn")
try:
    fs = open(os.path.join(state, "final-state")).read().strip()
except OSError:
    fs = "not checked"
print(f"final state (leaders: exactly 2 WireGuard peers, others 0; every kg: kilo_nodes 8, kilo_peers 0): {fs}")
if fs != "ok":
    failures.append("stale state after the churn: " + fs)

print(f"\nbounds: RSS growth <= {MAX_RSS_GROWTH_KIB:.0f} KiB per stable kg; ping loss outside leader moves <= "
      f"{MAX_LOSS_PCT}% and overall <= {MAX_TOTAL_LOSS_PCT}% per pair; no kg crash; final convergence")
if failures:
    print("RESULT: FAIL: " + "; ".join(failures))
    sys.exit(1)
print("RESULT: PASS")
