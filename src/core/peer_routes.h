#pragma once
// The routes a Peer (a host outside the cluster, e.g. `kgctl connect`) needs
// to reach the mesh through its WireGuard interface: Kilo's
// Topology.PeerRoutes. Pure.

#include <string>
#include <vector>

#include "core/ip.h"
#include "core/routes.h"
#include "core/topology.h"

namespace kilo {

struct PeerRouteOptions {
  // Extra CIDRs routed through the mesh (kgctl connect --allowed-ips, e.g.
  // the service CIDR), via the first segment's WireGuard IP, as Kilo does.
  std::vector<IPPrefix> additional_allowed_ips;
};

// Returns the routes of the Peer `name`, all on the WireGuard interface
// (RouteDev::kKilo, main table), in Kilo's order: for every segment its pod
// subnets, private IPs (/32|/128) and allowed-location-IPs via the segment's
// WireGuard IP (onlink), then the segment's WireGuard IP itself (no gateway),
// then, for a segment whose leader advertises dual-stack, its IPv6 pod CIDRs
// and IPv6 WireGuard IP (no gateway; not Kilo's: Kilo has no IPv6); then every
// other Peer's allowed IPs (no gateway); then the additional
// allowed IPs via the first segment's WireGuard IP (onlink).
//
// Two deliberate safety differences from Kilo: a destination already planned
// is not planned twice (the kernel keeps one route per destination, and
// --allowed-ips also appear as allowed-location-IPs), and a private IP that
// is some segment's endpoint is skipped (routing the endpoint into the tunnel
// would cut the tunnel itself). Destinations are in network form.
std::vector<PlannedRoute> PeerRoutes(const Mesh& mesh, const std::string& name,
                                     const PeerRouteOptions& opts = {});

}  // namespace kilo
