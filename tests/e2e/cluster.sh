#!/usr/bin/env bash
# A virtual 3-location Kilo cluster on this machine (see the drawing in lib.sh).
#
#   tests/e2e/cluster.sh up     [--nodes N] [--granularity location|full|cross] [--state DIR] [--no-agents]
#   tests/e2e/cluster.sh status [--state DIR]     processes and the pod ping matrix
#   tests/e2e/cluster.sh down   [--state DIR]     stop everything, delete the namespaces
#   tests/e2e/cluster.sh kubectl [--state DIR] ARGS...   kubectl against the emulator
#   tests/e2e/cluster.sh kgctl   [--state DIR] ARGS...   kgctl against the live cluster
#   tests/e2e/cluster.sh exec    [--state DIR] NODE CMD... a command in a node's namespaces
#   tests/e2e/cluster.sh pod     [--state DIR] NODE CMD... a command in a node's pod
#
# Needs root. Default state directory: /tmp/kilo-e2e-cluster. Binaries: $KG, $KGCTL
# (default build/bin/kg, build/bin/kgctl). `up` exits 0 once every pod pings every other
# pod; on failure it says which step failed and why, and tears down what it made.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

cmd=${1:-}
[ -n "$cmd" ] || { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
shift
KGE_STATE=${KGE_STATE:-/tmp/kilo-e2e-cluster}
while [ $# -gt 0 ]; do
  case $1 in
    --nodes) KGE_NODES=$2; shift 2 ;;
    --granularity) KGE_GRANULARITY=$2; shift 2 ;;
    --state) KGE_STATE=$2; shift 2 ;;
    --no-agents) KGE_NO_AGENTS=1; shift ;;
    --public) KGE_PUBLIC=$2; shift 2 ;;
    *) break ;;
  esac
done
export KGE_STATE
KGE_STATE=$(mkdir -p "$KGE_STATE" && cd "$KGE_STATE" && pwd)

case $cmd in
  up)
    if [ -f "$KGE_STATE/env" ] && [ -s "$KGE_STATE/namespaces" ]; then
      echo "cluster.sh: a cluster already runs with state $KGE_STATE; run 'cluster.sh down' first" >&2
      exit 1
    fi
    case ${KGE_GRANULARITY:-location} in location | full | cross) ;; *) echo "--granularity must be location, full or cross" >&2; exit 2 ;; esac
    trap 'echo "cluster.sh: interrupted, tearing down" >&2; cluster_down; exit 130' INT TERM
    cluster_up
    rc=$?
    trap - INT TERM
    if [ $rc -ne 0 ]; then
      echo "cluster.sh up: FAILED (state and logs kept in $KGE_STATE; run 'cluster.sh down' to remove what is left)" >&2
      exit $rc
    fi
    echo "cluster.sh up: OK. kubectl: $0 kubectl --state $KGE_STATE get nodes"
    ;;
  down)
    kge_load_env || exit 0
    cluster_down
    rm -f "$KGE_STATE/env"
    echo "cluster.sh down: done"
    ;;
  status)
    cluster_status
    ;;
  kubectl)
    kge_load_env && kctl "$@"
    ;;
  kgctl)
    kge_load_env && kgctl_live "$@"
    ;;
  exec)
    kge_load_env && node_exec "$@"
    ;;
  pod)
    kge_load_env && pod_exec "$@"
    ;;
  *)
    echo "unknown command: $cmd (up|down|status|kubectl|kgctl|exec|pod)" >&2
    exit 2
    ;;
esac
