#include "netlink/discovery.h"

#include <algorithm>
#include <set>

namespace kilo::netlink {

namespace {

struct Candidate {
  int rank;
  const HostAddress* a;
};

}  // namespace

Result<DiscoveredIPs> SelectIPs(const std::vector<HostAddress>& addrs,
                                const DiscoveryOptions& opts) {
  std::set<std::string> hostname_ifaces;
  for (const auto& a : addrs)
    for (const auto& ip : opts.hostname_ips)
      if (a.prefix.addr() == ip) hostname_ifaces.insert(a.iface);

  std::vector<Candidate> cands;
  std::set<IPAddr> seen;
  for (const auto& a : addrs) {
    const IPAddr& ip = a.prefix.addr();
    if (!ip.valid() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()) continue;
    if (std::find(opts.ignore_interfaces.begin(), opts.ignore_interfaces.end(), a.iface) !=
        opts.ignore_interfaces.end())
      continue;
    int rank = 3;
    if (std::find(opts.hostname_ips.begin(), opts.hostname_ips.end(), ip) !=
        opts.hostname_ips.end())
      rank = 0;
    else if (hostname_ifaces.count(a.iface))
      rank = 1;
    else if (a.default_route_iface)
      rank = 2;
    cands.push_back({rank, &a});
  }
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate& x, const Candidate& y) {
    if (x.rank != y.rank) return x.rank < y.rank;
    const IPAddr &a = x.a->prefix.addr(), &b = y.a->prefix.addr();
    if (a.is4() != b.is4()) return a.is4();
    return x.a->prefix.String() < y.a->prefix.String();
  });
  // The same address on two interfaces (anycast, a VIP) counts once, at its
  // best rank.
  std::vector<Candidate> uniq;
  for (const auto& c : cands)
    if (seen.insert(c.a->prefix.addr()).second) uniq.push_back(c);

  DiscoveredIPs out;
  const HostAddress* internal = nullptr;
  const HostAddress* external = nullptr;
  for (const auto& c : uniq) {
    const IPAddr& ip = c.a->prefix.addr();
    bool internal_ok =
        ip.IsPrivate() && (opts.internal_cidrs.empty() ||
                           std::any_of(opts.internal_cidrs.begin(), opts.internal_cidrs.end(),
                                       [&](const IPPrefix& c) { return c.Contains(ip); }));
    if (!internal && internal_ok) internal = c.a;
    if (!external && !ip.IsPrivate()) external = c.a;
  }
  if (!internal && !external) return Status::Error("no valid IP was found");
  if (opts.prioritise_private_addresses && internal) external = internal;
  if (!external) external = internal;
  if (internal) {
    out.internal = internal->prefix;
    out.internal_iface = internal->iface;
  }
  out.external = external->prefix;
  out.external_iface = external->iface;
  return out;
}

Result<std::string> DefaultRouteInterface(NetlinkClient& nl) {
  auto routes = nl.ListRoutes(kMainTable);
  if (!routes.ok()) return routes.status().Wrap("find default route");
  const Route* best = nullptr;
  for (const auto& r : *routes) {
    if (r.dst.bits() != 0 || r.type != 1 /* RTN_UNICAST */ || r.dev.empty()) continue;
    if (!best || (r.family() == 4 && best->family() == 6) ||
        (r.family() == best->family() && r.metric < best->metric))
      best = &r;
  }
  return best ? best->dev : std::string();
}

Result<std::vector<HostAddress>> CollectHostAddresses(NetlinkClient& nl) {
  auto def = DefaultRouteInterface(nl);
  if (!def.ok()) return def.status();
  auto addrs = nl.ListAddresses(0);
  if (!addrs.ok()) return addrs.status().Wrap("discover addresses");
  std::vector<HostAddress> out;
  for (const auto& a : *addrs)
    out.push_back({a.link_name, a.prefix, !def->empty() && a.link_name == *def});
  return out;
}

Result<int> AutoMTU(const std::vector<Link>& links, const std::string& default_iface,
                    const std::string& private_iface) {
  for (const std::string& want : {default_iface, private_iface}) {
    if (want.empty()) continue;
    for (const auto& l : links)
      if (l.name == want && l.mtu > kWireGuardOverhead) return l.mtu - kWireGuardOverhead;
  }
  return Status::Error(
      "detect MTU: neither the default-route interface nor the interface of "
      "the private IP is known; pass --mtu explicitly");
}

}  // namespace kilo::netlink
