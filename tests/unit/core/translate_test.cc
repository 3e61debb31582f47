// Node/Peer translation (SPEC sections 2-3): Kilo's fallbacks, plus exactly
// one Warning per bad value naming node, annotation, value and reason.

#include "core/translate.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "test_util.h"

namespace kilo {
namespace {

using testutil::K;
using testutil::kNow;

NodeObject BaseNode() {
  NodeObject o;
  o.name = "n1";
  o.pod_cidr = "10.244.1.0/24";
  o.labels["topology.kubernetes.io/region"] = "eu-west";
  o.annotations[kAnnKey] = K(1).String();
  o.annotations[kAnnEndpoint] = "1.2.3.4:51820";
  o.annotations[kAnnInternalIP] = "10.0.0.1/24";
  o.annotations[kAnnLastSeen] = std::to_string(kNow - 10);
  return o;
}

struct AnnotationCase {
  const char* name;
  std::vector<std::pair<std::string, std::string>> set;  // annotations to set
  std::vector<std::string> erase;                        // annotations to remove
  int want_warnings;
  const char* warn_key;    // field of the (first) warning
  const char* warn_value;  // value of the (first) warning
  std::function<void(const Node&)> check;
};

TEST(TranslateNodeTest, Annotations) {
  const std::string good_key = K(7).String();
  const AnnotationCase cases[] = {
      {"baseline",
       {},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         EXPECT_EQ(n.name, "n1");
         EXPECT_EQ(n.endpoint->String(), "1.2.3.4:51820");
         EXPECT_EQ(n.internal_ip->String(), "10.0.0.1/24");
         EXPECT_EQ(n.key, K(1));
         EXPECT_EQ(n.last_seen, kNow - 10);
         EXPECT_EQ(n.subnet->String(), "10.244.1.0/24");
         EXPECT_EQ(n.location, "eu-west");
         EXPECT_FALSE(n.leader);
         EXPECT_EQ(n.persistent_keepalive, 0);
         EXPECT_TRUE(n.Ready(kNow));
       }},
      // force-endpoint
      {"force-endpoint ipv4 wins",
       {{kAnnForceEndpoint, "5.6.7.8:1234"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.endpoint->String(), "5.6.7.8:1234"); }},
      {"force-endpoint ipv6",
       {{kAnnForceEndpoint, "[2001:db8::1]:51820"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.endpoint->ip().String(), "2001:db8::1"); }},
      {"force-endpoint dns",
       {{kAnnForceEndpoint, "example.com:1337"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         EXPECT_EQ(n.endpoint->dns(), "example.com");
         EXPECT_FALSE(n.endpoint->has_ip());
         EXPECT_TRUE(n.Ready(kNow));
       }},
      {"force-endpoint garbage falls back to endpoint",
       {{kAnnForceEndpoint, "nonsense"}},
       {},
       1,
       kAnnForceEndpoint,
       "nonsense",
       [](const Node& n) { EXPECT_EQ(n.endpoint->String(), "1.2.3.4:51820"); }},
      {"force-endpoint port 0 falls back",
       {{kAnnForceEndpoint, "5.6.7.8:0"}},
       {},
       1,
       kAnnForceEndpoint,
       "5.6.7.8:0",
       [](const Node& n) { EXPECT_EQ(n.endpoint->String(), "1.2.3.4:51820"); }},
      {"force-endpoint upper-case dns falls back",
       {{kAnnForceEndpoint, "Example.com:1"}},
       {},
       1,
       kAnnForceEndpoint,
       "Example.com:1",
       [](const Node& n) { EXPECT_EQ(n.endpoint->String(), "1.2.3.4:51820"); }},
      {"bad force-endpoint and no endpoint: none",
       {{kAnnForceEndpoint, "x"}},
       {kAnnEndpoint},
       1,
       kAnnForceEndpoint,
       "x",
       [](const Node& n) {
         EXPECT_FALSE(n.endpoint.has_value());
         EXPECT_FALSE(n.Ready(kNow));
       }},
      {"endpoint without port",
       {{kAnnEndpoint, "1.2.3.4"}},
       {},
       1,
       kAnnEndpoint,
       "1.2.3.4",
       [](const Node& n) {
         EXPECT_FALSE(n.endpoint.has_value());
         EXPECT_FALSE(n.Ready(kNow));
       }},
      // force-internal-ip / internal-ip
      {"force-internal-ip keeps host bits",
       {{kAnnForceInternalIP, "192.168.1.5/24"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         EXPECT_EQ(n.internal_ip->String(), "192.168.1.5/24");
         EXPECT_FALSE(n.no_internal_ip);
       }},
      {"force-internal-ip without length falls back",
       {{kAnnForceInternalIP, "192.168.1.5"}},
       {},
       1,
       kAnnForceInternalIP,
       "192.168.1.5",
       [](const Node& n) { EXPECT_EQ(n.internal_ip->String(), "10.0.0.1/24"); }},
      {"force-internal-ip dash means none",
       {{kAnnForceInternalIP, "-"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         EXPECT_FALSE(n.internal_ip.has_value());
         EXPECT_TRUE(n.no_internal_ip);
         EXPECT_TRUE(n.Ready(kNow));
       }},
      {"force-internal-ip empty means none",
       {{kAnnForceInternalIP, ""}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         EXPECT_FALSE(n.internal_ip.has_value());
         EXPECT_TRUE(n.no_internal_ip);
       }},
      {"internal-ip empty means none",
       {{kAnnInternalIP, ""}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_FALSE(n.internal_ip.has_value()); }},
      {"internal-ip bad",
       {{kAnnInternalIP, "10.0.0.1"}},
       {},
       1,
       kAnnInternalIP,
       "10.0.0.1",
       [](const Node& n) { EXPECT_FALSE(n.internal_ip.has_value()); }},
      {"internal-ip ipv6",
       {{kAnnInternalIP, "fd00::5/64"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.internal_ip->String(), "fd00::5/64"); }},
      // leader
      {"leader empty value counts",
       {{kAnnLeader, ""}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_TRUE(n.leader); }},
      {"leader false still counts",
       {{kAnnLeader, "false"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_TRUE(n.leader); }},
      // persistent-keepalive
      {"keepalive 25",
       {{kAnnPersistentKeepalive, "25"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.persistent_keepalive, 25); }},
      {"keepalive +7 (Atoi accepts a sign)",
       {{kAnnPersistentKeepalive, "+7"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.persistent_keepalive, 7); }},
      {"keepalive 65535",
       {{kAnnPersistentKeepalive, "65535"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.persistent_keepalive, 65535); }},
      {"keepalive leading space is 0",
       {{kAnnPersistentKeepalive, " 7"}},
       {},
       1,
       kAnnPersistentKeepalive,
       " 7",
       [](const Node& n) { EXPECT_EQ(n.persistent_keepalive, 0); }},
      {"keepalive negative is 0 (difference 1)",
       {{kAnnPersistentKeepalive, "-5"}},
       {},
       1,
       kAnnPersistentKeepalive,
       "-5",
       [](const Node& n) { EXPECT_EQ(n.persistent_keepalive, 0); }},
      {"keepalive 70000 is 0 (difference 1)",
       {{kAnnPersistentKeepalive, "70000"}},
       {},
       1,
       kAnnPersistentKeepalive,
       "70000",
       [](const Node& n) { EXPECT_EQ(n.persistent_keepalive, 0); }},
      {"keepalive 25s is 0",
       {{kAnnPersistentKeepalive, "25s"}},
       {},
       1,
       kAnnPersistentKeepalive,
       "25s",
       [](const Node& n) { EXPECT_EQ(n.persistent_keepalive, 0); }},
      // allowed-location-ips
      {"allowed-location-ips two entries",
       {{kAnnAllowedLocationIPs, "10.10.0.0/16,192.168.5.5/32"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         EXPECT_EQ(testutil::Join(n.allowed_location_ips), "10.10.0.0/16,192.168.5.5/32");
       }},
      {"allowed-location-ips keep host bits",
       {{kAnnAllowedLocationIPs, "10.10.3.4/16"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(testutil::Join(n.allowed_location_ips), "10.10.3.4/16"); }},
      {"allowed-location-ips space drops the entry",
       {{kAnnAllowedLocationIPs, "10.10.0.0/16, 192.168.5.0/24"}},
       {},
       1,
       kAnnAllowedLocationIPs,
       " 192.168.5.0/24",
       [](const Node& n) { EXPECT_EQ(testutil::Join(n.allowed_location_ips), "10.10.0.0/16"); }},
      {"allowed-location-ips bad entries dropped one by one",
       {{kAnnAllowedLocationIPs, "bad,10.10.0.0/16,worse"}},
       {},
       2,
       kAnnAllowedLocationIPs,
       "bad",
       [](const Node& n) { EXPECT_EQ(testutil::Join(n.allowed_location_ips), "10.10.0.0/16"); }},
      // key
      {"key valid",
       {{kAnnKey, good_key}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.key, K(7)); }},
      {"key garbage is the zero key",
       {{kAnnKey, "notakey"}},
       {},
       1,
       kAnnKey,
       "notakey",
       [](const Node& n) {
         EXPECT_TRUE(n.key.IsZero());
         EXPECT_FALSE(n.Ready(kNow));
       }},
      {"key absent",
       {},
       {kAnnKey},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         EXPECT_TRUE(n.key.IsZero());
         EXPECT_FALSE(n.Ready(kNow));
       }},
      // last-seen
      {"last-seen garbage is 0: not ready",
       {{kAnnLastSeen, "yesterday"}},
       {},
       1,
       kAnnLastSeen,
       "yesterday",
       [](const Node& n) {
         EXPECT_EQ(n.last_seen, 0);
         EXPECT_FALSE(n.Ready(kNow));
       }},
      {"last-seen absent is 0",
       {},
       {kAnnLastSeen},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         EXPECT_EQ(n.last_seen, 0);
         EXPECT_FALSE(n.Ready(kNow));
       }},
      // discovered-endpoints
      {"discovered-endpoints good",
       {{kAnnDiscoveredEndpoints,
         "{\"" + K(3).String() + "\":{\"IP\":\"5.5.5.5\",\"Port\":51821,\"Zone\":\"\"}}"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         ASSERT_EQ(n.discovered_endpoints.size(), 1u);
         EXPECT_EQ(n.discovered_endpoints.at(K(3).String()).String(), "5.5.5.5:51821");
       }},
      {"discovered-endpoints ipv6",
       {{kAnnDiscoveredEndpoints, "{\"k\":{\"IP\":\"2001:db8::9\",\"Port\":5,\"Zone\":\"\"}}"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) {
         EXPECT_EQ(n.discovered_endpoints.at("k").String(), "[2001:db8::9]:5");
       }},
      {"discovered-endpoints null",
       {{kAnnDiscoveredEndpoints, "null"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_TRUE(n.discovered_endpoints.empty()); }},
      {"discovered-endpoints not JSON",
       {{kAnnDiscoveredEndpoints, "{nope"}},
       {},
       1,
       kAnnDiscoveredEndpoints,
       "{nope",
       [](const Node& n) { EXPECT_TRUE(n.discovered_endpoints.empty()); }},
      {"discovered-endpoints array",
       {{kAnnDiscoveredEndpoints, "[1,2]"}},
       {},
       1,
       kAnnDiscoveredEndpoints,
       "[1,2]",
       [](const Node& n) { EXPECT_TRUE(n.discovered_endpoints.empty()); }},
      {"discovered-endpoints bad IP",
       {{kAnnDiscoveredEndpoints, "{\"k\":{\"IP\":\"1.2.3.04\",\"Port\":5}}"}},
       {},
       1,
       kAnnDiscoveredEndpoints,
       "{\"k\":{\"IP\":\"1.2.3.04\",\"Port\":5}}",
       [](const Node& n) { EXPECT_TRUE(n.discovered_endpoints.empty()); }},
      // wireguard-ip, granularity
      {"wireguard-ip",
       {{kAnnWireGuardIP, "10.4.0.1/16"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.wireguard_ip->String(), "10.4.0.1/16"); }},
      {"wireguard-ip empty",
       {{kAnnWireGuardIP, ""}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_FALSE(n.wireguard_ip.has_value()); }},
      {"wireguard-ip bad",
       {{kAnnWireGuardIP, "10.4.0.1"}},
       {},
       1,
       kAnnWireGuardIP,
       "10.4.0.1",
       [](const Node& n) { EXPECT_FALSE(n.wireguard_ip.has_value()); }},
      {"granularity full",
       {{kAnnGranularity, "full"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.granularity, Granularity::kFull); }},
      {"granularity bad",
       {{kAnnGranularity, "Full"}},
       {},
       1,
       kAnnGranularity,
       "Full",
       [](const Node& n) { EXPECT_FALSE(n.granularity.has_value()); }},
      // cni-compatibility-ip (Cilium): a CIDR, host bits kept; "" and absent
      // are absent, silently; a bare IP or garbage is absent, with a warning.
      {"cni-compatibility-ip /32",
       {{kAnnCNICompatibilityIP, "10.0.1.5/32"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.cni_compatibility_ip->String(), "10.0.1.5/32"); }},
      {"cni-compatibility-ip keeps host bits",
       {{kAnnCNICompatibilityIP, "10.0.1.5/24"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.cni_compatibility_ip->String(), "10.0.1.5/24"); }},
      {"cni-compatibility-ip ipv6",
       {{kAnnCNICompatibilityIP, "fd00::5/128"}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_EQ(n.cni_compatibility_ip->String(), "fd00::5/128"); }},
      {"cni-compatibility-ip empty",
       {{kAnnCNICompatibilityIP, ""}},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_FALSE(n.cni_compatibility_ip.has_value()); }},
      {"cni-compatibility-ip absent",
       {},
       {},
       0,
       nullptr,
       nullptr,
       [](const Node& n) { EXPECT_FALSE(n.cni_compatibility_ip.has_value()); }},
      {"cni-compatibility-ip bare IP",
       {{kAnnCNICompatibilityIP, "10.0.1.5"}},
       {},
       1,
       kAnnCNICompatibilityIP,
       "10.0.1.5",
       [](const Node& n) { EXPECT_FALSE(n.cni_compatibility_ip.has_value()); }},
      {"cni-compatibility-ip garbage",
       {{kAnnCNICompatibilityIP, "cilium_host"}},
       {},
       1,
       kAnnCNICompatibilityIP,
       "cilium_host",
       [](const Node& n) { EXPECT_FALSE(n.cni_compatibility_ip.has_value()); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    NodeObject o = BaseNode();
    for (const auto& k : c.erase) o.annotations.erase(k);
    for (const auto& [k, v] : c.set) o.annotations[k] = v;
    std::vector<Warning> w;
    Node n = TranslateNode(o, TranslateOptions{}, &w);
    c.check(n);
    ASSERT_EQ(static_cast<int>(w.size()), c.want_warnings);
    for (const auto& x : w) {
      EXPECT_EQ(x.kind, "node");
      EXPECT_EQ(x.name, "n1");
      EXPECT_EQ(x.field, c.warn_key);
      EXPECT_FALSE(x.reason.empty());
      std::string line = x.String();
      EXPECT_NE(line.find("\"n1\""), std::string::npos) << line;
      EXPECT_NE(line.find(c.warn_key), std::string::npos) << line;
      EXPECT_NE(line.find(x.value), std::string::npos) << line;
      EXPECT_NE(line.find(x.reason), std::string::npos) << line;
    }
    if (!w.empty()) {
      EXPECT_EQ(w[0].value, c.warn_value);
    }
    // Translation never needs a warnings sink.
    Node again = TranslateNode(o, TranslateOptions{}, nullptr);
    EXPECT_EQ(again.endpoint, n.endpoint);
  }
}

TEST(TranslateNodeTest, WarningLineFormat) {
  NodeObject o = BaseNode();
  o.annotations[kAnnForceEndpoint] = "nonsense";
  std::vector<Warning> w;
  TranslateNode(o, TranslateOptions{}, &w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(
      w[0].String().rfind("node \"n1\": annotation kilo.squat.ai/force-endpoint=\"nonsense\": ", 0),
      0u)
      << w[0].String();
}

// An allowed-location-ips annotation with 100,000 bad entries: the good one
// is kept, and the warnings stay bounded (8 one by one, then a summary).
TEST(TranslateNodeTest, ManyBadAllowedLocationIPsGiveBoundedWarnings) {
  NodeObject o = BaseNode();
  std::string v;
  for (int i = 0; i < 100000; ++i) v += "x,";
  v += "10.10.0.0/16";
  o.annotations[kAnnAllowedLocationIPs] = v;
  std::vector<Warning> w;
  Node n = TranslateNode(o, TranslateOptions{}, &w);
  EXPECT_EQ(testutil::Join(n.allowed_location_ips), "10.10.0.0/16");
  ASSERT_EQ(w.size(), 9u);
  EXPECT_EQ(w[0].value, "x");
  EXPECT_EQ(w[8].reason, "99992 more entries are not CIDRs; dropped");
  EXPECT_LT(w[8].value.size(), 200u);  // the value is shown truncated
}

TEST(TranslateNodeTest, Location) {
  const struct {
    const char* name;
    const char* annotation;  // nullptr = absent
    const char* label_key;   // nullptr = no label
    const char* label_value;
    const char* topology_label;
    const char* want;
  } cases[] = {
      {"annotation wins over label", "berlin", "topology.kubernetes.io/region", "eu", nullptr,
       "berlin"},
      {"default label", nullptr, "topology.kubernetes.io/region", "eu", nullptr, "eu"},
      {"custom topology label", nullptr, "example.com/zone", "z1", "example.com/zone", "z1"},
      {"default label ignored with custom topology label", nullptr, "topology.kubernetes.io/region",
       "eu", "example.com/zone", ""},
      {"empty annotation wins over label", "", "topology.kubernetes.io/region", "eu", nullptr, ""},
      {"nothing", nullptr, nullptr, nullptr, nullptr, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    NodeObject o = BaseNode();
    o.labels.clear();
    if (c.annotation) o.annotations[kAnnLocation] = c.annotation;
    if (c.label_key) o.labels[c.label_key] = c.label_value;
    TranslateOptions opts;
    if (c.topology_label) opts.topology_label = c.topology_label;
    std::vector<Warning> w;
    EXPECT_EQ(TranslateNode(o, opts, &w).location, c.want);
    EXPECT_TRUE(w.empty());
  }
}

TEST(TranslateNodeTest, PodCIDR) {
  const struct {
    const char* name;
    const char* pod;
    const char* want;  // nullptr = none
    int warnings;
  } cases[] = {
      {"network", "10.244.1.0/24", "10.244.1.0/24", 0},
      {"host bits cleared (ParseCIDR network)", "10.244.1.7/24", "10.244.1.0/24", 0},
      {"ipv6", "fd00:10:244:1::/64", "fd00:10:244:1::/64", 0},
      {"empty", "", nullptr, 0},
      {"garbage", "10.244.1.0", nullptr, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    NodeObject o = BaseNode();
    o.pod_cidr = c.pod;
    std::vector<Warning> w;
    Node n = TranslateNode(o, TranslateOptions{}, &w);
    EXPECT_EQ(static_cast<int>(w.size()), c.warnings);
    if (c.want) {
      ASSERT_TRUE(n.subnet.has_value());
      EXPECT_EQ(n.subnet->String(), c.want);
      EXPECT_TRUE(n.Ready(kNow));
    } else {
      EXPECT_FALSE(n.subnet.has_value());
      EXPECT_FALSE(n.Ready(kNow));
    }
  }
}

TEST(ReadinessTest, Node) {
  const struct {
    const char* name;
    std::function<void(Node&)> mutate;
    bool want;
  } cases[] = {
      {"fresh", [](Node&) {}, true},
      {"heartbeat 59 s old", [](Node& n) { n.last_seen = kNow - 59; }, true},
      {"heartbeat 60 s old is stale", [](Node& n) { n.last_seen = kNow - 60; }, false},
      {"heartbeat 61 s old is stale", [](Node& n) { n.last_seen = kNow - 61; }, false},
      {"heartbeat in the future", [](Node& n) { n.last_seen = kNow + 100; }, true},
      {"never seen", [](Node& n) { n.last_seen = 0; }, false},
      {"zero key", [](Node& n) { n.key = Key(); }, false},
      {"no endpoint", [](Node& n) { n.endpoint.reset(); }, false},
      {"endpoint without port", [](Node& n) { n.endpoint = Endpoint(testutil::A("1.2.3.4"), 0); },
       false},
      {"dns endpoint", [](Node& n) { n.endpoint = Endpoint::FromDNS("a.example.com", 1); }, true},
      {"no pod subnet", [](Node& n) { n.subnet.reset(); }, false},
      {"no internal ip is fine", [](Node& n) { n.internal_ip.reset(); }, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Node n = testutil::N("n", "l", "1.2.3.4:51820", "10.0.0.1/24", "10.244.0.0/24", 1);
    c.mutate(n);
    EXPECT_EQ(n.Ready(kNow), c.want);
  }
}

TEST(ReadinessTest, Peer) {
  Peer p = testutil::MakePeer("p", {"10.5.0.1/32"}, 9);
  EXPECT_TRUE(p.Ready());  // no endpoint is fine
  Peer no_ips = p;
  no_ips.allowed_ips.clear();
  EXPECT_FALSE(no_ips.Ready());
  Peer no_key = p;
  no_key.public_key = Key();
  EXPECT_FALSE(no_key.Ready());
}

PeerObject BasePeer() {
  PeerObject o;
  o.name = "p1";
  o.allowed_ips = {"10.5.0.1/32"};
  o.has_allowed_ips = true;
  o.public_key = K(9).String();
  return o;
}

struct PeerCase {
  const char* name;
  std::function<void(PeerObject&)> mutate;
  bool kept;
  const char* warn_field;  // nullptr = no warning
  std::function<void(const Peer&)> check;
};

TEST(TranslatePeerTest, Validation) {
  auto ep = [](PeerObject& o, const char* ip, const char* dns, int64_t port) {
    o.has_endpoint = true;
    o.endpoint_ip = ip;
    o.endpoint_dns = dns;
    o.endpoint_port = port;
  };
  const PeerCase cases[] = {
      {"minimal valid", [](PeerObject&) {}, true, nullptr,
       [](const Peer& p) {
         EXPECT_EQ(p.name, "p1");
         EXPECT_EQ(testutil::Join(p.allowed_ips), "10.5.0.1/32");
         EXPECT_EQ(p.public_key, K(9));
         EXPECT_FALSE(p.endpoint.has_value());
         EXPECT_FALSE(p.preshared_key.has_value());
         EXPECT_TRUE(p.Ready());
       }},
      {"allowed IPs keep host bits",
       [](PeerObject& o) {
         o.allowed_ips = {"10.6.0.7/24", "fd05::3/128"};
       },
       true, nullptr,
       [](const Peer& p) { EXPECT_EQ(testutil::Join(p.allowed_ips), "10.6.0.7/24,fd05::3/128"); }},
      {"allowedIPs entry not a CIDR", [](PeerObject& o) { o.allowed_ips = {"10.5.0.1"}; }, false,
       "spec.allowedIPs", nullptr},
      {"one bad allowedIPs entry rejects the Peer",
       [](PeerObject& o) {
         o.allowed_ips = {"10.5.0.1/32", "nope"};
       },
       false, "spec.allowedIPs", nullptr},
      {"endpoint with neither ip nor dns", [&](PeerObject& o) { ep(o, "", "", 51820); }, false,
       "spec.endpoint", nullptr},
      {"endpoint invalid ip", [&](PeerObject& o) { ep(o, "1.2.3.04", "", 51820); }, false,
       "spec.endpoint.dnsOrIP.ip", nullptr},
      {"endpoint invalid dns", [&](PeerObject& o) { ep(o, "", "Bad_Name", 51820); }, false,
       "spec.endpoint.dnsOrIP.dns", nullptr},
      {"endpoint port 0", [&](PeerObject& o) { ep(o, "1.2.3.4", "", 0); }, false,
       "spec.endpoint.port", nullptr},
      {"endpoint port 65536", [&](PeerObject& o) { ep(o, "1.2.3.4", "", 65536); }, false,
       "spec.endpoint.port", nullptr},
      {"endpoint ip", [&](PeerObject& o) { ep(o, "1.2.3.4", "", 51820); }, true, nullptr,
       [](const Peer& p) { EXPECT_EQ(p.endpoint->String(), "1.2.3.4:51820"); }},
      {"endpoint ipv6", [&](PeerObject& o) { ep(o, "2001:db8::5", "", 1); }, true, nullptr,
       [](const Peer& p) { EXPECT_EQ(p.endpoint->String(), "[2001:db8::5]:1"); }},
      {"endpoint dns", [&](PeerObject& o) { ep(o, "", "vpn.example.com", 443); }, true, nullptr,
       [](const Peer& p) { EXPECT_EQ(p.endpoint->String(), "vpn.example.com:443"); }},
      {"dotted quad in the dns field is an IP endpoint, as in Kilo",
       [&](PeerObject& o) { ep(o, "", "8.8.82.43", 51820); }, true, nullptr,
       [](const Peer& p) {
         EXPECT_TRUE(p.endpoint->has_ip());
         EXPECT_FALSE(p.endpoint->has_dns());
         EXPECT_EQ(p.endpoint->String(), "8.8.82.43:51820");
       }},
      {"dns wins over ip when both set",
       [&](PeerObject& o) { ep(o, "1.2.3.4", "vpn.example.com", 443); }, true, nullptr,
       [](const Peer& p) {
         EXPECT_TRUE(p.endpoint->has_dns());
         EXPECT_FALSE(p.endpoint->has_ip());
         EXPECT_EQ(p.endpoint->String(), "vpn.example.com:443");
       }},
      {"negative keepalive", [](PeerObject& o) { o.persistent_keepalive = -1; }, false,
       "spec.persistentKeepalive", nullptr},
      {"keepalive 25", [](PeerObject& o) { o.persistent_keepalive = 25; }, true, nullptr,
       [](const Peer& p) { EXPECT_EQ(p.persistent_keepalive, 25); }},
      {"public key not base64", [](PeerObject& o) { o.public_key = "not-a-key"; }, false,
       "spec.publicKey", nullptr},
      {"public key 31 bytes",
       [](PeerObject& o) { o.public_key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="; }, false,
       "spec.publicKey", nullptr},
      {"public key missing", [](PeerObject& o) { o.public_key = ""; }, false, "spec.publicKey",
       nullptr},
      {"preshared key valid", [](PeerObject& o) { o.preshared_key = K(50).String(); }, true,
       nullptr, [](const Peer& p) { EXPECT_EQ(p.preshared_key, K(50)); }},
      {"preshared key invalid dropped, Peer kept",
       [](PeerObject& o) { o.preshared_key = "c2VjcmV0"; }, true, "spec.presharedKey",
       [](const Peer& p) {
         EXPECT_FALSE(p.preshared_key.has_value());
         EXPECT_EQ(testutil::Join(p.allowed_ips), "10.5.0.1/32");
       }},
      {"wrong JSON type",
       [](PeerObject& o) { o.type_errors = {"spec.endpoint.port is not an integer"}; }, false,
       "spec", nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    PeerObject o = BasePeer();
    c.mutate(o);
    std::vector<Warning> w;
    auto p = TranslatePeer(o, &w);
    ASSERT_EQ(p.has_value(), c.kept);
    if (p && c.check) c.check(*p);
    if (!c.warn_field) {
      EXPECT_TRUE(w.empty()) << w[0].String();
      continue;
    }
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].kind, "peer");
    EXPECT_EQ(w[0].name, "p1");
    EXPECT_EQ(w[0].field, c.warn_field);
    EXPECT_FALSE(w[0].reason.empty());
    EXPECT_NE(w[0].String().find("\"p1\""), std::string::npos);
  }
}

TEST(TranslatePeerTest, PresharedKeyNeverEchoed) {
  PeerObject o = BasePeer();
  o.preshared_key = "c2VjcmV0LXNlY3JldA==";
  std::vector<Warning> w;
  ASSERT_TRUE(TranslatePeer(o, &w).has_value());
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].String().find("c2VjcmV0"), std::string::npos) << w[0].String();
}

TEST(ParseGoInt64Test, LikeStrconv) {
  const struct {
    const char* name;
    const char* in;
    std::optional<int64_t> want;
  } cases[] = {
      {"zero", "0", 0},
      {"positive", "1767225600", 1767225600},
      {"plus sign", "+5", 5},
      {"minus", "-5", -5},
      {"max", "9223372036854775807", INT64_MAX},
      {"min", "-9223372036854775808", INT64_MIN},
      {"overflow", "9223372036854775808", std::nullopt},
      {"empty", "", std::nullopt},
      {"sign only", "-", std::nullopt},
      {"space", " 7", std::nullopt},
      {"trailing junk", "7s", std::nullopt},
      {"hex", "0x10", std::nullopt},
      {"leading zeros ok", "007", 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(ParseGoInt64(c.in), c.want);
  }
}

TEST(DiscoveredEndpointsTest, RenderParsesBack) {
  std::map<std::string, Endpoint> eps;
  eps["b"] = Endpoint(testutil::A("5.5.5.5"), 51820);
  eps["a"] = Endpoint(testutil::A("2001:db8::1"), 7);
  std::string s = RenderDiscoveredEndpoints(eps);
  EXPECT_EQ(s,
            "{\"a\":{\"IP\":\"2001:db8::1\",\"Port\":7,\"Zone\":\"\"},"
            "\"b\":{\"IP\":\"5.5.5.5\",\"Port\":51820,\"Zone\":\"\"}}");
  std::string why;
  auto back = ParseDiscoveredEndpoints(s, &why);
  ASSERT_TRUE(back.has_value()) << why;
  EXPECT_EQ(*back, eps);
}

// Go agents write discovered-endpoints "" when they have none (Kilo 0.6 and
// 0.7): kg reads it as empty without a warning, and writes "" as they do.
TEST(DiscoveredEndpointsTest, EmptyIsTheEmptyStringAsGoWritesIt) {
  EXPECT_EQ(RenderDiscoveredEndpoints({}), "");
  std::string why;
  auto eps = ParseDiscoveredEndpoints("", &why);
  ASSERT_TRUE(eps.has_value()) << why;
  EXPECT_TRUE(eps->empty());
  auto braces = ParseDiscoveredEndpoints("{}", &why);
  ASSERT_TRUE(braces.has_value()) << why;
  EXPECT_TRUE(braces->empty());

  NodeObject o;
  o.name = "go-node";
  o.pod_cidr = "10.42.1.0/24";
  o.annotations[kAnnDiscoveredEndpoints] = "";
  std::vector<Warning> w;
  Node n = TranslateNode(o, TranslateOptions{}, &w);
  EXPECT_TRUE(n.discovered_endpoints.empty());
  for (const auto& x : w) EXPECT_NE(x.field, kAnnDiscoveredEndpoints) << x.String();
}

}  // namespace
}  // namespace kilo
