#!/usr/bin/env bats
# Mesh granularity "location": 6 nodes in 3 locations (aws, gcp, lab behind NAT); the
# leaders (aws-1, gcp-1, lab-1) carry all inter-location traffic over WireGuard.
load common

setup_file() { export KGE_GRANULARITY=location; e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

@test "location: every pod pings every other pod across the 3 locations" {
  PING_VERBOSE=1 ping_matrix
}

@test "location: every node pings every other node's private IP across the 3 locations" {
  PING_VERBOSE=1 node_matrix
}

@test "location: the leaders have one WireGuard peer per other location, the others none" {
  for n in aws-1 gcp-1 lab-1; do
    run wg_peer_count "$n"
    echo "$n peers: $output"
    [ "$output" -eq 2 ]
  done
  for n in aws-2 gcp-2 lab-2; do
    run wg_peer_count "$n"
    echo "$n peers: $output"
    [ "$output" -eq 0 ]
  done
  # aws-1's peer for gcp is gcp-1 (the gcp leader), with both gcp pod subnets
  wg_has_peer aws-1 "$(node_pubkey gcp-1)"
  [ "$(wg_peer_field aws-1 "$(node_pubkey gcp-1)" endpoint)" = 203.0.113.21:51820 ]
  run wg_peer_field aws-1 "$(node_pubkey gcp-1)" allowed-ips
  [[ "$output" == *10.42.2.0/24* && "$output" == *10.42.5.0/24* ]]
}

@test "location: inter-location traffic goes through WireGuard (transfer counters grow on the leaders)" {
  local k_aws k_gcp a0 g0 a1 g1
  k_aws=$(node_pubkey aws-1)
  k_gcp=$(node_pubkey gcp-1)
  a0=$(wg_peer_field aws-1 "$k_gcp" rx)
  g0=$(wg_peer_field gcp-1 "$k_aws" rx)
  # non-leader to non-leader: aws-2 -> aws-1 -> WireGuard -> gcp-1 -> gcp-2
  pod_exec aws-2 ping -n -q -c 20 -i 0.05 -s 1000 -W 2 "$(node_pod_ip gcp-2)"
  a1=$(wg_peer_field aws-1 "$k_gcp" rx)
  g1=$(wg_peer_field gcp-1 "$k_aws" rx)
  echo "aws-1 rx from gcp-1: $a0 -> $a1; gcp-1 rx from aws-1: $g0 -> $g1"
  [ $((a1 - a0)) -ge 20000 ]
  [ $((g1 - g0)) -ge 20000 ]
  # and the route the packets took on the aws leader is the WireGuard interface
  run node_exec aws-1 ip -4 route get "$(node_pod_ip gcp-2)"
  echo "$output"
  [[ "$output" == *"dev kilo0"* ]]
}

@test "location: intra-location traffic stays on the LAN" {
  run node_exec aws-2 ip -4 route get "$(node_pod_ip aws-1)"
  echo "$output"
  [[ "$output" == *"via 10.10.0.11 dev lan0"* ]]
  run node_exec aws-2 ip -4 route get "$(node_pod_ip lab-2)"
  echo "$output"
  [[ "$output" == *"via 10.10.0.11 dev lan0"* ]]
}

@test "location: every agent publishes its annotations" {
  kctl get nodes -o json | python3 -c '
import json, sys, time
items = json.load(sys.stdin)["items"]
assert len(items) == 6, len(items)
for n in items:
  a = n["metadata"].get("annotations", {}); name = n["metadata"]["name"]
  p = lambda k, d=None: a.get("kilo.squat.ai/" + k, d)
  assert p("key") and len(p("key")) == 44, (name, "key", p("key"))
  assert p("endpoint"), (name, "endpoint")
  assert p("internal-ip", "").startswith("10."), (name, "internal-ip", p("internal-ip"))
  assert p("granularity") == "location", (name, "granularity", p("granularity"))
  assert abs(time.time() - int(p("last-seen"))) < 60, (name, "last-seen", p("last-seen"))
  leader = name.endswith("-1")
  assert bool(p("wireguard-ip")) == leader, (name, "wireguard-ip", p("wireguard-ip"))
'
  [ "$(node_annotation aws-1 endpoint)" = 203.0.113.11:51820 ]
  [ "$(node_annotation aws-2 internal-ip)" = 10.10.0.12/24 ]
}

@test "location: the CNI conflist holds the node's pod CIDR" {
  run node_exec gcp-2 cat /etc/cni/net.d/10-kilo.conflist
  echo "$output"
  [[ "$output" == *'"10.42.5.0/24"'* ]]
  [[ "$output" == *kube-bridge* ]]
}
