# shellcheck shell=bash
# Shared setup for tests/interop: the e2e virtual cluster (tests/e2e/lib.sh) in which the
# nodes of KGE_GO_NODES run Kilo's original Go agent ($KILO_GO_KG) instead of kg.
#
# Without KILO_GO_KG every test skips ("# skip interop: ..." in the TAP output, which the
# CTest registration counts as skipped). bats 1.8 cannot skip from setup_file, so
# interop_setup_file records the reason and interop_setup skips each test with it.
INTEROP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../e2e/common.bash
. "$INTEROP_DIR/../e2e/common.bash"

INTEROP_NO_GO="KILO_GO_KG not set: the Go agent is needed (CI has no source to build it from)"

# interop_setup_file: the cluster, with KGE_GRANULARITY, KGE_GO_NODES... set by the file.
interop_setup_file() {
  export INTEROP_SKIP=""
  if [ -z "${KILO_GO_KG:-}" ]; then
    export INTEROP_SKIP="interop: $INTEROP_NO_GO"
    return 0
  fi
  if [ ! -x "$KILO_GO_KG" ] || [ -d "$KILO_GO_KG" ]; then
    echo "# KILO_GO_KG=$KILO_GO_KG is not an executable file" >&3
    return 1
  fi
  export KILO_GO_KG KGE_STATE="$BATS_FILE_TMPDIR/cluster" KGE_PREFIX="kgi$$-"
  local why
  if ! why=$(kge_preflight); then
    export INTEROP_SKIP="interop: $why"
    return 0
  fi
  cluster_up >"$BATS_FILE_TMPDIR/cluster-up.log" 2>&1 || {
    sed 's/^/# /' "$BATS_FILE_TMPDIR/cluster-up.log" >&3
    return 1
  }
  interop_t0 >"$KGE_STATE/t0"
}
interop_teardown_file() {
  [ -z "${INTEROP_SKIP:-}" ] || return 0 # nothing was started (KGE_STATE may be the caller's)
  e2e_teardown_file
}
interop_setup() {
  [ -z "${INTEROP_SKIP:-}" ] || skip "$INTEROP_SKIP"
  e2e_setup
}
# interop_teardown: undo the test's changes; after a failure, the last ping matrix and the
# tail of every agent's log (lighter than e2e_teardown: no strace/gdb of each agent).
interop_teardown() {
  [ -z "${INTEROP_SKIP:-}" ] || return 0
  pingers_stop_all
  e2e_undo
  if [ -n "${BATS_TEST_COMPLETED:-}" ] || [ -n "${BATS_TEST_SKIPPED:-}" ]; then return 0; fi
  {
    echo "# --- after the failure of: $BATS_TEST_DESCRIPTION (agents: $(agents_line))"
    [ -f "$KGE_STATE/last-ping-matrix" ] && sed 's/^/# /' "$KGE_STATE/last-ping-matrix"
    local n
    for n in $(node_names); do
      echo "# --- $n ($(agent_kind "$n")) log tail"
      tail -n 4 "$KGE_STATE/logs/$n.kg.log" 2>/dev/null | cut -c1-400 | sed 's/^/#   /'
    done
  } >&3
}

interop_t0() { date +%s.%N; }
# say TEXT: a line in the test's output (shown by bats on failure; INTEROP_TRACE=1 live).
say() {
  echo "$*"
  if [ -n "${INTEROP_TRACE:-}" ]; then echo "# $*" >&3; fi
  return 0
}
# report: stdin to the TAP output (always shown: the figures a test measures).
report() { sed 's/^/# /' >&3; }

# nodes_of KIND: the nodes whose agent is KIND (go | kg).
nodes_of() {
  local n out=""
  for n in $(node_names); do [ "$(agent_kind "$n")" = "$1" ] && out+="$n "; done
  echo "${out% }"
}
# agent_is NODE KIND: the running agent of NODE is KIND (by the binary in its command line).
agent_is() {
  local pid bin
  pid=$(cat "$KGE_STATE/pids/$1.kg" 2>/dev/null)
  if [ "$2" = go ]; then bin=$KILO_GO_KG; else bin=$KG; fi
  pid_is "$pid" "$bin"
}
# agents_line: "aws-1=go aws-2=kg ..." (the kind of every node's running agent).
agents_line() {
  local n out=""
  for n in $(node_names); do
    if agent_is "$n" go; then out+="$n=go "; elif agent_is "$n" kg; then out+="$n=kg "; else out+="$n=DOWN "; fi
  done
  echo "${out% }"
}

metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }

# ---------------------------------------------------------------------------- pingers
# pingers_start, pingers_stop, pingers_stop_all, pingloss: tests/e2e/pingers.bash.
# shellcheck source=../e2e/pingers.bash
. "$INTEROP_DIR/../e2e/pingers.bash"

# wait_quiet NAME T0 [MIN] [MAX] ["PAIRS"]: until no pinger of NAME (or of PAIRS) lost a
# request for 5 s, at least MIN (default 10) and at most MAX (default 60) s after T0.
wait_quiet() {
  local name=$1 t0=$2 min=${3:-10} max=${4:-60} pairs=${5:-} q el
  while :; do
    sleep 1
    el=$(python3 -c "import time; print(int(time.time() - $t0))")
    ((el < min)) && continue
    q=$(pingloss "$name" "$t0" now --quiet ${pairs:+--pairs "$pairs"})
    if [ "${q%.*}" -ge 5 ]; then return 0; fi
    if ((el >= max)); then
      say "still losing requests $el s after the change (last loss ${q}s ago)"
      return 1
    fi
  done
}
# pairs_between "NODES A" "NODES B": the SRC.DST names of both directions.
pairs_between() {
  local a b out=""
  for a in $1; do for b in $2; do out+="$a.$b $b.$a "; done; done
  echo "$out"
}
# loss_check NAME T0 T1 "PAIRS" MAX_LOST: prints the loss of every pair of NAME (the PAIRS
# marked "*"); fails when one of PAIRS lost more than MAX_LOST requests.
loss_check() {
  local name=$1 t0=$2 t1=$3 pairs=$4 max=$5
  pingloss "$name" "$t0" "$t1" --json | python3 -c '
import json, sys
res, pairs, mx = json.load(sys.stdin), sys.argv[1].split(), int(sys.argv[2])
bad = []
for p, r in sorted(res.items()):
    mark = "*" if p in pairs else " "
    print("%s %-13s sent %4d lost %3d (%4.1f s) longest outage %4.1f s%s" % (
        mark, p, r["sent"], r["lost"], r["lost"] * 0.2, r["longest_s"],
        "" if r["first_loss"] is None else "  losses from +%.1f s to +%.1f s" % (r["first_loss"], r["last_loss"])))
    if p in pairs and (r["lost"] > mx or r["sent"] == 0):
        bad.append(p)
worst = max([res[p]["lost"] for p in pairs if p in res] or [0])
print("pairs marked *: at most %d lost each allowed; worst %d (%.1f s)%s" % (
    mx, worst, worst * 0.2, "; OVER THE BOUND: " + " ".join(bad) if bad else ""))
sys.exit(1 if bad else 0)' "$pairs" "$max"
}

# ---------------------------------------------------------------------------- writers

# node_client_ip NODE: the source address of the node's API requests as the emulator sees
# it: its public address, else its location router's.
node_client_ip() {
  if node_is_public "$1"; then node_pub_ip "$1"; else router_wan_ip "$(node_loc_idx "$1")"; fi
}
# nodes_json: {"NODE": {"kind": ..., "clients": [IP]}} for writers.py.
nodes_json() {
  local n first=1
  printf '{'
  for n in $(node_names); do
    ((first)) || printf ','
    first=0
    printf '"%s":{"kind":"%s","clients":["%s"]}' "$n" "$(agent_kind "$n")" "$(node_client_ip "$n")"
  done
  printf '}\n'
}
# writers_check [SAMPLES_DIR]: tests/interop/writers.py on every annotation write since
# the cluster started.
writers_check() {
  nodes_json >"$KGE_STATE/nodes-agents.json"
  emu_admin "writes?since=0" GET >"$KGE_STATE/writes.json" || return 1
  python3 "$INTEROP_DIR/writers.py" "$KGE_STATE/nodes-agents.json" "$KGE_STATE/writes.json" "$@"
}
# writes_between T0 T1: the kilo.squat.ai/* annotation writes of [T0, T1] (last-seen aside),
# one line each: seconds after T0, node, writer (User-Agent), key: old -> new.
writes_between() {
  emu_admin "writes?since=$1" GET | python3 -c '
import json, sys
t0, t1 = float(sys.argv[1]), float(sys.argv[2])
for w in json.load(sys.stdin)["writes"]:
    if w.get("kind") != "Node" or w["time"] > t1:
        continue
    for k, (old, new) in sorted(w["annotations"].items()):
        if not k.startswith("kilo.squat.ai/") or k.endswith("/last-seen"):
            continue
        print("+%5.1f s %-6s by %-12s %s: %r -> %r" % (w["time"] - t0, w["name"],
              (w.get("userAgent") or "?").split(" ")[0][:12], k[14:], old, new))' "$1" "$2"
}
