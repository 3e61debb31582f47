// Dual-stack (SPEC 11.3): pod CIDRs from spec.podCIDRs through the decoders
// and the translation; IPv6 WireGuard IPs from --subnet6; IPv6 in AllowedIPs,
// routes, firewall rules and the CNI configuration only towards segments
// whose leaders advertise kg.kilo.squat.ai/dual-stack; nothing new without
// IPv6 input.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/cni.h"
#include "core/firewall_plan.h"
#include "core/host_plan.h"
#include "core/objects_json.h"
#include "core/peer_routes.h"
#include "core/routes.h"
#include "core/topology.h"
#include "core/translate.h"
#include "dump_recorder.h"
#include "test_util.h"

namespace kilo {
namespace {

using testutil::Join;
using testutil::N;
using testutil::P;

// A dual-stack node: IPv4 pod CIDR `pod`, IPv6 pod CIDR `pod6` ("" = none),
// advertising dual-stack when `kg`.
Node DN(const std::string& name, const std::string& location, const std::string& endpoint,
        const std::string& internal, const std::string& pod, const std::string& pod6, uint8_t key,
        bool kg) {
  Node n = N(name, location, endpoint, internal, pod, key);
  if (!pod6.empty()) n.extra_subnets.push_back(P(pod6).Network());
  n.dual_stack = kg;
  return n;
}

Mesh Build(std::vector<Node> nodes, const char* subnet6 = nullptr,
           Granularity g = Granularity::kLocation, std::vector<Warning>* warnings = nullptr) {
  MeshOptions mo;
  mo.granularity = g;
  if (subnet6) mo.subnet6 = P(subnet6);
  auto m = Mesh::Build(std::move(nodes), {}, mo, warnings);
  EXPECT_TRUE(m.ok()) << m.error();
  return std::move(m.value());
}

// Three locations: a and b run kg with IPv6 pod CIDRs; c is led by a Go agent
// (no dual-stack annotation) although its node has an IPv6 pod CIDR.
std::vector<Node> ThreeLocations() {
  return {DN("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", "fd00:1::/64", 1, true),
          DN("a2", "a", "1.1.1.2:51820", "10.0.1.2/24", "10.244.2.0/24", "fd00:2::/64", 2, true),
          DN("b1", "b", "2.2.2.1:51820", "10.0.2.1/24", "10.244.3.0/24", "fd00:3::/64", 3, true),
          DN("c1", "c", "3.3.3.1:51820", "10.0.3.1/24", "10.244.4.0/24", "fd00:4::/64", 4, false)};
}

TEST(DualStackTranslateTest, PodCIDRsGiveThePodCIDRAndTheOtherFamilies) {
  const struct {
    const char* name;
    std::string pod_cidr;
    std::vector<std::string> pod_cidrs;
    const char* want_subnet;
    const char* want_extra;
    int want_warnings;
  } cases[] = {
      {"podCIDR and podCIDRs: podCIDR stays Kilo's, the IPv6 one is extra",
       "10.244.1.0/24",
       {"10.244.1.0/24", "fd00:1::/64"},
       "10.244.1.0/24",
       "fd00:1::/64",
       0},
      {"podCIDRs only: the first is the pod CIDR",
       "",
       {"10.244.1.0/24", "fd00:1::/64"},
       "10.244.1.0/24",
       "fd00:1::/64",
       0},
      {"IPv6 first (an IPv6-primary cluster): Kilo's podCIDR is IPv6",
       "fd00:1::/64",
       {"fd00:1::/64", "10.244.1.0/24"},
       "fd00:1::/64",
       "10.244.1.0/24",
       0},
      {"host bits dropped",
       "",
       {"10.244.1.7/24", "fd00:1::9/64"},
       "10.244.1.0/24",
       "fd00:1::/64",
       0},
      {"a bad entry is reported and skipped",
       "10.244.1.0/24",
       {"10.244.1.0/24", "nonsense", "fd00:1::/64"},
       "10.244.1.0/24",
       "fd00:1::/64",
       1},
      {"no podCIDRs: as Kilo", "10.244.1.0/24", {}, "10.244.1.0/24", "", 0},
      {"a second CIDR of a family is reported and skipped",
       "10.244.1.0/24",
       {"10.244.1.0/24", "10.244.9.0/24", "fd00:1::/64", "fd00:9::/64"},
       "10.244.1.0/24",
       "fd00:1::/64",
       2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    NodeObject o;
    o.name = "n1";
    o.pod_cidr = c.pod_cidr;
    o.pod_cidrs = c.pod_cidrs;
    std::vector<Warning> w;
    Node n = TranslateNode(o, TranslateOptions{}, &w);
    ASSERT_TRUE(n.subnet.has_value());
    EXPECT_EQ(n.subnet->String(), c.want_subnet);
    EXPECT_EQ(Join(n.extra_subnets), c.want_extra);
    EXPECT_EQ(static_cast<int>(w.size()), c.want_warnings);
    for (const auto& x : w) {
      EXPECT_NE(x.String().find("field spec.podCIDRs=\""), std::string::npos) << x.String();
      EXPECT_NE(x.String().find("skipped"), std::string::npos) << x.String();
    }
  }
}

TEST(DualStackTranslateTest, OwnAnnotationsAreRead) {
  NodeObject o;
  o.name = "n1";
  o.pod_cidr = "10.244.1.0/24";
  o.annotations[kAnnDualStack] = "true";
  o.annotations[kAnnWireGuardIP6] = "fd4::1/64";
  std::vector<Warning> w;
  Node n = TranslateNode(o, TranslateOptions{}, &w);
  EXPECT_TRUE(n.dual_stack);
  ASSERT_TRUE(n.wireguard_ip6.has_value());
  EXPECT_EQ(n.wireguard_ip6->String(), "fd4::1/64");
  EXPECT_TRUE(w.empty());

  o.annotations[kAnnWireGuardIP6] = "10.4.0.1/16";  // not IPv6
  n = TranslateNode(o, TranslateOptions{}, &w);
  EXPECT_FALSE(n.wireguard_ip6.has_value());
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].field, kAnnWireGuardIP6);
}

constexpr const char* kDump = R"({"kind": "List", "apiVersion": "v1", "items": [
 {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1", "annotations": {
   "kg.kilo.squat.ai/dual-stack": "true", "kilo.squat.ai/location": "a", "other/x": "y"}},
  "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24", "fd00:1::/64"]}},
 {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n2"},
  "spec": {"podCIDRs": ["10.244.2.0/24", "fd00:2::/64"], "podCIDR": "10.244.2.0/24"}}]})";

TEST(DualStackDecodeTest, BothDecodersReadPodCIDRsAndTheOwnAnnotations) {
  // The reference decoder (DecodeClusterObjects).
  auto objs = DecodeClusterObjects(kDump);
  ASSERT_TRUE(objs.ok()) << objs.error();
  ASSERT_EQ(objs->nodes.size(), 2u);
  EXPECT_EQ(objs->nodes[0].pod_cidrs, (std::vector<std::string>{"10.244.1.0/24", "fd00:1::/64"}));
  EXPECT_EQ(objs->nodes[1].pod_cidrs, (std::vector<std::string>{"10.244.2.0/24", "fd00:2::/64"}));
  EXPECT_EQ(objs->nodes[0].annotations.count(kAnnDualStack), 1u);
  EXPECT_EQ(objs->nodes[0].annotations.count("other/x"), 0u);
  // The streaming decoder gives the same (the recorder writes pod_cidrs and
  // every annotation translation reads).
  testutil::DumpRecorder fast, dom;
  ASSERT_TRUE(VisitClusterDump(kDump, false, kDefaultTopologyLabel, &fast).ok());
  for (const auto& n : objs->nodes) dom.OnNode(NodeFields::Of(n, kDefaultTopologyLabel));
  EXPECT_EQ(fast.log, dom.log);
  EXPECT_NE(fast.log.find("11:fd00:2::/64"), std::string::npos) << fast.log;
  EXPECT_NE(fast.log.find("4:true"), std::string::npos) << fast.log;
}

TEST(DualStackMeshTest, Subnet6GivesOneAddressPerSegmentInSegmentOrder) {
  Mesh m = Build(ThreeLocations(), "fd4::/64");
  ASSERT_EQ(m.segments().size(), 3u);
  const char* want[] = {"fd4::1", "fd4::2", "fd4::3"};
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(m.segments()[i].wireguard_ip6.has_value());
    EXPECT_EQ(m.segments()[i].wireguard_ip6->String(), want[i]);
  }
  // Kilo's allowed IPs unchanged; the IPv6 ones apart, in node order.
  EXPECT_EQ(Join(m.segments()[0].allowed_ips),
            "10.244.1.0/24,10.0.1.1/32,10.244.2.0/24,10.0.1.2/32,10.4.0.1/32");
  EXPECT_EQ(Join(m.segments()[0].dual_stack_ips), "fd00:1::/64,fd00:2::/64,fd4::1/128");
  EXPECT_TRUE(m.segments()[0].dual_stack);
  EXPECT_FALSE(m.segments()[2].dual_stack);
}

TEST(DualStackMeshTest, TooSmallASubnet6IsReportedNotFatal) {
  std::vector<Warning> w;
  Mesh m = Build(ThreeLocations(), "fd4::/127", Granularity::kLocation, &w);
  EXPECT_TRUE(m.segments()[0].wireguard_ip6.has_value());
  EXPECT_FALSE(m.segments()[1].wireguard_ip6.has_value());
  EXPECT_FALSE(m.segments()[2].wireguard_ip6.has_value());
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].reason.find("no address left"), std::string::npos);
}

TEST(DualStackMeshTest, WithoutIPv6InputNothingIsAdded) {
  std::vector<Node> nodes = {N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                             N("b1", "b", "2.2.2.1:51820", "10.0.2.1/24", "10.244.3.0/24", 3)};
  Mesh m = Build(nodes);
  auto t = Topology::ForHost(m, "a1");
  ASSERT_TRUE(t.has_value());
  HostPlan p = PlanHost(*t, HostPlanOptions{});
  EXPECT_EQ(Join(p.wireguard.peers[0].allowed_ips), "10.244.3.0/24,10.0.2.1/32,10.4.0.2/32");
  EXPECT_FALSE(p.interface_address6.has_value());
  EXPECT_TRUE(p.dual_stack_notes.empty());
  EXPECT_EQ(fw::RenderNft(p.firewall).find("ip6 daddr"), std::string::npos);
  EXPECT_EQ(*p.cni_conflist, RenderCNIConflist(P("10.244.1.0/24"), 1420));
}

TEST(DualStackConfTest, IPv6OnlyTowardsSegmentsWhoseLeadersAdvertiseIt) {
  Mesh m = Build(ThreeLocations(), "fd4::/64");
  auto t = Topology::ForHost(m, "a1");
  ASSERT_TRUE(t.has_value());
  WgConf c = t->Conf();
  ASSERT_EQ(c.peers.size(), 2u);
  EXPECT_EQ(Join(c.peers[0].allowed_ips),
            "10.244.3.0/24,10.0.2.1/32,10.4.0.2/32,fd00:3::/64,fd4::2/128");
  // c is led by a Go agent: IPv4 only, as Kilo.
  EXPECT_EQ(Join(c.peers[1].allowed_ips), "10.244.4.0/24,10.0.3.1/32,10.4.0.3/32");
  EXPECT_EQ(t->DualStackUnreachable(), std::vector<size_t>{2});
  // The rendered INI carries the same.
  std::string ini;
  t->RenderConf([&](std::string_view s) { ini += s; });
  EXPECT_EQ(ini, c.Render());

  // From the Go-led segment's host: nothing IPv6 at all.
  auto tc = Topology::ForHost(m, "c1");
  for (const auto& p : tc->Conf().peers) {
    for (const auto& a : p.allowed_ips) EXPECT_FALSE(a.addr().is6()) << a.String();
  }
  EXPECT_EQ(tc->DualStackUnreachable(), (std::vector<size_t>{0, 1}));
}

TEST(DualStackConfTest, AsPeerAndPeerConfCarryIPv6OfAdvertisingSegments) {
  Mesh m = Build(ThreeLocations(), "fd4::/64");
  auto t = Topology::ForHost(m, "b1");
  EXPECT_EQ(Join(t->AsPeer()->allowed_ips),
            "10.244.3.0/24,10.0.2.1/32,10.4.0.2/32,fd00:3::/64,fd4::2/128");
  auto tc = Topology::ForHost(m, "c1");
  EXPECT_EQ(Join(tc->AsPeer()->allowed_ips), "10.244.4.0/24,10.0.3.1/32,10.4.0.3/32");
}

TEST(DualStackConfTest, PeerRoutesCoverTheIPv6OfPeerConf) {
  std::vector<Node> nodes = ThreeLocations();
  Mesh m = Build(std::move(nodes), "fd4::/64");
  std::vector<IPPrefix> v6;
  for (const auto& r : PeerRoutes(m, "phone")) {
    if (!r.dst.addr().is6()) continue;
    EXPECT_FALSE(r.gw.has_value()) << r.dst.String();
    EXPECT_EQ(r.dev, RouteDev::kKilo) << r.dst.String();
    v6.push_back(r.dst);
  }
  // a and b advertise dual-stack; c's leader (a Go agent) does not.
  EXPECT_EQ(Join(v6), "fd00:1::/64,fd00:2::/64,fd4::1/128,fd00:3::/64,fd4::2/128");
  // Every IPv6 allowed IP of the Peer's configuration has its route.
  std::vector<IPPrefix> want;
  auto t = Topology::ForHost(m, "a1");
  for (const auto& p : t->PeerConf("phone").peers)
    for (const auto& a : p.allowed_ips)
      if (a.addr().is6()) want.push_back(a.Network());
  EXPECT_EQ(Join(want), Join(v6));
}

TEST(DualStackPlanTest, LeaderRoutesIPv6OverWireGuard) {
  const struct {
    const char* name;
    const char* subnet6;
    const char* want_ipv6_routes;
  } cases[] = {
      {"with --subnet6: via the remote IPv6 WireGuard IP", "fd4::/64",
       "route fd00:3::/64 via fd4::2 dev kilo0 onlink\n"},
      {"without: on the interface (WireGuard routes by AllowedIPs)", nullptr,
       "route fd00:3::/64 dev kilo0\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Mesh m = Build(ThreeLocations(), c.subnet6);
    auto t = Topology::ForHost(m, "a1");
    std::string got;
    for (const auto& r : PlanRoutes(*t, RouteOptions{}).routes) {
      if (r.dst.addr().is6()) got += RenderRoute(r, DevNames{}) + "\n";
    }
    EXPECT_EQ(got, c.want_ipv6_routes);
  }
}

TEST(DualStackPlanTest, HostPlanHasIPv6AddressFirewallCNIAndNotes) {
  Mesh m = Build(ThreeLocations(), "fd4::/64");
  auto t = Topology::ForHost(m, "a1");
  HostPlanOptions o;
  o.iptables_forward_rules = true;
  HostPlan p = PlanHost(*t, o);
  ASSERT_TRUE(p.interface_address6.has_value());
  EXPECT_EQ(p.interface_address6->String(), "fd4::1/64");
  EXPECT_EQ(p.interface_address->String(), "10.4.0.1/16");
  ASSERT_EQ(p.dual_stack_notes.size(), 1u);
  EXPECT_NE(p.dual_stack_notes[0].find("no IPv6 towards location:c"), std::string::npos);
  // One host-local range per family.
  EXPECT_NE(p.cni_conflist->find(
                R"("ranges": [[{"subnet": "10.244.1.0/24"}], [{"subnet": "fd00:1::/64"}]])"),
            std::string::npos)
      << *p.cni_conflist;
  // IPv6 firewall rules: the pod CIDR jumps to KILO-NAT, known IPv6 is not
  // NATed, the location's pod CIDRs are forwarded.
  std::string nft = fw::RenderNft(p.firewall);
  for (const char* want : {"ip6 saddr fd00:1::/64", "ip6 daddr fd00:3::/64", "ip6 daddr fd4::2",
                           "ip6 saddr fd00:2::/64"}) {
    EXPECT_NE(nft.find(want), std::string::npos) << want << "\n" << nft;
  }
  // The same rules for ip6tables (the iptables backend).
  std::string ip6;
  for (const auto& l : fw::RenderIptablesRules(p.firewall, fw::Family::kIPv6, fw::Table::kNat))
    ip6 += l + "\n";
  EXPECT_NE(ip6.find("-A KILO-POSTROUTING -s fd00:1::/64"), std::string::npos) << ip6;
  EXPECT_NE(ip6.find("-A KILO-NAT -d fd00:3::/64"), std::string::npos) << ip6;
  std::string ip4;
  for (const auto& l : fw::RenderIptablesRules(p.firewall, fw::Family::kIPv4, fw::Table::kNat))
    ip4 += l + "\n";
  EXPECT_EQ(ip4.find("fd"), std::string::npos) << ip4;
  // The Go-led segment's IPv6 is not in the plan's routes.
  for (const auto& r : p.installed_routes) EXPECT_NE(r.dst.String(), "fd00:4::/64");
}

TEST(DualStackPlanTest, NonLeaderIsToldItHasNoIPv6Route) {
  Mesh m = Build(ThreeLocations(), "fd4::/64");
  auto t = Topology::ForHost(m, "a2");
  ASSERT_FALSE(t->leader());
  HostPlan p = PlanHost(*t, HostPlanOptions{});
  for (const auto& r : p.installed_routes) EXPECT_FALSE(r.dst.addr().is6()) << r.dst.String();
  ASSERT_EQ(p.dual_stack_notes.size(), 2u);
  EXPECT_NE(p.dual_stack_notes[1].find("no IPv6 route towards location:b"), std::string::npos);
}

TEST(DualStackCNITest, OneRangePerFamilyIdenticalWithoutExtras) {
  EXPECT_EQ(RenderCNIConflist(P("10.244.1.0/24"), {}, 1420),
            RenderCNIConflist(P("10.244.1.0/24"), 1420));
  std::string two = RenderCNIConflist(P("10.244.1.0/24"), {P("fd00:1::/64")}, 1420);
  EXPECT_NE(two.find(R"([[{"subnet": "10.244.1.0/24"}], [{"subnet": "fd00:1::/64"}]])"),
            std::string::npos)
      << two;
}

}  // namespace
}  // namespace kilo

namespace kilo {
namespace {

// ThreeLocations with the internal-ip6 (link-local) of a1 and a2.
std::vector<Node> ThreeLocationsWithInternalIP6() {
  std::vector<Node> nodes = ThreeLocations();
  nodes[0].internal_ip6 = testutil::A("fe80::a1");
  nodes[1].internal_ip6 = testutil::A("fe80::a2");
  return nodes;
}

std::string IPv6Routes(const Topology& t, const RouteOptions& ro = {}) {
  std::string got;
  for (const auto& r : PlanRoutes(t, ro).routes) {
    if (r.dst.addr().is6()) got += RenderRoute(r, DevNames{}) + "\n";
  }
  return got;
}

TEST(DualStackPlanTest, NonLeaderRoutesIPv6ViaItsLeadersInternalIP6) {
  Mesh m = Build(ThreeLocationsWithInternalIP6(), "fd4::/64");
  auto t = Topology::ForHost(m, "a2");
  ASSERT_FALSE(t->leader());
  // Its location's and b's IPv6 WireGuard IPs and b's pod CIDR via a1 (c is
  // led by a Go agent: nothing); never encapsulated.
  EXPECT_EQ(IPv6Routes(*t),
            "route fd00:1::/64 via fe80::a1 dev priv\n"
            "route fd4::1/128 via fe80::a1 dev priv\n"
            "route fd4::2/128 via fe80::a1 dev priv\n"
            "route fd00:3::/64 via fe80::a1 dev priv\n");
  EXPECT_TRUE(PlanHost(*t, HostPlanOptions{}).dual_stack_notes.size() == 1u);  // c only
  // Without --local only what goes through the leader.
  RouteOptions no_local;
  no_local.local = false;
  EXPECT_EQ(IPv6Routes(*t, no_local),
            "route fd4::1/128 via fe80::a1 dev priv\n"
            "route fd4::2/128 via fe80::a1 dev priv\n"
            "route fd00:3::/64 via fe80::a1 dev priv\n");
}

TEST(DualStackPlanTest, LeaderForwardsIPv6ToItsLocationViaTheirInternalIP6) {
  Mesh m = Build(ThreeLocationsWithInternalIP6(), "fd4::/64");
  auto t = Topology::ForHost(m, "a1");
  ASSERT_TRUE(t->leader());
  EXPECT_EQ(IPv6Routes(*t),
            "route fd00:2::/64 via fe80::a2 dev priv\n"
            "route fd00:3::/64 via fd4::2 dev kilo0 onlink\n");
}

TEST(DualStackPlanTest, NoIPv6InsideALocationTowardsANodeThatDoesNotAdvertiseIt) {
  std::vector<Node> nodes = ThreeLocationsWithInternalIP6();
  nodes[1].dual_stack = false;  // a2 runs a Go agent
  Mesh m = Build(nodes, "fd4::/64");
  auto t = Topology::ForHost(m, "a1");
  EXPECT_EQ(IPv6Routes(*t), "route fd00:3::/64 via fd4::2 dev kilo0 onlink\n");
}

TEST(DualStackPlanTest, CrossLanNeighboursReachEachOthersIPv6OverTheLan) {
  Mesh m = Build(ThreeLocationsWithInternalIP6(), "fd4::/64", Granularity::kCross);
  auto t = Topology::ForHost(m, "a1");
  // a2 over the LAN (its internal-ip6), the other locations over WireGuard.
  EXPECT_EQ(IPv6Routes(*t),
            "route fd00:2::/64 via fe80::a2 dev priv\n"
            "route fd00:3::/64 via fd4::3 dev kilo0 onlink\n");
  RouteOptions no_local;
  no_local.local = false;
  EXPECT_EQ(IPv6Routes(*t, no_local), "route fd00:3::/64 via fd4::3 dev kilo0 onlink\n");
}

}  // namespace
}  // namespace kilo
