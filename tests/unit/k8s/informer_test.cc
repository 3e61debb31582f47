#include "k8s/informer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "fakes/k8s/fake_transport.h"

namespace kilo::k8s {
namespace {

using nlohmann::json;
using testing::FakeTransport;
using testing::Response;
using testing::StreamScript;
using namespace std::chrono_literals;

json Node(const std::string& name, const std::string& rv, const std::string& cidr = "10.2.0.0/24") {
  return {{"metadata", {{"name", name}, {"resourceVersion", rv}}}, {"spec", {{"podCIDR", cidr}}}};
}

std::string Event(const std::string& type, const json& obj) {
  return json{{"type", type}, {"object", obj}}.dump() + "\n";
}

std::string Bookmark(const std::string& rv) {
  return Event("BOOKMARK", {{"kind", "Node"}, {"metadata", {{"resourceVersion", rv}}}});
}

// Records handler calls as text and lets tests wait for a number of them.
class Recorder {
 public:
  InformerHandlers<NodeObject> Handlers() {
    InformerHandlers<NodeObject> h;
    h.on_add = [this](const NodeObject& n) { Add("add " + n.name + " " + n.resource_version); };
    h.on_update = [this](const NodeObject& o, const NodeObject& n) {
      Add("update " + n.name + " " + o.resource_version + "->" + n.resource_version);
    };
    h.on_delete = [this](const NodeObject& o) { Add("delete " + o.name); };
    return h;
  }
  void Add(std::string s) {
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back(std::move(s));
    cv_.notify_all();
  }
  // Waits until `n` events were recorded; returns them all.
  std::vector<std::string> Wait(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, 5s, [&] { return events_.size() >= n; });
    return events_;
  }
  std::vector<std::string> Take(size_t n) {
    auto all = Wait(n);
    std::lock_guard<std::mutex> l(mu_);
    events_.clear();
    return all;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
};

// A list handler serving `items` (by pages of `page`) at resourceVersion `rv`.
struct ListServer {
  std::mutex mu;
  std::vector<json> items;
  std::string rv = "100";
  int fail_next = 0;
  int lists = 0;
  Result<HttpResponse> operator()(const HttpRequest& req) {
    std::lock_guard<std::mutex> l(mu);
    if (fail_next > 0) {
      --fail_next;
      return Response(500, R"({"kind":"Status","message":"etcd unavailable"})");
    }
    ++lists;
    size_t start = 0;
    // Tokens look like "n=2" (escaped "n%3D2"): the index of the next item.
    auto pos = req.path.find("continue=n%3D");
    if (pos != std::string::npos) start = std::stoul(req.path.substr(pos + 13));
    size_t limit = std::stoul(req.path.substr(req.path.find("limit=") + 6));
    limit = std::min<size_t>(limit, 2);
    json page = json::array();
    for (size_t i = start; i < items.size() && i < start + limit; ++i) page.push_back(items[i]);
    json md = {{"resourceVersion", rv}};
    if (start + limit < items.size()) md["continue"] = "n=" + std::to_string(start + limit);
    return Response(200, json{{"kind", "NodeList"}, {"metadata", md}, {"items", page}}.dump());
  }
};

InformerOptions TestOptions(std::vector<std::chrono::milliseconds>* sleeps = nullptr) {
  InformerOptions o;
  o.uniform01 = [] { return 0.5; };
  o.sleep = [sleeps](std::chrono::milliseconds d) {
    if (sleeps) sleeps->push_back(d);
  };
  o.log = [](const std::string&) {};
  return o;
}

class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    list_.items = {Node("a", "1"), Node("b", "2"), Node("c", "3")};
    fake_.do_handler = [this](const HttpRequest& r) { return list_(r); };
  }
  void Start(InformerOptions o) {
    informer_ = std::make_unique<NodeInformer>(&fake_, rec_.Handlers(), std::move(o));
    informer_->Start();
  }
  std::vector<std::string> Paths() {
    std::vector<std::string> out;
    for (auto& r : fake_.requests()) out.push_back(r.path);
    return out;
  }
  ListServer list_;
  FakeTransport fake_;
  Recorder rec_;
  std::unique_ptr<NodeInformer> informer_;
};

TEST_F(InformerTest, PaginatedListThenWatchFromListVersion) {
  InformerOptions o = TestOptions();
  o.page_size = 2;
  Start(o);
  ASSERT_TRUE(informer_->WaitForSync(5s));
  EXPECT_EQ(rec_.Take(3), (std::vector<std::string>{"add a 1", "add b 2", "add c 3"}));
  ASSERT_TRUE(fake_.WaitForStreams(1));
  auto paths = Paths();
  ASSERT_GE(paths.size(), 3u);
  EXPECT_EQ(paths[0], "/api/v1/nodes?limit=2");
  EXPECT_EQ(paths[1], "/api/v1/nodes?limit=2&continue=n%3D2");
  // uniform01 = 0.5 -> 300 + 0.5 * 301 = 450 s.
  EXPECT_EQ(
      paths[2],
      "/api/v1/nodes?watch=true&allowWatchBookmarks=true&resourceVersion=100&timeoutSeconds=450");
  EXPECT_EQ(informer_->size(), 3u);
  EXPECT_EQ(informer_->Get("b")->pod_cidr, "10.2.0.0/24");
  EXPECT_FALSE(informer_->Get("zz").has_value());
}

TEST_F(InformerTest, WatchEventsUpdateCacheAndCallHandlers) {
  Start(TestOptions());
  ASSERT_TRUE(informer_->WaitForSync(5s));
  rec_.Take(3);
  fake_.PushStream(
      {200,
       {Event("ADDED", Node("d", "101")), Event("MODIFIED", Node("a", "102", "10.9.0.0/24")),
        Event("DELETED", Node("b", "103")), Bookmark("110")}});
  EXPECT_EQ(rec_.Take(3), (std::vector<std::string>{"add d 101", "update a 1->102", "delete b"}));
  ASSERT_TRUE(fake_.WaitForStreams(2));
  EXPECT_EQ(informer_->Get("a")->pod_cidr, "10.9.0.0/24");
  EXPECT_FALSE(informer_->Get("b").has_value());
  EXPECT_EQ(informer_->resource_version(), "110");
  // The clean end of a watch that delivered events reconnects from the
  // bookmark's version without a relist.
  auto paths = Paths();
  EXPECT_NE(paths.back().find("resourceVersion=110"), std::string::npos) << paths.back();
  EXPECT_EQ(informer_->stats().lists, 1);
}

TEST_F(InformerTest, TransformTrimsListedAndWatchedObjectsBeforeTheyAreCached) {
  list_.items[0]["metadata"]["annotations"] = {{"kilo.squat.ai/leader", "true"}, {"other", "x"}};
  auto h = rec_.Handlers();
  h.transform = [](NodeObject* n) {
    std::erase_if(n->annotations, [](const auto& kv) { return kv.first == "other"; });
  };
  informer_ = std::make_unique<NodeInformer>(&fake_, h, TestOptions());
  informer_->Start();
  ASSERT_TRUE(informer_->WaitForSync(5s));
  rec_.Take(3);
  EXPECT_EQ(informer_->Get("a")->annotations,
            (std::map<std::string, std::string>{{"kilo.squat.ai/leader", "true"}}));
  json b = Node("b", "101");
  b["metadata"]["annotations"] = {{"other", "y"}};
  fake_.PushStream({200, {Event("MODIFIED", b)}});
  rec_.Take(1);
  EXPECT_TRUE(informer_->Get("b")->annotations.empty());
}

TEST_F(InformerTest, GoneErrorEventRelistsAndDeliversDiff) {
  Start(TestOptions());
  ASSERT_TRUE(informer_->WaitForSync(5s));
  rec_.Take(3);
  {
    std::lock_guard<std::mutex> l(list_.mu);
    list_.items = {Node("a", "1"), Node("b", "250"),
                   Node("e", "251")};  // c deleted, b changed, e new
    list_.rv = "300";
  }
  fake_.PushStream({200,
                    {Event("ERROR", {{"kind", "Status"},
                                     {"code", 410},
                                     {"reason", "Expired"},
                                     {"message", "too old resource version"}})}});
  auto ev = rec_.Take(3);
  EXPECT_EQ(ev, (std::vector<std::string>{"add e 251", "update b 2->250", "delete c"}));
  ASSERT_TRUE(fake_.WaitForStreams(2));
  EXPECT_EQ(informer_->resource_version(), "300");
  EXPECT_EQ(informer_->stats().relists, 1);
  EXPECT_EQ(informer_->stats().lists, 2);
}

TEST_F(InformerTest, HttpGoneRelists) {
  Start(TestOptions());
  ASSERT_TRUE(informer_->WaitForSync(5s));
  fake_.PushStream({410, {}, R"({"kind":"Status","code":410})"});
  ASSERT_TRUE(fake_.WaitForStreams(2));
  EXPECT_EQ(informer_->stats().lists, 2);
  EXPECT_EQ(informer_->stats().relists, 1);
}

TEST_F(InformerTest, StreamCutMidObjectIsDiscarded) {
  std::vector<std::chrono::milliseconds> sleeps;
  Start(TestOptions(&sleeps));
  ASSERT_TRUE(informer_->WaitForSync(5s));
  rec_.Take(3);
  std::string second = Event("ADDED", Node("f", "121"));
  fake_.PushStream({200,
                    {Event("ADDED", Node("e", "120")), second.substr(0, second.size() / 2)},
                    "",
                    std::nullopt,
                    "transfer closed with outstanding read data remaining"});
  EXPECT_EQ(rec_.Take(1), (std::vector<std::string>{"add e 120"}));
  ASSERT_TRUE(fake_.WaitForStreams(2));
  EXPECT_FALSE(informer_->Get("f").has_value());
  EXPECT_EQ(informer_->stats().discarded_frames, 1);
  auto paths = Paths();
  EXPECT_NE(paths.back().find("resourceVersion=120"), std::string::npos) << paths.back();
  // The next watch delivers the event again.
  fake_.PushStream({200, {second}});
  EXPECT_EQ(rec_.Take(1), (std::vector<std::string>{"add f 121"}));
}

TEST_F(InformerTest, GarbageFrameReconnects) {
  Start(TestOptions());
  ASSERT_TRUE(informer_->WaitForSync(5s));
  fake_.PushStream({200, {"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":}}}\n"}});
  ASSERT_TRUE(fake_.WaitForStreams(2));
  EXPECT_EQ(informer_->stats().discarded_frames, 1);
  EXPECT_EQ(informer_->size(), 3u);
}

TEST_F(InformerTest, BackoffOnFailuresAndResetAfterHealthyWatch) {
  std::vector<std::chrono::milliseconds> sleeps;
  InformerOptions o = TestOptions(&sleeps);
  o.uniform01 = [] { return 0.0; };  // no jitter: exact sequence
  list_.fail_next = 3;
  Start(o);
  ASSERT_TRUE(informer_->WaitForSync(5s));
  EXPECT_TRUE(informer_->last_error().empty());
  // Three failed LISTs: 0.8 s, 1.6 s, 3.2 s.
  auto st = informer_->stats();
  EXPECT_EQ(st.errors, 3);
  EXPECT_EQ(st.backoffs, (std::vector<std::chrono::milliseconds>{800ms, 1600ms, 3200ms}));
  // Watch errors keep growing the delay...
  fake_.PushStream({500, {}, "{}"});
  fake_.PushStream({0, {}, "", std::nullopt, "connection refused"});
  ASSERT_TRUE(fake_.WaitForStreams(3));
  // ...until a healthy watch (one that delivered an event) resets it.
  fake_.PushStream({200, {Bookmark("150")}, "", std::nullopt, "connection reset"});
  ASSERT_TRUE(fake_.WaitForStreams(4));
  informer_->Stop();
  st = informer_->stats();
  EXPECT_EQ(st.backoffs, (std::vector<std::chrono::milliseconds>{800ms, 1600ms, 3200ms, 6400ms,
                                                                 12800ms, 800ms}));
}

TEST_F(InformerTest, RetryAfterOnWatchIsHonoured) {
  std::vector<std::chrono::milliseconds> sleeps;
  InformerOptions o = TestOptions(&sleeps);
  o.uniform01 = [] { return 0.0; };
  Start(o);
  ASSERT_TRUE(informer_->WaitForSync(5s));
  fake_.PushStream({429, {}, "{}", 5});
  ASSERT_TRUE(fake_.WaitForStreams(2));
  informer_->Stop();
  EXPECT_EQ(informer_->stats().backoffs, (std::vector<std::chrono::milliseconds>{5000ms}));
}

TEST_F(InformerTest, StopIsPromptDuringWatchAndBackoff) {
  Start(TestOptions());
  ASSERT_TRUE(informer_->WaitForSync(5s));
  ASSERT_TRUE(fake_.WaitForStreams(1));
  auto t0 = std::chrono::steady_clock::now();
  informer_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);

  // Real (condition variable) sleeping: a long backoff is cut short.
  FakeTransport failing;
  failing.do_handler = [](const HttpRequest&) -> Result<HttpResponse> {
    return Response(500, "{}");
  };
  InformerOptions o;
  o.backoff.initial = 60s;
  o.log = [](const std::string&) {};
  NodeInformer inf(&failing, {}, o);
  inf.Start();
  std::this_thread::sleep_for(50ms);
  t0 = std::chrono::steady_clock::now();
  inf.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_FALSE(inf.HasSynced());
  EXPECT_NE(inf.last_error().find("500"), std::string::npos) << inf.last_error();
}

TEST(PeerInformer, DecodesPeers) {
  FakeTransport fake;
  fake.do_handler = [](const HttpRequest& req) -> Result<HttpResponse> {
    EXPECT_EQ(req.path.rfind("/apis/kilo.squat.ai/v1alpha1/peers?", 0), 0u) << req.path;
    return Response(200, R"({"metadata":{"resourceVersion":"5"},"items":[
      {"apiVersion":"kilo.squat.ai/v1alpha1","kind":"Peer","metadata":{"name":"p","resourceVersion":"4"},
       "spec":{"allowedIPs":["10.5.0.1/32"],"publicKey":"K=","endpoint":{"dnsOrIP":{"ip":"1.1.1.1"},"port":"x"}}}]})");
  };
  InformerOptions o;
  o.log = [](const std::string&) {};
  PeerInformer inf(&fake, {}, o);
  inf.Start();
  ASSERT_TRUE(inf.WaitForSync(5s));
  auto p = inf.Get("p");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->allowed_ips, (std::vector<std::string>{"10.5.0.1/32"}));
  EXPECT_EQ(p->type_errors.size(), 1u);
}

}  // namespace
}  // namespace kilo::k8s
