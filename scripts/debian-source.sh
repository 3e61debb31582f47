# shellcheck shell=bash
# Sourced by scripts/fetch-*-source.sh: downloads a Debian source package from the
# deb-src twins of the system's enabled Debian sources (deb822 and one-line), kept in
# a private apt state under a scratch directory, so the system's apt lists are left
# alone. apt checks what it fetches against the archive's signed Sources index.
#
# debian_source_download WORK PACKAGE VERSION: the source package PACKAGE=VERSION's
# files in WORK/get. Returns 1, with the tail of apt's log on stderr, when it cannot.
debian_source_download() {
  local work=$1 pkg=$2 ver=$3 f
  mkdir -p "$work/lists/partial" "$work/parts" "$work/get"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -E 's/^Types:.*/Types: deb-src/' "$f" > "$work/parts/$(basename "$f")"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -nE 's/^deb[[:space:]]+/deb-src /p' "$f" > "$work/parts/$(basename "$f").list"
  done
  local apt_opts=(-o "Dir::Etc::SourceParts=$work/parts" -o "Dir::Etc::SourceList=/dev/null"
                  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
  apt-get "${apt_opts[@]}" -qq update >"$work/update.log" 2>&1 || {
    tail -3 "$work/update.log" >&2; echo "apt-get update of the deb-src indexes failed" >&2; return 1; }
  (cd "$work/get" && apt-get "${apt_opts[@]}" -qq source --download-only "$pkg=$ver") \
    >"$work/source.log" 2>&1 || { tail -3 "$work/source.log" >&2; echo "apt-get source $pkg=$ver failed" >&2; return 1; }
}
