#!/usr/bin/env bats
# Dual-stack pod networks (SPEC 11.3, issue 17): the virtual cluster with three
# locations of two nodes each (aws-1, gcp-1, gcp-2 public; lab behind NAT with
# persistent-keepalive), every Node with spec.podCIDRs of both families and kg with
# --subnet6. The underlay stays IPv4 (IPv6 is on, so links have link-local addresses);
# IPv6 rides the IPv4 WireGuard tunnels between the leaders, and reaches a location's
# other nodes via their link-local addresses (kg.kilo.squat.ai/internal-ip6).
#
#   location   leader (WireGuard)                   member
#   aws        aws-1 10.4.0.1 fd10:4::1             aws-2   pods: 10.42.<n>.2, fd42::<n>:2
#   gcp        gcp-1 10.4.0.2 fd10:4::2             gcp-2   (n = node number:
#   lab (NAT)  lab-1 10.4.0.3 fd10:4::3             lab-2    aws-1 1, gcp-1 2, lab-1 3, aws-2 4, ...)
load common

setup_file() {
  export KGE_NODES=6 KGE_GRANULARITY=location KGE_DUAL_STACK=1
  export KGE_KG_EXTRA="--subnet6 fd10:4::/64"
  e2e_setup_file
}
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

LEADERS="aws-1 gcp-1 lab-1"
ping_matrix6() { PING_FAMILY=6 ping_matrix; }
wait_mesh6() { wait_for "${1:-60}" "every pod reaches every other pod over IPv6" ping_matrix6; }

@test "dual-stack: every pod pings every other pod over IPv4 (3 locations, the NATed one included)" {
  PING_VERBOSE=1 ping_matrix
}

@test "dual-stack: every pod pings every other pod over IPv6 (3 locations, the NATed one included)" {
  wait_mesh6 60 || true
  PING_VERBOSE=1 ping_matrix6
}

@test "dual-stack: wg show lists the other locations' IPv6 pod CIDRs and IPv6 WireGuard IPs (/128)" {
  local n o out
  for n in $LEADERS; do
    out=$(node_exec "$n" wg show kilo0 allowed-ips)
    echo "$n: $out"
    for o in $(node_names); do
      [ "$(node_loc "$o")" = "$(node_loc "$n")" ] && continue
      grep -q "$(node_pod_cidr6 "$o")" <<<"$out"
      grep -q "$(node_pod_cidr "$o")" <<<"$out"
    done
    # one /128 per other segment, in segment order (aws 1, gcp 2, lab 3)
    [ "$(grep -o 'fd10:4::[0-9]*/128' <<<"$out" | sort | tr '\n' ' ')" = \
      "$(for o in $LEADERS; do [ "$o" = "$n" ] || echo "fd10:4::$(node_num "$o")/128"; done | sort | tr '\n' ' ')" ]
  done
}

@test "dual-stack: kg publishes the capability, its IPv6 WireGuard IP and its link-local address; wireguard-ip stays IPv4" {
  kctl get nodes -o json | python3 -c '
import json, sys
leaders = {"aws-1": "1", "gcp-1": "2", "lab-1": "3"}
for n in json.load(sys.stdin)["items"]:
    a = n["metadata"].get("annotations", {})
    name = n["metadata"]["name"]
    print(name, a.get("kilo.squat.ai/wireguard-ip"), a.get("kg.kilo.squat.ai/wireguard-ip6"),
          a.get("kg.kilo.squat.ai/dual-stack"), a.get("kg.kilo.squat.ai/internal-ip6"))
    want4 = "10.4.0.%s/16" % leaders[name] if name in leaders else ""
    want6 = "fd10:4::%s/64" % leaders[name] if name in leaders else ""
    assert a.get("kilo.squat.ai/wireguard-ip") == want4, name
    assert a.get("kg.kilo.squat.ai/wireguard-ip6") == want6, name
    assert a.get("kg.kilo.squat.ai/dual-stack") == "true", name
    assert a.get("kg.kilo.squat.ai/internal-ip6", "").startswith("fe80::"), name'
  node_exec gcp-1 ip -6 addr show dev kilo0 | grep -q 'inet6 fd10:4::2/64'
}

@test "dual-stack: IPv6 forwarding is on; kg installed IPv6 routes (a member via its leader's link-local address) and IPv6 NAT rules" {
  local ll
  [ "$(node_exec aws-1 sysctl -n net.ipv6.conf.all.forwarding)" = 1 ]
  node_exec aws-1 ip -6 route show | grep -q "$(node_pod_cidr6 gcp-1) via fd10:4::2 dev kilo0"
  node_exec aws-1 ip -6 route show | grep -q "$(node_pod_cidr6 lab-2) via fd10:4::3 dev kilo0"
  ll=$(kctl get node aws-1 -o jsonpath='{.metadata.annotations.kg\.kilo\.squat\.ai/internal-ip6}')
  ll=${ll%/*}
  echo "aws-1 internal-ip6 $ll"
  node_exec aws-2 ip -6 route show | grep -q "$(node_pod_cidr6 gcp-2) via $ll dev lan0"
  node_exec aws-1 nft list table inet kilo | grep -q "ip6 saddr $(node_pod_cidr6 aws-1)"
  # the CNI configuration has one host-local range per family
  node_exec aws-1 cat /etc/cni/net.d/10-kilo.conflist | grep -q "\[\[{\"subnet\": \"10.42.1.0/24\"}\], \[{\"subnet\": \"$(node_pod_cidr6 aws-1)\"}\]\]"
}

@test "dual-stack: kgctl graph, showconf and plan on the live cluster show both families" {
  run kgctl_live graph
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"fd10:4::/64"* ]]
  [[ "$output" == *"$(node_pod_cidr6 lab-2)"* ]]
  run kgctl_live showconf node aws-1
  echo "$output"
  [[ "$output" == *"$(node_pod_cidr6 gcp-1), $(node_pod_cidr6 gcp-2), fd10:4::2/128"* ]]
  run kgctl_live plan node aws-1
  echo "$output"
  [[ "$output" == *"interface-address fd10:4::1/64"* ]]
  [[ "$output" == *"route $(node_pod_cidr6 lab-1) via fd10:4::3 dev kilo0 onlink"* ]]
}
