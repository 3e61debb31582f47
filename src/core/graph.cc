// Topology::Dot: the Graphviz output of Kilo's `kgctl graph`, reproduced byte
// for byte (gographviz's layout: graph attributes, all edges in insertion
// order, then one cluster subgraph per segment and one for the peers).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string_view>
#include <vector>

#include "core/failover.h"
#include "core/leader.h"
#include "core/pieces.h"
#include "core/topology.h"

namespace kilo {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// The graph's label: the WireGuard subnet, and --subnet6's when set.
std::string GraphLabel(const IPPrefix& wireguard_cidr, const MeshOptions& o) {
  std::string l = wireguard_cidr.Network().String();
  if (o.subnet6) l += "\\n" + o.subnet6->String();
  return l;
}

// A node's other pod CIDRs (dual-stack), each on a line of its label.
void AppendExtraSubnets(const Node& n, std::string* label) {
  for (const auto& c : n.extra_subnets) *label += "\\n" + c.String();
}

// Appends without temporaries: at full granularity the graph has a quadratic
// number of edges (12.5M at 5,000 nodes).
void Edge(std::string* out, const std::string& a, const std::string& b, bool dashed) {
  out->append("\t\"").append(a).append("\"->\"").append(b).append(
      dashed ? "\"[ dir=both, style=dashed ];\n" : "\"[ dir=both ];\n");
}

size_t EdgeSize(const std::string& a, const std::string& b, bool dashed) {
  return a.size() + b.size() + (dashed ? 35 : 21);
}

// The quadratic part of the graph (leaders pairwise, every leader to every
// Peer: 12.5M edges for a 5,000-node full mesh) is written from two halves
// per edge, `\t"a"->"` and `b"[ dir=both ];\n`, each in a slot of fixed width,
// so that an edge is two fixed-size copies.

// Slot width for halves of up to `len` bytes: a multiple of 16.
size_t SlotWidth(size_t len) { return std::max<size_t>(16, (len + 15) / 16 * 16); }

// The second halves `name(i)` + `suffix` for i < count, one slot each.
class EdgeTails {
 public:
  template <typename Name>
  EdgeTails(size_t count, const Name& name, std::string_view suffix) {
    size_t longest = 0;
    for (size_t i = 0; i < count; ++i) longest = std::max(longest, name(i).size());
    width_ = SlotWidth(longest + suffix.size());
    slots_.assign(count * width_, '\0');
    len_.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const std::string& n = name(i);
      char* p = slots_.data() + i * width_;
      std::memcpy(p, n.data(), n.size());
      std::memcpy(p + n.size(), suffix.data(), suffix.size());
      len_.push_back(static_cast<uint32_t>(n.size() + suffix.size()));
    }
  }
  size_t Size() const { return len_.size(); }
  size_t Width() const { return width_; }
  const char* Slots() const { return slots_.data(); }
  const uint32_t* Lens() const { return len_.data(); }

 private:
  size_t width_ = 16;
  std::string slots_;
  std::vector<uint32_t> len_;
};

// Writes `\t"<leader of segment i>"->"` + tails[j] for every i and every j > i
// (`triangle`) or every j, for which keep(i, j), in pieces of about
// PieceWriter::kPiece. HW and TW are the slot widths of heads and tails, or 0
// for widths known only at run time.
template <size_t HW, size_t TW, typename Keep>
void WriteEdgeGrid(const std::vector<Segment>& segs, size_t head_width, const EdgeTails& tails,
                   bool triangle, const Keep& keep,
                   const std::function<void(std::string_view)>& write) {
  const size_t hw = HW ? HW : head_width, tw = TW ? TW : tails.Width();
  // Locals, not members: every byte stored through `p` could otherwise alias
  // them and force a reload per edge.
  const char* const slots = tails.Slots();
  const uint32_t* const lens = tails.Lens();
  const size_t count = tails.Size();
  std::string head_buf(hw, '\0');
  std::string buf(PieceWriter::kPiece + hw + tw, '\0');
  char* const begin = buf.data();
  char* const limit = begin + PieceWriter::kPiece;
  char* p = begin;
  for (size_t i = 0; i < segs.size(); ++i) {
    head_buf.replace(0, std::string::npos, "\t\"").append(segs[i].leader_name()).append("\"->\"");
    const size_t head_len = head_buf.size();
    head_buf.resize(hw, '\0');
    const char* const head = head_buf.data();
    for (size_t j = triangle ? i + 1 : 0; j < count; ++j) {
      if (!keep(i, j)) continue;
      std::memcpy(p, head, hw);
      p += head_len;
      std::memcpy(p, slots + j * tw, tw);
      p += lens[j];
      if (p >= limit) {
        write(std::string_view(begin, static_cast<size_t>(p - begin)));
        p = begin;
      }
    }
  }
  if (p != begin) write(std::string_view(begin, static_cast<size_t>(p - begin)));
}

// Every edge: keep(i, j) always true (compiled away).
struct AllEdges {
  bool operator()(size_t, size_t) const { return true; }
};

template <typename Keep = AllEdges>
void WriteEdges(const std::vector<Segment>& segs, const EdgeTails& tails, bool triangle,
                const std::function<void(std::string_view)>& write, const Keep& keep = Keep()) {
  if (segs.empty() || tails.Size() == 0) return;
  size_t longest = 0;
  for (const Segment& s : segs) longest = std::max(longest, s.leader_name().size());
  const size_t hw = SlotWidth(longest + 6);  // \t" "->"
  // Names of up to 58 characters have a compiled copy size.
  switch (hw * 100 + tails.Width()) {
#define KILO_EDGE_GRID(H, T) \
  case H * 100 + T:          \
    return WriteEdgeGrid<H, T>(segs, hw, tails, triangle, keep, write);
#define KILO_EDGE_GRID_ROW(H) \
  KILO_EDGE_GRID(H, 16) KILO_EDGE_GRID(H, 32) KILO_EDGE_GRID(H, 48) KILO_EDGE_GRID(H, 64)
    KILO_EDGE_GRID_ROW(16)
    KILO_EDGE_GRID_ROW(32)
    KILO_EDGE_GRID_ROW(48)
    KILO_EDGE_GRID_ROW(64)
#undef KILO_EDGE_GRID_ROW
#undef KILO_EDGE_GRID
    default:
      break;
  }
  WriteEdgeGrid<0, 0>(segs, hw, tails, triangle, keep, write);
}

// What the graph says of a location's leader beyond Kilo's label, when kg's
// leader failover runs there (a node of the segment carries
// kg.kilo.squat.ai/path-health or leader-by; otherwise nothing, and the graph
// is Go Kilo's byte for byte): "pinned" when its kilo.squat.ai/leader is a
// person's (no kg.kilo.squat.ai/leader-by), "failing: <reason>" when the
// members' health reports say so at `now` (failover::Assess).
struct LeaderMarks {
  bool pinned = false;
  std::string failing;  // the reason, "" when not failing
};

LeaderMarks MarksOf(const Segment& s, std::optional<int64_t> now) {
  LeaderMarks m;
  if (s.location.rfind("location:", 0) != 0 || s.nodes.empty()) return m;
  bool failover = false;
  for (const Node* n : s.nodes) failover |= n->leader_by_kg || !n->path_health.empty();
  if (!failover) return m;
  const Node& leader = *s.nodes[s.leader];
  m.pinned = leader.leader && !leader.leader_by_kg;
  if (!now) return m;
  std::vector<failover::MemberView> views;
  views.reserve(s.nodes.size());
  for (const Node* n : s.nodes) {
    failover::MemberView v;
    v.name = n->name;
    v.ready = true;  // a mesh holds ready nodes only
    v.public_endpoint = EndpointIsKiloPublic(n->endpoint);
    v.leader_annotation = n->leader;
    v.marked = n->leader_by_kg;
    if (!n->path_health.empty()) v.health = failover::ParseHealth(n->path_health, nullptr);
    views.push_back(std::move(v));
  }
  failover::Assessment a = failover::Assess(views, *now);
  if (a.failing && a.leader == leader.name) m.failing = a.reason;
  return m;
}

// The statement of node j of segment s, labelled "<prefix>\n<name>\n<pod CIDR>...";
// a leader's label adds its WireGuard IP(s) and endpoint, and `marks` (a
// failing leader is drawn red).
void AppendNodeStatement(const Segment& s, size_t j, const std::string& prefix, std::string* out,
                         const LeaderMarks& marks = {}) {
  std::string label = prefix + "\\n" + s.hostnames[j] + "\\n" + s.cidrs[j].String();
  AppendExtraSubnets(*s.nodes[j], &label);
  if (!s.private_ips.empty()) label += "\\n" + s.private_ips[j].String();
  bool leader = static_cast<int>(j) == s.leader;
  if (leader) {
    label += "\\n" + s.wireguard_ip.String();
    if (s.wireguard_ip6) label += "\\n" + s.wireguard_ip6->String();
    if (s.endpoint) label += "\\n" + s.endpoint->String();
    if (marks.pinned) label += "\\npinned";
    if (!marks.failing.empty()) label += "\\nfailing: " + marks.failing;
  }
  out->append("\t\"").append(s.hostnames[j]).append("\" [ ");
  if (leader && !marks.failing.empty()) out->append("color=red, ");
  out->append("label=\"").append(label);
  out->append(leader ? "\", rank=1, shape=ellipse ];\n" : "\", shape=ellipse ];\n");
}

// The peers' subgraph and the end of the graph.
void AppendPeersAndClose(const std::vector<Peer>& peers, PieceWriter* pieces) {
  std::string& out = pieces->out;
  out += "\tsubgraph \"cluster_peers\" {\n\tlabel=\"peers\";\n\tstyle=\"dashed,rounded\";\n";
  for (const Peer& p : peers) {
    std::string ep = p.endpoint ? p.endpoint->String() : "";
    out.append("\t\"").append(p.name).append("\" [ label=\"").append(p.name).append("\\n");
    out.append(ep).append("\n\", shape=ellipse ];\n");
    pieces->Flush();
  }
  out += "\n}\n;\n\n}\n";
  pieces->Flush(/*force=*/true);
}

}  // namespace

std::string Topology::Dot() const {
  const auto& segs = mesh_->segments();
  const auto& peers = mesh_->peers();
  std::string out;
  // Reserve the exact size of the edges (they dominate) plus the labels.
  size_t size = 256 + segs.size() * 256 + peers.size() * 128;
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string& li = segs[i].leader_name();
    for (const auto& h : segs[i].hostnames) size += EdgeSize(li, h, false) + 3 * h.size() + 96;
    for (size_t j = i + 1; j < segs.size(); ++j) size += EdgeSize(li, segs[j].leader_name(), false);
    for (const Peer& p : peers) size += EdgeSize(li, p.name, true);
  }
  out.reserve(size);
  Dot([&](std::string_view piece) { out.append(piece); });
  return out;
}

// Cross granularity (SPEC 11.2): nodes grouped by location, one subgraph
// each, in location order; first the dotted undirected edges between the
// nodes of each location that reach each other over their LAN, then one
// solid edge per pair of nodes joined by WireGuard (in node order), then every
// node to every Peer, as in full.
void Topology::DotCross(const std::function<void(std::string_view)>& write) const {
  const Mesh& m = *mesh_;
  const auto& segs = m.segments();
  const auto& peers = m.peers();
  PieceWriter pieces(write);
  std::string& out = pieces.out;
  out += "digraph kilo {\n";
  out += "\tlabel=" + Quote(GraphLabel(wireguard_cidr_, mesh_->options())) + ";\n";
  out += "\tlabelloc=t;\n\toutputorder=nodesfirst;\n\toverlap=false;\n";
  // Segment indexes by location, locations in key order, nodes in name order.
  std::map<std::string_view, std::vector<size_t>> locations;
  for (size_t i = 0; i < segs.size(); ++i) locations[m.LocationOf(i)].push_back(i);
  for (const auto& [loc, members] : locations) {
    for (size_t a = 0; a < members.size(); ++a) {
      for (size_t b = a + 1; b < members.size(); ++b) {
        if (m.Tunneled(members[a], members[b])) continue;
        out.append("\t\"").append(segs[members[a]].leader_name()).append("\"->\"");
        out.append(segs[members[b]].leader_name())
            .append("\"[ arrowhead=none, arrowtail=none, dir=both, style=dotted ];\n");
        pieces.Flush();
      }
    }
  }
  pieces.Flush(/*force=*/true);
  // Mesh::Tunneled by location number and private-IP flag: the pairs are
  // quadratic (12.5M at 5,000 nodes), a string comparison each was 1/3 of
  // the time.
  std::vector<uint32_t> location_of(segs.size());
  std::vector<char> lan(segs.size());
  {
    uint32_t number = 0;
    for (const auto& [loc, members] : locations) {
      for (size_t si : members) {
        location_of[si] = number;
        lan[si] = !segs[si].private_ips.empty();
      }
      ++number;
    }
  }
  WriteEdges(segs,
             EdgeTails(
                 segs.size(), [&](size_t i) -> const std::string& { return segs[i].leader_name(); },
                 "\"[ dir=both ];\n"),
             /*triangle=*/true, write, [&](size_t i, size_t j) {
               return location_of[i] != location_of[j] || !lan[i] || !lan[j];
             });
  WriteEdges(segs,
             EdgeTails(
                 peers.size(), [&](size_t i) -> const std::string& { return peers[i].name; },
                 "\"[ dir=both, style=dashed ];\n"),
             /*triangle=*/false, write);
  for (const auto& [loc, members] : locations) {
    const std::string key = "location:" + std::string(loc);
    out += "\tsubgraph " + Quote("cluster_location_" + key) + " {\n";
    out += "\tlabel=" + Quote(key) + ";\n";
    out += "\tstyle=\"dashed,rounded\";\n";
    for (size_t si : members) {
      const Segment& s = segs[si];
      // Every node leads its own segment: its WireGuard IP and endpoint shown.
      for (size_t j = 0; j < s.hostnames.size(); ++j) {
        AppendNodeStatement(s, j, key, &out);
        pieces.Flush();
      }
    }
    out += "\n}\n;\n";
  }
  AppendPeersAndClose(peers, &pieces);
}

void Topology::Dot(const std::function<void(std::string_view)>& write) const {
  if (mesh_->options().granularity == Granularity::kCross) return DotCross(write);
  const auto& segs = mesh_->segments();
  const auto& peers = mesh_->peers();
  PieceWriter pieces(write);
  std::string& out = pieces.out;
  out += "digraph kilo {\n";
  out += "\tlabel=" + Quote(GraphLabel(wireguard_cidr_, mesh_->options())) + ";\n";
  out += "\tlabelloc=t;\n\toutputorder=nodesfirst;\n\toverlap=false;\n";
  // Edges: each segment's leader to its other nodes; leaders pairwise;
  // every leader to every peer.
  for (const Segment& s : segs) {
    for (size_t i = 0; i < s.hostnames.size(); ++i) {
      if (static_cast<int>(i) == s.leader) continue;
      Edge(&out, s.leader_name(), s.hostnames[i], false);
      pieces.Flush();
    }
  }
  pieces.Flush(/*force=*/true);
  WriteEdges(segs,
             EdgeTails(
                 segs.size(), [&](size_t i) -> const std::string& { return segs[i].leader_name(); },
                 "\"[ dir=both ];\n"),
             /*triangle=*/true, write);
  WriteEdges(segs,
             EdgeTails(
                 peers.size(), [&](size_t i) -> const std::string& { return peers[i].name; },
                 "\"[ dir=both, style=dashed ];\n"),
             /*triangle=*/false, write);
  for (const Segment& s : segs) {
    out += "\tsubgraph " + Quote("cluster_location_" + s.location) + " {\n";
    out += "\tlabel=" + Quote(s.location) + ";\n";
    out += "\tstyle=\"dashed,rounded\";\n";
    const LeaderMarks marks = MarksOf(s, now_);
    for (size_t j = 0; j < s.hostnames.size(); ++j) {
      AppendNodeStatement(s, j, s.location, &out, marks);
      pieces.Flush();
    }
    out += "\n}\n;\n";
  }
  AppendPeersAndClose(peers, &pieces);
}

}  // namespace kilo
