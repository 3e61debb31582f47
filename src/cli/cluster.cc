#include "cli/cluster.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

Result<Mesh> TakeMesh(Cluster& c, const IPPrefix& subnet) {
  const int64_t now = c.now;
  std::vector<Node> ready = std::move(c.nodes);
  ready.erase(
      std::remove_if(ready.begin(), ready.end(), [now](const Node& n) { return !n.Ready(now); }),
      ready.end());
  std::vector<Peer> peers = std::move(c.peers);
  peers.erase(std::remove_if(peers.begin(), peers.end(), [](const Peer& p) { return !p.Ready(); }),
              peers.end());
  c.nodes = {};
  c.peers = {};
  if (ready.empty()) return Status::Error("did not find any valid Kilo nodes in the cluster");
  MeshOptions mo;
  mo.granularity = c.granularity;
  mo.subnet = subnet;
  mo.subnet6 = c.subnet6;
  auto mesh = Mesh::Build(std::move(ready), std::move(peers), mo, nullptr);
  if (!mesh.ok()) return Status::Error("failed to create topology: " + mesh.error());
  return mesh;
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
    if (n.wireguard_ip6) c_.subnet6 = n.wireguard_ip6->Network();
    if (!annotated_ && n.granularity) annotated_ = n.granularity;
  }
  void OnPeer(PeerObject p) override { peers_.push_back(std::move(p)); }
  void OnItemCount(size_t n) override { c_.nodes.reserve(n); }
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
                                    "\" unknown; possible values are: location, full, cross");
    }
    if (!opts_.subnet6.empty()) {
      auto p = IPPrefix::Parse(opts_.subnet6);
      if (!p || !p->addr().is6()) {
        return Result<Cluster>::Error("--subnet6 must be an IPv6 CIDR, e.g. fd4::/64; got \"" +
                                      opts_.subnet6 + "\"");
      }
      c_.subnet6 = p->Network();
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

// A dump file in memory, with room for the parser's padding after it. The
// memory is an anonymous mapping, so that the part the decoder is done with
// can be given back page by page while the model grows (peak RSS is then
// about the larger of the two, not their sum).
class DumpBuffer {
 public:
  DumpBuffer() = default;
  DumpBuffer(const DumpBuffer&) = delete;
  DumpBuffer& operator=(const DumpBuffer&) = delete;
  ~DumpBuffer() { Free(); }

  // Room for `cap` bytes plus the padding (zero, as fresh pages are).
  bool Grow(size_t cap) {
    size_t len = PageUp(cap + kJsonPadding);
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    if (size_) std::memcpy(p, data_, size_);
    Free();
    data_ = static_cast<char*>(p);
    mapped_ = len;
    capacity_ = cap;
    return true;
  }
  void Reset() {
    Free();
    size_ = capacity_ = 0;
  }
  char* end() { return data_ + size_; }
  size_t room() const { return capacity_ - size_; }
  bool full() const { return size_ == capacity_; }
  void Added(size_t n) { size_ += n; }
  std::string_view view() const { return std::string_view(data_, size_); }
  size_t capacity() const { return capacity_; }

  // Gives the whole pages before `upto` (inside the buffer) back to the
  // kernel, in steps of at least 256 KiB; they read as zeros afterwards.
  // True if anything was released.
  bool ReleaseBefore(const char* upto) {
    if (upto < data_ || upto > data_ + size_) return false;
    size_t end = static_cast<size_t>(upto - data_) & ~(Page() - 1);
    if (end < released_ + (256u << 10)) return false;
    if (::madvise(data_ + released_, end - released_, MADV_DONTNEED) != 0) return false;
    released_ = end;
    return true;
  }

 private:
  static size_t Page() {
    static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    return page;
  }
  static size_t PageUp(size_t n) { return (n + Page() - 1) & ~(Page() - 1); }
  void Free() {
    if (data_) ::munmap(data_, mapped_);
    data_ = nullptr;
    mapped_ = 0;
    released_ = 0;
  }

  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;  // without the padding
  size_t mapped_ = 0;
  size_t released_ = 0;  // bytes at the start given back
};

// Reads the --from-file dump ("-" = stdin), so that it is in memory once and
// parsed in place. `regular` tells whether it can be read again.
Status ReadDump(const std::string& path, DumpBuffer* buf, bool* regular = nullptr) {
  int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Error("cannot read cluster dump \"" + path +
                         "\": no such file or not readable; create one with `kubectl get "
                         "nodes,peers -o json > FILE`");
  }
  struct stat st;
  size_t cap = 1 << 16;
  bool is_reg = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular) *regular = is_reg && fd != STDIN_FILENO;
  if (is_reg && st.st_size > 0)
    cap = static_cast<size_t>(st.st_size) + 1;  // + 1: EOF seen without growing
  bool ok = buf->Grow(cap);
  while (ok) {
    if (buf->full() && !(ok = buf->Grow(buf->capacity() * 2))) break;
    ssize_t n = ::read(fd, buf->end(), buf->room());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf->Added(static_cast<size_t>(n));
  }
  if (fd != STDIN_FILENO) ::close(fd);
  if (!ok) return Status::Error("cannot read cluster dump \"" + path + "\": out of memory");
  return Status::Ok();
}

std::string DumpParseError(const std::string& path, const std::string& error) {
  return "cannot parse cluster dump \"" + path + "\": " + error +
         "; expected the output of `kubectl get nodes,peers -o json` (or -o yaml)";
}

// A ClusterBuilder that gives back the part of a dump file the decoder is
// done with; should the fast decoder give up, the file is read again for
// the reference decoder. (`buf` null: stdin or a pipe, nothing is released.)
class ReleasingBuilder : public ClusterBuilder {
 public:
  ReleasingBuilder(const GlobalOptions& opts, int64_t now, DumpBuffer* buf)
      : ClusterBuilder(opts, now), path_(opts.from_file), buf_(buf) {}
  bool OnConsumed(const char* upto) override { return buf_ && buf_->ReleaseBefore(upto); }
  std::optional<std::string_view> Refill() override {
    if (!buf_) return std::nullopt;
    buf_->Reset();
    if (!ReadDump(path_, buf_).ok()) return std::nullopt;
    return buf_->view();
  }

 private:
  std::string path_;
  DumpBuffer* buf_;
};

}  // namespace

Result<ClusterObjects> LoadObjects(const GlobalOptions& opts) {
  if (!opts.from_file.empty()) {
    std::string text;
    {
      DumpBuffer buf;
      if (auto s = ReadDump(opts.from_file, &buf); !s.ok()) return s;
      text.reserve(buf.view().size() + kJsonPadding);
      text.assign(buf.view());
    }
    auto objs = DecodeClusterObjectsPadded(text);
    if (!objs.ok())
      return Result<ClusterObjects>::Error(DumpParseError(opts.from_file, objs.error()));
    return objs;
  }
  if (g_live_loader) return g_live_loader(opts.kubeconfig);
  return Result<ClusterObjects>::Error(
      "this kgctl has no Kubernetes client (kgctl-full is missing); use --from-file DUMP");
}

namespace {

// Dump files from this size on are decoded as they are read, a batch of
// items at a time (ClusterDumpStream): a 100 MB `kubectl get nodes -o json`
// with status and managedFields is then never in memory whole. Smaller ones
// are read whole (the decoder is fastest on one buffer).
constexpr size_t kStreamFrom = size_t{16} << 20;

// The Cluster of a large regular dump file, streamed; nullopt when the file
// is not one, or the stream gave up (the caller then decodes it whole).
std::optional<Result<Cluster>> StreamDump(const GlobalOptions& opts, int64_t now) {
  if (opts.from_file == "-") return std::nullopt;
  int fd = ::open(opts.from_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<size_t>(st.st_size) < kStreamFrom) {
    ::close(fd);
    return std::nullopt;
  }
  ClusterBuilder b(opts, now);
  ClusterDumpStream stream(opts.topology_label, &b, size_t{64} << 10);
  constexpr size_t kPiece = size_t{64} << 10;
  bool ok = true;
  while (ok) {
    ssize_t n = ::read(fd, stream.Reserve(kPiece), kPiece);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = n == 0 && stream.Finish();
      break;
    }
    ok = stream.Commit(static_cast<size_t>(n));
  }
  ::close(fd);
  if (!ok) return std::nullopt;
  return b.Finish();
}

}  // namespace

Result<Cluster> LoadCluster(const GlobalOptions& opts, int64_t now) {
  if (opts.from_file.empty()) {
    auto objs = LoadObjects(opts);
    if (!objs.ok()) return objs.status();
    return BuildCluster(*objs, opts, now);
  }
  if (auto streamed = StreamDump(opts, now)) return std::move(*streamed);
  DumpBuffer buf;
  bool regular = false;
  if (auto s = ReadDump(opts.from_file, &buf, &regular); !s.ok()) return s;
  ReleasingBuilder b(opts, now, regular ? &buf : nullptr);
  if (auto s = VisitClusterDump(buf.view(), /*padded=*/true, opts.topology_label, &b); !s.ok())
    return Result<Cluster>::Error(DumpParseError(opts.from_file, s.message()));
  buf.Reset();  // the dump is gone before the mesh is built
  return b.Finish();
}

void SetLiveLoader(LiveLoader loader) { g_live_loader = loader; }

}  // namespace kilo::cli
