#!/usr/bin/env bash
# Leader failover soak: 2 % random loss on every link of the virtual cluster
# (tests/e2e/lib.sh, location granularity, 6 nodes, kg --leader-failover) for DURATION
# seconds; counts the leader changes kg decided (kilo_leader_changes_total on every node
# and the "leadership moved" log lines). The kernel here has no netem: each node
# namespace drops 2 % of the packets arriving on any interface but lo and kilo0 (the
# tunnel's inner packets already crossed a lossy link as UDP), with nftables'
# `numgen random mod 100 < 2 drop` in the prerouting hook: one lossy hop per link.
#
#   bench/failover-soak.sh [DURATION_SECONDS]     default 3600; needs root
#
# Last line: failover-soak: D s at 2 % loss per link, N leader changes
set -uo pipefail
DURATION=${1:-3600}
# shellcheck source=failover-common.sh
. "$(dirname "$0")/failover-common.sh"
failover_bench_up failover-soak kgk
for n in $(node_names); do
  printf 'table inet kgesoak { chain pre { type filter hook prerouting priority -400; policy accept; iifname != { "lo", "kilo0" } numgen random mod 100 < 2 drop; }; }\n' |
    node_exec "$n" nft -f - || exit 1
done
log "2 % loss on every link for $DURATION s"
sleep "$DURATION"
changes=0
for n in $(node_names); do
  v=$(node_exec "$n" curl -sS --max-time 5 "http://$(node_lan_ip "$n"):1107/metrics" |
    awk '$1 ~ /^kilo_leader_changes_total/ {s += $2} END {print s + 0}')
  changes=$((changes + ${v%.*}))
done
moves=$(cat "$KGE_STATE"/logs/*.kg.log | grep -c 'msg="leadership moved"')
grep -h 'msg="leadership moved"' "$KGE_STATE"/logs/*.kg.log >&2
lost=$(cat "$KGE_STATE"/logs/*.kg.log | grep -c 'msg="path lost"')
log "path-lost events: $lost; leadership-moved log lines: $moves"
echo "failover-soak: $DURATION s at 2 % loss per link, $changes leader changes"
