#include "core/topology.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "core/leader.h"
#include "core/pieces.h"

namespace kilo {
namespace {

// Kilo's findLeader, the one implementation (core/leader.h), over the
// segment's nodes sorted by name.
int FindLeader(const std::vector<const Node*>& nodes) {
  std::vector<LeaderCandidate> c;
  c.reserve(nodes.size());
  for (const Node* n : nodes) c.push_back({n->name, n->leader, EndpointIsKiloPublic(n->endpoint)});
  return std::max(FindKiloLeader(c), 0);
}

// The segment of `members` (one location, or one node), keyed
// "location:<key>" or "node:<key>": nodes sorted by name, leader elected,
// allowed IPs without the WireGuard IP, allowed-location-IPs deduplicated and
// sorted as strings (not yet filtered).
Segment MakeSegment(bool by_node, std::string_view key, std::vector<const Node*> members) {
  size_t subnets = 0, internal = 0, alips = 0;
  for (const Node* n : members) {
    subnets += n->subnet.has_value();
    internal += n->internal_ip.has_value();
    alips += n->allowed_location_ips.size();
  }
  // Already strictly increasing (kubectl sorts by name): std::sort would
  // leave it as it is. With equal names, std::sort decides the order, as
  // it always did.
  if (std::adjacent_find(members.begin(), members.end(), [](const Node* a, const Node* b) {
        return !(a->name < b->name);
      }) != members.end()) {
    std::sort(members.begin(), members.end(),
              [](const Node* a, const Node* b) { return a->name < b->name; });
  }
  Segment s;
  s.location = by_node ? "node:" : "location:";
  s.location += key;
  s.leader = FindLeader(members);
  s.allowed_ips.reserve(subnets + internal + 1);  // + the WireGuard IP
  s.private_ips.reserve(internal);
  s.cidrs.reserve(members.size());
  s.hostnames.reserve(members.size());
  std::set<IPPrefix> seen_alips;  // a prefix's String() is unique to it
  for (const Node* n : members) {
    if (n->subnet) s.allowed_ips.push_back(*n->subnet);
    for (const auto& ip : n->allowed_location_ips) {
      if (seen_alips.insert(ip.valid() ? ip : IPPrefix()).second)
        s.allowed_location_ips.push_back(ip);
    }
    if (n->internal_ip) {
      s.allowed_ips.push_back(IPPrefix::Host(n->internal_ip->addr()));
      s.private_ips.push_back(n->internal_ip->addr());
    }
    s.cidrs.push_back(n->subnet.value_or(IPPrefix()));
    s.hostnames.push_back(n->name);
  }
  if (alips > 1) {
    std::vector<std::pair<std::string, IPPrefix>> sorted;
    for (const auto& ip : s.allowed_location_ips) sorted.emplace_back(ip.String(), ip);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t i = 0; i < sorted.size(); ++i) s.allowed_location_ips[i] = sorted[i].second;
  }
  const Node* leader = members[s.leader];
  s.endpoint = leader->endpoint;
  s.key = leader->key;
  s.persistent_keepalive = leader->persistent_keepalive;
  s.nodes = std::move(members);
  return s;
}

// Returns, for each node, whether its pod CIDR overlaps another node's, in
// O(n log n): CIDR prefixes overlap only by nesting, so a sweep in address
// order with a stack of the prefixes still open finds every one.
std::vector<char> PodCIDRsOverlapping(const std::vector<const Node*>& by_name) {
  std::vector<char> overlapping(by_name.size(), 0);
  std::vector<std::pair<IPPrefix, size_t>> nets;
  for (size_t i = 0; i < by_name.size(); ++i)
    if (by_name[i]->subnet) nets.emplace_back(by_name[i]->subnet->Network(), i);
  std::sort(nets.begin(), nets.end(), [](const auto& a, const auto& b) {
    if (a.first.addr().family() != b.first.addr().family())
      return a.first.addr().family() < b.first.addr().family();
    return a.first < b.first;
  });
  std::vector<size_t> open;  // indexes into nets, each containing the next
  for (size_t k = 0; k < nets.size(); ++k) {
    while (!open.empty() && !nets[open.back()].first.Contains(nets[k].first.addr()))
      open.pop_back();
    if (!open.empty()) {
      overlapping[nets[k].second] = 1;
      for (size_t o : open) overlapping[nets[o].second] = 1;
    }
    open.push_back(k);
  }
  return overlapping;
}

}  // namespace

Result<Mesh> Mesh::Build(std::vector<Node> nodes, std::vector<Peer> peers, const MeshOptions& opts,
                         std::vector<Warning>* warnings) {
  Mesh m;
  m.opts_ = opts;
  m.opts_.subnet = opts.subnet.Network();
  m.nodes_ = std::move(nodes);  // not resized from here on: stable addresses
  m.BuildSegments();
  m.IndexNodes();
  m.peers_ = DeduplicatePeers(std::move(peers), warnings);
  // Conflicts between objects: reported, never acted on.
  if (warnings) m.WarnConflicts(warnings);
  // Segment by segment, in Kilo's order: its WireGuard IP, then its
  // allowed-location-IPs filtered against what is known so far.
  IPAddr current = m.opts_.subnet.addr();
  for (size_t si = 0; si < m.segments_.size(); ++si) {
    if (Status s = m.AllocateWireGuardIP(si, &current); !s.ok()) return s;
    m.CollectDiscovered(si);
    m.FilterAllowedLocationIPs(si, warnings);
  }
  m.AddDualStack(warnings);
  m.IndexDiscoveredByKey();
  if (warnings && m.opts_.granularity == Granularity::kCross) m.WarnCross(warnings);
  return m;
}

// Segments in key order (SPEC 4.1); leaders elected (FindLeader), allowed
// IPs without the WireGuard IP, allowed-location-IPs unfiltered.
void Mesh::BuildSegments() {
  // Segments in the order of their keys ("location:<location>", or
  // "node:<name>" per node), each with its nodes in input order, as a
  // std::map of the keys would give them, without building the keys: the
  // few locations through a hash map, the node names sorted ("location:"
  // sorts before "node:").
  struct Group {
    bool by_node;
    std::string_view key;
    std::vector<const Node*> members;
  };
  std::vector<Group> location_groups;
  std::unordered_map<std::string_view, size_t> location_index;
  std::vector<uint32_t> by_name;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    if (opts_.granularity == Granularity::kLocation && n.internal_ip) {
      auto [it, fresh] = location_index.try_emplace(n.location, location_groups.size());
      if (fresh) location_groups.push_back({false, n.location, {}});
      location_groups[it->second].members.push_back(&n);
    } else {
      by_name.push_back(static_cast<uint32_t>(i));
    }
  }
  std::sort(location_groups.begin(), location_groups.end(),
            [](const Group& a, const Group& b) { return a.key < b.key; });
  auto name_index_less = [&](uint32_t a, uint32_t b) {
    if (int c = nodes_[a].name.compare(nodes_[b].name)) return c < 0;
    return a < b;
  };
  // kubectl lists objects sorted by name: usually nothing to do.
  if (!std::is_sorted(by_name.begin(), by_name.end(), name_index_less))
    std::sort(by_name.begin(), by_name.end(), name_index_less);
  size_t groups = location_groups.size();
  for (size_t i = 0; i < by_name.size(); ++i)
    groups += i == 0 || nodes_[by_name[i - 1]].name != nodes_[by_name[i]].name;
  size_t next_location = 0, next_name = 0;
  // The next group in key order.
  auto next_group = [&](Group* g) {
    if (next_location < location_groups.size()) {
      *g = std::move(location_groups[next_location++]);
      return;
    }
    const std::string& name = nodes_[by_name[next_name]].name;
    g->by_node = true;
    g->key = name;
    g->members.clear();
    while (next_name < by_name.size() && nodes_[by_name[next_name]].name == name)
      g->members.push_back(&nodes_[by_name[next_name++]]);
  };
  segments_.reserve(groups);
  for (size_t gi = 0; gi < groups; ++gi) {
    Group g;
    next_group(&g);
    segments_.push_back(MakeSegment(g.by_node, g.key, std::move(g.members)));
  }
}

void Mesh::IndexNodes() {
  // Names -> (segment, position), the last one winning for a duplicate name.
  index_.reserve(nodes_.size());
  for (size_t si = 0; si < segments_.size(); ++si) {
    for (size_t ni = 0; ni < segments_[si].nodes.size(); ++ni) {
      index_[segments_[si].nodes[ni]->name] = {static_cast<int>(si), static_cast<int>(ni)};
    }
  }
}

// Sorts the peers by name and drops an allowed IP claimed by an earlier one.
std::vector<Peer> Mesh::DeduplicatePeers(std::vector<Peer> peers, std::vector<Warning>* warnings) {
  // Peers by name; an allowed IP claimed by an earlier peer is dropped.
  auto peer_less = [](const Peer& a, const Peer& b) { return a.name < b.name; };
  if (std::adjacent_find(peers.begin(), peers.end(), [&](const Peer& a, const Peer& b) {
        return !peer_less(a, b);
      }) != peers.end()) {
    std::sort(peers.begin(), peers.end(), peer_less);  // as in the comment above
  }
  std::set<IPPrefix> claimed;  // a prefix's String() is unique to it
  for (auto& p : peers) {
    std::vector<IPPrefix> kept;
    kept.reserve(p.allowed_ips.size());
    for (const auto& ip : p.allowed_ips) {
      if (claimed.insert(ip.valid() ? ip : IPPrefix()).second) {
        kept.push_back(ip);
      } else if (warnings) {
        warnings->push_back(Warning{"peer", p.name, "spec.allowedIPs", ip.String(),
                                    "already claimed by an earlier peer; dropped"});
      }
    }
    p.allowed_ips = std::move(kept);
  }
  return peers;
}

// Conflicts between objects: reported, never acted on (the topology must
// stay Kilo's, or mixed clusters disagree). WireGuard keeps one peer per
// public key and one owner per allowed IP, so part of the mesh is cut off.
// REQUIRES: warnings != null.
void Mesh::WarnConflicts(std::vector<Warning>* warnings) const {
  std::vector<const Node*> by_name;
  for (const auto& n : nodes_) by_name.push_back(&n);
  std::sort(by_name.begin(), by_name.end(),
            [](const Node* a, const Node* b) { return a->name < b->name; });
  // The pairwise report below looks only at the nodes whose pod CIDRs
  // overlap another's (none in a healthy cluster).
  std::vector<char> overlapping = PodCIDRsOverlapping(by_name);
  std::map<Key, std::string> key_owner;
  for (size_t i = 0; i < by_name.size(); ++i) {
    const Node* n = by_name[i];
    if (!n->key.IsZero()) {
      auto [it, fresh] = key_owner.emplace(n->key, "node " + n->name);
      if (!fresh) {
        warnings->push_back(
            Warning{"node", n->name, kAnnKey, n->key.String(),
                    "same public key as " + it->second + "; WireGuard cannot tell them apart"});
      }
    }
    if (!n->subnet || !overlapping[i]) continue;
    for (size_t j = 0; j < i; ++j) {
      const Node* o = by_name[j];
      if (!overlapping[j]) continue;
      if (o->subnet && n->subnet->Overlaps(*o->subnet)) {
        warnings->push_back(
            Warning{"node", n->name, "spec.podCIDR", n->subnet->String(),
                    "overlaps the pod CIDR " + o->subnet->String() + " of node " + o->name});
        break;
      }
    }
  }
  for (const auto& p : peers_) {
    auto [it, fresh] = key_owner.emplace(p.public_key, "peer " + p.name);
    if (!fresh) {
      warnings->push_back(Warning{"peer", p.name, "spec.publicKey", p.public_key.String(),
                                  "same public key as " + it->second});
    }
    for (const auto& ip : p.allowed_ips) {
      for (const Node* n : by_name) {
        std::string what;
        if (n->subnet && ip.Overlaps(*n->subnet)) {
          what = "the pod CIDR " + n->subnet->String();
        } else if (n->internal_ip && ip.Contains(n->internal_ip->addr())) {
          what = "the internal IP " + n->internal_ip->addr().String();
        }
        if (!what.empty()) {
          warnings->push_back(Warning{"peer", p.name, "spec.allowedIPs", ip.String(),
                                      "overlaps " + what + " of node " + n->name});
          break;
        }
      }
    }
  }
}

// Gives segment `si` the address after `*current` (the subnet's network
// address to begin with) and adds it to its allowed IPs.
Status Mesh::AllocateWireGuardIP(size_t si, IPAddr* current) {
  Segment& s = segments_[si];
  *current = current->Next();
  if (!opts_.subnet.Contains(*current) || *current == opts_.subnet.addr()) {
    return Status::Error("failed to allocate an IP address; ran out of IP addresses");
  }
  s.wireguard_ip = *current;
  s.allowed_ips.push_back(IPPrefix::Host(*current));
  return Status::Ok();
}

// Dual-stack (SPEC 11.3): each segment's extra pod CIDRs and, with
// --subnet6, its IPv6 WireGuard IP (sequential, in segment order, as --subnet).
void Mesh::AddDualStack(std::vector<Warning>* warnings) {
  std::optional<IPAddr> current;
  if (opts_.subnet6) {
    opts_.subnet6 = opts_.subnet6->Network();
    current = opts_.subnet6->addr();
  }
  for (Segment& s : segments_) {
    s.dual_stack = s.nodes[s.leader]->dual_stack;
    for (const Node* n : s.nodes) {
      s.dual_stack_ips.insert(s.dual_stack_ips.end(), n->extra_subnets.begin(),
                              n->extra_subnets.end());
    }
    if (!current) continue;
    IPAddr next = current->Next();
    if (!opts_.subnet6->Contains(next) || next == opts_.subnet6->addr()) {
      if (warnings) {
        warnings->push_back(Warning{"node", s.leader_name(), kAnnWireGuardIP6, "",
                                    "--subnet6 " + opts_.subnet6->String() +
                                        " has no address left for " + s.location +
                                        "; it gets no IPv6 WireGuard IP"});
      }
      current.reset();
      continue;
    }
    current = next;
    s.wireguard_ip6 = next;
    s.dual_stack_ips.push_back(IPPrefix::Host(next));
  }
}

// Merges the discovered endpoints of segment `si`'s nodes (earlier ones win).
void Mesh::CollectDiscovered(size_t si) {
  for (const Node* n : segments_[si].nodes) {
    for (const auto& [k, e] : n->discovered_endpoints) discovered_.emplace(k, e);
  }
}

// Filter this segment's allowed-location-IPs against what is known so
// far, exactly in Kilo 0.7's order (later segments are not filtered yet
// and have no WireGuard IP yet).
// REQUIRES: segments before `si` filtered and with their WireGuard IPs, `si`
// with its WireGuard IP, later ones neither (Kilo's order: the result depends
// on it).
void Mesh::FilterAllowedLocationIPs(size_t si, std::vector<Warning>* warnings) {
  Segment& s = segments_[si];
  std::vector<IPPrefix> kept;
  for (const auto& ip : s.allowed_location_ips) {
    std::string why;
    for (size_t oi = 0; oi < segments_.size() && why.empty(); ++oi) {
      const Segment& o = segments_[oi];
      if (oi != si) {
        for (const auto& other : o.allowed_location_ips) {
          if (ip.Overlaps(other)) {
            why = "overlaps allowed-location-ip " + other.String() + " of " + o.location;
            break;
          }
        }
        if (!why.empty()) break;
      }
      // Kilo 0.7 (#404): only an allowed IP that contains the entry's
      // address (so an equal or wider one) drops it; an entry that contains
      // allowed IPs or private IPs is kept (a location announcing its whole
      // LAN): the more specific routes still win.
      for (const auto& aip : o.allowed_ips) {
        if (aip.Contains(ip.addr())) {
          why = "its address is inside allowed IP " + aip.String() + " of " + o.location;
          break;
        }
      }
    }
    for (size_t pi = 0; pi < peers_.size() && why.empty(); ++pi) {
      for (const auto& aip : peers_[pi].allowed_ips) {
        if (ip.Overlaps(aip)) {
          why = "overlaps allowed IP " + aip.String() + " of peer " + peers_[pi].name;
          break;
        }
      }
    }
    if (why.empty()) {
      kept.push_back(ip);
    } else if (warnings) {
      // Attribute the warning to the nodes of the segment that declare it.
      for (const Node* n : s.nodes) {
        if (std::find(n->allowed_location_ips.begin(), n->allowed_location_ips.end(), ip) !=
            n->allowed_location_ips.end()) {
          warnings->push_back(
              Warning{"node", n->name, kAnnAllowedLocationIPs, ip.String(), why + "; dropped"});
        }
      }
    }
  }
  s.allowed_location_ips = std::move(kept);
}

// In cross granularity, a node without a private IP is tunneled to the nodes
// of its own location too: said, since its LAN is not used.
void Mesh::WarnCross(std::vector<Warning>* warnings) const {
  for (size_t si = 0; si < segments_.size(); ++si) {
    const Segment& s = segments_[si];
    if (!s.private_ips.empty()) continue;
    warnings->push_back(Warning{"node", s.leader_name(), kAnnInternalIP, "",
                                "no private IP in cross granularity: the nodes of location \"" +
                                    LocationOf(si) +
                                    "\" reach it through WireGuard, as in full granularity"});
  }
}

std::vector<GranularityMismatch> CrossGranularityMismatches(const std::vector<Node>& ready,
                                                            Granularity g) {
  std::vector<GranularityMismatch> out;
  if (g != Granularity::kCross) return out;
  for (const Node& n : ready) {
    if (n.granularity && *n.granularity != g)
      out.push_back({n.name, GranularityName(*n.granularity)});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.node < b.node; });
  return out;
}

// The discovered endpoints keyed by Key (see discovered_by_key_).
void Mesh::IndexDiscoveredByKey() {
  auto by_key = [](const std::map<std::string, Endpoint>& in, std::map<Key, Endpoint>* out) {
    for (const auto& [k, e] : in) {
      auto key = Key::Parse(k);
      if (key && key->String() == k) out->emplace(*key, e);
    }
  };
  by_key(discovered_, &discovered_by_key_);
  for (const auto& n : nodes_) {
    if (!n.discovered_endpoints.empty())
      by_key(n.discovered_endpoints, &node_discovered_by_key_[&n]);
  }
}

const Node* Mesh::FindNode(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : segments_[it->second.first].nodes[it->second.second];
}

bool Mesh::Tunneled(size_t a, size_t b) const {
  if (a == b) return false;
  if (opts_.granularity != Granularity::kCross) return true;
  // A node without a private IP cannot be reached over its LAN (Kilo PR #490
  // indexes its missing private IP): it is tunneled to every node, as in full.
  return segments_[a].private_ips.empty() || segments_[b].private_ips.empty() ||
         LocationOf(a) != LocationOf(b);
}

int Mesh::SegmentOf(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second.first;
}

std::optional<Topology> Topology::ForHost(const Mesh& mesh, const std::string& hostname,
                                          const HostOptions& opts) {
  const Node* n = mesh.FindNode(hostname);
  if (!n) return std::nullopt;
  Topology t;
  t.mesh_ = &mesh;
  t.hostname_ = hostname;
  t.local_ = mesh.SegmentOf(hostname);
  const Segment& s = mesh.segments()[t.local_];
  t.leader_ = s.leader_name() == hostname;
  t.private_ip_ = n->internal_ip;
  t.subnet_ = n->subnet;
  t.port_ = opts.port;
  t.now_ = opts.now;
  t.private_key_ = opts.private_key;
  t.keepalive_ = opts.persistent_keepalive.value_or(n->persistent_keepalive);
  if (auto it = mesh.node_discovered_by_key_.find(n); it != mesh.node_discovered_by_key_.end())
    t.host_discovered_ = &it->second;
  t.wireguard_cidr_ =
      t.leader_ ? IPPrefix(s.wireguard_ip, mesh.options().subnet.bits()) : mesh.options().subnet;
  return t;
}

std::optional<IPPrefix> Topology::wireguard_cidr6() const {
  const Segment& s = local_segment();
  if (!leader_ || !s.wireguard_ip6 || !mesh_->options().subnet6) return std::nullopt;
  return IPPrefix(*s.wireguard_ip6, mesh_->options().subnet6->bits());
}

const std::vector<IPPrefix>& Topology::extra_subnets() const {
  return mesh_->FindNode(hostname_)->extra_subnets;
}

bool Topology::DualStackTowards(size_t si) const {
  return local_segment().dual_stack && mesh_->segments()[si].dual_stack;
}

std::vector<size_t> Topology::DualStackUnreachable() const {
  std::vector<size_t> out;
  const auto& segs = mesh_->segments();
  for (size_t si = 0; si < segs.size(); ++si) {
    if (static_cast<int>(si) == local_ || segs[si].dual_stack_ips.empty()) continue;
    if (!DualStackTowards(si)) out.push_back(si);
  }
  return out;
}

std::optional<Endpoint> Topology::UpdateEndpoint(const std::optional<Endpoint>& declared,
                                                 const Key& key, int remote_keepalive) const {
  if (remote_keepalive == 0) return declared;
  if (host_discovered_) {
    if (auto it = host_discovered_->find(key); it != host_discovered_->end()) return it->second;
  }
  const auto& all = mesh_->discovered_by_key_;
  if (auto it = all.find(key); it != all.end()) return it->second;
  return declared;
}

void Topology::ForEachConfPeer(const std::function<void(const PeerView&)>& fn) const {
  static const std::optional<Key> kNoPsk;
  const auto& segs = mesh_->segments();
  for (size_t i = 0; i < segs.size(); ++i) {
    if (!mesh_->Tunneled(i, static_cast<size_t>(local_))) continue;
    const Segment& s = segs[i];
    // IPv6 after everything Kilo puts there (SPEC 11.3).
    std::vector<IPPrefix> extra;
    const std::vector<IPPrefix>* extra_ips = &s.allowed_location_ips;
    if (!s.dual_stack_ips.empty() && DualStackTowards(i)) {
      extra = s.allowed_location_ips;
      extra.insert(extra.end(), s.dual_stack_ips.begin(), s.dual_stack_ips.end());
      extra_ips = &extra;
    }
    fn(PeerView{&s.key, &kNoPsk, UpdateEndpoint(s.endpoint, s.key, s.persistent_keepalive),
                keepalive_, &s.allowed_ips, extra_ips});
  }
  for (const Peer& p : mesh_->peers()) {
    fn(PeerView{&p.public_key, &p.preshared_key,
                UpdateEndpoint(p.endpoint, p.public_key, p.persistent_keepalive), keepalive_,
                &p.allowed_ips, nullptr});
  }
}

WgConf Topology::Conf() const {
  WgConf c;
  c.has_interface = true;
  c.private_key = private_key_;
  c.listen_port = port_;
  c.peers.reserve(mesh_->segments().size() + mesh_->peers().size());
  ForEachConfPeer([&](const PeerView& v) {
    WgPeer p;
    p.public_key = *v.public_key;
    p.preshared_key = *v.preshared_key;
    p.endpoint = v.endpoint;
    p.persistent_keepalive = v.persistent_keepalive;
    p.allowed_ips = *v.allowed_ips;
    if (v.extra_allowed_ips)
      p.allowed_ips.insert(p.allowed_ips.end(), v.extra_allowed_ips->begin(),
                           v.extra_allowed_ips->end());
    c.peers.push_back(std::move(p));
  });
  return c;
}

void Topology::RenderConf(const std::function<void(std::string_view)>& write) const {
  PieceWriter pieces(write);
  WgConf::AppendInterface(private_key_, port_, &pieces.out);
  ForEachConfPeer([&](const PeerView& v) {
    WgConf::AppendPeer(*v.public_key, *v.preshared_key, v.endpoint, v.persistent_keepalive,
                       *v.allowed_ips, v.extra_allowed_ips, /*first=*/false, &pieces.out);
    pieces.Flush();
  });
  pieces.Flush(/*force=*/true);
}

std::optional<WgPeer> Topology::AsPeer() const {
  if (local_ < 0) return std::nullopt;
  const Segment& s = local_segment();
  WgPeer p;
  p.public_key = s.key;
  p.endpoint = s.endpoint;
  p.allowed_ips = s.allowed_ips;
  // Another interface reaches IPv6 of this segment when its leader carries it.
  if (s.dual_stack)
    p.allowed_ips.insert(p.allowed_ips.end(), s.dual_stack_ips.begin(), s.dual_stack_ips.end());
  return p;
}

WgConf Topology::PeerConf(const std::string& name) const {
  int pka = 0;
  std::optional<Key> psk;
  for (const Peer& p : mesh_->peers()) {
    if (p.name == name) {
      pka = p.persistent_keepalive;
      psk = p.preshared_key;
      break;
    }
  }
  WgConf c;
  for (const Segment& s : mesh_->segments()) {
    WgPeer p;
    p.public_key = s.key;
    p.preshared_key = psk;
    p.persistent_keepalive = pka;
    p.endpoint = UpdateEndpoint(s.endpoint, s.key, s.persistent_keepalive);
    p.allowed_ips = s.allowed_ips;
    p.allowed_ips.insert(p.allowed_ips.end(), s.allowed_location_ips.begin(),
                         s.allowed_location_ips.end());
    if (s.dual_stack)
      p.allowed_ips.insert(p.allowed_ips.end(), s.dual_stack_ips.begin(), s.dual_stack_ips.end());
    c.peers.push_back(std::move(p));
  }
  for (const Peer& other : mesh_->peers()) {
    if (other.name == name) continue;
    WgPeer p;
    p.public_key = other.public_key;
    p.persistent_keepalive = pka;
    p.endpoint = UpdateEndpoint(other.endpoint, other.public_key, other.persistent_keepalive);
    p.allowed_ips = other.allowed_ips;
    c.peers.push_back(std::move(p));
  }
  return c;
}

}  // namespace kilo
