#!/usr/bin/env bash
# scripts/configure.sh BUILD_DIR [CMAKE_ARG...]: `cmake -S <repo> -B BUILD_DIR CMAKE_ARG...`
# without CMake's routine lines (compiler checks, "Found X", "Configuring done"): what is
# left is the project's own status messages ("kgctl: linked statically ...", "bench:
# Google Benchmark not found ..."), every warning and every error. The whole output is
# kept in BUILD_DIR/configure.log. Exit status: cmake's.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: scripts/configure.sh BUILD_DIR [CMAKE_ARG...]" >&2; exit 2; }
b=$1
shift
mkdir -p "$b"
noise='^-- (The (C|CXX) compiler identification is|Detecting (C|CXX) compile|Check for working (C|CXX) compiler|Checking for modules? |  Found |Found |Looking for |Performing Test |Configuring done|Generating done|Build files have been written to)'
echo "== configure $b"
cmake -S "$root" -B "$b" "$@" 2>&1 | tee "$b/configure.log" | grep --line-buffered -vE "$noise"
exit "${PIPESTATUS[0]}"
