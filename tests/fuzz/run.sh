#!/usr/bin/env bash
# Builds the libFuzzer targets if needed and runs each for SECONDS (default 20) from its
# seed corpus in tests/fuzz/corpus/<target>/, FUZZ_JOBS of them at a time.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]
#
# The targets are built in the sanitizer build (clang, ASan+UBSan, -DKILO_FUZZ=ON;
# configured by tests/sanitize/run.sh --configure-only when needed).
# Env: BUILD_DIR (default <repo>/build-asan), JOBS (build, default 2), FUZZ_JOBS (targets
#      run at once, default JOBS; each is one process on one core),
#      KEEP_CORPUS=1 keeps the grown corpus in $BUILD_DIR/fuzz-corpus.
# Prints one line per target and "fuzz: N passed, M failed"; exit 1 on any crash,
# leak, timeout or sanitizer report (the reproducer is in
# $BUILD_DIR/fuzz-artifacts/<target>/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECONDS_EACH="${1:-20}"
shift || true
BUILD_DIR="${BUILD_DIR:-$ROOT/build-asan}"
JOBS="${JOBS:-2}"
FUZZ_JOBS="${FUZZ_JOBS:-$JOBS}"
ALL=(fuzz_admission_review fuzz_translate_node fuzz_translate_peer fuzz_cluster_dump fuzz_wgconf fuzz_endpoint
     fuzz_cidr fuzz_discovered_endpoints fuzz_kubeconfig fuzz_watch_stream fuzz_http_response
     fuzz_uapi_reply fuzz_netlink_reply)
TARGETS=("${@:-${ALL[@]}}")
[[ $# -eq 0 ]] && TARGETS=("${ALL[@]}")

if ! command -v clang++ >/dev/null; then
  echo "tests/fuzz/run.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
if ! grep -qx 'KILO_FUZZ:BOOL=ON' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  JOBS=$JOBS bash "$ROOT/tests/sanitize/run.sh" --configure-only "$BUILD_DIR" || {
    echo "fuzz: 0 passed, 1 failed"
    exit 1
  }
fi
t0=$SECONDS
if ! cmake --build "$BUILD_DIR" -j"$JOBS" --target "${TARGETS[@]}" >"$BUILD_DIR/fuzz-build.log" 2>&1; then
  tail -30 "$BUILD_DIR/fuzz-build.log" >&2
  echo "tests/fuzz/run.sh: build failed (log: $BUILD_DIR/fuzz-build.log)" >&2
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
echo "== fuzz: build $((SECONDS - t0)) s; ${#TARGETS[@]} targets, ${SECONDS_EACH} s each, $FUZZ_JOBS at a time"

work="$BUILD_DIR/fuzz-corpus"
[[ "${KEEP_CORPUS:-0}" == 1 ]] || rm -rf "$work"
# run_one TARGET: fuzzes TARGET and writes its result line to fuzz-artifacts/TARGET.result
# (first word PASS or FAIL).
run_one() {
  local t=$1 log seed rc=0 execs cov ft corp what
  mkdir -p "$work/$t" "$BUILD_DIR/fuzz-artifacts/$t"
  log="$BUILD_DIR/fuzz-artifacts/$t.log"
  seed="$ROOT/tests/fuzz/corpus/$t"
  [[ -d "$seed" ]] || seed=""
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
    printf 'PASS %-28s PASS %4ss  execs=%s cov=%s ft=%s corpus=%s\n' "$t" "$SECONDS_EACH" \
      "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
  else
    what=$(grep -m1 -oE 'ERROR: [A-Za-z]+: [^ ]+|FUZZ_CHECK failed[^\n]*|runtime error: .*|deadly signal|timeout' "$log" || true)
    printf 'FAIL %-28s FAIL (exit %d) %s; log %s\n' "$t" "$rc" "${what:-see log}" "$log"
  fi >"$BUILD_DIR/fuzz-artifacts/$t.result"
}

# FUZZ_JOBS targets at a time; their lines are printed in target order at the end.
running=0
for t in "${TARGETS[@]}"; do
  rm -f "$BUILD_DIR/fuzz-artifacts/$t.result"
  if ((running >= FUZZ_JOBS)); then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
wait || true
passed=0
failed=0
for t in "${TARGETS[@]}"; do
  r="$BUILD_DIR/fuzz-artifacts/$t.result"
  if [[ -s "$r" ]] && [[ $(cut -d' ' -f1 "$r") == PASS ]]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  if [[ -s "$r" ]]; then cut -d' ' -f2- "$r"; else printf '%-28s FAIL (no result)\n' "$t"; fi
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
