// A whole cluster dump, as `kgctl --from-file` reads it: DecodeClusterObjects
// (JSON, or YAML when the input does not start with '{' or '['), kgctl's
// translation (BuildCluster), Mesh::Build, then the view of the first ready
// node: Conf, AsPeer, PeerConf, Dot and the route plans of every
// encapsulation mode.

#include <cstdint>

#include "cli/cluster.h"
#include "core/objects_json.h"
#include "core/routes.h"
#include "core/topology.h"
#include "core/wgconf.h"
#include "fuzz_common.h"

using namespace kilo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
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
