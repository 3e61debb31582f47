#!/usr/bin/env bats
# Agent and cluster life cycle on a running 6-node cluster (granularity location):
# restart without disruption, API server outage, node deletion, heartbeat expiry, and
# --clean-up on SIGTERM. The tests run in this order; later ones tolerate what earlier
# ones did (gcp-2 is deleted and re-created, lab-2's agent is killed and restarted).
load common

setup_file() { export KGE_GRANULARITY=location; e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

api_ensure() { pid_is "$(cat "$KGE_STATE/pids/api" 2>/dev/null)" serve || api_start; }
kg_healthy() { [ "$(node_exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$(node_lan_ip "$1"):1107/health")" = 200 ]; }

@test "lifecycle: a restarted agent converges without tearing down working tunnels" {
  local kg rx0 rx1
  kg=$(node_pubkey gcp-1)
  rx0=$(wg_peer_field aws-1 "$kg" rx)
  bg_start restartping pod_exec aws-2 ping -n -i 0.2 -W 1 -w 25 "$(node_pod_ip gcp-2)"
  sleep 3
  on_teardown kg_ensure aws-1
  kg_stop aws-1 KILL
  sleep 2
  kg_start aws-1
  retry 20 kg_healthy aws-1
  # two whole reconciles after the restart (the new kg counts from 0)
  wait_reconciled 30 aws-1 1
  retry 20 bash -c "grep -q 'packets transmitted' '$KGE_STATE/logs/restartping.log'"
  cat "$KGE_STATE/logs/restartping.log" | tail -3
  ping_loss_ok "$KGE_STATE/logs/restartping.log" 1
  rx1=$(wg_peer_field aws-1 "$kg" rx)
  echo "aws-1 rx from gcp-1: $rx0 -> $rx1 (a re-created peer would restart from 0)"
  [ "$rx1" -gt "$rx0" ]
  # the new agent found the device already right
  grep 'msg=reconciled' "$KGE_STATE/logs/aws-1.kg.log" | tail -2
  wait_mesh 30
}

@test "lifecycle: API server down for 60 s: the mesh keeps forwarding; a change after it returns is applied" {
  local t
  on_teardown unann aws-1 persistent-keepalive
  on_teardown api_ensure
  api_stop
  echo "API emulator stopped at $(date +%T)"
  for t in 20 40 65; do
    sleep 20
    PING_VERBOSE=1 ping_matrix || { echo "mesh broken ${t}s into the API outage"; return 1; }
  done
  api_start
  echo "API emulator back at $(date +%T)"
  retry 30 kctl get nodes
  ann aws-1 persistent-keepalive=9
  retry 60 wg_field_is aws-1 "$(node_pubkey gcp-1)" keepalive 9
  unann aws-1 persistent-keepalive
  retry 60 wg_field_is aws-1 "$(node_pubkey gcp-1)" keepalive off
  wait_mesh 30
}

@test "lifecycle: a node deleted from the API disappears from every other node's WireGuard config and routes" {
  local cidr n
  cidr=$(node_pod_cidr gcp-2)
  wg_allowed_has aws-1 "$cidr"
  kctl get node gcp-2 -o json >"$KGE_STATE/gcp-2.json"
  kctl delete node gcp-2
  for n in aws-1 gcp-1 lab-1; do retry 40 wg_allowed_lacks "$n" "$cidr"; done
  for n in aws-1 aws-2 gcp-1 lab-1 lab-2; do
    retry 40 bash -c "! ip -n $(node_ns "$n") -4 route show table all | grep -q '$cidr'"
  done
  wg_allowed_lacks aws-1 10.20.0.12/32
  PING_NODES="aws-1 gcp-1 lab-1 aws-2 lab-2" ping_matrix
}

@test "lifecycle: the deleted node, created again, rejoins" {
  kctl create --validate=false -f - <<EOF
$(python3 -c 'import json,sys; n=json.load(open(sys.argv[1])); m=n["metadata"]; [m.pop(k,None) for k in ("resourceVersion","uid","creationTimestamp","managedFields")]; m["annotations"]={}; print(json.dumps(n))' "$KGE_STATE/gcp-2.json")
EOF
  retry 60 wg_allowed_has aws-1 "$(node_pod_cidr gcp-2)"
  wait_mesh 60
}

@test "lifecycle: a stopped agent's node drops out after its heartbeat expires (slow)" {
  local cidr t0 t
  cidr=$(node_pod_cidr lab-2)
  wg_allowed_has aws-1 "$cidr"
  echo "lab-2 last-seen: $(node_annotation lab-2 last-seen), now $(date +%s)"
  on_teardown kg_ensure lab-2
  kg_stop lab-2 KILL
  t0=$SECONDS
  retry 130 wg_allowed_lacks aws-1 "$cidr"
  t=$((SECONDS - t0))
  echo "lab-2 dropped from aws-1 ${t}s after its agent was killed"
  [ "$t" -ge 15 ] # not at once: only the expired heartbeat may remove it
  retry 20 wg_allowed_lacks gcp-1 "$cidr"
  # the agent comes back, heartbeats, and its node rejoins
  kg_start lab-2
  retry 60 wg_allowed_has aws-1 "$cidr"
  wait_mesh 60
}

@test "lifecycle: --clean-up on SIGTERM leaves no kg route, rule, nft table or annotation behind" {
  local ns
  ns=$(node_ns aws-1)
  ann aws-1 leader=true # a user annotation: must survive the clean-up
  run ip -n "$ns" -4 route show table all proto static
  echo "before: $output"
  [ -n "$output" ]
  run ip netns exec "$ns" nft list tables
  echo "before: $output"
  [[ "$output" == *kilo* ]]
  kg_stop aws-1 TERM
  run ip -n "$ns" -4 route show table all proto static
  echo "routes after: $output"
  [ -z "$output" ]
  run bash -c "ip -n $ns -4 route show table 1107 2>/dev/null"
  echo "table 1107 after: $output"
  [ -z "$output" ]
  run ip -n "$ns" -4 rule show
  echo "rules after: $output"
  [ "$(echo "$output" | wc -l)" -eq 3 ]
  run ip netns exec "$ns" nft list tables
  echo "nft after: $output"
  [[ "$output" != *kilo* ]]
  run ip netns exec "$ns" iptables-save
  [[ "$output" != *KILO* ]]
  run kctl get node aws-1 -o json
  echo "$output" | python3 -c '
import json, sys
a = json.load(sys.stdin)["metadata"].get("annotations", {})
print("annotations after:", a)
left = [k for k in a if k.startswith("kilo.squat.ai/") and k.split("/")[1] in
        ("key", "endpoint", "internal-ip", "last-seen", "wireguard-ip", "discovered-endpoints", "granularity", "cni-compatibility-ip")]
assert not left, "agent annotations left behind: %s" % left
assert a.get("kilo.squat.ai/leader") == "true", "the user annotation leader was removed"
'
  grep -iE 'clean|shut|exit|signal' "$KGE_STATE/logs/aws-1.kg.log" | tail -5
}
