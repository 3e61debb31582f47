# shellcheck shell=bash
# tests/e2e/lib.sh: a virtual multi-location Kilo cluster on one machine.
#
# Everything lives in network namespaces named "$KGE_PREFIX*" (KGE_PREFIX defaults to
# "kge<random>-"); the root namespace is never touched (no interface, route or rule).
# Public addresses are TEST-NET (198.51.100.0/24, 203.0.113.0/24) and exist only inside
# the namespaces; nothing can leave the machine.
#
#                         +--------------------- <P>inet ----------------------+
#                         | bridge "wan": 198.51.100.1/24, 203.0.113.1/24      |
#                         | API emulator https://198.51.100.1:6443             |
#                         | (kubectl / kgctl run in here: kctl, kgctl_live)    |
#                         +---+-----------+-----------+-----------+---------+--+
#          198.51.100.11 wan0 |  198.51.100.12 wan0   |  198.51.100.13    |  203.0.113.200
#   +-----------------+   +---+-------------+   +-----+-----------+   +---+---------------+
#   | <P>r1 (aws)     |   | <P>r2 (gcp)     |   | <P>r3 (lab)     |   | <P>peer (optional)|
#   | masquerade      |   | masquerade      |   | masquerade      |   | wireguard-go wg0  |
#   | bridge lan      |   | bridge lan      |   | random ports    |   | (a Kilo Peer)     |
#   | 10.10.0.1/24    |   | 10.20.0.1/24    |   | 10.30.0.1/24    |   +-------------------+
#   +--+----------+---+   +--+-----------+--+   +--+-----------+--+
#      |lan0      |lan0      |lan0       |lan0     |lan0       |lan0
#   +--+-----+ +--+-----+ +--+-----+ +---+----+ +--+-----+ +---+----+
#   | aws-1  | | aws-2  | | gcp-1  | | gcp-2  | | lab-1  | | lab-2  |   node namespaces
#   |.10.0.11| |.10.0.12| |.20.0.11| |.20.0.12| |.30.0.11| |.30.0.12|   <P><node>
#   |pub0    | |        | |pub0    | |pub0    | | behind | | behind |   pub0 = 203.0.113.<10*loc+k>
#   |203.0.  | |        | |203.0.  | |203.0.  | |  NAT   | |  NAT   |   (default route there;
#   |113.11  | |        | |113.21  | |113.22  | |        | |        |    else via the router)
#   +---+----+ +---+----+ +---+----+ +---+----+ +---+----+ +---+----+
#       | kube-bridge 10.42.<n>.1/24 (n = node number, podCIDR 10.42.<n>.0/24)
#   +---+----+                                                          pod namespaces
#   | pod    |  eth0 10.42.<n>.2, default via 10.42.<n>.1                <P>p-<node>
#   +--------+
#
# Every node runs, in its network namespace plus a private mount namespace (tmpfs on
# /var/run/wireguard, /var/lib/kilo and /etc/cni/net.d):
#   wireguard-go kilo0  (started by `ip netns exec NODE unshare -m ... exec wireguard-go`)
#   kg ...              (started by `nsenter -t <wireguard-go pid> -n -m -- kg ...`, so an
#                        agent can be stopped and restarted inside the same namespaces)
#
# Nodes are numbered 1..N (N = KGE_NODES, default 6) and spread over the locations
# round-robin: 1 aws-1, 2 gcp-1, 3 lab-1, 4 aws-2, 5 gcp-2, 6 lab-2, 7 aws-3, ...
# Public addresses (KGE_PUBLIC, default "aws-1 gcp-1 gcp-2"); lab is always behind NAT and
# its nodes get kilo.squat.ai/persistent-keepalive=$KGE_LAB_KEEPALIVE (default 10).
#
# Configuration (environment, read by cluster_up):
#   KGE_STATE        state directory (pids, logs, kubeconfig)     required
#   KGE_PREFIX       namespace prefix                             kge<random>-
#   KGE_NODES        number of nodes                              6
#   KGE_GRANULARITY  location | full | cross                      location
#   KGE_PUBLIC       nodes with a public address                  "aws-1 gcp-1 gcp-2"
#   KGE_LAB_KEEPALIVE persistent-keepalive of lab nodes ("" none)  10
#   KGE_NO_AGENTS=1  build the underlay, emulator and pods but start no wireguard-go/kg
#   KGE_KG_EXTRA     extra kg flags (word-split)
#   KG, KGCTL, REPO  binaries and source tree (defaults: $REPO/build/bin/...)
#   KGE_GO_NODES     nodes whose agent is Kilo's original Go kg instead (tests/interop)  ""
#   KILO_GO_KG       the Go kg binary (required when KGE_GO_NODES is not empty)
#   KGE_GO_EXTRA     extra Go kg flags (word-split)
#   KGE_DUAL_STACK=1 IPv6 too (SPEC 11.3): IPv6 on and forwarding in every namespace,
#                    pods fd42::<n>:2 in podCIDRs[1] fd42::<n>:0/112 (kube-bridge
#                    fd42::<n>:1); the underlay stays IPv4. PING_FAMILY=6 pings those.
#
# Mixed clusters (tests/interop): a node's agent is "kg" (this project) or "go" (Kilo's
# Go kg, flags of 0.6: go_kg_args); agent_kind/agent_set_kind choose it per node, and
# kg_start/kg_stop/kg_running act on whichever runs there. The Go agent resolves its
# hostname at start (its internal IP), so every node namespace gets an /etc/hosts with its
# name and LAN address (/etc/netns/<ns>/hosts, which `ip netns exec` mounts over
# /etc/hosts; removed by cluster_down).
#
# Public functions: cluster_up, cluster_down, cluster_status, kctl, kgctl_live, node_exec,
# pod_exec, wg_dump, wait_mesh, ping_matrix, node_matrix, kg_stop, kg_start, api_stop,
# api_start, add_lan_host, wait_for, log_step, agent_kind, agent_set_kind.

KGE_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
: "${REPO:=$(cd "$KGE_LIB_DIR/../.." && pwd)}"
: "${KG:=$REPO/build/bin/kg}"
: "${KGCTL:=$REPO/build/bin/kgctl}"
KGE_LOCATIONS=(aws gcp lab)
KGE_API_IP=198.51.100.1
KGE_API_PORT=6443

log_step() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
kge_die() { printf '[e2e] FAILED: %s\n' "$*" >&2; return 1; }

# ---------------------------------------------------------------------------- naming

kge_load_env() {
  [ -n "${KGE_STATE:-}" ] || { echo "KGE_STATE not set" >&2; return 1; }
  if [ -f "$KGE_STATE/env" ]; then
    # shellcheck disable=SC1091
    . "$KGE_STATE/env"
  fi
}

kge_save_env() {
  {
    printf 'KGE_PREFIX=%q\n' "$KGE_PREFIX"
    printf 'KGE_NODES=%q\n' "$KGE_NODES"
    printf 'KGE_GRANULARITY=%q\n' "$KGE_GRANULARITY"
    printf 'KGE_PUBLIC=%q\n' "$KGE_PUBLIC"
    printf 'KGE_LAB_KEEPALIVE=%q\n' "$KGE_LAB_KEEPALIVE"
    printf 'KGE_NO_AGENTS=%q\n' "${KGE_NO_AGENTS:-}"
    printf 'KGE_DUAL_STACK=%q\n' "${KGE_DUAL_STACK:-}"
    printf 'KGE_KG_EXTRA=%q\n' "${KGE_KG_EXTRA:-}"
    printf 'KGE_GO_NODES=%q\nKILO_GO_KG=%q\nKGE_GO_EXTRA=%q\n' "${KGE_GO_NODES:-}" "${KILO_GO_KG:-}" "${KGE_GO_EXTRA:-}"
    printf 'KG=%q\nKGCTL=%q\nREPO=%q\n' "$KG" "$KGCTL" "$REPO"
  } >"$KGE_STATE/env"
}

kge_defaults() {
  : "${KGE_PREFIX:=kge$(od -An -N2 -tx2 /dev/urandom | tr -d ' ')-}"
  : "${KGE_NODES:=6}"
  : "${KGE_GRANULARITY:=location}"
  : "${KGE_PUBLIC=aws-1 gcp-1 gcp-2}"
  : "${KGE_LAB_KEEPALIVE=10}"
  export KGE_PREFIX KGE_NODES KGE_GRANULARITY KGE_PUBLIC KGE_LAB_KEEPALIVE KG KGCTL REPO
}

# node_names: all node names in node-number order.
node_names() {
  local i
  for ((i = 1; i <= KGE_NODES; i++)); do node_name "$i"; done
}
node_name() { echo "${KGE_LOCATIONS[$((($1 - 1) % 3))]}-$((($1 - 1) / 3 + 1))"; }
# node_num NAME -> 1..N
node_num() {
  local loc=${1%-*} k=${1##*-} l
  l=$(node_loc_idx "$1")
  echo $(((k - 1) * 3 + l))
}
node_loc() { echo "${1%-*}"; }
node_loc_idx() {
  case "${1%-*}" in aws) echo 1 ;; gcp) echo 2 ;; lab) echo 3 ;; *) return 1 ;; esac
}
node_k() { echo "${1##*-}"; }
node_ns() { echo "${KGE_PREFIX}$1"; }
pod_ns() { echo "${KGE_PREFIX}p-$1"; }
router_ns() { echo "${KGE_PREFIX}r$1"; }
inet_ns() { echo "${KGE_PREFIX}inet"; }
node_lan_ip() { echo "10.$(node_loc_idx "$1")0.0.$((10 + $(node_k "$1")))"; }
node_pub_ip() { echo "203.0.113.$((10 * $(node_loc_idx "$1") + $(node_k "$1")))"; }
node_is_public() { [[ " $KGE_PUBLIC " == *" $1 "* ]]; }
node_pod_cidr() { echo "10.42.$(node_num "$1").0/24"; }
node_pod_ip() { echo "10.42.$(node_num "$1").2"; }
node_gw_ip() { echo "10.42.$(node_num "$1").1"; }
node_pod_cidr6() { echo "fd42::$(node_num "$1"):0/112"; }
node_pod_ip6() { echo "fd42::$(node_num "$1"):2"; }
node_gw_ip6() { echo "fd42::$(node_num "$1"):1"; }
router_wan_ip() { echo "198.51.100.$((10 + $1))"; }

# ---------------------------------------------------------------------------- helpers

# wait_for SECONDS DESCRIPTION CMD...: polls CMD every 0.5 s.
wait_for() {
  local t=$1 what=$2 end
  shift 2
  end=$((SECONDS + t))
  while ! "$@" >/dev/null 2>&1; do
    if ((SECONDS >= end)); then
      echo "timed out after ${t}s waiting for: $what" >&2
      return 1
    fi
    sleep 0.5
  done
}

# pid_is PID WORD: the process exists and its command line mentions WORD (guards against
# killing a recycled PID).
pid_is() {
  [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -q -- "$2"
}

# kill_pid PIDFILE WORD [GRACE]: SIGTERM, wait up to GRACE s, then SIGKILL.
kill_pid() {
  local f=$1 word=$2 grace=${3:-10} pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if pid_is "$pid" "$word"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      pid_is "$pid" "$word" || break
      sleep 0.1
    done
    if pid_is "$pid" "$word"; then
      echo "[e2e] $word (pid $pid) ignored SIGTERM for ${grace}s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

ns_exec() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# node_exec NODE CMD...: runs CMD in the node's network and mount namespaces (so `wg`
# finds /var/run/wireguard/kilo0.sock and files under /var/lib/kilo are the node's).
node_exec() {
  local n=$1 pid
  shift
  pid=$(cat "$KGE_STATE/pids/$n.wg" 2>/dev/null || true)
  if pid_is "$pid" wireguard-go; then
    nsenter -t "$pid" -n -m -- "$@"
  else
    ip netns exec "$(node_ns "$n")" "$@"
  fi
}
pod_exec() {
  local n=$1
  shift
  ip netns exec "$(pod_ns "$n")" "$@"
}
wg_dump() { node_exec "$1" wg show kilo0 dump; }

# kctl ARGS...: kubectl against the emulator (runs inside the internet namespace).
kctl() {
  ip netns exec "$(inet_ns)" kubectl --kubeconfig "$KGE_STATE/kubeconfig" \
    --cache-dir "$KGE_STATE/kube-cache" --request-timeout=10s "$@"
}
# kgctl_live ARGS...: kgctl reading the live cluster.
kgctl_live() { ip netns exec "$(inet_ns)" "$KGCTL" --kubeconfig "$KGE_STATE/kubeconfig" "$@"; }
# kgctl_dump ARGS...: kgctl on a fresh `kubectl get nodes,peers -o json` dump (fallback).
kgctl_dump() {
  kctl get nodes,peers -o json >"$KGE_STATE/dump.json" || return 1
  "$KGCTL" --from-file "$KGE_STATE/dump.json" "$@"
}
# emu_admin PATH [METHOD]: the emulator's admin API (e.g. emu_admin 'fail?code=500&count=5').
emu_admin() {
  local tok
  tok=$(awk '/token:/ {print $2}' "$KGE_STATE/kubeconfig")
  ip netns exec "$(inet_ns)" curl -sSk -X "${2:-POST}" -H "Authorization: Bearer $tok" \
    "https://$KGE_API_IP:$KGE_API_PORT/_emulator/$1"
}

# ---------------------------------------------------------------------------- underlay

KGE_SYSCTLS='sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1'
# KGE_DUAL_STACK: IPv6 on, and forwarded, in every namespace.
KGE_SYSCTLS6='sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1'
kge_sysctls() { if [ -n "${KGE_DUAL_STACK:-}" ]; then echo "$KGE_SYSCTLS6"; else echo "$KGE_SYSCTLS"; fi; }

kge_add_ns() {
  ip netns add "$1" || return 1
  echo "$1" >>"$KGE_STATE/namespaces"
}

# kge_ns_run NS: sysctls, then the `ip -batch` commands read from stdin, in NS.
kge_ns_run() {
  local ns=$1 batch
  batch=$(cat)
  printf '%s\n' "$batch" >>"$KGE_STATE/underlay.batch.$ns"
  ip netns exec "$ns" sh -c "$(kge_sysctls) && ip -batch -" <<<"$batch" || {
    echo "ip -batch in $ns failed; commands: $KGE_STATE/underlay.batch.$ns" >&2
    return 1
  }
}

kge_underlay() {
  local inet l r n ns pod i enslave_inet=""
  inet=$(inet_ns)
  declare -A enslave_router=()
  log_step "underlay: namespaces ${KGE_PREFIX}{inet,r1..r3,<node>,p-<node>}"
  kge_add_ns "$inet" || return 1
  for l in 1 2 3; do kge_add_ns "$(router_ns "$l")" || return 1; done
  for n in $(node_names); do
    kge_add_ns "$(node_ns "$n")" && kge_add_ns "$(pod_ns "$n")" || return 1
  done

  # Every bridge gets a fixed MAC address: a bridge without one takes the lowest MAC of
  # its ports, so a port added later (multicluster's second cluster, add_lan_host) would
  # change it, and the neighbours' ARP entries would point at a MAC nobody answers for
  # until they fail and relearn it: a blackhole of several seconds that stalled TCP
  # (watch streams) for up to a minute of retransmission backoff.
  log_step "underlay: internet $inet (bridge wan: 198.51.100.1/24, 203.0.113.1/24)"
  kge_ns_run "$inet" <<EOF || return 1
link set lo up
link add wan address 02:6b:67:ff:00:01 type bridge
link set wan up
addr add 198.51.100.1/24 dev wan
addr add 203.0.113.1/24 dev wan
EOF

  for l in 1 2 3; do
    r=$(router_ns "$l")
    log_step "underlay: router $r for ${KGE_LOCATIONS[$((l - 1))]}: LAN 10.${l}0.0.1/24, WAN $(router_wan_ip "$l"), masquerade"
    kge_ns_run "$r" <<EOF || return 1
link set lo up
link add wan0 type veth peer name r$l netns $inet
link set wan0 up
addr add $(router_wan_ip "$l")/24 dev wan0
route add default via 198.51.100.1
link add lan address 02:6b:67:ff:01:0$l type bridge
link set lan up
addr add 10.${l}0.0.1/24 dev lan
EOF
    enslave_inet+="link set r$l master wan up"$'\n'
    # Masquerade with random source ports (a flushed conntrack gives a new mapping);
    # nothing is forwarded from the WAN side unless it belongs to an existing flow.
    ip netns exec "$r" nft -f - <<EOF || return 1
table ip kge-nat {
  chain nat_post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" masquerade random
  }
  chain filter_fwd {
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    iifname "wan0" drop
  }
}
EOF
  done

  for n in $(node_names); do
    i=$(node_num "$n")
    l=$(node_loc_idx "$n")
    ns=$(node_ns "$n")
    pod=$(pod_ns "$n")
    log_step "underlay: node $n ($ns): lan0 $(node_lan_ip "$n")/24$(node_is_public "$n" && echo ", pub0 $(node_pub_ip "$n")/24"), pod $(node_pod_ip "$n") in $(node_pod_cidr "$n")"
    kge_hosts_file "$n" || return 1
    {
      echo "link set lo up"
      echo "link add lan0 type veth peer name n$i netns $(router_ns "$l")"
      echo "link set lan0 up"
      echo "addr add $(node_lan_ip "$n")/24 dev lan0"
      if node_is_public "$n"; then
        echo "link add pub0 type veth peer name n$i netns $inet"
        echo "link set pub0 up"
        echo "addr add $(node_pub_ip "$n")/24 dev pub0"
        echo "route add default via 203.0.113.1"
      else
        echo "route add default via 10.${l}0.0.1"
      fi
      # The pod network as a CNI bridge would make it: kube-bridge with the podCIDR gateway.
      echo "link add kube-bridge address 02:6b:67:ff:02:$(printf %02x "$i") type bridge"
      echo "link set kube-bridge up"
      echo "addr add $(node_gw_ip "$n")/24 dev kube-bridge"
      if [ -n "${KGE_DUAL_STACK:-}" ]; then echo "addr add $(node_gw_ip6 "$n")/112 dev kube-bridge nodad"; fi
    } | kge_ns_run "$ns" || return 1
    enslave_router[$l]+="link set n$i master lan up"$'\n'
    if node_is_public "$n"; then enslave_inet+="link set n$i master wan up"$'\n'; fi
    kge_ns_run "$pod" <<EOF || return 1
link set lo up
link add eth0 type veth peer name veth-pod netns $ns
link set eth0 up
addr add $(node_pod_ip "$n")/24 dev eth0
route add default via $(node_gw_ip "$n")
EOF
    if [ -n "${KGE_DUAL_STACK:-}" ]; then
      kge_ns_run "$pod" <<EOF || return 1
addr add $(node_pod_ip6 "$n")/112 dev eth0 nodad
route add ::/0 via $(node_gw_ip6 "$n")
EOF
    fi
    ip -n "$ns" link set veth-pod master kube-bridge up || return 1
  done
  for l in 1 2 3; do
    printf '%s' "${enslave_router[$l]:-}" | kge_ns_run "$(router_ns "$l")" || return 1
  done
  printf '%s' "$enslave_inet" | kge_ns_run "$inet" || return 1
}

# kge_hosts_file NODE: /etc/netns/<ns>/hosts (the node's /etc/hosts under `ip netns exec`,
# so also in the mount namespaces of its wireguard-go and agent): its name resolves to its
# LAN address, as on a real node. Listed in $KGE_STATE/etc-netns for cluster_down.
kge_hosts_file() {
  local n=$1 ns
  ns=$(node_ns "$n")
  mkdir -p "/etc/netns/$ns" || return 1
  echo "/etc/netns/$ns" >>"$KGE_STATE/etc-netns"
  printf '127.0.0.1\tlocalhost\n%s\t%s\n' "$(node_lan_ip "$n")" "$n" >"/etc/netns/$ns/hosts"
}

# add_lan_host NAME LOC_IDX IP: an extra namespace on a location's LAN (e.g. a printer),
# default route via the location router. Its namespace is <P>h-NAME.
add_lan_host() {
  local name=$1 l=$2 ip=$3 ns="${KGE_PREFIX}h-$1"
  kge_add_ns "$ns" || return 1
  kge_ns_run "$ns" <<EOF || return 1
link set lo up
link add eth0 type veth peer name h-$name netns $(router_ns "$l")
link set eth0 up
addr add $ip/24 dev eth0
route add default via 10.${l}0.0.1
EOF
  ip -n "$(router_ns "$l")" link set "h-$name" master lan up
}
host_ns() { echo "${KGE_PREFIX}h-$1"; }

# ---------------------------------------------------------------------------- API

# The emulator's certificates take seconds to make on a busy machine; they only depend on
# the address, so every run reuses one set (a test-only CA in a root-only directory).
KGE_CERT_CACHE=${KGE_CERT_CACHE:-/tmp/kilo-e2e-certs}
kge_certs_from_cache() {
  local f
  for f in ca.crt ca.key server.crt server.key server.host; do
    [ -s "$KGE_CERT_CACHE/$f" ] || return 0
  done
  [ -s "$KGE_STATE/api/server.host" ] && return 0
  cp "$KGE_CERT_CACHE"/{ca.crt,ca.key,server.crt,server.key,server.host} "$KGE_STATE/api/" 2>/dev/null || true
}
kge_certs_to_cache() {
  [ -s "$KGE_CERT_CACHE/server.host" ] && return 0
  mkdir -p -m 0700 "$KGE_CERT_CACHE" && cp "$KGE_STATE"/api/{ca.crt,ca.key,server.crt,server.key,server.host} "$KGE_CERT_CACHE/" 2>/dev/null || true
}

api_start() {
  local inet
  inet=$(inet_ns)
  rm -f "$KGE_STATE/kubeconfig.ready"
  mkdir -p "$KGE_STATE/api"
  kge_certs_from_cache
  ip netns exec "$inet" "$REPO/tests/apiserver/serve" --host "$KGE_API_IP" --port "$KGE_API_PORT" \
    --kubeconfig "$KGE_STATE/kubeconfig.ready" --state-dir "$KGE_STATE/api" \
    >>"$KGE_STATE/logs/apiserver.log" 2>&1 </dev/null 3>&- &
  echo $! >"$KGE_STATE/pids/api"
  local i
  for ((i = 0; i < 300; i++)); do
    [ -s "$KGE_STATE/kubeconfig.ready" ] && break
    kill -0 "$(cat "$KGE_STATE/pids/api")" 2>/dev/null || {
      tail -20 "$KGE_STATE/logs/apiserver.log" >&2
      kge_die "API emulator exited during start-up (log above)"
      return 1
    }
    sleep 0.1
  done
  [ -s "$KGE_STATE/kubeconfig.ready" ] || { kge_die "API emulator did not write its kubeconfig within 30 s"; return 1; }
  cp "$KGE_STATE/kubeconfig.ready" "$KGE_STATE/kubeconfig"
  kge_certs_to_cache
}

api_stop() { kill_pid "$KGE_STATE/pids/api" serve 10; }

# kge_pod_cidrs_json NODE: its spec.podCIDRs entries, quoted (IPv6 too with KGE_DUAL_STACK).
kge_pod_cidrs_json() {
  printf '"%s"' "$(node_pod_cidr "$1")"
  if [ -n "${KGE_DUAL_STACK:-}" ]; then printf ',"%s"' "$(node_pod_cidr6 "$1")"; fi
}

kge_node_objects() {
  local n first=1 ann
  printf '{"apiVersion":"v1","kind":"List","items":['
  for n in $(node_names); do
    ann='{}'
    if [ "$(node_loc "$n")" = lab ] && [ -n "$KGE_LAB_KEEPALIVE" ]; then
      ann="{\"kilo.squat.ai/persistent-keepalive\":\"$KGE_LAB_KEEPALIVE\"}"
    fi
    ((first)) || printf ','
    first=0
    printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s","topology.kubernetes.io/region":"%s"},"annotations":%s},"spec":{"podCIDR":"%s","podCIDRs":[%s]}}' \
      "$n" "$n" "$(node_loc "$n")" "$ann" "$(node_pod_cidr "$n")" "$(kge_pod_cidrs_json "$n")"
  done
  printf ']}\n'
}

# ---------------------------------------------------------------------------- agents

# wg_start NODE: wireguard-go kilo0 in the node's netns and a new private mount namespace
# (wg_launch starts it, wg_wait waits for its UAPI socket).
wg_start() { wg_launch "$1" && wg_wait "$1"; }
wg_launch() {
  local n=$1 ns
  ns=$(node_ns "$n")
  ip netns exec "$ns" unshare -m --propagation private sh -c '
    set -e
    mount -t tmpfs -o mode=0755 kge-wg /var/run/wireguard
    mount -t tmpfs -o mode=0700 kge-kilo /var/lib/kilo
    mount -t tmpfs -o mode=0755 kge-cni /etc/cni/net.d
    LOG_LEVEL=error WG_PROCESS_FOREGROUND=1 exec wireguard-go kilo0' \
    >>"$KGE_STATE/logs/$n.wireguard-go.log" 2>&1 </dev/null 3>&- &
  echo $! >"$KGE_STATE/pids/$n.wg"
}
wg_wait() {
  local n=$1 pid i
  pid=$(cat "$KGE_STATE/pids/$n.wg")
  for ((i = 0; i < 100; i++)); do
    pid_is "$pid" wireguard-go && nsenter -t "$pid" -m -- test -S /var/run/wireguard/kilo0.sock && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$KGE_STATE/logs/$n.wireguard-go.log" >&2
  kge_die "wireguard-go on $n did not create /var/run/wireguard/kilo0.sock"
}

kg_args() {
  local n=$1
  echo --kubeconfig "$KGE_STATE/kubeconfig" --hostname "$n" --interface kilo0 \
    --create-interface=false --encapsulate=never --mesh-granularity "$KGE_GRANULARITY" \
    --port 51820 --subnet 10.4.0.0/16 --resync-period 5s --cni=true \
    --cni-path /etc/cni/net.d/10-kilo.conflist --key-file /var/lib/kilo/key \
    --listen "$(node_lan_ip "$n"):1107" --log-format logfmt --log-level info --clean-up=true \
    --internal-cidr "10.$(node_loc_idx "$n")0.0.0/24" ${KGE_KG_EXTRA:-}
}

# go_kg_args NODE: the same node as kg_args for Kilo's Go kg 0.6, which has no --key-file
# (its key is /var/lib/kilo/key too), no --internal-cidr (it takes the address its hostname
# resolves to: kge_hosts_file) and no --log-format (JSON).
go_kg_args() {
  local n=$1
  echo --kubeconfig "$KGE_STATE/kubeconfig" --hostname "$n" --interface kilo0 \
    --create-interface=false --encapsulate=never --mesh-granularity "$KGE_GRANULARITY" \
    --port 51820 --subnet 10.4.0.0/16 --resync-period 5s --cni=true \
    --cni-path /etc/cni/net.d/10-kilo.conflist --listen "$(node_lan_ip "$n"):1107" \
    --log-level info --clean-up=true ${KGE_GO_EXTRA:-}
}
# The CNI configuration the Go agent edits but never creates (its DaemonSet's init
# container copies it; the project's manifests carry the same one).
KGE_CNI_TEMPLATE='{"cniVersion":"0.4.0","name":"kilo","plugins":[{"name":"kubernetes","type":"bridge","bridge":"kube-bridge","isDefaultGateway":true,"forceAddress":true,"mtu":1420,"ipam":{"type":"host-local"}},{"type":"portmap","snat":true,"capabilities":{"portMappings":true}}]}'

# agent_kind NODE: the agent kg_start starts on NODE: "kg" (this project) or "go" (Kilo's
# Go kg, $KILO_GO_KG): agent_set_kind's choice, else "go" for the nodes of KGE_GO_NODES.
agent_kind() {
  if [ -s "$KGE_STATE/agents/$1" ]; then cat "$KGE_STATE/agents/$1"
  elif [[ " ${KGE_GO_NODES:-} " == *" $1 "* ]]; then echo go
  else echo kg; fi
}
# agent_set_kind NODE kg|go: the agent the next kg_start on NODE starts.
agent_set_kind() { mkdir -p "$KGE_STATE/agents" && echo "$2" >"$KGE_STATE/agents/$1"; }
# agent_bin NODE: the binary of the agent kg_start last started on NODE (what kg_stop and
# kg_running check its command line against).
agent_bin() { cat "$KGE_STATE/pids/$1.kg.bin" 2>/dev/null || echo "$KG"; }

# kg_start NODE [EXTRA FLAGS...]: starts the node's agent (agent_kind) inside the node's
# namespaces (log appended to $KGE_STATE/logs/NODE.kg.log).
kg_start() {
  local n=$1 wgpid kind
  shift
  wgpid=$(cat "$KGE_STATE/pids/$n.wg")
  pid_is "$wgpid" wireguard-go || { kge_die "wireguard-go of $n is not running"; return 1; }
  kind=$(agent_kind "$n")
  echo "=== $kind start $(date +%T) $*" >>"$KGE_STATE/logs/$n.kg.log"
  if [ "$kind" = go ]; then
    [ -x "${KILO_GO_KG:-}" ] || { kge_die "$n runs the Go agent but KILO_GO_KG (${KILO_GO_KG:-unset}) is not executable"; return 1; }
    # shellcheck disable=SC2016
    nsenter -t "$wgpid" -m -- sh -c '[ -s "$1" ] || printf "%s\n" "$2" >"$1"' sh \
      /etc/cni/net.d/10-kilo.conflist "$KGE_CNI_TEMPLATE" || return 1
    # argv[0] "$KILO_GO_KG@NODE": client-go's User-Agent is the base name of argv[0]
    # ("kg@NODE/..."), so the emulator's write log names the node of every Go agent.
    # shellcheck disable=SC2016,SC2046
    nsenter -t "$wgpid" -n -m -- bash -c 'exec -a "$0" "$@"' "$KILO_GO_KG@$n" "$KILO_GO_KG" \
      $(go_kg_args "$n") "$@" >>"$KGE_STATE/logs/$n.kg.log" 2>&1 </dev/null 3>&- &
    echo $! >"$KGE_STATE/pids/$n.kg"
    echo "$KILO_GO_KG" >"$KGE_STATE/pids/$n.kg.bin"
    return 0
  fi
  # shellcheck disable=SC2046
  nsenter -t "$wgpid" -n -m -- "$KG" $(kg_args "$n") "$@" \
    >>"$KGE_STATE/logs/$n.kg.log" 2>&1 </dev/null 3>&- &
  echo $! >"$KGE_STATE/pids/$n.kg"
  echo "$KG" >"$KGE_STATE/pids/$n.kg.bin"
}

# kg_stop NODE [SIGNAL]: TERM (default, graceful with clean-up) or KILL.
kg_stop() {
  local n=$1 sig=${2:-TERM} pid bin
  bin=$(agent_bin "$n")
  if [ "$sig" = TERM ]; then
    kill_pid "$KGE_STATE/pids/$n.kg" "$bin" 20
  else
    pid=$(cat "$KGE_STATE/pids/$n.kg" 2>/dev/null || true)
    if pid_is "$pid" "$bin"; then kill -"$sig" "$pid"; fi
    while pid_is "$pid" "$bin"; do sleep 0.1; done
    rm -f "$KGE_STATE/pids/$n.kg"
  fi
}
kg_running() { pid_is "$(cat "$KGE_STATE/pids/$1.kg" 2>/dev/null)" "$(agent_bin "$1")"; }

# ---------------------------------------------------------------------------- checks

# ping_matrix: pings every pod from every other pod (in parallel, 2 tries each); prints
# the matrix; returns 0 when all answered. PING_TARGETS="pod"|"node" (node: private IPs
# of the nodes, from the node namespaces). Optional: PING_NODES="list" restricts.
ping_matrix() {
  local kind=${PING_TARGETS:-pod} nodes out s d ip fail=0 pids=() failed=""
  nodes=${PING_NODES:-$(node_names)}
  [ -n "$nodes" ] || { echo "ping_matrix: no nodes (KGE_NODES unset?)" >&2; return 2; }
  out=$(mktemp -d "$KGE_STATE/ping.XXXX")
  for s in $nodes; do
    for d in $nodes; do
      [ "$s" = "$d" ] && continue
      if [ -n "${PING_ONLY:-}" ] && [[ " $PING_ONLY " != *" $s.$d "* ]]; then
        echo ok >"$out/$s.$d"
        continue
      fi
      if [ "$kind" = pod ]; then ip=$(node_pod_ip "$d"); else ip=$(node_lan_ip "$d"); fi
      if [ "$kind" = pod ] && [ "${PING_FAMILY:-4}" = 6 ]; then ip=$(node_pod_ip6 "$d"); fi
      (
        if [ "$kind" = pod ]; then cmd=(pod_exec "$s"); else cmd=(ip netns exec "$(node_ns "$s")"); fi
        if "${cmd[@]}" ping -n -q -c1 -W2 "$ip" >/dev/null 2>&1 || "${cmd[@]}" ping -n -q -c1 -W2 "$ip" >/dev/null 2>&1; then
          echo ok >"$out/$s.$d"
        else
          echo FAIL >"$out/$s.$d"
        fi
      ) 3>&- &
      pids+=($!)
    done
  done
  wait "${pids[@]}"
  printf '%-8s' "$kind${PING_FAMILY:+/v$PING_FAMILY}:src\\dst" >"$out/matrix"
  for d in $nodes; do printf '%-7s' "$d" >>"$out/matrix"; done
  echo >>"$out/matrix"
  for s in $nodes; do
    printf '%-12s' "$s" >>"$out/matrix"
    for d in $nodes; do
      if [ "$s" = "$d" ]; then printf '%-7s' "-" >>"$out/matrix"; else
        printf '%-7s' "$(cat "$out/$s.$d")" >>"$out/matrix"
        [ "$(cat "$out/$s.$d")" = ok ] || { fail=1; failed+="$s.$d "; }
      fi
    done
    echo >>"$out/matrix"
  done
  cp "$out/matrix" "$KGE_STATE/last-ping-matrix"
  echo "$failed" >"$KGE_STATE/last-ping-failed"
  if ((fail)) || [ -n "${PING_VERBOSE:-}" ]; then cat "$out/matrix" >&2; fi
  rm -rf "$out"
  return $fail
}
# node_matrix: every node pings every other node's private IP; failed pairs are tried
# again for up to NODE_MATRIX_WAIT seconds (default 45) after the pods first reach each
# other (cluster_up waits for the pods only). A NATed node's private IP is routed
# through the tunnel only once its NAT endpoint is discovered (before, it is its
# declared endpoint, which no route may capture): until the reconcile after that
# handshake, a few pairs go over the underlay and fail. (Understood 2026-12-05: the
# longer outages seen before were a route through kilo0 to a peer's roamed endpoint,
# which looped wireguard-go's own packets; kg no longer installs such a route.)
node_matrix() {
  local end=$((SECONDS + ${NODE_MATRIX_WAIT:-45}))
  until PING_TARGETS=node PING_VERBOSE= ping_matrix 2>/dev/null; do
    if ((SECONDS >= end)); then
      PING_TARGETS=node ping_matrix
      return
    fi
    sleep 1
  done
  if [ -n "${PING_VERBOSE:-}" ]; then cat "$KGE_STATE/last-ping-matrix" >&2; fi
  return 0
}

# wait_mesh [SECONDS]: until every pod pings every other pod; prints the matrix and the
# agents' state on failure.
wait_mesh() {
  local t=${1:-60} end
  end=$((SECONDS + t))
  local only=""
  while :; do
    # After a failed round only the failed pairs are pinged again; success is confirmed
    # by one more full round.
    if PING_ONLY=$only ping_matrix 2>/dev/null; then
      if [ -z "$only" ] || ping_matrix 2>/dev/null; then
        log_step "mesh: every pod reaches every other pod"
        return 0
      fi
    fi
    only=$(cat "$KGE_STATE/last-ping-failed")
    if ((SECONDS >= end)); then
      echo "wait_mesh: not every pod reaches every other pod after ${t}s:" >&2
      cat "$KGE_STATE/last-ping-matrix" >&2
      kge_diag >&2
      return 1
    fi
    sleep 1
  done
}

# kge_diag: the state of every agent, for failure messages.
kge_diag() {
  local n
  for n in $(node_names); do
    echo "--- $n: kg $(kg_running "$n" && echo running || echo NOT RUNNING)"
    node_exec "$n" wg show kilo0 2>&1 | sed 's/^/    /' | grep -v 'private key' | head -30
    node_exec "$n" ip -4 route show table all 2>&1 | grep -E 'kilo0|proto static|table 1107' | sed 's/^/    route: /' | head -20
    tail -5 "$KGE_STATE/logs/$n.kg.log" 2>/dev/null | sed 's/^/    log: /'
  done
}

# ---------------------------------------------------------------------------- up/down

kge_preflight() {
  local t
  [ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)"; return 1; }
  for t in ip nsenter unshare wireguard-go wg nft kubectl curl python3 ping conntrack; do
    command -v "$t" >/dev/null 2>&1 || { echo "missing tool: $t"; return 1; }
  done
  [ -c /dev/net/tun ] || { echo "no /dev/net/tun (wireguard-go needs it)"; return 1; }
  [ -x "$REPO/tests/apiserver/serve" ] || { echo "missing API emulator $REPO/tests/apiserver/serve"; return 1; }
  if [ -z "${KGE_NO_AGENTS:-}" ]; then
    [ -x "$KG" ] || { echo "kg not built: $KG (cmake --build build --target kg)"; return 1; }
    if [ -n "${KGE_GO_NODES:-}" ] && [ ! -x "${KILO_GO_KG:-}" ]; then
      echo "KGE_GO_NODES ($KGE_GO_NODES) run the Go agent but KILO_GO_KG (${KILO_GO_KG:-unset}) is not executable"
      return 1
    fi
  fi
  [ -x "$KGCTL" ] || { echo "kgctl not built: $KGCTL"; return 1; }
  return 0
}

# cluster_up: builds everything; on failure tears down what it made and returns 1 with
# the failed step on stderr.
cluster_up() {
  local why n
  kge_defaults
  [ -n "${KGE_STATE:-}" ] || { echo "KGE_STATE not set" >&2; return 1; }
  if why=$(kge_preflight); then :; else
    echo "cannot run the virtual cluster: $why" >&2
    return 2
  fi
  mkdir -p "$KGE_STATE/pids" "$KGE_STATE/logs" "$KGE_STATE/api"
  : >"$KGE_STATE/namespaces"
  kge_save_env
  # Mount points for the nodes' private tmpfs (empty directories on the host).
  mkdir -p /run/wireguard /var/lib/kilo /etc/cni/net.d
  local t0=$SECONDS
  log_step "step 1/5 underlay (prefix $KGE_PREFIX, $KGE_NODES nodes, granularity $KGE_GRANULARITY)"
  kge_underlay || { kge_die "step 1/5 underlay: could not create namespaces/links (see above)"; cluster_down; return 1; }
  log_step "step 2/5 API emulator on https://$KGE_API_IP:$KGE_API_PORT (inside $(inet_ns))"
  api_start || { kge_die "step 2/5 API emulator (log: $KGE_STATE/logs/apiserver.log)"; cluster_down; return 1; }
  log_step "step 3/5 Node objects"
  kge_node_objects >"$KGE_STATE/nodes.json"
  kctl create --validate=false -f "$KGE_STATE/nodes.json" >&2 || { kge_die "step 3/5 creating Node objects with kubectl"; cluster_down; return 1; }
  if [ -n "${KGE_NO_AGENTS:-}" ]; then
    log_step "step 4/5 agents: skipped (KGE_NO_AGENTS)"
    log_step "underlay ready in $((SECONDS - t0)) s"
    return 0
  fi
  log_step "step 4/5 wireguard-go + kg on every node${KGE_GO_NODES:+ (the Go agent on $KGE_GO_NODES)}"
  for n in $(node_names); do wg_launch "$n"; done
  for n in $(node_names); do
    wg_wait "$n" || { kge_die "step 4/5 wireguard-go on $n"; cluster_down; return 1; }
    kg_start "$n" || { kge_die "step 4/5 kg on $n"; cluster_down; return 1; }
  done
  sleep 1
  for n in $(node_names); do
    kg_running "$n" || {
      tail -20 "$KGE_STATE/logs/$n.kg.log" >&2
      kge_die "step 4/5 kg on $n exited right after start (log above: $KGE_STATE/logs/$n.kg.log)"
      cluster_down
      return 1
    }
  done
  if [ -n "${KGE_SKIP_WAIT:-}" ]; then return 0; fi
  log_step "step 5/5 waiting until every pod reaches every other pod (${KGE_MESH_TIMEOUT:-90} s max)"
  wait_mesh "${KGE_MESH_TIMEOUT:-90}" || { kge_die "step 5/5 the mesh did not converge (matrix and agent state above; logs in $KGE_STATE/logs)"; return 1; }
  log_step "cluster ready in $((SECONDS - t0)) s"
}

# cluster_down: stops every process it started (by PID) and deletes every namespace.
cluster_down() {
  kge_load_env 2>/dev/null || true
  [ -n "${KGE_STATE:-}" ] && [ -d "$KGE_STATE" ] || return 0
  local f pids=()
  # Agents first (graceful: they clean up and remove their annotations via the API).
  for f in "$KGE_STATE"/pids/*.kg; do
    [ -e "$f" ] || continue
    kill_pid "$f" "$(cat "$f.bin" 2>/dev/null || echo "$KG")" 15 &
    pids+=($!)
  done
  ((${#pids[@]})) && wait "${pids[@]}" 2>/dev/null
  for f in "$KGE_STATE"/pids/*.wg "$KGE_STATE"/pids/*.wgx; do
    [ -e "$f" ] && kill_pid "$f" wireguard-go 5
  done
  for f in "$KGE_STATE"/pids/*.bg; do
    [ -e "$f" ] && kill_pid "$f" "" 2
  done
  api_stop
  if [ -f "$KGE_STATE/namespaces" ]; then
    tac "$KGE_STATE/namespaces" | while read -r f; do
      [ -n "$f" ] && ip netns del "$f" 2>/dev/null
    done
    : >"$KGE_STATE/namespaces"
  fi
  # Anything with our prefix that the list missed (e.g. interrupted during creation).
  if [ -n "${KGE_PREFIX:-}" ]; then
    ip netns list | awk '{print $1}' | grep "^$KGE_PREFIX" | while read -r f; do ip netns del "$f"; done
  fi
  # The nodes' /etc/hosts (kge_hosts_file): only directories named after our namespaces.
  if [ -f "$KGE_STATE/etc-netns" ]; then
    sort -u "$KGE_STATE/etc-netns" | while read -r f; do
      [[ -n "${KGE_PREFIX:-}" && "$f" == "/etc/netns/$KGE_PREFIX"* ]] && rm -rf -- "$f"
    done
    rm -f "$KGE_STATE/etc-netns"
  fi
  return 0
}

cluster_status() {
  kge_load_env || return 1
  local n ok=0
  echo "state: $KGE_STATE  prefix: $KGE_PREFIX  nodes: $KGE_NODES  granularity: $KGE_GRANULARITY"
  echo "API: https://$KGE_API_IP:$KGE_API_PORT ($(pid_is "$(cat "$KGE_STATE/pids/api" 2>/dev/null)" serve && echo running || echo stopped))"
  for n in $(node_names); do
    printf '  %-6s ns %-16s lan %-11s pub %-13s pod %-11s wireguard-go %-8s kg %s\n' "$n" "$(node_ns "$n")" \
      "$(node_lan_ip "$n")" "$(node_is_public "$n" && node_pub_ip "$n" || echo -)" "$(node_pod_ip "$n")" \
      "$(pid_is "$(cat "$KGE_STATE/pids/$n.wg" 2>/dev/null)" wireguard-go && echo up || echo down)" \
      "$(kg_running "$n" && echo "up (pid $(cat "$KGE_STATE/pids/$n.kg"))" || echo down)$([ "$(agent_kind "$n")" = go ] && echo " [Go agent]")"
  done
  ping_matrix || ok=1
  cat "$KGE_STATE/last-ping-matrix"
  return $ok
}

# ---------------------------------------------------------------------------- misc

# node_annotation NODE KEY: the value of kilo.squat.ai/KEY on NODE (empty if absent).
node_annotation() {
  kctl get node "$1" -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"].get("annotations",{}).get("kilo.squat.ai/"+sys.argv[1],""))' "$2"
}
node_pubkey() { node_annotation "$1" key; }

# wg_peer_field NODE PUBKEY FIELD: from `wg show kilo0 dump` (fields: endpoint,
# allowed-ips, handshake, rx, tx, keepalive).
wg_peer_field() {
  local col
  case $3 in endpoint) col=3 ;; allowed-ips) col=4 ;; handshake) col=5 ;; rx) col=6 ;; tx) col=7 ;; keepalive) col=8 ;; esac
  wg_dump "$1" | awk -v k="$2" -v c="$col" 'NR > 1 && $1 == k {print $c}'
}
# wg_peer_count NODE
wg_peer_count() { wg_dump "$1" | awk 'NR > 1' | wc -l; }
# wg_transfer NODE: total rx+tx bytes over all peers.
wg_transfer() { wg_dump "$1" | awk 'NR > 1 {s += $6 + $7} END {print s + 0}'; }

# bg_start NAME CMD...: a background helper process recorded for teardown.
bg_start() {
  local name=$1
  shift
  "$@" >>"$KGE_STATE/logs/$name.log" 2>&1 </dev/null 3>&- &
  echo $! >"$KGE_STATE/pids/$name.bg"
}
