#include "cli/cluster.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

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

namespace {

// Translates Nodes as they come (from ClusterObjects or straight from a
// dump) into a Cluster; Peers are kept and translated at the end, so that
// warnings come in the same order either way (Nodes, then Peers).
class ClusterBuilder : public ClusterDumpVisitor {
 public:
  ClusterBuilder(const GlobalOptions& opts, int64_t now) : opts_(opts), now_(now) { Restart(); }

  void OnNode(const NodeFields& f) override {
    Node& n = c_.nodes.emplace_back();
    TranslateNodeFields(f, &n, &c_.warnings);
    if (n.wireguard_ip) c_.subnet = n.wireguard_ip->Network();
    if (!annotated_ && n.granularity) annotated_ = n.granularity;
  }
  void OnPeer(PeerObject p) override { peers_.push_back(std::move(p)); }
  void Restart() override {
    c_ = Cluster();
    c_.now = now_;
    c_.subnet = DefaultKiloSubnet();
    annotated_.reset();
    peers_.clear();
  }
  void Reserve(size_t nodes) { c_.nodes.reserve(nodes); }

  Result<Cluster> Finish() {
    for (const auto& o : peers_) {
      if (auto p = TranslatePeer(o, &c_.warnings)) c_.peers.push_back(std::move(*p));
    }
    peers_ = {};
    if (opts_.granularity.empty()) {
      c_.granularity = annotated_.value_or(Granularity::kLocation);
    } else if (auto g = ParseGranularity(opts_.granularity)) {
      c_.granularity = *g;
    } else {
      return Result<Cluster>::Error("mesh granularity \"" + opts_.granularity +
                                    "\" unknown; possible values are: location, full");
    }
    return std::move(c_);
  }

 private:
  const GlobalOptions& opts_;
  int64_t now_;
  Cluster c_;
  std::optional<Granularity> annotated_;
  std::vector<PeerObject> peers_;
};

}  // namespace

Result<Cluster> BuildCluster(const ClusterObjects& objs, const GlobalOptions& opts, int64_t now) {
  ClusterBuilder b(opts, now);
  b.Reserve(objs.nodes.size());
  for (const auto& o : objs.nodes) b.OnNode(NodeFields::Of(o, opts.topology_label));
  for (const auto& o : objs.peers) b.OnPeer(o);
  return b.Finish();
}

Result<Cluster> ClusterFromDump(std::string_view text, bool padded, const GlobalOptions& opts,
                                int64_t now) {
  ClusterBuilder b(opts, now);
  if (auto s = VisitClusterDump(text, padded, opts.topology_label, &b); !s.ok()) return s;
  return b.Finish();
}

namespace {

// A dump file in memory, with room for the parser's padding after it (not
// initialised: a real dump is 50-150 MB).
struct DumpBuffer {
  std::unique_ptr<char[]> data;
  size_t size = 0;
  size_t capacity = 0;  // without the padding

  void Grow(size_t cap) {
    std::unique_ptr<char[]> d(new char[cap + kJsonPadding]);
    if (size) std::memcpy(d.get(), data.get(), size);
    std::memset(d.get() + cap, 0, kJsonPadding);
    data = std::move(d);
    capacity = cap;
  }
  std::string_view view() const { return std::string_view(data.get(), size); }
};

// Reads the --from-file dump ("-" = stdin), so that it is in memory once and
// parsed in place.
Status ReadDump(const std::string& path, DumpBuffer* buf) {
  int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Error("cannot read cluster dump \"" + path +
                         "\": no such file or not readable; create one with `kubectl get "
                         "nodes,peers -o json > FILE`");
  }
  struct stat st;
  size_t cap = 1 << 16;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    cap = static_cast<size_t>(st.st_size) + 1;  // + 1: EOF is seen without growing
  buf->Grow(cap);
  while (true) {
    if (buf->size == buf->capacity) buf->Grow(buf->capacity * 2);
    ssize_t n = ::read(fd, buf->data.get() + buf->size, buf->capacity - buf->size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf->size += static_cast<size_t>(n);
  }
  if (fd != STDIN_FILENO) ::close(fd);
  return Status::Ok();
}

std::string DumpParseError(const std::string& path, const std::string& error) {
  return "cannot parse cluster dump \"" + path + "\": " + error +
         "; expected the output of `kubectl get nodes,peers -o json` (or -o yaml)";
}

}  // namespace

Result<ClusterObjects> LoadObjects(const GlobalOptions& opts) {
  if (!opts.from_file.empty()) {
    DumpBuffer buf;
    if (auto s = ReadDump(opts.from_file, &buf); !s.ok()) return s;
    std::string text;
    text.reserve(buf.size + kJsonPadding);
    text.assign(buf.view());
    buf = {};
    auto objs = DecodeClusterObjectsPadded(text);
    if (!objs.ok()) return Result<ClusterObjects>::Error(DumpParseError(opts.from_file, objs.error()));
    return objs;
  }
  if (g_live_loader) return g_live_loader(opts.kubeconfig);
  return Result<ClusterObjects>::Error(
      "this kgctl has no Kubernetes client (kgctl-full is missing); use --from-file DUMP");
}

Result<Cluster> LoadCluster(const GlobalOptions& opts, int64_t now) {
  if (opts.from_file.empty()) {
    auto objs = LoadObjects(opts);
    if (!objs.ok()) return objs.status();
    return BuildCluster(*objs, opts, now);
  }
  ClusterBuilder b(opts, now);
  {
    DumpBuffer buf;
    if (auto s = ReadDump(opts.from_file, &buf); !s.ok()) return s;
    if (auto s = VisitClusterDump(buf.view(), /*padded=*/true, opts.topology_label, &b); !s.ok())
      return Result<Cluster>::Error(DumpParseError(opts.from_file, s.message()));
  }  // the dump is released before the mesh is built
  return b.Finish();
}

void SetLiveLoader(LiveLoader loader) { g_live_loader = loader; }

}  // namespace kilo::cli
