#!/usr/bin/env bash
# Starts the API emulator with N synthetic nodes and runs bench/watch_latency.
# Usage: bench/watch_latency.sh BUILD_DIR [NODES] [ROUNDS]
set -euo pipefail
BUILD=${1:-build}; NODES=${2:-1000}; ROUNDS=${3:-100}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
python3 scripts/gen-cluster.py --nodes "$NODES" --locations 10 -o "$work/dump.json"
tests/apiserver/serve --kubeconfig "$work/kc" --load "$work/dump.json" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 600); do [ -s "$work/kc" ] && break; sleep 0.1; done
"$BUILD/bin/watch_latency" "$work/kc" "$NODES" "$ROUNDS"
