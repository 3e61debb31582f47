#!/usr/bin/env bash
# Leader failover, fault (a) of issue 15 repeated: forwarding dropped on a healthy-looking
# leader (#489: an nft `drop` in its forward hook, the nftables form of
# `iptables -I FORWARD -j DROP`) while pods ping every 200 ms; the time from the fault to
# the last lost ping is one trial. The two gcp nodes of the virtual cluster
# (tests/e2e/lib.sh, location granularity, 6 nodes, kg --leader-failover) take turns:
# the leader gets the fault, the other takes over; the fault is then removed and the next
# trial waits out the rate limit (one move per location per minute).
#
#   bench/failover.sh [N]        N trials (default 10); needs root, build/bin/kg, kgctl
#
# Prints one line per trial, then exactly:
#   failover: N trials, p50 X s, p95 Y s, max Z s
set -uo pipefail
N=${1:-10}
# shellcheck source=failover-common.sh
. "$(dirname "$0")/failover-common.sh"
PING_PIDS=()
FAULTED=""
failover_bench_cleanup() {
  local p
  for p in "${PING_PIDS[@]}"; do pid_is "$p" ping && kill -INT "$p" 2>/dev/null; done
  [ -n "$FAULTED" ] && node_exec "$FAULTED" nft delete table inet kgefault 2>/dev/null
}
failover_bench_up failover-bench kgf
PINGLOSS="$REPO/tests/interop/pingloss.py"

ann() {
  kctl get node "$1" -o json | python3 -c 'import json,sys; a = json.load(sys.stdin)["metadata"].get("annotations", {}); print(a.get(sys.argv[1], "<absent>"))' "$2"
}
leads() {
  [ -n "$(node_annotation "$1" wireguard-ip)" ] && [ -z "$(node_annotation "$2" wireguard-ip)" ]
}
quiet_for() { # DIR T0 SECONDS
  local q
  q=$(python3 "$PINGLOSS" "$1" "$2" now --quiet 2>/dev/null) || return 1
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$q" "$3"
}
moved_before() { # NODE SECONDS: kg's last move (marker on NODE) is older than SECONDS, or none
  local m
  m=$(ann "$1" kg.kilo.squat.ai/leader-by)
  [ "$m" = "<absent>" ] || [ $(($(date +%s) - ${m##* })) -gt "$2" ]
}

results=()
leader=gcp-1 other=gcp-2
for ((i = 1; i <= N; i++)); do
  wait_for 120 "$leader to lead" leads "$leader" "$other" || exit 1
  wait_for 120 "the rate limit" moved_before "$leader" 61 || exit 1
  wait_mesh 120 >/dev/null 2>&1 || { log "mesh not whole before trial $i"; exit 1; }
  dir="$STATE/ping-$i"
  mkdir -p "$dir"
  PING_PIDS=()
  nodes="aws-1 lab-1 lab-2 $other"
  for s in $nodes; do
    for d in $nodes; do
      [ "$s" = "$d" ] && continue
      ip netns exec "$(pod_ns "$s")" ping -n -D -O -i 0.2 -W 1 "$(node_pod_ip "$d")" >"$dir/$s.$d" 2>&1 </dev/null &
      PING_PIDS+=($!)
    done
  done
  sleep 2
  t0=$(date +%s.%N)
  printf 'table inet kgefault { chain kfwd { type filter hook forward priority -400; policy accept; drop; }; }\n' |
    node_exec "$leader" nft -f - || exit 1
  FAULTED=$leader
  wait_for 120 "$other to lead" leads "$other" "$leader" || exit 1
  wait_for 120 "3 s without a lost ping" quiet_for "$dir" "$t0" 3 || exit 1
  t1=$(date +%s.%N)
  for p in "${PING_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  PING_PIDS=()
  secs=$(python3 "$PINGLOSS" "$dir" "$t0" "$t1" | awk '$11 != "-" && $11 + 0 > m {m = $11 + 0} END {printf "%.1f\n", m + 0}')
  echo "trial $i: forwarding dropped on $leader, $other took over, pings restored after $secs s"
  results+=("$secs")
  node_exec "$leader" nft delete table inet kgefault
  FAULTED=""
  tmp=$leader leader=$other other=$tmp
done
printf '%s\n' "${results[@]}" | python3 -c '
import math, sys
v = sorted(float(x) for x in sys.stdin if x.strip())
def pct(p):  # nearest rank
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]
print("failover: %d trials, p50 %.1f s, p95 %.1f s, max %.1f s" % (len(v), pct(50), pct(95), v[-1]))'
