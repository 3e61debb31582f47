#!/usr/bin/env bash
# bench/agent_footprint.sh: kg's memory and CPU as the cluster grows, beside Kilo's Go
# agent in the same cluster (informational: prints, asserts nothing).
#
#   [KILO_GO_KG=/path/to/go/kg] bench/agent_footprint.sh [BUILD_DIR] [--keep]    (root)
#
# Brings up the 6-node virtual cluster (tests/e2e/cluster.sh, resync 5 s; with KILO_GO_KG,
# the Go agent runs on aws-1, gcp-2 and lab-1 and kg on the other three), then adds 1,000
# and then 4,000 more agent-less realistic Nodes (scripts/gen-cluster.py --status: kubelet
# status, images, managedFields; their endpoint annotations removed so that they are never
# ready and stay out of the mesh). At 6, 1,006 and 5,006 Nodes, after SETTLE seconds
# (default 20), it prints each agent's VmRSS, VmHWM and CPU time (utime + stime of
# /proc/PID/stat), and the CPU each agent spent from just before the first 1,000 Nodes
# were created until SETTLE seconds after (creations absorbed), and idle over IDLE seconds
# (default 30) at 1,006 Nodes. Figures are means over the agents of one kind.
# Last line:
#   footprint: kg RSS 6=A 1000=B 5000=C MiB; go RSS 6=D 1000=E 5000=F MiB; 1000 creations CPU kg=G go=H s
# (go figures "-" without KILO_GO_KG). Exit 0 printed, 2 could not run (reason printed).
# CPU figures are noisy on a shared machine: compare kg and Go of the same run.
# STOP_AT=1006 ends after the idle window at 1,006 Nodes (with --keep, the cluster
# stays up at 1,006 Nodes: e.g. to measure a longer IDLE=120, or another kg, on it).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=build
KEEP=""
for a in "$@"; do
  case $a in
    --keep) KEEP=1 ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) BUILD=$a ;;
  esac
done
SETTLE=${SETTLE:-20}
IDLE=${IDLE:-30}
export REPO="$PWD" KG="${KG:-$PWD/$BUILD/bin/kg}" KGCTL="${KGCTL:-$PWD/$BUILD/bin/kgctl}"
[ "$(id -u)" = 0 ] || { echo "agent_footprint: needs root (network namespaces)"; exit 2; }
[ -x "$KG" ] || { echo "agent_footprint: $KG is missing: build it first (make build)"; exit 2; }
# shellcheck source=../tests/e2e/lib.sh
. tests/e2e/lib.sh

export KGE_STATE KGE_PREFIX="kfp$$-" KGE_NODES=6 KGE_GRANULARITY=location
KGE_STATE=$(mktemp -d /tmp/kilo-agent-footprint.XXXXXX)
if [ -n "${KILO_GO_KG:-}" ]; then
  [ -x "$KILO_GO_KG" ] || { echo "agent_footprint: KILO_GO_KG=$KILO_GO_KG is not executable"; exit 2; }
  export KILO_GO_KG KGE_GO_NODES="aws-1 gcp-2 lab-1"
fi
if ! why=$(kge_preflight); then echo "agent_footprint: cannot run the virtual cluster: $why"; exit 2; fi
down() { cluster_down >/dev/null 2>&1; rm -rf "$KGE_STATE"; }
if [ -z "$KEEP" ]; then trap down EXIT; fi
trap 'exit 130' INT TERM
cluster_up >"$KGE_STATE/cluster-up.log" 2>&1 || {
  tail -30 "$KGE_STATE/cluster-up.log" >&2
  echo "agent_footprint: the cluster did not come up" >&2
  exit 2
}
HZ=$(getconf CLK_TCK)
pid_of() { cat "$KGE_STATE/pids/$1.kg"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(pid_of "$1")/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(pid_of "$1")/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$(pid_of "$1")/status"; }

# The agent-less Nodes: generated once (5,000), created in two steps.
python3 scripts/gen-cluster.py --nodes 5000 --status --now "$(date +%s)" -o "$KGE_STATE/gen.json" || exit 2
python3 - "$KGE_STATE/gen.json" "$KGE_STATE" <<'EOF' || exit 2
import json, sys
doc = json.load(open(sys.argv[1]))
nodes = [i for i in doc["items"] if i.get("kind") == "Node"]
for n in nodes:
    ann = n["metadata"].get("annotations", {})
    for k in ("kilo.squat.ai/endpoint", "kilo.squat.ai/force-endpoint"):
        ann.pop(k, None)
    for k in ("resourceVersion", "uid", "creationTimestamp"):
        n["metadata"].pop(k, None)
for name, part in (("add1000.json", nodes[:1000]), ("add4000.json", nodes[1000:5000])):
    json.dump({"apiVersion": "v1", "kind": "List", "items": part}, open(f"{sys.argv[2]}/{name}", "w"))
EOF

# sample SIZE: one row per agent, into $KGE_STATE/rows.SIZE.
sample() {
  local n
  for n in $(node_names); do
    kg_running "$n" || { echo "agent_footprint: the agent of $n is not running" >&2; return 1; }
    printf '%-6s %-3s %6s %8d kB %8d kB %9.2f s\n' "$n" "$(agent_kind "$n")" "$1" "$(rss_kb "$n")" \
      "$(hwm_kb "$n")" "$(awk -v t="$(cpu_ticks "$n")" -v hz="$HZ" 'BEGIN {print t / hz}')"
  done | tee "$KGE_STATE/rows.$1"
}
# mean_mib SIZE KIND: the mean VmRSS of the agents of KIND at SIZE, in MiB ("-" if none).
mean_mib() {
  awk -v k="$2" '$2 == k {s += $4; n++} END {if (n) printf "%.1f", s / n / 1024; else printf "-"}' \
    "$KGE_STATE/rows.$1"
}
# cpu_mark FILE: every agent's CPU ticks now.
cpu_mark() { for n in $(node_names); do echo "$n $(agent_kind "$n") $(cpu_ticks "$n")"; done >"$1"; }
# cpu_delta FROM TO KIND: mean CPU seconds per agent of KIND between two marks.
cpu_delta() {
  awk -v k="$3" -v hz="$HZ" 'NR == FNR {a[$1] = $3; next} $2 == k {s += $3 - a[$1]; n++}
    END {if (n) printf "%.2f", s / n / hz; else printf "-"}' "$1" "$2"
}
create() {
  kctl create --validate=false -f "$1" >"$KGE_STATE/create.log" 2>&1 ||
    { tail -5 "$KGE_STATE/create.log" >&2; echo "agent_footprint: creating Nodes failed" >&2; return 1; }
}

echo "agent_footprint: kg $("$KG" --version 2>/dev/null | head -1) ($KG)${KILO_GO_KG:+ vs the Go agent $KILO_GO_KG}; settle ${SETTLE} s"
printf '%-6s %-3s %6s %11s %11s %11s\n' node kind nodes VmRSS VmHWM "cpu total"
sleep "$SETTLE"
sample 6 || exit 2
cpu_mark "$KGE_STATE/cpu.before1000"
t0=$(date +%s)
create "$KGE_STATE/add1000.json" || exit 2
echo "# 1,000 Nodes created in $(($(date +%s) - t0)) s"
sleep "$SETTLE"
cpu_mark "$KGE_STATE/cpu.after1000"
sample 1006 || exit 2
cpu_mark "$KGE_STATE/cpu.idle0"
sleep "$IDLE"
cpu_mark "$KGE_STATE/cpu.idle1"
idle_kg=$(cpu_delta "$KGE_STATE/cpu.idle0" "$KGE_STATE/cpu.idle1" kg)
idle_go=$(cpu_delta "$KGE_STATE/cpu.idle0" "$KGE_STATE/cpu.idle1" go)
echo "# idle CPU at 1,006 Nodes over ${IDLE} s (resync 5 s): kg $idle_kg s, go $idle_go s per agent"
if [ "${STOP_AT:-}" = 1006 ]; then
  [ -n "$KEEP" ] && echo "agent_footprint: cluster kept: KGE_STATE=$KGE_STATE tests/e2e/cluster.sh down --state $KGE_STATE"
  exit 0
fi
t0=$(date +%s)
create "$KGE_STATE/add4000.json" || exit 2
echo "# 4,000 more Nodes created in $(($(date +%s) - t0)) s"
sleep "$SETTLE"
sample 5006 || exit 2
[ -n "$KEEP" ] && echo "agent_footprint: cluster kept: KGE_STATE=$KGE_STATE tests/e2e/cluster.sh down --state $KGE_STATE"
go_or_dash() { if [ -n "${KILO_GO_KG:-}" ]; then echo "$1"; else echo -; fi; }
echo "footprint: kg RSS 6=$(mean_mib 6 kg) 1000=$(mean_mib 1006 kg) 5000=$(mean_mib 5006 kg) MiB;" \
  "go RSS 6=$(go_or_dash "$(mean_mib 6 go)") 1000=$(go_or_dash "$(mean_mib 1006 go)") 5000=$(go_or_dash "$(mean_mib 5006 go)") MiB;" \
  "1000 creations CPU kg=$(cpu_delta "$KGE_STATE/cpu.before1000" "$KGE_STATE/cpu.after1000" kg)" \
  "go=$(go_or_dash "$(cpu_delta "$KGE_STATE/cpu.before1000" "$KGE_STATE/cpu.after1000" go)") s"
exit 0
