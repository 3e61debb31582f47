// kilo_bench: the mesh engine on synthetic clusters (bench/README.md).
//
//   ShowConf/N/L/P   `kgctl showconf node X` minus I/O: decode the dump,
//                    translate, Mesh::Build (nodes moved in), ForHost,
//                    RenderConf (streamed, as kgctl writes it).
//   AllConfs/N/L/P   what all agents of the cluster compute together: one
//                    Mesh::Build, then ForHost + ForEachConfPeer for every
//                    ready host (translation done once, outside the loop).
//   Graph/N/L/P      `kgctl graph` minus I/O: decode, translate, build, Dot().
//                    GraphStreamed: Dot() in 64 KiB pieces, as kgctl writes it.
//   DotOnly/N/L/P    Dot() alone on a built mesh.
//   Stage*           the stages of ShowConf (Decode = VisitClusterDump alone,
//                    Load = decode + translate, LoadReference = the
//                    reference DecodeClusterObjects + BuildCluster that kgctl used before).
//   DecodeStatus     decode + translate of a 5,000-node dump with kubelet
//                    status and managedFields (~100 MB, like a real cluster).
//
// N = nodes, L = locations (0 = full granularity), P = Peers. Dumps are made
// by scripts/gen-cluster.py (deterministic) into $KILO_BENCH_DIR, or into a
// fresh temporary directory that is removed at exit.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>

#include "cli/cluster.h"
#include "core/objects_json.h"
#include "core/topology.h"

namespace kilo {
namespace {

constexpr int64_t kNow = 1767225600;

std::string& DataDir() {
  static std::string dir;
  return dir;
}
bool g_remove_dir = false;

std::string DumpPath(int nodes, int locations, int peers, bool status) {
  std::string name = "n" + std::to_string(nodes) + "-l" + std::to_string(locations) + "-p" +
                     std::to_string(peers) + (status ? "-status" : "") + ".json";
  std::string path = DataDir() + "/" + name;
  if (!std::filesystem::exists(path)) {
    std::string cmd = std::string(KILO_PYTHON) + " " + KILO_GEN_CLUSTER + " --nodes " +
                      std::to_string(nodes) + " --locations " + std::to_string(locations) +
                      " --peers " + std::to_string(peers) + " --now " + std::to_string(kNow) +
                      (status ? " --status" : "") + " -o " + path + ".tmp && mv " + path + ".tmp " +
                      path;
    if (std::system(cmd.c_str()) != 0) {
      std::fprintf(stderr, "kilo_bench: generating %s failed: %s\n", name.c_str(), cmd.c_str());
      std::exit(1);
    }
  }
  return path;
}

const std::string& Dump(int nodes, int locations, int peers, bool status = false) {
  static std::map<std::tuple<int, int, int, bool>, std::string> cache;
  auto k = std::make_tuple(nodes, locations, peers, status);
  auto it = cache.find(k);
  if (it != cache.end()) return it->second;
  std::ifstream f(DumpPath(nodes, locations, peers, status), std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  // With room for the parser's padding, as kgctl reads a dump.
  std::string& text = cache[k];
  text.reserve(ss.str().size() + kJsonPadding);
  text = ss.str();
  return text;
}

cli::Cluster Translate(const ClusterObjects& objs) {
  cli::GlobalOptions g;
  auto c = cli::BuildCluster(objs, g, kNow);
  if (!c.ok()) {
    std::fprintf(stderr, "kilo_bench: %s\n", c.error().c_str());
    std::exit(1);
  }
  return std::move(*c);
}

// What kgctl does with a dump (cli::LoadCluster minus the file read).
cli::Cluster Load(const std::string& text) {
  cli::GlobalOptions g;
  auto c = cli::ClusterFromDump(text, text.capacity() - text.size() >= kJsonPadding, g, kNow);
  if (!c.ok()) {
    std::fprintf(stderr, "kilo_bench: %s\n", c.error().c_str());
    std::exit(1);
  }
  return std::move(*c);
}

// The reference path: DecodeClusterObjects, then BuildCluster.
cli::Cluster LoadReference(const std::string& text) {
  auto objs = DecodeClusterObjects(text);
  if (!objs.ok()) {
    std::fprintf(stderr, "kilo_bench: %s\n", objs.error().c_str());
    std::exit(1);
  }
  return Translate(*objs);
}

// Counts what VisitClusterDump hands over, translating nothing.
class CountingVisitor : public ClusterDumpVisitor {
 public:
  void OnNode(const NodeFields& f) override { n += f.name.size(); }
  void OnPeer(PeerObject p) override { n += p.name.size(); }
  void Restart() override { n = 0; }
  size_t n = 0;
};

// What kgctl does: the ready nodes and Peers moved out of `c` into the mesh.
Mesh TakeMesh(cli::Cluster& c) {
  auto m = cli::TakeMesh(c, c.subnet);
  if (!m.ok()) {
    std::fprintf(stderr, "kilo_bench: %s\n", m.error().c_str());
    std::exit(1);
  }
  return std::move(*m);
}

// A copy of the ready nodes and Peers into the mesh, for the benchmarks that
// build it again and again from one translation.
Mesh BuildMesh(const cli::Cluster& c) {
  MeshOptions mo;
  mo.granularity = c.granularity;
  mo.subnet = c.subnet;
  auto m = Mesh::Build(c.ReadyNodes(), c.ReadyPeers(), mo, nullptr);
  if (!m.ok()) {
    std::fprintf(stderr, "kilo_bench: %s\n", m.error().c_str());
    std::exit(1);
  }
  return std::move(*m);
}

void SetLabels(benchmark::State& state, const std::string& text) {
  state.counters["dump_MB"] = static_cast<double>(text.size()) / 1e6;
}

// A leader in the middle of the name order: node-00000 leads region-0.
std::string Host(const Mesh& mesh) {
  return mesh.segments()[mesh.segments().size() / 2].leader_name();
}

void BM_ShowConf(benchmark::State& state) {
  const std::string& text = Dump(state.range(0), state.range(1), state.range(2));
  std::string host;
  {
    cli::Cluster c = Load(text);
    host = Host(BuildMesh(c));
  }
  size_t bytes = 0;
  for (auto _ : state) {
    // As `kgctl showconf node`: the config streamed in 64 KiB pieces (here
    // to a sink that counts them).
    cli::Cluster c = Load(text);
    Mesh mesh = TakeMesh(c);
    auto t = Topology::ForHost(mesh, host);
    bytes = 0;
    t->RenderConf([&](std::string_view piece) { bytes += piece.size(); });
    benchmark::DoNotOptimize(bytes);
  }
  SetLabels(state, text);
  state.counters["conf_KB"] = static_cast<double>(bytes) / 1e3;
}

void BM_AllConfs(benchmark::State& state) {
  const std::string& text = Dump(state.range(0), state.range(1), state.range(2));
  cli::Cluster c = Load(text);
  std::vector<std::string> hosts;
  for (const auto& n : c.nodes)
    if (n.Ready(c.now)) hosts.push_back(n.name);
  uint64_t peers = 0;
  for (auto _ : state) {
    Mesh mesh = BuildMesh(c);
    uint64_t sum = 0;
    peers = 0;
    for (const auto& h : hosts) {
      // Every host, leader or not (a conservative upper bound: kg applies
      // the peers on leaders only).
      auto t = Topology::ForHost(mesh, h);
      t->ForEachConfPeer([&](const Topology::PeerView& v) {
        ++peers;
        sum += v.allowed_ips->size() + (v.extra_allowed_ips ? v.extra_allowed_ips->size() : 0);
        sum += v.endpoint ? v.endpoint->port() : 0;
        sum += v.public_key->bytes()[0];
      });
    }
    benchmark::DoNotOptimize(sum);
  }
  SetLabels(state, text);
  state.counters["hosts"] = static_cast<double>(hosts.size());
  state.counters["wg_peers"] = static_cast<double>(peers);
}

// decode..Dot, the DOT handed to `render` (returns its size in bytes).
template <typename Render>
void GraphBench(benchmark::State& state, Render render) {
  const std::string& text = Dump(state.range(0), state.range(1), state.range(2));
  size_t bytes = 0;
  for (auto _ : state) {
    cli::Cluster c = Load(text);
    std::string host = c.LastReadyNode();
    Mesh mesh = TakeMesh(c);
    auto t = Topology::ForHost(mesh, host);
    bytes = render(*t);
    benchmark::DoNotOptimize(bytes);
  }
  SetLabels(state, text);
  state.counters["dot_MB"] = static_cast<double>(bytes) / 1e6;
}

void BM_Graph(benchmark::State& state) {
  GraphBench(state, [](const Topology& t) {
    std::string out = t.Dot();
    benchmark::DoNotOptimize(out.data());
    return out.size();
  });
}

void BM_DotOnly(benchmark::State& state) {
  const std::string& text = Dump(state.range(0), state.range(1), state.range(2));
  cli::Cluster c = Load(text);
  Mesh mesh = BuildMesh(c);
  auto t = Topology::ForHost(mesh, c.LastReadyNode());
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = t->Dot();
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["dot_MB"] = static_cast<double>(bytes) / 1e6;
}

// What kgctl graph does since it streams: the DOT in 64 KiB pieces to a
// sink that only counts them (no 0.5 GB string at 5,000 nodes, full).
void BM_GraphStreamed(benchmark::State& state) {
  GraphBench(state, [](const Topology& t) {
    size_t bytes = 0;
    t.Dot([&](std::string_view piece) { bytes += piece.size(); });
    return bytes;
  });
}

// The stages of ShowConf, one by one.
void BM_StageDecode(benchmark::State& state) {
  const std::string& text = Dump(state.range(0), state.range(1), state.range(2));
  for (auto _ : state) {
    CountingVisitor v;
    (void)VisitClusterDump(text, true, kDefaultTopologyLabel, &v);
    benchmark::DoNotOptimize(v.n);
  }
}

// Decode + translate (ClusterFromDump), what BM_StageDecode is part of.
void BM_StageLoad(benchmark::State& state) {
  const std::string& text = Dump(state.range(0), state.range(1), state.range(2));
  for (auto _ : state) {
    cli::Cluster c = Load(text);
    benchmark::DoNotOptimize(c.nodes.data());
  }
}

// The reference decoder (DecodeClusterObjects: DOM validation, then the
// On-Demand decoder into ClusterObjects) + BuildCluster,
// which kgctl used before ClusterFromDump.
void BM_StageLoadReference(benchmark::State& state) {
  const std::string& text = Dump(state.range(0), state.range(1), state.range(2));
  for (auto _ : state) {
    cli::Cluster c = LoadReference(text);
    benchmark::DoNotOptimize(c.nodes.data());
  }
}

void BM_StageBuild(benchmark::State& state) {
  const std::string& text = Dump(state.range(0), state.range(1), state.range(2));
  cli::Cluster c = Load(text);
  for (auto _ : state) {
    Mesh mesh = BuildMesh(c);
    benchmark::DoNotOptimize(mesh.segments().data());
  }
}

void BM_StageConf(benchmark::State& state) {
  const std::string& text = Dump(state.range(0), state.range(1), state.range(2));
  cli::Cluster c = Load(text);
  Mesh mesh = BuildMesh(c);
  auto t = Topology::ForHost(mesh, Host(mesh));
  for (auto _ : state) {
    std::string out = t->Conf().Render();
    benchmark::DoNotOptimize(out.data());
  }
}

void BM_DecodeStatus(benchmark::State& state) {
  const std::string& text = Dump(state.range(0), 10, 0, /*status=*/true);
  size_t nodes = 0;
  for (auto _ : state) {
    cli::Cluster c = Load(text);
    nodes = c.nodes.size();
    benchmark::DoNotOptimize(c.nodes.data());
  }
  SetLabels(state, text);
  state.counters["nodes"] = static_cast<double>(nodes);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void Sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"nodes", "locs", "peers"});
  for (int peers : {0, 1000})
    for (int locs : {10, 0})
      for (int nodes : {100, 1000, 5000}) b->Args({nodes, locs, peers});
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_ShowConf)->Apply(Sizes);
BENCHMARK(BM_AllConfs)->Apply(Sizes);
BENCHMARK(BM_Graph)->Apply(Sizes);
BENCHMARK(BM_DotOnly)->Apply(Sizes);
BENCHMARK(BM_GraphStreamed)->Apply(Sizes);
void Large(benchmark::internal::Benchmark* b) {
  b->ArgNames({"nodes", "locs", "peers"});
  b->Args({5000, 10, 0})->Args({5000, 0, 0})->Args({5000, 0, 1000});
  b->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_StageDecode)->Apply(Large);
BENCHMARK(BM_StageLoad)->Apply(Large);
BENCHMARK(BM_StageLoadReference)->Apply(Large);
BENCHMARK(BM_StageBuild)->Apply(Large);
BENCHMARK(BM_StageConf)->Apply(Large);
BENCHMARK(BM_DecodeStatus)->ArgNames({"nodes"})->Arg(5000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kilo

int main(int argc, char** argv) {
  if (const char* d = std::getenv("KILO_BENCH_DIR"); d && *d) {
    kilo::DataDir() = d;
    std::filesystem::create_directories(d);
  } else {
    char tmpl[] = "/tmp/kilo-bench-XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::perror("kilo_bench: mkdtemp");
      return 1;
    }
    kilo::DataDir() = tmpl;
    kilo::g_remove_dir = true;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (kilo::g_remove_dir) std::filesystem::remove_all(kilo::DataDir());
  return 0;
}
