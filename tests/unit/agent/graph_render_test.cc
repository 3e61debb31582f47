// kg's /graph: DOT served as it is, other formats rendered by running
// Graphviz's `dot` program (agent/graph_render.h), and the errors an operator
// sees when `dot` is missing, fails, or is asked for a layout that does not
// exist. Runs the real `dot` (Debian's graphviz package); the tests that need
// it are skipped, saying so, when it is not installed.

#include "agent/graph_render.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "agent/http.h"
#include "agent/metrics.h"

namespace kilo::agent {
namespace {

const char kDot[] =
    "digraph kilo {\n  label=\"10.4.0.0/16\";\n  \"aws1\" -> \"gcp1\";\n"
    "  \"gcp1\" -> \"aws1\";\n}\n";

bool HaveDot() {
  const char* path = std::getenv("PATH");
  return FindProgram("dot", path ? path : "").has_value();
}

// A runner that must not be called.
class NoRunner : public fw::CommandRunner {
 public:
  Result<fw::CommandOutput> Run(const std::vector<std::string>& argv, std::string_view) override {
    ADD_FAILURE() << "ran " << argv[0];
    return Result<fw::CommandOutput>::Error("not expected");
  }
};

// A temporary directory without any program in it: a PATH without `dot`.
class EmptyDir {
 public:
  EmptyDir() {
    char tmpl[] = "/tmp/kilo-graph-test.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~EmptyDir() { rmdir(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(GraphRender, DotFormatRunsNothing) {
  DotProgramRenderer r(std::make_unique<NoRunner>());
  auto out = r.Render(kDot, "dot", "circo");
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(*out, kDot);
  out = r.Render(kDot, "gv", "circo");
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(*out, kDot);
}

TEST(GraphRender, SvgByTheDotProgram) {
  if (!HaveDot()) GTEST_SKIP() << "Graphviz's dot is not installed (apt-get install graphviz)";
  DotProgramRenderer r(std::make_unique<fw::SystemCommandRunner>(std::chrono::seconds(30)));
  for (const char* layout : {"circo", "dot", "neato"}) {
    auto out = r.Render(kDot, "svg", layout);
    ASSERT_TRUE(out.ok()) << layout << ": " << out.error();
    EXPECT_NE(out->find("<svg"), std::string::npos) << layout;
    EXPECT_NE(out->find("gcp1"), std::string::npos) << layout;
  }
  auto png = r.Render(kDot, "png", "circo");
  ASSERT_TRUE(png.ok()) << png.error();
  EXPECT_EQ(png->substr(0, 4), "\x89PNG");
}

TEST(GraphRender, MissingDotSaysWhatToInstall) {
  EmptyDir dir;
  DotProgramOptions o;
  o.search_path = dir.path();
  DotProgramRenderer r(std::make_unique<NoRunner>(), o);
  auto out = r.Render(kDot, "svg", "circo");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().find("`dot` program is not installed"), std::string::npos) << out.error();
  EXPECT_NE(out.error().find("apt-get install graphviz"), std::string::npos) << out.error();
  EXPECT_NE(out.error().find("format=dot"), std::string::npos) << out.error();
}

TEST(GraphRender, DotFailureCarriesItsMessage) {
  if (!HaveDot()) GTEST_SKIP() << "Graphviz's dot is not installed (apt-get install graphviz)";
  DotProgramRenderer r(std::make_unique<fw::SystemCommandRunner>(std::chrono::seconds(30)));
  auto out = r.Render("digraph { this is not DOT", "svg", "circo");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().find("failed (exit code 1)"), std::string::npos) << out.error();
  EXPECT_NE(out.error().find("syntax error"), std::string::npos) << out.error();
}

TEST(GraphRender, FindProgram) {
  EmptyDir dir;
  EXPECT_FALSE(FindProgram("sh", dir.path()));
  EXPECT_FALSE(FindProgram("sh", ""));
  auto sh = FindProgram("sh", dir.path() + ":/nonexistent::/bin");
  ASSERT_TRUE(sh);
  EXPECT_EQ(*sh, "/bin/sh");
  EXPECT_EQ(FindProgram("/bin/sh", ""), "/bin/sh");
  EXPECT_FALSE(FindProgram("/etc/passwd", "")) << "not executable";
  EXPECT_FALSE(FindProgram("/bin", "")) << "a directory";
}

struct Response {
  int code = 0;
  std::string content_type;
  std::string body;
};

// GET `target` from 127.0.0.1:`port` (the server closes after each reply).
Response Get(int port, const std::string& target) {
  Response r;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return r;
  }
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return r;
  }
  std::string all;
  char buf[8192];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t end = all.find("\r\n\r\n");
  if (all.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.code = std::stoi(all.substr(9, 3));
  size_t ct = all.find("Content-Type: ");
  if (ct != std::string::npos && ct < end)
    r.content_type = all.substr(ct + 14, all.find("\r\n", ct) - ct - 14);
  r.body = all.substr(end + 4);
  return r;
}

class GraphHttp : public ::testing::Test {
 protected:
  // Starts kg's HTTP server on a free loopback port, `dot` looked up in
  // `search_path` (nullopt: $PATH).
  void Start(std::optional<std::string> search_path = std::nullopt) {
    DotProgramOptions o;
    o.search_path = std::move(search_path);
    renderer_ = std::make_unique<DotProgramRenderer>(
        std::make_unique<fw::SystemCommandRunner>(std::chrono::seconds(30)), o);
    HttpHandlers h;
    h.dot = [] { return std::string(kDot); };
    h.healthy = [] { return true; };
    h.render = [this](const std::string& dot, const std::string& format,
                      const std::string& layout) { return renderer_->Render(dot, format, layout); };
    auto s = HttpServer::Start("127.0.0.1:0", &metrics_, h);
    ASSERT_TRUE(s.ok()) << s.error();
    server_ = std::move(*s);
    ASSERT_GT(server_->port(), 0);
  }
  Response Get(const std::string& target) { return agent::Get(server_->port(), target); }

  AgentMetrics metrics_;
  std::unique_ptr<DotProgramRenderer> renderer_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(GraphHttp, Svg) {
  if (!HaveDot()) GTEST_SKIP() << "Graphviz's dot is not installed (apt-get install graphviz)";
  Start();
  Response r = Get("/graph?format=svg&layout=dot");
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_EQ(r.content_type, "image/svg+xml");
  EXPECT_NE(r.body.find("<svg"), std::string::npos);
  EXPECT_NE(r.body.find("aws1"), std::string::npos);
}

TEST_F(GraphHttp, DotIsTheDefaultAndNeedsNoProgram) {
  EmptyDir dir;
  Start(dir.path());
  for (const char* target : {"/graph", "/graph?format=dot", "/graph?format=gv&layout=neato"}) {
    Response r = Get(target);
    EXPECT_EQ(r.code, 200) << target << ": " << r.body;
    EXPECT_EQ(r.content_type, "text/vnd.graphviz") << target;
    EXPECT_EQ(r.body, kDot) << target;
  }
}

TEST_F(GraphHttp, BadParamsAre400) {
  Start();
  Response r = Get("/graph?format=svg&layout=spiral");
  EXPECT_EQ(r.code, 400);
  EXPECT_EQ(r.body,
            "unsupported layout \"spiral\"; use one of: circo, dot, fdp, neato, osage, sfdp, "
            "twopi\n");
  r = Get("/graph?format=pdf");
  EXPECT_EQ(r.code, 400);
  EXPECT_NE(r.body.find("unsupported format \"pdf\""), std::string::npos) << r.body;
}

TEST_F(GraphHttp, MissingDotIs500NamingThePackage) {
  EmptyDir dir;
  Start(dir.path());
  Response r = Get("/graph?format=svg");
  EXPECT_EQ(r.code, 500);
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(r.body,
            "render the graph as svg: Graphviz's `dot` program is not installed (not found "
            "in PATH=" +
                dir.path() +
                "); install it (Debian, Ubuntu: apt-get install graphviz; Alpine: apk add "
                "graphviz) where kg runs, or ask for format=dot and render it elsewhere\n");
}

}  // namespace
}  // namespace kilo::agent
