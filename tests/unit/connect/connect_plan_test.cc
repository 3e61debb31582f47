// `kgctl connect` installs one plan, core::PlanHost for its Peer (issue 14):
// for every Peer of every golden-sample cluster,
//  - connect's plan is PlanHost's for the same cluster, built as `kgctl
//    showconf peer` builds its view (last ready node, --port);
//  - its WireGuard peers are what Kilo's `kgctl showconf peer` prints
//    (the golden peer-NAME.ini);
//  - what the connector installs through the stateful fakes (WireGuard
//    device, interface address, routes) equals the plan, and installing it
//    again makes no write.

#include "cli/connect_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/connect_apply.h"
#include "core/host_plan.h"
#include "core/objects_json.h"
#include "fakes/netlink/fake_netlink.h"
#include "fakes/wg/fake_wireguard.h"
#include "fakes/wg/peers_text.h"
#include "netlink/from_plan.h"

#ifndef KILO_GOLDEN_DIR
#error "KILO_GOLDEN_DIR must name ../shared/golden-sample"
#endif

namespace kilo::cli {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Everything a HostPlan holds, as text.
std::string PlanText(const HostPlan& p) {
  std::string out = std::string("leader ") + (p.leader ? "true" : "false") + "\n";
  out += "address " + (p.interface_address ? p.interface_address->String() : "-") + "\n";
  out += p.wireguard.Render();
  for (const auto& n : p.wireguard_notes) out += "# " + n + "\n";
  DevNames names;
  out += "[routing]\n" + RenderPlan(p.routing, names);
  out += "[installed]\n";
  for (const auto& r : p.installed_routes) out += RenderRoute(r, names) + "\n";
  for (const auto& n : p.route_notes) out += "# " + n + "\n";
  out += "[firewall] " + std::to_string(p.firewall.chains.size()) + " chains " +
         std::to_string(p.firewall.rules.size()) + " rules\n";
  out += "[cni] " + p.cni_conflist.value_or("-") + "\n";
  return out;
}

struct Case {
  std::string name;
  ClusterObjects objects;
  GlobalOptions g;
  int64_t now;
};

std::vector<Case> GoldenCases() {
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(KILO_GOLDEN_DIR))
    if (e.is_directory() && fs::exists(e.path() / "input.json")) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  std::vector<Case> out;
  for (const auto& dir : dirs) {
    auto params = nlohmann::json::parse(Slurp(dir / "params.json"));
    auto objects = DecodeClusterObjects(Slurp(dir / "input.json"));
    EXPECT_TRUE(objects.ok()) << dir << ": " << objects.error();
    if (!objects.ok()) continue;
    Case c;
    c.name = dir.filename().string();
    c.objects = std::move(*objects);
    c.g.port = params["port"].get<int>();
    c.g.topology_label = params["topology_label"].get<std::string>();
    if (params["mesh_granularity"].is_string())
      c.g.granularity = params["mesh_granularity"].get<std::string>();
    c.now = params["now"].get<int64_t>();
    out.push_back(std::move(c));
  }
  return out;
}

// The ready Peers of a case, with connect's configuration for each.
std::vector<ConnectConfig> PeerConfigs(const Case& c) {
  auto cluster = BuildCluster(c.objects, c.g, c.now);
  std::vector<ConnectConfig> out;
  if (!cluster.ok()) return out;
  for (const auto& p : cluster->ReadyPeers()) {
    ConnectOptions o;
    o.peer_name = p.name;
    if (!p.allowed_ips.empty()) o.allowed_ip = p.allowed_ips.front().String();
    auto cfg = ValidateConnectOptions(o, "host");
    if (!cfg.ok()) continue;  // a Peer name kgctl connect refuses
    out.push_back(*cfg);
  }
  return out;
}

// PlanHost for the Peer, from the cluster as `kgctl showconf peer` sees it.
std::optional<HostPlan> ShowconfViewPlan(const Case& c, const ConnectConfig& cfg) {
  auto cluster = BuildCluster(c.objects, c.g, c.now);
  if (!cluster.ok() || cluster->LastReadyNode().empty()) return std::nullopt;
  const std::string host = cluster->LastReadyNode();
  auto mesh = TakeMesh(*cluster, cluster->subnet);
  if (!mesh.ok()) return std::nullopt;
  HostOptions ho;
  ho.port = c.g.port;
  auto t = Topology::ForHost(*mesh, host, ho);
  if (!t) return std::nullopt;
  PeerHostPlanOptions po;
  po.interface_address = cfg.allowed_ip;
  return PlanHost(*t, cfg.peer_name, po);
}

TEST(ConnectPlan, IsPlanHostOfThePeerOnEveryGoldenSamplePeer) {
  int peers = 0;
  for (const auto& c : GoldenCases()) {
    for (const auto& cfg : PeerConfigs(c)) {
      SCOPED_TRACE(c.name + " peer " + cfg.peer_name);
      auto st = ComputeConnectState(c.objects, c.g, cfg, c.now);
      ASSERT_TRUE(st.ok()) << st.error();
      auto want = ShowconfViewPlan(c, cfg);
      ASSERT_TRUE(want.has_value());
      EXPECT_EQ(PlanText(st->plan), PlanText(*want));
      ++peers;
    }
  }
  EXPECT_GT(peers, 0) << "no golden-sample case has a ready Peer";
  std::cout << "compared the plans of " << peers << " Peers\n";
}

// The [Peer] blocks of a rendered config: public key -> (the block without
// its AllowedIPs line, the allowed IPs), in order.
std::vector<std::pair<std::string, std::vector<std::string>>> Blocks(const std::string& ini) {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  std::istringstream in(ini);
  std::string line;
  while (std::getline(in, line)) {
    if (line == "[Peer]") {
      out.push_back({line + "\n", {}});
      continue;
    }
    if (out.empty()) continue;
    const std::string aips = "AllowedIPs = ";
    if (line.rfind(aips, 0) == 0) {
      std::istringstream list(line.substr(aips.size()));
      std::string a;
      while (std::getline(list, a, ','))
        out.back().second.push_back(a.substr(a.find_first_not_of(' ')));
    } else {
      out.back().first += line + "\n";
    }
  }
  return out;
}

TEST(ConnectPlan, WireGuardPeersAreShowconfPeerOfEveryGoldenSamplePeer) {
  int compared = 0, noted = 0;
  for (const auto& c : GoldenCases()) {
    for (const auto& cfg : PeerConfigs(c)) {
      const fs::path golden =
          fs::path(KILO_GOLDEN_DIR) / c.name / ("peer-" + cfg.peer_name + ".ini");
      if (!fs::exists(golden)) continue;
      SCOPED_TRACE(c.name + " peer " + cfg.peer_name);
      auto st = ComputeConnectState(c.objects, c.g, cfg, c.now);
      ASSERT_TRUE(st.ok()) << st.error();
      WgConf peers_only;
      peers_only.peers = st->plan.wireguard.peers;
      auto got = Blocks(peers_only.Render());
      auto want = Blocks(Slurp(golden));
      ASSERT_EQ(got.size(), want.size());
      // Kilo's [Peer]s, less the allowed IPs the plan notes as held by a
      // later peer (a WireGuard device keeps each network on one peer).
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(got[i].first, want[i].first);
        std::vector<std::string> kept;
        for (const auto& a : want[i].second) {
          const std::string key = want[i].first.substr(want[i].first.find("PublicKey = ") + 12);
          const std::string note = "allowed IP " + a + " of peer " + key.substr(0, key.find('\n')) +
                                   " is held by a later peer (WireGuard keeps one)";
          if (std::find(st->plan.wireguard_notes.begin(), st->plan.wireguard_notes.end(), note) !=
              st->plan.wireguard_notes.end()) {
            ++noted;
            continue;
          }
          kept.push_back(a);
        }
        EXPECT_EQ(got[i].second, kept) << want[i].first;
      }
      ++compared;
    }
  }
  EXPECT_GT(compared, 0) << "no golden peer-NAME.ini found";
  std::cout << "compared " << compared << " Peers with Kilo's showconf peer; " << noted
            << " allowed IPs held by a later peer\n";
}

// Installs `st` through the fakes and compares them with the plan.
void CheckInstalled(const ConnectState& st, const ConnectConfig& cfg) {
  wg::FakeWireGuard wg;
  netlink::FakeNetlink nl;
  wg.AddDevice(cfg.iface);
  nl.AddLinkNow({0, cfg.iface, "wireguard", 1420, false, false});
  // A route of another owner on the interface, and one of kg's table: kept.
  netlink::Route foreign;
  foreign.dst = *IPPrefix::Parse("192.0.2.0/24");
  foreign.dev = cfg.iface;
  foreign.protocol = netlink::kProtoBoot;
  nl.AddRouteNow(foreign);
  ConnectApplyDeps deps;
  deps.nl = &nl;
  deps.wg = &wg;
  deps.lookup = [](const std::string&) { return std::optional<IPAddr>(); };
  ConnectApplyOptions ao;
  ao.iface = cfg.iface;
  ao.mtu = cfg.mtu;
  ao.private_key = Key::GeneratePrivate();
  ConnectApplier applier(deps, ao);
  ConnectApplyReport r = applier.Apply(st, 0);
  for (const auto& e : r.errors) ADD_FAILURE() << "apply error: " << e;

  const wg::WgDevice& dev = *wg.Device(cfg.iface);
  EXPECT_EQ(wg::PeersText(dev.peers), wg::PlannedPeersText(st.plan.wireguard));
  EXPECT_EQ(dev.listen_port, st.plan.wireguard.listen_port);
  EXPECT_TRUE(dev.private_key == ao.private_key);
  std::vector<std::string> addrs, want_addrs;
  auto listed = nl.ListAddresses();
  ASSERT_TRUE(listed.ok()) << listed.error();
  for (const auto& a : *listed)
    if (a.link_name == cfg.iface) addrs.push_back(a.prefix.String());
  want_addrs.push_back(st.plan.interface_address->String());
  EXPECT_EQ(wg::SortedLines(addrs), wg::SortedLines(want_addrs));
  DevNames names;
  names.kilo = cfg.iface;
  std::vector<std::string> routes, want_routes;
  for (const auto& rt : nl.routes()) routes.push_back(rt.String());
  for (const auto& p : st.plan.installed_routes)
    want_routes.push_back(netlink::ToNetlinkRoute(p, names).String());
  want_routes.push_back(foreign.String());
  EXPECT_EQ(wg::SortedLines(routes), wg::SortedLines(want_routes));
  auto link = nl.FindLink(cfg.iface);
  ASSERT_TRUE(link.ok() && link->has_value());
  EXPECT_TRUE((*link)->up);
  EXPECT_EQ((*link)->mtu, cfg.mtu);

  // The same plan again: nothing to write.
  wg.ClearWrites();
  nl.ClearWrites();
  ConnectApplyReport again = applier.Apply(st, 0);
  EXPECT_TRUE(again.errors.empty());
  EXPECT_EQ(again.wg_writes + again.addr_writes + again.routes_added + again.routes_removed, 0);
  EXPECT_TRUE(wg.writes().empty());
  EXPECT_TRUE(nl.writes().empty()) << nl.writes().front();

  // Clean-up removes the connector's routes only.
  ASSERT_TRUE(applier.RemoveRoutes().ok());
  ASSERT_EQ(nl.routes().size(), 1u);
  EXPECT_EQ(nl.routes().front().String(), foreign.String());
}

TEST(ConnectPlan, ConnectInstallsExactlyItsPlanOnEveryGoldenSamplePeer) {
  int peers = 0;
  for (const auto& c : GoldenCases()) {
    for (auto cfg : PeerConfigs(c)) {
      SCOPED_TRACE(c.name + " peer " + cfg.peer_name);
      // With --allowed-ips too: a service CIDR routed through the mesh.
      cfg.allowed_ips = {*IPPrefix::Parse("10.96.0.0/12")};
      auto st = ComputeConnectState(c.objects, c.g, cfg, c.now);
      ASSERT_TRUE(st.ok()) << st.error();
      CheckInstalled(*st, cfg);
      if (::testing::Test::HasFailure()) return;  // one Peer's diff is enough to read
      ++peers;
    }
  }
  EXPECT_GT(peers, 0);
  std::cout << "installed the plans of " << peers << " Peers\n";
}

}  // namespace
}  // namespace kilo::cli
