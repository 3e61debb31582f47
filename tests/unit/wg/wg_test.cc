// Unit tests: UAPI text protocol, the converge diff, and the fake.

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fakes/wg/fake_wireguard.h"
#include "wg/uapi.h"
#include "wg/wireguard.h"

namespace kilo::wg {
namespace {

Key K(uint8_t seed) {
  std::array<uint8_t, 32> b{};
  for (int i = 0; i < 32; ++i) b[i] = static_cast<uint8_t>(seed + i);
  return Key(b);
}
IPPrefix P(const char* s) { return *IPPrefix::Parse(s); }
WgEndpoint E(const char* s) { return *WgEndpoint::Parse(s); }

WgDeviceConfig SampleConfig() {
  WgDeviceConfig c;
  c.private_key = K(1);
  c.listen_port = 51820;
  WgPeerConfig a;
  a.public_key = K(10);
  a.endpoint = E("192.0.2.1:51820");
  a.persistent_keepalive = 25;
  a.allowed_ips = {P("10.4.0.1/32"), P("100.96.1.0/24")};
  WgPeerConfig b;
  b.public_key = K(20);
  b.preshared_key = K(30);
  b.endpoint = E("[2001:db8::1]:4500");
  b.allowed_ips = {P("10.4.0.2/32"), P("fd00:1::/64")};
  c.peers = {a, b};
  return c;
}

// A daemon that accepts the UAPI connection and never answers (wedged, or
// SIGSTOPped) fails the call after the timeout instead of blocking kg.
TEST(UapiClient, SilentDaemonTimesOut) {
  char dir[] = "/tmp/kilo-uapi-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/wg9.sock";
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(srv, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
  ASSERT_EQ(listen(srv, 4), 0);  // the kernel completes the connect; nobody reads

  UapiClient c(dir, std::chrono::milliseconds(200));
  ASSERT_TRUE(c.Exists("wg9"));
  auto t0 = std::chrono::steady_clock::now();
  auto got = c.Get("wg9");
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error(),
            "get wg9: read " + path + ": no reply in 200 ms; is wireguard-go for wg9 hung?");
  EXPECT_LT(took, std::chrono::seconds(5));
  close(srv);
  unlink(path.c_str());
  rmdir(dir);
}

TEST(WgEndpoint, ParseAndFormat) {
  EXPECT_EQ(E("1.2.3.4:51820").String(), "1.2.3.4:51820");
  EXPECT_EQ(E("[2001:db8::1]:1").String(), "[2001:db8::1]:1");
  EXPECT_EQ(E("[fe80::1%eth0]:5").ip.String(), "fe80::1");
  EXPECT_FALSE(WgEndpoint::Parse("1.2.3.4"));
  EXPECT_FALSE(WgEndpoint::Parse("1.2.3.4:70000"));
  EXPECT_FALSE(WgEndpoint::Parse("[::1:5"));
}

TEST(Uapi, KeyHexRoundTrip) {
  Key k = K(7);
  std::string hex = uapi::KeyToHex(k);
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(hex.substr(0, 4), "0708");
  EXPECT_EQ(*uapi::KeyFromHex(hex), k);
  EXPECT_FALSE(uapi::KeyFromHex(hex.substr(1)));
  EXPECT_FALSE(uapi::KeyFromHex(std::string(64, 'g')));
}

TEST(Uapi, FormatSetExactText) {
  WgDeviceUpdate u;
  u.listen_port = 51820;
  WgPeerUpdate rm;
  rm.public_key = K(1);
  rm.remove = true;
  WgPeerUpdate up;
  up.public_key = K(2);
  up.update_only = true;
  up.persistent_keepalive = 0;
  up.replace_allowed_ips = true;
  up.allowed_ips = {P("10.1.0.7/24"), P("fd00::1/128")};
  u.peers = {rm, up};
  EXPECT_EQ(uapi::FormatSet(u),
            "set=1\n"
            "listen_port=51820\n"
            "public_key=" +
                uapi::KeyToHex(K(1)) +
                "\n"
                "remove=true\n"
                "public_key=" +
                uapi::KeyToHex(K(2)) +
                "\n"
                "update_only=true\n"
                "persistent_keepalive_interval=0\n"
                "replace_allowed_ips=true\n"
                "allowed_ip=10.1.0.0/24\n"
                "allowed_ip=fd00::1/128\n"
                "\n");
}

TEST(Uapi, SetRoundTrip) {
  WgDeviceUpdate u = FullUpdate(SampleConfig());
  auto back = uapi::ParseSet(uapi::FormatSet(u));
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(*back, u);
}

TEST(Uapi, ParseGetCannedWireguardGoReply) {
  const std::string reply =
      "private_key=" + uapi::KeyToHex(K(1)) +
      "\n"
      "listen_port=51820\n"
      "fwmark=0\n"
      "public_key=" +
      uapi::KeyToHex(K(10)) +
      "\n"
      "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
      "protocol_version=1\n"
      "endpoint=192.0.2.1:51820\n"
      "last_handshake_time_sec=1767225600\n"
      "last_handshake_time_nsec=5\n"
      "tx_bytes=100\n"
      "rx_bytes=200\n"
      "persistent_keepalive_interval=25\n"
      "allowed_ip=10.4.0.1/32\n"
      "allowed_ip=100.96.1.0/24\n"
      "public_key=" +
      uapi::KeyToHex(K(20)) +
      "\n"
      "endpoint=[2001:db8::1]:4500\n"
      "allowed_ip=fd00:1::/64\n"
      "errno=0\n\n";
  auto d = uapi::ParseGet(reply);
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->private_key, K(1));
  EXPECT_EQ(d->public_key, K(1).Public());
  EXPECT_EQ(d->listen_port, 51820);
  ASSERT_EQ(d->peers.size(), 2u);
  EXPECT_EQ(d->peers[0].public_key, K(10));
  EXPECT_TRUE(d->peers[0].preshared_key.IsZero());
  EXPECT_EQ(d->peers[0].endpoint->String(), "192.0.2.1:51820");
  EXPECT_EQ(d->peers[0].last_handshake_unix, 1767225600);
  EXPECT_EQ(d->peers[0].rx_bytes, 200u);
  EXPECT_EQ(d->peers[0].tx_bytes, 100u);
  EXPECT_EQ(d->peers[0].persistent_keepalive, 25);
  EXPECT_EQ(d->peers[0].allowed_ips, (std::vector<IPPrefix>{P("10.4.0.1/32"), P("100.96.1.0/24")}));
  EXPECT_EQ(d->peers[1].endpoint->String(), "[2001:db8::1]:4500");
  // The debug dump never shows the private key.
  EXPECT_EQ(d->DebugString().find(K(1).String()), std::string::npos);
  EXPECT_NE(d->DebugString().find("(hidden)"), std::string::npos);
}

TEST(Uapi, ParseErrors) {
  EXPECT_FALSE(uapi::ParseGet("errno=19\n\n").ok());
  EXPECT_FALSE(uapi::ParseGet("listen_port=1\n").ok());  // no errno: truncated
  auto bad = uapi::ParseGet("private_key=zz" + std::string(62, '0') + "\nerrno=0\n\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().find("zz"), std::string::npos) << "must not echo key material";
  EXPECT_TRUE(uapi::ParseErrno("errno=0\n\n").ok());
  EXPECT_NE(uapi::ParseErrno("errno=22\n\n").message().find("errno=22"), std::string::npos);
}

// ---- the diff

WgDevice DeviceFrom(const WgDeviceConfig& c) {
  FakeWireGuard f;
  f.AddDevice("kilo0");
  EXPECT_TRUE(f.Set("kilo0", FullUpdate(c)).ok());
  return *f.Get("kilo0");
}

TEST(ComputeUpdate, IdenticalConfigIsEmpty) {
  WgDeviceConfig c = SampleConfig();
  WgDeviceUpdate u = ComputeUpdate(DeviceFrom(c), c);
  EXPECT_TRUE(u.empty());
  EXPECT_EQ(u.Writes(), 0);
}

// What kg logs with each write ("wireguard changed"): the old and new value of
// each changed field, peers by the head of their public key, never a key.
TEST(DescribeUpdate, NamesEachChangeAndNoKey) {
  WgDeviceConfig c = SampleConfig();
  WgDevice d = DeviceFrom(c);
  EXPECT_EQ(DescribeUpdate(d, ComputeUpdate(d, c)), "");
  c.peers[0].endpoint = E("198.51.100.13:4096");
  c.peers[1].preshared_key = K(31);
  WgPeerConfig n;
  n.public_key = K(40);
  n.endpoint = E("203.0.113.9:51820");
  c.peers.push_back(n);
  const std::string a = K(10).String().substr(0, 8), b = K(20).String().substr(0, 8),
                    nn = K(40).String().substr(0, 8);
  EXPECT_EQ(DescribeUpdate(d, ComputeUpdate(d, c)),
            "peer " + a + ": endpoint 192.0.2.1:51820 -> 198.51.100.13:4096; peer " + b +
                ": preshared key; peer " + nn + " added at 203.0.113.9:51820");
  c.peers.erase(c.peers.begin());
  c.private_key = K(2);
  const std::string out = DescribeUpdate(d, ComputeUpdate(d, c));
  EXPECT_NE(out.find("private key; "), std::string::npos) << out;
  EXPECT_NE(out.find("peer " + a + " removed"), std::string::npos) << out;
  for (const Key& k : {K(1), K(2), K(30), K(31)})
    EXPECT_EQ(out.find(k.String().substr(0, 8)), std::string::npos) << "a secret leaked: " << out;
}

TEST(ComputeUpdate, AllowedIPsComparedAsSetsOfNetworks) {
  WgDeviceConfig c = SampleConfig();
  WgDevice d = DeviceFrom(c);
  std::reverse(c.peers[0].allowed_ips.begin(), c.peers[0].allowed_ips.end());
  c.peers[0].allowed_ips[0] = P("100.96.1.77/24");  // host bits: same network
  EXPECT_TRUE(ComputeUpdate(d, c).empty());
}

TEST(ComputeUpdate, ChangedAllowedIPsWriteOnlyThatPeer) {
  WgDeviceConfig c = SampleConfig();
  WgDevice d = DeviceFrom(c);
  c.peers[1].allowed_ips.push_back(P("192.168.0.0/24"));
  WgDeviceUpdate u = ComputeUpdate(d, c);
  ASSERT_EQ(u.peers.size(), 1u);
  EXPECT_EQ(u.Writes(), 1);
  EXPECT_EQ(u.peers[0].public_key, K(20));
  EXPECT_TRUE(u.peers[0].update_only);
  EXPECT_TRUE(u.peers[0].replace_allowed_ips);
  EXPECT_FALSE(u.peers[0].endpoint);
  EXPECT_FALSE(u.peers[0].preshared_key);
  EXPECT_FALSE(u.peers[0].persistent_keepalive);
  EXPECT_FALSE(u.private_key);
  EXPECT_FALSE(u.listen_port);
}

struct DiffCase {
  std::string name;
  std::function<void(WgDeviceConfig&)> mutate;
  std::string expect;  // a compact description of the update
};

std::string Describe(const WgDeviceUpdate& u) {
  std::string s;
  if (u.private_key) s += "private_key ";
  if (u.listen_port) s += "port=" + std::to_string(*u.listen_port) + " ";
  if (u.fwmark) s += "fwmark ";
  for (const auto& p : u.peers) {
    s += "[" + std::to_string(p.public_key.bytes()[0]);
    if (p.remove) s += " remove";
    if (p.update_only) s += " update";
    if (p.preshared_key) s += " psk";
    if (p.endpoint) s += " ep=" + p.endpoint->String();
    if (p.persistent_keepalive) s += " ka=" + std::to_string(*p.persistent_keepalive);
    if (p.replace_allowed_ips) s += " aips=" + std::to_string(p.allowed_ips.size());
    s += "] ";
  }
  return s;
}

class DiffTable : public ::testing::TestWithParam<DiffCase> {};

TEST_P(DiffTable, Update) {
  WgDeviceConfig c = SampleConfig();
  WgDevice d = DeviceFrom(c);
  GetParam().mutate(c);
  EXPECT_EQ(Describe(ComputeUpdate(d, c)), GetParam().expect);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DiffTable,
    ::testing::Values(
        DiffCase{"identical", [](WgDeviceConfig&) {}, ""},
        DiffCase{"listen_port", [](WgDeviceConfig& c) { c.listen_port = 4500; }, "port=4500 "},
        DiffCase{"port_zero_leaves", [](WgDeviceConfig& c) { c.listen_port = 0; }, ""},
        DiffCase{"private_key", [](WgDeviceConfig& c) { c.private_key = K(2); }, "private_key "},
        DiffCase{"no_private_key_leaves", [](WgDeviceConfig& c) { c.private_key.reset(); }, ""},
        DiffCase{"remove_peer", [](WgDeviceConfig& c) { c.peers.pop_back(); }, "[20 remove] "},
        DiffCase{"add_peer",
                 [](WgDeviceConfig& c) {
                   WgPeerConfig p;
                   p.public_key = K(40);
                   p.allowed_ips = {P("10.9.0.0/16")};
                   c.peers.push_back(p);
                 },
                 "[40 aips=1] "},
        DiffCase{"endpoint", [](WgDeviceConfig& c) { c.peers[0].endpoint = E("192.0.2.9:1"); },
                 "[10 update ep=192.0.2.9:1] "},
        DiffCase{"endpoint_unset_leaves", [](WgDeviceConfig& c) { c.peers[0].endpoint.reset(); },
                 ""},
        DiffCase{"keepalive_off", [](WgDeviceConfig& c) { c.peers[0].persistent_keepalive = 0; },
                 "[10 update ka=0] "},
        DiffCase{"psk_removed", [](WgDeviceConfig& c) { c.peers[1].preshared_key.reset(); },
                 "[20 update psk] "},
        DiffCase{"psk_zero_equals_none",
                 [](WgDeviceConfig& c) { c.peers[0].preshared_key = Key(); }, ""},
        DiffCase{"replace_all_peers",
                 [](WgDeviceConfig& c) {
                   c.peers[0].public_key = K(50);
                   c.peers.pop_back();
                 },
                 "[10 remove] [20 remove] [50 ep=192.0.2.1:51820 ka=25 aips=2] "}),
    [](const auto& info) { return info.param.name; });

TEST(FakeWireGuard, ApplyTwiceWritesOnce) {
  FakeWireGuard f;
  f.AddDevice("kilo0");
  auto first = f.Apply("kilo0", SampleConfig());
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(*first, 4);  // private key, port, two peers
  auto second = f.Apply("kilo0", SampleConfig());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 0);
  EXPECT_EQ(f.writes().size(), 1u);
}

TEST(FakeWireGuard, ErrorsCarryContext) {
  FakeWireGuard f;
  auto r = f.Apply("kilo0", SampleConfig());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "apply wireguard config to kilo0: get kilo0: No such device");
}

TEST(AutoClient, MissingUapiSocketFallsBackToGenetlink) {
  auto c = NewWireGuardClient({"/nonexistent-kilo-test"});
  auto d = c->Get("kgtest-none0");
  ASSERT_FALSE(d.ok());
  // Either the module is missing (this CI) or the device is: both are clean errors.
  EXPECT_NE(d.error().find("get kgtest-none0"), std::string::npos) << d.error();
}

}  // namespace
}  // namespace kilo::wg
