#!/usr/bin/env python3
"""Runs kgctl in cross granularity (SPEC 11.2) on one golden-sample input and
compares byte for byte with the expected files of this directory.

Usage: run_cross.py KGCTL CASE_DIR EXPECTED_DIR...   compare
       run_cross.py --update KGCTL CASE_DIR OUT_DIR  (re)generate OUT_DIR

CASE_DIR is a ../shared/golden-sample case (its input.json and params.json;
the flags are those of the case, with --mesh-granularity cross). Each file of
an EXPECTED_DIR names its command:
  graph.dot                  kgctl graph
  node-N.ini                 kgctl showconf node N
  node-N.as-peer.ini         kgctl showconf node N --as-peer
  plan-N.txt                 kgctl plan node N --subnet <params.subnet>
  plan-N.ENC.routes.txt      the [routes ...] section of the same with
                             --encapsulate ENC
  F.error                    the command of F exits 1 with this last line of
                             stderr (and no output)
See README.md for how the files of hand/ were derived.
"""
import json
import os
import subprocess
import sys


def base_args(kgctl, case):
    params = json.load(open(os.path.join(case, "params.json")))
    return params, [kgctl, "--from-file", os.path.join(case, "input.json"),
                    "--now", str(params["now"]), "--mesh-granularity", "cross",
                    "--port", str(params["port"]),
                    "--topology-label", params["topology_label"]]


def command_for(fname, params):
    """Returns (args, section) for an expected file name, or None."""
    if fname.endswith(".error"):
        return command_for(fname[:-len(".error")], params)
    if fname == "graph.dot":
        return ["graph"], False
    if fname.startswith("node-") and fname.endswith(".as-peer.ini"):
        return ["showconf", "node", fname[5:-len(".as-peer.ini")], "--as-peer"], False
    if fname.startswith("node-") and fname.endswith(".ini"):
        return ["showconf", "node", fname[5:-4]], False
    if fname.startswith("plan-") and fname.endswith(".routes.txt"):
        node, enc = fname[5:-len(".routes.txt")].rsplit(".", 1)
        return ["plan", "node", node, "--subnet", params["subnet"], "--encapsulate", enc], True
    if fname.startswith("plan-") and fname.endswith(".txt"):
        return ["plan", "node", fname[5:-4], "--subnet", params["subnet"]], False
    return None


def routes_section(out):
    text = out.decode()
    start = text.index("[routes ")
    end = text.index("[firewall", start)
    return text[start:end].encode()


def run(base, args):
    p = subprocess.run(base + args, capture_output=True)
    return p.returncode, p.stdout, p.stderr.decode()


def update(kgctl, case, out_dir):
    params, base = base_args(kgctl, case)
    results = json.load(open(os.path.join(case, "results.json")))
    os.makedirs(out_dir, exist_ok=True)
    files = ["graph.dot"]
    for node, r in results["nodes"].items():
        if r.get("ready") and "showconf" in r:
            files += [f"node-{node}.ini", f"node-{node}.as-peer.ini", f"plan-{node}.txt"]
    for f in files:
        args, _ = command_for(f, params)
        code, out, err = run(base, args)
        if code != 0:
            lines = err.strip().splitlines()
            if code != 1 or out or not lines:
                sys.exit(f"{f}: kgctl {' '.join(args)} exited {code}: {err}")
            open(os.path.join(out_dir, f + ".error"), "w").write(lines[-1] + "\n")
            continue
        open(os.path.join(out_dir, f), "wb").write(out)
    print(f"wrote {len(files)} files to {out_dir}")


def compare(kgctl, case, dirs):
    params, base = base_args(kgctl, case)
    failures, checks = [], 0
    for d in dirs:
        for f in sorted(os.listdir(d)):
            cmd = command_for(f, params)
            if cmd is None:
                continue
            args, section = cmd
            checks += 1
            code, out, err = run(base, args)
            if f.endswith(".error"):
                want = open(os.path.join(d, f)).read().strip()
                lines = err.strip().splitlines()
                last = lines[-1] if lines else ""
                if code != 1 or out or last != want:
                    failures.append(f"{d}/{f}: kgctl {' '.join(args)} exited {code} with {last!r}, "
                                    f"want exit 1 with {want!r} and no output")
                continue
            if code != 0:
                failures.append(f"{d}/{f}: kgctl {' '.join(args)} exited {code}: {err.strip()}")
                continue
            if section:
                out = routes_section(out)
            want = open(os.path.join(d, f), "rb").read()
            if out != want:
                failures.append(f"{d}/{f}: kgctl {' '.join(args)} differs\n--- got\n{out.decode()}"
                                f"\n--- want\n{want.decode()}")
    if checks == 0:
        failures.append("no expected file found in " + " ".join(dirs))
    for f in failures:
        print("FAIL", f)
    print(f"{checks - len(failures)}/{checks} cross checks passed for {os.path.basename(case)}")
    return 1 if failures else 0


def main():
    if sys.argv[1] == "--update":
        update(sys.argv[2], sys.argv[3], sys.argv[4])
        return 0
    kgctl, case, dirs = sys.argv[1], sys.argv[2], [d for d in sys.argv[3:] if os.path.isdir(d)]
    return compare(kgctl, case, dirs)


if __name__ == "__main__":
    sys.exit(main())
