#!/usr/bin/env bash
# Fetches the Debian source package of the installed prometheus-cpp-dev and keeps the
# sources of its core library in .deps/prometheus-cpp/ (src/*.cc, src/detail/*), so kg
# can link prometheus-cpp core statically and with it the C++ runtime (CMake option
# KILO_STATIC_KG): Debian ships prometheus-cpp only as a shared library, and loading it
# keeps the shared libstdc++ in kg, 1.6 MiB of resident pages (issue 18).
#
# The source comes from the same Debian archive as the packages (apt-get source,
# checked by apt against the archive's signed Sources index), at exactly the version of
# the installed package; every public header it carries must be byte-identical to the
# installed one in /usr/include/prometheus (the build compiles the sources against
# those), or nothing is kept. Debian's patches do not touch core/. Idempotent.
#
#   scripts/fetch-prometheus-source.sh               exit 1 when the source cannot be had
#   scripts/fetch-prometheus-source.sh --cmake-flag  prints the CMake option that fits on
#       stdout: -DKILO_STATIC_KG=ON, or =OFF with the reason on stderr (what `make`
#       configures with; CMake's default is ON and a missing source is a configure error)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
DEST=.deps/prometheus-cpp
INC=/usr/include/prometheus
# shellcheck source=debian-source.sh
. scripts/debian-source.sh
fetch_source_init fetch-prometheus-source KILO_STATIC_KG "kg loads the shared prometheus-cpp and libstdc++" "$@"
# headers_match DIR: every header of DIR/include/prometheus is the installed one.
headers_match() {
  local f n=0
  while IFS= read -r f; do
    cmp -s "$1/include/prometheus/$f" "$INC/$f" || return 1
    n=$((n + 1))
  done < <(cd "$1/include/prometheus" && find . -name '*.h')
  [ "$n" -gt 0 ]
}

[ -f "$INC/registry.h" ] || warn "$INC/registry.h is missing (install prometheus-cpp-dev first)"
ver=$(dpkg-query -W -f='${source:Version}' prometheus-cpp-dev 2>/dev/null) || warn "prometheus-cpp-dev is not installed"
[ -n "$ver" ] || warn "no version for prometheus-cpp-dev"
if [ -f "$DEST/src/registry.cc" ] && [ "$(cat "$DEST/VERSION" 2>/dev/null)" = "$ver" ] && headers_match "$DEST"; then
  ok "$DEST is present and matches $INC" quiet
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
debian_source_download "$work" prometheus-cpp "$ver" || warn "the source package prometheus-cpp=$ver could not be downloaded"
orig=$(ls "$work"/get/prometheus-cpp_*.orig.tar.* 2>/dev/null | head -1)
[ -n "$orig" ] || warn "the source package of prometheus-cpp $ver has no upstream tarball"
tar -xf "$orig" -C "$work/get" --wildcards '*/core/src/*' '*/core/include/*' \
  || warn "$orig has no core/src"
src=$(dirname "$(ls -d "$work"/get/*/core/src | head -1)")
[ -f "$src/src/registry.cc" ] || warn "$orig has no core/src/registry.cc"
headers_match "$src" || warn "the headers of prometheus-cpp $ver's source differ from $INC"
rm -rf "$DEST"
mkdir -p "$DEST"
cp -r "$src/src" "$src/include" "$DEST/"
echo "$ver" > "$DEST/VERSION"
ok "prometheus-cpp $ver core source in $DEST"
