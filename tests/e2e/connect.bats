#!/usr/bin/env bats
# `kgctl connect`: a host outside the cluster joins it as a Kilo Peer.
#
#   +----------------------------- <P>inet (bridge wan, API emulator) ----------------+
#   |  198.51.100.1:6443                                                              |
#   +--+--------------+--------------+-----------------------------+------------------+
#      | aws-1 (pub)  | gcp-1 (pub)  | r3 (NAT) -- lab-1, lab-2    | 203.0.113.200
#      | aws-2        | gcp-2        |                             |
#   (the harness's 6-node cluster, see lib.sh)              +------+-------------------+
#                                                           | <P>laptop               |
#                                                           | kgctl connect laptop    |
#                                                           |  -> wireguard-go kilo0  |
#                                                           |     10.5.0.1/32         |
#                                                           +-------------------------+
#
# kgctl runs in the laptop's network namespace and a private mount namespace (a tmpfs on
# /var/run/wireguard, so its wireguard-go UAPI socket is its own). The kernel here has no
# WireGuard module, so kgctl falls back to a `wireguard-go kilo0` child. Only PIDs this file
# started are signalled; the namespaces are removed by the harness's cluster_down.
load common

LAPTOP_IP=203.0.113.200
LAPTOP_WG=10.5.0.1
SERVICE_CIDR=10.43.0.0/16

setup_file() {
  export KGE_GRANULARITY=location
  e2e_setup_file
  local ns="${KGE_PREFIX}laptop"
  kge_add_ns "$ns"
  kge_ns_run "$ns" <<EOS
link set lo up
link add eth0 type veth peer name laptop netns $(inet_ns)
link set eth0 up
addr add $LAPTOP_IP/24 dev eth0
route add default via 203.0.113.1
EOS
  ip -n "$(inet_ns)" link set laptop master wan up
  wg genkey >"$KGE_STATE/laptop.key"
  chmod 600 "$KGE_STATE/laptop.key"
  wg pubkey <"$KGE_STATE/laptop.key" >"$KGE_STATE/laptop.pub"
}

teardown_file() {
  connect_stop INT || true
  e2e_teardown_file
}
setup() { e2e_setup; }
teardown() { e2e_teardown; }

laptop_ns() { echo "${KGE_PREFIX}laptop"; }
connect_pid() { cat "$KGE_STATE/pids/connect.bg" 2>/dev/null; }
connect_running() { pid_is "$(connect_pid)" "$KGCTL"; }
# laptop_exec CMD...: in the laptop's network and (kgctl's) mount namespace.
laptop_exec() {
  if connect_running; then nsenter -t "$(connect_pid)" -n -m -- "$@"; else ip netns exec "$(laptop_ns)" "$@"; fi
}
laptop_ping() { laptop_exec ping -n -q -c1 -W2 "$1" >/dev/null || laptop_exec ping -n -q -c1 -W2 "$1" >/dev/null; }

# connect_start ARGS...: `kgctl connect ARGS...` in the laptop namespaces, in the background.
connect_start() {
  ip netns exec "$(laptop_ns)" unshare -m --propagation private sh -c '
    mount -t tmpfs -o mode=0755 kge-wg /var/run/wireguard
    exec "$@"' sh "$KGCTL" --kubeconfig "$KGE_STATE/kubeconfig" connect "$@" \
    >>"$KGE_STATE/logs/connect.log" 2>&1 </dev/null 3>&- &
  echo $! >"$KGE_STATE/pids/connect.bg"
}

# connect_stop [SIGNAL]: signals our kgctl and waits (20 s) until it has exited.
connect_stop() {
  local pid i
  pid=$(connect_pid)
  pid_is "$pid" "$KGCTL" || return 0
  kill -"${1:-INT}" "$pid"
  for ((i = 0; i < 200; i++)); do
    pid_is "$pid" "$KGCTL" || { rm -f "$KGE_STATE/pids/connect.bg"; return 0; }
    sleep 0.1
  done
  echo "kgctl connect (pid $pid) did not exit within 20 s of SIG${1:-INT}" >&2
  return 1
}

wggo_pid() { sed -n 's/.*backend=wireguard-go pid=\([0-9]*\).*/\1/p' "$KGE_STATE/logs/connect.log" | tail -1; }
peer_exists() { kctl get peer laptop >/dev/null 2>&1; }
peer_absent() { ! kctl get peer laptop >/dev/null 2>&1; }
laptop_route_has() { laptop_exec ip -4 route show "$1" | grep -q -- "$2"; }
laptop_wg_has_allowed() { laptop_exec wg show kilo0 allowed-ips | tr '\t ' '\n\n' | grep -qx "$1"; }

@test "connect: registers the Peer and reaches pods in every location" {
  connect_start laptop --allowed-ip "$LAPTOP_WG/32" --allowed-ips "$SERVICE_CIDR" \
    --private-key "$KGE_STATE/laptop.key" --resync-period 3s --mtu 1380
  retry 30 peer_exists
  kctl get peer laptop -o json >"$KGE_STATE/laptop-peer.json"
  cat "$KGE_STATE/laptop-peer.json"
  python3 - "$KGE_STATE/laptop-peer.json" "$(cat "$KGE_STATE/laptop.pub")" <<'EOP'
import json, sys
spec = json.load(open(sys.argv[1]))["spec"]
assert spec["allowedIPs"] == ["10.5.0.1/32"], spec
assert spec["publicKey"] == sys.argv[2], spec
assert spec["persistentKeepalive"] == 10, spec
assert "endpoint" not in spec, spec
EOP
  # The lab location is behind NAT like the laptop would be; it can only reach a Peer
  # that has an endpoint. A laptop with a public address publishes one, as a user would:
  kctl patch peer laptop --type merge -p \
    "{\"spec\":{\"endpoint\":{\"dnsOrIP\":{\"ip\":\"$LAPTOP_IP\"},\"port\":51820}}}"
  retry 20 laptop_exec ip link show kilo0
  laptop_exec ip -d link show kilo0
  [ "$(laptop_exec cat /sys/class/net/kilo0/mtu)" = 1380 ]
  laptop_exec ip -4 addr show dev kilo0 | grep -q "inet $LAPTOP_WG/32"
  # One [Peer] per location, routes to every pod subnet, private IP, WireGuard IP and
  # the extra --allowed-ips.
  retry 30 laptop_wg_has_allowed "$(node_pod_cidr lab-2)"
  [ "$(laptop_exec wg show kilo0 peers | wc -l)" -eq 3 ]
  laptop_wg_has_allowed "$SERVICE_CIDR"
  laptop_exec ip -4 route show proto static
  local n
  for n in $(node_names); do
    retry 20 laptop_route_has "$(node_pod_cidr "$n")" "dev kilo0"
    # lab-1 leads a location behind NAT: its private IP is also its declared endpoint, and
    # a route to the endpoint through the tunnel would cut the tunnel, so it is skipped.
    if [ "$n" = lab-1 ]; then
      run ! laptop_route_has "$(node_lan_ip "$n")" "dev kilo0"
    else
      laptop_route_has "$(node_lan_ip "$n")" "dev kilo0"
    fi
  done
  laptop_route_has 10.4.0.1 "dev kilo0"
  laptop_route_has "$SERVICE_CIDR" "via 10.4.0.1 dev kilo0"
  # Pods in every location, leaders and non-leaders.
  for n in $(node_names); do
    retry 60 laptop_ping "$(node_pod_ip "$n")"
  done
  # and back: a pod reaches the laptop
  retry 20 pod_ping gcp-2 "$LAPTOP_WG"
  retry 20 pod_ping lab-2 "$LAPTOP_WG"
  # The private key is never printed.
  ! grep -qF "$(cat "$KGE_STATE/laptop.key")" "$KGE_STATE/logs/connect.log"
  grep -q "backend=wireguard-go" "$KGE_STATE/logs/connect.log"
}

@test "connect: follows cluster changes (a new Peer appears as a route and goes again)" {
  connect_running
  local key
  key=$(wg genkey | wg pubkey)
  kctl apply --validate=false -f - <<EOY
apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: phone
spec:
  allowedIPs:
  - 10.5.0.99/32
  publicKey: $key
  persistentKeepalive: 0
EOY
  on_teardown kctl delete peer phone --ignore-not-found
  retry 20 laptop_route_has 10.5.0.99 "dev kilo0"
  retry 10 laptop_wg_has_allowed 10.5.0.99/32
  kctl delete peer phone
  retry 20 eval '! laptop_route_has 10.5.0.99 "dev kilo0"'
  retry 10 eval '! laptop_wg_has_allowed 10.5.0.99/32'
  # the laptop still reaches the cluster
  laptop_ping "$(node_pod_ip aws-2)"
}

@test "connect: SIGINT removes its interface, routes, wireguard-go and Peer" {
  connect_running
  local wpid
  wpid=$(wggo_pid)
  [ -n "$wpid" ]
  pid_is "$wpid" wireguard-go
  connect_stop INT
  tail -8 "$KGE_STATE/logs/connect.log"
  # interface and routes gone (the laptop namespace itself stays)
  run ip -n "$(laptop_ns)" link show kilo0
  [ "$status" -ne 0 ]
  run ip -n "$(laptop_ns)" -4 route show table all
  echo "$output"
  ! grep -q "kilo0" <<<"$output"
  ! grep -q "proto static" <<<"$output"
  ! grep -q "10.42." <<<"$output"
  # the wireguard-go child was stopped
  ! pid_is "$wpid" wireguard-go
  # the Peer it registered is deleted, and the leaders drop it
  retry 10 peer_absent
  local key n
  key=$(cat "$KGE_STATE/laptop.pub")
  for n in aws-1 gcp-1 lab-1; do retry 30 wg_lacks_peer "$n" "$key"; done
  grep -q 'msg="deleted peer"' "$KGE_STATE/logs/connect.log"
}

@test "connect: --clean-up=false leaves the Peer; a second run reuses it with the same key" {
  connect_start laptop --private-key "$KGE_STATE/laptop.key" --resync-period 3s --clean-up=false \
    --allowed-ip "$LAPTOP_WG/32"
  on_teardown kctl delete peer laptop --ignore-not-found
  retry 30 peer_exists
  retry 30 laptop_route_has "$(node_pod_cidr aws-1)" "dev kilo0"
  retry 40 laptop_ping "$(node_pod_ip aws-1)"
  local wpid
  wpid=$(wggo_pid)
  connect_stop INT
  peer_exists
  # left behind on purpose: stop that wireguard-go ourselves (it is ours: we started kgctl)
  if pid_is "$wpid" wireguard-go; then kill -TERM "$wpid"; fi
  retry 10 eval "! pid_is $wpid wireguard-go"
  # without --allowed-ip: the existing Peer's address is used
  connect_start laptop --private-key "$KGE_STATE/laptop.key" --resync-period 3s
  retry 20 laptop_exec ip link show kilo0
  retry 20 eval "laptop_exec ip -4 addr show dev kilo0 | grep -q 'inet $LAPTOP_WG/32'"
  grep -q 'msg="using existing peer"' "$KGE_STATE/logs/connect.log"
  connect_stop INT
  # it did not create the Peer, so it does not delete it
  peer_exists
  # a different key is refused with a clear message
  wg genkey >"$KGE_STATE/other.key"
  run -1 ip netns exec "$(laptop_ns)" "$KGCTL" --kubeconfig "$KGE_STATE/kubeconfig" connect laptop \
    --private-key "$KGE_STATE/other.key"
  [[ "$output" == *"already exists with another public key"* ]]
  ! grep -qF "$(cat "$KGE_STATE/other.key")" <<<"$output"
  run ip -n "$(laptop_ns)" link show kilo0
  [ "$status" -ne 0 ]
}
