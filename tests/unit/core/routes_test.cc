// Route/rule plans (SPEC section 6) for a small cluster, compared as text:
//
//   location a                                   location b
//   a1 (leader, 1.1.1.1, 10.0.1.1/24, 10.10.1.0/24)   b1 (2.2.2.2, 192.168.0.1/24, 10.10.3.0/24)
//   a2 (10.0.2.2, 10.0.2.2/16, 10.10.2.0/24)
//   peer p: 10.5.0.1/32
//
// WireGuard IPs: location:a 10.4.0.1, location:b 10.4.0.2. From a1, a2 is in
// another subnet (crosssubnet encapsulates); from a2 (a /16), a1 is not.

#include "core/routes.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace kilo {
namespace {

using testutil::MakePeer;
using testutil::N;

Mesh ThreeNodes() {
  MeshOptions mo;
  auto m = Mesh::Build({N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.10.1.0/24", 1),
                        N("a2", "a", "10.0.2.2:51820", "10.0.2.2/16", "10.10.2.0/24", 2),
                        N("b1", "b", "2.2.2.2:51820", "192.168.0.1/24", "10.10.3.0/24", 3)},
                       {MakePeer("p", {"10.5.0.1/32"}, 40)}, mo, nullptr);
  EXPECT_TRUE(m.ok());
  return std::move(m.value());
}

struct RouteCase {
  const char* name;
  const char* host;
  Encapsulation enc;
  Compatibility compat;
  bool local;
  std::string want;
};

const char kLeaderRemote[] =
    "route 10.10.3.0/24 via 10.4.0.2 src 10.0.1.1 dev kilo0 onlink\n"
    "route 192.168.0.1/32 via 10.4.0.2 src 10.0.1.1 dev kilo0 onlink\n"
    "route 10.5.0.1/32 src 10.0.1.1 dev kilo0\n";

TEST(RoutesTest, PlanRoutes) {
  using E = Encapsulation;
  using C = Compatibility;
  const std::string leader_rules =
      "rule from 10.10.1.0/24 to 10.0.2.2/32 lookup 1107\n"
      "rule to 10.0.2.2/32 iif kilo0 lookup 1107\n";
  const std::string leader_encap_ipip =
      "tunnel-address 10.10.1.1/32\n"
      "route 10.10.2.0/24 via 10.0.2.2 src 10.0.1.1 dev tunl onlink\n"
      "route 10.0.2.2/32 via 10.0.2.2 src 10.0.1.1 dev tunl table 1107 onlink\n" +
      std::string(kLeaderRemote) + leader_rules;
  const std::string follower_never =
      "route 10.4.0.1/32 via 10.0.1.1 dev priv onlink\n"
      "route 10.10.1.0/24 via 10.0.1.1 dev priv onlink\n"
      "route 10.4.0.2/32 via 10.0.1.1 dev priv onlink\n"
      "route 10.10.3.0/24 via 10.0.1.1 dev priv onlink\n"
      "route 192.168.0.1/32 via 10.0.1.1 dev priv onlink\n"
      "route 10.5.0.1/32 via 10.0.1.1 dev priv onlink\n";
  const RouteCase cases[] = {
      // Leader a1.
      {"leader never", "a1", E::kNever, C::kNone, true,
       "route 10.10.2.0/24 via 10.0.2.2 dev priv onlink\n" + std::string(kLeaderRemote)},
      {"leader crosssubnet (a2 outside 10.0.1.0/24)", "a1", E::kCrossSubnet, C::kNone, true,
       leader_encap_ipip},
      {"leader always", "a1", E::kAlways, C::kNone, true, leader_encap_ipip},
      {"leader always, local=false", "a1", E::kAlways, C::kNone, false,
       "route 10.0.2.2/32 via 10.0.2.2 dev tunl table 1107 onlink\n" + std::string(kLeaderRemote) +
           "rule to 10.0.2.2/32 iif kilo0 lookup 1107\n"},
      {"leader never, local=false", "a1", E::kNever, C::kNone, false, kLeaderRemote},
      {"leader cilium", "a1", E::kAlways, C::kCilium, true,
       "tunnel-address 10.10.1.1/32\n"
       "route 10.10.2.0/24 via 10.10.2.0 src 10.0.1.1 dev tunl onlink\n"
       "route 10.0.2.2/32 via 10.10.2.0 src 10.0.1.1 dev tunl table 1107 onlink\n" +
           std::string(kLeaderRemote) + leader_rules},
      {"leader cilium, local=false", "a1", E::kAlways, C::kCilium, false,
       "route 10.0.2.2/32 via 10.10.2.0 dev tunl table 1107 onlink\n" + std::string(kLeaderRemote) +
           "rule to 10.0.2.2/32 iif kilo0 lookup 1107\n"},
      // Non-leader a2: everything via the leader's private IP.
      {"non-leader never", "a2", E::kNever, C::kNone, true, follower_never},
      {"non-leader crosssubnet (leader inside 10.0.0.0/16)", "a2", E::kCrossSubnet, C::kNone, true,
       "tunnel-address 10.10.2.1/32\n" + follower_never},
      {"non-leader always", "a2", E::kAlways, C::kNone, true,
       "tunnel-address 10.10.2.1/32\n"
       "route 10.4.0.1/32 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "route 10.10.1.0/24 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "route 10.0.1.1/32 via 10.0.1.1 src 10.0.2.2 dev tunl table 1107 onlink\n"
       "route 10.4.0.2/32 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "route 10.10.3.0/24 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "route 192.168.0.1/32 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "route 10.5.0.1/32 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "rule from 10.10.2.0/24 to 10.0.1.1/32 lookup 1107\n"},
      {"non-leader always, local=false", "a2", E::kAlways, C::kNone, false,
       "route 10.4.0.1/32 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "route 10.4.0.2/32 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "route 10.10.3.0/24 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "route 192.168.0.1/32 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"
       "route 10.5.0.1/32 via 10.0.1.1 src 10.0.2.2 dev tunl onlink\n"},
      {"non-leader cilium", "a2", E::kAlways, C::kCilium, true,
       "tunnel-address 10.10.2.1/32\n"
       "route 10.4.0.1/32 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "route 10.10.1.0/24 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "route 10.0.1.1/32 via 10.10.1.0 src 10.0.2.2 dev tunl table 1107 onlink\n"
       "route 10.4.0.2/32 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "route 10.10.3.0/24 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "route 192.168.0.1/32 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "route 10.5.0.1/32 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "rule from 10.10.2.0/24 to 10.0.1.1/32 lookup 1107\n"},
      {"non-leader cilium, local=false", "a2", E::kAlways, C::kCilium, false,
       "route 10.4.0.1/32 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "route 10.4.0.2/32 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "route 10.10.3.0/24 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "route 192.168.0.1/32 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"
       "route 10.5.0.1/32 via 10.10.1.0 src 10.0.2.2 dev tunl onlink\n"},
      // Leader b1 alone in its location: only WireGuard routes.
      {"single-node leader always", "b1", E::kAlways, C::kNone, true,
       "tunnel-address 10.10.3.1/32\n"
       "route 10.10.1.0/24 via 10.4.0.1 src 192.168.0.1 dev kilo0 onlink\n"
       "route 10.0.1.1/32 via 10.4.0.1 src 192.168.0.1 dev kilo0 onlink\n"
       "route 10.10.2.0/24 via 10.4.0.1 src 192.168.0.1 dev kilo0 onlink\n"
       "route 10.0.2.2/32 via 10.4.0.1 src 192.168.0.1 dev kilo0 onlink\n"
       "route 10.5.0.1/32 src 192.168.0.1 dev kilo0\n"},
  };
  Mesh m = ThreeNodes();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto t = Topology::ForHost(m, c.host);
    ASSERT_TRUE(t.has_value());
    RouteOptions ro;
    ro.encapsulate = c.enc;
    ro.compatibility = c.compat;
    ro.local = c.local;
    EXPECT_EQ(RenderPlan(PlanRoutes(*t, ro), DevNames{}), c.want);
  }
}

// Cilium mode with published cni-compatibility-ips:
//
//   location a                                                  location b
//   a1 (leader, 10.0.1.1/24, pods 10.10.1.0/24, cni 10.99.1.5)  b1 (192.168.0.1/24)
//   a2 (10.0.2.2/16, pods 10.10.2.0/24, cni 10.99.2.5)
//   a3 (10.0.1.3/24, pods 10.10.4.0/24, no cni: its pod network address)
//   a4 (10.0.1.4/24, pods 10.10.5.0/24, cni = its private IP)
Mesh CiliumNodes() {
  auto with_cni = [](Node n, const char* cni) {
    n.cni_compatibility_ip = testutil::P(cni);
    return n;
  };
  MeshOptions mo;
  auto m = Mesh::Build(
      {with_cni(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.10.1.0/24", 1), "10.99.1.5/32"),
       with_cni(N("a2", "a", "10.0.2.2:51820", "10.0.2.2/16", "10.10.2.0/24", 2), "10.99.2.5/32"),
       N("a3", "a", "10.0.1.3:51820", "10.0.1.3/24", "10.10.4.0/24", 4),
       with_cni(N("a4", "a", "10.0.1.4:51820", "10.0.1.4/24", "10.10.5.0/24", 5), "10.0.1.4/32"),
       N("b1", "b", "2.2.2.2:51820", "192.168.0.1/24", "10.10.3.0/24", 3)},
      {}, mo, nullptr);
  EXPECT_TRUE(m.ok());
  return std::move(m.value());
}

TEST(RoutesTest, CiliumGatewayIsTheCNICompatibilityIP) {
  using E = Encapsulation;
  const std::string remote_from_a1 =
      "route 10.10.3.0/24 via 10.4.0.2 src 10.0.1.1 dev kilo0 onlink\n"
      "route 192.168.0.1/32 via 10.4.0.2 src 10.0.1.1 dev kilo0 onlink\n";
  const RouteCase cases[] = {
      {"leader always", "a1", E::kAlways, Compatibility::kCilium, true,
       "tunnel-address 10.10.1.1/32\n"
       "route 10.10.2.0/24 via 10.99.2.5 src 10.0.1.1 dev tunl onlink\n"
       "route 10.0.2.2/32 via 10.99.2.5 src 10.0.1.1 dev tunl table 1107 onlink\n"
       "route 10.10.4.0/24 via 10.10.4.0 src 10.0.1.1 dev tunl onlink\n"
       "route 10.0.1.3/32 via 10.10.4.0 src 10.0.1.1 dev tunl table 1107 onlink\n"
       "route 10.10.5.0/24 via 10.0.1.4 src 10.0.1.1 dev tunl onlink\n"
       "route 10.0.1.4/32 via 10.0.1.4 src 10.0.1.1 dev tunl table 1107 onlink\n" +
           remote_from_a1 +
           "rule from 10.10.1.0/24 to 10.0.2.2/32 lookup 1107\n"
           "rule to 10.0.2.2/32 iif kilo0 lookup 1107\n"
           "rule from 10.10.1.0/24 to 10.0.1.3/32 lookup 1107\n"
           "rule to 10.0.1.3/32 iif kilo0 lookup 1107\n"
           "rule from 10.10.1.0/24 to 10.0.1.4/32 lookup 1107\n"
           "rule to 10.0.1.4/32 iif kilo0 lookup 1107\n"},
      // crosssubnet: the pod routes go through the tunnel when their gateway
      // is outside 10.0.1.0/24; the tunnel routes when the private IP is.
      {"leader crosssubnet", "a1", E::kCrossSubnet, Compatibility::kCilium, true,
       "tunnel-address 10.10.1.1/32\n"
       "route 10.10.2.0/24 via 10.99.2.5 src 10.0.1.1 dev tunl onlink\n"
       "route 10.0.2.2/32 via 10.99.2.5 src 10.0.1.1 dev tunl table 1107 onlink\n"
       "route 10.10.4.0/24 via 10.10.4.0 src 10.0.1.1 dev tunl onlink\n"
       "route 10.10.5.0/24 via 10.0.1.4 dev priv onlink\n" +
           remote_from_a1 +
           "rule from 10.10.1.0/24 to 10.0.2.2/32 lookup 1107\n"
           "rule to 10.0.2.2/32 iif kilo0 lookup 1107\n"},
      // Without --local, Kilo's leader still routes the return traffic of
      // every node whose gateway is not its private IP through the tunnel,
      // whatever the subnet (a3 is in the leader's, a4 is skipped).
      {"leader always, local=false", "a1", E::kAlways, Compatibility::kCilium, false,
       "route 10.0.2.2/32 via 10.99.2.5 dev tunl table 1107 onlink\n"
       "route 10.0.1.3/32 via 10.10.4.0 dev tunl table 1107 onlink\n" +
           remote_from_a1 +
           "rule to 10.0.2.2/32 iif kilo0 lookup 1107\n"
           "rule to 10.0.1.3/32 iif kilo0 lookup 1107\n"},
      {"leader crosssubnet, local=false", "a1", E::kCrossSubnet, Compatibility::kCilium, false,
       "route 10.0.2.2/32 via 10.99.2.5 dev tunl table 1107 onlink\n"
       "route 10.0.1.3/32 via 10.10.4.0 dev tunl table 1107 onlink\n" +
           remote_from_a1 +
           "rule to 10.0.2.2/32 iif kilo0 lookup 1107\n"
           "rule to 10.0.1.3/32 iif kilo0 lookup 1107\n"},
      {"leader never, local=false", "a1", E::kNever, Compatibility::kCilium, false, remote_from_a1},
      // A non-leader reaches everything beyond its location via the leader's
      // cni-compatibility-ip.
      {"non-leader always", "a2", E::kAlways, Compatibility::kCilium, true,
       "tunnel-address 10.10.2.1/32\n"
       "route 10.4.0.1/32 via 10.99.1.5 src 10.0.2.2 dev tunl onlink\n"
       "route 10.10.1.0/24 via 10.99.1.5 src 10.0.2.2 dev tunl onlink\n"
       "route 10.0.1.1/32 via 10.99.1.5 src 10.0.2.2 dev tunl table 1107 onlink\n"
       "route 10.10.4.0/24 via 10.10.4.0 src 10.0.2.2 dev tunl onlink\n"
       "route 10.0.1.3/32 via 10.10.4.0 src 10.0.2.2 dev tunl table 1107 onlink\n"
       "route 10.10.5.0/24 via 10.0.1.4 src 10.0.2.2 dev tunl onlink\n"
       "route 10.0.1.4/32 via 10.0.1.4 src 10.0.2.2 dev tunl table 1107 onlink\n"
       "route 10.4.0.2/32 via 10.99.1.5 src 10.0.2.2 dev tunl onlink\n"
       "route 10.10.3.0/24 via 10.99.1.5 src 10.0.2.2 dev tunl onlink\n"
       "route 192.168.0.1/32 via 10.99.1.5 src 10.0.2.2 dev tunl onlink\n"
       "rule from 10.10.2.0/24 to 10.0.1.1/32 lookup 1107\n"
       "rule from 10.10.2.0/24 to 10.0.1.3/32 lookup 1107\n"
       "rule from 10.10.2.0/24 to 10.0.1.4/32 lookup 1107\n"},
      {"non-leader never", "a3", E::kNever, Compatibility::kCilium, true,
       "route 10.4.0.1/32 via 10.99.1.5 dev priv onlink\n"
       "route 10.10.1.0/24 via 10.99.1.5 dev priv onlink\n"
       "route 10.10.2.0/24 via 10.99.2.5 dev priv onlink\n"
       "route 10.10.5.0/24 via 10.0.1.4 dev priv onlink\n"
       "route 10.4.0.2/32 via 10.99.1.5 dev priv onlink\n"
       "route 10.10.3.0/24 via 10.99.1.5 dev priv onlink\n"
       "route 192.168.0.1/32 via 10.99.1.5 dev priv onlink\n"},
      // The cni-compatibility-ips mean nothing outside Cilium mode.
      {"flannel ignores them", "a3", E::kNever, Compatibility::kFlannel, true,
       "route 10.4.0.1/32 via 10.10.1.0 dev priv onlink\n"
       "route 10.10.1.0/24 via 10.10.1.0 dev priv onlink\n"
       "route 10.10.2.0/24 via 10.10.2.0 dev priv onlink\n"
       "route 10.10.5.0/24 via 10.10.5.0 dev priv onlink\n"
       "route 10.4.0.2/32 via 10.10.1.0 dev priv onlink\n"
       "route 10.10.3.0/24 via 10.10.1.0 dev priv onlink\n"
       "route 192.168.0.1/32 via 10.10.1.0 dev priv onlink\n"},
      {"ipip ignores them", "a3", E::kNever, Compatibility::kNone, true,
       "route 10.4.0.1/32 via 10.0.1.1 dev priv onlink\n"
       "route 10.10.1.0/24 via 10.0.1.1 dev priv onlink\n"
       "route 10.10.2.0/24 via 10.0.2.2 dev priv onlink\n"
       "route 10.10.5.0/24 via 10.0.1.4 dev priv onlink\n"
       "route 10.4.0.2/32 via 10.0.1.1 dev priv onlink\n"
       "route 10.10.3.0/24 via 10.0.1.1 dev priv onlink\n"
       "route 192.168.0.1/32 via 10.0.1.1 dev priv onlink\n"},
  };
  Mesh m = CiliumNodes();
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto t = Topology::ForHost(m, c.host);
    ASSERT_TRUE(t.has_value());
    RouteOptions ro;
    ro.encapsulate = c.enc;
    ro.compatibility = c.compat;
    ro.local = c.local;
    EXPECT_EQ(RenderPlan(PlanRoutes(*t, ro), DevNames{}), c.want);
  }
}

TEST(RoutesTest, NoRouteToAPrivateIPThatIsTheEndpoint) {
  MeshOptions mo;
  auto m = Mesh::Build({N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.10.1.0/24", 1),
                        N("b1", "b", "10.0.9.9:51820", "10.0.9.9/24", "10.10.3.0/24", 3)},
                       {}, mo, nullptr);
  ASSERT_TRUE(m.ok());
  auto t = Topology::ForHost(*m, "a1");
  RouteOptions ro;
  ro.encapsulate = Encapsulation::kNever;
  EXPECT_EQ(RenderPlan(PlanRoutes(*t, ro), DevNames{}),
            "route 10.10.3.0/24 via 10.4.0.2 src 10.0.1.1 dev kilo0 onlink\n");
}

TEST(RoutesTest, InterfaceNamesAndParsers) {
  PlannedRoute r{*IPPrefix::Parse("10.0.0.0/8"),
                 IPAddr::Parse("10.4.0.1"),
                 std::nullopt,
                 RouteDev::kKilo,
                 0,
                 true};
  DevNames names;
  names.kilo = "wg9";
  EXPECT_EQ(RenderRoute(r, names), "route 10.0.0.0/8 via 10.4.0.1 dev wg9 onlink");
  PlannedRule rule{std::nullopt, IPPrefix::Parse("10.0.0.1/32"), true, kKiloTable};
  EXPECT_EQ(RenderRule(rule, names), "rule to 10.0.0.1/32 iif wg9 lookup 1107");
  const struct {
    const char* name;
    const char* in;
    bool ok;
  } encs[] = {{"never", "never", true},
              {"crosssubnet", "crosssubnet", true},
              {"always", "always", true},
              {"upper", "Always", false},
              {"empty", "", false}};
  for (const auto& c : encs) {
    SCOPED_TRACE(c.name);
    auto e = ParseEncapsulation(c.in);
    EXPECT_EQ(e.has_value(), c.ok);
    if (e) {
      EXPECT_STREQ(EncapsulationName(*e), c.in);
    }
  }
  EXPECT_EQ(ParseCompatibility("cilium"), Compatibility::kCilium);
  EXPECT_EQ(ParseCompatibility("flannel"), Compatibility::kFlannel);
  EXPECT_EQ(ParseCompatibility("none"), Compatibility::kNone);
  EXPECT_FALSE(ParseCompatibility("calico").has_value());
}

}  // namespace
}  // namespace kilo

namespace kilo {
namespace {

// Cross granularity (SPEC 11.2): a1 and a2 share the LAN of location a, a3
// (location a) has no private IP, b1 is in location b. Every node leads its
// own segment: WireGuard IPs a1 .1, a2 .2, a3 .3, b1 .4.
TEST(RoutesTest, CrossReachesItsLocationOverTheLANAndTheOthersThroughWireGuard) {
  MeshOptions mo;
  mo.granularity = Granularity::kCross;
  auto m = Mesh::Build({N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.10.1.0/24", 1),
                        N("a2", "a", "1.1.1.2:51820", "10.0.1.2/24", "10.10.2.0/24", 2),
                        N("a3", "a", "1.1.1.3:51820", "", "10.10.3.0/24", 3),
                        N("b1", "b", "2.2.2.1:51820", "10.0.2.1/24", "10.10.4.0/24", 4)},
                       {MakePeer("p", {"10.5.0.1/32"}, 40)}, mo, nullptr);
  ASSERT_TRUE(m.ok()) << m.error();
  const struct {
    const char* name;
    const char* host;
    Encapsulation enc;
    bool local;
    const char* want;
  } cases[] = {
      {"LAN neighbour a2 via its private IP, the rest through kilo0", "a1", Encapsulation::kNever,
       true,
       "route 10.10.2.0/24 via 10.0.1.2 dev priv onlink\n"
       "route 10.4.0.2/32 via 10.0.1.2 dev priv onlink\n"
       "route 10.10.3.0/24 via 10.4.0.3 src 10.0.1.1 dev kilo0 onlink\n"
       "route 10.10.4.0/24 via 10.4.0.4 src 10.0.1.1 dev kilo0 onlink\n"
       "route 10.0.2.1/32 via 10.4.0.4 src 10.0.1.1 dev kilo0 onlink\n"
       "route 10.5.0.1/32 src 10.0.1.1 dev kilo0\n"},
      {"encapsulated as location's non-leaders do: no rule for kilo0", "a1", Encapsulation::kAlways,
       true,
       "tunnel-address 10.10.1.1/32\n"
       "route 10.10.2.0/24 via 10.0.1.2 src 10.0.1.1 dev tunl onlink\n"
       "route 10.0.1.2/32 via 10.0.1.2 src 10.0.1.1 dev tunl table 1107 onlink\n"
       "route 10.4.0.2/32 via 10.0.1.2 src 10.0.1.1 dev tunl onlink\n"
       "route 10.10.3.0/24 via 10.4.0.3 src 10.0.1.1 dev kilo0 onlink\n"
       "route 10.10.4.0/24 via 10.4.0.4 src 10.0.1.1 dev kilo0 onlink\n"
       "route 10.0.2.1/32 via 10.4.0.4 src 10.0.1.1 dev kilo0 onlink\n"
       "route 10.5.0.1/32 src 10.0.1.1 dev kilo0\n"
       "rule from 10.10.1.0/24 to 10.0.1.2/32 lookup 1107\n"},
      {"without --local the LAN neighbour is left to the underlay", "a1", Encapsulation::kNever,
       false,
       "route 10.10.3.0/24 via 10.4.0.3 src 10.0.1.1 dev kilo0 onlink\n"
       "route 10.10.4.0/24 via 10.4.0.4 src 10.0.1.1 dev kilo0 onlink\n"
       "route 10.0.2.1/32 via 10.4.0.4 src 10.0.1.1 dev kilo0 onlink\n"
       "route 10.5.0.1/32 src 10.0.1.1 dev kilo0\n"},
      {"no private IP: every node through kilo0, as in full", "a3", Encapsulation::kNever, true,
       "route 10.10.1.0/24 via 10.4.0.1 dev kilo0 onlink\n"
       "route 10.0.1.1/32 via 10.4.0.1 dev kilo0 onlink\n"
       "route 10.10.2.0/24 via 10.4.0.2 dev kilo0 onlink\n"
       "route 10.0.1.2/32 via 10.4.0.2 dev kilo0 onlink\n"
       "route 10.10.4.0/24 via 10.4.0.4 dev kilo0 onlink\n"
       "route 10.0.2.1/32 via 10.4.0.4 dev kilo0 onlink\n"
       "route 10.5.0.1/32 dev kilo0\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto t = Topology::ForHost(*m, c.host);
    ASSERT_TRUE(t.has_value());
    RouteOptions ro;
    ro.encapsulate = c.enc;
    ro.local = c.local;
    EXPECT_EQ(RenderPlan(PlanRoutes(*t, ro), DevNames{}), c.want);
  }
}

}  // namespace
}  // namespace kilo
