#!/usr/bin/env bash
# tests/sanitize/run.sh [--configure-only|--build-only|--test-only] [BUILD_DIR]: the
# sanitizer stage of `make test` and `make asan`.
#
# Configures and builds BUILD_DIR (default build-asan) with -DKILO_SANITIZE=ON
# (ASan+UBSan, -O1 -g1; LeakSanitizer at every exit) and -DKILO_FUZZ=ON (the libFuzzer
# targets, which tests/fuzz/run.sh runs from this build: one clang build instead of two),
# then runs its CTest suite: the unit, integration and golden tests plus sanitize_kg_leak
# (kg as a real agent for 100 reconciles, tests/sanitize/kg_leak.sh). Not run here: e2e_*
# (the virtual cluster; its own stage), apiserver_* and manifests (they exercise the
# Python emulator and kubectl only). --configure-only stops after the configure step
# (tests/fuzz/run.sh uses it); --build-only after the build and --test-only skips to the
# tests (scripts/test.sh builds while the release build's ctest runs, then tests).
#
# Every sanitizer report fails the stage, including one from a child process that a test
# runs and whose exit status the test ignores or expects to be non-zero (bats `run`,
# kgctl error cases): reports are written to BUILD_DIR/sanitizer-reports/ (log_path) and
# each file there counts as one failure.
#
# clang, not gcc: gcc links UBSan as a separate runtime (libubsan) that ignores log_path,
# so its reports would only reach stderr, where bats and the golden runner swallow them;
# clang's UBSan lives in the ASan runtime and follows ASAN_OPTIONS.
#
# Last line: "asan: N passed, M failed, K skipped" (CTest tests; M also counts report
# files), after one line per skipped test with its reason (scripts/ctest-report.py).
set -uo pipefail
cd "$(dirname "$0")/../.."
phase=all
case ${1:-} in
  --configure-only | --build-only | --test-only)
    phase=${1#--}
    phase=${phase%-only}
    shift
    ;;
esac
B=${1:-build-asan}
JOBS=${JOBS:-2}
t0=$SECONDS

summary() {
  echo "asan: $1 passed, $2 failed, ${3:-0} skipped"
  [ "$2" -eq 0 ]
  exit
}

if ! command -v clang++ >/dev/null; then
  echo "clang++ not found (scripts/install-deps.sh installs it)"
  summary 0 1
fi

reports="$PWD/$B/sanitizer-reports"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$reports/report:log_exe_name=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
supp="$PWD/tests/sanitize/lsan.supp"
if [ -f "$supp" ]; then
  export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
fi

if [ "$phase" != test ]; then
  echo "== asan: configure$([ "$phase" = configure ] || echo " + build") $B (clang, ASan+UBSan, -O1 -g1, the fuzz targets, no bench)"
  bash scripts/configure.sh "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DKILO_SANITIZE=ON -DKILO_FUZZ=ON -DKILO_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug || {
    echo "asan: cmake configure failed"
    summary 0 1
  }
  [ "$phase" != configure ] || exit 0
  rm -rf "$reports"
  mkdir -p "$reports"
  # gtest discovery runs the test binaries at build time, under the same options.
  cmake --build "$B" -j"$JOBS" 2>&1 | grep --line-buffered -vE '^\[ *[0-9]+%\] (Building|Linking|Built target)|^Consolidate compiler'
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    echo "asan: build failed"
    summary 0 1
  fi
  echo "== asan: build took $((SECONDS - t0)) s"
  [ "$phase" != build ] || exit 0
fi
t1=$SECONDS
mkdir -p "$reports"
echo "== asan: ctest (unit, integration, golden, kg leak)"

log=$(mktemp)
(cd "$B" && ctest --output-on-failure -j"$JOBS" --timeout 900 -E '^(e2e_|apiserver_|manifests$)') 2>&1 | tee "$log"
python3 scripts/ctest-report.py asan "$log" "$B" >"$log.report"
grep -v '^asan: ' "$log.report"
line=$(grep -E '^asan: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log.report" | tail -1)
rm -f "$log" "$log.report"
passed=0
failed=0
skipped=0
if [ -n "$line" ]; then
  read -r passed failed skipped < <(sed -E 's/^asan: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/' <<<"$line")
else
  echo "asan: ctest did not report a summary"
  failed=1
fi

nrep=0
for f in "$reports"/*; do
  [ -e "$f" ] || continue
  nrep=$((nrep + 1))
  echo "---- sanitizer report $(basename "$f") (first 60 lines)"
  head -60 "$f"
done
if ((nrep > 0)); then
  echo "asan: $nrep sanitizer report(s) in $reports (each counted as a failure)"
  failed=$((failed + nrep))
else
  echo "asan: no sanitizer report"
fi
echo "== asan: ctest took $((SECONDS - t1)) s; stage $((SECONDS - t0)) s"
summary "$passed" "$failed" "$skipped"
