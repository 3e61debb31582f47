#!/usr/bin/env bash
# tests/interop/footprint.sh: memory and CPU of Kilo's Go agent and of kg side by side,
# in one 6-node virtual cluster (informational; prints, asserts nothing).
#
#   KILO_GO_KG=/path/to/go/kg tests/interop/footprint.sh [--seconds N] [--keep]
#   tests/interop/footprint.sh --state DIR [--seconds N]    measure a running cluster
#
# Without --state it brings up its own cluster (tests/e2e/lib.sh, granularity location,
# prefix kgf<pid>-): Go on aws-1 (leader), gcp-2 and lab-1 (leader, behind NAT), kg on
# gcp-1 (leader), aws-2 and lab-2 (behind NAT); waits 20 s after the mesh converged, then
# samples for N seconds (default 30) and tears everything down (--keep: leave it up).
# Per agent: VmRSS, VmHWM and threads from /proc/PID/status, CPU time (utime+stime from
# /proc/PID/stat) in total and during the N seconds; then the mean per kind.
# Exit: 0 printed, 2 could not run (reason printed; e.g. KILO_GO_KG not set).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SECS=30
STATE=""
KEEP=""
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) SECS=$2; shift 2 ;;
    --state) STATE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
# shellcheck source=../e2e/lib.sh
. "$HERE/../e2e/lib.sh"

# measure: the table for the cluster of $KGE_STATE.
measure() {
  local n pid hz leader
  hz=$(getconf CLK_TCK)
  declare -A t0=()
  for n in $(node_names); do
    pid=$(cat "$KGE_STATE/pids/$n.kg" 2>/dev/null)
    kg_running "$n" || { echo "footprint: the agent of $n is not running" >&2; return 1; }
    t0[$n]=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  done
  sleep "$SECS"
  printf '%-6s %-4s %-7s %9s %9s %7s %10s %11s\n' node kind role VmRSS VmHWM threads "cpu total" "cpu/${SECS}s"
  for n in $(node_names); do
    pid=$(cat "$KGE_STATE/pids/$n.kg")
    leader=$(node_exec "$n" curl -s --max-time 5 "http://$(node_lan_ip "$n"):1107/metrics" |
      awk '$1 == "kilo_leader" {print $2}')
    printf '%-6s %-4s %-7s %6s kB %6s kB %7s %8.2f s %10.2f%%\n' "$n" "$(agent_kind "$n")" \
      "$([ "$leader" = 1 ] && echo leader || echo member)" \
      "$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")" "$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")" \
      "$(awk '/^Threads/ {print $2}' "/proc/$pid/status")" \
      "$(awk -v hz="$hz" '{print ($14 + $15) / hz}' "/proc/$pid/stat")" \
      "$(awk -v hz="$hz" -v a="${t0[$n]}" -v s="$SECS" '{print 100 * ($14 + $15 - a) / hz / s}' "/proc/$pid/stat")"
  done >"$KGE_STATE/footprint.rows"
  cat "$KGE_STATE/footprint.rows"
  awk '{rss[$2] += $4; hwm[$2] += $6; cpu[$2] += $NF; k[$2]++}
       END {for (x in k) printf "mean of %d %-2s agents: VmRSS %.1f MiB, VmHWM %.1f MiB, CPU %.2f%%\n", k[x], x, rss[x] / k[x] / 1024, hwm[x] / k[x] / 1024, cpu[x] / k[x]}' \
    "$KGE_STATE/footprint.rows" | sort
}

if [ -n "$STATE" ]; then
  export KGE_STATE=$STATE
  kge_load_env || exit 2
  measure || exit 2
  exit 0
fi

[ -n "${KILO_GO_KG:-}" ] || { echo "footprint: KILO_GO_KG not set: the Go agent is needed (CI has no source to build it from)"; exit 2; }
[ -x "$KILO_GO_KG" ] || { echo "footprint: KILO_GO_KG=$KILO_GO_KG is not executable"; exit 2; }
export KILO_GO_KG KGE_STATE
KGE_STATE=$(mktemp -d /tmp/kilo-footprint.XXXXXX)
export KGE_PREFIX="kgf$$-" KGE_NODES=6 KGE_GRANULARITY=location KGE_GO_NODES="aws-1 gcp-2 lab-1"
if ! why=$(kge_preflight); then echo "footprint: cannot run the virtual cluster: $why"; exit 2; fi
down() { cluster_down >/dev/null 2>&1; rm -rf "$KGE_STATE"; }
if [ -z "$KEEP" ]; then trap down EXIT; fi
trap 'exit 130' INT TERM
cluster_up >"$KGE_STATE/cluster-up.log" 2>&1 || {
  cat "$KGE_STATE/cluster-up.log" >&2
  echo "footprint: the cluster did not come up" >&2
  exit 2
}
echo "footprint: Go $("$KILO_GO_KG" --version 2>/dev/null | head -1) ($KILO_GO_KG) vs kg $("$KG" --version 2>/dev/null | head -1) ($KG); settling 20 s, then ${SECS} s of sampling"
sleep 20
measure
[ -n "$KEEP" ] && echo "footprint: cluster kept: KGE_STATE=$KGE_STATE tests/e2e/cluster.sh down"
exit 0
