#!/usr/bin/env python3
"""Runs kgctl against one golden-sample case and compares byte for byte.

Usage: run_golden.py KGCTL CASE_DIR

Checks every file and result of ../shared/golden-sample/README.md:
graph.dot, node-*.ini / .as-peer.ini / .as-peer.yaml, peer-*.ini, exit codes
and the last stderr line of results.json, and the tunnel-address/route/rule
lines of routes-*.txt through `kgctl plan node` with each variant's flags.
"""
import json
import os
import re
import subprocess
import sys


def main():
    kgctl, case = sys.argv[1], sys.argv[2]
    params = json.load(open(os.path.join(case, "params.json")))
    results = json.load(open(os.path.join(case, "results.json")))
    base = [kgctl, "--from-file", os.path.join(case, "input.json"),
            "--now", str(params["now"]),
            "--mesh-granularity", params["mesh_granularity"],
            "--port", str(params["port"]),
            "--topology-label", params["topology_label"]]
    failures = []
    checks = 0

    def run(args):
        p = subprocess.run(base + args, capture_output=True)
        return p.returncode, p.stdout, p.stderr.decode()

    def check(name, rec, args):
        nonlocal checks
        checks += 1
        code, out, err = run(args)
        if code != rec["exit"]:
            failures.append(f"{name}: exit {code}, want {rec['exit']} (stderr: {err.strip()})")
            return
        want_err = rec.get("stderr", "").strip()
        if want_err:
            last = err.strip().splitlines()[-1] if err.strip() else ""
            if last != want_err:
                failures.append(f"{name}: last stderr line {last!r}, want {want_err!r}")
        if "file" in rec:
            want = open(os.path.join(case, rec["file"]), "rb").read()
            if out != want:
                failures.append(f"{name}: stdout differs from {rec['file']}\n--- got\n{out.decode()}\n--- want\n{want.decode()}")
        elif rec["exit"] == 0 and out:
            failures.append(f"{name}: unexpected stdout")

    check("graph", results["graph"], ["graph"])
    for node, r in results["nodes"].items():
        if "showconf" in r:
            check(f"showconf node {node}", r["showconf"], ["showconf", "node", node])
            check(f"showconf node {node} --as-peer", r["showconf_as_peer"], ["showconf", "node", node, "--as-peer"])
            check(f"showconf node {node} --as-peer -o yaml", r["showconf_as_peer_yaml"],
                  ["showconf", "node", node, "--as-peer", "-o", "yaml"])
        if r.get("agent_error"):
            checks += 1
            code, out, err = run(["plan", "node", node, "--subnet", params["subnet"]])
            want = "failed to create topology: " + r["agent_error"]
            last = err.strip().splitlines()[-1] if err.strip() else ""
            if code != 1 or last != want:
                failures.append(f"plan node {node}: exit {code} {last!r}, want exit 1 {want!r}")
        if "routes" not in r:
            continue
        text = open(os.path.join(case, r["routes"])).read()
        header, _, rest = text.partition("[variant")
        sections = re.findall(r"\[variant compatibility=(\w+) encapsulate=(\w+) local=(\w+)\]\n(.*?)(?=\[variant|\Z)",
                              text, re.S)
        if not sections:
            failures.append(f"{r['routes']}: no variant sections")
        for compat, enc, local, body in sections:
            checks += 1
            c = "none" if compat == "ipip" else compat
            args = ["plan", "node", node, "--subnet", params["subnet"], "--encapsulate", enc,
                    f"--local={local}", "--compatibility", c]
            code, out, err = run(args)
            if code != 0:
                failures.append(f"plan {node} {compat}/{enc}/{local}: exit {code}: {err.strip()}")
                continue
            got = [l for l in out.decode().splitlines() if re.match(r"^(tunnel-address|route|rule) ", l)]
            want = [l for l in body.splitlines() if l]
            if got != want:
                failures.append(f"plan {node} {compat}/{enc}/{local}: routes differ\n--- got\n" +
                                "\n".join(got) + "\n--- want\n" + "\n".join(want))
            got_header = out.decode().split("[wireguard]")[0]
            if got_header != header:
                failures.append(f"plan {node}: header differs\n--- got\n{got_header}--- want\n{header}")
        if r.get("agent_leader") is not None:
            checks += 1
            m = re.search(r"^leader (\w+)$", text, re.M)
            if m.group(1) != ("true" if r["agent_leader"] else "false"):
                failures.append(f"{node}: agent_leader mismatch in routes file")
    for peer, rec in results["peers"].items():
        check(f"showconf peer {peer}", rec, ["showconf", "peer", peer])
    for f in failures:
        print("FAIL", f)
    print(f"{os.path.basename(case)}: {checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
