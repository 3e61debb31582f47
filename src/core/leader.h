#pragma once
// Kilo's leader election (SPEC section 4.2) on its own, so that the failover
// planner (failover.h) can ask "whom would every agent, Go or C++, elect if
// these annotations were written?" without building a whole Mesh.
//
// FindKiloLeader is the one implementation of findLeader: Mesh::Build
// (topology.cc) elects each segment's leader through it too. The property
// test (leader_test.cc) checks both paths, ElectLeaders and Mesh::Build,
// against an independent brute-force model of Kilo's rules written from each
// random node's meaning, not from kg's parsed fields.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/endpoint.h"
#include "core/model.h"

namespace kilo {

// True when `e` counts as public for the election: an IP endpoint (a DNS
// endpoint never does: Kilo looks at the unresolved IP) outside 10/8,
// 172.16/12, 192.168/16 and fd00::/16.
bool EndpointIsKiloPublic(const std::optional<Endpoint>& e);

struct LeaderCandidate {
  std::string_view name;
  bool leader_annotation = false;  // kilo.squat.ai/leader present
  bool public_endpoint = false;    // EndpointIsKiloPublic(endpoint)
};

// Kilo's findLeader over the nodes of one segment, sorted by name: the first
// annotated node with a public endpoint; else the first annotated node; else
// the first with a public endpoint; else the first. Returns an index, or -1
// when `nodes` is empty.
int FindKiloLeader(const std::vector<LeaderCandidate>& nodes);

// The segment key of a node as Mesh::Build groups it: "location:<location>"
// in location granularity when the node has a private IP, else
// "node:<name>".
std::string SegmentKeyOf(const Node& n, Granularity g);

// The leaders Kilo elects among the nodes that are ready at `now`
// (Node::Ready): segment key -> leader name. Nodes may come in any order.
std::map<std::string, std::string> ElectLeaders(const std::vector<Node>& nodes, int64_t now,
                                                Granularity g);

}  // namespace kilo
