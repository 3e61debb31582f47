# shellcheck shell=bash
# Sourced by scripts/fetch-*-source.sh: their arguments and exits (fetch_source_init), and
# debian_source_download, which downloads a Debian source package from the
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

# fetch_source_init NAME OPTION OFF [ARG]: what scripts/fetch-*-source.sh NAME share: its one
# argument (--cmake-flag, or none) and the two ways out, warn and ok. OPTION is the CMake
# option the source enables, OFF what building without it means.
fetch_source_init() {
  FETCH_NAME=$1 FETCH_OPTION=$2 FETCH_OFF=$3 FETCH_FLAG=
  case ${4:-} in
    --cmake-flag) FETCH_FLAG=1 ;;
    "") ;;
    *) echo "$FETCH_NAME: unknown argument $4 (only --cmake-flag)" >&2; exit 2 ;;
  esac
}
# warn REASON: the source cannot be had. With --cmake-flag: OPTION=OFF on stdout, the
# reason on stderr, exit 0 (what `make` configures with); else exit 1.
warn() {
  if [ -n "$FETCH_FLAG" ]; then
    echo "$FETCH_NAME: $*; configuring with -D$FETCH_OPTION=OFF: $FETCH_OFF" >&2
    echo "-D$FETCH_OPTION=OFF"
    exit 0
  fi
  echo "$FETCH_NAME: $*; without it, configure with -D$FETCH_OPTION=OFF ($FETCH_OFF)" >&2
  exit 1
}
# ok MESSAGE [quiet]: the source is in place (with --cmake-flag: OPTION=ON on stdout, the
# message on stderr unless quiet, i.e. unless it was there already).
ok() {
  if [ -z "$FETCH_FLAG" ]; then
    echo "$FETCH_NAME: $1"
    exit 0
  fi
  [ "${2:-}" = quiet ] || echo "$FETCH_NAME: $1" >&2
  echo "-D$FETCH_OPTION=ON"
  exit 0
}
