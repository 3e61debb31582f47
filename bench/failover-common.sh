# shellcheck shell=bash
# The set-up bench/failover.sh and bench/failover-soak.sh share: the virtual cluster of
# tests/e2e/lib.sh (location granularity, 6 nodes, every kg with --leader-failover) on
# copies of build/bin/kg and kgctl (or $KG, $KGCTL), torn down on every exit.
#
#   failover_bench_up NAME PREFIX     NAME for messages and the state directory
#                                     (/tmp/kilo-NAME.XXXXXX), PREFIX for the namespaces
#
# Defines log, STATE (the state directory) and, before the cluster goes down on exit,
# calls failover_bench_cleanup when the script defines it (its pingers, its faults).
# Exits 2 when not root or a binary is missing, 1 when the cluster does not come up.

failover_bench_up() {
  local name=$1 prefix=$2 b src
  FAILOVER_BENCH_NAME=$name
  REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  [ "$(id -u)" = 0 ] || { echo "$name: needs root (network namespaces)" >&2; exit 2; }
  STATE=$(mktemp -d "/tmp/kilo-$name.XXXXXX")
  mkdir -p "$STATE/bin"
  for b in kg kgctl; do
    src=$(eval echo "\${${b^^}:-$REPO/build/bin/$b}")
    [ -x "$src" ] || { echo "$name: $src not built (cmake --build build --target kg kgctl)" >&2; exit 2; }
    cp "$src" "$STATE/bin/$b"
  done
  export KG="$STATE/bin/kg" KGCTL="$STATE/bin/kgctl" REPO
  export KGE_STATE="$STATE/cluster" KGE_PREFIX="$prefix$$-" KGE_NODES=6 KGE_GRANULARITY=location
  export KGE_KG_EXTRA="--leader-failover"
  # shellcheck source=../tests/e2e/lib.sh
  . "$REPO/tests/e2e/lib.sh"
  trap 'exit 130' INT TERM
  trap failover_bench_down EXIT
  log "cluster up (state $STATE)"
  cluster_up >"$STATE/cluster-up.log" 2>&1 || { cat "$STATE/cluster-up.log" >&2; exit 1; }
}

log() { printf '[%s %s] %s\n' "$FAILOVER_BENCH_NAME" "$(date -u +%H:%M:%S)" "$*" >&2; }

failover_bench_down() {
  trap - INT TERM EXIT
  if declare -F failover_bench_cleanup >/dev/null; then failover_bench_cleanup; fi
  cluster_down >/dev/null 2>&1
  log "torn down (logs in $STATE)"
}
