#pragma once
// Reads Nodes and Peers from a live cluster (kgctl without --from-file).

#include <string>

#include "core/objects.h"
#include "core/status.h"

namespace kilo::cli {

// Lists Nodes then Peers (paginated), in API order, like
// `kubectl get nodes,peers -o json`. Errors say what to check.
Result<ClusterObjects> LoadLiveObjects(const std::string& kubeconfig);

}  // namespace kilo::cli
