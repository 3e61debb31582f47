#include "k8s/decode.h"

#include <gtest/gtest.h>

namespace kilo::k8s {
namespace {

using nlohmann::json;

TEST(DecodeNode, Fields) {
  json j = json::parse(R"({
    "kind":"Node","apiVersion":"v1",
    "metadata":{"name":"n1","resourceVersion":"42","uid":"u-1",
      "labels":{"topology.kubernetes.io/region":"eu"},
      "annotations":{"kilo.squat.ai/key":"abc","kilo.squat.ai/leader":""},
      "managedFields":[{"manager":"kubelet"}]},
    "spec":{"podCIDR":"10.2.1.0/24","podCIDRs":["10.2.1.0/24"]},
    "status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}})");
  auto n = DecodeNodeJson(j);
  ASSERT_TRUE(n.ok()) << n.error();
  EXPECT_EQ(n->name, "n1");
  EXPECT_EQ(n->resource_version, "42");
  EXPECT_EQ(n->uid, "u-1");
  EXPECT_EQ(n->labels.at("topology.kubernetes.io/region"), "eu");
  EXPECT_EQ(n->annotations.size(), 2u);
  EXPECT_EQ(n->annotations.at("kilo.squat.ai/leader"), "");
  EXPECT_EQ(n->pod_cidr, "10.2.1.0/24");
}

TEST(DecodeNode, Errors) {
  EXPECT_FALSE(DecodeNodeJson(json::array()).ok());
  EXPECT_FALSE(DecodeNodeJson(json::parse(R"({"metadata":{}})")).ok());
  auto n = DecodeNodeJson(json::parse(R"({"metadata":{"name":"x","annotations":null},"spec":null})"));
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->annotations.empty());
}

TEST(DecodePeer, Fields) {
  json j = json::parse(R"({
    "apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer",
    "metadata":{"name":"phone","resourceVersion":"7","uid":"p-1"},
    "spec":{"allowedIPs":["10.5.0.1/32","10.5.0.2/32"],"publicKey":"PUB=","presharedKey":"PSK=",
            "endpoint":{"dnsOrIP":{"dns":"example.com","ip":"1.2.3.4"},"port":51820},
            "persistentKeepalive":25}})");
  auto p = DecodePeerJson(j);
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->name, "phone");
  EXPECT_TRUE(p->has_allowed_ips);
  EXPECT_EQ(p->allowed_ips, (std::vector<std::string>{"10.5.0.1/32", "10.5.0.2/32"}));
  EXPECT_EQ(p->public_key, "PUB=");
  EXPECT_EQ(p->preshared_key, "PSK=");
  EXPECT_TRUE(p->has_endpoint);
  EXPECT_EQ(p->endpoint_dns, "example.com");
  EXPECT_EQ(p->endpoint_ip, "1.2.3.4");
  EXPECT_EQ(p->endpoint_port, 51820);
  EXPECT_EQ(p->persistent_keepalive, 25);
  EXPECT_TRUE(p->type_errors.empty());
}

TEST(DecodePeer, TypeErrorsAreRecordedNotThrown) {
  json j = json::parse(R"({
    "metadata":{"name":"bad"},
    "spec":{"allowedIPs":["10.5.0.1/32", 7],"publicKey":12,
            "endpoint":{"dnsOrIP":{"ip":["x"]},"port":"abc"},
            "persistentKeepalive":"25"}})");
  auto p = DecodePeerJson(j);
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->allowed_ips, (std::vector<std::string>{"10.5.0.1/32"}));
  ASSERT_EQ(p->type_errors.size(), 5u);
  std::string all;
  for (const auto& e : p->type_errors) all += e + "\n";
  for (const char* field : {"spec.allowedIPs[1]", "spec.publicKey", "spec.endpoint.dnsOrIP.ip",
                            "spec.endpoint.port", "spec.persistentKeepalive"}) {
    EXPECT_NE(all.find(field), std::string::npos) << field << " in " << all;
  }
}

TEST(DecodePeer, MissingOptionalFields) {
  auto p = DecodePeerJson(json::parse(R"({"metadata":{"name":"p"},"spec":{"publicKey":"K"}})"));
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_allowed_ips);
  EXPECT_FALSE(p->has_endpoint);
  EXPECT_EQ(p->persistent_keepalive, 0);
  auto wrong_spec = DecodePeerJson(json::parse(R"({"metadata":{"name":"p"},"spec":"x"})"));
  ASSERT_TRUE(wrong_spec.ok());
  EXPECT_EQ(wrong_spec->type_errors.size(), 1u);
}

TEST(EncodePeer, RoundTrip) {
  PeerObject p;
  p.name = "phone";
  p.resource_version = "9";
  p.allowed_ips = {"10.5.0.1/32"};
  p.has_allowed_ips = true;
  p.public_key = "PUB=";
  p.has_endpoint = true;
  p.endpoint_dns = "vpn.example.com";
  p.endpoint_port = 51820;
  p.persistent_keepalive = 10;
  json j = EncodePeerJson(p);
  EXPECT_EQ(j["apiVersion"], "kilo.squat.ai/v1alpha1");
  EXPECT_EQ(j["kind"], "Peer");
  EXPECT_FALSE(j["spec"]["endpoint"]["dnsOrIP"].contains("ip"));
  EXPECT_FALSE(j["spec"].contains("presharedKey"));
  auto back = DecodePeerJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->allowed_ips, p.allowed_ips);
  EXPECT_EQ(back->endpoint_dns, p.endpoint_dns);
  EXPECT_EQ(back->endpoint_port, 51820);
  EXPECT_EQ(back->persistent_keepalive, 10);
  EXPECT_EQ(back->resource_version, "9");
}

}  // namespace
}  // namespace kilo::k8s
