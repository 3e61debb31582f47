#!/usr/bin/env bash
# Runs every test of the project and ends with one summary line
# "TOTAL: N passed, M failed, K skipped". Exit status is non-zero on any failure. A skipped
# test (e.g. the interop suites without KILO_GO_KG, e2e without root) is not counted as
# passed (ctest lists them as "(Skipped)"; `ctest -V -R NAME` shows the reason).
set -uo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
passed=0
failed=0
skipped=0

echo "== ctest (unit, golden, integration, emulator, e2e)"
log=$(mktemp)
(cd "$BUILD" && ctest --output-on-failure -j2 --timeout 900) 2>&1 | tee "$log"
line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -1)
if [ -n "$line" ]; then
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  nfail=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
  # "The following tests did not run: ... (Skipped)": in ctest's total, not passed.
  nskip=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)' "$log")
  passed=$((passed + total - nfail - nskip))
  failed=$((failed + nfail))
  skipped=$((skipped + nskip))
else
  echo "ctest did not report a summary"
  failed=$((failed + 1))
fi
rm -f "$log"

# Sanitizers: build-asan (ASan+UBSan+LSan) and its unit, integration and golden tests
# plus the kg leak run (tests/sanitize/run.sh). SKIP_ASAN=1 skips the stage.
if [ -z "${SKIP_ASAN:-}" ] && [ -f tests/sanitize/run.sh ]; then
  echo "== asan (unit, integration, golden, kg leak under ASan+UBSan+LSan)"
  alog=$(mktemp)
  bash tests/sanitize/run.sh "${ASAN_BUILD:-build-asan}" 2>&1 | tee "$alog"
  al=$(grep -E "^asan: [0-9]+ passed, [0-9]+ failed" "$alog" | tail -1)
  if [ -n "$al" ]; then
    passed=$((passed + $(cut -d' ' -f2 <<<"$al")))
    failed=$((failed + $(cut -d' ' -f4 <<<"$al")))
  else
    echo "asan stage did not report a summary"
    failed=$((failed + 1))
  fi
  rm -f "$alog"
fi

if [ -x tests/fuzz/run.sh ]; then
  echo "== fuzz (${FUZZ_SECONDS:-20} s per target)"
  flog=$(mktemp)
  bash tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" 2>&1 | tee "$flog"
  fl=$(grep -E "^[0-9]+ passed, [0-9]+ failed" "$flog" | tail -1)
  if [ -n "$fl" ]; then
    passed=$((passed + $(cut -d' ' -f1 <<<"$fl")))
    failed=$((failed + $(cut -d' ' -f3 <<<"$fl")))
  else
    echo "fuzz run did not report a summary"
    failed=$((failed + 1))
  fi
  rm -f "$flog"
fi

echo "TOTAL: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
