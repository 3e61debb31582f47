#include "cli/cluster.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "core/objects_json.h"


namespace kilo::cli {

namespace {
LiveLoader g_live_loader = nullptr;
}  // namespace

std::vector<Node> Cluster::ReadyNodes() const {
  std::vector<Node> out;
  for (const auto& n : nodes)
    if (n.Ready(now)) out.push_back(n);
  return out;
}

std::vector<Peer> Cluster::ReadyPeers() const {
  std::vector<Peer> out;
  for (const auto& p : peers)
    if (p.Ready()) out.push_back(p);
  return out;
}

std::string Cluster::LastReadyNode() const {
  std::string last;
  for (const auto& n : nodes)
    if (n.Ready(now)) last = n.name;
  return last;
}

Result<Cluster> BuildCluster(const ClusterObjects& objs, const GlobalOptions& opts, int64_t now) {
  Cluster c;
  c.now = now;
  TranslateOptions topts;
  topts.topology_label = opts.topology_label;
  c.subnet = DefaultKiloSubnet();
  std::optional<Granularity> annotated;
  for (const auto& o : objs.nodes) {
    Node n = TranslateNode(o, topts, &c.warnings);
    if (n.wireguard_ip) c.subnet = n.wireguard_ip->Network();
    if (!annotated && n.granularity) annotated = n.granularity;
    c.nodes.push_back(std::move(n));
  }
  for (const auto& o : objs.peers) {
    if (auto p = TranslatePeer(o, &c.warnings)) c.peers.push_back(std::move(*p));
  }
  if (opts.granularity.empty()) {
    c.granularity = annotated.value_or(Granularity::kLocation);
  } else if (auto g = ParseGranularity(opts.granularity)) {
    c.granularity = *g;
  } else {
    return Result<Cluster>::Error("mesh granularity \"" + opts.granularity +
                                  "\" unknown; possible values are: location, full");
  }
  return c;
}

Result<ClusterObjects> LoadObjects(const GlobalOptions& opts) {
  if (!opts.from_file.empty()) {
    std::string text;
    if (opts.from_file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream f(opts.from_file, std::ios::binary);
      if (!f) {
        return Result<ClusterObjects>::Error(
            "cannot read cluster dump \"" + opts.from_file +
            "\": no such file or not readable; create one with `kubectl get nodes,peers -o json > FILE`");
      }
      // Read straight into a buffer with room for the parser's padding, so
      // that the dump is held in memory once (a real one is 50-150 MB).
      std::error_code ec;
      if (std::filesystem::is_regular_file(opts.from_file, ec)) {
        auto size = std::filesystem::file_size(opts.from_file, ec);
        if (!ec && size > 0) {
          text.reserve(size + kJsonPadding);
          text.resize(size);
          f.read(text.data(), static_cast<std::streamsize>(size));
          text.resize(static_cast<size_t>(f.gcount()));
        }
      }
      // Not a regular file (a pipe, /dev/stdin): read what is left.
      text.append(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    if (text.capacity() < text.size() + kJsonPadding) text.reserve(text.size() + kJsonPadding);
    auto objs = DecodeClusterObjectsPadded(text);
    if (!objs.ok()) {
      return Result<ClusterObjects>::Error(
          "cannot parse cluster dump \"" + opts.from_file + "\": " + objs.error() +
          "; expected the output of `kubectl get nodes,peers -o json` (or -o yaml)");
    }
    return objs;
  }
  if (g_live_loader) return g_live_loader(opts.kubeconfig);
  return Result<ClusterObjects>::Error(
      "this kgctl has no Kubernetes client (kgctl-full is missing); use --from-file DUMP");
}

void SetLiveLoader(LiveLoader loader) { g_live_loader = loader; }

}  // namespace kilo::cli
