#!/usr/bin/env bash
# check.sh CLANGXX SRC_DIR: clang's thread-safety analysis is live for the
# annotations of core/thread_annotations.h: guarded.cc compiles (and its
# program runs) with -Wthread-safety -Werror=thread-safety, and with
# -DKILO_VIOLATE clang refuses each of its three violations.
set -uo pipefail
cxx=$1 src=$2
here=$(dirname "$0")
flags=(-std=c++20 -Wthread-safety -Werror=thread-safety -I "$src" "$here/guarded.cc")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! "$cxx" "${flags[@]}" -o "$out/guarded" 2>"$out/ok.log"; then
  echo "FAIL: the correct uses of guarded.cc do not compile:"
  cat "$out/ok.log"
  exit 1
fi
"$out/guarded" || { echo "FAIL: guarded.cc's program failed"; exit 1; }
if "$cxx" "${flags[@]}" -DKILO_VIOLATE -fsyntax-only 2>"$out/bad.log"; then
  echo "FAIL: clang accepted the violations of guarded.cc (-DKILO_VIOLATE): the annotations are not live"
  exit 1
fi
n=$(grep -c "error: .*\(requires holding mutex\|calling function .* requires holding\)" "$out/bad.log")
if [ "$n" -ne 3 ]; then
  echo "FAIL: wanted 3 thread-safety errors for the violations of guarded.cc, got $n:"
  cat "$out/bad.log"
  exit 1
fi
echo "ok: the correct uses compile and run; clang refuses all 3 violations:"
grep "error:" "$out/bad.log"
