#include "core/peer_routes.h"

#include <set>

namespace kilo {

std::vector<PlannedRoute> PeerRoutes(const Mesh& mesh, const std::string& name,
                                     const PeerRouteOptions& opts) {
  std::vector<PlannedRoute> out;
  std::set<std::string> seen;  // destinations already planned (network form)
  auto add = [&](const IPPrefix& dst, const std::optional<IPAddr>& gw) {
    IPPrefix net = dst.Network();
    if (!seen.insert(net.String()).second) return;
    PlannedRoute r;
    r.dst = net;
    r.gw = gw;
    r.dev = RouteDev::kKilo;
    r.onlink = gw.has_value();
    out.push_back(std::move(r));
  };
  std::set<std::string> endpoints;
  for (const auto& s : mesh.segments())
    if (s.endpoint && s.endpoint->has_ip()) endpoints.insert(s.endpoint->ip().String());

  for (const auto& s : mesh.segments()) {
    for (const auto& c : s.cidrs) add(c, s.wireguard_ip);
    for (const auto& ip : s.private_ips) {
      if (endpoints.count(ip.String())) continue;
      add(IPPrefix::Host(ip), s.wireguard_ip);
    }
    for (const auto& a : s.allowed_location_ips) add(a, s.wireguard_ip);
    add(IPPrefix::Host(s.wireguard_ip), std::nullopt);
    // The IPv6 the Peer's configuration gives this segment (PeerConf): no
    // gateway, the Peer has no IPv6 WireGuard IP to reach one from.
    if (s.dual_stack)
      for (const auto& c : s.dual_stack_ips) add(c, std::nullopt);
  }
  for (const auto& p : mesh.peers()) {
    if (p.name == name) continue;  // no routes to ourselves
    for (const auto& a : p.allowed_ips) add(a, std::nullopt);
  }
  if (!mesh.segments().empty()) {
    for (const auto& a : opts.additional_allowed_ips) add(a, mesh.segments()[0].wireguard_ip);
  }
  return out;
}

}  // namespace kilo
