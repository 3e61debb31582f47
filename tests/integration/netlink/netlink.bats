#!/usr/bin/env bats
# Integration test of kilo::netlink (rtnetlink) in a network namespace, in the
# manner of the WireGuard kernel selftest netns.sh.
#
#   +-------------------------------------------------------------+
#   | netns kgtest-$$-n                                           |
#   |   eth0  (veth)  192.168.10.5/24, 203.0.113.5/24, mtu 1450    |
#   |         default via 192.168.10.1                             |
#   |   kilo0 (veth, stands in for WireGuard)  10.4.0.1/16         |
#   |   foreign: 10.99.0.0/16 dev kilo0 proto boot                 |
#   +-------------------------------------------------------------+
#
# (veth rather than dummy: this kernel may have no dummy module either.)
# The kernel here may lack the WireGuard and IPIP modules: creating those
# link kinds must fail with a message that says what to do.
# Needs root; KILO_NL_TOOL points at the kilo_nl_tool binary.

setup_file() {
  if [[ $EUID -ne 0 ]]; then
    skip "netlink netns integration test needs root (network namespaces)"
  fi
  [[ -x "$KILO_NL_TOOL" ]] || skip "KILO_NL_TOOL not set to the kilo_nl_tool binary"
  export NS="kgtest-$$-n"
  export WORK="$(mktemp -d /tmp/kgtest-nl.XXXXXX)"
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  ip -n "$NS" link add eth0 mtu 1450 type veth peer name eth0p
  ip -n "$NS" link add kilo0 type veth peer name kilo0p
  ip -n "$NS" link set eth0p up
  ip -n "$NS" link set kilo0p up
  ip -n "$NS" addr add 192.168.10.5/24 dev eth0
  ip -n "$NS" addr add 203.0.113.5/24 dev eth0
  ip -n "$NS" link set eth0 up
  ip -n "$NS" link set kilo0 up
  ip -n "$NS" route add default via 192.168.10.1 dev eth0
  ip -n "$NS" route add 10.99.0.0/16 dev kilo0 proto boot
}

teardown_file() {
  [[ -n "${NS:-}" ]] && ip netns del "$NS" 2>/dev/null || true
  [[ -n "${WORK:-}" ]] && rm -rf "$WORK" || true
}

nl() { ip netns exec "$NS" "$KILO_NL_TOOL" "$@"; }

@test "addresses converge, twice is zero writes" {
  run nl addrs kilo0 10.4.0.1/16
  echo "$output"
  [ "$output" = "addresses added=1 removed=0" ]
  run nl addrs kilo0 10.4.0.1/16
  [ "$output" = "addresses added=0 removed=0" ]
  ip -n "$NS" addr show dev kilo0 | grep -q "inet 10.4.0.1/16"
}

@test "routes and rules converge; foreign routes stay; twice is zero writes" {
  cat >"$WORK/plan1" <<EOF2
route 100.96.1.0/24 via 10.4.0.2 src 192.168.10.5 dev kilo0 onlink
route 100.96.2.0/24 via 10.4.0.3 src 192.168.10.5 dev kilo0 onlink
route 192.168.20.7/32 via 192.168.10.7 dev eth0 table 1107 onlink
route fd05::3/128 dev kilo0
rule from 100.96.0.0/24 to 192.168.20.7/32 lookup 1107
EOF2
  run nl converge "$WORK/plan1" kilo0
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "routes added=4 removed=0" ]
  [ "${lines[1]}" = "rules added=1 removed=0" ]
  run nl converge "$WORK/plan1" kilo0
  echo "$output"
  [ "${lines[0]}" = "routes added=0 removed=0" ]
  [ "${lines[1]}" = "rules added=0 removed=0" ]
  # What the kernel holds, rendered in the golden-sample format.
  run nl show kilo0
  echo "$output"
  [ "$output" = "$(grep -v '^rule' "$WORK/plan1"; grep '^rule' "$WORK/plan1")" ] ||
    [ "$(echo "$output" | sort)" = "$(sort "$WORK/plan1")" ]
  ip -n "$NS" route show table 1107 | grep -q "192.168.20.7 via 192.168.10.7 dev eth0 proto static onlink"
  ip -n "$NS" rule show | grep -q "from 100.96.0.0/24 to 192.168.20.7 lookup 1107"
  ip -n "$NS" route show proto boot | grep -q "^10.99.0.0/16 dev kilo0"
}

@test "dropping routes and rules removes only kg's own" {
  ip -n "$NS" rule add from 10.1.0.0/16 lookup 100   # foreign rule
  cat >"$WORK/plan2" <<EOF2
route 100.96.1.0/24 via 10.4.0.2 src 192.168.10.5 dev kilo0 onlink
EOF2
  run nl converge "$WORK/plan2" kilo0
  echo "$output"
  [ "${lines[0]}" = "routes added=0 removed=3" ]
  [ "${lines[1]}" = "rules added=0 removed=1" ]
  run nl converge "$WORK/plan2" kilo0
  [ "${lines[0]}" = "routes added=0 removed=0" ]
  [ "${lines[1]}" = "rules added=0 removed=0" ]
  ip -n "$NS" route show proto boot | grep -q "^10.99.0.0/16 dev kilo0"
  ip -n "$NS" rule show | grep -q "from 10.1.0.0/16 lookup 100"
  ! ip -n "$NS" route show table 1107 | grep -q .
}

@test "changed gateway is replaced in place" {
  echo "route 100.96.1.0/24 via 10.4.0.9 src 192.168.10.5 dev kilo0 onlink" >"$WORK/plan3"
  run nl converge "$WORK/plan3" kilo0
  echo "$output"
  [ "${lines[0]}" = "routes added=1 removed=0" ]
  ip -n "$NS" route show | grep -q "100.96.1.0/24 via 10.4.0.9 dev kilo0 proto static src 192.168.10.5 onlink"
}

@test "link create: bridge is idempotent; wireguard and ipip fail clearly without modules" {
  run nl link-create kgbr0 bridge
  [ "$output" = "ok" ]
  run nl link-create kgbr0 bridge
  [ "$output" = "ok" ]
  if ! lsmod 2>/dev/null | grep -q '^wireguard'; then
    run nl link-create kgwg0 wireguard
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"no WireGuard module"*"--create-interface=false"* ]]
  fi
  if ! lsmod 2>/dev/null | grep -q '^ipip'; then
    run nl link-create kgtunl0 ipip
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"no IPIP module"*"--encapsulate=never"* ]]
  fi
}

@test "address discovery and MTU" {
  run nl discover
  echo "$output"
  [ "${lines[0]}" = "internal 10.4.0.1/16 kilo0" ] || [ "${lines[0]}" = "internal 192.168.10.5/24 eth0" ]
  run nl discover 192.168.10.5
  echo "$output"
  [ "${lines[0]}" = "internal 192.168.10.5/24 eth0" ]
  [ "${lines[1]}" = "external 203.0.113.5/24 eth0" ]
  [ "${lines[2]}" = "mtu 1370" ]
}
