// What the API server sends about Nodes and Peers, through core's decoder
// (core/api_json.h): LIST pages and watch events, as the informer and
// kgctl's live commands read them; and Peers encoded back (k8s/decode.h).

#include "k8s/decode.h"

#include <gtest/gtest.h>

#include "core/api_json.h"
#include "core/objects_json.h"

namespace kilo::k8s {
namespace {

using nlohmann::json;

std::string Event(const std::string& type, const std::string& object) {
  return R"({"type":")" + type + R"(","object":)" + object + "}";
}

TEST(DecodeNode, FieldsOfAWatchedNode) {
  auto ev = DecodeWatchEvent(Event("MODIFIED", R"({
    "kind":"Node","apiVersion":"v1",
    "metadata":{"name":"n1","resourceVersion":"42","uid":"u-1",
      "labels":{"topology.kubernetes.io/region":"eu"},
      "annotations":{"kg.kilo.squat.ai/path-health":"{}","kilo.squat.ai/key":"abc","kilo.squat.ai/leader":"","node.alpha.kubernetes.io/ttl":"0"},
      "managedFields":[{"manager":"kubelet"}]},
    "spec":{"podCIDR":"10.2.1.0/24","podCIDRs":["10.2.1.0/24"]},
    "status":{"addresses":[{"type":"InternalIP","address":"10.0.0.1"}]}})"),
                             ObjectKind::kNode);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->type, "MODIFIED");
  EXPECT_EQ(ev->name, "n1");
  EXPECT_EQ(ev->resource_version, "42");
  ASSERT_TRUE(ev->node.has_value()) << ev->error;
  const NodeObject& n = *ev->node;
  EXPECT_EQ(n.name, "n1");
  EXPECT_EQ(n.resource_version, "42");
  EXPECT_EQ(n.uid, "u-1");
  EXPECT_EQ(n.labels.at("topology.kubernetes.io/region"), "eu");
  // Only Kilo's (and kg's own) annotations are kept.
  EXPECT_EQ(n.annotations.size(), 3u);
  EXPECT_EQ(n.annotations.at("kg.kilo.squat.ai/path-health"), "{}");
  EXPECT_EQ(n.annotations.at("kilo.squat.ai/leader"), "");
  EXPECT_EQ(n.pod_cidr, "10.2.1.0/24");
}

TEST(DecodeNode, Errors) {
  EXPECT_FALSE(DecodeWatchEvent("[]", ObjectKind::kNode).has_value());
  EXPECT_FALSE(DecodeWatchEvent("{", ObjectKind::kNode).has_value());
  auto ev = DecodeWatchEvent(Event("ADDED", R"({"metadata":{}})"), ObjectKind::kNode);
  ASSERT_TRUE(ev.has_value());
  EXPECT_FALSE(ev->node.has_value());
  EXPECT_EQ(ev->error, "metadata.name missing");
  ev = DecodeWatchEvent(
      Event("ADDED", R"({"metadata":{"name":"x","annotations":null},"spec":null})"),
      ObjectKind::kNode);
  ASSERT_TRUE(ev && ev->node);
  EXPECT_TRUE(ev->node->annotations.empty());
  ev = DecodeWatchEvent(R"({"type":"ADDED","object":7})", ObjectKind::kNode);
  ASSERT_TRUE(ev.has_value());
  EXPECT_FALSE(ev->has_object);
}

TEST(DecodeWatchEvent, ErrorAndBookmarkEvents) {
  auto gone = DecodeWatchEvent(
      R"({"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old resource version"}})",
      ObjectKind::kNode);
  ASSERT_TRUE(gone.has_value());
  EXPECT_EQ(gone->code, 410);
  EXPECT_EQ(gone->message, "too old resource version");
  auto odd = DecodeWatchEvent(R"({"type":"ERROR","object":{"code":"410"}})", ObjectKind::kPeer);
  ASSERT_TRUE(odd.has_value());
  EXPECT_EQ(odd->code, 0);
  EXPECT_EQ(odd->message, "no message");
  auto big = DecodeWatchEvent(R"({"type":"ERROR","object":{"code":1e300}})", ObjectKind::kPeer);
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->code, 0);
  auto bm = DecodeWatchEvent(
      R"({"type":"BOOKMARK","object":{"kind":"Node","metadata":{"resourceVersion":"110"}}})",
      ObjectKind::kNode);
  ASSERT_TRUE(bm.has_value());
  EXPECT_EQ(bm->resource_version, "110");
  EXPECT_FALSE(bm->node.has_value());
}

TEST(DecodeListPage, ItemsWithoutKindAndTheListMetadata) {
  auto page = DecodeListPage(R"({"kind":"NodeList","apiVersion":"v1",
    "metadata":{"resourceVersion":"100","continue":"n=2"},
    "items":[{"metadata":{"name":"a","resourceVersion":"1"},"spec":{"podCIDR":"10.2.0.0/24"}},
             {"metadata":{}},
             {"metadata":{"name":"b","resourceVersion":"2"}}]})",
                             ObjectKind::kNode);
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->nodes.size(), 2u);
  EXPECT_EQ(page->nodes[0].name, "a");
  EXPECT_EQ(page->nodes[0].pod_cidr, "10.2.0.0/24");
  EXPECT_EQ(page->nodes[1].name, "b");
  EXPECT_EQ(page->skipped, (std::vector<std::string>{"item 1: metadata.name missing"}));
  EXPECT_EQ(page->continue_token, "n=2");
  EXPECT_EQ(page->resource_version, "100");
  EXPECT_FALSE(DecodeListPage("[]", ObjectKind::kNode).ok());
  EXPECT_FALSE(DecodeListPage("<html>", ObjectKind::kNode).ok());
}

// In place (spare capacity for the padding) or copied: the same page; the
// bytes in the spare capacity are never part of the text.
TEST(DecodeListPage, PaddedInPlaceDecodesTheSame) {
  const std::string text =
      R"({"metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"a"}},)"
      R"({"metadata":{"name":"b"}}]})";
  std::string padded = text;
  padded.reserve(text.size() + 200);
  padded.append(150, ']');  // garbage in the spare capacity
  padded.resize(text.size());
  std::string tight = text;
  tight.shrink_to_fit();
  for (const std::string* s : {&padded, &tight}) {
    auto page = DecodeListPagePadded(*s, ObjectKind::kNode);
    ASSERT_TRUE(page.ok()) << page.error();
    ASSERT_EQ(page->nodes.size(), 2u);
    EXPECT_EQ(page->nodes[1].name, "b");
    EXPECT_EQ(page->resource_version, "5");
  }
  std::string truncated = text.substr(0, text.size() - 2);
  truncated.reserve(text.size() + 100);
  EXPECT_FALSE(DecodeListPagePadded(truncated, ObjectKind::kNode).ok());
}

TEST(DecodePeer, Fields) {
  auto page = DecodeListPage(R"({"items":[{
    "metadata":{"name":"phone","resourceVersion":"7","uid":"p-1"},
    "spec":{"allowedIPs":["10.5.0.1/32","10.5.0.2/32"],"publicKey":"PUB=","presharedKey":"PSK=",
            "endpoint":{"dnsOrIP":{"dns":"example.com","ip":"1.2.3.4"},"port":51820},
            "persistentKeepalive":25}}]})",
                             ObjectKind::kPeer);
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->peers.size(), 1u);
  const PeerObject& p = page->peers[0];
  EXPECT_EQ(p.name, "phone");
  EXPECT_TRUE(p.has_allowed_ips);
  EXPECT_EQ(p.allowed_ips, (std::vector<std::string>{"10.5.0.1/32", "10.5.0.2/32"}));
  EXPECT_EQ(p.public_key, "PUB=");
  EXPECT_EQ(p.preshared_key, "PSK=");
  EXPECT_TRUE(p.has_endpoint);
  EXPECT_EQ(p.endpoint_dns, "example.com");
  EXPECT_EQ(p.endpoint_ip, "1.2.3.4");
  EXPECT_EQ(p.endpoint_port, 51820);
  EXPECT_EQ(p.persistent_keepalive, 25);
  EXPECT_TRUE(p.type_errors.empty());
}

TEST(DecodePeer, TypeErrorsAreRecordedNotThrown) {
  auto ev = DecodeWatchEvent(Event("ADDED", R"({
    "metadata":{"name":"bad"},
    "spec":{"allowedIPs":["10.5.0.1/32", 7],"publicKey":12,
            "endpoint":{"dnsOrIP":{"ip":["x"]},"port":"abc"},
            "persistentKeepalive":"25"}})"),
                             ObjectKind::kPeer);
  ASSERT_TRUE(ev && ev->peer) << (ev ? ev->error : "no event");
  const PeerObject& p = *ev->peer;
  EXPECT_EQ(p.allowed_ips, (std::vector<std::string>{"10.5.0.1/32"}));
  ASSERT_EQ(p.type_errors.size(), 5u);
  std::string all;
  for (const auto& e : p.type_errors) all += e + "\n";
  for (const char* field : {"spec.allowedIPs", "spec.publicKey", "spec.endpoint.dnsOrIP.ip",
                            "spec.endpoint.port", "spec.persistentKeepalive"}) {
    EXPECT_NE(all.find(field), std::string::npos) << field << " in " << all;
  }
}

TEST(DecodePeer, MissingOptionalFields) {
  auto p = DecodePeerObject(R"({"metadata":{"name":"p"},"spec":{"publicKey":"K"}})");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_allowed_ips);
  EXPECT_FALSE(p->has_endpoint);
  EXPECT_EQ(p->persistent_keepalive, 0);
  auto wrong_spec = DecodePeerObject(R"({"metadata":{"name":"p"},"spec":"x"})");
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
  auto back = DecodePeerObject(j.dump());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->allowed_ips, p.allowed_ips);
  EXPECT_EQ(back->endpoint_dns, p.endpoint_dns);
  EXPECT_EQ(back->endpoint_port, 51820);
  EXPECT_EQ(back->persistent_keepalive, 10);
  EXPECT_EQ(back->resource_version, "9");
}

}  // namespace
}  // namespace kilo::k8s
