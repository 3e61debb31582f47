// netlink::ToNetlinkRoute and ToNetlinkRule: the one conversion of planned
// routes and rules into what the kernel gets, used by kg and kgctl connect.

#include "netlink/from_plan.h"

#include <gtest/gtest.h>

namespace kilo::netlink {
namespace {

IPPrefix P(const char* s) { return *IPPrefix::Parse(s); }
IPAddr A(const char* s) { return *IPAddr::Parse(s); }

TEST(ToNetlinkRoute, NetworkFormMainTableStaticAndTheHostsDeviceNames) {
  DevNames names;
  names.kilo = "wg0";
  names.priv = "eth1";
  names.tunl = "tunl0";
  PlannedRoute r;
  r.dst = P("10.2.1.7/24");
  r.gw = A("10.4.0.1");
  r.onlink = true;
  Route nr = ToNetlinkRoute(r, names);
  EXPECT_EQ(nr.dst.String(), "10.2.1.0/24");
  EXPECT_EQ(nr.dev, "wg0");
  EXPECT_EQ(nr.table, kMainTable);
  EXPECT_EQ(nr.protocol, kProtoStatic);
  EXPECT_TRUE(nr.onlink);
  EXPECT_EQ(nr.gw.String(), "10.4.0.1");
  r.dev = RouteDev::kPriv;
  r.table = kKiloTable;
  nr = ToNetlinkRoute(r, names);
  EXPECT_EQ(nr.dev, "eth1");
  EXPECT_EQ(nr.table, static_cast<uint32_t>(kKiloTable));
  r.dev = RouteDev::kTunl;
  EXPECT_EQ(ToNetlinkRoute(r, names).dev, "tunl0");
}

TEST(ToNetlinkRoute, APreferredSourceOfTheOtherFamilyIsDropped) {
  PlannedRoute r;
  r.dst = P("fd10:4::2/128");
  r.src = A("10.4.0.1");
  EXPECT_FALSE(ToNetlinkRoute(r, DevNames()).src.valid());
  r.src = A("fd10:4::1");
  EXPECT_EQ(ToNetlinkRoute(r, DevNames()).src.String(), "fd10:4::1");
}

TEST(ToNetlinkRule, FamilyFromTheSelectorAndIifTheWireGuardInterface) {
  PlannedRule r;
  r.src = P("10.2.1.0/24");
  r.iif_kilo = true;
  Rule nr = ToNetlinkRule(r, "wg0");
  EXPECT_EQ(nr.family, 4);
  EXPECT_EQ(nr.iif, "wg0");
  EXPECT_EQ(nr.table, static_cast<uint32_t>(kKiloTable));
  PlannedRule v6;
  v6.dst = P("fd00::/64");
  Rule n6 = ToNetlinkRule(v6, "wg0");
  EXPECT_EQ(n6.family, 6);
  EXPECT_EQ(n6.iif, "");
}

}  // namespace
}  // namespace kilo::netlink
