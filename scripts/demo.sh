#!/usr/bin/env bash
# make demo: a live local Kilo cluster on this machine.
#
# Starts the API emulator and a 6-node, 3-location virtual cluster (network namespaces,
# wireguard-go, one kg per node: tests/e2e/cluster.sh), waits until every pod pings
# every other, then shows the mesh (kgctl graph, demo/cluster.svg), one node's WireGuard
# config, one agent's /metrics, and how to poke it. Keeps running until Ctrl-C or
# `make demo-down`; `make demo KEEP=0` tears down after the check and exits 0 only if it
# passed.
#   scripts/demo.sh BUILD_DIR      start (KEEP=0 for a one-shot check)
#   scripts/demo.sh --down         tear down a running demo
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
STATE=${KILO_DEMO_STATE:-/tmp/kilo-demo}
CLUSTER="$REPO/tests/e2e/cluster.sh"
if [ "${1:-}" = "--down" ]; then
  "$CLUSTER" down --state "$STATE"
  exit 0
fi
BUILD=${1:-build}
export KG="$REPO/$BUILD/bin/kg" KGCTL="$REPO/$BUILD/bin/kgctl" REPO
KEEP=${KEEP:-1}
n=0
step() { n=$((n + 1)); printf '\n\033[1m== [%d/7] %s\033[0m\n' "$n" "$*"; }
fail() { printf '\n\033[31mdemo FAILED at step %d: %s\033[0m\n' "$n" "$*" >&2; "$CLUSTER" down --state "$STATE" >/dev/null 2>&1; exit 1; }
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces)"; exit 1; }
[ -x "$KG" ] && [ -x "$KGCTL" ] || fail "binaries missing in $BUILD/bin (run make build)"

step "start the API emulator and a 6-node, 3-location cluster (aws, gcp: public leaders; lab: behind NAT)"
if [ -f "$STATE/env" ]; then "$CLUSTER" down --state "$STATE" >/dev/null 2>&1; fi
# A cluster that went down keeps its API emulator's objects in $STATE/api
# (for inspection); a new demo starts from an empty API server.
rm -rf "$STATE/api"
t0=$(date +%s)
"$CLUSTER" up --state "$STATE" --nodes 6 || fail "the cluster did not come up (logs in $STATE)"
t1=$(date +%s)
echo "every pod reaches every other pod: full mesh in $((t1 - t0)) s"

step "the mesh as seen by the API (kgctl graph)"
"$CLUSTER" kgctl --state "$STATE" graph || fail "kgctl graph"
"$CLUSTER" kgctl --state "$STATE" graph -o svg > "$REPO/demo/cluster.svg" || fail "kgctl graph -o svg"
echo "(rendered to demo/cluster.svg)"

step "the WireGuard configuration of the aws leader (kgctl showconf node aws-1)"
"$CLUSTER" kgctl --state "$STATE" showconf node aws-1 || fail "kgctl showconf"

step "what kg installed on a non-leader (kgctl plan node aws-2 --encapsulate never)"
"$CLUSTER" kgctl --state "$STATE" plan node aws-2 --encapsulate never | sed -n '/^\[routes/,/^\[firewall/p' | head -20

step "an agent's metrics (curl http://10.10.0.11:1107/metrics on aws-1)"
"$CLUSTER" exec --state "$STATE" aws-1 curl -s http://10.10.0.11:1107/metrics | grep -E '^kilo_(leader|nodes|peers|reconciles_total|errors_total)' || fail "metrics"

step "the ping matrix between pods"
"$CLUSTER" status --state "$STATE" | tail -12

step "try it"
cat <<TXT
  kubectl:  $CLUSTER kubectl --state $STATE get nodes -o wide
  annotate: $CLUSTER kubectl --state $STATE annotate node gcp-2 kilo.squat.ai/leader=true
            (then: $CLUSTER kgctl --state $STATE graph — the gcp gateway moves to gcp-2)
  ping:     $CLUSTER pod --state $STATE lab-2 ping -c2 10.42.1.2
  wg:       $CLUSTER exec --state $STATE aws-1 wg show kilo0
  logs:     $STATE/logs/
TXT
echo
echo "demo: OK — full mesh reached in $((t1 - t0)) s"
if [ "$KEEP" = 0 ]; then
  "$CLUSTER" down --state "$STATE" >/dev/null
  exit 0
fi
echo "demo: running; Ctrl-C or 'make demo-down' tears it down"
trap '"$CLUSTER" down --state "$STATE"; exit 0' INT TERM
while [ -f "$STATE/env" ]; do sleep 2; done
