// ClusterDumpStream: the same visitor calls as VisitClusterDump for every way
// of cutting the input into pieces and batches, giving up on everything the
// fast decoder does not read itself, and holding about a batch at a time.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/objects_json.h"
#include "dump_recorder.h"

namespace kilo {
namespace {

using testutil::DumpRecorder;

// A Node as the agent annotates it, with kubelet status and managedFields
// (strings with escaped quotes, brackets and unicode, nested arrays).
std::string NodeItem(int i, bool status) {
  std::string name = "node-" + std::to_string(i);
  std::string s =
      R"({"apiVersion":"v1","kind":"Node","metadata":{"annotations":{)"
      R"("kilo.squat.ai/endpoint":"198.51.100.)" +
      std::to_string(i % 250 + 1) + R"(:51820","kilo.squat.ai/internal-ip":"10.0.)" +
      std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
      R"(/16","kilo.squat.ai/key":"fsJzeKZhyTUYfAfk1WNum8PEALJyRLjNOpfxGuZRBwU=",)"
      R"("kilo.squat.ai/last-seen":"1767225600","kilo.squat.ai/wireguard-ip":"10.4.0.)" +
      std::to_string(i % 250 + 1) + R"(/16"},"labels":{"topology.kubernetes.io/region":"r)" +
      std::to_string(i % 3) + R"("},"name":")" + name + R"("},"spec":{"podCIDR":"100.64.)" +
      std::to_string(i % 250) + R"(.0/24"})";
  if (status) {
    s +=
        R"(,"status":{"conditions":[{"type":"Ready","message":"kubelet is \"posting\" ready [ok] {}",)"
        R"("reason":"\u00e9t\u00e9 \\ done"}],"images":[{"names":["a/b:1","c/d@sha256:00"],"sizeBytes":12345}],)"
        R"("nodeInfo":{"kernelVersion":"6.1.0","empty":{},"none":[],"flag":true,"nothing":null}})";
    s += R"(,"managedFields":[{"manager":"kubelet","fieldsV1":{"f:status":{"f:conditions":{".":{},)"
         R"("k:{\"type\":\"Ready\"}":{"f:message":{}}}}}}])";
  }
  return s + "}";
}

std::string PeerItem(int i) {
  return R"({"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"peer-)" +
         std::to_string(i) + R"("},"spec":{"allowedIPs":["10.5.0.)" + std::to_string(i % 250 + 1) +
         R"(/32"],"publicKey":"GDqS1kjBf0bbNCu1LhXc+ufFVT2qNVRTFAfFZMa7h1Y=","persistentKeepalive":10}})";
}

// A List with `n` nodes, every fifth item a Peer, a few items the fast
// decoder reads twice (kind last) or skips, and keys around "items".
std::string List(int n, bool status) {
  std::string s =
      "{\n  \"apiVersion\": \"v1\",\n  \"metadata\": {\"resourceVersion\": \"\", \"x\": [1, "
      "{\"items\": []}]},\n  \"items\": [\n";
  for (int i = 0; i < n; ++i) {
    if (i) s += ",\n    ";
    s += NodeItem(i, status);
    if (i % 5 == 0) s += ", " + PeerItem(i);
  }
  // A Node whose kind follows its metadata (read again once the kind is known), an
  // item of another kind, values that are not objects.
  s +=
      R"(, {"metadata":{"name":"late-kind","annotations":{"kilo.squat.ai/location":"x"}},"kind":"Node"})";
  s +=
      R"(, {"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm"}}, null, "text", [1, 2], {})";
  s += "\n  ],\n  \"kind\": \"List\",\n  \"items\": [{\"kind\": \"Node\", \"metadata\": {\"name\": "
       "\"second-items-key\"}}]\n}\n";
  return s;
}

std::string WholeLog(const std::string& text, int* restarts = nullptr) {
  DumpRecorder r;
  Status s = VisitClusterDump(text, false, "topology.kubernetes.io/region", &r);
  EXPECT_TRUE(s.ok()) << s.message();
  if (restarts) *restarts = r.restarts;
  return r.log;
}

// Streams `text` in pieces of `piece` bytes; the log, or nullopt if it gave up.
std::optional<std::string> StreamLog(const std::string& text, size_t piece, size_t batch,
                                     size_t* capacity = nullptr) {
  DumpRecorder r;
  ClusterDumpStream stream("topology.kubernetes.io/region", &r, batch);
  bool ok = true;
  for (size_t off = 0; ok && off < text.size(); off += piece) {
    size_t n = std::min(piece, text.size() - off);
    std::copy_n(text.data() + off, n, stream.Reserve(n));
    ok = stream.Commit(n);
  }
  ok = ok && stream.Finish();
  if (capacity) *capacity = stream.BufferCapacity();
  EXPECT_EQ(r.restarts, 0);
  if (!ok) return std::nullopt;
  return r.log;
}

TEST(ClusterDumpStream, SameCallsAsTheWholeDecoderForEveryPieceAndBatchSize) {
  for (bool status : {false, true}) {
    std::string text = List(40, status);
    int restarts = -1;
    std::string want = WholeLog(text, &restarts);
    ASSERT_EQ(restarts, 0) << "the whole decoder gave up: the test input is not the fast path's";
    ASSERT_NE(want.find("node 9:late-kind"), std::string::npos);
    ASSERT_EQ(want.find("second-items-key"), std::string::npos);  // the first "items" counts
    for (size_t piece : {size_t{1}, size_t{3}, size_t{64}, size_t{4096}, text.size()}) {
      for (size_t batch : {size_t{1}, size_t{700}, size_t{1} << 20}) {
        SCOPED_TRACE("status " + std::to_string(status) + " piece " + std::to_string(piece) +
                     " batch " + std::to_string(batch));
        auto got = StreamLog(text, piece, batch);
        ASSERT_TRUE(got.has_value());
        EXPECT_EQ(*got, want);
      }
    }
  }
}

TEST(ClusterDumpStream, EmptyListAndWhitespace) {
  for (std::string text : {std::string(R"({"items":[]})"),
                           std::string(" \n{ \"kind\" : \"List\" , \"items\" : [ ] } \n"),
                           std::string(R"({"items":[ {"kind":"Node","metadata":{"name":"a"}} ]})"),
                           // Values Kilo does not read are not checked, by either decoder.
                           std::string(R"({"kind": tru, "items": []})")}) {
    SCOPED_TRACE(text);
    auto got = StreamLog(text, 2, 1);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, WholeLog(text));
  }
}

// Each of these is the reference decoder's (or an error): the stream must give up,
// never decode it otherwise.
TEST(ClusterDumpStream, GivesUpOnWhatTheFastDecoderDoesNotRead) {
  struct Case {
    const char* name;
    std::string text;
  };
  std::string node = NodeItem(1, true);
  std::vector<Case> cases = {
      {"root array", "[" + node + "]"},
      {"single object", node},
      {"items not an array", R"({"items": null})"},
      {"items is an object", R"({"items": {"a": 1}})"},
      {"no items", R"({"kind":"List"})"},
      {"escaped items key", R"({"it\u0065ms": [)" + node + "]}"},
      {"key with an escaped quote", R"({"\"items": [)" + node + "]}"},
      {"trailing comma", R"({"items": [)" + node + ",]}"},
      {"leading comma", R"({"items": [,)" + node + "]}"},
      {"two commas", R"({"items": [)" + node + ",," + node + "]}"},
      {"syntax error in an item", R"({"items": [{"kind": "Node", "metadata": {"name": "a",}}]})"},
      {"a number item", R"({"items": [1]})"},
      {"garbage after the root", R"({"items": []} x)"},
      {"a second root", R"({"items": []} {})"},
      {"truncated", R"({"items": [)" + node.substr(0, node.size() / 2)},
      {"unterminated list", R"({"items": [)" + node},
      {"mismatched close", R"({"items": [)" + node + "}}"},
      {"yaml", "apiVersion: v1\nkind: List\nitems: []\n"},
      {"empty", ""},
  };
  for (const auto& c : cases) {
    for (size_t piece : {size_t{1}, size_t{5}, c.text.size() + 1}) {
      SCOPED_TRACE(std::string(c.name) + " piece " + std::to_string(piece));
      EXPECT_FALSE(StreamLog(c.text, piece, 1).has_value());
    }
  }
}

TEST(ClusterDumpStream, HoldsAboutABatchAtATime) {
  std::string text = List(4000, true);  // ~3.4 MB
  ASSERT_GT(text.size(), size_t{3} << 20);
  size_t capacity = 0;
  auto got = StreamLog(text, 64 << 10, 256 << 10, &capacity);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, WholeLog(text));
  // A batch, the item that ends it, a piece and the padding; never the input.
  EXPECT_LT(capacity, size_t{1} << 20)
      << "held " << capacity << " bytes of a " << text.size() << "-byte input";
}

}  // namespace
}  // namespace kilo
