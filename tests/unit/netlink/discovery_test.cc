// Unit tests: internal/external IP selection (SPEC section 8) and MTU.

#include "netlink/discovery.h"

#include <gtest/gtest.h>

namespace kilo::netlink {
namespace {

HostAddress A(const char* iface, const char* cidr, bool def = false) {
  return {iface, *IPPrefix::Parse(cidr), def};
}

struct Case {
  std::string name;
  std::vector<HostAddress> addrs;
  DiscoveryOptions opts;
  std::string internal;  // "-" for none
  std::string external;  // or "error: ..."
};

DiscoveryOptions Opts(std::vector<const char*> hostname_ips = {},
                      const char* internal_cidr = nullptr, bool prio = false) {
  DiscoveryOptions o;
  for (auto s : hostname_ips) o.hostname_ips.push_back(*IPAddr::Parse(s));
  // Several CIDRs separated by commas, as --internal-cidr takes them.
  for (std::string s = internal_cidr ? internal_cidr : ""; !s.empty();) {
    size_t c = s.find(',');
    o.internal_cidrs.push_back(*IPPrefix::Parse(s.substr(0, c)));
    s = c == std::string::npos ? "" : s.substr(c + 1);
  }
  o.prioritise_private_addresses = prio;
  o.ignore_interfaces = {"kilo0", "tunl0"};
  return o;
}

class SelectIPsTable : public ::testing::TestWithParam<Case> {};

TEST_P(SelectIPsTable, Picks) {
  const Case& c = GetParam();
  auto r = SelectIPs(c.addrs, c.opts);
  if (c.external.rfind("error: ", 0) == 0) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), c.external.substr(7));
    return;
  }
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->internal ? r->internal->String() : "-", c.internal);
  EXPECT_EQ(r->external.String(), c.external);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SelectIPsTable,
    ::testing::Values(Case{"cloud_vm_private_only",
                           {A("lo", "127.0.0.1/8"), A("eth0", "10.0.0.5/24", true),
                            A("eth0", "fe80::1/64", true)},
                           Opts(),
                           "10.0.0.5/24",
                           "10.0.0.5/24"},
                      Case{"public_and_private",
                           {A("eth0", "203.0.113.7/24", true), A("eth1", "192.168.1.5/24")},
                           Opts(),
                           "192.168.1.5/24",
                           "203.0.113.7/24"},
                      Case{"public_only_has_no_internal",
                           {A("eth0", "203.0.113.7/24", true)},
                           Opts(),
                           "-",
                           "203.0.113.7/24"},
                      Case{"hostname_ip_wins_over_default_route",
                           {A("eth0", "10.0.0.5/24", true), A("eth1", "10.1.0.5/24")},
                           Opts({"10.1.0.5"}),
                           "10.1.0.5/24",
                           "10.1.0.5/24"},
                      Case{"hostname_interface_preferred",
                           {A("eth0", "10.0.0.5/24", true), A("eth1", "198.51.100.1/24"),
                            A("eth1", "172.16.0.9/16")},
                           Opts({"198.51.100.1"}),
                           "172.16.0.9/16",
                           "198.51.100.1/24"},
                      Case{"default_route_before_others",
                           {A("docker0", "172.17.0.1/16"), A("eth0", "192.168.5.5/24", true)},
                           Opts(),
                           "192.168.5.5/24",
                           "192.168.5.5/24"},
                      Case{"ipv4_before_ipv6_then_text",
                           {A("eth0", "fd00::5/64", true), A("eth0", "10.0.0.20/24", true),
                            A("eth0", "10.0.0.3/24", true)},
                           Opts(),
                           "10.0.0.20/24",
                           "10.0.0.20/24"},
                      Case{"kilo_interfaces_ignored",
                           {A("kilo0", "10.4.0.1/16"), A("tunl0", "100.96.0.1/32"),
                            A("eth0", "10.0.0.5/24", true)},
                           Opts(),
                           "10.0.0.5/24",
                           "10.0.0.5/24"},
                      Case{"internal_cidr_restricts",
                           {A("eth0", "10.0.0.5/24", true), A("eth1", "192.168.7.7/24")},
                           Opts({}, "192.168.0.0/16"),
                           "192.168.7.7/24",
                           "192.168.7.7/24"},
                      // Kilo 0.7 (#403) filters the private candidates only: a public
                      // address is never internal, whatever --internal-cidr names.
                      Case{"internal_cidr_filters_private_addresses_only",
                           {A("eth0", "203.0.113.7/24", true), A("eth1", "198.51.100.4/24")},
                           Opts({}, "198.51.100.0/24"),
                           "-",
                           "203.0.113.7/24"},
                      Case{"internal_cidr_several",
                           {A("eth0", "10.0.0.5/24", true), A("eth1", "192.168.7.7/24"),
                            A("eth2", "172.16.3.3/16")},
                           Opts({}, "10.9.0.0/16,192.168.7.0/24"),
                           "192.168.7.7/24",
                           "192.168.7.7/24"},
                      Case{"internal_cidr_matching_nothing_is_an_error_without_a_public_ip",
                           {A("eth0", "10.0.0.5/24", true)},
                           Opts({}, "192.168.0.0/16"),
                           "-",
                           "error: no valid IP was found"},
                      Case{"prioritise_private",
                           {A("eth0", "203.0.113.7/24", true), A("eth1", "10.9.9.9/8")},
                           Opts({}, nullptr, true),
                           "10.9.9.9/8",
                           "10.9.9.9/8"},
                      Case{"ula_is_private",
                           {A("eth0", "2001:db8::5/64", true), A("eth0", "fd12::5/64", true)},
                           Opts(),
                           "fd12::5/64",
                           "2001:db8::5/64"},
                      Case{"only_loopback_and_link_local",
                           {A("lo", "127.0.0.1/8"), A("lo", "::1/128"),
                            A("eth0", "169.254.3.3/16", true)},
                           Opts(),
                           "-",
                           "error: no valid IP was found"}),
    [](const auto& info) { return info.param.name; });

TEST(AutoMTU, DefaultRouteInterfaceFirst) {
  std::vector<Link> links = {{1, "lo", "", 65536}, {2, "eth0", "", 9001}, {3, "eth1", "", 1500}};
  EXPECT_EQ(*AutoMTU(links, "eth0", "eth1"), 8921);
  EXPECT_EQ(*AutoMTU(links, "", "eth1"), 1420);
  EXPECT_EQ(*AutoMTU(links, "gone", "eth1"), 1420);
  EXPECT_FALSE(AutoMTU(links, "", "").ok());
}

}  // namespace
}  // namespace kilo::netlink
