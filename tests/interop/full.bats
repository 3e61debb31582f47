#!/usr/bin/env bats
# Granularity full with both kinds of agent: every node is its own segment with a
# WireGuard peer for each of the 5 others, whatever agent those run. As in
# tests/e2e/mesh-full.bats, aws-1, aws-2, gcp-1, gcp-2 are public (two NATed nodes cannot
# reach each other directly).
#
#   aws-1 Go   gcp-1 kg   lab-1 Go   (lab behind NAT, persistent-keepalive 10)
#   aws-2 kg   gcp-2 Go   lab-2 kg
load interop

setup_file() {
  export KGE_GRANULARITY=full KGE_NODES=6 KGE_PUBLIC="aws-1 aws-2 gcp-1 gcp-2" KGE_GO_NODES="aws-1 lab-1 gcp-2"
  interop_setup_file
}
teardown_file() { interop_teardown_file; }
setup() { interop_setup; }
teardown() { interop_teardown; }

# endpoint_is_nat NODE PUBKEY: NODE reaches that peer at the lab router's address.
endpoint_is_nat() {
  local e
  e=$(wg_peer_field "$1" "$2" endpoint)
  echo "$1 reaches $2 at $e"
  [[ "$e" == 198.51.100.13:* ]]
}

# ping_explained SRC DST: 5 pings from SRC's pod to DST's; when they fail, what each end's
# WireGuard peer for the other looks like (endpoint, handshake, transfer), each end's
# route to the other's pod, and the last lines of both agents' logs.
ping_explained() {
  local src=$1 dst=$2 n
  pod_exec "$src" ping -n -q -c 5 -i 0.2 -W 2 "$(node_pod_ip "$dst")" && return 0
  for n in "$src" "$dst"; do
    local other=$dst
    [ "$n" = "$src" ] || other=$src
    echo "--- $n ($(agent_kind "$n")): its peer $other, its route to $other's pod, log tail"
    wg_dump "$n" | awk -v k="$(node_pubkey "$other")" '$1 == k {print "endpoint " $3 " allowed " $4 " handshake " $5 " rx " $6 " tx " $7 " keepalive " $8}'
    node_exec "$n" ip route get "$(node_pod_ip "$other")" || true
    tail -n 6 "$KGE_STATE/logs/$n.kg.log" | cut -c1-300
  done
  echo "--- discovered-endpoints (what each node saw of the NATed ones); $dst's key $(node_pubkey "$dst")"
  for n in $(node_names); do echo "$n: $(node_annotation "$n" discovered-endpoints)"; done
  return 1
}

@test "full: each node runs the agent asked for, every one a leader with 5 WireGuard peers" {
  run agents_line
  echo "$output"
  [ "$output" = "aws-1=go gcp-1=kg lab-1=go aws-2=kg gcp-2=go lab-2=kg" ]
  local n
  for n in $(node_names); do
    retry 30 peer_count_is "$n" 5
    retry 30 metric_is "$n" kilo_leader 1
    echo "$n ($(agent_kind "$n")): $(wg_peer_count "$n") peers, granularity $(node_annotation "$n" granularity)"
    [ "$(node_annotation "$n" granularity)" = full ]
  done
}

@test "full: direct tunnels between kinds (Go aws-1 <-> kg gcp-1, kg aws-2 <-> Go lab-1 behind NAT)" {
  # Each peer carries exactly the other node's pod subnet and is reached at its own endpoint.
  run wg_peer_field aws-1 "$(node_pubkey gcp-1)" allowed-ips
  echo "aws-1 (Go) -> gcp-1 (kg): $output"
  [[ "$output" == *10.42.2.0/24* && "$output" != *10.42.5.0/24* ]]
  [ "$(wg_peer_field aws-1 "$(node_pubkey gcp-1)" endpoint)" = 203.0.113.21:51820 ]
  run wg_peer_field gcp-1 "$(node_pubkey aws-1)" allowed-ips
  echo "gcp-1 (kg) -> aws-1 (Go): $output"
  [[ "$output" == *10.42.1.0/24* && "$output" != *10.42.4.0/24* ]]
  # lab-1 (Go, NATed) is reached by kg on gcp-1 at its NAT address
  retry 30 endpoint_is_nat gcp-1 "$(node_pubkey lab-1)"
  retry 30 endpoint_is_nat aws-2 "$(node_pubkey lab-1)"
  ping_explained aws-2 lab-1
  ping_explained lab-1 gcp-1
}

@test "full: every pod and node pings every other" {
  PING_VERBOSE=1 ping_matrix
  PING_VERBOSE=1 node_matrix
}
