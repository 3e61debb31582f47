#include "wg/from_plan.h"

namespace kilo::wg {

std::optional<WgEndpoint> ResolveEndpoint(const std::optional<Endpoint>& e,
                                          const DnsLookup& lookup) {
  if (!e) return std::nullopt;
  if (e->has_dns()) {
    if (!lookup) return std::nullopt;
    auto ip = lookup(e->dns());
    if (!ip) return std::nullopt;
    return WgEndpoint{*ip, e->port()};
  }
  if (!e->has_ip()) return std::nullopt;
  return WgEndpoint{e->ip(), e->port()};
}

WgPeerConfig PeerConfigFromPlan(const WgPeer& p, const DnsLookup& lookup) {
  WgPeerConfig pc;
  pc.public_key = p.public_key;
  pc.preshared_key = p.preshared_key;
  pc.endpoint = ResolveEndpoint(p.endpoint, lookup);
  pc.persistent_keepalive = p.persistent_keepalive;
  pc.allowed_ips = p.allowed_ips;
  return pc;
}

}  // namespace kilo::wg
