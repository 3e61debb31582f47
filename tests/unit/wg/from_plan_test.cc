// wg::PeerConfigFromPlan: the one conversion of a planned [Peer] into the
// device's peer, used by kg and by kgctl connect.

#include "wg/from_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kilo::wg {
namespace {

Key K(uint8_t seed) {
  std::array<uint8_t, 32> b{};
  b.fill(seed);
  return Key(b);
}

WgPeer Planned(std::optional<Endpoint> e) {
  WgPeer p;
  p.public_key = K(1);
  p.preshared_key = K(2);
  p.endpoint = std::move(e);
  p.persistent_keepalive = 25;
  p.allowed_ips = {*IPPrefix::Parse("10.4.0.1/32"), *IPPrefix::Parse("10.2.1.0/24")};
  return p;
}

TEST(PeerConfigFromPlan, CopiesKeysKeepaliveAndAllowedIPsAndAnIPEndpoint) {
  std::vector<std::string> looked_up;
  DnsLookup lookup = [&](const std::string& n) {
    looked_up.push_back(n);
    return IPAddr::Parse("192.0.2.9");
  };
  WgPeerConfig pc =
      PeerConfigFromPlan(Planned(Endpoint(*IPAddr::Parse("198.51.100.1"), 51820)), lookup);
  EXPECT_TRUE(pc.public_key == K(1));
  ASSERT_TRUE(pc.preshared_key.has_value());
  EXPECT_TRUE(*pc.preshared_key == K(2));
  EXPECT_EQ(pc.persistent_keepalive, 25);
  ASSERT_EQ(pc.allowed_ips.size(), 2u);
  EXPECT_EQ(pc.allowed_ips[1].String(), "10.2.1.0/24");
  ASSERT_TRUE(pc.endpoint.has_value());
  EXPECT_EQ(pc.endpoint->String(), "198.51.100.1:51820");
  EXPECT_TRUE(looked_up.empty()) << "an IP endpoint needs no lookup";
}

TEST(PeerConfigFromPlan, ADnsEndpointIsLookedUpEveryTime) {
  int calls = 0;
  DnsLookup lookup = [&](const std::string& n) -> std::optional<IPAddr> {
    ++calls;
    if (n != "gw.example.com") return std::nullopt;
    return IPAddr::Parse(calls == 1 ? "192.0.2.9" : "192.0.2.10");
  };
  const WgPeer p = Planned(Endpoint::FromDNS("gw.example.com", 51821));
  EXPECT_EQ(PeerConfigFromPlan(p, lookup).endpoint->String(), "192.0.2.9:51821");
  EXPECT_EQ(PeerConfigFromPlan(p, lookup).endpoint->String(), "192.0.2.10:51821");
}

TEST(PeerConfigFromPlan, NoEndpointLeavesTheDevicesOne) {
  DnsLookup fails = [](const std::string&) { return std::optional<IPAddr>(); };
  // nullopt: WireGuard keeps what it has (a roaming peer's learned address).
  EXPECT_FALSE(PeerConfigFromPlan(Planned(std::nullopt), fails).endpoint.has_value());
  EXPECT_FALSE(
      PeerConfigFromPlan(Planned(Endpoint::FromDNS("gone.example.com", 1)), fails).endpoint);
  EXPECT_FALSE(PeerConfigFromPlan(Planned(Endpoint::FromDNS("x.example.com", 1)), DnsLookup())
                   .endpoint.has_value());
}

}  // namespace
}  // namespace kilo::wg
