#!/usr/bin/env python3
"""Who writes the kilo.squat.ai/* annotations of each Node, in a mixed cluster.

    writers.py NODES.json WRITES.json [SAMPLES_DIR]

NODES.json: {"NODE": {"kind": "go"|"kg", "clients": ["IP", ...]}, ...}: the agent each
node runs and the source addresses the API emulator sees from it (its public address, or
its location router's). WRITES.json: the emulator's /_emulator/writes (every write that
changed an object's annotations, with the client address and User-Agent). SAMPLES_DIR:
`kubectl get nodes -o json` taken every few seconds (*.json, in time order).

A write is attributed to
  the Go agent of NODE  User-Agent "kg@NODE/..." (tests/e2e/lib.sh starts Kilo's Go kg
                        with argv[0] ".../kg@NODE", and client-go names itself after it)
  kg on NODE            User-Agent "kilo-cpp/...", from a client address of NODE (when
                        several nodes share that address, the write is "ambiguous" unless
                        the written node is not among them)
  the test              User-Agent "kubectl/..."

Fails (exit 1) when
  * an agent changed an annotation of a Node other than its own (except kg's leader
    failover, SPEC 11.1: only kilo.squat.ai/leader, which is reported);
  * an agent wrote an annotation that belongs to the user (leader, location, force-*, ...);
  * in the samples, a kilo.squat.ai/* value of a node came back to an earlier value after
    a different one (A, B, A) while more than one writer wrote that key of that node, or
    last-seen went backwards.
Prints the annotations each kind of agent writes on its own node, side by side.
"""
import collections
import glob
import json
import os
import re
import sys

PREFIX = "kilo.squat.ai/"
USER_KEYS = {"leader", "location", "force-endpoint", "force-internal-ip", "persistent-keepalive",
             "allowed-location-ips"}
GO_UA = re.compile(r"^kg@([^/ ]+)/")


def shape(key, value):
    """The form of a value, for the side-by-side table (keys and addresses elided)."""
    if key == "discovered-endpoints" and value not in ("", "{}"):
        try:
            return "{%d endpoint%s}" % (len(json.loads(value)), "" if len(json.loads(value)) == 1 else "s")
        except ValueError:
            pass
    if key == "key":
        return "<base64 key>" if len(value) == 44 else repr(value[:20])
    if key == "last-seen":
        return "<unix seconds>" if value.isdigit() else repr(value[:20])
    if key == "endpoint":
        return "<ip:port>" if ":" in value else repr(value[:20])
    if key in ("internal-ip", "wireguard-ip") and value:
        return "<cidr>" if "/" in value else repr(value[:20])
    return repr(value) if len(value) <= 20 else repr(value[:17] + "...")


def writer_of(w, nodes, by_client):
    ua = w.get("userAgent") or ""
    m = GO_UA.match(ua)
    if m:
        return ("go", [m.group(1)])
    if ua.startswith("kilo-cpp/"):
        return ("kg", by_client.get(w.get("client"), []))
    if ua.startswith("kubectl/"):
        return ("kubectl", [])
    return ("other:" + (ua or "no User-Agent") + "@" + str(w.get("client")), [])


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    nodes = json.load(open(argv[1]))
    writes = json.load(open(argv[2]))["writes"]
    samples_dir = argv[3] if len(argv) > 3 else None
    by_client = collections.defaultdict(list)
    for n, d in nodes.items():
        for c in d["clients"]:
            by_client[c].append(n)

    bad, notes = [], []
    keys_by_kind = {"kg": collections.Counter(), "go": collections.Counter()}
    example = {"kg": {}, "go": {}}
    writers_of_key = collections.defaultdict(set)  # (node, key) -> {writer}
    counts = collections.Counter()
    for w in writes:
        if w.get("kind") != "Node":
            continue
        node = w["name"]
        changed = {k[len(PREFIX):]: v for k, v in w["annotations"].items() if k.startswith(PREFIX)}
        if not changed:
            continue
        kind, cands = writer_of(w, nodes, by_client)
        if kind in ("go", "kg"):
            if node not in cands and kind == "kg" and set(changed) == {"leader"}:
                # SPEC 11.1 (leader failover): kg moves leadership by writing the leader
                # annotation (and a marker of its own prefix) on the node that should lead.
                notes.append("kg from %s set leader on %s: %r -> %r (leader failover)" % (
                    w.get("client"), node, changed["leader"][0], changed["leader"][1]))
                counts["failover"] += 1
                continue
            if node not in cands:
                bad.append("%s agent from %s (%s) changed %s of node %s: %s" % (
                    kind, w.get("client"), "/".join(cands) or "no node", sorted(changed), node, w.get("userAgent")))
                counts["foreign"] += 1
                continue
            who = "%s@%s" % (kind, node if len(cands) == 1 else "|".join(sorted(cands)))
            if len(cands) > 1:
                counts["ambiguous"] += 1
            counts[kind] += 1
            for k, (old, new) in changed.items():
                writers_of_key[(node, k)].add(who if len(cands) == 1 else "%s@%s" % (kind, node))
                if k == "leader" and kind == "kg":
                    notes.append("%s set leader on its own node: %r -> %r (leader failover)" % (who, old, new))
                elif k in USER_KEYS:
                    bad.append("%s wrote the user's annotation %s on %s: %r -> %r" % (who, k, node, old, new))
                if new is not None:
                    keys_by_kind[kind][k] += 1
                    example[kind].setdefault(k, set()).add(shape(k, new))
        else:
            counts[kind.split(":")[0]] += 1
            for k in changed:
                writers_of_key[(node, k)].add(kind)
    print("writes to Nodes' kilo.squat.ai/* annotations: %d by Go agents, %d by kg agents (%d from an address "
          "shared by several nodes, attributed to the written node), %d by kubectl (the test), %d other, "
          "%d by an agent to another node's object, %d leader failover writes of kg" % (
              counts["go"], counts["kg"], counts["ambiguous"], counts["kubectl"], counts["other"], counts["foreign"],
              counts["failover"]))
    # The same node's annotation written by both kinds: its agent was replaced (migration).
    swapped = collections.defaultdict(set)
    for (node, k), v in writers_of_key.items():
        agents = sorted(x for x in v if x != "kubectl")
        if len(agents) > 1:
            swapped[(node, " and ".join(agents))].add(k)
    for (node, who), ks in sorted(swapped.items()):
        notes.append("%s: %s written by %s (its agent was replaced)" % (node, ", ".join(sorted(ks)), who))

    if samples_dir:
        files = sorted(glob.glob(os.path.join(samples_dir, "*.json")))
        seqs = collections.defaultdict(list)  # (node, key) -> [values, consecutive duplicates removed]
        changes = collections.Counter()
        last_seen = {}
        for f in files:
            try:
                items = json.load(open(f))["items"]
            except (ValueError, KeyError):
                notes.append("unreadable sample %s" % os.path.basename(f))
                continue
            for it in items:
                name = it["metadata"]["name"]
                ann = it["metadata"].get("annotations") or {}
                for key in set(k[len(PREFIX):] for k in ann if k.startswith(PREFIX)) | \
                        set(k for (n, k) in seqs if n == name):
                    v = ann.get(PREFIX + key)
                    if key == "last-seen":
                        if v is not None and name in last_seen and int(v) < last_seen[name]:
                            bad.append("last-seen of %s went back from %d to %s" % (name, last_seen[name], v))
                        if v is not None:
                            last_seen[name] = int(v)
                        continue
                    s = seqs[(name, key)]
                    if not s or s[-1] != v:
                        if s:
                            changes[(name, key)] += 1
                        s.append(v)
        print("%d samples; value changes (last-seen aside): %s" % (
            len(files), ", ".join("%s %s x%d" % (n, k, c) for (n, k), c in sorted(changes.items())) or "none"))
        for (name, key), s in sorted(seqs.items()):
            flips = [v for i, v in enumerate(s) if v in s[:i]]
            if not flips:
                continue
            ws = writers_of_key.get((name, key), set()) - {"kubectl"}
            msg = "%s of %s came back to an earlier value (%d distinct values over %d changes; writers: %s)" % (
                key, name, len(set(map(str, s))), len(s) - 1, ", ".join(sorted(ws)) or "none seen")
            if len(ws) > 1:
                bad.append(msg)
            else:
                notes.append(msg + " - one writer, so not two agents")

    kinds = [("kg", "kg (this project)"), ("go", "Go kg 0.6")]
    allkeys = sorted(set(keys_by_kind["kg"]) | set(keys_by_kind["go"]))
    print("\nannotations each kind of agent writes on its own node (writes; the forms of the values written):")
    print("%-21s %-36s %-36s" % ("kilo.squat.ai/", kinds[0][1], kinds[1][1]))
    for k in allkeys:
        cells = []
        for kind, _ in kinds:
            if keys_by_kind[kind][k]:
                cells.append("x%-4d %-30s" % (keys_by_kind[kind][k], " | ".join(sorted(example[kind].get(k, ())))))
            else:
                cells.append("%-36s" % "-")
        print("%-21s %s %s" % (k, cells[0], cells[1]))
    for n in notes:
        print("note:", n)
    for b in bad:
        print("FAIL:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
