#!/usr/bin/env bats
# Node annotations at work on a running 6-node cluster (granularity location). Every test
# restores what it changed and waits for the full mesh again before finishing.
#
# Extra for this file: a "printer" namespace on the gcp LAN (10.20.0.50, no agent), for
# allowed-location-ips.
load common

setup_file() {
  export KGE_GRANULARITY=location
  e2e_setup_file
  add_lan_host printer 2 10.20.0.50
}
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

@test "annotation location: a node moved to its own location becomes that location's leader" {
  local k2
  k2=$(node_pubkey aws-2)
  [ -n "$k2" ]
  wg_lacks_peer aws-1 "$k2"
  on_teardown unann aws-2 location
  ann aws-2 location=aws-edge
  retry 40 wg_has_peer aws-1 "$k2"
  retry 40 wg_has_peer gcp-1 "$k2"
  retry 40 peer_count_is aws-2 3
  run wg_peer_field aws-1 "$k2" allowed-ips
  echo "aws-1 -> aws-2 allowed IPs: $output"
  [[ "$output" == *10.42.4.0/24* ]]
  [ "$(wg_peer_field aws-1 "$k2" endpoint)" = 10.10.0.12:51820 ]
  # aws-1 <-> aws-2 now crosses WireGuard
  local r0 r1
  r0=$(wg_peer_field aws-1 "$k2" rx)
  retry 20 pod_ping aws-1 "$(node_pod_ip aws-2)"
  pod_exec aws-1 ping -n -q -c 10 -i 0.05 -s 1000 -W 2 "$(node_pod_ip aws-2)"
  r1=$(wg_peer_field aws-1 "$k2" rx)
  echo "aws-1 rx from aws-2: $r0 -> $r1"
  [ $((r1 - r0)) -ge 10000 ]
  [ "$(kctl get node aws-2 -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/wireguard-ip}')" != "" ]

  unann aws-2 location
  retry 40 wg_lacks_peer aws-1 "$k2"
  retry 40 peer_count_is aws-2 0
  retry 40 peer_count_is aws-1 2
  wait_mesh 60
}

@test "annotation leader: moves the gateway of a location" {
  local k1 k2
  k1=$(node_pubkey gcp-1)
  k2=$(node_pubkey gcp-2)
  wg_has_peer aws-1 "$k1"
  on_teardown unann gcp-2 leader
  ann gcp-2 leader=true
  retry 40 wg_has_peer aws-1 "$k2"
  retry 40 wg_has_peer lab-1 "$k2"
  wg_lacks_peer aws-1 "$k1"
  [ "$(wg_peer_field aws-1 "$k2" endpoint)" = 203.0.113.22:51820 ]
  retry 40 peer_count_is gcp-1 0
  retry 40 peer_count_is gcp-2 2
  wait_mesh 60
  # the gcp pods are now reached through gcp-2
  run node_exec gcp-1 ip -4 route get "$(node_pod_ip aws-2)"
  echo "$output"
  [[ "$output" == *"via 10.20.0.12 dev lan0"* ]]

  unann gcp-2 leader
  retry 40 wg_has_peer aws-1 "$k1"
  retry 40 wg_lacks_peer aws-1 "$k2"
  retry 40 peer_count_is gcp-2 0
  wait_mesh 60
}

@test "annotation force-endpoint: peers use the forced address and port" {
  local k1
  k1=$(node_pubkey gcp-1)
  [ "$(wg_peer_field aws-1 "$k1" endpoint)" = 203.0.113.21:51820 ]
  on_teardown unann gcp-1 force-endpoint
  ann gcp-1 force-endpoint=203.0.113.21:51821
  retry 40 wg_field_is aws-1 "$k1" endpoint 203.0.113.21:51821
  retry 40 wg_field_is lab-1 "$k1" endpoint 203.0.113.21:51821
  # as in Kilo, the node's own endpoint port is also its WireGuard listen port
  retry 40 bash -c "nsenter -t $(cat "$KGE_STATE/pids/gcp-1.wg") -n -m -- wg show kilo0 listen-port | grep -qx 51821"
  [ "$(node_annotation gcp-1 force-endpoint)" = 203.0.113.21:51821 ]
  wait_mesh 60
  # one more whole reconcile of aws-1's kg: the forced endpoint stays
  local r
  r=$(reconciles aws-1)
  wait_reconciled 30 aws-1 "$r"
  [ "$(wg_peer_field aws-1 "$k1" endpoint)" = 203.0.113.21:51821 ]
  # the tunnel packets really go to the new port
  run ip netns exec "$(node_ns gcp-1)" conntrack -L -p udp --orig-port-dst 51821
  echo "$output"
  [[ "$output" == *"dport=51821"* ]]

  unann gcp-1 force-endpoint
  retry 40 wg_field_is aws-1 "$k1" endpoint 203.0.113.21:51820
  retry 40 wg_field_is lab-1 "$k1" endpoint 203.0.113.21:51820
  wait_mesh 60
}

@test "annotation persistent-keepalive: shows on the peers of that node" {
  local k
  on_teardown unann aws-1 persistent-keepalive
  ann aws-1 persistent-keepalive=7
  for k in $(node_pubkey gcp-1) $(node_pubkey lab-1); do
    retry 40 wg_field_is aws-1 "$k" keepalive 7
  done
  # another leader's keepalive is its own (gcp-1 has none)
  [ "$(wg_peer_field gcp-1 "$(node_pubkey aws-1)" keepalive)" = off ]
  # and lab-1's (kilo.squat.ai/persistent-keepalive=10 from the start) is on its peers
  [ "$(wg_peer_field lab-1 "$(node_pubkey aws-1)" keepalive)" = 10 ]
  unann aws-1 persistent-keepalive
  retry 40 wg_field_is aws-1 "$(node_pubkey gcp-1)" keepalive off
}

@test "annotation force-internal-ip: a CIDR replaces the detected private IP, '-' removes it" {
  local k2
  k2=$(node_pubkey aws-2)
  on_teardown ip -n "$(node_ns aws-2)" addr del 10.10.0.112/24 dev lan0
  on_teardown unann aws-2 force-internal-ip
  ip -n "$(node_ns aws-2)" addr add 10.10.0.112/24 dev lan0
  ann aws-2 force-internal-ip=10.10.0.112/24
  retry 40 route_has aws-1 "$(node_pod_cidr aws-2)" "via 10.10.0.112"
  retry 40 wg_allowed_has gcp-1 10.10.0.112/32
  wg_allowed_lacks gcp-1 10.10.0.12/32
  wait_mesh 60

  # "-": no private IP, so aws-2 forms a segment of its own with a WireGuard peer on aws-1
  ann aws-2 force-internal-ip=-
  retry 40 wg_has_peer aws-1 "$k2"
  retry 40 peer_count_is aws-2 3
  retry 20 pod_ping aws-1 "$(node_pod_ip aws-2)"
  wg_allowed_lacks gcp-1 10.10.0.112/32

  unann aws-2 force-internal-ip
  ip -n "$(node_ns aws-2)" addr del 10.10.0.112/24 dev lan0
  retry 40 wg_lacks_peer aws-1 "$k2"
  retry 40 wg_allowed_has gcp-1 10.10.0.12/32
  wait_mesh 60
}

@test "annotation allowed-location-ips: a host behind a location becomes reachable, and not after removal" {
  pod_unreachable aws-2 10.20.0.50
  on_teardown unann gcp-2 allowed-location-ips
  ann gcp-2 allowed-location-ips=10.20.0.50/32
  retry 40 wg_allowed_has aws-1 10.20.0.50/32
  retry 30 pod_ping aws-2 10.20.0.50
  retry 30 pod_ping lab-2 10.20.0.50
  retry 30 pod_ping aws-1 10.20.0.50
  unann gcp-2 allowed-location-ips
  retry 40 wg_allowed_lacks aws-1 10.20.0.50/32
  retry 30 pod_unreachable aws-2 10.20.0.50
  pod_unreachable lab-2 10.20.0.50
}

@test "bad annotation force-endpoint=nonsense: the mesh keeps working and kg logs a warning" {
  local n
  declare -A before
  on_teardown unann gcp-2 force-endpoint
  for n in $(node_names); do before[$n]=$(metric "$n" kilo_invalid_values); done
  ann gcp-2 force-endpoint=nonsense
  # every agent has reconciled with the bad value: it counts one more invalid value
  for n in $(node_names); do retry 30 metric_above "$n" kilo_invalid_values "${before[$n]}"; done
  wait_mesh 30
  # a warning line naming node, annotation and value, in some agent's log
  retry 30 bash -c "grep -h nonsense '$KGE_STATE'/logs/*.kg.log | grep -i warn | grep gcp-2 | grep -q force-endpoint"
  grep -h nonsense "$KGE_STATE"/logs/*.kg.log | grep -i warn | grep gcp-2 | grep force-endpoint | head -3
  unann gcp-2 force-endpoint
  wait_mesh 30
}
