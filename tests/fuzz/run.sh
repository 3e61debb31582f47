#!/usr/bin/env bash
# Builds the libFuzzer targets (clang) if needed and runs each for SECONDS
# (default 20) from its seed corpus in tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# Env: BUILD_DIR (default <repo>/build-fuzz), JOBS (default 2),
#      KEEP_CORPUS=1 keeps the grown corpus in $BUILD_DIR/fuzz-corpus.
# Prints one line per target and "fuzz: N passed, M failed"; exit 1 on any crash,
# leak, timeout or sanitizer report (the reproducer is in
# $BUILD_DIR/fuzz-artifacts/<target>/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECONDS_EACH="${1:-20}"
shift || true
BUILD_DIR="${BUILD_DIR:-$ROOT/build-fuzz}"
JOBS="${JOBS:-2}"
ALL=(fuzz_admission_review fuzz_translate_node fuzz_translate_peer fuzz_cluster_dump fuzz_wgconf fuzz_endpoint
     fuzz_cidr fuzz_discovered_endpoints fuzz_kubeconfig fuzz_watch_stream fuzz_uapi_reply
     fuzz_netlink_reply)
TARGETS=("${@:-${ALL[@]}}")
[[ $# -eq 0 ]] && TARGETS=("${ALL[@]}")

if ! command -v clang++ >/dev/null; then
  echo "tests/fuzz/run.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  CC=clang CXX=clang++ bash "$ROOT/scripts/configure.sh" "$BUILD_DIR" -DKILO_FUZZ=ON -DKILO_TESTS=OFF \
    -DKILO_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
if ! cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TARGETS[@]}" >"$BUILD_DIR/fuzz-build.log" 2>&1; then
  tail -30 "$BUILD_DIR/fuzz-build.log" >&2
  echo "tests/fuzz/run.sh: build failed (log: $BUILD_DIR/fuzz-build.log)" >&2
  exit 1
fi

work="$BUILD_DIR/fuzz-corpus"
[[ "${KEEP_CORPUS:-0}" == 1 ]] || rm -rf "$work"
passed=0
failed=0
for t in "${TARGETS[@]}"; do
  mkdir -p "$work/$t" "$BUILD_DIR/fuzz-artifacts/$t"
  log="$BUILD_DIR/fuzz-artifacts/$t.log"
  seed="$ROOT/tests/fuzz/corpus/$t"
  [[ -d "$seed" ]] || seed=""
  rc=0
  # New inputs go to the first directory (the work copy); seeds stay as they are.
  "$BUILD_DIR/bin/$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=4096 -artifact_prefix="$BUILD_DIR/fuzz-artifacts/$t/" \
    "$work/$t" ${seed:+"$seed"} >"$log" 2>&1 || rc=$?
  # (|| true: a target that fails while loading its seeds prints no stats,
  # and a failed grep must not end the script under pipefail.)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
  corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2 || true)
  if [[ $rc -eq 0 ]]; then
    passed=$((passed + 1))
    printf '%-28s PASS %4ss  execs=%s cov=%s ft=%s corpus=%s\n' "$t" "$SECONDS_EACH" \
      "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
  else
    failed=$((failed + 1))
    what=$(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]+|FUZZ_CHECK failed[^\n]*|runtime error: .*|deadly signal|timeout' "$log" || true)
    printf '%-28s FAIL (exit %d) %s; log %s\n' "$t" "$rc" "${what:-see log}" "$log"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
