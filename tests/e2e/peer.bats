#!/usr/bin/env bats
# A Kilo Peer outside the cluster: namespace <P>peer on the internet side (203.0.113.200)
# running wireguard-go wg0 in its own mount namespace, configured from
# `kgctl showconf peer laptop` plus its private key.
load common

setup_file() {
  export KGE_GRANULARITY=location
  e2e_setup_file
  local ns="${KGE_PREFIX}peer"
  kge_add_ns "$ns"
  kge_ns_run "$ns" <<EOS
link set lo up
link add eth0 type veth peer name peer netns $(inet_ns)
link set eth0 up
addr add 203.0.113.200/24 dev eth0
route add default via 203.0.113.1
EOS
  ip -n "$(inet_ns)" link set peer master wan up
  ip netns exec "$ns" unshare -m --propagation private sh -c '
    mount -t tmpfs -o mode=0755 kge-wg /var/run/wireguard
    LOG_LEVEL=error WG_PROCESS_FOREGROUND=1 exec wireguard-go wg0' \
    >>"$KGE_STATE/logs/peer.wireguard-go.log" 2>&1 </dev/null 3>&- &
  echo $! >"$KGE_STATE/pids/peer.wgx"
  wg genkey >"$KGE_STATE/peer.key"
  wg pubkey <"$KGE_STATE/peer.key" >"$KGE_STATE/peer.pub"
  wait_for 10 "wireguard-go of the peer" peer_exec test -S /var/run/wireguard/wg0.sock
}
teardown_file() { e2e_teardown_file; }
setup() { e2e_setup; }
teardown() { e2e_teardown; }

peer_exec() { nsenter -t "$(cat "$KGE_STATE/pids/peer.wgx")" -n -m -- "$@"; }
peer_ping() { peer_exec ping -n -q -c1 -W2 "$1" >/dev/null || peer_exec ping -n -q -c1 -W2 "$1" >/dev/null; }
peer_unreachable() { ! peer_exec ping -n -q -c2 -i0.3 -W1 "$1" >/dev/null 2>&1; }

peer_yaml() {
  cat <<EOY
apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: laptop
spec:
  allowedIPs:
  - 10.5.0.1/32
  publicKey: $(cat "$KGE_STATE/peer.pub")
  endpoint:
    dnsOrIP:
      ip: 203.0.113.200
    port: 51820
  persistentKeepalive: 10
EOY
}

@test "peer: kubectl apply of a Peer puts it on every leader" {
  peer_yaml >"$KGE_STATE/peer.yaml"
  kctl apply --validate=false -f "$KGE_STATE/peer.yaml"
  local key
  key=$(cat "$KGE_STATE/peer.pub")
  for n in aws-1 gcp-1 lab-1; do
    retry 40 wg_has_peer "$n" "$key"
    [ "$(wg_peer_field "$n" "$key" allowed-ips)" = 10.5.0.1/32 ]
  done
  wg_lacks_peer aws-2 "$key"
}

@test "peer: configured from kgctl showconf peer, it reaches pods in every location" {
  local conf
  if conf=$(kgctl_live showconf peer laptop 2>"$KGE_STATE/kgctl.err"); then
    echo "kgctl (live) showconf peer laptop"
  else
    echo "kgctl live mode failed ($(cat "$KGE_STATE/kgctl.err")), using --from-file"
    conf=$(kgctl_dump showconf peer laptop)
  fi
  echo "$conf"
  [ "$(grep -c '^\[Peer\]' <<<"$conf")" -eq 3 ]
  {
    printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n' "$(cat "$KGE_STATE/peer.key")"
    echo "$conf"
  } >"$KGE_STATE/peer.conf"
  peer_exec wg setconf wg0 "$KGE_STATE/peer.conf"
  peer_exec ip addr add 10.5.0.1/32 dev wg0
  peer_exec ip link set wg0 up
  local cidr
  for cidr in $(sed -n 's/^AllowedIPs = //p' "$KGE_STATE/peer.conf" | tr -d ' ' | tr ',' ' '); do
    peer_exec ip route replace "$cidr" dev wg0
  done
  peer_exec wg show wg0
  retry 30 peer_ping "$(node_pod_ip aws-1)"
  retry 30 peer_ping "$(node_pod_ip aws-2)"
  retry 30 peer_ping "$(node_pod_ip gcp-2)"
  retry 40 peer_ping "$(node_pod_ip lab-2)"
  # pods reach the peer too
  pod_ping gcp-2 10.5.0.1
}

@test "peer: deleting the Peer cuts it off" {
  local key
  key=$(cat "$KGE_STATE/peer.pub")
  peer_ping "$(node_pod_ip aws-1)"
  kctl delete peer laptop
  for n in aws-1 gcp-1 lab-1; do
    retry 40 wg_lacks_peer "$n" "$key"
  done
  peer_unreachable "$(node_pod_ip aws-1)"
  peer_unreachable "$(node_pod_ip gcp-2)"
  run ! route_has aws-2 10.5.0.1 10.5.0.1
  # the cluster itself is unaffected
  wait_mesh 30
}
