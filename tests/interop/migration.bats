#!/usr/bin/env bats
# A rolling migration of a 6-node cluster (granularity location, the e2e layout: leaders
# aws-1, gcp-1 and lab-1, lab behind NAT) from Kilo's Go agent to kg, one node at a time
# as a DaemonSet update would do it: the node's Go agent stopped by PID with SIGTERM (it
# cleans up: its routes, rules and most of its annotations go), then kg started on the
# same node (same namespaces, same wireguard-go, same /var/lib/kilo/key). Then the
# rollback, kg -> Go, the same way. Every pair of pods pings every 200 ms throughout; each
# step prints the loss per pair, from the SIGTERM until no pair lost a request for 5 s.
#
# Bound, per step and pair of pods: the requests sent while the agents swap (from the
# SIGTERM until the new agent answers /health: with --clean-up the leaving agent removes its
# routes and its node's key/endpoint annotations, so that much loss is by design) plus a
# margin:
#   Go -> kg  INTEROP_STEP_MARGIN requests (default 20 = 4 s): after kg is up, at most one
#             new WireGuard handshake per session, with room for one lost handshake packet
#             (REKEY_TIMEOUT 5 s would be the next retry) on a busy machine.
#   kg -> Go  INTEROP_ROLLBACK_MARGIN requests (default 90 = 18 s). Go 0.6 replaces all of a
#             leader's WireGuard peers whenever its configuration changes (ReplacePeers), so
#             a NATed peer that keeps its session is not heard until WireGuard gives up on
#             it (KEEPALIVE_TIMEOUT 10 s + REKEY_TIMEOUT 5 s): restarting Go 0.6 on a public
#             leader of a Go-only cluster of this layout costs the lab pairs 15 s too. 18 s
#             = those 15 s + the new agent's first reconciliation and handshake (measured:
#             14-15.2 s beyond the swap on the leader steps).
load interop

setup_file() {
  export KGE_GRANULARITY=location KGE_NODES=6
  export KGE_GO_NODES="aws-1 gcp-1 lab-1 aws-2 gcp-2 lab-2"
  interop_setup_file
}
teardown_file() { interop_teardown_file; }
setup() { interop_setup; }
teardown() { interop_teardown; }

STEP_MARGIN=${INTEROP_STEP_MARGIN:-20}
ROLLBACK_MARGIN=${INTEROP_ROLLBACK_MARGIN:-90}
ORDER="aws-1 gcp-1 lab-1 aws-2 gcp-2 lab-2"

# swap NAME NODE KIND MARGIN: replaces NODE's agent by KIND (SIGTERM by PID, then start)
# while the pingers NAME run; appends one summary line to $KGE_STATE/logs/steps-NAME.txt
# and the per-pair loss to steps-NAME.pairs. Fails when a pair lost more than the requests
# sent while the agents swapped plus MARGIN.
swap() {
  local name=$1 n=$2 kind=$3 margin=$4 t0 t_stop t_up t1 key0 key1 from max rc=0
  from=$(agent_kind "$n")
  key0=$(node_pubkey "$n")
  t0=$(interop_t0)
  kg_stop "$n"
  t_stop=$(interop_t0)
  agent_set_kind "$n" "$kind"
  kg_start "$n"
  wait_for 30 "the $kind agent of $n to answer /health" scrape "$n" /health
  t_up=$(interop_t0)
  max=$(python3 -c "import math; print(math.ceil(5 * ($t_up - $t0)) + $margin)")
  wait_quiet "$name" "$t0" 6 60 || rc=1
  sleep 1
  t1=$(interop_t0)
  key1=$(node_pubkey "$n")
  {
    echo "== $n: $from -> $kind"
    loss_check "$name" "$t0" "$t1" "" "$max" | grep -v '^pairs marked'
    writes_between "$t0" "$t1" | grep -E " $n " | sed 's/^/   write: /'
  } >>"$KGE_STATE/logs/steps-$name.pairs"
  pingloss "$name" "$t0" "$t1" --json | python3 -c '
import json, sys
res = json.load(sys.stdin)
n, frm, to, stop, up, obs, keep, mx = sys.argv[1:9]
lost = sorted(((r["lost"], p) for p, r in res.items()), reverse=True)
total = sum(l for l, _ in lost)
hit = [p for l, p in lost if l]
print("%-6s %-2s -> %-2s  stop %4.1f s  up %4.1f s  observed %3.0f s  lost %4d requests (%5.1f pair-seconds) in %2d/%d pairs, worst %3d (%4.1f s: %-11s) of %3d allowed  key %s%s" % (
    n, frm, to, float(stop), float(up), float(obs), total, total * 0.2, len(hit), len(res), lost[0][0], lost[0][0] * 0.2,
    lost[0][1] if lost[0][0] else "-", int(mx), keep, "  OVER" if lost[0][0] > int(mx) else ""))
sys.exit(1 if lost[0][0] > int(mx) else 0)' "$n" "$from" "$kind" \
    "$(python3 -c "print($t_stop - $t0)")" "$(python3 -c "print($t_up - $t_stop)")" \
    "$(python3 -c "print($t1 - $t0)")" "$([ "$key0" = "$key1" ] && echo kept || echo "CHANGED")" "$max" \
    >>"$KGE_STATE/logs/steps-$name.txt" || rc=1
  tail -1 "$KGE_STATE/logs/steps-$name.txt"
  [ "$key0" = "$key1" ] || { echo "$n: WireGuard key changed across the swap: $key0 -> $key1"; rc=1; }
  return $rc
}

# migrate NAME KIND MARGIN: every node's agent replaced by KIND, one at a time (ORDER);
# prints the steps; fails when a step is over its bound (all steps run anyway).
migrate() {
  local name=$1 kind=$2 margin=$3 n rc=0
  pingers_start "$name"
  sleep 3
  for n in $ORDER; do
    swap "$name" "$n" "$kind" "$margin" || rc=1
  done
  pingers_stop "$name"
  {
    echo "per step (bound per pair: the requests sent while the agents swapped + $margin, i.e. + $((margin / 5)) s):"
    cat "$KGE_STATE/logs/steps-$name.txt"
  } >"$KGE_STATE/logs/steps-$name.summary"
  report <"$KGE_STATE/logs/steps-$name.summary"
  return $rc
}

# all_agents KIND: every node runs KIND (nodes that do not are swapped, unmeasured).
all_agents() {
  local n
  for n in $(node_names); do
    [ "$(agent_kind "$n")" = "$1" ] && kg_running "$n" && continue
    kg_stop "$n"
    agent_set_kind "$n" "$1"
    kg_start "$n"
  done
  wait_mesh 90
}

@test "migration: Go -> kg, one node at a time, under pings (per step and pair: loss while the agents swap + ${INTEROP_STEP_MARGIN:-20} requests)" {
  run agents_line
  echo "$output"
  [ "$output" = "aws-1=go gcp-1=go lab-1=go aws-2=go gcp-2=go lab-2=go" ]
  local rc=0
  migrate go2kg kg "$STEP_MARGIN" || rc=1
  cat "$KGE_STATE/logs/steps-go2kg.pairs"
  run agents_line
  echo "$output"
  [ "$output" = "aws-1=kg gcp-1=kg lab-1=kg aws-2=kg gcp-2=kg lab-2=kg" ]
  PING_VERBOSE=1 ping_matrix
  [ "$rc" = 0 ]
}

@test "migration: rollback kg -> Go, one node at a time, under pings (per step and pair: loss while the agents swap + ${INTEROP_ROLLBACK_MARGIN:-90} requests)" {
  all_agents kg
  local rc=0
  migrate kg2go go "$ROLLBACK_MARGIN" || rc=1
  cat "$KGE_STATE/logs/steps-kg2go.pairs"
  run agents_line
  echo "$output"
  [ "$output" = "aws-1=go gcp-1=go lab-1=go aws-2=go gcp-2=go lab-2=go" ]
  PING_VERBOSE=1 ping_matrix
  [ "$rc" = 0 ]
}

@test "migration: no annotation was written by two agents during the swaps" {
  run writers_check
  echo "$output"
  echo "$output" | report
  [ "$status" = 0 ]
}
