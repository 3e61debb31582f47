// A whole cluster dump, as `kgctl --from-file` reads it: ClusterDumpStream
// against VisitClusterDump (the same calls whenever the stream decodes it),
// then DecodeClusterObjects
// (JSON, or YAML when the input does not start with '{' or '['), kgctl's
// translation (BuildCluster), Mesh::Build, then the view of the first ready
// node: Conf, AsPeer, PeerConf, Dot and the route plans of every
// encapsulation mode.

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "../unit/core/dump_recorder.h"
#include "cli/cluster.h"
#include "core/objects_json.h"
#include "core/routes.h"
#include "core/topology.h"
#include "core/wgconf.h"
#include "fuzz_common.h"

using namespace kilo;

namespace {

// ClusterDumpStream against VisitClusterDump: whenever the stream decodes
// the input (in pieces of 1-64 bytes, batches of 1-256 bytes, chosen by the
// input), the whole decoder succeeds with the same visitor calls.
void CheckStream(const uint8_t* data, size_t size) {
  testutil::DumpRecorder whole, streamed;
  Status ws = VisitClusterDump(AsView(data, size), false, kDefaultTopologyLabel, &whole);
  size_t piece = size ? 1 + data[0] % 64 : 1;
  size_t batch = size > 1 ? 1 + data[1] % 256 : 1;
  ClusterDumpStream stream(kDefaultTopologyLabel, &streamed, batch);
  bool ok = true;
  for (size_t off = 0; ok && off < size; off += piece) {
    size_t n = std::min(piece, size - off);
    std::memcpy(stream.Reserve(n), data + off, n);
    ok = stream.Commit(n);
  }
  if (!(ok && stream.Finish())) return;
  FUZZ_CHECK(ws.ok(), "streamed, but the whole decoder fails: %s", ws.message().c_str());
  FUZZ_CHECK(whole.log == streamed.log, "streamed differently:\n%s\nwhole:\n%s",
             streamed.log.c_str(), whole.log.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckStream(data, size);
  auto objs = DecodeClusterObjects(AsView(data, size));
  if (!objs.ok()) {
    FUZZ_CHECK(!objs.error().empty(), "error without a message");
    return 0;
  }
  cli::GlobalOptions g;
  auto c = cli::BuildCluster(*objs, g, 1767225600);
  if (!c.ok()) return 0;
  auto ready = c->ReadyNodes();
  if (ready.empty()) return 0;
  std::string first = ready.front().name;
  MeshOptions mo;
  mo.granularity = c->granularity;
  mo.subnet = c->subnet;
  std::vector<Warning> warnings;
  auto mesh = Mesh::Build(std::move(ready), c->ReadyPeers(), mo, &warnings);
  if (!mesh.ok()) return 0;
  auto t = Topology::ForHost(*mesh, first);
  FUZZ_CHECK(t.has_value(), "ready node %s not in the mesh", first.c_str());
  WgConf conf = t->Conf();
  std::string ini = conf.Render();
  WgConf back = WgConf::Parse(ini);
  FUZZ_CHECK(back.peers == conf.peers, "Conf does not parse back:\n%s", ini.c_str());
  if (auto p = t->AsPeer()) {
    WgConf one;
    one.peers.push_back(*p);
    (void)one.Render();
  }
  if (!mesh->peers().empty()) (void)t->PeerConf(mesh->peers().front().name).Render();
  std::string dot = t->Dot();
  FUZZ_CHECK(dot.rfind("digraph kilo {", 0) == 0, "bad graph");
  for (auto enc : {Encapsulation::kNever, Encapsulation::kCrossSubnet, Encapsulation::kAlways}) {
    for (bool local : {true, false}) {
      RouteOptions ro;
      ro.encapsulate = enc;
      ro.local = local;
      (void)RenderPlan(PlanRoutes(*t, ro), DevNames{});
    }
  }
  return 0;
}
