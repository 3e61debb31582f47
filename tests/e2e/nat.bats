#!/usr/bin/env bats
# NAT: the lab location (lab-1, lab-2) sits behind a router that masquerades with random
# source ports and forwards nothing inwards. lab nodes carry persistent-keepalive=10, so
# lab-1 (the lab leader, endpoint 10.30.0.11:51820 unreachable from outside) opens the
# tunnels; the other leaders learn its NATed endpoint from the handshake.
load common

setup_file() { export KGE_GRANULARITY=location; e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

# discovered NODE PUBKEY: "IP:Port" from NODE's discovered-endpoints annotation.
discovered() {
  kctl get node "$1" -o json | python3 -c '
import json, sys
a = json.load(sys.stdin)["metadata"].get("annotations", {})
d = json.loads(a.get("kilo.squat.ai/discovered-endpoints") or "{}")
e = d.get(sys.argv[1])
if not e: sys.exit(1)
print("%s:%s" % (e["IP"], e["Port"]))' "$2"
}
# nat_port: the WAN port router r3 currently maps lab-1's 10.30.0.11:51820 -> 203.0.113.11 to.
nat_port() {
  ip netns exec "$(router_ns 3)" conntrack -L -p udp -s 10.30.0.11 -d 203.0.113.11 --sport 51820 2>/dev/null |
    sed -n 's/.*src=203.0.113.11 dst=198.51.100.13 sport=51820 dport=\([0-9]*\).*/\1/p' | head -1
}
endpoint_matches_nat() {
  local p
  p=$(nat_port)
  [ -n "$p" ] && wg_field_is aws-1 "$(node_pubkey lab-1)" endpoint "198.51.100.13:$p"
}
discovered_matches_nat() {
  local p
  p=$(nat_port)
  [ -n "$p" ] && [ "$(discovered aws-1 "$(node_pubkey lab-1)")" = "198.51.100.13:$p" ]
}

@test "nat: lab pods and nodes are reachable from the other locations and reach them" {
  PING_VERBOSE=1 ping_matrix
  pod_ping aws-2 "$(node_pod_ip lab-2)"
  pod_ping gcp-2 "$(node_pod_ip lab-1)"
  ip netns exec "$(node_ns gcp-2)" ping -c1 -W2 10.30.0.12
  # lab-1's own endpoint is private: nobody outside could have reached it first
  [ "$(node_annotation lab-1 endpoint)" = 10.30.0.11:51820 ]
}

@test "nat: the NATed endpoint is discovered, published in discovered-endpoints and used by the other leaders" {
  local k
  k=$(node_pubkey lab-1)
  retry 40 discovered aws-1 "$k"
  run discovered aws-1 "$k"
  echo "aws-1 discovered lab-1 at $output"
  [[ "$output" == 198.51.100.13:* ]]
  retry 40 discovered gcp-1 "$k"
  run wg_peer_field aws-1 "$k" endpoint
  [[ "$output" == 198.51.100.13:* ]]
  run wg_peer_field gcp-1 "$k" endpoint
  [[ "$output" == 198.51.100.13:* ]]
  retry 20 endpoint_matches_nat
  retry 40 discovered_matches_nat
}

@test "nat: ping keeps working after the router's conntrack is flushed (new NAT mapping)" {
  local before after
  retry 20 endpoint_matches_nat
  before=$(nat_port)
  bg_start natping pod_exec aws-2 ping -n -i 0.5 -W 1 -w 60 "$(node_pod_ip lab-2)"
  sleep 3
  ip netns exec "$(router_ns 3)" conntrack -F
  echo "flushed conntrack in $(router_ns 3); old mapping 198.51.100.13:$before"
  # the tunnel comes back (lab-1's keepalive re-opens a mapping) ...
  retry 40 endpoint_matches_nat
  after=$(nat_port)
  echo "new mapping 198.51.100.13:$after"
  retry 30 pod_ping aws-2 "$(node_pod_ip lab-2)"
  retry 30 pod_ping lab-1 "$(node_pod_ip gcp-2)"
  # ... the published endpoint follows the new mapping ...
  retry 45 discovered_matches_nat
  # ... and keeps answering for 10 s more without loss
  pod_exec aws-2 ping -n -q -c 20 -i 0.5 -W 1 "$(node_pod_ip lab-2)" >"$KGE_STATE/natping2.out" || true
  cat "$KGE_STATE/natping2.out"
  ping_loss_ok "$KGE_STATE/natping2.out" 0
  wait_mesh 30
}
