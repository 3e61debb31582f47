#pragma once
// The topology of SPEC section 4. Computed in two steps so that the work all
// agents share is done once:
//   Mesh: host-independent (segments, leaders, allowed IPs, WireGuard IPs,
//         filtered allowed-location-IPs, deduplicated peers);
//   Topology: one host's view of a Mesh (its segment, leadership, addresses),
//         which renders WireGuard configs, routes and the graph.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/model.h"
#include "core/status.h"
#include "core/translate.h"
#include "core/wgconf.h"

namespace kilo {

struct Segment {
  std::string location;            // "location:<name>" or "node:<hostname>"
  std::vector<const Node*> nodes;  // sorted by name
  std::vector<std::string> hostnames;
  std::vector<IPPrefix> cidrs;                 // pod subnets, one per node
  std::vector<IPAddr> private_ips;             // only nodes that have one (as Kilo)
  int leader = 0;                              // index into nodes
  std::vector<IPPrefix> allowed_ips;           // cidrs, private IPs as /32|/128, WireGuard IP
  std::vector<IPPrefix> allowed_location_ips;  // deduplicated, sorted, filtered
  std::optional<Endpoint> endpoint;            // the leader's
  Key key;                                     // the leader's
  int persistent_keepalive = 0;                // the leader's
  IPAddr wireguard_ip;
  // Dual-stack (SPEC 11.3), kept apart from Kilo's allowed IPs above so that
  // what every agent computes stays Kilo's: the nodes' extra pod CIDRs (in
  // node order), then the IPv6 WireGuard IP as /128 (with --subnet6).
  std::vector<IPPrefix> dual_stack_ips;
  std::optional<IPAddr> wireguard_ip6;  // with --subnet6
  // The leader's agent advertises kg.kilo.squat.ai/dual-stack.
  bool dual_stack = false;

  const std::string& leader_name() const { return hostnames[leader]; }
};

struct MeshOptions {
  Granularity granularity = Granularity::kLocation;
  IPPrefix subnet = DefaultKiloSubnet();  // network form
  // --subnet6: one IPv6 WireGuard IP per segment, in segment order. Off by
  // default. Running out leaves the later segments without one (reported).
  std::optional<IPPrefix> subnet6;
};

class Mesh {
 public:
  // Builds the shared topology from ready nodes and ready peers (any order).
  // Fails only when the WireGuard subnet runs out of addresses:
  // "failed to allocate an IP address; ran out of IP addresses".
  // Dropped allowed-location-IPs are reported in `warnings` (may be null).
  static Result<Mesh> Build(std::vector<Node> nodes, std::vector<Peer> peers,
                            const MeshOptions& opts, std::vector<Warning>* warnings);

  const std::vector<Segment>& segments() const { return segments_; }
  const std::vector<Peer>& peers() const { return peers_; }  // sorted, deduplicated
  const MeshOptions& options() const { return opts_; }
  // Returns the node with this name, or null.
  const Node* FindNode(const std::string& name) const;
  // Returns the index of the segment holding `name`, or -1.
  int SegmentOf(const std::string& name) const;
  // Returns whether segments `a` and `b` reach each other through WireGuard:
  // always for two different segments, except in cross granularity, where two
  // nodes of one location that both have a private IP use their LAN.
  bool Tunneled(size_t a, size_t b) const;
  // The location of segment `si`'s nodes (its leader's).
  const std::string& LocationOf(size_t si) const {
    const Segment& s = segments_[si];
    return s.nodes[s.leader]->location;
  }
  // Discovered endpoints of all nodes, merged in segment then node order.
  const std::map<std::string, Endpoint>& discovered() const { return discovered_; }

  Mesh(Mesh&&) = default;
  Mesh& operator=(Mesh&&) = default;

 private:
  Mesh() = default;
  // The steps of Build, in its order.
  void BuildSegments();
  void IndexNodes();
  static std::vector<Peer> DeduplicatePeers(std::vector<Peer> peers,
                                            std::vector<Warning>* warnings);
  void WarnConflicts(std::vector<Warning>* warnings) const;
  Status AllocateWireGuardIP(size_t si, IPAddr* current);
  void CollectDiscovered(size_t si);
  void FilterAllowedLocationIPs(size_t si, std::vector<Warning>* warnings);
  void IndexDiscoveredByKey();
  void WarnCross(std::vector<Warning>* warnings) const;
  void AddDualStack(std::vector<Warning>* warnings);

  MeshOptions opts_;
  std::vector<Node> nodes_;  // never resized: stable addresses
  // name (into nodes_) -> (segment, position)
  std::unordered_map<std::string_view, std::pair<int, int>> index_;
  std::vector<Segment> segments_;
  std::vector<Peer> peers_;
  std::map<std::string, Endpoint> discovered_;
  // The same, and each node's own, keyed by Key: UpdateEndpoint runs for
  // every peer of every host, and formatting the key as base64 for a string
  // lookup dominated the all-hosts computation. Only entries whose string is
  // the canonical base64 of a key (the only ones a string lookup can hit).
  std::map<Key, Endpoint> discovered_by_key_;
  std::map<const Node*, std::map<Key, Endpoint>> node_discovered_by_key_;
  friend class Topology;
};

struct GranularityMismatch {
  std::string node;
  std::string granularity;  // what its granularity annotation says
};
// With `g` cross: the nodes of `ready` whose kilo.squat.ai/granularity
// annotation names another granularity, sorted by name (their agents, Go ones
// up to 0.7 included, build peer sets that do not match: the mesh is broken
// between them and the cross nodes). Empty for other granularities, and for
// nodes without the annotation.
std::vector<GranularityMismatch> CrossGranularityMismatches(const std::vector<Node>& ready,
                                                            Granularity g);

// Options of the local host.
struct HostOptions {
  int port = kDefaultPort;
  std::optional<Key> private_key;
  // Keepalive the host uses towards its peers; defaults to its node's
  // persistent-keepalive annotation.
  std::optional<int> persistent_keepalive;
  // The time (unix seconds) at which Dot judges kg's failover health reports
  // (kg.kilo.squat.ai/path-health) to mark a failing leader; none: no
  // leader is marked failing (a pinned one still is).
  std::optional<int64_t> now;
};

// One host's view. REQUIRES: the Mesh outlives it.
class Topology {
 public:
  // Returns nullopt when `hostname` is not a (ready) node of the mesh.
  static std::optional<Topology> ForHost(const Mesh& mesh, const std::string& hostname,
                                         const HostOptions& opts = {});

  const Mesh& mesh() const { return *mesh_; }
  const std::string& hostname() const { return hostname_; }
  const Segment& local_segment() const { return mesh_->segments()[local_]; }
  int local_segment_index() const { return local_; }
  bool leader() const { return leader_; }
  const std::optional<IPPrefix>& private_ip() const { return private_ip_; }
  const std::optional<IPPrefix>& subnet() const { return subnet_; }
  // The host's other pod CIDRs (spec.podCIDRs; the IPv6 one of a dual-stack
  // node).
  const std::vector<IPPrefix>& extra_subnets() const;
  // The leader's WireGuard IP with the subnet's length; the subnet otherwise.
  const IPPrefix& wireguard_cidr() const { return wireguard_cidr_; }
  // The leader's IPv6 WireGuard IP with --subnet6's length, when it has one.
  std::optional<IPPrefix> wireguard_cidr6() const;
  // Whether this host carries IPv6 towards segment `si` (SPEC 11.3): both
  // its own segment's leader and `si`'s advertise dual-stack. A Go agent puts
  // only IPv4 in AllowedIPs, and WireGuard drops a packet whose source is not
  // in the sender's AllowedIPs.
  bool DualStackTowards(size_t si) const;
  // The segments with IPv6 pod CIDRs or an IPv6 WireGuard IP this host does
  // not carry IPv6 towards (their leader, or this host's, does not
  // advertise dual-stack), in segment order: to be reported.
  std::vector<size_t> DualStackUnreachable() const;
  int port() const { return port_; }
  int persistent_keepalive() const { return keepalive_; }

  // Kilo's updateEndpoint: a NATed remote (non-zero keepalive) is reached at
  // its discovered endpoint when one is known (the host's own first).
  std::optional<Endpoint> UpdateEndpoint(const std::optional<Endpoint>& declared, const Key& key,
                                         int remote_keepalive) const;

  // Visits the [Peer]s of Conf() without materialising them (for all-host
  // computations). The allowed IPs are given as two spans.
  struct PeerView {
    const Key* public_key;
    const std::optional<Key>* preshared_key;
    std::optional<Endpoint> endpoint;
    int persistent_keepalive;
    const std::vector<IPPrefix>* allowed_ips;
    const std::vector<IPPrefix>* extra_allowed_ips;  // may be null
  };
  void ForEachConfPeer(const std::function<void(const PeerView&)>& fn) const;

  // The leader's device config (SPEC section 5): other segments, then peers.
  WgConf Conf() const;
  // Conf().Render(), handed to `write` in pieces of about 64 KiB instead of
  // being held whole (a host of a 5,000-node full mesh has 4,999 peers).
  void RenderConf(const std::function<void(std::string_view)>& write) const;
  // This host's segment as a peer of another interface; nullopt if the host
  // is not in any segment.
  std::optional<WgPeer> AsPeer() const;
  // The config of the Peer `name`: one [Peer] per segment and per other Peer.
  WgConf PeerConf(const std::string& name) const;
  // Graphviz DOT of the mesh, as Kilo's `kgctl graph`.
  std::string Dot() const;
  // The same, handed to `write` in pieces of about 64 KiB (at full
  // granularity the graph is quadratic: 514 MB at 5,000 nodes).
  void Dot(const std::function<void(std::string_view)>& write) const;

 private:
  void DotCross(const std::function<void(std::string_view)>& write) const;

  const Mesh* mesh_ = nullptr;
  std::string hostname_;
  int local_ = -1;
  bool leader_ = false;
  std::optional<IPPrefix> private_ip_;
  std::optional<IPPrefix> subnet_;
  IPPrefix wireguard_cidr_;
  int port_ = kDefaultPort;
  std::optional<Key> private_key_;
  int keepalive_ = 0;
  const std::map<Key, Endpoint>* host_discovered_ = nullptr;  // may be null
  std::optional<int64_t> now_;                                // HostOptions::now
};

}  // namespace kilo
