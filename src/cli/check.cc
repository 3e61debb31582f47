#include "cli/check.h"

#include <map>

namespace kilo::cli {

std::string NotReadyReason(const Node& n, int64_t now) {
  std::vector<std::string> why;
  if (!n.endpoint || !n.endpoint->Ready())
    why.push_back("no endpoint (kilo.squat.ai/endpoint or force-endpoint)");
  if (n.key.IsZero()) why.push_back("no WireGuard key (kilo.squat.ai/key): has kg started on it?");
  if (!n.subnet) why.push_back("no pod CIDR (spec.podCIDR)");
  if (n.last_seen == 0) {
    why.push_back("no heartbeat (kilo.squat.ai/last-seen)");
  } else if (now - n.last_seen >= 2 * kCheckInPeriodSeconds) {
    why.push_back("heartbeat expired " + std::to_string(now - n.last_seen) +
                  " s ago: is kg running there?");
  }
  std::string out;
  for (size_t i = 0; i < why.size(); ++i) out += (i ? "; " : "") + why[i];
  return out;
}

std::vector<Finding> CheckCluster(const Cluster& c, const IPPrefix& subnet) {
  std::vector<Finding> out;
  for (const auto& w : c.warnings) out.push_back({true, "invalid value: " + w.String()});
  for (const auto& n : c.nodes) {
    std::string why = NotReadyReason(n, c.now);
    if (!why.empty()) out.push_back({false, "node \"" + n.name + "\" is not ready: " + why});
  }
  auto ready = c.ReadyNodes();
  auto peers = c.ReadyPeers();
  if (ready.empty()) {
    out.push_back({true, "no node is ready: the mesh is empty"});
    return out;
  }
  MeshOptions mo;
  mo.granularity = c.granularity;
  mo.subnet = subnet;
  std::vector<Warning> mesh_warnings;
  auto mesh = Mesh::Build(ready, peers, mo, &mesh_warnings);
  if (!mesh.ok()) {
    out.push_back(
        {true, "failed to create topology: " + mesh.error() + " (use a larger --subnet)"});
    return out;
  }
  for (const auto& w : mesh_warnings) out.push_back({false, w.String()});
  for (const auto& mm : CrossGranularityMismatches(ready, c.granularity)) {
    out.push_back(
        {true,
         "node \"" + mm.node + "\" has kilo.squat.ai/granularity=\"" + mm.granularity +
             "\", not cross: its agent builds peers that do not match the cross "
             "nodes' (Go agents up to 0.7 reject cross); run kg --mesh-granularity=cross on it"});
  }
  for (const auto& s : mesh->segments()) {
    bool pub = false;
    for (const Node* n : s.nodes)
      pub = pub || (n->endpoint && n->endpoint->has_ip() && n->endpoint->ip().IsKiloPublic());
    if (!pub && mesh->segments().size() > 1) {
      out.push_back({false, s.location + " has no node with a public endpoint: its leader \"" +
                                s.leader_name() + "\" (" +
                                (s.endpoint ? s.endpoint->String() : std::string("-")) +
                                ") must be reachable from the other locations, or set "
                                "kilo.squat.ai/force-endpoint"});
    }
  }
  // Overlapping CIDRs between pod subnets, peers and allowed-location-IPs.
  struct Owned {
    std::string what;
    IPPrefix p;
  };
  std::vector<Owned> all;
  for (const auto& n : ready) {
    if (n.subnet) all.push_back({"pod CIDR of node \"" + n.name + "\"", *n.subnet});
    for (const auto& a : n.allowed_location_ips)
      all.push_back({"allowed-location-ip of node \"" + n.name + "\"", a});
  }
  for (const auto& p : peers)
    for (const auto& a : p.allowed_ips) all.push_back({"allowed IP of peer \"" + p.name + "\"", a});
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      if (all[i].p.Network().Overlaps(all[j].p.Network())) {
        out.push_back({true, all[i].what + " " + all[i].p.String() + " overlaps " + all[j].what +
                                 " " + all[j].p.String()});
      }
    }
  }
  return out;
}

}  // namespace kilo::cli
