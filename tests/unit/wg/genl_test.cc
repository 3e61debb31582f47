// Unit tests: WireGuard generic netlink messages, built into buffers and parsed
// back (the kernel here has no WireGuard module).

#include "wg/genl.h"

#include <gtest/gtest.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>

namespace kilo::wg {
namespace {

constexpr uint16_t kFamily = 0x1b;  // any id: the family is resolved at run time

Key K(uint32_t seed) {
  std::array<uint8_t, 32> b{};
  for (int i = 0; i < 4; ++i) b[i] = static_cast<uint8_t>(seed >> (8 * i));
  b[31] = 0x42;
  return Key(b);
}

const nlmsghdr* Hdr(const genl::Message& m) { return reinterpret_cast<const nlmsghdr*>(m.data()); }

// 1,000 peers x 4 allowed IPs (IPv4 and IPv6), as a big mesh would have.
WgDeviceUpdate BigUpdate() {
  WgDeviceUpdate u;
  u.private_key = K(99999);
  u.listen_port = 51820;
  u.replace_peers = true;
  for (uint32_t i = 0; i < 1000; ++i) {
    WgPeerUpdate p;
    p.public_key = K(i);
    p.replace_allowed_ips = true;
    p.endpoint = WgEndpoint{IPAddr::V4(192, 0, 2, static_cast<uint8_t>(i)), 51820};
    p.persistent_keepalive = 25;
    uint8_t hi = static_cast<uint8_t>(i >> 8), lo = static_cast<uint8_t>(i);
    p.allowed_ips = {IPPrefix(IPAddr::V4(10, 4, hi, lo), 32),
                     IPPrefix(IPAddr::V4(100, hi, lo, 0), 24),
                     IPPrefix(IPAddr::V4(172, 16, hi, lo), 32),
                     *IPPrefix::Parse("fd00:" + std::to_string(i) + "::/64")};
    u.peers.push_back(std::move(p));
  }
  return u;
}

TEST(GenlSetDevice, SmallRoundTrip) {
  WgDeviceUpdate u;
  u.listen_port = 4500;
  u.fwmark = 0x1107;
  WgPeerUpdate a;
  a.public_key = K(1);
  a.update_only = true;
  a.persistent_keepalive = 0;  // explicit "off" must survive the trip
  a.endpoint = WgEndpoint{*IPAddr::Parse("2001:db8::7"), 1};
  WgPeerUpdate b;
  b.public_key = K(2);
  b.remove = true;
  u.peers = {a, b};
  auto msgs = genl::BuildSetDevice(kFamily, "kilo0", u);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  ASSERT_EQ(msgs->size(), 1u);
  const nlmsghdr* h = Hdr((*msgs)[0]);
  EXPECT_EQ(h->nlmsg_type, kFamily);
  EXPECT_EQ(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  EXPECT_EQ(static_cast<const genlmsghdr*>(NLMSG_DATA(h))->cmd, WG_CMD_SET_DEVICE);
  std::string iface;
  auto back = genl::ParseSetDevice(*msgs, &iface);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(iface, "kilo0");
  EXPECT_EQ(*back, u);
}

TEST(GenlSetDevice, ThousandPeersSplitUnderTheLimit) {
  WgDeviceUpdate u = BigUpdate();
  auto msgs = genl::BuildSetDevice(kFamily, "kilo0", u);
  ASSERT_TRUE(msgs.ok()) << msgs.error();
  EXPECT_GT(msgs->size(), 10u);
  for (size_t i = 0; i < msgs->size(); ++i) {
    const auto& m = (*msgs)[i];
    EXPECT_LE(m.size(), genl::kMaxMessageSize) << "message " << i;
    EXPECT_EQ(Hdr(m)->nlmsg_len, m.size());
    // WGDEVICE_F_REPLACE_PEERS (and the device attributes) only in the first.
    WgDeviceUpdate one;
    auto p = genl::ParseSetDevice({m}, nullptr);
    ASSERT_TRUE(p.ok()) << p.error();
    EXPECT_EQ(p->replace_peers, i == 0) << "message " << i;
    EXPECT_EQ(p->private_key.has_value(), i == 0);
    EXPECT_EQ(p->listen_port.has_value(), i == 0);
  }
  auto back = genl::ParseSetDevice(*msgs, nullptr);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, u);
}

TEST(GenlSetDevice, OnePeerWithManyAllowedIPsContinues) {
  WgDeviceUpdate u;
  WgPeerUpdate p;
  p.public_key = K(7);
  p.replace_allowed_ips = true;
  for (int i = 0; i < 1000; ++i)
    p.allowed_ips.emplace_back(
        IPAddr::V4(10, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 0), 24);
  u.peers = {p};
  auto msgs = genl::BuildSetDevice(kFamily, "kilo0", u);
  ASSERT_TRUE(msgs.ok());
  ASSERT_GT(msgs->size(), 1u);
  size_t total = 0;
  for (size_t i = 0; i < msgs->size(); ++i) {
    auto part = genl::ParseSetDevice({(*msgs)[i]}, nullptr);
    ASSERT_TRUE(part.ok());
    ASSERT_EQ(part->peers.size(), 1u);
    EXPECT_EQ(part->peers[0].public_key, K(7));
    // A repeated replace would drop the allowed IPs of the earlier parts.
    EXPECT_EQ(part->peers[0].replace_allowed_ips, i == 0) << "part " << i;
    total += part->peers[0].allowed_ips.size();
  }
  EXPECT_EQ(total, 1000u);
  auto back = genl::ParseSetDevice(*msgs, nullptr);
  EXPECT_EQ(*back, u);
}

TEST(GenlSetDevice, TinyLimitIsAnErrorNotALoop) {
  WgDeviceUpdate u;
  u.peers.push_back({});
  auto msgs = genl::BuildSetDevice(kFamily, "kilo0", u, 64);
  EXPECT_FALSE(msgs.ok());
}

TEST(GenlGetDevice, RequestIsADump) {
  genl::Message m = genl::BuildGetDevice(kFamily, "kilo0");
  const nlmsghdr* h = Hdr(m);
  EXPECT_TRUE(h->nlmsg_flags & NLM_F_DUMP);
  EXPECT_EQ(static_cast<const genlmsghdr*>(NLMSG_DATA(h))->cmd, WG_CMD_GET_DEVICE);
}

TEST(GenlGetDevice, CannedMultiPartReplyMerges) {
  WgDevice d;
  d.name = "kilo0";
  d.ifindex = 7;
  d.private_key = K(5);
  d.public_key = K(6);
  d.listen_port = 51820;
  for (uint32_t i = 0; i < 300; ++i) {
    WgPeerStatus p;
    p.public_key = K(i + 100);
    p.endpoint = WgEndpoint{IPAddr::V4(198, 51, 100, static_cast<uint8_t>(i)), 51820};
    p.last_handshake_unix = 1767225600 + i;
    p.rx_bytes = i * 10;
    p.tx_bytes = i * 20;
    p.persistent_keepalive = 25;
    int n = i == 150 ? 400 : 3;  // one peer's allowed IPs span messages
    for (int j = 0; j < n; ++j)
      p.allowed_ips.emplace_back(IPAddr::V4(10, static_cast<uint8_t>(i),
                                            static_cast<uint8_t>(j >> 8), static_cast<uint8_t>(j)),
                                 32);
    d.peers.push_back(std::move(p));
  }
  auto msgs = genl::BuildGetDeviceReply(kFamily, d);
  ASSERT_TRUE(msgs.ok());
  ASSERT_GT(msgs->size(), 2u);
  WgDevice got;
  for (const auto& m : *msgs) {
    EXPECT_TRUE(Hdr(m)->nlmsg_flags & NLM_F_MULTI);
    ASSERT_TRUE(genl::ParseGetDevice(m.data(), m.size(), &got).ok());
  }
  EXPECT_EQ(got.name, "kilo0");
  EXPECT_EQ(got.ifindex, 7);
  EXPECT_EQ(got.private_key, K(5));
  EXPECT_EQ(got.listen_port, 51820);
  ASSERT_EQ(got.peers.size(), 300u);
  for (size_t i = 0; i < 300; ++i) {
    EXPECT_EQ(got.peers[i].public_key, d.peers[i].public_key);
    EXPECT_EQ(got.peers[i].allowed_ips, d.peers[i].allowed_ips) << i;
    EXPECT_EQ(got.peers[i].endpoint, d.peers[i].endpoint);
    EXPECT_EQ(got.peers[i].last_handshake_unix, d.peers[i].last_handshake_unix);
    EXPECT_EQ(got.peers[i].rx_bytes, d.peers[i].rx_bytes);
    EXPECT_EQ(got.peers[i].persistent_keepalive, 25);
  }
  // And the diff against the parsed device is empty for the same config.
  WgDeviceConfig c;
  c.private_key = K(5);
  c.listen_port = 51820;
  for (const auto& p : d.peers)
    c.peers.push_back({p.public_key, std::nullopt, p.endpoint, 25, p.allowed_ips});
  EXPECT_TRUE(ComputeUpdate(got, c).empty());
}

TEST(GenlGetDevice, TruncatedMessageIsAnError) {
  WgDevice d;
  d.name = "kilo0";
  auto msgs = genl::BuildGetDeviceReply(kFamily, d);
  genl::Message m = (*msgs)[0];
  WgDevice got;
  EXPECT_FALSE(genl::ParseGetDevice(m.data(), 10, &got).ok());
}

TEST(GenlFamily, RequestAndCannedReply) {
  genl::Message req = genl::BuildGetFamily("wireguard");
  EXPECT_EQ(Hdr(req)->nlmsg_type, GENL_ID_CTRL);
  // A canned controller reply: genlmsghdr + CTRL_ATTR_FAMILY_ID.
  std::vector<uint8_t> buf(64, 0);
  auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
  h->nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + 8;
  auto* attr = reinterpret_cast<nlattr*>(buf.data() + NLMSG_HDRLEN + GENL_HDRLEN);
  attr->nla_len = 6;
  attr->nla_type = CTRL_ATTR_FAMILY_ID;
  uint16_t id = 0x22;
  memcpy(attr + 1, &id, 2);
  auto got = genl::ParseFamilyId(buf.data(), h->nlmsg_len);
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(*got, 0x22);
}

TEST(GenlClient, FailsCleanlyWithoutTheModule) {
  GenlClient c;
  auto d = c.Get("kilo0");
  ASSERT_FALSE(d.ok());
  if (d.error().find("not found") == std::string::npos)
    GTEST_SKIP() << "this kernel has WireGuard: " << d.error();
  EXPECT_EQ(d.error(),
            "get kilo0: wireguard kernel module not available (genetlink family 'wireguard' not "
            "found)");
  EXPECT_FALSE(c.Exists("kilo0"));
}

}  // namespace
}  // namespace kilo::wg
