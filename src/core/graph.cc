// Topology::Dot: the Graphviz output of Kilo's `kgctl graph`, reproduced byte
// for byte (gographviz's layout: graph attributes, all edges in insertion
// order, then one cluster subgraph per segment and one for the peers).

#include "core/pieces.h"
#include "core/topology.h"

namespace kilo {
namespace {

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// Appends without temporaries: at full granularity the graph has a quadratic
// number of edges (12.5M at 5,000 nodes).
void Edge(std::string* out, const std::string& a, const std::string& b, bool dashed) {
  out->append("\t\"").append(a).append("\"->\"").append(b).append(
      dashed ? "\"[ dir=both, style=dashed ];\n" : "\"[ dir=both ];\n");
}

size_t EdgeSize(const std::string& a, const std::string& b, bool dashed) {
  return a.size() + b.size() + (dashed ? 35 : 21);
}

}  // namespace

std::string Topology::Dot() const {
  const auto& segs = mesh_->segments();
  const auto& peers = mesh_->peers();
  std::string out;
  // Reserve the exact size of the edges (they dominate) plus the labels.
  size_t size = 256 + segs.size() * 256 + peers.size() * 128;
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string& li = segs[i].hostnames[segs[i].leader];
    for (const auto& h : segs[i].hostnames) size += EdgeSize(li, h, false) + 3 * h.size() + 96;
    for (size_t j = i + 1; j < segs.size(); ++j)
      size += EdgeSize(li, segs[j].hostnames[segs[j].leader], false);
    for (const Peer& p : peers) size += EdgeSize(li, p.name, true);
  }
  out.reserve(size);
  Dot([&](std::string_view piece) { out.append(piece); });
  return out;
}

void Topology::Dot(const std::function<void(std::string_view)>& write) const {
  const auto& segs = mesh_->segments();
  const auto& peers = mesh_->peers();
  PieceWriter pieces(write);
  std::string& out = pieces.out;
  out += "digraph kilo {\n";
  out += "\tlabel=" + Quote(wireguard_cidr_.Network().String()) + ";\n";
  out += "\tlabelloc=t;\n\toutputorder=nodesfirst;\n\toverlap=false;\n";
  // Edges: each segment's leader to its other nodes; leaders pairwise;
  // every leader to every peer.
  for (const Segment& s : segs) {
    for (size_t i = 0; i < s.hostnames.size(); ++i) {
      if (static_cast<int>(i) == s.leader) continue;
      Edge(&out, s.hostnames[s.leader], s.hostnames[i], false);
      pieces.Flush();
    }
  }
  for (size_t i = 0; i < segs.size(); ++i) {
    for (size_t j = i + 1; j < segs.size(); ++j) {
      Edge(&out, segs[i].hostnames[segs[i].leader], segs[j].hostnames[segs[j].leader], false);
      pieces.Flush();
    }
  }
  for (const Segment& s : segs) {
    for (const Peer& p : peers) {
      Edge(&out, s.hostnames[s.leader], p.name, true);
      pieces.Flush();
    }
  }
  for (const Segment& s : segs) {
    out += "\tsubgraph " + Quote("cluster_location_" + s.location) + " {\n";
    out += "\tlabel=" + Quote(s.location) + ";\n";
    out += "\tstyle=\"dashed,rounded\";\n";
    for (size_t j = 0; j < s.hostnames.size(); ++j) {
      std::string label = s.location + "\\n" + s.hostnames[j] + "\\n" + s.cidrs[j].String();
      if (!s.private_ips.empty()) label += "\\n" + s.private_ips[j].String();
      bool leader = static_cast<int>(j) == s.leader;
      if (leader) {
        label += "\\n" + s.wireguard_ip.String();
        if (s.endpoint) label += "\\n" + s.endpoint->String();
      }
      out += "\t" + Quote(s.hostnames[j]) + " [ label=" + Quote(label) +
             (leader ? ", rank=1" : "") + ", shape=ellipse ];\n";
      pieces.Flush();
    }
    out += "\n}\n;\n";
  }
  out += "\tsubgraph \"cluster_peers\" {\n\tlabel=\"peers\";\n\tstyle=\"dashed,rounded\";\n";
  for (const Peer& p : peers) {
    std::string ep = p.endpoint ? p.endpoint->String() : "";
    out += "\t" + Quote(p.name) + " [ label=" + Quote(p.name + "\\n" + ep + "\n") +
           ", shape=ellipse ];\n";
    pieces.Flush();
  }
  out += "\n}\n;\n\n}\n";
  pieces.Flush(/*force=*/true);
}

}  // namespace kilo
