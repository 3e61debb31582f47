#include "core/routes.h"

namespace kilo {

const char* EncapsulationName(Encapsulation e) {
  switch (e) {
    case Encapsulation::kNever:
      return "never";
    case Encapsulation::kCrossSubnet:
      return "crosssubnet";
    case Encapsulation::kAlways:
      return "always";
  }
  return "always";
}

std::optional<Encapsulation> ParseEncapsulation(std::string_view s) {
  if (s == "never") return Encapsulation::kNever;
  if (s == "crosssubnet") return Encapsulation::kCrossSubnet;
  if (s == "always") return Encapsulation::kAlways;
  return std::nullopt;
}

const char* CompatibilityName(Compatibility c) {
  switch (c) {
    case Compatibility::kNone:
      return "none";
    case Compatibility::kFlannel:
      return "flannel";
    case Compatibility::kCilium:
      return "cilium";
  }
  return "none";
}

std::optional<Compatibility> ParseCompatibility(std::string_view s) {
  if (s == "none" || s.empty()) return Compatibility::kNone;
  if (s == "flannel") return Compatibility::kFlannel;
  if (s == "cilium") return Compatibility::kCilium;
  return std::nullopt;
}

namespace {

class Planner {
 public:
  Planner(const Topology& t, const RouteOptions& o) : t_(t), o_(o) {}

  RoutePlan Run() {
    if (o_.encapsulate != Encapsulation::kNever && o_.local && t_.subnet()) {
      plan_.tunnel_address = IPPrefix::Host(t_.subnet()->addr().Next());
    }
    if (t_.leader()) {
      Leader();
    } else {
      NonLeader();
    }
    return std::move(plan_);
  }

 private:
  // The gateway towards node `i` of the own location's segment `s` (Kilo's
  // Encapsulator.Gw): its private IP for IPIP; the network address of its pod
  // subnet for Flannel; for Cilium its cni-compatibility-ip (the address of
  // its cilium_host, so that the IPIP packets ride Cilium's overlay) when it
  // published one, else the network address of its pod subnet.
  // REQUIRES: i < s.private_ips.size().
  IPAddr Gw(const Segment& s, size_t i) const {
    switch (o_.compatibility) {
      case Compatibility::kNone:
        return s.private_ips[i];
      case Compatibility::kCilium:
        if (i < s.nodes.size() && s.nodes[i]->cni_compatibility_ip)
          return s.nodes[i]->cni_compatibility_ip->addr();
        break;
      case Compatibility::kFlannel:
        break;
    }
    return s.cidrs[i].addr();
  }
  // Whether traffic to `gw` is encapsulated.
  bool Encap(const IPAddr& gw) const {
    if (o_.encapsulate == Encapsulation::kAlways) return true;
    return o_.encapsulate == Encapsulation::kCrossSubnet && t_.private_ip() &&
           !t_.private_ip()->Contains(gw);
  }
  // A route on the private interface, moved into the tunnel when encapsulated.
  void PrivRoute(const IPPrefix& dst, const IPAddr& gw) {
    PlannedRoute r{dst, gw, std::nullopt, RouteDev::kPriv, 0, true};
    if (Encap(gw)) {
      r.dev = RouteDev::kTunl;
      if (t_.private_ip()) r.src = t_.private_ip()->addr();
    }
    plan_.routes.push_back(r);
  }
  void KiloRoute(const IPPrefix& dst, const std::optional<IPAddr>& gw) {
    PlannedRoute r{dst, gw, std::nullopt, RouteDev::kKilo, 0, gw.has_value()};
    if (t_.private_ip()) r.src = t_.private_ip()->addr();
    plan_.routes.push_back(r);
  }

  // Routes to the other nodes of the own location (and the tunnel routes in
  // table 1107 with their rules).
  void LocalSegment(const Segment& s, bool leader) {
    if (!t_.private_ip()) return;
    if (!leader && !o_.local) return;
    for (size_t i = 0; i < s.cidrs.size() && i < s.private_ips.size(); ++i) {
      const IPAddr& priv = s.private_ips[i];
      if (priv == t_.private_ip()->addr()) continue;
      IPAddr gw = Gw(s, i);
      if (o_.local) PrivRoute(s.cidrs[i], gw);
      bool encap =
          o_.encapsulate == Encapsulation::kAlways ||
          (o_.encapsulate == Encapsulation::kCrossSubnet && !t_.private_ip()->Contains(priv));
      if (!o_.local && o_.compatibility == Compatibility::kCilium) {
        // A leader without --local still returns the WireGuard traffic of the
        // nodes that reach it over Cilium's overlay through the tunnel: Kilo
        // does so whenever it encapsulates at all and the gateway is not the
        // private IP itself (no subnet test here).
        encap = o_.encapsulate != Encapsulation::kNever && gw != priv;
      }
      if (!encap) continue;
      PlannedRoute r{IPPrefix::Host(priv), gw, std::nullopt, RouteDev::kTunl, kKiloTable, true};
      if (o_.local) r.src = t_.private_ip()->addr();
      plan_.routes.push_back(r);
      if (o_.local && t_.subnet()) {
        plan_.rules.push_back(PlannedRule{*t_.subnet(), IPPrefix::Host(priv), false, kKiloTable});
      }
      if (leader) {
        plan_.rules.push_back(PlannedRule{std::nullopt, IPPrefix::Host(priv), true, kKiloTable});
      }
    }
  }

  // Cross granularity: a node of the own location, reached over the LAN as a
  // non-leader of location granularity reaches the other nodes of its
  // location (nothing arrives for it through the WireGuard interface, so no
  // rule for that interface); its WireGuard IP too, through the same gateway.
  // REQUIRES: both this host and `s` have a private IP.
  void LanNeighbour(const Segment& s) {
    LocalSegment(s, /*leader=*/false);
    if (o_.local && t_.private_ip()) PrivRoute(IPPrefix::Host(s.wireguard_ip), Gw(s, 0));
    LocalDualStack(s, /*leader=*/false);
  }

  void Leader() {
    const auto& segs = t_.mesh().segments();
    for (size_t si = 0; si < segs.size(); ++si) {
      const Segment& s = segs[si];
      if (static_cast<int>(si) == t_.local_segment_index()) {
        LocalSegment(s, true);
        LocalDualStack(s, true);
        continue;
      }
      if (!t_.mesh().Tunneled(si, static_cast<size_t>(t_.local_segment_index()))) {
        LanNeighbour(s);
        continue;
      }
      auto ep = t_.UpdateEndpoint(s.endpoint, s.key, s.persistent_keepalive);
      for (size_t i = 0; i < s.cidrs.size(); ++i) {
        KiloRoute(s.cidrs[i], s.wireguard_ip);
        // No route to a private IP that is also the endpoint: traffic to the
        // endpoint cannot go through the tunnel it carries.
        if (s.private_ips.empty() || i >= s.private_ips.size()) continue;
        if (ep && ep->has_ip() && !ep->has_dns() && ep->ip() == s.private_ips[i]) continue;
        KiloRoute(IPPrefix::Host(s.private_ips[i]), s.wireguard_ip);
      }
      for (const auto& alip : s.allowed_location_ips) KiloRoute(alip, s.wireguard_ip);
      if (t_.DualStackTowards(si)) DualStackRoutes(s);
    }
    for (const Peer& p : t_.mesh().peers()) {
      for (const auto& aip : p.allowed_ips) KiloRoute(aip, std::nullopt);
    }
  }

  // Dual-stack (SPEC 11.3): the other pod CIDRs of segment `s`'s nodes on
  // the WireGuard interface, via its IPv6 WireGuard IP when both ends have
  // one (a WireGuard interface needs no gateway: its peers' AllowedIPs route).
  // No source: the private IP is of the other family.
  void DualStackRoutes(const Segment& s) {
    std::optional<IPAddr> gw;
    if (s.wireguard_ip6 && t_.wireguard_cidr6()) gw = s.wireguard_ip6;
    for (const Node* n : s.nodes) {
      for (const auto& c : n->extra_subnets) {
        plan_.routes.push_back(
            PlannedRoute{c, gw, std::nullopt, RouteDev::kKilo, 0, gw.has_value()});
      }
    }
  }

  // Dual-stack on a non-leader: IPv6 towards the segments its leader carries
  // IPv6 to (pod CIDRs, IPv6 WireGuard IPs, its own segment's included) via
  // the leader's internal-ip6 on the private interface. Nothing without one
  // (PlanHost notes it).
  void NonLeaderDualStack() {
    const Segment& local = t_.local_segment();
    const Node* leader = local.nodes[local.leader];
    if (!local.dual_stack || !leader->internal_ip6) return;
    const auto& segs = t_.mesh().segments();
    for (size_t si = 0; si < segs.size(); ++si) {
      const Segment& s = segs[si];
      const bool own = static_cast<int>(si) == t_.local_segment_index();
      if (s.wireguard_ip6 && (own || t_.DualStackTowards(si)))
        PrivRoute6(IPPrefix::Host(*s.wireguard_ip6), *leader->internal_ip6);
      if (own || !t_.DualStackTowards(si)) continue;
      for (const Node* n : s.nodes) {
        for (const auto& c : n->extra_subnets) PrivRoute6(c, *leader->internal_ip6);
      }
    }
  }
  // Dual-stack inside the location: the other pod CIDRs of the own
  // location's nodes via their internal-ip6 (a leader: for the traffic it
  // forwards from WireGuard; with --local: for everyone), between nodes that
  // both advertise dual-stack.
  void LocalDualStack(const Segment& s, bool leader) {
    const Node* self = t_.mesh().FindNode(t_.hostname());
    if (!self || !self->dual_stack || (!leader && !o_.local)) return;
    for (const Node* n : s.nodes) {
      if (n == self || !n->dual_stack || !n->internal_ip6) continue;
      for (const auto& c : n->extra_subnets) PrivRoute6(c, *n->internal_ip6);
    }
  }
  // An IPv6 route on the private interface: never encapsulated (IPIP carries
  // IPv4 only), no source (the private IP is IPv4).
  void PrivRoute6(const IPPrefix& dst, const IPAddr& gw) {
    plan_.routes.push_back(PlannedRoute{dst, gw, std::nullopt, RouteDev::kPriv, 0, false});
  }

  void NonLeader() {
    const auto& segs = t_.mesh().segments();
    const Segment& local = t_.local_segment();
    IPAddr gw;
    if (static_cast<size_t>(local.leader) < local.private_ips.size()) {
      gw = Gw(local, static_cast<size_t>(local.leader));
    }
    for (size_t si = 0; si < segs.size(); ++si) {
      const Segment& s = segs[si];
      PrivRoute(IPPrefix::Host(s.wireguard_ip), gw);
      if (static_cast<int>(si) == t_.local_segment_index()) {
        LocalSegment(s, false);
        LocalDualStack(s, false);
        continue;
      }
      for (const auto& cidr : s.cidrs) PrivRoute(cidr, gw);
      for (const auto& priv : s.private_ips) PrivRoute(IPPrefix::Host(priv), gw);
      for (const auto& alip : s.allowed_location_ips) PrivRoute(alip, gw);
    }
    for (const Peer& p : t_.mesh().peers()) {
      for (const auto& aip : p.allowed_ips) PrivRoute(aip, gw);
    }
    NonLeaderDualStack();
  }

  const Topology& t_;
  const RouteOptions& o_;
  RoutePlan plan_;
};

}  // namespace

RoutePlan PlanRoutes(const Topology& t, const RouteOptions& opts) { return Planner(t, opts).Run(); }

std::string RenderRoute(const PlannedRoute& r, const DevNames& names) {
  std::string s = "route " + r.dst.String();
  if (r.gw) s += " via " + r.gw->String();
  if (r.src) s += " src " + r.src->String();
  s += " dev " + names.Of(r.dev);
  if (r.table) s += " table " + std::to_string(r.table);
  if (r.onlink) s += " onlink";
  return s;
}

std::string RenderRule(const PlannedRule& r, const DevNames& names) {
  std::string s = "rule";
  if (r.src) s += " from " + r.src->String();
  if (r.dst) s += " to " + r.dst->String();
  if (r.iif_kilo) s += " iif " + names.kilo;
  s += " lookup " + std::to_string(r.table);
  return s;
}

std::string RenderPlan(const RoutePlan& p, const DevNames& names) {
  std::string out;
  if (p.tunnel_address) out += "tunnel-address " + p.tunnel_address->String() + "\n";
  for (const auto& r : p.routes) out += RenderRoute(r, names) + "\n";
  for (const auto& r : p.rules) out += RenderRule(r, names) + "\n";
  return out;
}

}  // namespace kilo
