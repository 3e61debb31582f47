#pragma once
// `kgctl connect [PEER_NAME]`: make this Linux host a Peer of the cluster, as
// Kilo's cmd/kgctl/connect_linux.go does. Register the Peer if missing, create
// and configure the WireGuard interface (kernel, or a wireguard-go child when
// the kernel has no WireGuard), install the Peer's routes, follow the cluster
// (Node and Peer informers plus a resync timer), and on SIGINT/SIGTERM remove
// everything it made unless --clean-up=false.
//
// The pure parts (flag validation, the Peer object, the plan of the host for
// a set of cluster objects) are in connect_plan.h; connect_apply.h installs a
// plan through the WireGuard and rtnetlink adapters.

#include <string>

#include "cli/cluster.h"
#include "cli/connect_plan.h"

namespace kilo::cli {

// Runs `kgctl connect` until SIGINT/SIGTERM. Returns the exit code; errors are
// printed on stderr. Never prints the private key.
int RunConnect(const GlobalOptions& g, const ConnectOptions& o);

}  // namespace kilo::cli
