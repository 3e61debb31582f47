#!/usr/bin/env bash
# kg measured on the 6-node, 3-location virtual cluster (tests/e2e/cluster.sh):
#  1. time from `kubectl annotate` (allowed-location-ips on aws-2) until every node
#     outside that location has the new route installed (median and max of ROUNDS);
#  2. idle RSS of each kg, and CPU time per resync (resync period 5 s);
#  3. writes during 10 idle resyncs: kg logs one `msg=reconciled` line per
#     reconcile that wrote anything, with per-adapter write counts; the sum of the
#     WireGuard (UAPI), netlink (routes, rules, addresses), nftables and CNI counts
#     over the idle window is reported (heartbeat annotation patches to the API,
#     every 30 s by design, are reported separately).
# Usage: bench/agent_bench.sh [BUILD_DIR] [ROUNDS]   (root)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
ROUNDS=${2:-10}
export KG="$PWD/$BUILD/bin/kg" KGCTL="$PWD/$BUILD/bin/kgctl" REPO="$PWD"
STATE=$(mktemp -d /tmp/kilo-agent-bench.XXXX)
C="tests/e2e/cluster.sh"
trap '$C down --state "$STATE" >/dev/null 2>&1; rm -rf "$STATE"' EXIT
$C up --state "$STATE" --nodes 6 >/dev/null 2>&1 || { echo "cluster did not come up"; exit 1; }
echo "cluster up"
ms() { date +%s%N | cut -c1-13; }
others="gcp-1 gcp-2 lab-1 lab-2"
lat=()
for i in $(seq "$ROUNDS"); do
  ip="10.10.0.$((100 + i))/32"
  # One watcher per node, started before the change, polls inside the node's
  # namespace (10 ms) and prints the time the route appeared.
  wp=()
  for n in $others; do
    $C exec --state "$STATE" "$n" sh -c "for k in \$(seq 3000); do ip route show $ip | grep -q . && break; sleep 0.01; done; date +%s%N | cut -c1-13" >"$STATE/seen.$n" 2>/dev/null &
    wp+=($!)
  done
  sleep 1.5  # watchers running
  t0=$(ms)
  $C kubectl --state "$STATE" annotate node aws-2 --overwrite "kilo.squat.ai/allowed-location-ips=$ip" >/dev/null
  wait "${wp[@]}"
  last=0
  for n in $others; do t=$(cat "$STATE/seen.$n"); [ "$t" -gt "$last" ] && last=$t; done
  lat+=($(( last - t0 )))
done
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(( (ROUNDS + 1) / 2 ))p")
echo "annotate -> applied on every other-location node: median ${median} ms, max $(echo "$sorted" | tail -1) ms (n=$ROUNDS; includes the kubectl run and 10 ms polling)"
sleep 6  # let the last change settle
declare -A cpu0 wc0
for n in aws-1 aws-2 gcp-1 gcp-2 lab-1 lab-2; do
  pid=$(cat "$STATE/pids/$n.kg")
  cpu0[$n]=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  wc0[$n]=$(wc -l <"$STATE/logs/$n.kg.log")
done
sleep 50  # 10 resyncs of 5 s
hz=$(getconf CLK_TCK)
printf '%-7s %10s %14s %22s %18s\n' node rss_mib cpu_ms/resync host_writes_10_resyncs api_heartbeats
for n in aws-1 aws-2 gcp-1 gcp-2 lab-1 lab-2; do
  pid=$(cat "$STATE/pids/$n.kg")
  rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$pid/status")
  cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  idle=$(tail -n +"$(( ${wc0[$n]} + 1 ))" "$STATE/logs/$n.kg.log" | grep 'msg=reconciled')
  w=$(grep -oE '(wireguard|route|rule|firewall|address|cni)_writes=[0-9]+' <<<"$idle" | awk -F= '{s+=$2} END {print s+0}')
  a=$(grep -oE 'annotation_writes=[0-9]+' <<<"$idle" | awk -F= '{s+=$2} END {print s+0}')
  printf '%-7s %10s %14s %22s %18s\n' "$n" "$rss" "$(( (cpu1 - ${cpu0[$n]}) * 1000 / hz / 10 ))" "$w" "$a"
done
