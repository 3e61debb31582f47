// One decoder: random Nodes and Peers give the same objects whether they come
// from a dump file (VisitClusterDump: the streaming reader, kgctl --from-file)
// or from the API server (DecodeListPage / DecodeWatchEvent: kg's informer and
// kgctl's live commands), and the streaming reader reads them itself.

#include "core/api_json.h"

#include <gtest/gtest.h>

#include <random>

#include "core/objects_json.h"
#include "dump_recorder.h"

namespace kilo {
namespace {

using testutil::DumpRecorder;

constexpr const char* kLabel = "topology.kubernetes.io/region";

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  size_t Below(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Coin() { return Below(2) == 0; }
  // A JSON string: plain text, escapes, quotes, unicode, or empty.
  std::string Str() {
    static const char* kPieces[] = {
        "10.0.0.1",      "a",   "\\\"q\\\"", "\\\\", "\\u00e9", "\\n", "198.51.100.7:51820",
        "fsJzeKZhyTUY=", "[x]", "{y}",       ""};
    std::string s = "\"";
    for (size_t i = 0, n = Below(4); i < n; ++i) s += kPieces[Below(std::size(kPieces))];
    return s + "\"";
  }
  std::string Value() { return Below(8) == 0 ? "null" : Str(); }
  std::string Node(int i, bool with_kind) {
    std::string s = "{";
    if (with_kind) s += R"("apiVersion":"v1","kind":"Node",)";
    s += R"("metadata":{"name":"node-)" + std::to_string(i) + R"(","resourceVersion":")" +
         std::to_string(100 + i) + R"(","uid":"u)" + std::to_string(i) + "\"";
    if (Coin()) {
      s += R"(,"labels":{)";
      bool first = true;
      for (const char* k : {"kubernetes.io/hostname", kLabel, "node-role.kubernetes.io/x"}) {
        if (!Coin()) continue;
        s += (first ? "\"" : ",\"") + std::string(k) + "\":" + Str();
        first = false;
      }
      s += "}";
    }
    if (Coin()) {
      s += R"(,"annotations":{)";
      bool first = true;
      for (size_t k = 0; k < kNumNodeAnnotations; ++k) {
        if (Below(3) != 0) continue;
        s += (first ? "\"" : ",\"") + std::string(kNodeAnnotationKeys[k]) + "\":" + Value();
        first = false;
      }
      if (Coin()) s += std::string(first ? "" : ",") + R"("node.alpha.kubernetes.io/ttl":"0")";
      s += "}";
    }
    s += "}";
    if (Coin()) s += R"(,"spec":{"podCIDR":)" + Str() + R"(,"podCIDRs":["x"]})";
    if (Coin())
      s += R"(,"status":{"conditions":[{"type":"Ready","message":"ok \"{[\""}],"n":[1,2.5,null]})";
    return s + "}";
  }
  std::string Peer(int i, bool with_kind) {
    std::string s = "{";
    if (with_kind) s += R"("apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer",)";
    s += R"("metadata":{"name":"peer-)" + std::to_string(i) + R"("},"spec":{)";
    s += R"("allowedIPs":[)" + std::string(Coin() ? R"("10.5.0.1/32")" : "") + "]";
    s += R"(,"publicKey":)" + (Below(5) == 0 ? std::string("7") : Str());
    if (Coin()) s += R"(,"persistentKeepalive":)" + std::string(Coin() ? "25" : "\"25\"");
    if (Coin()) s += R"(,"endpoint":{"dnsOrIP":{"ip":)" + Str() + R"(},"port":51820})";
    return s + "}}";
  }

 private:
  std::mt19937_64 rng_;
};

TEST(OneDecoder, RandomObjectsDecodeAlikeFromAFileALISTPageAndWatchEvents) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Gen g(seed);
    std::vector<std::string> nodes_file, nodes_api, peers_file, peers_api;
    for (int i = 0; i < 30; ++i) {
      Gen a(seed * 1000 + i), b(seed * 1000 + i);  // the same object twice
      nodes_file.push_back(a.Node(i, true));
      nodes_api.push_back(b.Node(i, false));
    }
    for (int i = 0; i < 10; ++i) {
      Gen a(seed * 7000 + i), b(seed * 7000 + i);
      peers_file.push_back(a.Peer(i, true));
      peers_api.push_back(b.Peer(i, false));
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
      return s;
    };
    // The file path: one kubectl List of Nodes then Peers.
    std::string dump = R"({"apiVersion":"v1","kind":"List","items":[)" + join(nodes_file) + "," +
                       join(peers_file) + R"(],"metadata":{"resourceVersion":""}})";
    DumpRecorder file;
    ASSERT_TRUE(VisitClusterDump(dump, false, kLabel, &file).ok()) << "seed " << seed;
    EXPECT_EQ(file.restarts, 0) << "the streaming reader gave up; seed " << seed;
    // The API path: a NodeList page, a PeerList page (items without kind).
    DumpRecorder api;
    auto np = DecodeListPage(R"({"kind":"NodeList","metadata":{"resourceVersion":"9"},"items":[)" +
                                 join(nodes_api) + "]}",
                             ObjectKind::kNode);
    ASSERT_TRUE(np.ok()) << np.error();
    EXPECT_TRUE(np->skipped.empty());
    for (const auto& n : np->nodes) api.OnNode(NodeFields::Of(n, kLabel));
    auto pp = DecodeListPage(R"({"kind":"PeerList","items":[)" + join(peers_api) + "]}",
                             ObjectKind::kPeer);
    ASSERT_TRUE(pp.ok()) << pp.error();
    for (auto& p : pp->peers) api.OnPeer(std::move(p));
    EXPECT_EQ(api.log, file.log) << "seed " << seed;
    // A watch event carries the same objects.
    DumpRecorder watched;
    for (const auto& n : nodes_api) {
      auto ev = DecodeWatchEvent(R"({"type":"ADDED","object":)" + n + "}", ObjectKind::kNode);
      ASSERT_TRUE(ev && ev->node) << n;
      watched.OnNode(NodeFields::Of(*ev->node, kLabel));
    }
    for (const auto& p : peers_api) {
      auto ev = DecodeWatchEvent(R"({"type":"MODIFIED","object":)" + p + "}", ObjectKind::kPeer);
      ASSERT_TRUE(ev && ev->peer) << p;
      watched.OnPeer(std::move(*ev->peer));
    }
    EXPECT_EQ(watched.log, file.log) << "seed " << seed;
  }
}

// Invalid objects give the same reasons whichever way they come, and a Peer's
// type errors come in one order whatever the order of its keys.
TEST(OneDecoder, TheSameReasonsFromAFileALISTPageAndAWatchEvent) {
  struct Case {
    const char* name;
    std::string item;  // without kind
    std::string why;
  };
  std::vector<Case> cases = {
      {"no metadata", R"({"spec":{}})", "metadata missing"},
      {"metadata not an object", R"({"metadata":"x"})", "metadata.name missing"},
      {"name not a string", R"({"metadata":{"name":5}})", "metadata.name missing"},
      {"empty name", R"({"spec":{},"metadata":{"name":""}})", "metadata.name missing"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    for (ObjectKind kind : {ObjectKind::kNode, ObjectKind::kPeer}) {
      bool node = kind == ObjectKind::kNode;
      auto page = DecodeListPage(R"({"items":[{"metadata":{"name":"ok"}},)" + c.item + "]}", kind);
      ASSERT_TRUE(page.ok()) << page.error();
      EXPECT_EQ(page->skipped, std::vector<std::string>{"item 1: " + c.why});
      EXPECT_EQ(node ? page->nodes.size() : page->peers.size(), 1u);
      auto ev = DecodeWatchEvent(R"({"type":"ADDED","object":)" + c.item + "}", kind);
      ASSERT_TRUE(ev.has_value());
      EXPECT_EQ(ev->error, c.why);
      EXPECT_FALSE(ev->node || ev->peer);
      std::string with_kind =
          node ? R"({"kind":"Node",)" : R"({"kind":"Peer","apiVersion":"kilo.squat.ai/v1alpha1",)";
      auto file = DecodeClusterObjects(R"({"items":[)" + with_kind + c.item.substr(1) + "]}");
      ASSERT_FALSE(file.ok());
      EXPECT_EQ(file.error(), std::string("item 0 (") + (node ? "Node" : "Peer") + "): " + c.why);
    }
  }
  const std::string keys[] = {R"("endpoint":{"port":"p","dnsOrIP":{"ip":1,"dns":[]}})",
                              R"("persistentKeepalive":2.5)", R"("presharedKey":{})",
                              R"("publicKey":7)", R"("allowedIPs":"x")"};
  const std::vector<std::string> want = {"spec.allowedIPs is not a list",
                                         "spec.publicKey is not a string",
                                         "spec.presharedKey is not a string",
                                         "spec.persistentKeepalive is not an integer",
                                         "spec.endpoint.dnsOrIP.dns is not a string",
                                         "spec.endpoint.dnsOrIP.ip is not a string",
                                         "spec.endpoint.port is not an integer"};
  for (bool reversed : {false, true}) {
    std::string spec;
    for (size_t i = 0; i < std::size(keys); ++i)
      spec += (i ? "," : "") + keys[reversed ? std::size(keys) - 1 - i : i];
    std::string peer = R"("metadata":{"name":"p"},"spec":{)" + spec + "}}";
    auto ev = DecodeWatchEvent(R"({"type":"ADDED","object":{)" + peer + "}", ObjectKind::kPeer);
    ASSERT_TRUE(ev && ev->peer);
    EXPECT_EQ(ev->peer->type_errors, want);
    DumpRecorder file, api;
    ASSERT_TRUE(VisitClusterDump(
                    R"({"items":[{"kind":"Peer","apiVersion":"kilo.squat.ai/v1",)" + peer + "]}",
                    false, kLabel, &file)
                    .ok());
    EXPECT_EQ(file.restarts, 0);
    api.OnPeer(*ev->peer);
    EXPECT_EQ(file.log, api.log);
  }
}

// A watch frame with a syntax error in a field only one kind reads is no
// event for either kind.
TEST(OneDecoder, ABrokenFrameIsNoEventWhateverTheKind) {
  for (std::string frame :
       {std::string(
            R"({"type":"ADDED","object":{"metadata":{"name":"a"},"spec":{"publicKey":tru}}})"),
        std::string(R"({"type":"ADDED","object":{"metadata":{"name":"a"},"status":{"n":1x}}})")}) {
    EXPECT_FALSE(DecodeWatchEvent(frame, ObjectKind::kNode).has_value()) << frame;
    EXPECT_FALSE(DecodeWatchEvent(frame, ObjectKind::kPeer).has_value()) << frame;
  }
}

}  // namespace
}  // namespace kilo
