#!/usr/bin/env bats
# Fault injection on a running 6-node cluster (granularity location; leaders aws-1, gcp-1,
# lab-1): the API emulator killed and restarted with its history lost, watch streams cut
# every 3 s, 500 and 429 storms, a leader's agent SIGKILLed, a leader node removed,
# wireguard-go restarted under kg, kg's routes and nft rules deleted by hand, and foreign
# routes/rules/nft tables that kg must leave alone. Every test checks the pod ping matrix
# after the fault and the fault's specific effect, and undoes its change even on failure.
load common

setup_file() {
  export KGE_GRANULARITY=location KGE_NODES=6
  e2e_setup_file
}
teardown_file() { e2e_teardown_file; }
setup() {
  e2e_setup
  PHASE_T0=$SECONDS
}
teardown() { e2e_teardown; }

RESYNC=5 # kg_args: --resync-period 5s

# ---------------------------------------------------------------------------- helpers

# phase TEXT: a timestamped progress line (shown on failure; FAULTS_TRACE=1 shows it live).
phase() {
  local t
  t="[$(date +%T) +$((SECONDS - ${PHASE_T0:=$SECONDS}))s] $*"
  echo "$t"
  if [ -n "${FAULTS_TRACE:-}" ]; then echo "# $t" >&3; fi
  return 0
}

api_ensure() { pid_is "$(cat "$KGE_STATE/pids/api" 2>/dev/null)" serve || api_start; }
kg_healthy() { [ "$(node_exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$(node_lan_ip "$1"):1107/health")" = 200 ]; }

# series NODE SERIES: the value of one exact series, e.g. 'kilo_errors_total{event="watch"}'.
series() {
  scrape "$1" /metrics | awk -v s="$2" '$1 == s {print $2; f = 1} END {if (!f) exit 1}'
}
series_gt() { local v; v=$(series "$1" "$2") && [ "${v%.*}" -gt "$3" ]; }
# watch_errors_all: "node=value ..." of kilo_errors_total{event="watch"} on every node.
watch_errors_all() {
  local n
  for n in $(node_names); do printf '%s=%s ' "$n" "$(series "$n" 'kilo_errors_total{event="watch"}')"; done
}
# watch_errors_grew "BEFORE": every node's watch error counter is above its value in BEFORE.
watch_errors_grew() {
  local kv n v
  for kv in $1; do
    n=${kv%%=*} v=${kv#*=}
    series_gt "$n" 'kilo_errors_total{event="watch"}' "${v%.*}" || return 1
  done
}

# emu_stats PYTHON: runs PYTHON with d = the emulator's /_emulator/stats.
emu_stats() { emu_admin stats GET | python3 -c "import json, sys; d = json.load(sys.stdin); $1"; }
emu_now() { date +%s.%N; }

# The API client address of every node as the emulator sees it: public nodes their own
# address, the others their location router's (lab-1 and lab-2 share one).
node_client_ip() {
  if node_is_public "$1"; then node_pub_ip "$1"; else router_wan_ip "$(node_loc_idx "$1")"; fi
}
# unique_clients: "ip=node ..." for the nodes whose client address is theirs alone.
unique_clients() {
  local n ip out=""
  declare -A count=() owner=()
  for n in $(node_names); do
    ip=$(node_client_ip "$n")
    count[$ip]=$((${count[$ip]:-0} + 1))
    owner[$ip]=$n
  done
  for ip in "${!count[@]}"; do
    ((count[$ip] == 1)) && out+="$ip=${owner[$ip]} "
  done
  echo "$out"
}

# injected_analyse SINCE MODE ARG: checks the emulator's log of injected failures since
# SINCE for the clients of unique_clients, per (client, method, path, watch):
#   count N      every unique client got >= N failures on its Nodes watch
#   retry-after S  consecutive attempts at least S seconds apart
#   backoff      at most 10 attempts, and the last gap at least twice the first
injected_analyse() {
  emu_admin "injected?since=$1" GET | python3 -c '
import collections, json, sys
mode, arg, clients = sys.argv[1], float(sys.argv[2]), dict(kv.split("=") for kv in sys.argv[3].split())
groups = collections.defaultdict(list)
for e in json.load(sys.stdin)["injected"]:
    groups[(e["client"], e["method"], e["path"], e["watch"])].append(e["time"])
def gaps(ts): return [b - a for a, b in zip(ts, ts[1:])]
for (c, m, p, w), ts in sorted(groups.items()):
    print("%-15s %-6s %-5s %s%s: %d failures, gaps %s" % (c, clients.get(c, "(shared)"), m, p, " (watch)" if w else "",
          len(ts), " ".join("%.2f" % g for g in gaps(ts))), file=sys.stderr)
bad = []
if mode == "count":
    for c, n in clients.items():
        k = len(groups.get((c, "GET", "/api/v1/nodes", True), []))
        if k < arg: bad.append("%s (%s): %d Nodes-watch failures, want >= %d" % (n, c, k, arg))
for (c, m, p, w), ts in groups.items():
    if c not in clients or not w: continue  # heartbeats/publishing retry on the resync timer
    g = gaps(ts)
    if mode == "retry-after" and g and min(g) < arg - 0.1:
        bad.append("%s %s %s: attempts %.2fs apart, Retry-After was %g" % (clients[c], m, p, min(g), arg))
    if mode == "backoff" and len(ts) > 10:
        bad.append("%s %s %s: %d attempts (no backoff?)" % (clients[c], m, p, len(ts)))
    if mode == "backoff" and len(g) >= 3 and g[-1] < 2 * g[0]:
        bad.append("%s %s %s: gaps %s do not grow" % (clients[c], m, p, g))
for b in bad: print("BAD:", b, file=sys.stderr)
sys.exit(1 if bad else 0)' "$2" "${3:-0}" "$(unique_clients)"
}

# A test Peer: every leader gets it as a WireGuard peer, every node a route to its IP.
peer_create() {
  kctl apply --validate=false -f - >/dev/null <<EOF
apiVersion: kilo.squat.ai/v1alpha1
kind: Peer
metadata:
  name: $1
spec:
  allowedIPs: [$2/32]
  publicKey: $3
EOF
}
peer_delete() { kctl delete peer "$1" --ignore-not-found >/dev/null; }
node_has_route() { [ -n "$(node_exec "$1" ip -4 route show table all "$2")" ]; }
# routes_on IP NODES...: every NODE has a route to IP; routes_off: none has.
routes_on() {
  local ip=$1 n
  shift
  for n in "$@"; do node_has_route "$n" "$ip" || { echo "no route to $ip on $n"; return 1; }; done
}
routes_off() {
  local ip=$1 n
  shift
  for n in "$@"; do ! node_has_route "$n" "$ip" || { echo "still a route to $ip on $n"; return 1; }; done
}
# peer_roundtrip NAME IP: the Peer reaches every node's routes, then leaves them again
# (proves every agent's Peer informer works).
peer_roundtrip() {
  local name=$1 ip=$2 t0=$SECONDS
  on_teardown peer_delete "$name"
  peer_create "$name" "$ip" "$(wg genkey | wg pubkey)"
  retry 90 routes_on "$ip" $(node_names)
  phase "Peer $name: a route to $ip on all nodes after $((SECONDS - t0))s"
  peer_delete "$name"
  retry 90 routes_off "$ip" $(node_names)
  phase "Peer $name: deleted, its routes gone"
}

# wg_start_under_kg NODE: a new wireguard-go in the running agent's network and mount
# namespaces (the agent keeps its /var/run/wireguard and /var/lib/kilo).
wg_start_under_kg() {
  local n=$1 kgpid
  kgpid=$(cat "$KGE_STATE/pids/$n.kg" 2>/dev/null)
  pid_is "$kgpid" "$KG" || return 1
  nsenter -t "$kgpid" -n -m -- env LOG_LEVEL=error WG_PROCESS_FOREGROUND=1 wireguard-go kilo0 \
    >>"$KGE_STATE/logs/$n.wireguard-go.log" 2>&1 </dev/null 3>&- &
  echo $! >"$KGE_STATE/pids/$n.wg"
  wg_wait "$n"
}
wg_running() { pid_is "$(cat "$KGE_STATE/pids/$1.wg" 2>/dev/null)" wireguard-go; }
wg_kill() {
  local pid
  pid=$(cat "$KGE_STATE/pids/$1.wg" 2>/dev/null)
  pid_is "$pid" wireguard-go && kill -KILL "$pid"
  wait_for 10 "wireguard-go of $1 to exit" bash -c "! kill -0 $pid 2>/dev/null"
}
# wg_ensure NODE: wireguard-go and kg both running (undo of the wireguard-go tests).
wg_ensure() {
  local n=$1
  wg_running "$n" && return 0
  if kg_running "$n"; then
    wg_start_under_kg "$n"
  else
    wg_start "$n" && kg_start "$n"
  fi
}

# node_restore NODE: the Node object (as cluster_up made it), wireguard-go and kg.
node_restore() {
  local n=$1
  if ! kctl get node "$n" >/dev/null 2>&1; then
    python3 -c '
import json, sys
for i in json.load(open(sys.argv[1]))["items"]:
    if i["metadata"]["name"] == sys.argv[2]: print(json.dumps(i))' "$KGE_STATE/nodes.json" "$n" |
      kctl create --validate=false -f - >/dev/null
  fi
  wg_running "$n" || { kg_stop "$n" KILL; wg_start "$n"; }
  kg_ensure "$n"
}

# log_lines NODE: lines in its kg log so far; log_since_has NODE LINES REGEX: a later line matches.
log_lines() { wc -l <"$KGE_STATE/logs/$1.kg.log"; }
log_since_has() { tail -n +"$(($2 + 1))" "$KGE_STATE/logs/$1.kg.log" | grep -qE -- "$3"; }

# ---------------------------------------------------------------------------- tests

@test "faults: API emulator SIGKILLed and restarted (history lost): every agent relists; the mesh never breaks" {
  local pid before
  before=$(watch_errors_all)
  on_teardown api_ensure
  pid=$(cat "$KGE_STATE/pids/api")
  pid_is "$pid" serve
  kill -KILL "$pid"
  wait_for 10 "the emulator to exit" bash -c "! kill -0 $pid 2>/dev/null"
  rm -f "$KGE_STATE/pids/api"
  phase "API emulator SIGKILLed"
  # Back at once: the agents' reconnect backoff grows with the outage (0.8 s doubling).
  api_start
  phase "API emulator back (same objects, resourceVersion +100, no history)"
  PING_VERBOSE=1 ping_matrix # the agents kept the mesh while they could not reach the API
  # every agent noticed (watch errors counted)
  retry 60 watch_errors_grew "$before"
  echo "watch errors: $before -> $(watch_errors_all)"
  # Every agent's Nodes and Peers watches resumed from a resourceVersion the new process
  # no longer has (410 Expired), and every agent listed again.
  retry 120 emu_stats '
e, r = d["watchesExpiredByResource"], d["byResource"]
print("expired watches:", e, " lists:", {k: v for k, v in r.items() if k.startswith("list")})
assert e.get("nodes", 0) >= 6 and e.get("peers", 0) >= 6, "not every agent got a 410 yet"
assert r.get("list nodes", 0) >= 6 and r.get("list peers", 0) >= 6, "not every agent relisted yet"'
  phase "every agent relisted: $(emu_stats 'print("expired", d["watchesExpiredByResource"], "lists", d["byResource"].get("list nodes"), d["byResource"].get("list peers"))')"
  # ... and they follow changes again
  peer_roundtrip fault-api 10.5.0.11
  PING_VERBOSE=1 ping_matrix
}

@test "faults: every watch stream cut every 3 s: agents re-watch from their resourceVersion (no relist, no error) and follow changes" {
  local w0 l0 w1 l1 before after
  before=$(watch_errors_all)
  read -r w0 l0 < <(emu_stats 'r = d["byResource"]; print(d["watchesStarted"], r.get("list nodes", 0) + r.get("list peers", 0))')
  on_teardown emu_admin reset-faults
  emu_admin 'watch-cut-every?seconds=3'
  peer_roundtrip fault-cut 10.5.0.12
  # at least 3 rounds of cuts (6 agents x 2 watches each)
  retry 60 emu_stats "assert d['watchesStarted'] >= $w0 + 36, d['watchesStarted']"
  read -r w1 l1 < <(emu_stats 'r = d["byResource"]; print(d["watchesStarted"], r.get("list nodes", 0) + r.get("list peers", 0))')
  emu_admin reset-faults
  after=$(watch_errors_all)
  echo "watches started: $w0 -> $w1; lists: $l0 -> $l1"
  echo "watch errors: $before -> $after"
  [ "$w1" -ge $((w0 + 36)) ]
  [ "$l1" -eq "$l0" ] # a cleanly closed watch resumes; it does not relist
  [ "$after" = "$before" ] # nor is it an error
  PING_VERBOSE=1 ping_matrix
}

@test "faults: 500 storm: errors counted, exponential backoff, no node dropped, changes applied after" {
  local since before n
  before=$(watch_errors_all)
  since=$(emu_now)
  on_teardown emu_admin reset-faults
  emu_admin 'fail?code=500&count=-1'
  emu_admin close-watches
  # the storm lasts until every agent failed at least 4 times in a row (0.8+1.6+3.2 s backoff)
  retry 60 injected_analyse "$since" count 4
  retry 30 watch_errors_grew "$before"
  phase "every agent failed 4 times and counted it"
  PING_VERBOSE=1 ping_matrix # the mesh keeps forwarding during the storm
  emu_admin reset-faults
  phase "storm over after $(python3 -c "import time; print(round(time.time() - $since, 1))")s"
  injected_analyse "$since" backoff
  echo "watch errors: $before -> $(watch_errors_all)"
  grep -h 'API server unreachable' "$KGE_STATE"/logs/*.kg.log | tail -2 || true
  peer_roundtrip fault-500 10.5.0.13
  for n in $(node_names); do [ "$(metric "$n" kilo_nodes)" = 6 ] || { echo "$n: kilo_nodes $(metric "$n" kilo_nodes)"; return 1; }; done
  PING_VERBOSE=1 ping_matrix
}

@test "faults: 429 storm with Retry-After: 4: every agent waits at least that long between attempts" {
  local since
  since=$(emu_now)
  on_teardown emu_admin reset-faults
  emu_admin 'fail?code=429&count=-1&retry_after=4'
  emu_admin close-watches
  retry 60 injected_analyse "$since" count 3
  phase "every agent was answered 429 3 times"
  PING_VERBOSE=1 ping_matrix
  emu_admin reset-faults
  injected_analyse "$since" retry-after 4
  peer_roundtrip fault-429 10.5.0.14
  PING_VERBOSE=1 ping_matrix
}

@test "faults: the gcp leader's agent SIGKILLed: traffic keeps flowing; restarted, it catches up with a Peer added meanwhile" {
  local key aws rx0 rx1 n
  [ "$(metric gcp-1 kilo_leader)" = 1 ]
  aws=$(node_pubkey aws-1)
  rx0=$(wg_peer_field gcp-1 "$aws" rx)
  on_teardown kg_ensure gcp-1
  kg_stop gcp-1 KILL
  phase "gcp-1's agent SIGKILLed"
  PING_VERBOSE=1 ping_matrix # the kernel/wireguard-go state stays as it was
  key=$(wg genkey | wg pubkey)
  on_teardown peer_delete fault-leader
  peer_create fault-leader 10.5.0.15 "$key"
  retry 60 routes_on 10.5.0.15 aws-1 lab-1 aws-2 gcp-2 lab-2
  retry 30 wg_has_peer aws-1 "$key"
  phase "Peer configured everywhere but on gcp-1"
  wg_lacks_peer gcp-1 "$key" # nobody configures gcp-1 now
  kg_start gcp-1
  retry 60 wg_has_peer gcp-1 "$key"
  phase "restarted gcp-1 agent configured the Peer"
  retry 30 route_has gcp-1 10.5.0.15 kilo0
  rx1=$(wg_peer_field gcp-1 "$aws" rx)
  echo "gcp-1 rx from aws-1: $rx0 -> $rx1 (a re-created peer would restart from 0)"
  [ "$rx1" -ge "$rx0" ]
  peer_delete fault-leader
  retry 60 routes_off 10.5.0.15 $(node_names)
  wait_mesh 60
}

@test "faults: the gcp leader node removed (agent and WireGuard gone, Node deleted): gcp-2 takes over; it rejoins" {
  local gcp2 t0
  gcp2=$(node_pubkey gcp-2)
  on_teardown node_restore gcp-1
  kg_stop gcp-1 KILL
  wg_kill gcp-1
  kctl delete node gcp-1
  t0=$SECONDS
  PING_NODES="aws-1 lab-1 aws-2 gcp-2 lab-2" wait_mesh 90
  phase "5 nodes mesh again $((SECONDS - t0))s after gcp-1 was removed"
  retry 30 series_gt gcp-2 kilo_leader 0
  for n in aws-1 lab-1; do
    retry 30 wg_has_peer "$n" "$gcp2"
    retry 30 wg_field_is "$n" "$gcp2" endpoint "$(node_pub_ip gcp-2):51820"
    retry 30 series_gt "$n" kilo_nodes 4
    [ "$(metric "$n" kilo_nodes)" = 5 ]
  done
  wg_dump aws-1 | awk 'NR > 1 {print "aws-1 peer", $3, $4}'
  # the node comes back (a new machine: new key) and the whole mesh converges
  t0=$SECONDS
  node_restore gcp-1
  wait_mesh 90
  phase "6 nodes mesh again $((SECONDS - t0))s after gcp-1 came back"
}

@test "faults: wireguard-go of aws-1 SIGKILLed and restarted under kg: kg reconfigures the new kilo0" {
  local key peers addr routes e0 l0
  key=$(node_exec aws-1 wg show kilo0 public-key)
  peers=$(node_exec aws-1 wg show kilo0 allowed-ips | sort)
  addr=$(node_exec aws-1 ip -4 -o addr show dev kilo0 | awk '{print $4}')
  routes=$(node_exec aws-1 ip -4 route show table all dev kilo0 | sort)
  e0=$(series aws-1 'kilo_errors_total{event="interface"}')
  l0=$(log_lines aws-1)
  on_teardown wg_ensure aws-1
  wg_kill aws-1
  phase "aws-1's wireguard-go SIGKILLed"
  run ! node_exec aws-1 ip link show kilo0
  # the agent notices the missing interface within a resync (error counted)
  retry $((RESYNC * 4)) series_gt aws-1 'kilo_errors_total{event="interface"}' "${e0%.*}"
  pod_unreachable aws-1 "$(node_pod_ip gcp-1)"
  wg_start_under_kg aws-1
  phase "new wireguard-go on aws-1"
  retry 30 bash -c "[ \"\$(nsenter -t $(cat "$KGE_STATE/pids/aws-1.wg") -n -m wg show kilo0 allowed-ips | sort)\" = '$peers' ]"
  [ "$(node_exec aws-1 wg show kilo0 public-key)" = "$key" ]
  retry 30 bash -c "[ \"\$(ip -n $(node_ns aws-1) -4 -o addr show dev kilo0 | awk '{print \$4}')\" = '$addr' ]"
  retry 30 bash -c "[ \"\$(ip -n $(node_ns aws-1) -4 route show table all dev kilo0 | sort)\" = '$routes' ]"
  phase "kilo0 has its key, peers, address and routes again"
  node_exec aws-1 wg show kilo0 | grep -v 'private key'
  log_since_has aws-1 "$l0" 'msg=reconciled .*wireguard_writes=[1-9]'
  wait_mesh 60
}

# wait_route NODE DEST LINE: polls (0.2 s) until `ip route show DEST` on NODE is LINE
# again; prints the seconds it took; fails after 4 resync periods (a busy machine slows
# the reconcile itself down).
wait_route() {
  local n=$1 dst=$2 want=$3 start end
  start=$(emu_now)
  end=$((SECONDS + 4 * RESYNC))
  while [ "$(node_exec "$n" ip -4 route show table all "$dst")" != "$want" ]; do
    if ((SECONDS >= end)); then
      echo "$n: $dst not restored after $((4 * RESYNC))s: '$(node_exec "$n" ip -4 route show table all "$dst")'"
      return 1
    fi
    sleep 0.2
  done
  phase "$(python3 -c "import time; print('%s: %s restored after %.1fs' % ('$n', '$dst', time.time() - $start))")"
}

@test "faults: kg routes deleted by hand come back within a resync (leader: on kilo0; non-leader: via the leader)" {
  local r1 r2 l1 l2
  r1=$(node_exec aws-1 ip -4 route show table all 10.42.2.0/24)
  r2=$(node_exec aws-2 ip -4 route show table all 10.42.3.0/24)
  echo "aws-1: $r1"
  echo "aws-2: $r2"
  [[ "$r1" == *"dev kilo0 proto static"* ]]
  [[ "$r2" == *"via $(node_lan_ip aws-1) dev lan0 proto static"* ]]
  l1=$(log_lines aws-1)
  l2=$(log_lines aws-2)
  on_teardown node_exec aws-1 ip route replace $r1
  on_teardown node_exec aws-2 ip route replace $r2
  # (`ip route del` fails when there is no such route; kg may restore it any moment)
  node_exec aws-1 ip route del 10.42.2.0/24 dev kilo0
  node_exec aws-2 ip route del 10.42.3.0/24 dev lan0
  wait_route aws-1 10.42.2.0/24 "$r1"
  wait_route aws-2 10.42.3.0/24 "$r2"
  log_since_has aws-1 "$l1" 'msg=reconciled .*route_writes=[1-9]'
  log_since_has aws-2 "$l2" 'msg=reconciled .*route_writes=[1-9]'
  pod_ping aws-1 "$(node_pod_ip gcp-1)"
  pod_ping aws-2 "$(node_pod_ip lab-1)"
  PING_VERBOSE=1 ping_matrix
}

nft_kilo() { node_exec "$1" nft list table inet kilo 2>&1; }
# nft_restore NODE FILE: puts back kg's table from FILE if it still differs (undo only).
nft_restore() {
  [ "$(nft_kilo "$1")" = "$(cat "$2")" ] && return 0
  node_exec "$1" nft delete table inet kilo 2>/dev/null
  node_exec "$1" nft -f "$2"
}

@test "faults: a kg nft rule deleted by hand, and kg's whole nft table deleted, come back within a resync" {
  local h l1 l2
  nft_kilo aws-1 >"$KGE_STATE/aws-1.nft"
  nft_kilo gcp-2 >"$KGE_STATE/gcp-2.nft"
  grep -q 'jump KILO-NAT' "$KGE_STATE/aws-1.nft"
  l1=$(log_lines aws-1)
  l2=$(log_lines gcp-2)
  on_teardown nft_restore aws-1 "$KGE_STATE/aws-1.nft"
  on_teardown nft_restore gcp-2 "$KGE_STATE/gcp-2.nft"
  h=$(node_exec aws-1 nft -a list chain inet kilo postrouting | awk '/jump KILO-NAT/ {print $NF}')
  [ -n "$h" ]
  node_exec aws-1 nft delete rule inet kilo postrouting handle "$h"
  node_exec gcp-2 nft delete table inet kilo
  retry $((4 * RESYNC)) bash -c "[ \"\$(ip netns exec $(node_ns aws-1) nft list table inet kilo)\" = \"\$(cat '$KGE_STATE/aws-1.nft')\" ]"
  retry $((4 * RESYNC)) bash -c "[ \"\$(ip netns exec $(node_ns gcp-2) nft list table inet kilo)\" = \"\$(cat '$KGE_STATE/gcp-2.nft')\" ]"
  phase "both nft tables restored"
  log_since_has aws-1 "$l1" 'msg=reconciled .*firewall_writes=[1-9]'
  log_since_has gcp-2 "$l2" 'msg=reconciled .*firewall_writes=[1-9]'
  PING_VERBOSE=1 ping_matrix
}

# Foreign state on aws-1 (leader: kg routes on kilo0) and aws-2 (non-leader: kg routes via
# the leader on lan0, main table, proto static). Every route goes via the aws router
# 10.10.0.1, which kg never uses, so a snapshot can select them.
foreign_add() {
  local n=$1 x
  if [ "$n" = aws-1 ]; then x="10.42.5.0/24"; else x="10.42.3.0/24"; fi
  node_exec "$n" sh -ec "
    ip route add 192.0.2.0/24 via 10.10.0.1 dev lan0
    ip route add 198.18.0.0/24 via 10.10.0.1 dev lan0 proto static
    ip route add 10.42.2.128/25 via 10.10.0.1 dev lan0 proto static
    ip route add $x via 10.10.0.1 dev lan0 proto static metric 100
    ip route add 10.42.2.0/24 via 10.10.0.1 dev lan0 proto static table 200
    ip rule add from 192.0.2.0/24 lookup 200 pref 1000
    iptables -N KILO-FOREIGN
    iptables -A KILO-FOREIGN -s 192.0.2.0/24 -j DROP
    iptables -A FORWARD -s 192.0.2.0/24 -j KILO-FOREIGN
    nft -f - <<'EOF'
table ip kilo {
  chain input {
    type filter hook input priority filter + 10; policy accept;
    ip saddr 192.0.2.0/24 drop comment \"foreign: same table name as kg's, other family\"
  }
}
table inet foreign {
  chain KILO-NAT {
    ip daddr 10.4.0.0/16 return comment \"foreign: kg's chain name in another table\"
  }
  chain postrouting {
    type nat hook postrouting priority srcnat + 10; policy accept;
    ip saddr 192.0.2.0/24 jump KILO-NAT
    ip saddr 192.0.2.0/24 masquerade
  }
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    ip saddr 10.42.0.0/16 ip daddr 192.0.2.0/24 drop comment \"foreign: about kg's pod CIDRs\"
  }
}
EOF"
}
foreign_remove() {
  node_exec "$1" sh -c '
    for r in 192.0.2.0/24 198.18.0.0/24 10.42.2.128/25; do ip route del $r via 10.10.0.1 dev lan0; done
    ip route del 10.42.5.0/24 via 10.10.0.1 dev lan0 metric 100
    ip route del 10.42.3.0/24 via 10.10.0.1 dev lan0 metric 100
    ip route flush table 200
    ip rule del from 192.0.2.0/24 lookup 200 pref 1000
    iptables -D FORWARD -s 192.0.2.0/24 -j KILO-FOREIGN
    iptables -F KILO-FOREIGN
    iptables -X KILO-FOREIGN
    nft delete table ip kilo
    nft delete table inet foreign' >/dev/null 2>&1
  return 0
}
foreign_snapshot() {
  node_exec "$1" sh -c '
    echo "# routes via 10.10.0.1 (all tables)"; ip -4 -d route show table all | grep " via 10\.10\.0\.1 "
    echo "# rules"; ip -4 rule show
    echo "# iptables"; iptables -S
    echo "# nft ip kilo"; nft -a list table ip kilo
    echo "# nft inet foreign"; nft -a list table inet foreign'
}
reconciles_at_least() { series_gt "$1" kilo_reconciles_total $(($2 - 1)); }

@test "faults: foreign routes, rules and nft/iptables rules (some overlapping kg's) survive a kg restart and resyncs byte for byte" {
  local n
  for n in aws-1 aws-2; do
    on_teardown foreign_remove "$n"
    foreign_add "$n"
    foreign_snapshot "$n" >"$KGE_STATE/$n.foreign"
  done
  cat "$KGE_STATE/aws-1.foreign"
  # restart both agents: SIGTERM runs --clean-up, the new agent converges from scratch
  on_teardown kg_ensure aws-1
  on_teardown kg_ensure aws-2
  for n in aws-1 aws-2; do
    kg_stop "$n" TERM
    foreign_snapshot "$n" | diff "$KGE_STATE/$n.foreign" - # clean-up left it alone
    kg_start "$n"
  done
  # three resync periods of the new agents
  phase "both agents restarted"
  for n in aws-1 aws-2; do retry 60 reconciles_at_least "$n" 4; done
  phase "4 reconciles on both"
  for n in aws-1 aws-2; do
    foreign_snapshot "$n" | diff "$KGE_STATE/$n.foreign" -
  done
  # kg's own routes are there next to the foreign ones (metric 0 wins over metric 100)
  route_has aws-1 10.42.5.0/24 'dev kilo0 proto static'
  route_has aws-1 10.42.2.0/24 'dev kilo0 proto static'
  route_has aws-2 10.42.3.0/24 "via $(node_lan_ip aws-1) dev lan0 proto static"
  node_exec aws-1 ip -4 route show table all | grep -E '^10\.42\.(2|5)\.'
  wait_mesh 60
  pod_ping aws-1 "$(node_pod_ip gcp-2)"
  pod_ping aws-2 "$(node_pod_ip lab-1)"
}
