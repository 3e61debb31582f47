#include "core/leader.h"

#include <algorithm>

namespace kilo {

bool EndpointIsKiloPublic(const std::optional<Endpoint>& e) {
  return e && e->has_ip() && !e->has_dns() && e->ip().IsKiloPublic();
}

int FindKiloLeader(const std::vector<LeaderCandidate>& nodes) {
  int first_annotated = -1, first_public = -1;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const LeaderCandidate& c = nodes[i];
    if (c.leader_annotation && c.public_endpoint) return static_cast<int>(i);
    if (c.leader_annotation && first_annotated < 0) first_annotated = static_cast<int>(i);
    if (c.public_endpoint && first_public < 0) first_public = static_cast<int>(i);
  }
  if (first_annotated >= 0) return first_annotated;
  if (first_public >= 0) return first_public;
  return nodes.empty() ? -1 : 0;
}

std::string SegmentKeyOf(const Node& n, Granularity g) {
  if (g == Granularity::kLocation && n.internal_ip) return "location:" + n.location;
  return "node:" + n.name;
}

std::map<std::string, std::string> ElectLeaders(const std::vector<Node>& nodes, int64_t now,
                                                Granularity g) {
  std::map<std::string, std::vector<const Node*>> segments;
  for (const Node& n : nodes) {
    if (n.Ready(now)) segments[SegmentKeyOf(n, g)].push_back(&n);
  }
  std::map<std::string, std::string> out;
  for (auto& [key, members] : segments) {
    // Stable: nodes with equal names keep their input order, as in Mesh::Build.
    std::stable_sort(members.begin(), members.end(),
                     [](const Node* a, const Node* b) { return a->name < b->name; });
    std::vector<LeaderCandidate> cands;
    cands.reserve(members.size());
    for (const Node* n : members)
      cands.push_back({n->name, n->leader, EndpointIsKiloPublic(n->endpoint)});
    out[key] = members[FindKiloLeader(cands)]->name;
  }
  return out;
}

}  // namespace kilo
