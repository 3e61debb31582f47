#!/usr/bin/env bash
# Checks that no module of src/ includes a header of a module above it
# (STYLE.md: "A lower layer never includes a higher one"). Each module may
# include only itself and the modules listed for it below; a module not listed
# is an error too, so a new one must be placed here. Prints every offending
# `#include` as FILE:LINE: MODULE may not include DEP (allowed: ...), and exits
# non-zero when there is one.
#
# Usage: scripts/check-layering.sh [SRC_DIR]   (default: src next to this script)
set -euo pipefail
src=${1:-$(dirname "$0")/../src}

declare -A allowed=(
  [core]=""                               # pure: nothing outside itself
  [netlink]="core"
  [wg]="core netlink"
  [firewall]="core"
  [k8s]="core"
  [graphviz]="core"
  [webhook]="core"
  [agent]="core netlink wg firewall k8s graphviz webhook"
  [cli]="core netlink wg k8s graphviz"    # never agent
)

bad=0
for dir in "$src"/*/; do
  mod=$(basename "$dir")
  if [[ ! -v "allowed[$mod]" ]]; then
    echo "src/$mod: a module scripts/check-layering.sh does not know: add it with the modules it may include"
    bad=1
    continue
  fi
  while IFS=: read -r file line text; do
    dep=$(sed -E 's|^#include "([A-Za-z0-9_]+)/.*|\1|' <<<"$text")
    [ "$dep" = "$mod" ] && continue
    # Only our own modules: a quoted include of something else (a third-party
    # header given with quotes) is not a layer.
    [ -d "$src/$dep" ] || continue
    if ! grep -qw -- "$dep" <<<"${allowed[$mod]}"; then
      echo "src/$mod/${file#"$dir"}:$line: $mod may not include $dep/ (allowed: ${allowed[$mod]:-only $mod/})"
      bad=1
    fi
  done < <(grep -Hn -E '^#include "[A-Za-z0-9_]+/' "$dir"*.h "$dir"*.cc 2>/dev/null || true)
done
if [ "$bad" = 0 ]; then
  echo "layering: every include of src/ goes to the same or a lower layer"
fi
exit "$bad"
