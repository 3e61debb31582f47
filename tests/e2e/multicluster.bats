#!/usr/bin/env bats
# Two Kilo clusters joined with Kilo's multi-cluster recipe: the leaders of each cluster
# are registered as Peers of the other with
#   kgctl showconf node NODE --as-peer -o yaml --allowed-ips SERVICE_CIDR | kubectl apply -f -
#
#   +------------------------------- <P>inet (bridge wan) --------------------------------+
#   | cluster 1 API 198.51.100.1:6443 (harness)     cluster 2 API 198.51.100.2:6443 (here)  |
#   +---+---------------+--------------+------------------------------+--------------------+
#       | aws-1 (pub)   | gcp-1 (pub)  | r3 (NAT) - lab-1             | 203.0.113.51 eth0
#       | aws-2         |              |                              |
#   cluster 1: the harness, 4 nodes                          +---------+------------------+
#   pods 10.42.<n>.0/24, services 10.43.0.0/16,              | <P>c2-1  (location mars)  |
#   Kilo subnet 10.4.0.0/16                                  | lan 10.60.0.11/24         |
#                                                            | kube-bridge 10.52.1.1/24  |
#   cluster 2: built here (1 node): pods 10.52.1.0/24,       | wireguard-go kilo0 + kg   |
#   services 10.53.0.0/16, Kilo subnet 10.14.0.0/16          +---------+------------------+
#                                                                      | pod 10.52.1.2
#                                                            +---------+------------------+
#                                                            | <P>c2p-1                  |
#                                                            +---------------------------+
#
# The harness runs one cluster per file, with fixed CIDRs and API address, so the second
# cluster is built here on the same internet namespace. Everything made here is recorded
# in the harness's state (namespaces list, pids/*.wg|*.kg|*.bg) so that cluster_down
# removes it; only PIDs started here are signalled.
load common

C2_API_IP=198.51.100.2
C2_NODE=c2-1
C2_PUB=203.0.113.51
C2_LAN=10.60.0.11
C2_POD_CIDR=10.52.1.0/24
C2_POD_IP=10.52.1.2
C2_SUBNET=10.14.0.0/16
C1_SERVICES=10.43.0.0/16
C2_SERVICES=10.53.0.0/16

c2_ns() { echo "${KGE_PREFIX}$C2_NODE"; }
c2_pod_ns() { echo "${KGE_PREFIX}c2p-1"; }
c2_kctl() {
  ip netns exec "$(inet_ns)" kubectl --kubeconfig "$KGE_STATE/c2/kubeconfig" \
    --cache-dir "$KGE_STATE/c2/kube-cache" --request-timeout=10s "$@"
}
c2_kgctl() { ip netns exec "$(inet_ns)" "$KGCTL" --kubeconfig "$KGE_STATE/c2/kubeconfig" "$@"; }
c2_node_exec() { nsenter -t "$(cat "$KGE_STATE/pids/$C2_NODE.wg")" -n -m -- "$@"; }
c2_pod_ping() { ip netns exec "$(c2_pod_ns)" ping -n -q -c1 -W2 "$1" >/dev/null || ip netns exec "$(c2_pod_ns)" ping -n -q -c1 -W2 "$1" >/dev/null; }
c2_wg_ip() { c2_kctl get node "$C2_NODE" -o jsonpath='{.metadata.annotations.kilo\.squat\.ai/wireguard-ip}'; }
c2_ready() { [ -n "$(c2_wg_ip)" ]; }

c2_api_start() {
  mkdir -p "$KGE_STATE/c2/api"
  ip -n "$(inet_ns)" addr add "$C2_API_IP/24" dev wan
  ip netns exec "$(inet_ns)" "$REPO/tests/apiserver/serve" --host "$C2_API_IP" --port 6443 \
    --kubeconfig "$KGE_STATE/c2/kubeconfig.ready" --state-dir "$KGE_STATE/c2/api" \
    >>"$KGE_STATE/logs/c2-apiserver.log" 2>&1 </dev/null 3>&- &
  echo $! >"$KGE_STATE/pids/c2-api.bg"
  wait_for 30 "cluster 2 API emulator" test -s "$KGE_STATE/c2/kubeconfig.ready"
  cp "$KGE_STATE/c2/kubeconfig.ready" "$KGE_STATE/c2/kubeconfig"
}

c2_underlay() {
  kge_add_ns "$(c2_ns)"
  kge_add_ns "$(c2_pod_ns)"
  kge_ns_run "$(c2_ns)" <<EOS
link set lo up
link add eth0 type veth peer name c2n1 netns $(inet_ns)
link set eth0 up
addr add $C2_PUB/24 dev eth0
route add default via 203.0.113.1
link add lan address 02:6b:67:fe:00:01 type bridge
link set lan up
addr add $C2_LAN/24 dev lan
link add kube-bridge address 02:6b:67:fe:00:02 type bridge
link set kube-bridge up
addr add 10.52.1.1/24 dev kube-bridge
EOS
  ip -n "$(inet_ns)" link set c2n1 master wan up
  kge_ns_run "$(c2_pod_ns)" <<EOS
link set lo up
link add eth0 type veth peer name veth-pod netns $(c2_ns)
link set eth0 up
addr add $C2_POD_IP/24 dev eth0
route add default via 10.52.1.1
EOS
  ip -n "$(c2_ns)" link set veth-pod master kube-bridge up
}

c2_agent_start() {
  local wgpid
  ip netns exec "$(c2_ns)" unshare -m --propagation private sh -c '
    set -e
    mount -t tmpfs -o mode=0755 kge-wg /var/run/wireguard
    mount -t tmpfs -o mode=0700 kge-kilo /var/lib/kilo
    mount -t tmpfs -o mode=0755 kge-cni /etc/cni/net.d
    LOG_LEVEL=error WG_PROCESS_FOREGROUND=1 exec wireguard-go kilo0' \
    >>"$KGE_STATE/logs/$C2_NODE.wireguard-go.log" 2>&1 </dev/null 3>&- &
  wgpid=$!
  echo "$wgpid" >"$KGE_STATE/pids/$C2_NODE.wg"
  wait_for 10 "wireguard-go of $C2_NODE" nsenter -t "$wgpid" -m -- test -S /var/run/wireguard/kilo0.sock
  nsenter -t "$wgpid" -n -m -- "$KG" --kubeconfig "$KGE_STATE/c2/kubeconfig" --hostname "$C2_NODE" \
    --interface kilo0 --create-interface=false --encapsulate=never --mesh-granularity location \
    --port 51820 --subnet "$C2_SUBNET" --resync-period 5s --cni=true \
    --cni-path /etc/cni/net.d/10-kilo.conflist --key-file /var/lib/kilo/key \
    --listen "$C2_LAN:1107" --log-format logfmt --log-level info --clean-up=true \
    --internal-cidr 10.60.0.0/24 \
    >>"$KGE_STATE/logs/$C2_NODE.kg.log" 2>&1 </dev/null 3>&- &
  echo $! >"$KGE_STATE/pids/$C2_NODE.kg"
}

setup_file() {
  export KGE_GRANULARITY=location KGE_NODES=4 KGE_PUBLIC="aws-1 gcp-1"
  e2e_setup_file
  mkdir -p "$KGE_STATE/c2"
  if [ -n "${E2E_NETDEBUG:-}" ]; then
    # Debugging aid: every link, address, route and neighbour change of the public nodes
    # and of the internet namespace, with timestamps.
    mkdir -p "$E2E_NETDEBUG"
    local n
    for n in aws-1 gcp-1 inet; do
      ip -t -n "$KGE_PREFIX$n" monitor all >"$E2E_NETDEBUG/monitor-$n" 2>&1 </dev/null 3>&- &
      echo $! >"$KGE_STATE/pids/mon-$n.bg"
    done
  fi
  c2_api_start
  c2_underlay
  c2_kctl create --validate=false -f - >&2 <<EOJ
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$C2_NODE","labels":{"kubernetes.io/hostname":"$C2_NODE","topology.kubernetes.io/region":"mars"}},"spec":{"podCIDR":"$C2_POD_CIDR","podCIDRs":["$C2_POD_CIDR"]}}
EOJ
  c2_agent_start
  wait_for 30 "kg on $C2_NODE publishes its WireGuard IP" c2_ready || {
    tail -20 "$KGE_STATE/logs/$C2_NODE.kg.log" >&3
    return 1
  }
}

teardown_file() {
  # Our own agent first, while cluster 2's API is still up (it removes its annotations).
  if [ -n "${KGE_STATE:-}" ]; then
    kill_pid "$KGE_STATE/pids/$C2_NODE.kg" "$KG" 15
    kill_pid "$KGE_STATE/pids/$C2_NODE.wg" wireguard-go 5
    kill_pid "$KGE_STATE/pids/c2-api.bg" serve 5
  fi
  e2e_teardown_file
}
setup() { e2e_setup; }
teardown() {
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -z "${BATS_TEST_SKIPPED:-}" ]; then
    {
      echo "# --- $C2_NODE kg.log (tail)"
      tail -n 6 "$KGE_STATE/logs/$C2_NODE.kg.log" 2>/dev/null | sed 's/^/#   /'
      echo "# --- $C2_NODE wg show"
      c2_node_exec wg show kilo0 2>&1 | grep -v 'private key' | sed 's/^/#   /'
      echo "# --- aws-1 wg show"
      node_exec aws-1 wg show kilo0 2>&1 | grep -v 'private key' | sed 's/^/#   /'
    } >&3
  fi
  e2e_teardown
}

@test "multicluster: cluster 2 is up with non-overlapping CIDRs" {
  [ "$(c2_wg_ip)" = 10.14.0.1/16 ]
  [ "$(node_annotation aws-1 wireguard-ip)" = 10.4.0.1/16 ]
  c2_kgctl showconf node "$C2_NODE"
}

@test "multicluster: each cluster's leaders become Peers of the other (showconf --as-peer -o yaml | kubectl apply)" {
  local n y
  # Cluster 1 -> cluster 2 (non-leaders print nothing on stdout and are skipped).
  for n in $(kctl get nodes -o name | cut -d/ -f2); do
    y=$(kgctl_live showconf node "$n" --as-peer -o yaml --allowed-ips "$C1_SERVICES")
    [ -n "$y" ] || continue
    echo "$y"
    grep -q "^kind: Peer" <<<"$y"
    grep -q -- "- $C1_SERVICES" <<<"$y"
    c2_kctl apply --validate=false -f - <<<"$y"
  done
  # Cluster 2 -> cluster 1.
  for n in $(c2_kctl get nodes -o name | cut -d/ -f2); do
    y=$(c2_kgctl showconf node "$n" --as-peer -o yaml --allowed-ips "$C2_SERVICES")
    [ -n "$y" ] || continue
    echo "$y"
    kctl apply --validate=false -f - <<<"$y"
  done
  run c2_kctl get peers -o name
  echo "$output"
  [ "$(sort <<<"$output" | tr '\n' ' ')" = "peer.kilo.squat.ai/aws-1 peer.kilo.squat.ai/gcp-1 peer.kilo.squat.ai/lab-1 " ]
  run kctl get peers -o name
  [ "$output" = "peer.kilo.squat.ai/$C2_NODE" ]
  # The WireGuard peers and routes appear on both sides.
  retry 30 wg_allowed_has aws-1 "$C2_POD_CIDR"
  retry 30 wg_allowed_has aws-1 "$C2_SERVICES"
  retry 30 route_has aws-1 "$C2_POD_CIDR" "dev kilo0"
  retry 30 route_has aws-2 "$C2_POD_CIDR" "via $(node_lan_ip aws-1)"
  retry 30 eval "c2_node_exec wg show kilo0 allowed-ips | grep -q 10.42.1.0/24"
  retry 30 eval "c2_node_exec ip -4 route show 10.42.4.0/24 | grep -q 'dev kilo0'"
}

@test "multicluster: a pod in cluster 1 pings a pod in cluster 2 and back" {
  # leaders and a non-leader of cluster 1
  retry 60 pod_ping aws-1 "$C2_POD_IP"
  retry 30 pod_ping gcp-1 "$C2_POD_IP"
  retry 30 pod_ping aws-2 "$C2_POD_IP"
  # and back
  retry 30 c2_pod_ping "$(node_pod_ip aws-1)"
  retry 30 c2_pod_ping "$(node_pod_ip gcp-1)"
  retry 30 c2_pod_ping "$(node_pod_ip aws-2)"
  # the behind-NAT location: its leader initiates towards cluster 2's public endpoint
  retry 60 c2_pod_ping "$(node_pod_ip lab-1)"
  retry 30 pod_ping lab-1 "$C2_POD_IP"
  # cluster 1 itself is unaffected
  wait_mesh 30
}
