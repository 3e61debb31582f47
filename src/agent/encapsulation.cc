#include "agent/encapsulation.h"

namespace kilo::agent {

Result<Tunnel> SetUpTunnel(netlink::NetlinkClient& nl, Compatibility compat,
                           const std::string& ipip_name) {
  if (compat == Compatibility::kFlannel) return Tunnel{ipip_name, false};
  if (compat == Compatibility::kCilium) {
    auto link = nl.FindLink(kCiliumTunlIface);
    if (!link.ok()) return link.status();
    if (link->has_value()) {
      // Cilium may leave it down.
      if (!(*link)->up) {
        if (Status s = nl.SetLinkUp(kCiliumTunlIface, true); !s.ok())
          return s.Wrap(std::string("set ") + kCiliumTunlIface + " up");
      }
      return Tunnel{kCiliumTunlIface, false};
    }
  }
  if (Status s = nl.CreateLink(netlink::LinkSpec{ipip_name, "ipip", 0}); !s.ok()) return s;
  auto link = nl.FindLink(ipip_name);
  if (!link.ok() || !link->has_value() || !(*link)->up) {
    if (Status s = nl.SetLinkUp(ipip_name, true); !s.ok()) {
      // kg has always gone on with a tunnel it could not set up (the routes
      // through it then fail, loudly, every reconcile); keep that outside
      // Cilium mode.
      if (compat == Compatibility::kCilium) return s.Wrap("set " + ipip_name + " up");
    }
  }
  return Tunnel{ipip_name, compat == Compatibility::kCilium};
}

std::string CNICompatibilityIP(netlink::NetlinkClient& nl, Compatibility compat) {
  if (compat != Compatibility::kCilium) return "";
  auto link = nl.FindLink(kCiliumHostIface);
  if (!link.ok() || !link->has_value()) return "";
  auto addrs = nl.ListAddresses((*link)->index);
  if (!addrs.ok()) return "";
  // The outer header of IPIP is IPv4: only an IPv4 address will do.
  for (const auto& a : *addrs) {
    if (a.link_index == (*link)->index && a.prefix.addr().is4()) return a.prefix.String();
  }
  return "";
}

}  // namespace kilo::agent
