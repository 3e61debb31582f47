// src/k8s against tests/apiserver/serve, the in-memory kube-apiserver
// emulator, with its fault injection:
//
//   informer (list+watch) ──HTTPS──▶ serve ◀── admin: /_emulator/{close-watches,
//   KubeClient (writes)  ──HTTPS──▶   │         compact, fail, restart, cut-watch...}
//   "kubectl" (raw writes) ─HTTPS──▶──┘
//
// Every test starts its own emulator on a free port with a temporary
// kubeconfig and kills it by PID in TearDown.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "k8s/client.h"
#include "k8s/http_transport.h"
#include "k8s/informer.h"
#include "k8s/kubeconfig.h"

extern char** environ;

namespace kilo::k8s {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kServe = std::string(KILO_SOURCE_DIR) + "/tests/apiserver/serve";
const std::string kClusterDump =
    std::string(KILO_SOURCE_DIR) + "/tests/apiserver/testdata/cluster-0127.json";

bool OnPath(const std::string& prog) {
  return std::system(("command -v " + prog + " >/dev/null 2>&1").c_str()) == 0;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Emulator {
 public:
  ~Emulator() { Stop(); }

  // Starts serve with `extra` flags; waits for the kubeconfig.
  Status Start(const std::vector<std::string>& extra = {}) {
    char tmpl[] = "/tmp/kilo-k8s-it-XXXXXX";
    dir_ = mkdtemp(tmpl);
    kubeconfig_ = dir_ + "/kubeconfig";
    std::vector<std::string> args = {
        "python3", kServe,    "--kubeconfig", kubeconfig_,           "--port",
        "0",       "--token", "secret-token", "--bookmark-interval", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    std::string log = dir_ + "/serve.log";
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawnp(&pid_, "python3", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return Status::Error("spawn serve: " + std::string(strerror(rc)));
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!std::filesystem::exists(kubeconfig_)) {
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = 0;
        return Status::Error("serve exited: " + ReadAll(log));
      }
      if (std::chrono::steady_clock::now() > deadline)
        return Status::Error("serve did not start: " + ReadAll(log));
      std::this_thread::sleep_for(20ms);
    }
    auto cfg = LoadKubeconfigFile(kubeconfig_);
    if (!cfg) return cfg.status();
    config_ = *cfg;
    HttpTransportOptions o;
    o.retry.max_retries = 0;  // admin calls: no retries
    auto t = HttpTransport::Create(config_, o);
    if (!t) return t.status();
    admin_ = std::move(*t);
    return Status::Ok();
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      for (int i = 0; i < 100; ++i) {
        int st;
        if (waitpid(pid_, &st, WNOHANG) == pid_) {
          pid_ = 0;
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = 0;
      }
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  // A raw API call as another client (kubectl) would make it.
  json Call(const std::string& method, const std::string& path, const json& body = nullptr,
            const std::string& content_type = "application/json", long* status = nullptr) {
    HttpRequest req;
    req.method = method;
    req.path = path;
    if (!body.is_null()) {
      req.body = body.dump();
      req.content_type = content_type;
    }
    auto r = admin_->Do(req);
    EXPECT_TRUE(r.ok()) << r.error();
    if (!r.ok()) return nullptr;
    if (status) *status = r->status;
    json j = json::parse(r->body, nullptr, false);
    return j.is_discarded() ? json(r->body) : j;
  }
  void Admin(const std::string& what) {
    long status = 0;
    Call("POST", "/_emulator/" + what, nullptr, "", &status);
    EXPECT_EQ(status, 200) << what;
  }

  const ClusterConfig& config() const { return config_; }
  const std::string& dir() const { return dir_; }

 private:
  pid_t pid_ = 0;
  std::string dir_;
  std::string kubeconfig_;
  ClusterConfig config_;
  std::unique_ptr<HttpTransport> admin_;
};

json NodeBody(const std::string& name, const std::map<std::string, std::string>& anns = {},
              const std::map<std::string, std::string>& labels = {}) {
  json md = {{"name", name}};
  if (!anns.empty()) md["annotations"] = anns;
  if (!labels.empty()) md["labels"] = labels;
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", md},
          {"spec", {{"podCIDR", "10.99.0.0/24"}}}};
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartEmulator({"--load", kClusterDump}); }

  void StartEmulator(const std::vector<std::string>& flags) {
    if (!std::filesystem::exists(kServe))
      GTEST_SKIP() << "tests/apiserver/serve is missing: " << kServe;
    if (!OnPath("python3")) GTEST_SKIP() << "python3 is not installed";
    if (!OnPath("openssl")) GTEST_SKIP() << "openssl is not installed";
    Status s = emu_.Start(flags);
    ASSERT_TRUE(s.ok()) << s.message();
    HttpTransportOptions o;
    o.retry.max_retry_after = 2s;
    auto t = HttpTransport::Create(emu_.config(), o);
    ASSERT_TRUE(t.ok()) << t.error();
    transport_ = std::move(*t);
  }
  void TearDown() override {
    if (informer_) informer_->Stop();
    emu_.Stop();
  }

  void StartInformer() {
    InformerOptions o;
    o.backoff.initial = 50ms;
    o.backoff.max = 1s;
    o.healthy_watch = 500ms;
    o.page_size = 2;  // exercise pagination with the small dump
    o.log = [](const std::string& m) { std::fprintf(stderr, "informer: %s\n", m.c_str()); };
    informer_ = std::make_unique<NodeInformer>(transport_.get(), InformerHandlers<NodeObject>{}, o);
    informer_->Start();
    ASSERT_TRUE(informer_->WaitForSync(20s)) << informer_->last_error();
  }

  // name -> resourceVersion, from the server and from the cache.
  std::map<std::string, std::string> ServerNodes() {
    json list = emu_.Call("GET", "/api/v1/nodes");
    std::map<std::string, std::string> out;
    for (auto& item : list["items"]) {
      out[item["metadata"]["name"]] = item["metadata"]["resourceVersion"];
    }
    return out;
  }
  std::map<std::string, std::string> CachedNodes() {
    std::map<std::string, std::string> out;
    for (auto& n : informer_->List()) out[n.name] = n.resource_version;
    return out;
  }
  // Waits until the informer's cache equals the server's nodes.
  void ExpectConverges(const std::string& what, std::chrono::seconds timeout = 20s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::map<std::string, std::string> want, got;
    while (std::chrono::steady_clock::now() < deadline) {
      want = ServerNodes();
      got = CachedNodes();
      if (want == got) return;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << what << ": cache did not converge; server has " << want.size()
                  << " nodes, cache " << got.size() << "; last error: " << informer_->last_error();
  }
  // Creates, modifies and deletes nodes as another client.
  void Mutate(const std::string& tag) {
    emu_.Call("POST", "/api/v1/nodes", NodeBody("new-" + tag));
    emu_.Call("PATCH", "/api/v1/nodes/new-" + tag,
              {{"metadata", {{"annotations", {{"kilo.squat.ai/leader", "true"}}}}}},
              "application/merge-patch+json");
    emu_.Call("POST", "/api/v1/nodes", NodeBody("tmp-" + tag));
    emu_.Call("DELETE", "/api/v1/nodes/tmp-" + tag);
  }

  Emulator emu_;
  std::unique_ptr<HttpTransport> transport_;
  std::unique_ptr<NodeInformer> informer_;
};

TEST_F(ApiServerTest, ListWatchConvergesThroughFaults) {
  StartInformer();
  ExpectConverges("initial list");
  Mutate("plain");
  ExpectConverges("plain watch");

  emu_.Admin("close-watches");
  Mutate("closed");
  ExpectConverges("after close-watches");

  // Compaction: the next watch resumes from a version older than the
  // history, gets 410 Gone and must relist.
  // The reconnecting watch is held back while others write and the history
  // is compacted.
  int64_t relists = informer_->stats().relists;
  emu_.Admin("delay?ms=1500&count=1&path_prefix=/api/v1/nodes");
  emu_.Admin("close-watches");
  std::this_thread::sleep_for(300ms);
  Mutate("compacted");
  emu_.Admin("compact");
  ExpectConverges("after compact");
  EXPECT_GT(informer_->stats().relists, relists);

  emu_.Admin("fail?code=500&count=3&path_prefix=/api/v1/nodes");
  emu_.Admin("close-watches");
  Mutate("errors");  // the mutations themselves may hit the 500s too; converge anyway
  ExpectConverges("after 500s");

  emu_.Admin("fail?code=429&count=2&retry_after=1&path_prefix=/api/v1/nodes");
  emu_.Admin("close-watches");
  ExpectConverges("after 429s");
  Mutate("throttled");
  ExpectConverges("after 429s + changes");

  relists = informer_->stats().relists;
  emu_.Admin("restart");
  Mutate("restarted");
  ExpectConverges("after restart");
  EXPECT_GT(informer_->stats().relists, relists);

  int64_t discarded = informer_->stats().discarded_frames;
  emu_.Admin("cut-watch-mid-object?count=1");
  Mutate("cut");
  ExpectConverges("after a watch cut mid-object");
  EXPECT_GT(informer_->stats().discarded_frames, discarded);
  EXPECT_TRUE(informer_->HasSynced());
}

TEST_F(ApiServerTest, StopIsPrompt) {
  StartInformer();
  auto t0 = std::chrono::steady_clock::now();
  informer_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_F(ApiServerTest, AnnotationPatchLeavesForeignAnnotationsAndLabels) {
  emu_.Call("POST", "/api/v1/nodes",
            NodeBody("patched",
                     {{"foreign/a", "1"},
                      {"kilo.squat.ai/endpoint", "1.1.1.1:51820"},
                      {"kilo.squat.ai/key", "old"}},
                     {{"topology.kubernetes.io/region", "eu"}}));
  StartInformer();
  KubeClient client(transport_.get());
  client.SetNodeCache(informer_.get());
  json before = emu_.Call("GET", "/api/v1/nodes/patched");

  auto sent = client.PatchNodeAnnotations("patched", {{"kilo.squat.ai/key", "new"},
                                                      {"kilo.squat.ai/endpoint", std::nullopt},
                                                      {"kilo.squat.ai/last-seen", "1700000000"}});
  ASSERT_TRUE(sent.ok()) << sent.error();
  EXPECT_TRUE(*sent);
  json after = emu_.Call("GET", "/api/v1/nodes/patched");
  json want_anns = {
      {"foreign/a", "1"}, {"kilo.squat.ai/key", "new"}, {"kilo.squat.ai/last-seen", "1700000000"}};
  EXPECT_EQ(after["metadata"]["annotations"], want_anns);
  EXPECT_EQ(after["metadata"]["labels"], before["metadata"]["labels"]);
  EXPECT_EQ(after["spec"], before["spec"]);

  // Once the cache has caught up, the same values send no request.
  ExpectConverges("after patch");
  sent = client.PatchNodeAnnotations(
      "patched", {{"kilo.squat.ai/key", "new"}, {"kilo.squat.ai/endpoint", std::nullopt}});
  ASSERT_TRUE(sent.ok()) << sent.error();
  EXPECT_FALSE(*sent);

  auto removed = client.RemoveNodeAnnotations(
      "patched", {"kilo.squat.ai/key", "kilo.squat.ai/last-seen", "absent/x"});
  ASSERT_TRUE(removed.ok()) << removed.error();
  EXPECT_TRUE(*removed);
  after = emu_.Call("GET", "/api/v1/nodes/patched");
  EXPECT_EQ(after["metadata"]["annotations"], json({{"foreign/a", "1"}}));
  EXPECT_EQ(after["metadata"]["labels"], before["metadata"]["labels"]);
}

TEST_F(ApiServerTest, MismatchedCAIsATLSErrorAndNoRequest) {
  // A CA that did not sign the emulator's certificate.
  const std::string dir = emu_.dir();
  std::string cmd = "cd " + dir +
                    " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                    "-keyout other.key -out other.crt -days 1 -subj /CN=other-ca >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  ClusterConfig cfg = emu_.config();
  cfg.ca_data = ReadAll(dir + "/other.crt");
  auto t = HttpTransport::Create(cfg);
  ASSERT_TRUE(t.ok());
  HttpRequest req;
  req.path = "/api/v1/nodes/tls-probe";
  auto r = (*t)->Do(req);
  ASSERT_FALSE(r.ok()) << "request succeeded with a CA that does not match, status " << r->status;
  EXPECT_NE(r.error().find("TLS verification of the API server"), std::string::npos) << r.error();
  KubeClient client(t->get());
  Status crd = client.CheckPeerCRD();
  EXPECT_NE(crd.message().find("TLS"), std::string::npos) << crd.message();

  // No CA at all: the system store does not know the emulator's CA either.
  cfg.ca_data.clear();
  auto t2 = HttpTransport::Create(cfg);
  ASSERT_TRUE(t2.ok());
  r = (*t2)->Do(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("TLS"), std::string::npos) << r.error();

  // The emulator never saw the request.
  json stats = emu_.Call("GET", "/_emulator/stats");
  EXPECT_FALSE(stats["byPath"].contains("GET /api/v1/nodes/tls-probe")) << stats["byPath"].dump();
}

TEST_F(ApiServerTest, TLSServerNameIsVerified) {
  // The emulator's certificate names 127.0.0.1 and localhost.
  ClusterConfig cfg = emu_.config();
  cfg.tls_server_name = "localhost";
  auto good = HttpTransport::Create(cfg);
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(KubeClient(good->get()).CheckPeerCRD().ok());
  cfg.tls_server_name = "not-the-server.example";
  auto bad = HttpTransport::Create(cfg);
  ASSERT_TRUE(bad.ok());
  Status s = KubeClient(bad->get()).CheckPeerCRD();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("TLS"), std::string::npos) << s.message();
}

// gcc defines __SANITIZE_ADDRESS__ under -fsanitize=address; clang 14 only answers
// __has_feature(address_sanitizer).
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILO_TEST_HAS_ASAN 1
#endif
#endif
#ifndef KILO_TEST_HAS_ASAN
#define KILO_TEST_HAS_ASAN 0
#endif

long RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

TEST_F(ApiServerTest, FiveThousandNodesStaySmall) {
  json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  for (int i = 0; i < 5000; ++i) {
    std::string n = "bulk-" + std::to_string(i);
    json node =
        NodeBody(n,
                 {{"kilo.squat.ai/key", "GDDJ/4Y1sd+ErDXvIoEVTg5j2dvVh4C3hk7a6qIpTHA="},
                  {"kilo.squat.ai/endpoint", "203.0.113." + std::to_string(i % 250) + ":51820"},
                  {"kilo.squat.ai/internal-ip",
                   "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "/16"},
                  {"kilo.squat.ai/last-seen", "1700000000"},
                  {"kilo.squat.ai/wireguard-ip", ""},
                  {"kilo.squat.ai/granularity", "location"}},
                 {{"kubernetes.io/hostname", n},
                  {"topology.kubernetes.io/region", "r" + std::to_string(i % 7)}});
    node["status"] = {
        {"addresses", json::array({{{"type", "InternalIP"}, {"address", "10.0.0.1"}}})},
        {"nodeInfo", {{"kubeletVersion", "v1.30.0"}, {"osImage", "Debian GNU/Linux 12"}}}};
    list["items"].push_back(std::move(node));
  }
  long status = 0;
  emu_.Call("POST", "/_emulator/load", list, "application/json", &status);
  ASSERT_EQ(status, 200);
  list = nullptr;
  long before = RssKiB();
  InformerOptions o;
  o.log = [](const std::string& m) { std::fprintf(stderr, "informer: %s\n", m.c_str()); };
  informer_ = std::make_unique<NodeInformer>(transport_.get(), InformerHandlers<NodeObject>{}, o);
  auto t0 = std::chrono::steady_clock::now();
  informer_->Start();
  ASSERT_TRUE(informer_->WaitForSync(120s)) << informer_->last_error();
  auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  EXPECT_GE(informer_->size(), 5000u);
  long grew = RssKiB() - before;
  std::fprintf(stderr, "5000 nodes: synced in %lld ms, RSS grew by %ld KiB\n",
               static_cast<long long>(took.count()), grew);
  // ~1 KiB of strings per node plus map overhead; the JSON is not kept.
  // (AddressSanitizer's redzones and quarantine inflate RSS: no bound then.)
#if !defined(__SANITIZE_ADDRESS__) && !KILO_TEST_HAS_ASAN
  EXPECT_LT(grew, 40 * 1024) << "KiB";
#endif
}

// As against a kube-apiserver: the server's cipher order gives ChaCha20 to a
// client listing it first (ours), and a LIST over 128 KiB comes gzipped
// (chunked); the client decodes it whole.
TEST_F(ApiServerTest, ChaChaNegotiatedAndGzippedListDecoded) {
  json list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", json::array()}};
  for (int i = 0; i < 300; ++i) {
    std::string n = "gz-" + std::to_string(i);
    list["items"].push_back(
        NodeBody(n, {{"kilo.squat.ai/pad", std::string(1000, static_cast<char>('a' + i % 26))}}));
  }
  long status = 0;
  emu_.Call("POST", "/_emulator/load", list, "application/json", &status);
  ASSERT_EQ(status, 200);
  const std::map<std::string, std::string> want = ServerNodes();
  ASSERT_GT(want.size(), 300u);
  ListRequest lr;
  lr.path = kNodesPath;
  lr.page_size = 500;
  std::map<std::string, std::string> got;
  ListCallbacks<NodeObject> cb;
  cb.on_object = [&](NodeObject&& n) {
    EXPECT_TRUE(
        n.name.rfind("gz-", 0) != 0 ||
        n.annotations["kilo.squat.ai/pad"] ==
            std::string(1000, "abcdefghijklmnopqrstuvwxyz"[std::stoi(n.name.substr(3)) % 26]))
        << n.name;
    got[n.name] = n.resource_version;
  };
  auto rv = ListObjects<NodeObject>(transport_.get(), lr, cb);
  ASSERT_TRUE(rv.ok()) << rv.error();
  EXPECT_EQ(got, want);
  json stats = emu_.Call("GET", "/_emulator/stats");
  EXPECT_GE(stats["gzippedResponses"].get<int>(), 1) << stats.dump();
  EXPECT_TRUE(stats["tlsCipherSuites"].contains("ECDHE-ECDSA-CHACHA20-POLY1305"))
      << stats["tlsCipherSuites"].dump();
  EXPECT_EQ(stats["tlsCipherSuites"].size(), 1u) << stats["tlsCipherSuites"].dump();
}

TEST_F(ApiServerTest, WrongTokenIsAClearAuthenticationError) {
  ClusterConfig cfg = emu_.config();
  cfg.token = "wrong";
  auto t = HttpTransport::Create(cfg);
  ASSERT_TRUE(t.ok());
  KubeClient client(t->get());
  auto r = client.GetNode("anything");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(
      r.error().find("the API server rejected our credentials (401 Unauthorized) for https://"),
      std::string::npos)
      << r.error();
  EXPECT_NE(r.error().find("KUBECONFIG"), std::string::npos) << r.error();

  // The informer reports the same error and does not claim to be synced.
  InformerOptions o;
  o.log = [](const std::string&) {};
  NodeInformer inf(t->get(), {}, o);
  inf.Start();
  EXPECT_FALSE(inf.WaitForSync(1s));
  EXPECT_NE(inf.last_error().find("401 Unauthorized"), std::string::npos) << inf.last_error();
  inf.Stop();
}

TEST_F(ApiServerTest, ExecPluginIsReRunAfter401) {
  // The plugin hands out a wrong token on its first run (a revoked
  // credential), the right one afterwards.
  const std::string dir = emu_.dir();
  std::string script = dir + "/plugin.sh";
  {
    std::ofstream f(script);
    f << "#!/bin/sh\n"
         "if [ -f \"$STATE\" ]; then tok=secret-token; else tok=revoked; touch \"$STATE\"; fi\n"
         "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
         "\"status\":{\"token\":\"%s\"}}' \"$tok\"\n";
  }
  chmod(script.c_str(), 0755);
  ClusterConfig cfg = emu_.config();
  cfg.token.clear();
  cfg.exec = ExecConfig{"client.authentication.k8s.io/v1",  script, {},
                        {{"STATE", dir + "/plugin.state"}}, "",     dir};
  auto t = HttpTransport::Create(cfg);
  ASSERT_TRUE(t.ok());
  KubeClient client(t->get());
  auto n = client.GetNode("kilo-0127-a");
  // Either the node exists in the dump or we get a 404, never a 401.
  if (!n.ok()) {
    EXPECT_EQ(n.error().find("401"), std::string::npos) << n.error();
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/plugin.state"));
}

TEST_F(ApiServerTest, PeersCrudAndEvents) {
  KubeClient client(transport_.get());
  ASSERT_TRUE(client.CheckPeerCRD().ok());
  PeerObject p;
  p.name = "laptop";
  p.allowed_ips = {"10.5.0.1/32"};
  p.public_key = "GDDJ/4Y1sd+ErDXvIoEVTg5j2dvVh4C3hk7a6qIpTHA=";
  p.persistent_keepalive = 10;
  auto created = client.CreatePeer(p);
  ASSERT_TRUE(created.ok()) << created.error();
  EXPECT_FALSE(created->resource_version.empty());

  InformerOptions o;
  o.log = [](const std::string&) {};
  PeerInformer peers(transport_.get(), {}, o);
  peers.Start();
  ASSERT_TRUE(peers.WaitForSync(10s));
  ASSERT_TRUE(peers.Get("laptop").has_value());

  PeerObject upd = *created;
  upd.allowed_ips.push_back("10.5.0.2/32");
  auto updated = client.UpdatePeer(upd);
  ASSERT_TRUE(updated.ok()) << updated.error();
  auto stale = client.UpdatePeer(upd);
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(stale.error().find("409"), std::string::npos) << stale.error();
  auto got = client.GetPeer("laptop");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->allowed_ips.size(), 2u);
  EXPECT_EQ((*got)->persistent_keepalive, 10);

  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (peers.Get("laptop")->allowed_ips.size() != 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(peers.Get("laptop")->allowed_ips.size(), 2u);
  ASSERT_TRUE(client.DeletePeer("laptop").ok());
  auto gone = client.GetPeer("laptop");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  peers.Stop();

  ASSERT_TRUE(client
                  .CreateEvent(
                      {"kilo-0127-a", "", "InvalidAnnotation", "bad force-endpoint", "Warning", ""})
                  .ok());
  ASSERT_TRUE(client
                  .CreateEvent(
                      {"kilo-0127-a", "", "InvalidAnnotation", "bad force-endpoint", "Warning", ""})
                  .ok());
  json events = emu_.Call("GET", "/api/v1/namespaces/default/events");
  ASSERT_EQ(events["items"].size(), 1u) << events.dump();
  EXPECT_EQ(events["items"][0]["reason"], "InvalidAnnotation");
  EXPECT_EQ(events["items"][0]["involvedObject"]["kind"], "Node");
  EXPECT_EQ(events["items"][0]["count"], 2);
}

TEST_F(ApiServerTest, LeaseCreateGetRenewAndConflictingWritersLose) {
  KubeClient client(transport_.get());
  auto none = client.GetLease("kube-system", "kilo-leader-eu");
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_FALSE(none->has_value());

  LeaseObject l;
  l.name = "kilo-leader-eu";
  l.holder_identity = "node-a";
  l.lease_duration_seconds = 15;
  l.acquire_time = l.renew_time = "2026-12-04T21:00:00.000000Z";
  auto created = client.CreateLease(l);
  ASSERT_TRUE(created.ok()) << created.error();
  ASSERT_TRUE(created->has_value());
  EXPECT_FALSE((*created)->resource_version.empty());
  // A second candidate creating the same Lease loses (409 AlreadyExists).
  LeaseObject b = l;
  b.holder_identity = "node-b";
  auto second = client.CreateLease(b);
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_FALSE(second->has_value());

  // The holder renews from the version it read; a writer with that same,
  // now old, version loses (409 Conflict) and changes nothing.
  LeaseObject renew = **created;
  renew.renew_time = "2026-12-04T21:00:05.000000Z";
  auto renewed = client.UpdateLease(renew);
  ASSERT_TRUE(renewed.ok()) << renewed.error();
  ASSERT_TRUE(renewed->has_value());
  EXPECT_NE((*renewed)->resource_version, (*created)->resource_version);
  LeaseObject steal = **created;
  steal.holder_identity = "node-b";
  auto stolen = client.UpdateLease(steal);
  ASSERT_TRUE(stolen.ok()) << stolen.error();
  EXPECT_FALSE(stolen->has_value());

  auto got = client.GetLease("kube-system", "kilo-leader-eu");
  ASSERT_TRUE(got.ok() && got->has_value()) << got.error();
  EXPECT_EQ((*got)->holder_identity, "node-a");
  EXPECT_EQ((*got)->renew_time, "2026-12-04T21:00:05.000000Z");
  EXPECT_EQ((*got)->lease_duration_seconds, 15);
  json raw =
      emu_.Call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kilo-leader-eu");
  EXPECT_EQ(raw["spec"]["holderIdentity"], "node-a") << raw.dump();

  // Any other failure is an error that names the Lease.
  LeaseObject missing_ns = l;
  missing_ns.namespace_ = "no-such-namespace";
  auto err = client.CreateLease(missing_ns);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().find("create lease no-such-namespace/kilo-leader-eu"), std::string::npos)
      << err.error();
}

class NoCrdTest : public ApiServerTest {
 protected:
  void SetUp() override { StartEmulator({"--no-crd"}); }
};

TEST_F(NoCrdTest, MissingCrdNamesTheManifest) {
  KubeClient client(transport_.get());
  Status s = client.CheckPeerCRD();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "the Peer CRD peers.kilo.squat.ai is not installed: apply manifests/crds.yaml "
            "(kubectl apply -f manifests/crds.yaml)");
}

}  // namespace
}  // namespace kilo::k8s
