#!/usr/bin/env bash
# make demo: shows the product's main job on a built-in cluster dump.
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
if [ "$BUILD" = "--down" ]; then echo "demo: nothing running"; exit 0; fi
K="$BUILD/bin/kgctl --from-file demo/sample-cluster.json --now 1767225600"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "1/4 the mesh as a Graphviz graph (kgctl graph)"
$K graph
step "2/4 WireGuard config of the aws leader (kgctl showconf node aws-0)"
$K showconf node aws-0
step "3/4 the lab location as a peer of another cluster (showconf node lab-0 --as-peer -o yaml)"
$K showconf node lab-0 --as-peer -o yaml
step "4/4 everything kg would install on a non-leader (kgctl plan node gcp-1)"
$K plan node gcp-1 --encapsulate crosssubnet
echo
echo "demo: OK"
