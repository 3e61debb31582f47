# shellcheck shell=bash
bats_require_minimum_version 1.5.0
# Shared setup for the e2e bats files: one virtual cluster per file (setup_file /
# teardown_file), logs kept under $BATS_FILE_TMPDIR/cluster/logs and printed on failure.
E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$E2E_DIR/lib.sh"

# e2e_keep_logs_check: E2E_KEEP_LOGS, when set, is an absolute path outside the source
# tree (or in a part of it git ignores, such as build/). A relative one would land in
# whatever directory bats or ctest runs from, and `E2E_KEEP_LOGS=1` once became a
# directory "1/" of agent logs committed at the top of the repository.
e2e_keep_logs_check() {
  local d=${E2E_KEEP_LOGS:-}
  [ -n "$d" ] || return 0
  if [ "${d#/}" = "$d" ]; then
    echo "E2E_KEEP_LOGS must be an absolute path (the directory where every agent's log is copied), not '$d'; e.g. E2E_KEEP_LOGS=/tmp/e2e-logs"
    return 1
  fi
  if [ -n "${REPO:-}" ] && command -v git >/dev/null && git -C "$REPO" rev-parse --show-toplevel >/dev/null 2>&1; then
    local top
    top=$(git -C "$REPO" rev-parse --show-toplevel)
    case "$(realpath -m "$d")/" in
      "$top"/*)
        if ! git -C "$top" check-ignore -q "$(realpath -m "$d")/x"; then
          echo "E2E_KEEP_LOGS=$d is inside the source tree and not ignored by git (the logs could be committed); use a directory outside it or under build/"
          return 1
        fi
        ;;
    esac
  fi
}

# e2e_setup_file [no-agents]: starts the cluster with the KGE_* variables already set.
e2e_setup_file() {
  local bad
  if ! bad=$(e2e_keep_logs_check); then
    echo "# e2e: $bad" >&3
    return 1
  fi
  export KGE_STATE="$BATS_FILE_TMPDIR/cluster"
  export KGE_PREFIX="kge$$-"
  [ "${1:-}" = no-agents ] && export KGE_NO_AGENTS=1
  local why
  if ! why=$(KGE_NO_AGENTS=${KGE_NO_AGENTS:-} kge_preflight); then
    skip "e2e: $why"
  fi
  cluster_up >"$BATS_FILE_TMPDIR/cluster-up.log" 2>&1 || {
    cat "$BATS_FILE_TMPDIR/cluster-up.log" >&3
    return 1
  }
}

e2e_teardown_file() {
  [ -n "${KGE_STATE:-}" ] || return 0
  cluster_down >/dev/null 2>&1
  if [ -n "${E2E_KEEP_LOGS:-}" ] && [ -d "$KGE_STATE/logs" ] && e2e_keep_logs_check >/dev/null; then
    mkdir -p "$E2E_KEEP_LOGS" && cp -r "$KGE_STATE/logs" "$E2E_KEEP_LOGS/$(basename "$BATS_TEST_FILENAME" .bats)-logs"
  fi
}

e2e_setup() { kge_load_env; }

# on_teardown CMD...: undo a test's change after the test, pass or fail (so a failed test
# does not break the next ones).
on_teardown() { printf '%q ' "$@" >>"$KGE_STATE/undo" && echo >>"$KGE_STATE/undo"; }
e2e_undo() {
  [ -s "$KGE_STATE/undo" ] || return 0
  local line
  tac "$KGE_STATE/undo" | while read -r line; do eval "$line" >/dev/null 2>&1 || true; done
  rm -f "$KGE_STATE/undo"
  # after a failure, give the mesh a chance to settle before the next test
  if [ -z "${BATS_TEST_COMPLETED:-}" ]; then wait_mesh 60 >/dev/null 2>&1 || true; fi
}
# kg_ensure NODE: start the node's agent if it is not running.
kg_ensure() { kg_running "$1" || kg_start "$1"; }

# kg_threads PID: where each thread of a running kg is waiting (kernel wait channel), and
# the threads' backtraces when gdb is installed: what a hung agent is doing.
kg_threads() {
  local pid=$1 t
  for t in /proc/"$pid"/task/*; do
    echo "#   thread $(basename "$t") $(cat "$t/comm" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null)"
  done
  if command -v strace >/dev/null; then
    echo "#   6 s of its socket reads:"
    timeout 6 strace -f -qq -tt -p "$pid" -e trace=read,recvfrom,poll,ppoll 2>&1 | grep -v 'resumed> )' | tail -40 | sed 's/^/#     /'
  fi
  if command -v gdb >/dev/null; then
    timeout 60 gdb -p "$pid" -batch -ex 'thread apply all bt 25' 2>/dev/null |
      grep -E '^(Thread|#)' | sed 's/^/#     /'
  fi
}

# Every test: undo its changes; a failed test prints the last agent log lines and the
# last ping matrix.
e2e_teardown() {
  e2e_undo
  if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ -n "${BATS_TEST_SKIPPED:-}" ]; then return 0; fi
  {
    echo "# --- diagnostics after failure of: $BATS_TEST_DESCRIPTION"
    [ -f "$KGE_STATE/last-ping-matrix" ] && sed 's/^/# /' "$KGE_STATE/last-ping-matrix"
    local n
    for n in $(node_names); do
      if kg_running "$n"; then
        echo "# --- $n kg.log (tail; kg running, pid $(cat "$KGE_STATE/pids/$n.kg"))"
      else
        echo "# --- $n kg.log (tail; kg NOT running)"
      fi
      tail -n 6 "$KGE_STATE/logs/$n.kg.log" 2>/dev/null | sed 's/^/#   /'
      if kg_running "$n"; then
        kg_threads "$(cat "$KGE_STATE/pids/$n.kg")"
        echo "#   its TCP connections to the API server:"
        nsenter -t "$(cat "$KGE_STATE/pids/$n.kg")" -n -- ss -tn dst "$KGE_API_IP" 2>/dev/null | sed 's/^/#     /'
      fi
    done
    echo "# --- neighbours of the internet namespace"
    ip -n "$(inet_ns)" neigh 2>/dev/null | sed 's/^/#   /'
    echo "# --- API server side of the connections (inet namespace)"
    ip netns exec "$(inet_ns)" ss -tni sport = :6443 2>/dev/null | sed 's/^/#   /'
    echo "# --- API emulator: open watches"
    emu_admin stats GET 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
st = s.get("store") or {}
print("#   resourceVersion %s, history floor %s, %s watches started" % (st.get("resourceVersion"), st.get("historyFloor"), s.get("watchesStarted")))
for w in s.get("watches") or []:
    print("#   %s" % json.dumps(w, sort_keys=True))
' 2>/dev/null || echo "#   (stats unavailable)"
  } >&3
}

# retry SECONDS CMD...: like wait_for but keeps the last output for the failure message.
retry() {
  local t=$1 end out
  shift
  end=$((SECONDS + t))
  while :; do
    if out=$("$@" 2>&1); then return 0; fi
    if ((SECONDS >= end)); then
      echo "still failing after ${t}s: $*" >&2
      echo "$out" >&2
      return 1
    fi
    sleep 1
  done
}

# pod_ping SRC_NODE DST_IP: one successful ping within 2 tries.
pod_ping() { pod_exec "$1" ping -n -q -c1 -W2 "$2" >/dev/null || pod_exec "$1" ping -n -q -c1 -W2 "$2" >/dev/null; }
# pod_unreachable SRC_NODE DST_IP: two pings both fail.
pod_unreachable() { ! pod_exec "$1" ping -n -q -c2 -i0.3 -W1 "$2" >/dev/null 2>&1; }

# ann NODE KEY=VALUE...: sets kilo.squat.ai/KEY annotations (overwriting).
ann() {
  local n=$1 a args=()
  shift
  for a in "$@"; do args+=("kilo.squat.ai/$a"); done
  kctl annotate --overwrite node "$n" "${args[@]}" >/dev/null
}
# unann NODE KEY...: removes kilo.squat.ai/KEY annotations.
unann() {
  local n=$1 a args=()
  shift
  for a in "$@"; do args+=("kilo.squat.ai/$a-"); done
  kctl annotate node "$n" "${args[@]}" >/dev/null
}

# wg_has_peer NODE PUBKEY / wg_lacks_peer NODE PUBKEY
wg_has_peer() { wg_dump "$1" | awk -v k="$2" 'NR > 1 && $1 == k {f = 1} END {exit !f}'; }
wg_lacks_peer() { ! wg_has_peer "$@"; }
# wg_allowed_has NODE CIDR: some peer of NODE has CIDR in its allowed IPs.
wg_allowed_has() { wg_dump "$1" | awk 'NR > 1 {print $4}' | tr ',' '\n' | grep -qx "$2"; }
wg_allowed_lacks() { ! wg_allowed_has "$@"; }
# peer_count_is NODE N
peer_count_is() { [ "$(wg_peer_count "$1")" -eq "$2" ]; }

# scrape NODE PATH: HTTP GET on the agent's --listen address from inside its namespace.
scrape() { node_exec "$1" curl -sS --max-time 5 "http://$(node_lan_ip "$1"):1107$2"; }
# metric NODE NAME: the sum of every series of NAME (labels ignored), e.g. metric aws-1 kilo_nodes.
metric() {
  scrape "$1" /metrics | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $NF; f = 1} END {if (!f) exit 1; printf "%g\n", s}'
}

# reconciles NODE: how many reconciles NODE's kg has finished (kilo_reconciles_total).
reconciles() { metric "$1" kilo_reconciles_total; }
# wait_reconciled TIMEOUT NODE AFTER: waits until NODE's kg has finished a whole reconcile
# that started after `reconciles NODE` printed AFTER, so one that saw every change made
# since: the counter rises when a reconcile ends, so AFTER + 1 may be the one already
# running then, and AFTER + 2 is not. For "one more resync" without sleeping through a
# period. Fails after TIMEOUT seconds, saying where the counter stopped.
wait_reconciled() {
  local t=$1 n=$2 after=$3 end now=
  end=$((SECONDS + t))
  while :; do
    now=$(reconciles "$n" 2>/dev/null) || now=
    [ -n "$now" ] && [ "${now%.*}" -ge $((after + 2)) ] && return 0
    if ((SECONDS >= end)); then
      echo "wait_reconciled: kg on $n counted ${now:-no} reconciles (kilo_reconciles_total on its /metrics) after ${t}s; wanted $((after + 2)) or more (one whole reconcile after $after)" >&2
      return 1
    fi
    sleep 0.5
  done
}
# metric_above NODE NAME VALUE: NODE's metric NAME (summed over labels) is above VALUE.
metric_above() {
  local v
  v=$(metric "$1" "$2") || return 1
  awk -v v="$v" -v min="$3" 'BEGIN {exit !(v > min)}'
}

# ping_loss_ok FILE MAX_LOST: a finished `ping` output lost at most MAX_LOST packets.
ping_loss_ok() {
  local tx rx
  tx=$(awk '/packets transmitted/ {print $1}' "$1")
  rx=$(awk '/packets transmitted/ {print $4}' "$1")
  echo "ping: $tx transmitted, $rx received (max lost $2)" >&2
  [ -n "$tx" ] && [ -n "$rx" ] && [ "$tx" -gt 0 ] && [ $((tx - rx)) -le "$2" ]
}
# wg_field_is NODE PUBKEY FIELD VALUE (re-evaluated on every call, for retry)
wg_field_is() { [ "$(wg_peer_field "$1" "$2" "$3")" = "$4" ]; }
# route_has NODE DEST WORDS: `ip route show DEST` on NODE (all tables) contains WORDS.
route_has() { node_exec "$1" ip -4 route show table all "$2" | grep -q -- "$3"; }
