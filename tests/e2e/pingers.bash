# shellcheck shell=bash
# Pod-to-pod pingers with timestamps, and their loss between two instants
# (tests/interop/pingloss.py), for the tests that measure an outage: tests/interop (through
# interop.bash) and tests/e2e/failover.bats. REQUIRES: lib.sh loaded (E2E_DIR, KGE_STATE,
# pod_ns, node_pod_ip, node_names, pid_is).

# pingers_start NAME [NODES]: every ordered pair of the NODES' pods (default all) pings
# every 200 ms (ping -D -O: timestamps and a line per unanswered request) into
# $KGE_STATE/ping-NAME/SRC.DST, until pingers_stop NAME. Traffic stays in the pods.
pingers_start() {
  local name=$1 nodes=${2:-$(node_names)} dir s d
  dir="$KGE_STATE/ping-$name"
  mkdir -p "$dir"
  for s in $nodes; do
    for d in $nodes; do
      [ "$s" = "$d" ] && continue
      ip netns exec "$(pod_ns "$s")" ping -n -D -O -i 0.2 -W 1 "$(node_pod_ip "$d")" \
        >"$dir/$s.$d" 2>&1 </dev/null 3>&- &
      echo $! >"$KGE_STATE/pids/ping-$name-$s.$d.bg"
    done
  done
}
# pingers_stop NAME: SIGINT (ping prints its summary) to the pingers of NAME, by PID.
pingers_stop() {
  local f pid
  for f in "$KGE_STATE"/pids/ping-"$1"-*.bg; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    if pid_is "$pid" ping; then kill -INT "$pid" 2>/dev/null || true; fi
    rm -f "$f"
  done
}
pingers_stop_all() {
  local f name
  for f in "$KGE_STATE"/pids/ping-*.bg; do
    [ -e "$f" ] || continue
    name=${f##*/ping-}
    pingers_stop "${name%%-*}"
  done
}
# pingloss NAME T0 T1 [ARGS...]: tests/interop/pingloss.py on the pingers of NAME.
pingloss() {
  local name=$1
  shift
  python3 "$E2E_DIR/../interop/pingloss.py" "$KGE_STATE/ping-$name" "$@"
}
