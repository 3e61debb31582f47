#include "k8s/client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes/k8s/fake_transport.h"

namespace kilo::k8s {
namespace {

using nlohmann::json;
using testing::FakeTransport;
using testing::Response;
using namespace std::chrono_literals;

TEST(AnnotationMergePatch, OnlyChangedKeys) {
  std::map<std::string, std::string> cur = {
      {"kilo.squat.ai/key", "K"}, {"kilo.squat.ai/endpoint", "1.2.3.4:51820"}, {"other", "x"}};
  struct Case {
    const char* name;
    AnnotationChanges changes;
    std::optional<std::string> want;
  } cases[] = {
      {"unchanged value is not sent", {{"kilo.squat.ai/key", "K"}}, std::nullopt},
      {"changed value",
       {{"kilo.squat.ai/key", "K2"}, {"kilo.squat.ai/endpoint", "1.2.3.4:51820"}},
       R"({"metadata":{"annotations":{"kilo.squat.ai/key":"K2"}}})"},
      {"new key",
       {{"kilo.squat.ai/last-seen", "100"}},
       R"({"metadata":{"annotations":{"kilo.squat.ai/last-seen":"100"}}})"},
      {"removal of a present key is null",
       {{"kilo.squat.ai/endpoint", std::nullopt}},
       R"({"metadata":{"annotations":{"kilo.squat.ai/endpoint":null}}})"},
      {"removal of an absent key is nothing",
       {{"kilo.squat.ai/leader", std::nullopt}},
       std::nullopt},
      {"empty value differs from absent",
       {{"kilo.squat.ai/internal-ip", ""}},
       R"({"metadata":{"annotations":{"kilo.squat.ai/internal-ip":""}}})"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(BuildAnnotationMergePatch(&cur, c.changes), c.want) << c.name;
  }
}

TEST(AnnotationMergePatch, UnknownCurrentSendsAll) {
  auto p = BuildAnnotationMergePatch(nullptr, {{"a", "1"}, {"b", std::nullopt}});
  EXPECT_EQ(p, R"({"metadata":{"annotations":{"a":"1","b":null}}})");
  EXPECT_EQ(BuildAnnotationMergePatch(nullptr, {}), std::nullopt);
}

TEST(JsonPatch, EscapesPointer) {
  EXPECT_EQ(EscapeJsonPointer("kilo.squat.ai/key"), "kilo.squat.ai~1key");
  EXPECT_EQ(EscapeJsonPointer("a~b/c"), "a~0b~1c");
  std::map<std::string, std::string> cur = {
      {"kilo.squat.ai/key", "K"}, {"x~y", "1"}, {"keep", "k"}};
  auto p = BuildRemoveAnnotationsPatch(cur, {"kilo.squat.ai/key", "x~y", "absent"});
  EXPECT_EQ(p, R"([{"op":"remove","path":"/metadata/annotations/kilo.squat.ai~1key"},)"
               R"({"op":"remove","path":"/metadata/annotations/x~0y"}])");
  EXPECT_EQ(BuildRemoveAnnotationsPatch(cur, {"absent"}), std::nullopt);
}

std::string NodeJson(const std::string& name, const std::string& rv,
                     const std::map<std::string, std::string>& anns) {
  json a = json::object();
  for (const auto& [k, v] : anns) a[k] = v;
  return json{{"metadata", {{"name", name}, {"resourceVersion", rv}, {"annotations", a}}}}.dump();
}

class ClientWithCache : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.do_handler = [this](const HttpRequest& req) -> Result<HttpResponse> {
      if (req.method == "GET" && req.path.rfind("/api/v1/nodes?", 0) == 0) {
        return Response(
            200, R"({"metadata":{"resourceVersion":"10"},"items":[)" +
                     NodeJson("n1", "5", {{"kilo.squat.ai/key", "K"}, {"foreign", "f"}}) + "]}");
      }
      if (req.method == "GET" && req.path == "/api/v1/nodes/n2") {
        return Response(200, NodeJson("n2", "6", {{"kilo.squat.ai/key", "K"}}));
      }
      if (req.method == "PATCH") return Response(200, NodeJson("n1", "11", {}));
      return Response(404, R"({"kind":"Status","message":"not found"})");
    };
    informer_ = std::make_unique<NodeInformer>(&fake_, InformerHandlers<NodeObject>{});
    informer_->Start();
    ASSERT_TRUE(informer_->WaitForSync(5s));
    client_ = std::make_unique<KubeClient>(&fake_);
    client_->SetNodeCache(informer_.get());
  }
  std::vector<HttpRequest> Patches() {
    std::vector<HttpRequest> out;
    for (auto& r : fake_.requests()) {
      if (r.method == "PATCH") out.push_back(r);
    }
    return out;
  }
  FakeTransport fake_;
  std::unique_ptr<NodeInformer> informer_;
  std::unique_ptr<KubeClient> client_;
};

TEST_F(ClientWithCache, PatchSkipsUnchanged) {
  auto sent = client_->PatchNodeAnnotations("n1", {{"kilo.squat.ai/key", "K"}});
  ASSERT_TRUE(sent.ok()) << sent.error();
  EXPECT_FALSE(*sent);
  EXPECT_TRUE(Patches().empty());
}

TEST_F(ClientWithCache, PatchSendsOnlyChangedAsMergePatch) {
  auto sent = client_->PatchNodeAnnotations(
      "n1",
      {{"kilo.squat.ai/key", "K"}, {"kilo.squat.ai/last-seen", "123"}, {"gone", std::nullopt}});
  ASSERT_TRUE(sent.ok()) << sent.error();
  EXPECT_TRUE(*sent);
  auto p = Patches();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].path, "/api/v1/nodes/n1");
  EXPECT_EQ(p[0].content_type, "application/merge-patch+json");
  EXPECT_EQ(p[0].body, R"({"metadata":{"annotations":{"kilo.squat.ai/last-seen":"123"}}})");
}

TEST_F(ClientWithCache, RemoveUsesJsonPatchForPresentKeys) {
  auto sent = client_->RemoveNodeAnnotations("n1", {"kilo.squat.ai/key", "kilo.squat.ai/endpoint"});
  ASSERT_TRUE(sent.ok()) << sent.error();
  EXPECT_TRUE(*sent);
  auto p = Patches();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].content_type, "application/json-patch+json");
  EXPECT_EQ(p[0].body, R"([{"op":"remove","path":"/metadata/annotations/kilo.squat.ai~1key"}])");
  // Nothing present: no request.
  sent = client_->RemoveNodeAnnotations("n1", {"kilo.squat.ai/endpoint"});
  ASSERT_TRUE(sent.ok());
  EXPECT_FALSE(*sent);
}

TEST_F(ClientWithCache, RemoveGetsUncachedNode) {
  auto sent = client_->RemoveNodeAnnotations("n2", {"kilo.squat.ai/key"});
  ASSERT_TRUE(sent.ok()) << sent.error();
  EXPECT_TRUE(*sent);
}

TEST(Client, PatchErrorIsDescribed) {
  FakeTransport fake;
  fake.do_handler = [](const HttpRequest&) -> Result<HttpResponse> {
    return Response(401, R"({"kind":"Status","message":"Unauthorized","code":401})");
  };
  KubeClient c(&fake);
  auto r = c.PatchNodeAnnotations("n1", {{"a", "b"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("the API server rejected our credentials (401 Unauthorized)"),
            std::string::npos)
      << r.error();
}

TEST(Client, CheckPeerCRD) {
  FakeTransport fake;
  long status = 404;
  fake.do_handler = [&](const HttpRequest& req) -> Result<HttpResponse> {
    EXPECT_EQ(req.path,
              "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/peers.kilo.squat.ai");
    return Response(status, "{}");
  };
  KubeClient c(&fake);
  Status s = c.CheckPeerCRD();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "the Peer CRD peers.kilo.squat.ai is not installed: apply manifests/crds.yaml "
            "(kubectl apply -f manifests/crds.yaml)");
  status = 200;
  EXPECT_TRUE(c.CheckPeerCRD().ok());
}

TEST(Client, PeerCrud) {
  FakeTransport fake;
  json stored;
  fake.do_handler = [&](const HttpRequest& req) -> Result<HttpResponse> {
    if (req.method == "POST") {
      stored = json::parse(req.body);
      stored["metadata"]["resourceVersion"] = "1";
      stored["metadata"]["labels"] = {{"team", "a"}};
      return Response(201, stored.dump());
    }
    if (req.method == "GET")
      return stored.is_null() ? Response(404, "{}") : Response(200, stored.dump());
    if (req.method == "PUT") {
      json j = json::parse(req.body);
      if (j["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"]) {
        return Response(409, R"({"message":"the object has been modified"})");
      }
      stored = j;
      stored["metadata"]["resourceVersion"] = "2";
      return Response(200, stored.dump());
    }
    if (req.method == "DELETE") {
      bool had = !stored.is_null();
      stored = nullptr;
      return Response(had ? 200 : 404, "{}");
    }
    return Response(400);
  };
  KubeClient c(&fake);
  auto none = c.GetPeer("p");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  PeerObject p;
  p.name = "p";
  p.allowed_ips = {"10.5.0.1/32"};
  p.public_key = "K=";
  auto created = c.CreatePeer(p);
  ASSERT_TRUE(created.ok()) << created.error();
  EXPECT_EQ(created->resource_version, "1");

  PeerObject upd = *created;
  upd.allowed_ips.push_back("10.5.0.2/32");
  auto updated = c.UpdatePeer(upd);
  ASSERT_TRUE(updated.ok()) << updated.error();
  EXPECT_EQ(updated->resource_version, "2");
  EXPECT_EQ(updated->allowed_ips.size(), 2u);
  EXPECT_EQ(stored["metadata"]["labels"]["team"], "a");  // metadata kept

  auto stale = c.UpdatePeer(upd);  // resourceVersion 1 is stale now
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.error().find("409"), std::string::npos) << stale.error();

  EXPECT_TRUE(c.DeletePeer("p").ok());
  EXPECT_TRUE(c.DeletePeer("p").ok());  // idempotent
}

TEST(Client, CreateEventAggregates) {
  FakeTransport fake;
  std::vector<json> posted, patched;
  fake.do_handler = [&](const HttpRequest& req) -> Result<HttpResponse> {
    if (req.method == "POST") {
      posted.push_back(json::parse(req.body));
      return Response(201, req.body);
    }
    patched.push_back(json::parse(req.body));
    return Response(200, "{}");
  };
  KubeClientOptions o;
  auto now = std::chrono::system_clock::from_time_t(1714557600);
  o.now = [&] { return now; };
  KubeClient c(&fake, o);
  NodeEvent ev{"n1", "", "InvalidAnnotation",
               "node n1: annotation kilo.squat.ai/force-endpoint \"x\": not host:port"};
  ASSERT_TRUE(c.CreateEvent(ev).ok());
  ASSERT_EQ(posted.size(), 1u);
  const json& e = posted[0];
  EXPECT_EQ(e["metadata"]["namespace"], "default");
  EXPECT_EQ(e["involvedObject"]["kind"], "Node");
  EXPECT_EQ(e["involvedObject"]["name"], "n1");
  EXPECT_EQ(e["reason"], "InvalidAnnotation");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["count"], 1);
  EXPECT_EQ(e["firstTimestamp"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(e["lastTimestamp"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(e["metadata"]["name"].get<std::string>().rfind("n1.", 0), 0u);

  now += std::chrono::seconds(30);
  ASSERT_TRUE(c.CreateEvent(ev).ok());
  ASSERT_EQ(posted.size(), 1u);
  ASSERT_EQ(patched.size(), 1u);
  EXPECT_EQ(patched[0]["count"], 2);
  EXPECT_EQ(patched[0]["lastTimestamp"], "2024-05-01T10:00:30Z");
}

}  // namespace
}  // namespace kilo::k8s
