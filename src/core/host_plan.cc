#include "core/host_plan.h"

#include <algorithm>
#include <set>

#include "core/cni.h"

namespace kilo {

namespace {

// A WireGuard device holds an allowed IP (as a network) on one peer: a later
// peer that claims it takes it (Kilo deduplicates them as text only, so
// 10.5.0.7/24 and 10.5.0.0/24 both stay, and the device's peers would flap
// between two reconciles). Plans `conf` as the device keeps it.
void KeepOneHolderPerAllowedIP(WgConf* conf, std::vector<std::string>* notes) {
  std::vector<std::string> found;
  std::set<IPPrefix> later;
  for (auto it = conf->peers.rbegin(); it != conf->peers.rend(); ++it) {
    std::vector<IPPrefix> kept;
    for (const auto& a : it->allowed_ips) {
      if (later.insert(a.Network()).second) {
        kept.push_back(a);
      } else {
        found.push_back("allowed IP " + a.String() + " of peer " + it->public_key.String() +
                        " is held by a later peer (WireGuard keeps one)");
      }
    }
    it->allowed_ips = std::move(kept);
  }
  notes->insert(notes->end(), found.rbegin(), found.rend());
}

// The routes of `routes` the host installs, the others explained in `notes`.
void SelectInstalledRoutes(const std::vector<PlannedRoute>& routes,
                           const std::optional<IPPrefix>& own, bool private_interface,
                           const std::vector<IPAddr>& live_endpoints,
                           std::vector<PlannedRoute>* installed, std::vector<std::string>* notes) {
  auto live_endpoint_in = [&](const PlannedRoute& r) -> const IPAddr* {
    if (r.dev != RouteDev::kKilo) return nullptr;
    for (const auto& e : live_endpoints)
      if (r.dst.Contains(e)) return &e;
    return nullptr;
  };
  const DevNames names;
  std::set<std::string> keys;
  for (const auto& r : routes) {
    // The kernel holds a route once (its destination as a network). A set of
    // rendered keys: a leader of a 5,000-node full mesh plans ~15,000 routes.
    PlannedRoute key = r;
    key.dst = r.dst.Network();
    if (!keys.insert(RenderRoute(key, names)).second) {
      notes->push_back("not installed twice: " + RenderRoute(r, names));
    } else if (r.dev == RouteDev::kPriv && !private_interface) {
      notes->push_back("not installed: " + RenderRoute(r, names) +
                       " (the host has no interface with a private IP)");
    } else if (own && r.table == 0 && r.dst.Network() == own->Network()) {
      notes->push_back("not installed: " + RenderRoute(r, names) +
                       " (it would replace the route to the host's own pod CIDR)");
    } else if (const IPAddr* e = live_endpoint_in(r)) {
      notes->push_back("not installed: " + RenderRoute(r, names) + " (WireGuard sends to " +
                       e->String() + ", a peer's endpoint: the tunnel would carry itself)");
    } else {
      installed->push_back(r);
    }
  }
}

// Why this host carries no IPv6 towards some segments (SPEC 11.3).
std::vector<std::string> DualStackNotes(const Topology& t) {
  std::vector<std::string> out;
  const auto& segs = t.mesh().segments();
  const Segment& local = t.local_segment();
  for (size_t si : t.DualStackUnreachable()) {
    const Segment& s = segs[si];
    std::string who = !local.dual_stack ? "this segment's leader " + local.leader_name()
                                        : "its leader " + s.leader_name();
    out.push_back("no IPv6 towards " + s.location + ": " + who + " does not advertise " +
                  kAnnDualStack + " (a Go agent, or kg without IPv6)");
  }
  if (!t.leader() && local.dual_stack && !local.nodes[local.leader]->internal_ip6) {
    for (size_t si = 0; si < segs.size(); ++si) {
      if (static_cast<int>(si) == t.local_segment_index() || !t.DualStackTowards(si)) continue;
      bool has_pods = false;
      for (const Node* n : segs[si].nodes) has_pods |= !n->extra_subnets.empty();
      if (has_pods) {
        out.push_back("no IPv6 route towards " + segs[si].location + ": the leader " +
                      local.leader_name() + " has no " + kAnnInternalIP6 +
                      " (the IPv4 underlay cannot carry IPv6)");
      }
    }
  }
  return out;
}

}  // namespace

HostPlan PlanHost(const Topology& t, const HostPlanOptions& opts) {
  HostPlan p;
  p.leader = t.leader();
  if (p.leader) p.interface_address = t.wireguard_cidr();
  p.interface_address6 = t.wireguard_cidr6();
  p.dual_stack_notes = DualStackNotes(t);

  p.wireguard.has_interface = true;
  p.wireguard.listen_port = t.port();
  if (p.leader) {
    p.wireguard.peers = t.Conf().peers;
    KeepOneHolderPerAllowedIP(&p.wireguard, &p.wireguard_notes);
  }

  p.routing = PlanRoutes(t, opts.routes);
  SelectInstalledRoutes(p.routing.routes, t.subnet(), opts.private_interface, opts.live_endpoints,
                        &p.installed_routes, &p.route_notes);

  FirewallPlanOptions fo;
  fo.cni = opts.cni;
  fo.iptables_forward_rules = opts.iptables_forward_rules;
  fo.service_cidrs = opts.service_cidrs;
  fo.ipip_rules =
      IPIPRulesWanted(opts.routes.compatibility, opts.routes.encapsulate, opts.routes.local);
  p.firewall = PlanFirewall(t, fo);

  if (opts.cni && t.subnet())
    p.cni_conflist = RenderCNIConflist(*t.subnet(), t.extra_subnets(), opts.mtu);
  return p;
}

HostPlan PlanHost(const Topology& t, const std::string& peer, const PeerHostPlanOptions& opts) {
  HostPlan p;
  p.leader = true;
  p.interface_address = opts.interface_address;
  p.wireguard = t.PeerConf(peer);
  p.wireguard.has_interface = true;
  p.wireguard.listen_port = t.port();
  KeepOneHolderPerAllowedIP(&p.wireguard, &p.wireguard_notes);
  p.routing.routes = PeerRoutes(t.mesh(), peer, opts.routes);
  SelectInstalledRoutes(p.routing.routes, std::nullopt, /*private_interface=*/true,
                        /*live_endpoints=*/{}, &p.installed_routes, &p.route_notes);
  return p;
}

}  // namespace kilo
