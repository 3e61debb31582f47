// `kgctl connect`: flag validation, the Peer it registers, and the plan of
// the host (Kilo's PeerConf + PeerRoutes, through PlanHost) for a small
// cluster, compared as text.

#include "cli/connect.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/peer_routes.h"
#include "core/translate.h"

#ifdef KILO_HAVE_K8S
#include "k8s/decode.h"
#endif

namespace kilo::cli {
namespace {

constexpr int64_t kNow = 1000000;

Key KeyFrom(uint8_t seed) {
  std::array<uint8_t, Key::kLen> b{};
  b.fill(seed);
  return Key(b).Public();
}

NodeObject MakeNode(const std::string& name, const std::string& location,
                    const std::string& endpoint, const std::string& internal_ip,
                    const std::string& pod_cidr, uint8_t key_seed,
                    const std::string& wireguard_ip = "") {
  NodeObject n;
  n.name = name;
  n.pod_cidr = pod_cidr;
  n.annotations["kilo.squat.ai/location"] = location;
  n.annotations["kilo.squat.ai/endpoint"] = endpoint;
  n.annotations["kilo.squat.ai/internal-ip"] = internal_ip;
  n.annotations["kilo.squat.ai/key"] = KeyFrom(key_seed).String();
  n.annotations["kilo.squat.ai/last-seen"] = std::to_string(kNow - 10);
  n.annotations["kilo.squat.ai/granularity"] = "location";
  if (!wireguard_ip.empty()) n.annotations["kilo.squat.ai/wireguard-ip"] = wireguard_ip;
  return n;
}

PeerObject MakePeer(const std::string& name, const std::string& aip, uint8_t key_seed,
                    int keepalive) {
  PeerObject p;
  p.name = name;
  p.allowed_ips = {aip};
  p.has_allowed_ips = true;
  p.public_key = KeyFrom(key_seed).String();
  p.persistent_keepalive = keepalive;
  return p;
}

// Location a: a1 (public, leader) and a2. Location b: b1 behind NAT, whose
// private IP is its declared endpoint, with an allowed-location-IP.
// Peers: laptop (us) and phone.
ClusterObjects SmallCluster() {
  ClusterObjects o;
  o.nodes.push_back(
      MakeNode("a1", "a", "198.51.100.1:51820", "10.0.1.1/24", "10.2.1.0/24", 1, "10.4.0.1/16"));
  o.nodes.push_back(MakeNode("a2", "a", "10.0.1.2:51820", "10.0.1.2/24", "10.2.3.0/24", 2));
  NodeObject b1 =
      MakeNode("b1", "b", "10.0.2.1:51820", "10.0.2.1/24", "10.2.2.0/24", 3, "10.4.0.2/16");
  b1.annotations["kilo.squat.ai/allowed-location-ips"] = "192.168.50.0/24";
  b1.annotations["kilo.squat.ai/persistent-keepalive"] = "10";
  o.nodes.push_back(b1);
  o.peers.push_back(MakePeer("laptop", "10.5.0.1/32", 10, 10));
  o.peers.push_back(MakePeer("phone", "10.5.0.2/32", 11, 0));
  return o;
}

ConnectConfig Config(std::vector<std::string> allowed_ips = {}) {
  ConnectOptions o;
  o.peer_name = "laptop";
  o.allowed_ip = "10.5.0.1/32";
  o.allowed_ips = std::move(allowed_ips);
  auto c = ValidateConnectOptions(o, "host");
  EXPECT_TRUE(c.ok()) << c.error();
  return *c;
}

TEST(PeerRoutes, SmallClusterAsKilo) {
  GlobalOptions g;
  auto st = ComputeConnectState(SmallCluster(), g, Config({"10.96.0.0/12"}), kNow);
  ASSERT_TRUE(st.ok()) << st.error();
  // Per segment: pod subnets, private IPs (b1's is its endpoint: skipped),
  // allowed-location-IPs (10.96.0.0/12 was added to a1, the first node), the
  // WireGuard IP; then the other Peer; --allowed-ips are already planned.
  EXPECT_EQ(RenderConnectRoutes(st->plan.installed_routes, "kilo0"),
            "route 10.2.1.0/24 via 10.4.0.1 dev kilo0 onlink\n"
            "route 10.2.3.0/24 via 10.4.0.1 dev kilo0 onlink\n"
            "route 10.0.1.1/32 via 10.4.0.1 dev kilo0 onlink\n"
            "route 10.0.1.2/32 via 10.4.0.1 dev kilo0 onlink\n"
            "route 10.96.0.0/12 via 10.4.0.1 dev kilo0 onlink\n"
            "route 10.4.0.1/32 dev kilo0\n"
            "route 10.2.2.0/24 via 10.4.0.2 dev kilo0 onlink\n"
            "route 192.168.50.0/24 via 10.4.0.2 dev kilo0 onlink\n"
            "route 10.4.0.2/32 dev kilo0\n"
            "route 10.5.0.2/32 dev kilo0\n");
}

TEST(PeerRoutes, WithoutAdditionalIPsAndOtherInterface) {
  GlobalOptions g;
  auto st = ComputeConnectState(SmallCluster(), g, Config(), kNow);
  ASSERT_TRUE(st.ok()) << st.error();
  std::string text = RenderConnectRoutes(st->plan.installed_routes, "wg-kilo");
  EXPECT_EQ(text.find("10.96.0.0/12"), std::string::npos);
  EXPECT_NE(text.find("route 10.4.0.2/32 dev wg-kilo\n"), std::string::npos);
  EXPECT_EQ(text.find("10.5.0.1/32"), std::string::npos) << "no route to ourselves";
}

TEST(PeerRoutes, AdditionalIPsViaFirstSegmentWhenNotAlreadyPlanned) {
  // Directly on a Mesh: the additional CIDRs come last, via segment 0.
  GlobalOptions g;
  auto cluster = BuildCluster(SmallCluster(), g, kNow);
  ASSERT_TRUE(cluster.ok());
  auto mesh = Mesh::Build(cluster->ReadyNodes(), cluster->ReadyPeers(), {}, nullptr);
  ASSERT_TRUE(mesh.ok());
  PeerRouteOptions o;
  o.additional_allowed_ips = {*IPPrefix::Parse("10.96.0.7/12"), *IPPrefix::Parse("10.2.1.0/24")};
  auto routes = PeerRoutes(*mesh, "phone", o);
  std::string text = RenderConnectRoutes(routes, "kilo0");
  EXPECT_NE(text.find("route 10.5.0.1/32 dev kilo0\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("10.5.0.2/32"), std::string::npos) << text;
  const std::string tail =
      "route 10.5.0.1/32 dev kilo0\nroute 10.96.0.0/12 via 10.4.0.1 dev kilo0 onlink\n";
  ASSERT_GE(text.size(), tail.size());
  EXPECT_EQ(text.substr(text.size() - tail.size()), tail) << text;
}

TEST(ConnectState, PeerConfIsShowconfPeerAndNattedKeepalives) {
  GlobalOptions g;
  auto st = ComputeConnectState(SmallCluster(), g, Config({"10.96.0.0/12"}), kNow);
  ASSERT_TRUE(st.ok()) << st.error();
  ASSERT_EQ(st->plan.wireguard.peers.size(), 3u);  // two segments and the phone
  EXPECT_FALSE(st->plan.wireguard.private_key.has_value());
  EXPECT_EQ(st->plan.wireguard.listen_port, 51820);
  EXPECT_EQ(st->plan.interface_address->String(), "10.5.0.1/32");
  std::string text = st->plan.wireguard.Render();
  EXPECT_NE(text.find("AllowedIPs = 10.2.1.0/24, 10.0.1.1/32, 10.2.3.0/24, 10.0.1.2/32, "
                      "10.4.0.1/32, 10.96.0.0/12"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Endpoint = 198.51.100.1:51820"), std::string::npos) << text;
  EXPECT_NE(text.find("PersistentKeepalive = 10"), std::string::npos) << text;
  int b1_keepalive = -1;
  for (const auto& [k, ka] : st->natted)
    if (k == KeyFrom(3)) b1_keepalive = ka;
  EXPECT_EQ(b1_keepalive, 10);
}

TEST(ConnectState, Errors) {
  GlobalOptions g;
  ConnectConfig c = Config();
  c.peer_name = "nobody";
  auto st = ComputeConnectState(SmallCluster(), g, c, kNow);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error(), "did not find any peer named \"nobody\" in the cluster");
  // Nodes not heard from for a long time are not ready.
  auto stale = ComputeConnectState(SmallCluster(), g, Config(), kNow + 3600);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error(), "did not find any valid Kilo nodes in the cluster");
  GlobalOptions bad;
  bad.granularity = "galaxy";
  EXPECT_FALSE(ComputeConnectState(SmallCluster(), bad, Config(), kNow).ok());
}

struct FlagCase {
  const char* name;
  ConnectOptions opts;
  const char* error;  // substring; nullptr = valid
};

ConnectOptions With(void (*f)(ConnectOptions&)) {
  ConnectOptions o;
  o.allowed_ip = "10.5.0.1/32";
  f(o);
  return o;
}

TEST(Flags, Table) {
  const std::vector<FlagCase> cases = {
      {"defaults", With([](ConnectOptions&) {}), nullptr},
      {"bad allowed-ip", With([](ConnectOptions& o) { o.allowed_ip = "10.5.0.1"; }),
       "--allowed-ip must be a CIDR"},
      {"no allowed-ip is fine here", With([](ConnectOptions& o) { o.allowed_ip = ""; }), nullptr},
      {"bad allowed-ips", With([](ConnectOptions& o) {
         o.allowed_ips = {"10.96.0.0/12", "x"};
       }),
       "--allowed-ips must contain only valid CIDRs; got \"x\""},
      {"mtu too small", With([](ConnectOptions& o) { o.mtu = 100; }),
       "--mtu must be between 576 and 65535"},
      {"mtu too big", With([](ConnectOptions& o) { o.mtu = 70000; }), "--mtu"},
      {"negative keepalive", With([](ConnectOptions& o) { o.persistent_keepalive = -1; }),
       "--persistent-keepalive"},
      {"keepalive off", With([](ConnectOptions& o) { o.persistent_keepalive = 0; }), nullptr},
      {"bad resync", With([](ConnectOptions& o) { o.resync_period = "30"; }),
       "--resync-period must be a positive duration"},
      {"zero resync", With([](ConnectOptions& o) { o.resync_period = "0s"; }), "--resync-period"},
      {"bare zero resync", With([](ConnectOptions& o) { o.resync_period = "0"; }),
       "--resync-period must be a positive duration"},
      {"negative resync", With([](ConnectOptions& o) { o.resync_period = "-5s"; }),
       "--resync-period must be a positive duration"},
      {"empty resync", With([](ConnectOptions& o) { o.resync_period = ""; }),
       "--resync-period must be a positive duration"},
      {"fractional resync", With([](ConnectOptions& o) { o.resync_period = "1.5s"; }), nullptr},
      {"compound resync", With([](ConnectOptions& o) { o.resync_period = "1m30s"; }), nullptr},
      {"bad log level", With([](ConnectOptions& o) { o.log_level = "loud"; }),
       "log level loud unknown; possible values are: all, debug, info, warn, error, none"},
      {"bad peer name", With([](ConnectOptions& o) { o.peer_name = "My_Laptop"; }),
       "not a valid Kubernetes object name"},
      {"bad interface", With([](ConnectOptions& o) { o.iface = "a/b"; }), "--interface"},
      {"long interface", With([](ConnectOptions& o) { o.iface = "abcdefghijklmnop"; }),
       "--interface"},
  };
  for (const auto& tc : cases) {
    auto r = ValidateConnectOptions(tc.opts, "host-1");
    if (!tc.error) {
      EXPECT_TRUE(r.ok()) << tc.name << ": " << r.error();
    } else {
      ASSERT_FALSE(r.ok()) << tc.name;
      EXPECT_NE(r.error().find(tc.error), std::string::npos) << tc.name << ": " << r.error();
    }
  }
}

TEST(Flags, DefaultsAndParsedValues) {
  ConnectOptions o;
  o.allowed_ip = "10.5.0.7/24";
  o.allowed_ips = {"10.96.0.1/12"};
  o.resync_period = "1m30s";
  auto c = ValidateConnectOptions(o, "myhost");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->peer_name, "myhost");  // default: the hostname
  EXPECT_EQ(c->iface, "kilo0");
  EXPECT_EQ(c->mtu, 1420);
  EXPECT_EQ(c->persistent_keepalive, 10);
  EXPECT_TRUE(c->clean_up);
  EXPECT_EQ(c->resync_period, std::chrono::milliseconds(90000));
  EXPECT_EQ(c->allowed_ip->String(), "10.5.0.7/24");      // host bits kept (interface address)
  EXPECT_EQ(c->allowed_ips[0].String(), "10.96.0.0/12");  // network form
}

TEST(PeerObject, Construction) {
  Key priv = KeyFrom(42);
  Key pub = priv.Public();
  PeerObject p = BuildPeerObject("laptop", *IPPrefix::Parse("10.5.0.1/32"), pub, 10);
  EXPECT_EQ(p.name, "laptop");
  EXPECT_EQ(p.allowed_ips, std::vector<std::string>{"10.5.0.1/32"});
  EXPECT_EQ(p.public_key, pub.String());
  EXPECT_EQ(p.persistent_keepalive, 10);
  EXPECT_FALSE(p.has_endpoint);
  EXPECT_TRUE(p.preshared_key.empty());
  // It is a valid, ready Peer.
  std::vector<Warning> w;
  auto peer = TranslatePeer(p, &w);
  ASSERT_TRUE(peer.has_value());
  EXPECT_TRUE(w.empty());
  EXPECT_TRUE(peer->Ready());
  EXPECT_EQ(peer->public_key, pub);
#ifdef KILO_HAVE_K8S
  EXPECT_EQ(
      k8s::EncodePeerJson(p).dump(),
      "{\"apiVersion\":\"kilo.squat.ai/"
      "v1alpha1\",\"kind\":\"Peer\",\"metadata\":{\"name\":\"laptop\"},"
      "\"spec\":{\"allowedIPs\":[\"10.5.0.1/32\"],\"persistentKeepalive\":10,\"publicKey\":\"" +
          pub.String() + "\"}}");
#endif
}

TEST(PrivateKey, FileLoadingNeverLeaksKey) {
  const std::string path = ::testing::TempDir() + "/connect_key_test";
  Key priv = Key::GeneratePrivate();
  {
    std::ofstream f(path);
    f << "  " << priv.String() << "\n";
  }
  auto k = LoadPrivateKeyFile(path);
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_EQ(*k, priv);
  {
    std::ofstream f(path);
    f << priv.String().substr(0, 20) << "\n";
  }
  auto bad = LoadPrivateKeyFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().find(priv.String().substr(0, 20)), std::string::npos);
  EXPECT_NE(bad.error().find(path), std::string::npos);
  std::remove(path.c_str());
  EXPECT_FALSE(LoadPrivateKeyFile(path).ok());
}

}  // namespace
}  // namespace kilo::cli
