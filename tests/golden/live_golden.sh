#!/usr/bin/env bash
# kgctl against the API emulator loaded with a golden-sample case must print
# exactly what `kgctl --from-file` prints for the same case (graph, showconf
# node for every node, showconf peer for every peer; stdout and exit code).
# Usage: live_golden.sh KGCTL CASE_DIR...
set -uo pipefail
KGCTL=$1
shift
HERE=$(cd "$(dirname "$0")" && pwd)
SERVE="$HERE/../apiserver/serve"
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0
# Cases come in pairs with the same input: load each distinct input once and
# run every case that uses it.
declare -A groups=()
order=()
for case in "$@"; do
  h=$(sha256sum "$case/input.json" | cut -c1-16)
  [ -n "${groups[$h]:-}" ] || order+=("$h")
  groups[$h]="${groups[$h]:-} $case"
done
for h in "${order[@]}"; do
  read -r -a members <<<"${groups[$h]}"
  case=${members[0]}
  name=$(basename "$case")
  rm -f "$work/kubeconfig"
  "$SERVE" --kubeconfig "$work/kubeconfig" --load "$case/input.json" >"$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do [ -s "$work/kubeconfig" ] && break; sleep 0.05; done
  [ -s "$work/kubeconfig" ] || { echo "FAIL $name: emulator did not start"; cat "$work/serve.log"; fail=$((fail + 1)); kill "$pid"; pid=; continue; }
  for case in "${members[@]}"; do
  name=$(basename "$case")
  flags=$(python3 -c "import json,sys; p=json.load(open('$case/params.json')); print('--now %d --mesh-granularity %s --port %d --topology-label %s' % (p['now'], p['mesh_granularity'], p['port'], p['topology_label']))")
  cmds=("graph")
  for n in $(python3 -c "import json; print(' '.join(json.load(open('$case/results.json'))['nodes']))"); do cmds+=("showconf node $n" "showconf node $n --as-peer -o yaml"); done
  for p in $(python3 -c "import json; print(' '.join(json.load(open('$case/results.json'))['peers']))"); do cmds+=("showconf peer $p"); done
  for c in "${cmds[@]}"; do
    # shellcheck disable=SC2086
    "$KGCTL" --from-file "$case/input.json" $flags $c >"$work/want" 2>/dev/null; want_rc=$?
    # shellcheck disable=SC2086
    "$KGCTL" --kubeconfig "$work/kubeconfig" $flags $c >"$work/got" 2>"$work/err"; got_rc=$?
    if [ "$want_rc" = "$got_rc" ] && cmp -s "$work/want" "$work/got"; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL $name: kgctl $c: exit $got_rc (want $want_rc)"; diff "$work/want" "$work/got" | head -10; tail -2 "$work/err"
    fi
  done
  done
  kill "$pid"; wait "$pid" 2>/dev/null; pid=
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
