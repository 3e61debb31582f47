#pragma once
// `kgctl check`: lints a cluster (live or dump) for what breaks a Kilo mesh.

#include <string>
#include <vector>

#include "cli/cluster.h"

namespace kilo::cli {

struct Finding {
  bool error = false;  // false: warning
  std::string message;
};

// Returns every finding: invalid annotation/Peer values (errors), nodes not
// ready and why (warnings), locations without a public endpoint (warnings),
// overlapping pod / peer / allowed-location CIDRs (errors), WireGuard subnet
// exhaustion (error), in cross granularity ready nodes whose granularity
// annotation says another one (errors).
std::vector<Finding> CheckCluster(const Cluster& c, const IPPrefix& subnet);

// Why a node is not ready ("" when it is).
std::string NotReadyReason(const Node& n, int64_t now);

}  // namespace kilo::cli
