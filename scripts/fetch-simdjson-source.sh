#!/usr/bin/env bash
# Fetches the Debian source package of the installed libsimdjson-dev and keeps
# its single-file implementation in .deps/simdjson/ (simdjson.cpp + simdjson.h),
# so kgctl can be linked statically (CMake option KILO_STATIC_KGCTL): Debian
# ships simdjson only as a shared library, and loading it pulls in the shared
# libstdc++, libm and libgcc_s, about 2.5 MiB of resident pages per kgctl run.
#
# The source comes from the same Debian archive as the packages (apt-get source,
# checked by apt against the archive's signed Sources index), at exactly the
# version of the installed package; the header it carries must be byte-identical
# to /usr/include/simdjson.h, or nothing is kept. Idempotent.
#
#   scripts/fetch-simdjson-source.sh               exit 1 when the source cannot be had
#   scripts/fetch-simdjson-source.sh --cmake-flag  prints the CMake option that fits on
#       stdout: -DKILO_STATIC_KGCTL=ON, or =OFF with the reason on stderr (what `make`
#       configures with; CMake's default is ON and a missing source is a configure error)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
DEST=.deps/simdjson
HDR=/usr/include/simdjson.h
# shellcheck source=debian-source.sh
. scripts/debian-source.sh
fetch_source_init fetch-simdjson-source KILO_STATIC_KGCTL "kgctl is linked dynamically" "$@"

[ -f "$HDR" ] || warn "$HDR is missing (install libsimdjson-dev first)"
if [ -f "$DEST/simdjson.cpp" ] && cmp -s "$DEST/simdjson.h" "$HDR"; then
  ok "$DEST is present and matches $HDR" quiet
fi
ver=$(dpkg-query -W -f='${source:Version}' libsimdjson-dev 2>/dev/null) || warn "libsimdjson-dev is not installed"
[ -n "$ver" ] || warn "no version for libsimdjson-dev"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
debian_source_download "$work" simdjson "$ver" || warn "the source package simdjson=$ver could not be downloaded"
orig=$(ls "$work"/get/simdjson_*.orig.tar.* 2>/dev/null | head -1)
[ -n "$orig" ] || warn "the source package of simdjson $ver has no upstream tarball"
tar -xf "$orig" -C "$work/get" --wildcards '*/singleheader/simdjson.cpp' '*/singleheader/simdjson.h' \
  || warn "$orig has no singleheader/simdjson.cpp"
src=$(dirname "$(ls "$work"/get/*/singleheader/simdjson.cpp | head -1)")
cmp -s "$src/simdjson.h" "$HDR" || warn "the header of simdjson $ver's source differs from $HDR"
mkdir -p "$DEST"
cp "$src/simdjson.cpp" "$src/simdjson.h" "$DEST/"
echo "$ver" > "$DEST/VERSION"
ok "simdjson $ver source in $DEST"
