// dump_check: checks that kgctl's fast dump loader (cli::ClusterFromDump:
// simdjson On-Demand straight into the model) gives exactly what the
// reference gives (DecodeClusterObjects + BuildCluster): the
// same Nodes, Peers, warnings, granularity and subnet, or the same error.
//
//   dump_check FILE...        exit 1 on the first difference
//
// For each file it prints "fast", "dom" (the fast reader gave up and the
// reference, DecodeClusterObjects, was used: slower, same result by construction) or "lenient" (the
// reference rejects the JSON for a syntax error in a value Kilo does not
// read, which the fast reader does not look at; documented in
// objects_json.h). Run by bench/run.sh on the benchmark dumps and usable on
// any dump or fuzz corpus.

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/cluster.h"
#include "core/objects_json.h"

namespace kilo {
namespace {

template <typename T>
std::string Opt(const std::optional<T>& v) {
  return v ? v->String() : std::string("-");
}

std::string Describe(const Node& n) {
  std::string s = "node " + n.name + " ep=" + Opt(n.endpoint) + " iip=" + Opt(n.internal_ip) +
                  " noiip=" + std::to_string(n.no_internal_ip) + " key=" + n.key.String() +
                  " seen=" + std::to_string(n.last_seen) + " leader=" + std::to_string(n.leader) +
                  " loc=" + n.location + " ka=" + std::to_string(n.persistent_keepalive) +
                  " subnet=" + Opt(n.subnet) + " wg=" + Opt(n.wireguard_ip) +
                  " gran=" + (n.granularity ? GranularityName(*n.granularity) : "-") + " de=";
  for (const auto& [k, e] : n.discovered_endpoints) s += k + "=" + e.String() + ",";
  s += " alip=";
  for (const auto& p : n.allowed_location_ips) s += p.String() + ",";
  return s;
}

std::string Describe(const Peer& p) {
  std::string s = "peer " + p.name + " ep=" + Opt(p.endpoint) + " key=" + p.public_key.String() +
                  " psk=" + (p.preshared_key ? p.preshared_key->String() : "-") +
                  " ka=" + std::to_string(p.persistent_keepalive) + " aips=";
  for (const auto& a : p.allowed_ips) s += a.String() + ",";
  return s;
}

std::string Describe(const Result<cli::Cluster>& r) {
  if (!r.ok()) return "error: " + r.error() + "\n";
  std::string s = "granularity " + std::string(GranularityName(r->granularity)) + " subnet " +
                  r->subnet.String() + "\n";
  for (const auto& n : r->nodes) s += Describe(n) + "\n";
  for (const auto& p : r->peers) s += Describe(p) + "\n";
  for (const auto& w : r->warnings) s += "warning " + w.String() + "\n";
  return s;
}

// Counts the fast reader's give-ups.
class Spy : public ClusterDumpVisitor {
 public:
  void OnNode(const NodeFields&) override {}
  void OnPeer(PeerObject) override {}
  void Restart() override { ++restarts; }
  int restarts = 0;
};

}  // namespace
}  // namespace kilo

int main(int argc, char** argv) {
  using namespace kilo;
  int failures = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string text = ss.str();
    cli::GlobalOptions g;
    const int64_t now = 1767225600;
    Result<cli::Cluster> want = [&]() -> Result<cli::Cluster> {
      auto objs = DecodeClusterObjects(text);
      if (!objs.ok()) return objs.status();
      return cli::BuildCluster(*objs, g, now);
    }();
    std::string padded_text = text;
    padded_text.reserve(text.size() + kJsonPadding);
    std::string got_unpadded = Describe(cli::ClusterFromDump(text, false, g, now));
    std::string got = Describe(cli::ClusterFromDump(padded_text, true, g, now));
    Spy spy;
    (void)VisitClusterDump(padded_text, true, g.topology_label, &spy);
    std::string w = Describe(want);
    const char* how = spy.restarts ? "dom" : "fast";
    bool same = got == w && got_unpadded == w;
    if (!same && !want.ok() && want.error().rfind("not valid JSON", 0) == 0 &&
        got == got_unpadded && got.rfind("error: ", 0) != 0) {
      how = "lenient";
      same = true;
    }
    std::printf("%s %s\n", same ? how : "DIFFERENT", argv[i]);
    if (!same) {
      ++failures;
      std::fprintf(stderr, "--- reference\n%s--- fast\n%s", w.c_str(), got.c_str());
      if (got_unpadded != got) std::fprintf(stderr, "--- fast, unpadded\n%s", got_unpadded.c_str());
    }
  }
  return failures ? 1 : 0;
}
