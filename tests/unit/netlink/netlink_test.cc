// Unit tests: rtnetlink message round trips, text rendering, and the
// convergers over the in-memory fake.

#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <random>

#include "fakes/netlink/fake_netlink.h"
#include "netlink/rtnl.h"

namespace kilo::netlink {
namespace {

Route R(const std::string& line) {
  auto r = ParseRouteLine(line);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : Route{};
}
Rule U(const std::string& line) {
  auto r = ParseRuleLine(line);
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? *r : Rule{};
}
const nlmsghdr* H(const rtnl::Message& m) { return reinterpret_cast<const nlmsghdr*>(m.data()); }

// ---- text

class RouteText : public ::testing::TestWithParam<std::string> {};
TEST_P(RouteText, ParsesAndRendersBack) { EXPECT_EQ(R(GetParam()).String(), GetParam()); }
INSTANTIATE_TEST_SUITE_P(
    GoldenLines, RouteText,
    ::testing::Values(
        "route 100.96.253.0/24 via fd10:4::1 dev kilo0 onlink",
        "route 100.96.166.0/24 via fd10:4::2 src 10.2.39.13 dev kilo0 onlink",
        "route fd05::3/128 dev kilo0", "route 192.168.200.0/24 src 10.2.39.13 dev kilo0",
        "route 10.42.180.0/24 via 192.168.54.161 dev priv onlink",
        "route 10.0.233.71/32 via 100.96.46.0 src 172.17.193.165 dev tunl table 1107 onlink"));

TEST(RuleText, ParsesAndRendersBack) {
  for (std::string l : {"rule from 10.244.253.0/24 to 192.168.255.177/32 lookup 1107",
                        "rule iif kilo0 lookup 1107", "rule to fd00::/8 lookup 1107"})
    EXPECT_EQ(U(l).String(), l);
  EXPECT_FALSE(ParseRuleLine("rule from 10.0.0.0/8").ok());
  EXPECT_FALSE(ParseRouteLine("route 10.0.0.0/8 via 1.2.3.4").ok());  // no dev
  EXPECT_FALSE(ParseRouteLine("route 10.0.0.0/8 dev x bogus 1").ok());
}

TEST(RouteText, RenderList) {
  std::vector<Route> rs = {R("route 10.4.0.0/16 dev kilo0"),
                           R("route 10.5.0.0/16 dev tunl table 1107")};
  EXPECT_EQ(RenderRoutes(rs),
            "route 10.4.0.0/16 dev kilo0\nroute 10.5.0.0/16 dev tunl table 1107\n");
  EXPECT_EQ(RenderRules({U("rule from 10.0.0.0/24 lookup 1107")}),
            "rule from 10.0.0.0/24 lookup 1107\n");
}

// ---- message round trips

TEST(RtnlRoute, RoundTripIPv4Table1107Onlink) {
  Route r = R("route 10.1.0.7/24 via 192.168.0.1 src 192.168.0.2 dev x table 1107 onlink");
  r.link_index = 4;
  r.metric = 10;
  rtnl::Message m = rtnl::BuildRoute(RTM_NEWROUTE, NLM_F_REQUEST, r);
  auto* rtm = static_cast<const rtmsg*>(NLMSG_DATA(H(m)));
  EXPECT_EQ(rtm->rtm_table, RT_TABLE_UNSPEC) << "1107 does not fit in 8 bits";
  EXPECT_EQ(rtm->rtm_protocol, RTPROT_STATIC);
  auto back = rtnl::ParseRoute(H(m));
  ASSERT_TRUE(back.ok() && *back);
  Route g = **back;
  EXPECT_EQ(g.dst.String(), "10.1.0.0/24") << "written as the network";
  EXPECT_EQ(g.table, 1107u);
  EXPECT_EQ(g.link_index, 4);
  EXPECT_EQ(g.metric, 10u);
  g.dev = "x";
  EXPECT_TRUE(g.Equivalent(r));
}

TEST(RtnlRoute, IPv4ViaIPv6UsesRtaVia) {
  Route r = R("route 100.96.253.0/24 via fd10:4::1 dev kilo0 onlink");
  r.link_index = 3;
  rtnl::Message m = rtnl::BuildRoute(RTM_NEWROUTE, NLM_F_REQUEST, r);
  auto back = rtnl::ParseRoute(H(m));
  ASSERT_TRUE(back.ok() && *back);
  EXPECT_EQ((*back)->gw.String(), "fd10:4::1");
  EXPECT_EQ((*back)->family(), 4);
  EXPECT_TRUE((*back)->Equivalent(r));
}

TEST(RtnlRoute, IPv6MetricZeroIs1024) {
  Route a = R("route fd05::3/128 dev kilo0"), b = a;
  b.metric = 1024;
  EXPECT_TRUE(a.SameKey(b));
  Route c = R("route 10.0.0.0/8 dev kilo0"), d = c;
  d.metric = 1024;
  EXPECT_FALSE(c.SameKey(d));
}

TEST(RtnlRule, RoundTrip) {
  Rule r = U("rule from 10.42.121.0/24 to 192.168.54.161/32 iif kilo0 lookup 1107");
  r.priority = 100;
  rtnl::Message m = rtnl::BuildRule(RTM_NEWRULE, NLM_F_REQUEST, r);
  auto back = rtnl::ParseRule(H(m));
  ASSERT_TRUE(back.ok() && *back);
  EXPECT_EQ((*back)->String(), r.String());
  EXPECT_EQ((*back)->priority, 100u);
  EXPECT_TRUE((*back)->Equivalent(r));
}

TEST(RtnlAddress, RoundTripKeepsHostBits) {
  auto p = *IPPrefix::Parse("10.4.0.1/16");
  rtnl::Message m = rtnl::BuildAddress(RTM_NEWADDR, NLM_F_REQUEST, 9, p);
  auto back = rtnl::ParseAddress(H(m));
  ASSERT_TRUE(back.ok() && *back);
  EXPECT_EQ((*back)->prefix.String(), "10.4.0.1/16");
  EXPECT_EQ((*back)->link_index, 9);
}

TEST(RtnlLink, NewLinkCarriesKind) {
  rtnl::Message m = rtnl::BuildNewLink({"kilo0", "wireguard", 1420}, NLM_F_REQUEST);
  std::vector<uint8_t> copy = m;
  reinterpret_cast<nlmsghdr*>(copy.data())->nlmsg_type = RTM_NEWLINK;
  auto back = rtnl::ParseLink(H(copy));
  ASSERT_TRUE(back.ok() && *back);
  EXPECT_EQ((*back)->name, "kilo0");
  EXPECT_EQ((*back)->kind, "wireguard");
  EXPECT_EQ((*back)->mtu, 1420);
}

TEST(RtnlParse, ShortMessagesAreErrors) {
  nlmsghdr h{};
  h.nlmsg_len = NLMSG_HDRLEN;
  h.nlmsg_type = RTM_NEWROUTE;
  EXPECT_FALSE(rtnl::ParseRoute(&h).ok());
  h.nlmsg_type = RTM_NEWRULE;
  EXPECT_FALSE(rtnl::ParseRule(&h).ok());
}

// ---- convergers over the fake

class ConvergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    nl.AddLinkNow({0, "eth0", "veth", 1500, true, false});
    nl.AddLinkNow({0, "kilo0", "wireguard", 1420, true, false});
    nl.AddLinkNow({0, "tunl0", "ipip", 1480, true, false});
    // Foreign routes: the default route (boot) and a kernel route on kilo0.
    nl.AddRouteNow(Route{*IPPrefix::Parse("0.0.0.0/0"),
                         *IPAddr::Parse("192.168.0.1"),
                         {},
                         0,
                         "eth0",
                         kMainTable,
                         false,
                         kProtoBoot});
    Route k = R("route 10.4.0.0/16 dev kilo0");
    k.protocol = 2;  // RTPROT_KERNEL
    nl.AddRouteNow(k);
  }
  std::vector<Route> Desired() {
    return {R("route 100.96.1.0/24 via 10.4.0.2 src 192.168.0.5 dev kilo0 onlink"),
            R("route 100.96.2.0/24 via 10.4.0.3 src 192.168.0.5 dev kilo0 onlink"),
            R("route 192.168.0.9/32 via 100.96.9.0 dev tunl0 table 1107 onlink")};
  }
  RouteOwnership own{{"kilo0", "tunl0"}};
  FakeNetlink nl;
};

TEST_F(ConvergeTest, AddsThenZeroWrites) {
  auto c = ConvergeRoutes(nl, Desired(), own);
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->added, 3);
  EXPECT_EQ(c->removed, 0);
  auto again = ConvergeRoutes(nl, Desired(), own);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->writes(), 0);
  EXPECT_EQ(nl.routes().size(), 5u);  // 2 foreign + 3 ours
}

TEST_F(ConvergeTest, RemovesOnlyOwnedRoutes) {
  // Owned leftovers: static on kilo0, static in table 1107 on eth0.
  nl.AddRouteNow(R("route 100.96.7.0/24 dev kilo0"));
  nl.AddRouteNow(R("route 10.9.0.0/16 dev eth0 table 1107"));
  // Foreign: static but on eth0 in main; boot-protocol on kilo0.
  nl.AddRouteNow(R("route 10.8.0.0/16 dev eth0"));
  Route boot = R("route 10.7.0.0/16 dev kilo0");
  boot.protocol = kProtoBoot;
  nl.AddRouteNow(boot);
  nl.ClearWrites();
  auto c = ConvergeRoutes(nl, Desired(), own);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->removed, 2);
  EXPECT_EQ(c->added, 3);
  std::vector<std::string> w = nl.writes();
  EXPECT_EQ(w[0], "del route 100.96.7.0/24 dev kilo0");
  EXPECT_EQ(w[1], "del route 10.9.0.0/16 dev eth0 table 1107");
}

TEST_F(ConvergeTest, ChangedGatewayIsReplacedInPlace) {
  ASSERT_TRUE(ConvergeRoutes(nl, Desired(), own).ok());
  nl.ClearWrites();
  auto d = Desired();
  d[0].gw = *IPAddr::Parse("10.4.0.9");
  auto c = ConvergeRoutes(nl, d, own);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->added, 1);
  EXPECT_EQ(c->removed, 0);
  EXPECT_EQ(nl.writes(),
            std::vector<std::string>{
                "add route 100.96.1.0/24 via 10.4.0.9 src 192.168.0.5 dev kilo0 onlink"});
}

TEST_F(ConvergeTest, UnknownDeviceIsAnErrorWithContext) {
  auto c = ConvergeRoutes(nl, {R("route 10.0.0.0/8 dev nope0")}, own);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error(), "apply routes: route 10.0.0.0/8 dev nope0: no link nope0");
}

TEST_F(ConvergeTest, RandomTransitionsConverge) {
  // Replay random desired subsets; after each converge the owned routes are
  // exactly the desired ones, and a second converge writes nothing.
  std::vector<Route> pool;
  for (int i = 0; i < 12; ++i)
    pool.push_back(R("route 100.96." + std::to_string(i) + ".0/24 via 10.4.0." +
                     std::to_string(i % 3 + 1) + " dev " + (i % 2 ? "kilo0" : "tunl0") +
                     (i % 4 == 0 ? " table 1107" : "") + " onlink"));
  std::mt19937 rng(1107);
  for (int round = 0; round < 50; ++round) {
    std::vector<Route> want;
    for (const auto& r : pool)
      if (rng() % 2) want.push_back(r);
    std::shuffle(want.begin(), want.end(), rng);
    ASSERT_TRUE(ConvergeRoutes(nl, want, own).ok());
    auto again = ConvergeRoutes(nl, want, own);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->writes(), 0) << "round " << round;
    std::vector<std::string> have, expect;
    for (const auto& r : nl.routes())
      if (r.protocol == kProtoStatic) {
        Route x = r;
        x.dev = (*nl.FindLinkByIndex(r.link_index))->name;
        have.push_back(x.String());
      }
    for (const auto& r : want) expect.push_back(r.String());
    std::sort(have.begin(), have.end());
    std::sort(expect.begin(), expect.end());
    EXPECT_EQ(have, expect) << "round " << round;
  }
}

TEST_F(ConvergeTest, RulesOnlyInKiloTable) {
  nl.AddRuleNow(U("rule from 10.1.0.0/16 lookup 100"));   // foreign
  nl.AddRuleNow(U("rule from 10.2.0.0/16 lookup 1107"));  // stale, ours
  std::vector<Rule> want = {U("rule from 100.96.0.0/24 to 192.168.0.9/32 lookup 1107"),
                            U("rule iif kilo0 lookup 1107")};
  auto c = ConvergeRules(nl, want);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->added, 2);
  EXPECT_EQ(c->removed, 1);
  auto again = ConvergeRules(nl, want);
  EXPECT_EQ(again->writes(), 0);
  EXPECT_EQ(RenderRules(nl.rules()),
            "rule from 10.1.0.0/16 lookup 100\n"
            "rule from 100.96.0.0/24 to 192.168.0.9/32 lookup 1107\n"
            "rule iif kilo0 lookup 1107\n");
}

TEST_F(ConvergeTest, Addresses) {
  nl.AddAddressNow("kilo0", *IPPrefix::Parse("10.4.0.9/16"));
  nl.AddAddressNow("kilo0", *IPPrefix::Parse("fe80::1/64"));
  auto c = ConvergeAddresses(nl, "kilo0", {*IPPrefix::Parse("10.4.0.1/16")});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->added, 1);
  EXPECT_EQ(c->removed, 1);
  EXPECT_EQ(ConvergeAddresses(nl, "kilo0", {*IPPrefix::Parse("10.4.0.1/16")})->writes(), 0);
  EXPECT_EQ(nl.ListAddresses(0)->size(), 2u) << "link-local kept";
  EXPECT_FALSE(ConvergeAddresses(nl, "nope", {}).ok());
}

TEST_F(ConvergeTest, LinkCreateIdempotentAndModuleErrors) {
  ASSERT_TRUE(nl.CreateLink({"dummy0", "dummy"}).ok());
  ASSERT_TRUE(nl.CreateLink({"dummy0", "dummy"}).ok());
  EXPECT_FALSE(nl.CreateLink({"dummy0", "bridge"}).ok());
  nl.SetUnsupportedKinds({"wireguard"});
  EXPECT_FALSE(nl.CreateLink({"wg9", "wireguard"}).ok());
  EXPECT_TRUE(nl.DeleteLink("dummy0").ok());
  EXPECT_TRUE(nl.DeleteLink("dummy0").ok());
}

}  // namespace
}  // namespace kilo::netlink
