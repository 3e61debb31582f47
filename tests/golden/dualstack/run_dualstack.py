#!/usr/bin/env python3
"""Runs kgctl on a dual-stack case (hand/<case>/input.json) and compares each
expected file of the case byte for byte (README.md here).

Usage: run_dualstack.py KGCTL CASE_DIR

graph.dot               kgctl graph
node-N.ini              kgctl showconf node N
node-N.as-peer.ini      kgctl showconf node N --as-peer
peer-P.ini              kgctl showconf peer P
plan-N.txt              kgctl plan node N, up to its "[firewall nftables]" line
plan-N.contains.txt     every line is a line of kgctl plan node N
"""
import os
import subprocess
import sys


def main():
    kgctl, case = sys.argv[1], sys.argv[2]
    base = [kgctl, "--from-file", os.path.join(case, "input.json"), "--now", "1767225600",
            "--port", "51820", "--topology-label", "topology.kubernetes.io/region"]
    failures, checks = [], 0
    for f in sorted(os.listdir(case)):
        if f == "input.json":
            continue
        if f == "graph.dot":
            args = ["graph"]
        elif f.startswith("node-") and f.endswith(".as-peer.ini"):
            args = ["showconf", "node", f[5:-len(".as-peer.ini")], "--as-peer"]
        elif f.startswith("node-") and f.endswith(".ini"):
            args = ["showconf", "node", f[5:-4]]
        elif f.startswith("peer-") and f.endswith(".ini"):
            args = ["showconf", "peer", f[5:-4]]
        elif f.startswith("plan-") and f.endswith(".contains.txt"):
            args = ["plan", "node", f[5:-len(".contains.txt")]]
        elif f.startswith("plan-") and f.endswith(".txt"):
            args = ["plan", "node", f[5:-4]]
        else:
            failures.append(f"{f}: unknown expected file")
            continue
        checks += 1
        p = subprocess.run(base + args, capture_output=True)
        if p.returncode != 0:
            failures.append(f"{f}: kgctl {' '.join(args)} exited {p.returncode}: {p.stderr.decode()}")
            continue
        got = p.stdout.decode()
        want = open(os.path.join(case, f)).read()
        if f.endswith(".contains.txt"):
            lines = set(got.splitlines())
            missing = [l for l in want.splitlines() if l not in lines]
            if missing:
                failures.append(f"{f}: lines missing from kgctl {' '.join(args)}:\n" + "\n".join(missing) + "\n--- got\n" + got)
            continue
        if f.startswith("plan-"):
            cut = got.find("[firewall nftables]\n")
            got = got[:cut + len("[firewall nftables]\n")] if cut >= 0 else got
        if got != want:
            failures.append(f"{f}: kgctl {' '.join(args)} differs\n--- got\n{got}--- want\n{want}")
    for x in failures:
        print("FAIL", x)
    print(f"{os.path.basename(case)}: {checks - len(failures)}/{checks} outputs identical")
    return 1 if failures or checks == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
