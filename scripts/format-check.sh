#!/usr/bin/env bash
# Checks that every C++ file of the repository is formatted as .clang-format says.
#   scripts/format-check.sh          list the files clang-format would change; exit 1 if any
#   scripts/format-check.sh --fix    reformat them in place
# Prints "format: N passed, M failed" so scripts/test.sh can count it like a stage.
set -uo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "format-check: $CLANG_FORMAT not found; run scripts/install-deps.sh (Debian package clang-format)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files '*.cc' '*.h' 2>/dev/null || find src tests bench -name '*.cc' -o -name '*.h')
if [ "${1:-}" = --fix ]; then
  "$CLANG_FORMAT" -i "${files[@]}"
  echo "format-check: reformatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$CLANG_FORMAT" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
for f in "${bad[@]}"; do
  echo "format-check: $f is not formatted as .clang-format says; the first differences:"
  "$CLANG_FORMAT" "$f" | diff -u "$f" - | sed -n '1,12p'
done
echo "format-check: ${#files[@]} files, $((${#files[@]} - ${#bad[@]})) formatted, ${#bad[@]} not"
[ ${#bad[@]} -eq 0 ] || { echo "format-check: run scripts/format-check.sh --fix" >&2; exit 1; }
