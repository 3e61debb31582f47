// What kg installs equals core::PlanHost (issue 14): for every golden-sample
// cluster, host by host, for each encapsulation and compatibility mode, kg's
// reconcile runs against the stateful fakes, and what the fakes then hold
// (WireGuard peers, interface address, routes, rules, firewall rule set, CNI
// configuration) is compared with the HostPlan of that host, computed from
// the same cluster (as the API holds it after kg published its annotations).

#include "core/host_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent/agent.h"
#include "agent_env.h"
#include "core/objects_json.h"
#include "core/translate.h"
#include "fakes/wg/peers_text.h"

#ifndef KILO_GOLDEN_DIR
#error "KILO_GOLDEN_DIR must name ../shared/golden-sample"
#endif

namespace kilo::agent {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A key for the agent of `host` (its own; it publishes the public half).
Key AgentKey(const std::string& host) { return fixture::KeyFor(host, 0x40); }

struct Variant {
  Encapsulation enc;
  Compatibility compat;
  bool local;
};

// Runs kg for `host` of `cluster` with `v` and compares the fakes with PlanHost.
void CheckHost(const std::string& name, const ClusterObjects& cluster, const nlohmann::json& params,
               const std::string& host, const Variant& v, Granularity granularity) {
  SCOPED_TRACE(name + " host " + host + " granularity=" + GranularityName(granularity) +
               " encapsulate=" + EncapsulationName(v.enc) + " compatibility=" +
               CompatibilityName(v.compat) + " local=" + (v.local ? "true" : "false"));
  fixture::AgentEnv e;
  e.now = params["now"].get<int64_t>();
  const int64_t now = e.now;
  FakeBackend& backend = e.backend;
  for (const auto& n : cluster.nodes) backend.SetNode(n);
  for (const auto& p : cluster.peers) backend.SetPeer(p);
  // The host as the dump shows it: its internal IP and endpoint IP are what
  // kg finds on the host.
  std::vector<Warning> ignored;
  TranslateOptions topts;
  topts.topology_label = params["topology_label"].get<std::string>();
  const NodeObject* self = backend.Find(host);
  ASSERT_NE(self, nullptr);
  Node dumped = TranslateNode(*self, topts, &ignored);

  wg::FakeWireGuard& wg = e.wg;
  netlink::FakeNetlink& nl = e.nl;
  fw::FakeFirewall& fw = e.fw;
  FakeFS& files = e.fs;
  wg.AddDevice("kilo0");
  nl.AddLinkNow({0, "kilo0", "wireguard", 1420, false, false});
  nl.AddLinkNow({0, "tunl0", "ipip", 1480, true, false});
  nl.AddLinkNow({0, "eth0", "veth", 1500, true, false});
  AgentOptions& opts = e.opts;
  opts.hostname = host;
  opts.granularity = granularity;
  opts.subnet = *IPPrefix::Parse(params["subnet"].get<std::string>());
  opts.port = params["port"].get<int>();
  opts.topology_label = topts.topology_label;
  opts.encapsulate = v.enc;
  opts.compatibility = v.compat;
  opts.local = v.local;
  opts.mtu = 1420;
  AgentDeps& deps = e.deps;
  deps.private_key = AgentKey(host);
  if (dumped.internal_ip) {
    deps.internal_ip = *dumped.internal_ip;
    deps.internal_iface = "eth0";
    nl.AddAddressNow("eth0", *dumped.internal_ip);
  }
  deps.external_ip = dumped.endpoint && dumped.endpoint->has_ip() && !dumped.endpoint->has_dns()
                         ? dumped.endpoint->ip()
                         : *IPAddr::Parse("192.0.2.1");
  e.Rebuild();
  Agent& agent = *e.agent;
  ReconcileReport r = agent.Reconcile();
  if (!r.applied) {
    // Nothing installed: the host could not be planned either (e.g. no pod CIDR).
    EXPECT_TRUE(wg.Device("kilo0")->peers.empty()) << r.skipped_reason;
    EXPECT_TRUE(nl.routes().empty()) << r.skipped_reason;
    return;
  }
  for (const auto& e : r.errors) ADD_FAILURE() << "reconcile error: " << e;

  // The plan of the same host, from the cluster as the API now holds it.
  Snapshot snap = backend.Get();
  std::vector<Node> ready;
  std::vector<Peer> peers;
  for (const auto& o : snap.nodes) {
    Node n = TranslateNode(o, topts, &ignored);
    if (n.Ready(now)) ready.push_back(std::move(n));
  }
  for (const auto& o : snap.peers) {
    if (auto p = TranslatePeer(o, &ignored); p && p->Ready()) peers.push_back(std::move(*p));
  }
  MeshOptions mo;
  mo.granularity = opts.granularity;
  mo.subnet = opts.subnet;
  auto mesh = Mesh::Build(ready, peers, mo, nullptr);
  ASSERT_TRUE(mesh.ok()) << mesh.error();
  const Node* me = mesh->FindNode(host);
  ASSERT_NE(me, nullptr);
  HostOptions ho;
  ho.port = me->endpoint && me->endpoint->port() ? me->endpoint->port() : opts.port;
  auto topo = Topology::ForHost(*mesh, host, ho);
  ASSERT_TRUE(topo.has_value());
  const HostPlan plan = PlanHost(*topo, agent.PlanOptions());

  EXPECT_EQ(r.leader, plan.leader);
  EXPECT_EQ(wg::PeersText(wg.Device("kilo0")->peers), wg::PlannedPeersText(plan.wireguard));
  EXPECT_EQ(wg.Device("kilo0")->listen_port, plan.wireguard.listen_port);
  std::vector<std::string> addrs, want_addrs;
  auto listed = nl.ListAddresses();
  ASSERT_TRUE(listed.ok()) << listed.error();
  for (const auto& a : *listed)
    if (a.link_name == "kilo0" || a.link_name == "tunl0")
      addrs.push_back(a.link_name + " " + a.prefix.String());
  if (plan.interface_address) want_addrs.push_back("kilo0 " + plan.interface_address->String());
  if (plan.routing.tunnel_address && v.enc != Encapsulation::kNever)
    want_addrs.push_back("tunl0 " + plan.routing.tunnel_address->String());
  EXPECT_EQ(wg::SortedLines(addrs), wg::SortedLines(want_addrs));
  DevNames dn;
  dn.kilo = "kilo0";
  dn.priv = deps.internal_iface;
  dn.tunl = opts.tunnel_iface;
  std::vector<std::string> routes, want_routes, rules, want_rules;
  for (const auto& rt : nl.routes()) routes.push_back(rt.String());
  for (const auto& p : plan.installed_routes) want_routes.push_back(ToNetlinkRoute(p, dn).String());
  EXPECT_EQ(wg::SortedLines(routes), wg::SortedLines(want_routes));
  for (const auto& ru : nl.rules()) rules.push_back(ru.String());
  for (const auto& p : plan.routing.rules) want_rules.push_back(ToNetlinkRule(p, "kilo0").String());
  EXPECT_EQ(wg::SortedLines(rules), wg::SortedLines(want_rules));
  ASSERT_TRUE(fw.installed().has_value());
  EXPECT_TRUE(*fw.installed() == plan.firewall) << fw::RenderNft(*fw.installed()) << "\n--- plan\n"
                                                << fw::RenderNft(plan.firewall);
  auto cni = files.files.find(opts.cni_path);
  EXPECT_EQ(cni != files.files.end(), plan.cni_conflist.has_value());
  if (cni != files.files.end() && plan.cni_conflist) {
    EXPECT_EQ(cni->second, *plan.cni_conflist);
  }
}

TEST(HostPlan, KgInstallsExactlyPlanHostOnEveryGoldenSampleHost) {
  const Variant variants[] = {
      {Encapsulation::kNever, Compatibility::kNone, true},
      {Encapsulation::kCrossSubnet, Compatibility::kNone, true},
      {Encapsulation::kAlways, Compatibility::kNone, true},
      {Encapsulation::kAlways, Compatibility::kNone, false},
      {Encapsulation::kAlways, Compatibility::kFlannel, true},
      {Encapsulation::kAlways, Compatibility::kCilium, true},
      {Encapsulation::kAlways, Compatibility::kCilium, false},
  };
  std::vector<fs::path> cases;
  for (const auto& e : fs::directory_iterator(KILO_GOLDEN_DIR))
    if (e.is_directory() && fs::exists(e.path() / "input.json")) cases.push_back(e.path());
  std::sort(cases.begin(), cases.end());
  ASSERT_FALSE(cases.empty()) << "no golden-sample cases in " << KILO_GOLDEN_DIR;
  int hosts = 0, cross = 0;
  for (const auto& dir : cases) {
    auto params = nlohmann::json::parse(Slurp(dir / "params.json"));
    auto objects = DecodeClusterObjects(Slurp(dir / "input.json"));
    ASSERT_TRUE(objects.ok()) << dir << ": " << objects.error();
    auto granularity = ParseGranularity(params["mesh_granularity"].get<std::string>());
    ASSERT_TRUE(granularity.has_value()) << dir;
    // Cross granularity (SPEC 11.2) as a third one, on each input once (the
    // cases come in pairs with the same input: location, then full).
    const bool also_cross = *granularity == Granularity::kLocation;
    for (const auto& n : objects->nodes) {
      ++hosts;
      cross += also_cross;
      for (const auto& v : variants) {
        CheckHost(dir.filename().string(), *objects, params, n.name, v, *granularity);
        if (also_cross)
          CheckHost(dir.filename().string(), *objects, params, n.name, v, Granularity::kCross);
      }
      if (::testing::Test::HasFailure()) return;  // one host's diff is enough to read
    }
  }
  ASSERT_GT(cross, 0) << "no host checked in cross granularity";
  std::cout << "checked " << hosts << " hosts of " << cases.size() << " clusters in "
            << std::size(variants) << " modes each, " << cross << " of them in cross too\n";
}

}  // namespace
}  // namespace kilo::agent
