#!/usr/bin/env bats
# Operating kg (issue 5): /health, /metrics against the cluster, errors on injected API
# faults, /graph as SVG, kgctl graph -o svg, and the Event for a bad annotation.
load common

setup_file() { export KGE_GRANULARITY=location; e2e_setup_file; }
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

# svg_names_all_nodes: stdin is an SVG whose text (entities decoded: Graphviz writes "-" as
# &#45;) names every node.
svg_names_all_nodes() {
  python3 -c '
import html, sys
s = sys.stdin.read()
assert "<svg" in s, "not an SVG: %r" % s[:200]
t = html.unescape(s)
missing = [n for n in sys.argv[1:] if n not in t]
assert not missing, "missing from the SVG: %s" % missing
print("SVG (%d bytes) names %s" % (len(s), " ".join(sys.argv[1:])))' $(node_names)
}
http_code() { node_exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://$(node_lan_ip "$1"):1107$2"; }
# metric_is NODE NAME VALUE (re-evaluated on every call, for retry)
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
metric_gt() { [ "$(metric "$1" "$2")" -gt "$3" ]; }

@test "metrics: /health answers 200" {
  for n in aws-1 lab-2; do [ "$(http_code "$n" /health)" = 200 ]; done
}

@test "metrics: kilo_nodes, kilo_peers and kilo_leader match the cluster" {
  scrape aws-1 /metrics | grep -E '^kilo_(nodes|peers|leader|reconciles_total|errors_total)'
  [ "$(metric aws-1 kilo_nodes)" = 6 ]
  [ "$(metric aws-2 kilo_nodes)" = 6 ]
  [ "$(metric aws-1 kilo_peers)" = 0 ]
  [ "$(metric aws-1 kilo_leader)" = 1 ]
  [ "$(metric lab-1 kilo_leader)" = 1 ]
  [ "$(metric aws-2 kilo_leader)" = 0 ]
  [ "$(metric gcp-2 kilo_leader)" = 0 ]
  [ "$(metric aws-1 kilo_reconciles_total)" -gt 0 ]
  # a Peer shows up in kilo_peers
  on_teardown kctl delete peer metrics-peer --ignore-not-found
  kctl apply --validate=false -f - <<EOF
apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: metrics-peer
spec:
  allowedIPs: [10.5.0.7/32]
  publicKey: $(wg genkey | wg pubkey)
EOF
  retry 30 metric_is aws-1 kilo_peers 1
  kctl delete peer metrics-peer
  retry 30 metric_is aws-1 kilo_peers 0
  # a node fewer: stop lab-2's agent with clean-up, its node is no longer ready
  on_teardown kg_ensure lab-2
  kg_stop lab-2 TERM
  retry 30 metric_is aws-1 kilo_nodes 5
  kg_start lab-2
  retry 60 metric_is aws-1 kilo_nodes 6
}

@test "metrics: kilo_errors_total increases on an injected API fault, and the mesh survives it" {
  local e0 e1
  e0=$(metric aws-1 kilo_errors_total)
  on_teardown emu_admin reset-faults
  on_teardown unann aws-1 persistent-keepalive
  # the agents' watches fail (re-list/re-watch answered 500) ...
  emu_admin 'fail?code=500&count=40'
  emu_admin close-watches
  # ... and aws-1's next heartbeat (PATCH of its Node, every 30 s) fails 3 times
  emu_admin 'fail?code=500&count=3&method=PATCH&path_prefix=/api/v1/nodes/aws-1'
  retry 45 metric_gt aws-1 kilo_errors_total "$e0"
  e1=$(metric aws-1 kilo_errors_total)
  echo "kilo_errors_total on aws-1: $e0 -> $e1"
  scrape aws-1 /metrics | grep '^kilo_errors_total'
  emu_admin reset-faults
  PING_VERBOSE=1 ping_matrix
  # and the agent still follows changes afterwards
  ann aws-1 persistent-keepalive=5
  retry 40 wg_field_is aws-1 "$(node_pubkey gcp-1)" keepalive 5
  unann aws-1 persistent-keepalive
}

@test "metrics: /graph?format=svg names every node; a bad format is answered 400" {
  local svg n
  svg=$(scrape aws-1 '/graph?format=svg')
  svg_names_all_nodes <<<"$svg"
  run scrape aws-1 /graph
  [[ "$output" == *digraph* ]]
  [ "$(http_code aws-1 '/graph?format=nonsense')" = 400 ]
  run scrape aws-1 '/graph?format=nonsense'
  echo "400 body: $output"
  [[ "$output" == *format* ]]
}

@test "metrics: kgctl graph -o svg names every node" {
  local svg n
  svg=$(kgctl_live graph -o svg 2>/dev/null) || svg=$(kgctl_dump graph -o svg)
  svg_names_all_nodes <<<"$svg"
}

invalid_event() {
  kctl get events -A -o json | python3 -c '
import json, sys
ev = [e for e in json.load(sys.stdin)["items"]
      if e.get("involvedObject", {}).get("name") == "gcp-2" and e.get("reason") == "InvalidAnnotation"]
assert ev, "no InvalidAnnotation event for gcp-2"
m = ev[0].get("message", "")
assert "force-endpoint" in m and "nonsense" in m, m
print(m)'
}

@test "metrics: a bad annotation becomes an InvalidAnnotation Event on the Node" {
  on_teardown unann gcp-2 force-endpoint
  ann gcp-2 force-endpoint=nonsense
  retry 40 invalid_event
  invalid_event
  unann gcp-2 force-endpoint
  wait_mesh 30
}
