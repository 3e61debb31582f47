#!/usr/bin/env bash
# bench/heap_parts.sh: kg's heap part by part at 6, 1,006 and 5,006 Nodes (bench/README.md,
# "Heap by part"). Informational: prints, asserts nothing.
#
#   bench/heap_parts.sh [BUILD_DIR]
#
# For each size, scripts/gen-cluster.py --status makes the cluster (2 Peers); as in
# bench/agent_footprint.sh, all but 6 Nodes lose their endpoint annotations (agent-less
# realistic Nodes: never ready). heap_parts (bench/heap_parts.cc) builds kg's parts on it
# and prints each part's heap (mallinfo2 deltas). The API emulator (tests/apiserver/serve,
# HTTPS) is started once for the HTTPS transport rows. Exit 0 printed, 2 could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN="$BUILD/bin/heap_parts"
[ -x "$BIN" ] || { echo "heap_parts: $BIN is missing: cmake --build $BUILD --target heap_parts"; exit 2; }
tmp=$(mktemp -d /tmp/kilo-heap-parts.XXXXXX)
emu=""
cleanup() { [ -n "$emu" ] && kill "$emu" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
now=$(date +%s)

python3 tests/apiserver/serve --kubeconfig "$tmp/kubeconfig" --port 0 --host 127.0.0.1 \
  >"$tmp/emu.log" 2>&1 &
emu=$!
for _ in $(seq 100); do [ -s "$tmp/kubeconfig" ] && break; sleep 0.1; done
kubeconfig=""
if [ -s "$tmp/kubeconfig" ]; then kubeconfig="$tmp/kubeconfig"; else
  echo "heap_parts: the API emulator did not start (no HTTPS transport rows):"; tail -3 "$tmp/emu.log"
fi

for size in 6 1006 5006; do
  python3 scripts/gen-cluster.py --nodes "$size" --peers 2 --status --now "$now" -o "$tmp/gen.json" || exit 2
  python3 - "$tmp/gen.json" "$tmp" <<'PY' || exit 2
import json, sys
doc = json.load(open(sys.argv[1]))
nodes = [i for i in doc["items"] if i["kind"] == "Node"]
peers = [i for i in doc["items"] if i["kind"] == "Peer"]
for n in nodes[6:]:
    ann = n["metadata"].get("annotations", {})
    for k in ("kilo.squat.ai/endpoint", "kilo.squat.ai/force-endpoint"):
        ann.pop(k, None)
# As the API server answers the informer's LIST (?limit=500): one page a line, each
# but the last with a continue token (the index of the next page).
def pages(api, kind, items, out):
    with open(out, "w") as f:
        for i in range(0, max(len(items), 1), 500):
            meta = {"resourceVersion": "1000000"}
            if i + 500 < len(items):
                meta["continue"] = str(i // 500 + 1)
            json.dump({"apiVersion": api, "kind": kind, "metadata": meta,
                       "items": items[i:i + 500]}, f, separators=(",", ":"))
            f.write("\n")
pages("v1", "NodeList", nodes, f"{sys.argv[2]}/nodes.json")
pages("kilo.squat.ai/v1alpha1", "PeerList", peers, f"{sys.argv[2]}/peers.json")
PY
  echo "== $size Nodes (6 ready), 2 Peers"
  "$BIN" "$tmp/nodes.json" "$tmp/peers.json" node-00000 "$now" $kubeconfig || exit 2
done
