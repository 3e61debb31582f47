#!/usr/bin/env bats
# Mesh granularity "full": every node is its own segment and keeps a WireGuard peer for
# every other node. aws-1, aws-2, gcp-1, gcp-2 have public addresses; lab-1 and lab-2 are
# behind the NAT router with persistent-keepalive (their endpoints are discovered).
load common

setup_file() {
  export KGE_GRANULARITY=full KGE_PUBLIC="aws-1 aws-2 gcp-1 gcp-2"
  e2e_setup_file
}
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

@test "full: every pod pings every other pod across the 3 locations" {
  PING_VERBOSE=1 ping_matrix
}

@test "full: every node pings every other node's private IP" {
  PING_VERBOSE=1 node_matrix
}

@test "full: every node has a WireGuard peer for each of the 5 others" {
  for n in $(node_names); do
    run wg_peer_count "$n"
    echo "$n peers: $output"
    [ "$output" -eq 5 ]
  done
  # every node is a leader: granularity full and a WireGuard IP of its own
  kctl get nodes -o json | python3 -c '
import json, sys
for n in json.load(sys.stdin)["items"]:
    a = n["metadata"].get("annotations", {})
    name = n["metadata"]["name"]
    assert a.get("kilo.squat.ai/granularity") == "full", (name, a.get("kilo.squat.ai/granularity"))
    assert a.get("kilo.squat.ai/wireguard-ip"), (name, "no wireguard-ip")
    print(name, a["kilo.squat.ai/wireguard-ip"])'

}

@test "full: traffic between two nodes goes over their direct tunnel (counters grow)" {
  local k_a k_g a0 g0 a1 g1
  k_a=$(node_pubkey aws-2)
  k_g=$(node_pubkey gcp-2)
  a0=$(wg_peer_field aws-2 "$k_g" rx)
  g0=$(wg_peer_field gcp-2 "$k_a" rx)
  pod_exec aws-2 ping -n -q -c 20 -i 0.05 -s 1000 -W 2 "$(node_pod_ip gcp-2)"
  a1=$(wg_peer_field aws-2 "$k_g" rx)
  g1=$(wg_peer_field gcp-2 "$k_a" rx)
  echo "aws-2 rx from gcp-2: $a0 -> $a1; gcp-2 rx from aws-2: $g0 -> $g1"
  [ $((a1 - a0)) -ge 20000 ]
  [ $((g1 - g0)) -ge 20000 ]
  [ "$(wg_peer_field aws-2 "$k_g" endpoint)" = 203.0.113.22:51820 ]
}

# Issue 13 item 4: a rolling update stops kg with SIGTERM (--clean-up takes its annotations
# off its node, so every other agent drops its peer and re-creates it). The NATed lab-1
# must not stay cut off from the public nodes while WireGuard gives up on the old
# sessions (15-20 s and more, before kg re-created its own peers on such a restart).
@test "full: a graceful restart of a NATed node's kg (SIGTERM, clean-up) costs a few seconds" {
  local d f
  on_teardown kg_ensure lab-1
  for d in aws-1 gcp-1 gcp-2; do
    bg_start "restart.lab-1.$d" pod_exec lab-1 ping -n -i 0.2 -W 1 -w 30 "$(node_pod_ip "$d")"
    bg_start "restart.$d.lab-1" pod_exec "$d" ping -n -i 0.2 -W 1 -w 30 "$(node_pod_ip lab-1)"
  done
  sleep 3
  kg_stop lab-1 TERM
  kg_start lab-1
  for d in aws-1 gcp-1 gcp-2; do
    for f in "restart.lab-1.$d" "restart.$d.lab-1"; do
      retry 40 bash -c "grep -q 'packets transmitted' '$KGE_STATE/logs/$f.log'"
      echo "$f: $(grep 'packets transmitted' "$KGE_STATE/logs/$f.log")"
      # the agent is down for its stop and start (hostname lookup included): at most 8 s
      ping_loss_ok "$KGE_STATE/logs/$f.log" 40
    done
  done
}
