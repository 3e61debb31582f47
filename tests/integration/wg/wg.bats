#!/usr/bin/env bats
# Integration test of kilo::wg against real wireguard-go devices, in the manner
# of the WireGuard kernel selftest netns.sh.
#
#   +------------------------------+        +------------------------------+
#   | netns kgtest-$$-a            |        | netns kgtest-$$-b            |
#   |  mount ns: own tmpfs on      |        |  mount ns: own tmpfs on      |
#   |   /var/run/wireguard         |        |   /var/run/wireguard         |
#   |  wg0 (wireguard-go, UAPI)    |        |  wg0 (wireguard-go, UAPI)    |
#   |    10.10.0.1/24  :51820      |        |    10.10.0.2/24  :51820      |
#   |  veth0 192.168.241.1/24 -----+--------+- veth0 192.168.241.2/24      |
#   +------------------------------+        +------------------------------+
#
# /var/run/wireguard is shared by all network namespaces, so each
# wireguard-go runs in its own mount namespace with a private tmpfs there, and
# every command for that side is run inside both of its namespaces (nsenter
# -m -n into the wireguard-go process). Only processes started here are
# killed, by PID. teardown_file always runs, also after a failure.
#
# Needs root; KILO_WG_TOOL points at the kilo_wg_tool binary.

setup_file() {
  if [[ $EUID -ne 0 ]]; then
    skip "wg netns integration test needs root (network and mount namespaces)"
  fi
  command -v wireguard-go >/dev/null || skip "wireguard-go not installed"
  command -v wg >/dev/null || skip "wg (wireguard-tools) not installed"
  [[ -x "$KILO_WG_TOOL" ]] || skip "KILO_WG_TOOL not set to the kilo_wg_tool binary"
  export NS_A="kgtest-$$-a" NS_B="kgtest-$$-b"
  export WORK="$(mktemp -d /tmp/kgtest-wg.XXXXXX)"
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  ip -n "$NS_A" link set lo up
  ip -n "$NS_B" link set lo up
  ip link add kgtv$$ netns "$NS_A" type veth peer name kgtw$$ netns "$NS_B"
  ip -n "$NS_A" link set kgtv$$ name veth0
  ip -n "$NS_B" link set kgtw$$ name veth0
  ip -n "$NS_A" addr add 192.168.241.1/24 dev veth0
  ip -n "$NS_B" addr add 192.168.241.2/24 dev veth0
  ip -n "$NS_A" link set veth0 up
  ip -n "$NS_B" link set veth0 up
  mkdir -p /var/run/wireguard
  start_wg "$NS_A" a
  start_wg "$NS_B" b
  for k in a b c; do
    wg genkey >"$WORK/$k.key"
    wg pubkey <"$WORK/$k.key" >"$WORK/$k.pub"
  done
}

start_wg() {
  local ns=$1 side=$2
  # ip netns exec, unshare and sh all exec, so $! ends up being wireguard-go.
  ip netns exec "$ns" unshare -m --propagation private sh -c \
    'mount -t tmpfs kgtest /var/run/wireguard && WG_PROCESS_FOREGROUND=1 exec wireguard-go wg0' \
    >"$WORK/wg-$side.log" 2>&1 &
  echo $! >"$WORK/pid-$side"
  for _ in $(seq 50); do
    in_ns "$side" test -S /var/run/wireguard/wg0.sock 2>/dev/null && return 0
    sleep 0.1
  done
  echo "wireguard-go did not start in $ns:" >&2
  cat "$WORK/wg-$side.log" >&2
  return 1
}

teardown_file() {
  [[ -n "${WORK:-}" ]] || return 0
  for side in a b; do
    if [[ -f "$WORK/pid-$side" ]]; then
      kill "$(cat "$WORK/pid-$side")" 2>/dev/null || true
    fi
  done
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  rm -rf "$WORK"
}

# in_ns a|b CMD...: run CMD in that side's network and mount namespaces.
in_ns() {
  local side=$1
  shift
  nsenter -t "$(cat "$WORK/pid-$side")" -m -n -- "$@"
}

conf_a() {  # $1: allowed IPs of peer c
  cat <<EOF2
[Interface]
PrivateKey = $(cat "$WORK/a.key")
ListenPort = 51820

[Peer]
PublicKey = $(cat "$WORK/b.pub")
Endpoint = 192.168.241.2:51820
AllowedIPs = 10.10.0.2/32, 100.96.2.0/24
PersistentKeepalive = 25

[Peer]
PublicKey = $(cat "$WORK/c.pub")
AllowedIPs = $1
EOF2
}

@test "apply through UAPI, read back with wg show" {
  conf_a "10.10.0.3/32" >"$WORK/a.conf"
  run in_ns a "$KILO_WG_TOOL" apply wg0 "$WORK/a.conf"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "writes=4" ]
  [ "$(in_ns a wg show wg0 private-key)" = "$(cat "$WORK/a.key")" ]
  [ "$(in_ns a wg show wg0 listen-port)" = "51820" ]
  expected="$(printf '%s\t%s\n%s\t%s\n' "$(cat "$WORK/b.pub")" "10.10.0.2/32 100.96.2.0/24" \
    "$(cat "$WORK/c.pub")" "10.10.0.3/32" | sort)"
  actual="$(in_ns a wg show wg0 allowed-ips | sort)"
  echo "expected: $expected"; echo "actual: $actual"
  [ "$actual" = "$expected" ]
  [ "$(in_ns a wg show wg0 endpoints | grep "$(cat "$WORK/b.pub")" | cut -f2)" = "192.168.241.2:51820" ]
  [ "$(in_ns a wg show wg0 persistent-keepalive | grep "$(cat "$WORK/b.pub")" | cut -f2)" = "25" ]
  in_ns a wg showconf wg0 | grep -q "AllowedIPs = 10.10.0.3/32"
}

@test "applying the same config again makes zero writes" {
  run in_ns a "$KILO_WG_TOOL" apply wg0 "$WORK/a.conf"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "writes=0" ]
}

@test "changing one peer's allowed IPs writes only that peer" {
  conf_a "10.10.0.3/32, 192.168.50.0/24" >"$WORK/a2.conf"
  run in_ns a "$KILO_WG_TOOL" apply wg0 "$WORK/a2.conf"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "write peer $(cat "$WORK/c.pub") allowed_ips" ]
  [ "${lines[-1]}" = "writes=1" ]
  [ "${#lines[@]}" -eq 2 ]
  in_ns a wg show wg0 allowed-ips | grep "$(cat "$WORK/c.pub")" | grep -q "192.168.50.0/24"
  # The untouched peer kept its endpoint and allowed IPs.
  in_ns a wg show wg0 allowed-ips | grep "$(cat "$WORK/b.pub")" | grep -q "100.96.2.0/24"
  run in_ns a "$KILO_WG_TOOL" apply wg0 "$WORK/a2.conf"
  [ "$output" = "writes=0" ]
}

@test "removing a peer writes one removal" {
  conf_a "10.10.0.3/32" | awk '/^\[Peer\]/{n++} n<2' >"$WORK/a3.conf"
  grep -c PublicKey "$WORK/a3.conf" | grep -qx 1
  run in_ns a "$KILO_WG_TOOL" apply wg0 "$WORK/a3.conf"
  echo "$output"
  [ "${lines[0]}" = "write peer $(cat "$WORK/c.pub") remove" ]
  [ "${lines[-1]}" = "writes=1" ]
  [ "$(in_ns a wg show wg0 peers)" = "$(cat "$WORK/b.pub")" ]
}

@test "two namespaces configured by kilo::wg ping through the tunnel" {
  cat >"$WORK/b.conf" <<EOF2
[Interface]
PrivateKey = $(cat "$WORK/b.key")
ListenPort = 51820

[Peer]
PublicKey = $(cat "$WORK/a.pub")
Endpoint = 192.168.241.1:51820
AllowedIPs = 10.10.0.1/32
EOF2
  run in_ns b "$KILO_WG_TOOL" apply wg0 "$WORK/b.conf"
  echo "$output"
  [ "$status" -eq 0 ]
  run in_ns a "$KILO_WG_TOOL" apply wg0 "$WORK/a3.conf"
  [ "$status" -eq 0 ]
  ip -n "$NS_A" addr add 10.10.0.1/24 dev wg0
  ip -n "$NS_B" addr add 10.10.0.2/24 dev wg0
  ip -n "$NS_A" link set wg0 up
  ip -n "$NS_B" link set wg0 up
  # wireguard-go binds its UDP port only once it sees the link go up, which
  # it learns asynchronously; an initiation that arrives before is lost and
  # retried after REKEY_TIMEOUT (5 s). So allow a few attempts.
  ok=0
  for _ in $(seq 15); do
    if ip netns exec "$NS_A" ping -c 1 -W 1 10.10.0.2 >/dev/null; then ok=1; break; fi
  done
  in_ns a wg show all; in_ns b wg show all
  [ "$ok" -eq 1 ]
  run ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 10.10.0.2
  echo "$output"
  [ "$status" -eq 0 ]
  # A handshake happened, and get reports it.
  run in_ns a "$KILO_WG_TOOL" get wg0
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" != *"$(cat "$WORK/a.key")"* ]]  # private key never printed
  [ "$(in_ns a wg show wg0 latest-handshakes | cut -f2)" -gt 0 ]
}

@test "generic netlink backend fails cleanly without the kernel module" {
  if lsmod 2>/dev/null | grep -q '^wireguard'; then skip "kernel has wireguard"; fi
  run in_ns a "$KILO_WG_TOOL" --backend genl get wg0
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$output" = "get wg0: wireguard kernel module not available (genetlink family 'wireguard' not found)" ]
}
