#!/usr/bin/env bash
# Runs every test of the project and ends with one summary line
#   TOTAL: N passed, M failed, K skipped
# (a skipped test is never counted as passed; which ones were skipped, and why, is
# listed just before it, with how long each stage took). Exit status is non-zero on any
# failure.
#
# Stages: ctest in BUILD (unit, golden, integration, emulator, e2e); asan (build-asan:
# clang ASan+UBSan, its tests and the kg leak run, and the fuzz targets are built there);
# fuzz (every target FUZZ_SECONDS, default 20, from build-asan, two at a time).
# SKIP_ASAN=1 skips the asan stage, SKIP_FUZZ=1 the fuzz stage (the list of skips says so).
#
# build-asan is compiled while ctest runs, at idle CPU priority (SCHED_IDLE): the e2e
# suites spend most of their time waiting (timers, resyncs, an API outage), and the
# compiler gets only the CPU time they leave, so their timing is not disturbed.
# SERIAL_ASAN_BUILD=1 builds it after ctest instead.
set -uo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
ASAN_BUILD=${ASAN_BUILD:-build-asan}
passed=0
failed=0
skipped=0
notes=()   # what was skipped and why, for the end
times=()   # "stage seconds"

# count STAGE LOG: adds the last "STAGE: N passed, M failed[, K skipped]" line of LOG to the
# totals and keeps its "STAGE skipped ..." / "STAGE partly skipped ..." lines; a stage
# without that line counts as one failure.
count() {
  local line n
  line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$2" | tail -1)
  if [ -z "$line" ]; then
    echo "$1 stage did not report a summary"
    failed=$((failed + 1))
    return
  fi
  n=$(sed -E 's/^[^:]+: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/' <<<"$line")
  read -r p f s <<<"$n"
  passed=$((passed + p))
  failed=$((failed + f))
  skipped=$((skipped + ${s:-0}))
  mapfile -t -O "${#notes[@]}" notes < <(grep -E "^$1 (partly )?skipped " "$2")
}

# stage NAME START: records how long the stage took.
took() {
  echo "== $1 took $((SECONDS - $2)) s"
  times+=("$(printf '%-10s %5d s' "$1" $((SECONDS - $2)))")
}

# The sanitizer build, in the background while ctest runs (see above).
asan_pid=
blog=$(mktemp)
if [ -z "${SKIP_ASAN:-}" ] && [ -z "${SERIAL_ASAN_BUILD:-}" ]; then
  idle=(chrt --idle 0)
  "${idle[@]}" true 2>/dev/null || idle=(nice -n 19)
  echo "== asan build of $ASAN_BUILD started in the background (${idle[*]}), output after ctest"
  # Its own process group, so that an interrupted test.sh stops the whole build too.
  setsid "${idle[@]}" bash tests/sanitize/run.sh --build-only "$ASAN_BUILD" >"$blog" 2>&1 &
  asan_pid=$!
  trap 'kill -- -"$asan_pid" 2>/dev/null' EXIT
  trap 'exit 130' INT TERM
fi

t=$SECONDS
echo "== ctest (unit, golden, integration, emulator, e2e)"
log=$(mktemp)
(cd "$BUILD" && ctest --output-on-failure -j2 --timeout 900) 2>&1 | tee "$log"
python3 scripts/ctest-report.py ctest "$log" "$BUILD" | tee -a "$log"
count ctest "$log"
rm -f "$log"
took ctest "$t"

# Sanitizers: build-asan (ASan+UBSan+LSan, with the fuzz targets) and its unit,
# integration and golden tests plus the kg leak run (tests/sanitize/run.sh).
t=$SECONDS
if [ -z "${SKIP_ASAN:-}" ]; then
  echo "== asan (unit, integration, golden, kg leak under ASan+UBSan+LSan)"
  alog=$(mktemp)
  if [ -n "$asan_pid" ]; then
    wait "$asan_pid"
    rc=$?
    echo "== asan build: ran during ctest, finished $((SECONDS - t)) s after it"
    cat "$blog"
    bt=$(sed -n 's/^== asan: build took \([0-9]*\) s$/\1/p' "$blog")
    [ -z "$bt" ] || times+=("$(printf '%-10s %5d s (at idle priority during ctest; %d s after it)' \
      "asan build" "$bt" $((SECONDS - t)))")
    if [ "$rc" -eq 0 ]; then
      bash tests/sanitize/run.sh --test-only "$ASAN_BUILD" 2>&1 | tee "$alog"
    else
      cp "$blog" "$alog"
    fi
  else
    bash tests/sanitize/run.sh "$ASAN_BUILD" 2>&1 | tee "$alog"
  fi
  count asan "$alog"
  rm -f "$alog"
  took asan "$t"
else
  notes+=("asan stage skipped: SKIP_ASAN is set")
fi
rm -f "$blog"

t=$SECONDS
if [ -z "${SKIP_FUZZ:-}" ]; then
  echo "== fuzz (${FUZZ_SECONDS:-20} s per target)"
  flog=$(mktemp)
  BUILD_DIR="$PWD/$ASAN_BUILD" bash tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" 2>&1 | tee "$flog"
  count fuzz "$flog"
  rm -f "$flog"
  took fuzz "$t"
else
  notes+=("fuzz stage skipped: SKIP_FUZZ is set")
fi

echo "== skipped (${skipped} tests; \"partly\": a passed test with skipped cases)"
if [ ${#notes[@]} -eq 0 ]; then
  echo "   nothing"
else
  printf '   %s\n' "${notes[@]}"
fi
echo "== time per stage (the build: see \"== build took\" above)"
printf '   %s\n' "${times[@]}"
echo "TOTAL: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
