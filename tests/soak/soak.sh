#!/usr/bin/env bash
# tests/soak/soak.sh: the virtual cluster under churn for N minutes (issue 7 item 6).
#
#   tests/soak/soak.sh [--minutes N] [--state DIR] [--interval SECONDS] [--seed N]
#                      [--heaptrack NODE]
#
# Brings up its own 8-node virtual cluster (tests/e2e/lib.sh, prefix kgs<pid>-), then
# until the time is up does one random churn action every 2..2*INTERVAL s (default
# INTERVAL 3) while a sampler records, every 10 s, each kg's VmRSS, kilo_reconciles_total
# and kilo_errors_total{event} (CSV), and 6 stable pod pairs ping each other at 5/s.
# At the end: a final convergence check, a summary (summary.txt) and the exit status:
#   0 ok; 1 a bound was exceeded (RSS growth, kg crash, ping loss, no convergence);
#   2 could not start; 130 interrupted. Everything is torn down on exit (also Ctrl-C).
# Bounds (environment): SOAK_MAX_RSS_GROWTH_KIB (default 1024), SOAK_MAX_LOSS_PCT
# (default 1, loss outside leader-move windows), SOAK_MAX_TOTAL_LOSS_PCT (default 5).
# --heaptrack NODE: during the warm-up, heaptrack is attached to that stable node's kg
# (heaptrack -p) and its heap in use over time is reported (heap_timeline.py).
# Needs root; see tests/soak/README.md.
# shellcheck disable=SC2046 # pick $(present_nodes): word splitting intended
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

MINUTES=30
STATE=/tmp/kilo-soak
INTERVAL=3
SEED=$$
HT_NODE=""
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) MINUTES=$2; shift 2 ;;
    --state) STATE=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --heaptrack) HT_NODE=$2; shift 2 ;;
    -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
RANDOM=$SEED

# The binaries are copied: other people rebuild build/bin while a soak runs, and churned
# agents are restarted from the copy (the same binary for the whole run).
SRC_KG=${KG:-$REPO/build/bin/kg}
SRC_KGCTL=${KGCTL:-$REPO/build/bin/kgctl}
for b in "$SRC_KG" "$SRC_KGCTL"; do
  [ -x "$b" ] || { echo "soak: $b not built (cmake --build build --target kg kgctl)" >&2; exit 2; }
done
if [ -e "$STATE/cluster/namespaces" ] && [ -s "$STATE/cluster/namespaces" ]; then
  echo "soak: $STATE holds a running cluster (another soak?); use --state or tear it down" >&2
  exit 2
fi
rm -rf "$STATE"
mkdir -p "$STATE/bin" "$STATE/expect" "$STATE/ping"
STATE=$(cd "$STATE" && pwd)
cp "$SRC_KG" "$STATE/bin/kg" && cp "$SRC_KGCTL" "$STATE/bin/kgctl" || exit 2
export KG="$STATE/bin/kg" KGCTL="$STATE/bin/kgctl" REPO
export KGE_STATE="$STATE/cluster" KGE_PREFIX="kgs$$-" KGE_NODES=8 KGE_GRANULARITY=location
# shellcheck source=../e2e/lib.sh
. "$REPO/tests/e2e/lib.sh"

STABLE="aws-1 gcp-1 lab-1 aws-2 gcp-2 lab-2"
CHURN="aws-3 gcp-3"
# Stable pod pairs across locations (src:dst), leaders and non-leaders both ways.
PAIRS="aws-2:gcp-2 gcp-2:lab-2 lab-2:aws-2 aws-1:lab-1 lab-1:gcp-1 gcp-1:aws-1"
LEADER_NODE=gcp-2 # its kilo.squat.ai/leader flips (gcp-1 and gcp-2 are both public)
if [ -n "$HT_NODE" ]; then
  case " $STABLE " in *" $HT_NODE "*) ;; *) echo "soak: --heaptrack $HT_NODE: not one of the stable nodes ($STABLE)" >&2; exit 2 ;; esac
  for t in heaptrack heaptrack_print gdb; do
    command -v "$t" >/dev/null || { echo "soak: --heaptrack needs $t: scripts/install-deps.sh --soak" >&2; exit 2; }
  done
fi
MAX_GHOSTS=4
MAX_PEERS=5

SAMPLES=$STATE/samples.csv
CHURNLOG=$STATE/churn.csv
CRASHES=$STATE/crashes.csv
log() { printf '[soak %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N | cut -c1-14; }

SAMPLER_PID=""
HT_PID=""
PING_PIDS=()
cleaned=0
cleanup() {
  ((cleaned)) && return
  cleaned=1
  trap - INT TERM
  [ -n "$SAMPLER_PID" ] && kill -TERM "$SAMPLER_PID" 2>/dev/null && wait "$SAMPLER_PID" 2>/dev/null
  local p
  for p in "${PING_PIDS[@]}"; do pid_is "$p" ping && kill -INT "$p" 2>/dev/null; done
  log "teardown: stopping agents, deleting namespaces ${KGE_PREFIX}*"
  cluster_down
  [ -n "$HT_PID" ] && heaptrack_report
  log "teardown done (state and logs kept in $STATE)"
}
trap 'log "interrupted"; exit 130' INT TERM
trap cleanup EXIT

# ---------------------------------------------------------------------------- objects

node_json() { # NODE: the Node object lib.sh creates for NODE (churn nodes are not lab)
  local n=$1
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s","topology.kubernetes.io/region":"%s"}},"spec":{"podCIDR":"%s","podCIDRs":["%s"]}}\n' \
    "$n" "$n" "$(node_loc "$n")" "$(node_pod_cidr "$n")" "$(node_pod_cidr "$n")"
}
# ghost_json I: a Node with the annotations of a running agent but no agent; its own
# location "zghost-I" (sorts after every real location, so the WireGuard IPs of the real
# segments do not move), a heartbeat of now (ready for 60 s, then not ready).
ghost_json() {
  local i=$1 key
  key=$(wg genkey | wg pubkey)
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"ghost-%s","labels":{"kubernetes.io/hostname":"ghost-%s","topology.kubernetes.io/region":"zghost-%s"},"annotations":{"kilo.squat.ai/key":"%s","kilo.squat.ai/endpoint":"203.0.113.%s:51820","kilo.squat.ai/internal-ip":"10.99.%s.1/24","kilo.squat.ai/last-seen":"%s","kilo.squat.ai/granularity":"location"}},"spec":{"podCIDR":"10.42.%s.0/24","podCIDRs":["10.42.%s.0/24"]}}\n' \
    "$i" "$i" "$i" "$key" "$((150 + i))" "$i" "$(date +%s)" "$((100 + i))" "$((100 + i))"
}
peer_json() { # I
  local i=$1 key ep=""
  key=$(wg genkey | wg pubkey)
  ((i % 2)) && ep=',"endpoint":{"dnsOrIP":{"ip":"203.0.113.'$((200 + i))'"},"port":51820}'
  printf '{"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"soak-peer-%s"},"spec":{"allowedIPs":["10.5.%s.0/24"],"publicKey":"%s","persistentKeepalive":%s%s}}\n' \
    "$i" "$i" "$key" "$((i % 3 * 10))" "$ep"
}

# ---------------------------------------------------------------------------- expectations

# expect/NODE holds the PID of a kg that must be running; removed before a deliberate stop.
expect_set() { cat "$KGE_STATE/pids/$1.kg" >"$STATE/expect/$1"; }
expect_clear() { rm -f "$STATE/expect/$1"; }

# check_crashes: a kg that should run but does not (or runs under another PID) is a crash.
check_crashes() {
  local f n pid
  for f in "$STATE"/expect/*; do
    [ -e "$f" ] || continue
    n=${f##*/}
    pid=$(cat "$f" 2>/dev/null) || continue
    pid_is "$pid" "$KG" && continue
    sleep 0.5
    [ "$(cat "$f" 2>/dev/null)" = "$pid" ] || continue # a deliberate stop raced us
    pid_is "$pid" "$KG" && continue
    echo "$(now),$n,$pid,$(cat "$KGE_STATE/pids/$n.kg" 2>/dev/null || echo -)" >>"$CRASHES"
    log "CRASH: kg on $n (pid $pid) is gone; log tail:"
    tail -5 "$KGE_STATE/logs/$n.kg.log" | sed 's/^/    /' >&2
    rm -f "$f"
  done
}

# ---------------------------------------------------------------------------- heaptrack

# heaptrack_attach: heaptrack -p on the kg of $HT_NODE (it stays attached until that kg
# exits at teardown; detaching by hand can crash the process). Attach time in
# STATE/heaptrack.t0.
heaptrack_attach() {
  local pid
  pid=$(cat "$KGE_STATE/pids/$HT_NODE.kg")
  now >"$STATE/heaptrack.t0"
  (cd "$STATE" && exec setsid heaptrack -o "$STATE/heaptrack.$HT_NODE" -p "$pid" >"$STATE/heaptrack.log" 2>&1) &
  HT_PID=$!
  log "heaptrack attached to kg on $HT_NODE (pid $pid), output $STATE/heaptrack.$HT_NODE.zst"
}
# heaptrack_report: once that kg has exited, the heap in use over the churn.
heaptrack_report() {
  local i until
  for i in $(seq 60); do kill -0 "$HT_PID" 2>/dev/null || break; sleep 1; done
  [ -s "$STATE/heaptrack.$HT_NODE.zst" ] || { log "heaptrack: no data (see $STATE/heaptrack.log)"; return; }
  heaptrack_print -f "$STATE/heaptrack.$HT_NODE.zst" -M "$STATE/heaptrack.$HT_NODE.massif" \
    --print-leaks 1 >"$STATE/heaptrack.$HT_NODE.txt" 2>&1
  until=$(awk -v a="$(cat "$STATE/heaptrack.t0")" -v b="$(cat "$STATE/churn.end" 2>/dev/null || echo 0)" \
    'BEGIN { d = b - a; print (d > 0 ? int(d) : 1e9) }')
  python3 "$HERE/heap_timeline.py" "$STATE/heaptrack.$HT_NODE.massif" 5 --until="$until" \
    >"$STATE/heaptrack.$HT_NODE.timeline" 2>&1
  log "heaptrack: heap in use of kg on $HT_NODE during the churn ($STATE/heaptrack.$HT_NODE.timeline):"
  sed 's/^/    /' "$STATE/heaptrack.$HT_NODE.timeline" >&2
}

# ---------------------------------------------------------------------------- sampler

T0=0
sample_once() {
  local ts n pid rss anon file m rec err errs leader nodes peers
  ts=$(now)
  for n in $(node_names); do
    pid=$(cat "$KGE_STATE/pids/$n.kg" 2>/dev/null || true)
    rss=- anon=- file=- rec=- err=- errs='' leader=- nodes=- peers=-
    if pid_is "$pid" "$KG"; then
      read -r rss anon file < <(awk '/^VmRSS:/ {r = $2} /^RssAnon:/ {a = $2} /^RssFile:/ {f = $2}
        END {print (r == "" ? "-" : r), (a == "" ? "-" : a), (f == "" ? "-" : f)}' "/proc/$pid/status" 2>/dev/null || echo - - -)
      if m=$(ip netns exec "$(node_ns "$n")" curl -s --max-time 3 "http://$(node_lan_ip "$n"):1107/metrics" 2>/dev/null); then
        rec=$(awk '$1 == "kilo_reconciles_total" {print $2}' <<<"$m")
        leader=$(awk '$1 == "kilo_leader" {print $2}' <<<"$m")
        nodes=$(awk '$1 == "kilo_nodes" {print $2}' <<<"$m")
        peers=$(awk '$1 == "kilo_peers" {print $2}' <<<"$m")
        errs=$(awk '/^kilo_errors_total/ {match($1, /event="[^"]*"/); e = substr($1, RSTART + 7, RLENGTH - 8); if (e == "") e = "all"; printf "%s%s=%s", sep, e, $2; sep = ";"; s += $2} END {print ""}' <<<"$m")
        err=$(awk '/^kilo_errors_total/ {s += $2} END {print s + 0}' <<<"$m")
      fi
    else
      pid=-
    fi
    echo "$ts,$n,$pid,${rss:--},${rec:--},${err:--},${errs},${leader:--},${nodes:--},${peers:--},${anon:--},${file:--}" >>"$SAMPLES"
  done
}
sampler() {
  trap 'exit 0' TERM
  while :; do
    sample_once
    check_crashes
    sleep 10 &
    wait $!
  done
}

# ---------------------------------------------------------------------------- churn

declare -A PRESENT=()  # churn node -> 1 when its Node object exists and kg runs
declare -A GHOST=()    # ghost index -> 1
declare -A PEER=()     # peer index -> 1
declare -A KA=() FE=() # churn node -> annotation currently set
LEADER_SET=0
LAST_LEADER_FLIP=0

ACT_T=0 # set when an action starts: losses that begin during its kubectl count after it
record() { # ACTION TARGET RESULT
  echo "$ACT_T,$1,$2,$3" >>"$CHURNLOG"
  log "churn: $1 $2 -> $3"
}
# pick WORDS...: PICK=one of them at random (a global: $(...) would not advance RANDOM).
pick() { (($#)) || return 1; local c=("$@"); PICK=${c[RANDOM % $#]}; }
present_nodes() { local n; for n in $CHURN; do [ -n "${PRESENT[$n]:-}" ] && echo "$n"; done; }
absent_nodes() { local n; for n in $CHURN; do [ -z "${PRESENT[$n]:-}" ] && echo "$n"; done; }
free_idx() { # MAX ASSOC-NAME: PICK = a free index
  local -n _s=$2
  local i free=()
  for ((i = 1; i <= $1; i++)); do [ -z "${_s[$i]:-}" ] && free+=("$i"); done
  pick "${free[@]}"
}
used_idx() { local -n _u=$1; pick "${!_u[@]}"; }
rc_word() { if "$@" >>"$STATE/churn-cmd.log" 2>&1; then echo ok; else echo "FAILED($?)"; fi; }

act_node_remove() {
  local n
  pick $(present_nodes) || return 1
  n=$PICK
  expect_clear "$n"
  kg_stop "$n" TERM
  unset "PRESENT[$n]" "KA[$n]" "FE[$n]"
  record node_remove "$n" "$(rc_word kctl delete node "$n")"
}
act_node_add() {
  local n
  pick $(absent_nodes) || return 1
  n=$PICK
  node_json "$n" >"$STATE/obj.json"
  local r
  r=$(rc_word kctl create --validate=false -f "$STATE/obj.json")
  kg_start "$n" && disown $! && expect_set "$n"
  PRESENT[$n]=1
  record node_add "$n" "$r, kg pid $(cat "$KGE_STATE/pids/$n.kg")"
}
act_kg_restart() { # SIGKILL (no clean-up) and start again
  local n
  pick $(present_nodes) || return 1
  n=$PICK
  expect_clear "$n"
  kg_stop "$n" KILL
  kg_start "$n" && disown $! && expect_set "$n"
  record kg_kill9_restart "$n" "kg pid $(cat "$KGE_STATE/pids/$n.kg")"
}
act_keepalive() {
  local n
  pick $(present_nodes) || return 1
  n=$PICK
  if [ -n "${KA[$n]:-}" ]; then
    unset "KA[$n]"
    record keepalive_off "$n" "$(rc_word kctl annotate node "$n" kilo.squat.ai/persistent-keepalive-)"
  else
    KA[$n]=$((5 + RANDOM % 20))
    record keepalive_on "$n" "=${KA[$n]} $(rc_word kctl annotate --overwrite node "$n" "kilo.squat.ai/persistent-keepalive=${KA[$n]}")"
  fi
}
act_force_endpoint() {
  local n
  pick $(present_nodes) || return 1
  n=$PICK
  if [ -n "${FE[$n]:-}" ]; then
    unset "FE[$n]"
    record force_endpoint_off "$n" "$(rc_word kctl annotate node "$n" kilo.squat.ai/force-endpoint-)"
  else
    FE[$n]="203.0.113.$((100 + RANDOM % 40)):$((51000 + RANDOM % 900))"
    record force_endpoint_on "$n" "=${FE[$n]} $(rc_word kctl annotate --overwrite node "$n" "kilo.squat.ai/force-endpoint=${FE[$n]}")"
  fi
}
act_leader() { # at most one leader move per 30 s
  ((SECONDS - LAST_LEADER_FLIP >= 30)) || return 1
  LAST_LEADER_FLIP=$SECONDS
  if ((LEADER_SET)); then
    LEADER_SET=0
    record leader_off "$LEADER_NODE" "$(rc_word kctl annotate node "$LEADER_NODE" kilo.squat.ai/leader-)"
  else
    LEADER_SET=1
    record leader_on "$LEADER_NODE" "$(rc_word kctl annotate --overwrite node "$LEADER_NODE" kilo.squat.ai/leader=true)"
  fi
}
act_ghost_add() {
  local i
  free_idx $MAX_GHOSTS GHOST || return 1
  i=$PICK
  ghost_json "$i" >"$STATE/obj.json"
  GHOST[$i]=1
  record ghost_add "ghost-$i" "$(rc_word kctl create --validate=false -f "$STATE/obj.json")"
}
act_ghost_remove() {
  local i
  used_idx GHOST || return 1
  i=$PICK
  unset "GHOST[$i]"
  record ghost_remove "ghost-$i" "$(rc_word kctl delete node "ghost-$i")"
}
act_ghost_heartbeat() { # a fresh last-seen: a ghost that expired becomes ready again
  local i
  used_idx GHOST || return 1
  i=$PICK
  record ghost_heartbeat "ghost-$i" "$(rc_word kctl annotate --overwrite node "ghost-$i" "kilo.squat.ai/last-seen=$(date +%s)")"
}
act_peer_add() {
  local i
  free_idx $MAX_PEERS PEER || return 1
  i=$PICK
  peer_json "$i" >"$STATE/obj.json"
  PEER[$i]=1
  record peer_add "soak-peer-$i" "$(rc_word kctl create --validate=false -f "$STATE/obj.json")"
}
act_peer_remove() {
  local i
  used_idx PEER || return 1
  i=$PICK
  unset "PEER[$i]"
  record peer_remove "soak-peer-$i" "$(rc_word kctl delete peer "soak-peer-$i")"
}
# Weighted action list (an action that does not apply right now is skipped, another drawn).
ACTIONS=(node_remove node_remove node_add node_add node_add kg_restart
  keepalive keepalive force_endpoint force_endpoint leader leader
  ghost_add ghost_add ghost_remove ghost_remove ghost_heartbeat
  peer_add peer_add peer_remove peer_remove)

# A stable agent that died is restarted (the crash is already recorded by the sampler).
revive() {
  local n
  for n in $STABLE $(present_nodes); do
    if [ ! -e "$STATE/expect/$n" ] && ! kg_running "$n"; then
      ACT_T=$(now)
      kg_start "$n" && disown $! && expect_set "$n"
      record revive "$n" "kg pid $(cat "$KGE_STATE/pids/$n.kg")"
    fi
  done
}

# ---------------------------------------------------------------------------- run

log "soak: $MINUTES min, churn every ~${INTERVAL}s, seed $SEED, state $STATE, prefix $KGE_PREFIX"
log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(cut -d' ' -f1-3 /proc/loadavg)" >"$STATE/loadavg.start"
export KGE_MESH_TIMEOUT=180
if ! cluster_up; then
  log "cluster_up failed (logs: $KGE_STATE/logs)"
  exit 2
fi
for n in $(node_names); do expect_set "$n" && disown "$(cat "$KGE_STATE/pids/$n.kg")"; done
for n in $CHURN; do PRESENT[$n]=1; done

echo "ts,node,pid,rss_kib,reconciles,errors_total,errors_by_event,leader,nodes,peers,rss_anon_kib,rss_file_kib" >"$SAMPLES"
echo "ts,action,target,result" >"$CHURNLOG"
echo "ts,node,expected_pid,pid_file_now" >"$CRASHES"
for pr in $PAIRS; do
  s=${pr%:*} d=${pr#*:}
  ip netns exec "$(pod_ns "$s")" ping -n -D -O -i 0.2 -W 1 "$(node_pod_ip "$d")" >"$STATE/ping/$s.$d" 2>&1 </dev/null &
  PING_PIDS+=($!)
  echo $! >"$KGE_STATE/pids/ping-$s.$d.bg"
done
T0=$(now)
echo "$T0" >"$STATE/t0"
sampler &
SAMPLER_PID=$!

END=$((SECONDS + MINUTES * 60))
log "churn starts; ends at $(date -u -d "@$(( $(date +%s) + MINUTES * 60 ))" +%H:%M:%S) UTC"
loadavg_log() { echo "$(now),$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ',')" >>"$STATE/loadavg.csv"; }
echo "ts,load1,load5,load15" >"$STATE/loadavg.csv"
last_load=0
# heaptrack adds ~3 MiB to that kg's RSS: attached two thirds into the warm-up (which the
# RSS bound leaves out), so the jump is not counted as growth.
HT_AT=$((SECONDS + (MINUTES * 6 > 60 ? MINUTES * 6 : 60) * 2 / 3))
while ((SECONDS < END)); do
  revive
  [ -n "$HT_NODE" ] && [ -z "$HT_PID" ] && ((SECONDS >= HT_AT)) && heaptrack_attach
  for _ in 1 2 3 4 5 6 7 8; do
    a=${ACTIONS[RANDOM % ${#ACTIONS[@]}]}
    ACT_T=$(now)
    "act_$a" && break
  done
  ((SECONDS - last_load >= 60)) && { loadavg_log; last_load=$SECONDS; }
  sleep "$((INTERVAL - 1 + RANDOM % INTERVAL)).$((RANDOM % 10))"
done
loadavg_log
now >"$STATE/churn.end"

log "churn over; stopping the pings and the sampler"
for p in "${PING_PIDS[@]}"; do pid_is "$p" ping && kill -INT "$p" 2>/dev/null; done
PING_PIDS=()
kill -TERM "$SAMPLER_PID" 2>/dev/null
wait "$SAMPLER_PID" 2>/dev/null
SAMPLER_PID=""
check_crashes
sample_once

# Back to the initial shape: both churn nodes present, no ghosts, no Peers, no leader
# annotation; then every pod must reach every other pod again.
log "restoring the initial shape and checking convergence"
for i in "${!GHOST[@]}"; do kctl delete node "ghost-$i" >/dev/null; done
for i in "${!PEER[@]}"; do kctl delete peer "soak-peer-$i" >/dev/null; done
((LEADER_SET)) && kctl annotate node "$LEADER_NODE" kilo.squat.ai/leader- >/dev/null
for n in $(absent_nodes); do
  node_json "$n" >"$STATE/obj.json"
  kctl create --validate=false -f "$STATE/obj.json" >/dev/null
  kg_start "$n" && disown $! && expect_set "$n"
done
# converge SECONDS: full pod ping matrix rounds until one passes; every failed round is
# logged (which pairs, when) to converge.log.
converge() {
  local end=$((SECONDS + $1)) r=0
  while :; do
    r=$((r + 1))
    if ping_matrix 2>/dev/null; then
      echo "$(date -u +%T) round $r: every pod reaches every other pod" >>"$STATE/converge.log"
      return 0
    fi
    echo "$(date -u +%T) round $r ($((SECONDS - t_conv)) s): failed: $(cat "$KGE_STATE/last-ping-failed")" >>"$STATE/converge.log"
    if ((SECONDS >= end)); then
      cat "$KGE_STATE/last-ping-matrix" >&2
      kge_diag >&2
      return 1
    fi
    sleep 1
  done
}
t_conv=$SECONDS
if converge 120; then
  echo "converged $((SECONDS - t_conv))" >"$STATE/final-mesh"
else
  echo "FAILED" >"$STATE/final-mesh"
fi
sed 's/^/    /' "$STATE/converge.log" >&2
# No stale state: the leaders (aws-1, gcp-1, lab-1) have exactly the 2 other segments as
# WireGuard peers (no ghost, no Peer left), the others none; every kg counts 8 ready nodes
# and 0 Peers.
final_state() {
  local n want m bad=""
  for n in $(node_names); do
    case $n in aws-1 | gcp-1 | lab-1) want=2 ;; *) want=0 ;; esac
    [ "$(wg_peer_count "$n")" = "$want" ] || bad+="$n: $(wg_peer_count "$n") WireGuard peers (want $want); "
    m=$(ip netns exec "$(node_ns "$n")" curl -s --max-time 3 "http://$(node_lan_ip "$n"):1107/metrics")
    [ "$(awk '$1 == "kilo_nodes" {print $2}' <<<"$m")" = 8 ] || bad+="$n: kilo_nodes $(awk '$1 == "kilo_nodes" {print $2}' <<<"$m"); "
    [ "$(awk '$1 == "kilo_peers" {print $2}' <<<"$m")" = 0 ] || bad+="$n: kilo_peers $(awk '$1 == "kilo_peers" {print $2}' <<<"$m"); "
  done
  echo "$bad" >"$STATE/final-state"
  [ -z "$bad" ]
}
wait_for 30 "no stale WireGuard peers or Peers" final_state
final_state && echo ok >"$STATE/final-state"
check_crashes
echo "$(cut -d' ' -f1-3 /proc/loadavg)" >"$STATE/loadavg.end"

python3 "$HERE/summary.py" "$STATE" "$STABLE" "$PAIRS" | tee "$STATE/summary.txt"
rc=${PIPESTATUS[0]}
log "summary: $STATE/summary.txt (exit $rc)"
exit "$rc"
