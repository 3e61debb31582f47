#!/usr/bin/env bats
# The virtual cluster's underlay without any agent (see the drawing in lib.sh): LANs,
# routers that masquerade, the internet namespace with the API emulator, per-node mount
# namespaces for wireguard-go, and a teardown that leaves nothing behind.
load common

setup_file() { e2e_setup_file no-agents; }
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

@test "underlay: the API emulator answers kubectl and holds the Node objects" {
  run kctl get nodes -o name
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | sort | tr '\n' ' ')" = "node/aws-1 node/aws-2 node/gcp-1 node/gcp-2 node/lab-1 node/lab-2 " ]
  run kctl get node gcp-2 -o jsonpath='{.spec.podCIDR} {.metadata.labels.topology\.kubernetes\.io/region}'
  [ "$output" = "10.42.5.0/24 gcp" ]
  run kctl get node lab-1 -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/persistent-keepalive}'
  [ "$output" = "10" ]
  run kctl get crd peers.kilo.squat.ai -o name
  [ "$status" -eq 0 ]
}

@test "underlay: every node reaches the API server (directly or through its NAT router)" {
  [ "$(node_names | wc -l)" -eq 6 ]
  for n in $(node_names); do
    run ip netns exec "$(node_ns "$n")" curl -sk -o /dev/null -w '%{http_code}' "https://$KGE_API_IP:$KGE_API_PORT/version"
    echo "$n: $output"
    [ "$output" = 401 ] # reached it; no token given
  done
}

@test "underlay: LAN neighbours and routers answer; pods reach their node" {
  ip netns exec "$(node_ns aws-1)" ping -c1 -W1 10.10.0.12
  ip netns exec "$(node_ns lab-2)" ping -c1 -W1 10.30.0.11
  ip netns exec "$(node_ns gcp-2)" ping -c1 -W1 10.20.0.1
  for n in $(node_names); do pod_exec "$n" ping -c1 -W1 "$(node_gw_ip "$n")" >/dev/null; done
}

@test "underlay: NAT: lab nodes reach public nodes masqueraded as the router's WAN address" {
  ip netns exec "$(node_ns lab-1)" ping -c1 -W1 203.0.113.11
  run ip netns exec "$(router_ns 3)" conntrack -L -p icmp -s 10.30.0.11 -d 203.0.113.11
  echo "$output"
  [[ "$output" == *"dst=198.51.100.13"* ]]
  # No port forwarding: the internet cannot open anything towards the lab LAN.
  run ! ip netns exec "$(inet_ns)" ping -c1 -W1 10.30.0.11
  run ! ip netns exec "$(node_ns aws-1)" ping -c1 -W1 10.30.0.11
}

@test "underlay: public nodes reach each other directly" {
  ip netns exec "$(node_ns aws-1)" ping -c1 -W1 203.0.113.22
  ip netns exec "$(node_ns gcp-1)" ping -c1 -W1 203.0.113.11
}

@test "underlay: without agents no pod reaches a pod of another node" {
  run ping_matrix
  [ "$status" -ne 0 ]
  run grep -c ok "$KGE_STATE/last-ping-matrix"
  [ "$output" = 0 ]
}

@test "underlay: wireguard-go runs with a private /var/run/wireguard per node" {
  wg_start aws-1
  wg_start lab-2
  node_exec aws-1 test -S /var/run/wireguard/kilo0.sock
  node_exec lab-2 test -S /var/run/wireguard/kilo0.sock
  run node_exec aws-1 wg show interfaces
  [ "$output" = kilo0 ]
  ip -n "$(node_ns lab-2)" link show kilo0
  # the host's own directories stay empty
  [ ! -e /run/wireguard/kilo0.sock ]
  [ -z "$(ls -A /var/lib/kilo)" ]
  node_exec aws-1 sh -c 'echo secret >/var/lib/kilo/probe'
  [ ! -e /var/lib/kilo/probe ]
  run ! node_exec lab-2 test -e /var/lib/kilo/probe
}

@test "underlay: teardown kills what it started and deletes every namespace" {
  local wgpid
  wg_start gcp-1
  wgpid=$(cat "$KGE_STATE/pids/gcp-1.wg")
  pid_is "$wgpid" wireguard-go
  cluster_down
  run ip netns list
  [[ "$output" != *"$KGE_PREFIX"* ]]
  run ! pid_is "$wgpid" wireguard-go
  [ -z "$(ls "$KGE_STATE/pids")" ]
  # the file's teardown_file runs again and must be harmless
  cluster_down
}
