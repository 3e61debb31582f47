// The tunnel interface kg uses (Kilo's encapsulators' Init) and the CNI
// compatibility IP it publishes, against the stateful netlink fake.

#include "agent/encapsulation.h"

#include <gtest/gtest.h>

#include "fakes/netlink/fake_netlink.h"

namespace kilo::agent {
namespace {

using netlink::FakeNetlink;
using netlink::Link;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

TEST(SetUpTunnel, Table) {
  struct Case {
    const char* name;
    Compatibility compat;
    std::optional<Link> existing;  // present before
    bool ipip_unsupported;
    std::string want_name;  // "" = an error
    bool want_clean_up;
    std::string want_writes;
  };
  const Case cases[] = {
      {"ipip creates tunl0, kept on clean-up", Compatibility::kNone, std::nullopt, false, "tunl0",
       false, "add link tunl0 type ipip\nset link tunl0 up\n"},
      {"cilium reuses a down cilium_tunl and sets it up", Compatibility::kCilium,
       Link{0, "cilium_tunl", "ipip", 1480, false, false}, false, "cilium_tunl", false,
       "set link cilium_tunl up\n"},
      {"cilium reuses an up cilium_tunl without a write", Compatibility::kCilium,
       Link{0, "cilium_tunl", "ipip", 1480, true, false}, false, "cilium_tunl", false, ""},
      {"cilium without cilium_tunl creates tunl0, removed on clean-up", Compatibility::kCilium,
       std::nullopt, false, "tunl0", true, "add link tunl0 type ipip\nset link tunl0 up\n"},
      {"cilium without cilium_tunl nor ipip module fails", Compatibility::kCilium, std::nullopt,
       true, "", false, ""},
      {"cilium_tunl means nothing outside cilium mode", Compatibility::kNone,
       Link{0, "cilium_tunl", "ipip", 1480, false, false}, false, "tunl0", false,
       "add link tunl0 type ipip\nset link tunl0 up\n"},
      {"flannel creates nothing", Compatibility::kFlannel, std::nullopt, false, "tunl0", false, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FakeNetlink nl;
    if (c.existing) nl.AddLinkNow(*c.existing);
    if (c.ipip_unsupported) nl.SetUnsupportedKinds({"ipip"});
    auto t = SetUpTunnel(nl, c.compat);
    if (c.want_name.empty()) {
      ASSERT_FALSE(t.ok());
      EXPECT_NE(t.error().find("not supported"), std::string::npos) << t.error();
      continue;
    }
    ASSERT_TRUE(t.ok()) << t.error();
    EXPECT_EQ(t->name, c.want_name);
    EXPECT_EQ(t->clean_up, c.want_clean_up);
    EXPECT_EQ(Join(nl.writes()), c.want_writes);
    auto link = nl.FindLink(c.want_name);
    if (c.compat != Compatibility::kFlannel) {
      ASSERT_TRUE(link.ok() && link->has_value());
      EXPECT_TRUE((*link)->up);
    }
    // Idempotent: a second set-up (a restarted kg) writes nothing.
    nl.ClearWrites();
    auto again = SetUpTunnel(nl, c.compat);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->name, c.want_name);
    EXPECT_EQ(Join(nl.writes()), "");
  }
}

TEST(CNICompatibilityIP, Table) {
  auto P = [](const char* s) { return *IPPrefix::Parse(s); };
  struct Case {
    const char* name;
    Compatibility compat;
    bool cilium_host;
    std::vector<IPPrefix> addrs;  // on cilium_host, in kernel order
    std::string want;
  };
  const Case cases[] = {
      {"first IPv4 address with its prefix",
       Compatibility::kCilium,
       true,
       {P("fd00:10::5/128"), P("10.0.1.5/32"), P("10.0.1.6/32")},
       "10.0.1.5/32"},
      {"prefix length as configured, host bits kept",
       Compatibility::kCilium,
       true,
       {P("10.0.1.5/24")},
       "10.0.1.5/24"},
      {"only IPv6: none", Compatibility::kCilium, true, {P("fd00:10::5/128")}, ""},
      {"no address: none", Compatibility::kCilium, true, {}, ""},
      {"no cilium_host: none", Compatibility::kCilium, false, {}, ""},
      {"not cilium mode: none", Compatibility::kNone, true, {P("10.0.1.5/32")}, ""},
      {"flannel: none", Compatibility::kFlannel, true, {P("10.0.1.5/32")}, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    FakeNetlink nl;
    // An address on another interface is never taken.
    nl.AddLinkNow({0, "eth0", "veth", 1500, true, false});
    nl.AddAddressNow("eth0", P("192.168.1.10/24"));
    if (c.cilium_host) {
      nl.AddLinkNow({0, "cilium_host", "veth", 1500, true, false});
      for (const auto& a : c.addrs) nl.AddAddressNow("cilium_host", a);
    }
    EXPECT_EQ(CNICompatibilityIP(nl, c.compat), c.want);
  }
  // A netlink error reads as none (Kilo ignores it too).
  FakeNetlink nl;
  nl.AddLinkNow({0, "cilium_host", "veth", 1500, true, false});
  nl.AddAddressNow("cilium_host", P("10.0.1.5/32"));
  nl.FailNext("netlink: EBUSY");
  EXPECT_EQ(CNICompatibilityIP(nl, Compatibility::kCilium), "");
  EXPECT_EQ(CNICompatibilityIP(nl, Compatibility::kCilium), "10.0.1.5/32");
}

}  // namespace
}  // namespace kilo::agent
