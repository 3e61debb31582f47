#!/usr/bin/env bats
# Hostile input (issue 7, item 4) on one running 6-node cluster (granularity location):
# garbage in every annotation, a 1 MB annotation, garbage Peers, a Peer with 10,000
# allowed IPs, JSON with duplicated keys, two nodes with one public key, two nodes with
# one podCIDR, a Peer overlapping a pod CIDR. For each: every kg keeps running (same
# PID), a warning naming the object and field is logged (and an Event for the node's
# own agent), the healthy part of the mesh keeps pinging, and once the change is undone
# the full mesh is back.
#
# "Healthy part": the nodes whose traffic does not depend on the conflicting object.
#  * duplicated podCIDR (gcp-2 claims aws-2's): everything but the two claimants;
#  * Peer claiming lab-2's pod CIDR: everything but lab-2;
#  * duplicated public key (gcp-2 runs with aws-1's private key, a cloned disk image):
#    Kilo builds the topology from segment leaders' keys only, so as long as the clone
#    is not a leader the whole mesh is healthy; when the clone becomes gcp's leader, two
#    segments share a key and WireGuard can only keep one peer per key. Kilo's topology
#    is kept as is (mixed clusters must agree); kg keeps the first segment in segment
#    order (aws) and skips the second (gcp), so the healthy part is aws + lab.
load common

setup_file() {
  export KGE_GRANULARITY=location
  e2e_setup_file
  local n
  for n in $(node_names); do echo "$n $(cat "$KGE_STATE/pids/$n.kg")"; done >"$KGE_STATE/kg-pids"
}
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

# same_pids: every kg still runs with the PID it had at the start (or after the test's
# own deliberate restart, recorded in kg-pids).
same_pids() {
  local n pid bad=0
  while read -r n pid; do
    if [ "$(cat "$KGE_STATE/pids/$n.kg" 2>/dev/null)" != "$pid" ] || ! pid_is "$pid" "$KG"; then
      echo "kg on $n: pid $pid no longer runs (now: $(cat "$KGE_STATE/pids/$n.kg" 2>/dev/null))" >&2
      bad=1
    fi
  done <"$KGE_STATE/kg-pids"
  return $bad
}
record_pid() { sed -i "s/^$1 .*/$1 $(cat "$KGE_STATE/pids/$1.kg")/" "$KGE_STATE/kg-pids"; }

# warned [-n NODE] WORD...: a level=warn line containing every WORD in some agent's
# log (NODE's only with -n).
warned() {
  local files="$KGE_STATE/logs/*.kg.log"
  if [ "$1" = -n ]; then files="$KGE_STATE/logs/$2.kg.log"; shift 2; fi
  local out w
  # shellcheck disable=SC2086
  out=$(grep -h -a 'level=warn' $files) || return 1
  for w in "$@"; do out=$(grep -F -a -- "$w" <<<"$out") || return 1; done
  head -2 <<<"$out" | cut -c1-400 >&2
}
# event_on NODE WORD...: an InvalidAnnotation Event on NODE whose message has every WORD.
event_on() {
  kctl get events -A -o json | python3 -c '
import json, sys
node, words = sys.argv[1], sys.argv[2:]
for e in json.load(sys.stdin)["items"]:
    m = e.get("message", "")
    if e.get("involvedObject", {}).get("name") == node and e.get("reason") == "InvalidAnnotation" \
            and all(w in m for w in words):
        print(m[:300]); sys.exit(0)
sys.exit(1)' "$@"
}
# healthy NODES...: every pod of NODES pings every other pod of NODES.
healthy() { PING_NODES="$*" ping_matrix; }
# all_but NODE...: the node names without NODE...
all_but() {
  local n x out=""
  for n in $(node_names); do
    for x in "$@"; do [ "$n" = "$x" ] && continue 2; done
    out+="$n "
  done
  echo "$out"
}
# ann_is NODE KEY VALUE / ann_matches NODE KEY REGEX (kilo.squat.ai/KEY)
ann_is() { [ "$(node_annotation "$1" "$2")" = "$3" ]; }
ann_matches() { node_annotation "$1" "$2" | grep -Eqx -- "$3"; }
kg_rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(cat "$KGE_STATE/pids/$1.kg")/status"; }
# rss_sane MAX_MB: every kg's resident memory is below MAX_MB.
rss_sane() {
  local n r ok=0
  for n in $(node_names); do
    r=$(kg_rss_kb "$n")
    echo "kg on $n: RSS $((r / 1024)) MB" >&2
    [ "$r" -lt $(($1 * 1024)) ] || ok=1
  done
  return $ok
}
# kctl_raw METHOD PATH CONTENT_TYPE FILE: a raw request to the emulator (bytes of FILE
# as they are), prints the HTTP code.
kctl_raw() {
  local tok
  tok=$(awk '/token:/ {print $2}' "$KGE_STATE/kubeconfig")
  ip netns exec "$(inet_ns)" curl -sSk -o "$KGE_STATE/raw.out" -w '%{http_code}' -X "$1" \
    -H "Authorization: Bearer $tok" -H "Content-Type: $3" --data-binary "@$4" \
    "https://$KGE_API_IP:$KGE_API_PORT$2"
}
# metric_above NODE NAME VALUE
metric_above() { [ "$(metric "$1" "$2")" -gt "$3" ]; }
peer_json() { # NAME PUBKEY ALLOWED_IPS_JSON
  printf '{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"%s"},"spec":{"allowedIPs":%s,"publicKey":"%s"}}\n' "$1" "$3" "$2"
}

@test "hostile: garbage in every kilo.squat.ai annotation of one node" {
  local g k0 a args=() keys="force-endpoint force-internal-ip leader location persistent-keepalive allowed-location-ips key endpoint internal-ip last-seen wireguard-ip granularity discovered-endpoints"
  g=$'g\x01rb<>&"\\age ,,/99 ::: \xc3\x28 ${x}'
  k0=$(node_pubkey gcp-2)
  for a in $keys; do args+=("kilo.squat.ai/$a=$g"); done
  on_teardown unann gcp-2 force-endpoint force-internal-ip leader location persistent-keepalive allowed-location-ips
  kctl annotate --overwrite node gcp-2 "${args[@]}" >/dev/null
  # the values a user sets stay, and are reported (log of every agent, Event on gcp-2)
  for a in force-endpoint force-internal-ip persistent-keepalive allowed-location-ips; do
    retry 30 warned -n aws-1 node=gcp-2 "field=kilo.squat.ai/$a" 'value="g?rb<>&'
    retry 30 warned -n gcp-2 node=gcp-2 "field=kilo.squat.ai/$a"
  done
  retry 30 event_on gcp-2 kilo.squat.ai/force-endpoint
  retry 30 event_on gcp-2 kilo.squat.ai/persistent-keepalive
  # the agent's own annotations are put back by gcp-2's agent
  retry 30 ann_is gcp-2 key "$k0"
  retry 30 ann_matches gcp-2 last-seen '[0-9]+'
  [ "$(node_annotation gcp-2 endpoint)" = 203.0.113.22:51820 ]
  [ "$(node_annotation gcp-2 granularity)" = location ]
  # location and leader are any string: gcp-2 is now the leader of a location of its own
  # (reached at its public address), so even gcp-2 stays in the mesh
  retry 40 wg_has_peer aws-1 "$k0"
  same_pids
  retry 40 healthy $(all_but gcp-2)
  retry 40 healthy $(node_names)
  unann gcp-2 force-endpoint force-internal-ip leader location persistent-keepalive allowed-location-ips
  retry 40 wg_lacks_peer aws-1 "$k0"
  wait_mesh 60
  same_pids
}

@test "hostile: Peers with every field garbage or of the wrong type are ignored and reported" {
  on_teardown kctl delete peer hostile-values hostile-types --ignore-not-found
  cat >"$KGE_STATE/bad-peers.json" <<'EOF'
{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"hostile-values"},
  "spec":{"allowedIPs":["garbage","10.1.2.3/99"],"publicKey":"garbage",
          "endpoint":{"dnsOrIP":{"ip":"999.1.1.1","dns":"-bad-.x"},"port":99999},
          "persistentKeepalive":-5,"presharedKey":"garbage"}},
 {"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"hostile-types"},
  "spec":{"allowedIPs":"10.5.0.1/32","publicKey":12345,"endpoint":"x","persistentKeepalive":"ten",
          "presharedKey":[1,2]}}]}
EOF
  kctl create --validate=false -f "$KGE_STATE/bad-peers.json"
  retry 30 warned -n aws-1 peer=hostile-values field=spec 'the Peer is ignored'
  retry 30 warned -n aws-1 peer=hostile-types 'the Peer is ignored'
  retry 30 warned -n lab-2 peer=hostile-types
  [ "$(metric aws-1 kilo_peers)" = 0 ]
  same_pids
  retry 40 healthy $(node_names)
  kctl delete peer hostile-values hostile-types
  wait_mesh 60
  same_pids
}

@test "hostile: a 1 MB annotation, and one with 300,000 bad entries: bounded warnings, no hang" {
  local r0 big
  on_teardown unann gcp-2 force-endpoint allowed-location-ips
  on_teardown unann aws-1 persistent-keepalive
  python3 -c 'import json; print(json.dumps({"metadata": {"annotations": {"kilo.squat.ai/force-endpoint": "x" * 1048576}}}))' >"$KGE_STATE/big.json"
  kctl patch node gcp-2 --type merge --patch-file "$KGE_STATE/big.json" >/dev/null
  retry 30 warned -n aws-1 node=gcp-2 field=kilo.squat.ai/force-endpoint '(1048576 bytes)'
  retry 30 event_on gcp-2 kilo.squat.ai/force-endpoint '(1048576 bytes)'
  # no log line carries the megabyte
  big=$(awk 'length > 4096' "$KGE_STATE"/logs/*.kg.log | wc -l)
  [ "$big" -eq 0 ]
  retry 40 healthy $(node_names)

  # 300,000 bad entries (600 kB): reported in a bounded number of lines, and gcp-2's
  # agent (which would write an Event per warning) is not stuck
  python3 -c 'import json; print(json.dumps({"metadata": {"annotations": {"kilo.squat.ai/allowed-location-ips": ",".join(["x"] * 300000) + ",10.20.0.50/32"}}}))' >"$KGE_STATE/flood.json"
  r0=$(metric gcp-2 kilo_reconciles_total)
  local n lines before=()
  for n in $(node_names); do before+=("$(grep -c -a 'allowed-location-ips' "$KGE_STATE/logs/$n.kg.log" || true)"); done
  kctl patch node gcp-2 --type merge --patch-file "$KGE_STATE/flood.json" >/dev/null
  retry 30 warned -n aws-1 node=gcp-2 field=kilo.squat.ai/allowed-location-ips 'more entries are not CIDRs'
  retry 30 metric_above gcp-2 kilo_reconciles_total "$((r0 + 2))"
  local i=0
  for n in $(node_names); do
    lines=$(($(grep -c -a 'allowed-location-ips' "$KGE_STATE/logs/$n.kg.log" || true) - before[i++]))
    echo "$n: $lines new log lines about allowed-location-ips"
    [ "$lines" -le 20 ]
  done
  # every agent still follows changes promptly
  ann aws-1 persistent-keepalive=7
  retry 40 wg_field_is aws-1 "$(node_pubkey gcp-1)" keepalive 7
  rss_sane 150
  same_pids
  retry 40 healthy $(node_names)
  unann aws-1 persistent-keepalive
  unann gcp-2 force-endpoint allowed-location-ips
  wait_mesh 60
  same_pids
}

@test "hostile: a Peer with 10,000 allowed IPs is configured in bounded time and memory" {
  local key t0
  key=$(wg genkey | wg pubkey)
  on_teardown kctl delete peer hostile-huge --ignore-not-found
  on_teardown unann aws-1 persistent-keepalive
  python3 -c '
import json, sys
ips = ["10.100.%d.%d/32" % (i // 250, i % 250 + 1) for i in range(10000)]
print(json.dumps({"apiVersion": "kilo.squat.ai/v1alpha1", "kind": "Peer", "metadata": {"name": "hostile-huge"},
                  "spec": {"allowedIPs": ips, "publicKey": sys.argv[1]}}))' "$key" >"$KGE_STATE/huge-peer.json"
  t0=$SECONDS
  kctl create --validate=false -f "$KGE_STATE/huge-peer.json" >/dev/null
  # every leader configures all 10,000 (the last one shows it is complete) and routes them
  local n
  for n in aws-1 gcp-1 lab-1; do
    retry 120 wg_allowed_has "$n" 10.100.39.250/32
  done
  for n in aws-1 gcp-1 lab-1; do
    retry 60 route_has "$n" 10.100.39.250 kilo0
    echo "$n: $(wg_peer_field "$n" "$key" allowed-ips | tr ',' '\n' | wc -l) allowed IPs, $(node_exec "$n" ip -4 route show table all | grep -c '^10\.100\.') routes"
  done
  echo "configured on every leader within $((SECONDS - t0)) s"
  [ "$(wg_peer_field aws-1 "$key" allowed-ips | tr ',' '\n' | wc -l)" -eq 10000 ]
  retry 30 bash -c "[ \$(ip netns exec $(node_ns aws-2) ip -4 route show | grep -c '^10\\.100\\.') -ge 10000 ]"
  # still follows a change promptly, memory stays sane
  ann aws-1 persistent-keepalive=9
  retry 60 wg_field_is aws-1 "$(node_pubkey gcp-1)" keepalive 9
  rss_sane 200
  same_pids
  retry 40 healthy $(node_names)
  kctl delete peer hostile-huge
  for n in aws-1 gcp-1 lab-1; do retry 120 wg_lacks_peer "$n" "$key"; done
  retry 60 bash -c "! ip netns exec $(node_ns aws-1) ip -4 route show table all | grep -q '^10\\.100\\.'"
  unann aws-1 persistent-keepalive
  wait_mesh 60
  same_pids
}

@test "hostile: JSON with duplicated keys: kg follows the value the API server kept (the last)" {
  local kgood
  kgood=$(wg genkey | wg pubkey)
  on_teardown kctl delete peer hostile-dup --ignore-not-found
  on_teardown unann aws-1 persistent-keepalive
  # kubectl refuses duplicated keys (YAML and JSON), so the bytes go to the emulator raw
  printf '{"metadata":{"annotations":{"kilo.squat.ai/persistent-keepalive":"garbage","kilo.squat.ai/persistent-keepalive":"8"}}}' >"$KGE_STATE/dup-node.json"
  [ "$(kctl_raw PATCH /api/v1/nodes/aws-1 application/merge-patch+json "$KGE_STATE/dup-node.json")" = 200 ]
  [ "$(node_annotation aws-1 persistent-keepalive)" = 8 ]
  retry 40 wg_field_is aws-1 "$(node_pubkey gcp-1)" keepalive 8
  printf '{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"hostile-dup","name":"hostile-dup"},"spec":{"allowedIPs":["10.5.0.77/32"],"publicKey":"garbage","allowedIPs":["10.5.0.88/32"],"publicKey":"%s"}}' "$kgood" >"$KGE_STATE/dup-peer.json"
  [ "$(kctl_raw POST /apis/kilo.squat.ai/v1alpha1/peers application/json "$KGE_STATE/dup-peer.json")" = 201 ]
  retry 40 wg_has_peer aws-1 "$kgood"
  [ "$(wg_peer_field aws-1 "$kgood" allowed-ips)" = 10.5.0.88/32 ]
  # the other way round: the garbage key is the last one, the Peer is ignored and reported
  kctl delete peer hostile-dup >/dev/null
  printf '{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"hostile-dup"},"spec":{"allowedIPs":["10.5.0.88/32"],"publicKey":"%s","publicKey":"garbage-key"}}' "$kgood" >"$KGE_STATE/dup-peer.json"
  [ "$(kctl_raw POST /apis/kilo.squat.ai/v1alpha1/peers application/json "$KGE_STATE/dup-peer.json")" = 201 ]
  retry 40 wg_lacks_peer aws-1 "$kgood"
  retry 30 warned -n aws-1 peer=hostile-dup field=spec.publicKey garbage-key
  same_pids
  retry 40 healthy $(node_names)
  kctl delete peer hostile-dup >/dev/null
  unann aws-1 persistent-keepalive
  wait_mesh 60
  same_pids
}

# with_key NODE KEYFILE: restart NODE's kg with the private key in KEYFILE.
with_key() {
  kg_stop "$1" TERM
  node_exec "$1" sh -c "umask 077 && cat >/var/lib/kilo/key" <"$2"
  kg_start "$1"
  record_pid "$1"
}

@test "hostile: two nodes with the same public key (a cloned key file)" {
  local k_aws k_gcp2
  k_aws=$(node_pubkey aws-1)
  k_gcp2=$(node_pubkey gcp-2)
  node_exec gcp-2 cat /var/lib/kilo/key >"$KGE_STATE/gcp-2.key.orig"
  node_exec aws-1 cat /var/lib/kilo/key >"$KGE_STATE/aws-1.key.copy"
  chmod 600 "$KGE_STATE"/*.key.*
  on_teardown kctl annotate node gcp-2 kilo.squat.ai/leader-
  on_teardown with_key gcp-2 "$KGE_STATE/gcp-2.key.orig"
  with_key gcp-2 "$KGE_STATE/aws-1.key.copy"
  retry 40 ann_is gcp-2 key "$k_aws"
  retry 30 warned -n lab-1 node=gcp-2 field=kilo.squat.ai/key "same public key as node aws-1"
  retry 30 warned -n gcp-2 node=gcp-2 "same public key as node aws-1"
  retry 30 event_on gcp-2 kilo.squat.ai/key "same public key as node aws-1"
  # gcp-2 is not a leader: no segment uses its key, the whole mesh is healthy
  same_pids
  retry 40 healthy $(node_names)

  # the clone becomes gcp's leader: segments aws and gcp share a key
  ann gcp-2 leader=true
  retry 40 wg_lacks_peer lab-1 "$(node_pubkey gcp-1)"
  retry 40 healthy aws-1 aws-2 lab-1 lab-2
  same_pids
  unann gcp-2 leader
  with_key gcp-2 "$KGE_STATE/gcp-2.key.orig"
  retry 40 ann_is gcp-2 key "$k_gcp2"
  wait_mesh 90
  same_pids
}

@test "hostile: two nodes with the same podCIDR" {
  on_teardown kctl patch node gcp-2 --type merge -p '{"spec":{"podCIDR":"10.42.5.0/24","podCIDRs":["10.42.5.0/24"]}}'
  kctl patch node gcp-2 --type merge -p '{"spec":{"podCIDR":"10.42.4.0/24","podCIDRs":["10.42.4.0/24"]}}' >/dev/null
  retry 30 warned -n lab-1 node=gcp-2 field=spec.podCIDR value=10.42.4.0/24 "of node aws-2"
  retry 30 event_on gcp-2 spec.podCIDR "of node aws-2"
  same_pids
  retry 40 healthy $(all_but aws-2 gcp-2)
  kctl patch node gcp-2 --type merge -p '{"spec":{"podCIDR":"10.42.5.0/24","podCIDRs":["10.42.5.0/24"]}}' >/dev/null
  wait_mesh 60
  same_pids
}

@test "hostile: a Peer whose allowed IPs overlap a pod CIDR" {
  local key
  key=$(wg genkey | wg pubkey)
  on_teardown kctl delete peer hostile-overlap --ignore-not-found
  peer_json hostile-overlap "$key" '["10.42.6.0/24","10.5.0.99/32"]' | kctl create --validate=false -f - >/dev/null
  retry 30 warned -n aws-1 peer=hostile-overlap field=spec.allowedIPs value=10.42.6.0/24 "of node lab-2"
  retry 40 wg_has_peer aws-1 "$key"
  same_pids
  retry 40 healthy $(all_but lab-2)
  kctl delete peer hostile-overlap >/dev/null
  retry 40 wg_lacks_peer aws-1 "$key"
  wait_mesh 60
  same_pids
}
