#!/usr/bin/env bats
# Dual-stack in a mixed cluster (SPEC 11.3, issue 17): Kilo's Go agent leads gcp (gcp-1;
# gcp-2 runs kg under it). Go agents put only IPv4 in AllowedIPs, and WireGuard drops a
# packet whose source is not in the sender's AllowedIPs, so IPv6 works only between kg
# locations. kg adds IPv6 only towards segments whose leaders advertise
# kg.kilo.squat.ai/dual-stack and reports the rest (log, kilo_dual_stack_ipv4_only_segments).
#
#   aws: aws-1 kg (leader), aws-2 kg  ---- IPv4 + IPv6 ----  lab (NAT): lab-1 kg (leader), lab-2 kg
#                       \                                              /
#                        IPv4 only            gcp: gcp-1 Go (leader)    IPv4 only
#                                                  gcp-2 kg
load interop

setup_file() {
  export KGE_GRANULARITY=location KGE_NODES=6 KGE_DUAL_STACK=1 KGE_GO_NODES="gcp-1"
  export KGE_KG_EXTRA="--subnet6 fd10:4::/64"
  interop_setup_file
}
teardown_file() { interop_teardown_file; }
setup() { interop_setup; }
teardown() { interop_teardown; }

# ipv4_only_event_on NODE: a DualStackIPv4Only Event on NODE (its message printed).
ipv4_only_event_on() {
  kctl get events -A -o json | python3 -c '
import json, sys
for e in json.load(sys.stdin)["items"]:
    if e.get("involvedObject", {}).get("name") == sys.argv[1] and e.get("reason") == "DualStackIPv4Only":
        print(e.get("message", "")[:300]); sys.exit(0)
sys.exit(1)' "$1"
}

# The IPv6 pod pings between (and inside) the two kg locations: every ordered pair of
# aws-1, aws-2, lab-1, lab-2.
kg6_pairs() {
  local s d out=""
  for s in aws-1 aws-2 lab-1 lab-2; do
    for d in aws-1 aws-2 lab-1 lab-2; do [ "$s" = "$d" ] || out+="$s.$d "; done
  done
  echo "$out"
}
ping_kg6() { PING_ONLY=$(kg6_pairs) PING_FAMILY=6 ping_matrix; }

@test "dual-stack mixed: IPv4 everywhere" {
  run agents_line
  echo "$output"
  [ "$output" = "aws-1=kg gcp-1=go lab-1=kg aws-2=kg gcp-2=kg lab-2=kg" ]
  PING_VERBOSE=1 ping_matrix
}

@test "dual-stack mixed: IPv6 between the kg locations, members included (aws <-> lab, the NATed one)" {
  retry 60 ping_kg6 || true
  PING_VERBOSE=1 ping_kg6
}

@test "dual-stack mixed: no IPv6 towards the Go-led location; the kg agents report it" {
  local n out
  # The Go leader's peers carry no IPv6, and neither do kg's peers for gcp.
  out=$(node_exec gcp-1 wg show kilo0 allowed-ips)
  echo "gcp-1 (Go): $out"
  ! grep -q 'fd' <<<"$out"
  for n in aws-1 lab-1; do
    out=$(node_exec "$n" wg show kilo0 allowed-ips)
    echo "$n: $out"
    grep "$(node_pubkey gcp-1)" <<<"$out" | { ! grep -q 'fd'; }
  done
  # Every kg reports: gcp from aws and lab; aws and lab from gcp-2 (its leader is Go).
  for n in aws-1 aws-2 lab-1 lab-2; do retry 30 metric_is "$n" kilo_dual_stack_ipv4_only_segments 1; done
  retry 30 metric_is gcp-2 kilo_dual_stack_ipv4_only_segments 2
  for n in aws-1 gcp-2; do
    grep -q 'segment reached over IPv4 only' "$KGE_STATE/logs/$n.kg.log"
    retry 30 ipv4_only_event_on "$n"
    ipv4_only_event_on "$n"
  done
  run kgctl_live plan node aws-1
  echo "$output"
  [[ "$output" == *"# no IPv6 towards location:gcp: its leader gcp-1 does not advertise kg.kilo.squat.ai/dual-stack"* ]]
  run kgctl_live plan node gcp-2
  echo "$output"
  [[ "$output" == *"# no IPv6 towards location:aws: this segment's leader gcp-1 does not advertise kg.kilo.squat.ai/dual-stack"* ]]
}
