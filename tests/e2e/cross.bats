#!/usr/bin/env bats
# Mesh granularity "cross" (SPEC 11.2, issue 16): WireGuard only between locations, the
# LAN inside them. 3 locations of 2 nodes (aws, gcp, lab; lab behind the NAT router with
# persistent-keepalive, its endpoints discovered); aws-1, aws-2, gcp-1, gcp-2 public, so
# that every node of one location can reach every node of the others.
#
#     aws: aws-1 ... aws-2        gcp: gcp-1 ... gcp-2        lab (NAT): lab-1 ... lab-2
#          (LAN, no WireGuard)         (LAN, no WireGuard)               (LAN, no WireGuard)
#     every node <== WireGuard ==> every node of the two other locations (4 peers each)
#
# --encapsulate=never in the virtual cluster (see lib.sh): the LAN carries pod traffic
# as it is.
load common

setup_file() {
  export KGE_GRANULARITY=cross KGE_PUBLIC="aws-1 aws-2 gcp-1 gcp-2"
  e2e_setup_file
}
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

# other_location_keys NODE [NODES]: the sorted public keys of NODES (default: all) that are
# not in NODE's location.
other_location_keys() {
  local n=$1 m
  for m in ${2:-$(node_names)}; do
    [ "$(node_loc "$m")" = "$(node_loc "$n")" ] && continue
    node_pubkey "$m"
  done | sort
}
wg_keys() { wg_dump "$1" | awk 'NR > 1 {print $1}' | sort; }
# wg_keys_are NODE NODES: NODE's WireGuard peers are exactly the nodes of the other
# locations among NODES (re-evaluated on every call, for retry).
wg_keys_are() { [ "$(wg_keys "$1")" = "$(other_location_keys "$1" "$2")" ]; }
# non_lab_transfer NODE...: rx+tx over the peers of NODEs that are not lab nodes (lab nodes
# send keepalives every 10 s whatever the traffic).
non_lab_transfer() {
  local n lab_keys
  lab_keys=$(for n in $(node_names); do [ "$(node_loc "$n")" = lab ] && node_pubkey "$n"; done | paste -sd,)
  for n in "$@"; do wg_dump "$n"; done |
    awk -v lab="$lab_keys" 'BEGIN {split(lab, k, ","); for (i in k) skip[k[i]] = 1}
      NF == 8 && !($1 in skip) {s += $6 + $7} END {print s + 0}'
}

@test "cross: every pod pings every other pod across the 3 locations" {
  PING_VERBOSE=1 ping_matrix
}

@test "cross: every node pings every other node's private IP" {
  PING_VERBOSE=1 node_matrix
}

@test "cross: wg show on each node lists exactly the nodes of the other locations" {
  local n
  for n in $(node_names); do
    echo "$n: $(wg_peer_count "$n") peers"
    wg_keys_are "$n"
    [ "$(wg_peer_count "$n")" -eq 4 ]
  done
  # every node leads its own segment: granularity cross and a WireGuard IP of its own
  kctl get nodes -o json | python3 -c '
import json, sys
for n in json.load(sys.stdin)["items"]:
    a = n["metadata"].get("annotations", {})
    name = n["metadata"]["name"]
    assert a.get("kilo.squat.ai/granularity") == "cross", (name, a.get("kilo.squat.ai/granularity"))
    assert a.get("kilo.squat.ai/wireguard-ip"), (name, "no wireguard-ip")
    print(name, a["kilo.squat.ai/wireguard-ip"])'
}

@test "cross: traffic inside a location leaves WireGuard's counters as they are; between locations it grows them" {
  local t0 t1 k_a k_g a0 a1 g0 g1
  # 100 x 1000 bytes inside aws, both ways (echo and reply): 200 kB on the LAN.
  t0=$(non_lab_transfer aws-1 aws-2)
  pod_exec aws-1 ping -n -q -c 100 -i 0.02 -s 1000 -W 2 "$(node_pod_ip aws-2)"
  t1=$(non_lab_transfer aws-1 aws-2)
  echo "aws-1 + aws-2 WireGuard rx+tx (non-lab peers) during aws-1 -> aws-2: $t0 -> $t1"
  # At most a few WireGuard keepalives and handshakes (32 and 148 bytes), not the 200 kB.
  [ $((t1 - t0)) -lt 2000 ]
  # The same between aws-2 and gcp-2: over their direct tunnel.
  k_a=$(node_pubkey aws-2)
  k_g=$(node_pubkey gcp-2)
  a0=$(wg_peer_field aws-2 "$k_g" rx)
  g0=$(wg_peer_field gcp-2 "$k_a" rx)
  pod_exec aws-2 ping -n -q -c 100 -i 0.02 -s 1000 -W 2 "$(node_pod_ip gcp-2)"
  a1=$(wg_peer_field aws-2 "$k_g" rx)
  g1=$(wg_peer_field gcp-2 "$k_a" rx)
  echo "aws-2 rx from gcp-2: $a0 -> $a1; gcp-2 rx from aws-2: $g0 -> $g1"
  [ $((a1 - a0)) -ge 100000 ]
  [ $((g1 - g0)) -ge 100000 ]
  # and from the NATed lab to aws: over their tunnel too
  k_l=$(node_pubkey lab-1)
  a0=$(wg_peer_field aws-1 "$k_l" rx)
  pod_exec lab-1 ping -n -q -c 100 -i 0.02 -s 1000 -W 2 "$(node_pod_ip aws-1)"
  a1=$(wg_peer_field aws-1 "$k_l" rx)
  echo "aws-1 rx from lab-1: $a0 -> $a1"
  [ $((a1 - a0)) -ge 100000 ]
}

# granularity_event_on NODE: a GranularityMismatch Event on NODE.
granularity_event_on() {
  kctl get events -A -o json | python3 -c '
import json, sys
for e in json.load(sys.stdin)["items"]:
    if e.get("involvedObject", {}).get("name") == sys.argv[1] and e.get("reason") == "GranularityMismatch":
        print(e.get("message", "")[:300]); sys.exit(0)
sys.exit(1)' "$1"
}
ann_is() { [ "$(node_annotation "$1" "$2")" = "$3" ]; }
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }

@test "cross: a node whose kg runs another granularity is reported (metric, log, Event) and flagged by kgctl check" {
  local n
  on_teardown kg_ensure lab-2
  kg_stop lab-2 TERM
  KGE_GRANULARITY=full kg_start lab-2
  retry 30 ann_is lab-2 granularity full
  for n in aws-1 gcp-1 lab-1; do
    retry 30 metric_is "$n" kilo_granularity_mismatch_nodes 1
    grep -a 'node of another granularity' "$KGE_STATE/logs/$n.kg.log" | grep -q 'node=lab-2'
  done
  retry 30 granularity_event_on lab-2
  run kgctl_live --mesh-granularity cross check
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *'error: node "lab-2" has kilo.squat.ai/granularity="full", not cross'* ]]
  # back to cross: nothing left to report, the mesh whole again
  kg_stop lab-2 TERM
  kg_start lab-2
  for n in aws-1 gcp-1 lab-1; do retry 60 metric_is "$n" kilo_granularity_mismatch_nodes 0; done
  wait_mesh 60
}

@test "cross: a node without a private IP gets tunnels to the nodes of its own location too, and says so" {
  local n
  on_teardown unann aws-2 force-internal-ip
  ann aws-2 force-internal-ip=-
  # aws-2 is reached through WireGuard from every node, aws-1 included (Kilo PR #490
  # leaves such a node with neither tunnel nor route); the other nodes keep their LAN.
  retry 60 wg_has_peer aws-1 "$(node_pubkey aws-2)"
  retry 60 wg_has_peer aws-2 "$(node_pubkey aws-1)"
  for n in $(node_names); do
    [ "$n" = aws-2 ] && continue
    retry 60 wg_has_peer "$n" "$(node_pubkey aws-2)"
  done
  [ "$(wg_peer_count aws-2)" -eq 5 ]
  wg_lacks_peer gcp-1 "$(node_pubkey gcp-2)"
  grep -a 'no private IP in cross granularity' "$KGE_STATE/logs/aws-1.kg.log" | grep -q aws-2
  # aws-2's peers changed: the NATed lab nodes reach it again at their next keepalive
  # (10 s), so the matrix is waited for, not taken once.
  wait_mesh 60
  # its private IP back: the LAN again
  unann aws-2 force-internal-ip
  retry 60 wg_lacks_peer aws-1 "$(node_pubkey aws-2)"
  wait_mesh 60
}

@test "cross: a node removed from a location: the others drop it, the matrix holds" {
  local n rest="aws-1 gcp-1 lab-1 aws-2 lab-2"
  kctl get node gcp-2 -o json >"$KGE_STATE/gcp-2.json"
  kg_stop gcp-2 TERM
  kctl delete node gcp-2
  for n in $rest; do retry 60 wg_keys_are "$n" "$rest"; done
  PING_VERBOSE=1 PING_NODES="$rest" ping_matrix
}

@test "cross: a node added to a location: the other locations' nodes peer with it, its own location's do not" {
  local n
  kctl create --validate=false -f - <<EOF2
$(python3 -c 'import json,sys; n=json.load(open(sys.argv[1])); m=n["metadata"]; [m.pop(k,None) for k in ("resourceVersion","uid","creationTimestamp","managedFields")]; m["annotations"]={}; print(json.dumps(n))' "$KGE_STATE/gcp-2.json")
EOF2
  kg_ensure gcp-2
  for n in $(node_names); do retry 60 wg_keys_are "$n"; done
  wg_lacks_peer gcp-1 "$(node_pubkey gcp-2)"
  wg_lacks_peer gcp-2 "$(node_pubkey gcp-1)"
  wait_mesh 60
  PING_VERBOSE=1 ping_matrix
}
